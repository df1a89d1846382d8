#include "tenancy/keys.hpp"

#include <gtest/gtest.h>

#include <set>

namespace baton::tenancy {
namespace {

store::KeyRecord key_with(const std::string& secret, std::string id) {
  store::KeyRecord k;
  k.id = std::move(id);
  k.hash = hash_secret(secret);
  k.preview = secret_preview(secret);
  return k;
}

TEST(Keys, SecretsAreLongRandomAndPrefixed) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string s = generate_secret();
    ASSERT_TRUE(s.starts_with(kKeyPrefix));
    ASSERT_EQ(s.size(), kKeyPrefix.size() + 43);
    for (const char c : s.substr(kKeyPrefix.size())) ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 200U);
}

TEST(Keys, HashIsSha256HexAndPreviewHidesTheSecret) {
  EXPECT_EQ(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string s = generate_secret();
  const std::string preview = secret_preview(s);
  EXPECT_TRUE(preview.starts_with("sk-baton-"));
  EXPECT_LT(preview.size(), 24U);
  EXPECT_EQ(preview.find(s.substr(kKeyPrefix.size() + 3, 20)), std::string::npos);
  EXPECT_TRUE(new_id("key").starts_with("key_"));
  EXPECT_EQ(new_id("team").size(), 5U + 16U);
}

TEST(Keys, AuthenticateResolvesEveryStatus) {
  const std::string live = generate_secret();
  const std::string revoked = generate_secret();
  const std::string expired = generate_secret();
  std::vector<store::KeyRecord> keys{key_with(live, "key_live"), key_with(revoked, "key_revoked"),
                                     key_with(expired, "key_expired")};
  keys[1].revoked_at_ms = 10;
  keys[2].expires_at_ms = 1'000;
  auto dir = std::make_shared<const KeyDirectory>(std::move(keys), std::vector<store::TeamRecord>{}, 1);
  const std::int64_t now = 5'000;
  EXPECT_EQ(authenticate(dir, live, "", now).status, Caller::Status::key);
  EXPECT_EQ(authenticate(dir, live, "", now).key_id(), "key_live");
  EXPECT_EQ(authenticate(dir, revoked, "", now).status, Caller::Status::revoked);
  EXPECT_EQ(authenticate(dir, expired, "", now).status, Caller::Status::expired);
  EXPECT_EQ(authenticate(dir, expired, "", 999).status, Caller::Status::key);
  EXPECT_EQ(authenticate(dir, live + "x", "", now).status, Caller::Status::unknown);
  EXPECT_EQ(authenticate(dir, "", "", now).status, Caller::Status::missing);
  EXPECT_EQ(authenticate(dir, "master-secret", "master-secret", now).status, Caller::Status::master);
  EXPECT_EQ(authenticate(dir, "master-secreT", "master-secret", now).status, Caller::Status::unknown);
}

// One connection's memo: the same token gives the same answers as hashing afresh, a different
// token (one character, or a prefix of the last) is hashed anew, and a revocation in a newer
// directory still applies (the memo keeps digests, never answers).
TEST(Keys, TheConnectionsTokenMemoChangesNoAnswer) {
  const std::string live = generate_secret();
  const std::string other = generate_secret();
  auto dir = std::make_shared<const KeyDirectory>(
      std::vector<store::KeyRecord>{key_with(live, "key_live"), key_with(other, "key_other")},
      std::vector<store::TeamRecord>{}, 1);
  TokenDigestMemo memo;
  const std::int64_t now = 5'000;
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(authenticate(dir, live, "master-secret", now, &memo).key_id(), "key_live");
    EXPECT_EQ(authenticate(dir, live, "master-secret", now, &memo).key_id(), "key_live");
    EXPECT_EQ(authenticate(dir, live.substr(0, live.size() - 1), "master-secret", now, &memo).status,
              Caller::Status::unknown);
    EXPECT_EQ(authenticate(dir, other, "master-secret", now, &memo).key_id(), "key_other");
    std::string flipped = live;
    flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
    EXPECT_EQ(authenticate(dir, flipped, "master-secret", now, &memo).status, Caller::Status::unknown);
    EXPECT_EQ(authenticate(dir, "master-secret", "master-secret", now, &memo).status, Caller::Status::master);
    EXPECT_EQ(authenticate(dir, "master-secret", "master-secret", now, &memo).status, Caller::Status::master);
    EXPECT_EQ(authenticate(dir, "master-secret", "", now, &memo).status, Caller::Status::unknown);
  }
  EXPECT_EQ(authenticate(dir, live, "", now, &memo).status, Caller::Status::key);
  std::vector<store::KeyRecord> revoked{key_with(live, "key_live")};
  revoked[0].revoked_at_ms = 10;
  auto newer = std::make_shared<const KeyDirectory>(std::move(revoked), std::vector<store::TeamRecord>{}, 2);
  EXPECT_EQ(authenticate(newer, live, "", now, &memo).status, Caller::Status::revoked);
}

// Every length around the eight-byte steps, and a difference in every position (word or tail).
TEST(Keys, ConstantTimeEqualityFindsADifferenceAnywhere) {
  for (std::size_t size = 0; size <= 41; ++size) {
    std::string a(size, 'k');
    for (std::size_t i = 0; i < size; ++i) a[i] = static_cast<char>('A' + (i * 7) % 26);
    const std::string b = a;
    EXPECT_TRUE(equal_in_constant_time(a.data(), b.data(), size)) << size;
    for (std::size_t at = 0; at < size; ++at) {
      std::string c = a;
      c[at] = static_cast<char>(c[at] ^ 0x01);
      EXPECT_FALSE(equal_in_constant_time(a.data(), c.data(), size)) << size << " at " << at;
      c[at] = static_cast<char>(a[at] ^ 0x80);
      EXPECT_FALSE(equal_in_constant_time(c.data(), a.data(), size)) << size << " at " << at;
    }
  }
}

TEST(Keys, OpenModeOnlyWithoutMasterKeyAndWithoutKeys) {
  auto empty = std::make_shared<const KeyDirectory>(std::vector<store::KeyRecord>{}, std::vector<store::TeamRecord>{}, 0);
  EXPECT_EQ(authenticate(empty, "", "", 0).status, Caller::Status::open_mode);
  EXPECT_EQ(authenticate(empty, "", "m", 0).status, Caller::Status::missing);
  auto one = std::make_shared<const KeyDirectory>(std::vector<store::KeyRecord>{key_with("sk-baton-x", "key_1")},
                                                  std::vector<store::TeamRecord>{}, 1);
  EXPECT_EQ(authenticate(one, "", "", 0).status, Caller::Status::missing);
}

TEST(Keys, AllowedModelsOfKeyAndTeamBothApply) {
  const std::string secret = generate_secret();
  store::KeyRecord key = key_with(secret, "key_1");
  key.team_id = "team_a";
  key.limits.allowed_models = {"gpt-4o-mini", "local"};
  store::TeamRecord team;
  team.id = "team_a";
  team.limits.allowed_models = {"local", "claude"};
  auto dir = std::make_shared<const KeyDirectory>(std::vector<store::KeyRecord>{key}, std::vector<store::TeamRecord>{team}, 1);
  const Caller caller = authenticate(dir, secret, "", 0);
  ASSERT_EQ(caller.status, Caller::Status::key);
  EXPECT_EQ(caller.team_id(), "team_a");
  EXPECT_TRUE(caller.may_use("local"));
  EXPECT_FALSE(caller.may_use("gpt-4o-mini"));  // the team does not allow it
  EXPECT_FALSE(caller.may_use("claude"));       // the key does not allow it
}

TEST(Keys, BearerTokenParsing) {
  EXPECT_EQ(bearer_token("Bearer sk-baton-abc"), "sk-baton-abc");
  EXPECT_EQ(bearer_token("bearer  sk-baton-abc "), "sk-baton-abc");
  EXPECT_EQ(bearer_token("sk-baton-abc"), "sk-baton-abc");  // x-api-key carries the bare key
  EXPECT_EQ(bearer_token(""), "");
}

TEST(Keys, GuardOverrideParsing) {
  config::PiiPolicyConfig p;
  EXPECT_EQ(parse_guard_override(R"({"pii":{"action":"block","types":{"EMAIL":"allow"},"allowed_residency":["kr"]}})", p), "");
  EXPECT_EQ(p.action, "block");
  EXPECT_TRUE(p.action_set);
  EXPECT_EQ(p.types.at("EMAIL"), "allow");
  EXPECT_EQ(p.allowed_residency, std::vector<std::string>{"kr"});
  config::PiiPolicyConfig q;
  EXPECT_NE(parse_guard_override(R"({"pii":{"action":"shred"}})", q), "");
  EXPECT_NE(parse_guard_override(R"({"pii":{"types":{"NOPE":"block"}}})", q), "");
  EXPECT_NE(parse_guard_override(R"({"pii":{"colour":"red"}})", q), "");
  EXPECT_NE(parse_guard_override(R"({"other":{}})", q), "");
  EXPECT_NE(parse_guard_override("[]", q), "");
}

}  // namespace
}  // namespace baton::tenancy
