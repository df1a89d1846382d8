// Policy (config -> per-type actions) and decide() (one request body -> what to enforce).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>

#include "core/json_text.hpp"
#include "guard/policy.hpp"
#include "obs/access_log.hpp"
#include "obs/metrics.hpp"

namespace baton::guard {
namespace {

constexpr std::string_view kRrn = "900101-1234568";
constexpr std::string_view kPhone = "010-1234-5678";
constexpr std::string_view kPhone2 = "010-9876-5432";
constexpr std::string_view kEmail = "kim@naver.com";

config::PiiPolicyConfig pii(std::string action, std::map<std::string, std::string> types = {},
                            std::vector<std::string> residency = {}) {
  config::PiiPolicyConfig c;
  c.action = std::move(action);
  c.action_set = true;
  c.types = std::move(types);
  c.allowed_residency_set = !residency.empty();
  c.allowed_residency = std::move(residency);
  return c;
}

Policy policy(std::string action, std::map<std::string, std::string> types = {}) {
  return Policy::from_config(pii(std::move(action), std::move(types), {"onprem"}), nullptr);
}

// {"model":"m","messages":[{"role":"user","content":<text>}, ...]} with each text JSON-escaped.
std::string chat(const std::vector<std::string>& contents) {
  std::string body = R"({"model":"m","messages":[)";
  for (std::size_t i = 0; i < contents.size(); ++i) {
    if (i != 0) body += ',';
    body += R"({"role":"user","content":)";
    append_json_string(body, contents[i]);
    body += '}';
  }
  return body + "]}";
}

std::string s(std::string_view a, std::string_view b = {}, std::string_view c = {}, std::string_view d = {}) {
  return std::string(a) + std::string(b) + std::string(c) + std::string(d);
}

// messages[i].content of a body, which must be valid JSON.
std::string content_of(const std::string& body, std::size_t i) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << "not valid JSON: " << body;
  if (ec) return {};
  const auto& text = doc.at("messages").at(i).at("content").as_string();
  return std::string(text.data(), text.size());
}

class GuardPolicy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { scanner_ = Scanner::create(validate::CivilDate{2025, 6, 1}).release(); }
  static void TearDownTestSuite() {
    delete scanner_;
    scanner_ = nullptr;
  }

  Decision decide_ok(const Policy& p, const std::string& body, RequestFormat format = RequestFormat::openai_chat) {
    Decision d;
    EXPECT_TRUE(decide(*scanner_, p, body, d, format)) << body;
    return d;
  }

  static inline Scanner* scanner_ = nullptr;
};

TEST_F(GuardPolicy, ActionNames) {
  for (Action a : kAllActions) EXPECT_EQ(action_from_string(to_string(a)), a);
  EXPECT_EQ(to_string(Action::pin), "pin");
  EXPECT_FALSE(action_from_string("Block"));
  EXPECT_EQ(strictest(Action::redact, Action::pin), Action::pin);
  EXPECT_EQ(strictest(Action::block, Action::pin), Action::block);
  EXPECT_EQ(strictest(Action::allow, Action::redact), Action::redact);
}

TEST_F(GuardPolicy, FromConfigDefaultsAndPerTypeOverrides) {
  const Policy off = Policy::from_config(config::PiiPolicyConfig{}, nullptr);
  EXPECT_FALSE(off.enforces_anything());
  for (PiiType t : kAllPiiTypes) EXPECT_EQ(off.action_for(t), Action::allow);

  const Policy p = Policy::from_config(pii("pin", {{"KR_RRN", "block"}, {"KR_PHONE", "redact"}}, {"onprem", "kr"}), nullptr);
  EXPECT_TRUE(p.enforces_anything());
  EXPECT_EQ(p.action_for(PiiType::kr_rrn), Action::block);
  EXPECT_EQ(p.action_for(PiiType::kr_phone), Action::redact);
  EXPECT_EQ(p.action_for(PiiType::email), Action::pin);
  EXPECT_TRUE(p.residency_allowed("kr"));
  EXPECT_FALSE(p.residency_allowed("us"));

  // Allow by default, one type enforced: still something to enforce.
  EXPECT_TRUE(policy("allow", {{"EMAIL", "redact"}}).enforces_anything());
  // A hand-built config with a misspelt action fails closed.
  EXPECT_EQ(Policy::from_config(pii("shred"), nullptr).action_for(PiiType::email), Action::block);
}

TEST_F(GuardPolicy, ModelOverrideIsFieldByField) {
  const config::PiiPolicyConfig global = pii("block", {{"KR_PHONE", "redact"}, {"EMAIL", "redact"}}, {"onprem"});

  config::PiiPolicyConfig model;  // sets only the action and one type
  model.action = "pin";
  model.action_set = true;
  model.types = {{"EMAIL", "allow"}};
  const Policy p = Policy::from_config(global, &model);
  EXPECT_EQ(p.action_for(PiiType::kr_rrn), Action::pin);       // model's default
  EXPECT_EQ(p.action_for(PiiType::kr_phone), Action::redact);  // global type kept
  EXPECT_EQ(p.action_for(PiiType::email), Action::allow);      // model's type wins
  EXPECT_EQ(p.allowed_residency, std::vector<std::string>{"onprem"});

  config::PiiPolicyConfig residency_only;
  residency_only.allowed_residency = {"kr"};
  residency_only.allowed_residency_set = true;
  const Policy q = Policy::from_config(global, &residency_only);
  EXPECT_EQ(q.action_for(PiiType::kr_rrn), Action::block);
  EXPECT_EQ(q.allowed_residency, std::vector<std::string>{"kr"});

  config::PiiPolicyConfig empty;  // `guard: {pii: {}}` changes nothing
  EXPECT_EQ(Policy::from_config(global, &empty).action_for(PiiType::kr_rrn), Action::block);
}

TEST_F(GuardPolicy, CleanRequestIsAllowed) {
  const Decision d = decide_ok(policy("block"), chat({"안녕하세요, 회의는 2024-01-15입니다."}));
  EXPECT_EQ(d.action, Action::allow);
  EXPECT_EQ(d.total_findings(), 0u);
  EXPECT_TRUE(d.message_indexes.empty());
  EXPECT_EQ(d.types_summary(), "");
  EXPECT_FALSE(d.redact);
  EXPECT_FALSE(d.pin);
  EXPECT_TRUE(d.splices.empty());
}

TEST_F(GuardPolicy, AllowCountsButEnforcesNothing) {
  const Decision d = decide_ok(policy("allow"), chat({s("전화 ", kPhone)}));
  EXPECT_EQ(d.action, Action::allow);
  EXPECT_EQ(d.counts[static_cast<std::size_t>(PiiType::kr_phone)], 1u);
  EXPECT_EQ(d.types_summary(), "KR_PHONE:1");
  EXPECT_FALSE(d.redact);
  EXPECT_FALSE(d.pin);
  EXPECT_EQ(d.redaction, nullptr);
}

TEST_F(GuardPolicy, BlockNamesTypesAndMessagesNeverValues) {
  const std::string body = chat({s("제 주민등록번호는 ", kRrn, "입니다."), s("전화 ", kPhone), s("다시 ", kRrn)});
  const Decision d = decide_ok(policy("allow", {{"KR_RRN", "block"}}), body);
  EXPECT_EQ(d.action, Action::block);
  EXPECT_FALSE(d.redact);
  EXPECT_FALSE(d.pin);
  EXPECT_TRUE(d.splices.empty());
  EXPECT_EQ(d.redaction, nullptr);
  EXPECT_EQ(d.message_indexes, (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(d.blocked_message_indexes, (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ(d.block_message(), "request contains personal data (KR_RRN in messages 0, 2); blocked by policy");
  EXPECT_EQ(d.types_summary(), "KR_RRN:2,KR_PHONE:1");
  for (std::string_view value : {std::string_view("900101"), std::string_view("1234568"), std::string_view("5678")}) {
    EXPECT_EQ(d.block_message().find(value), std::string::npos);
    EXPECT_EQ(d.types_summary().find(value), std::string::npos);
  }

  const Decision one = decide_ok(policy("block"), chat({"hi", s("메일 ", kEmail, " 전화 ", kPhone)}));
  EXPECT_EQ(one.block_message(),
            "request contains personal data (KR_PHONE, EMAIL in message 1); blocked by policy");
}

TEST_F(GuardPolicy, PerTypeOverrideDecides) {
  const Policy p = policy("allow", {{"KR_RRN", "block"}});
  EXPECT_EQ(decide_ok(p, chat({s("전화 ", kPhone)})).action, Action::allow);
  EXPECT_EQ(decide_ok(p, chat({s("번호 ", kRrn)})).action, Action::block);
  const Policy q = policy("block", {{"EMAIL", "allow"}});
  EXPECT_EQ(decide_ok(q, chat({s("메일 ", kEmail)})).action, Action::allow);
  EXPECT_EQ(decide_ok(q, chat({s("메일 ", kEmail, " ", kPhone)})).action, Action::block);
}

TEST_F(GuardPolicy, StrictestWinsAndPinPlusRedactBothApply) {
  const std::string body = chat({s("주민번호 ", kRrn, ", 전화 ", kPhone)});
  const Decision d = decide_ok(policy("allow", {{"KR_RRN", "pin"}, {"KR_PHONE", "redact"}}), body);
  EXPECT_EQ(d.action, Action::pin);
  EXPECT_TRUE(d.pin);
  EXPECT_TRUE(d.redact);
  ASSERT_EQ(d.splices.size(), 1u);
  // Only the redact type is replaced; the pinned value stays (it only goes to allowed residencies).
  EXPECT_EQ(content_of(apply_splices(body, d.splices), 0), s("주민번호 ", kRrn, ", 전화 [KR_PHONE_1]"));

  const Decision blocked = decide_ok(policy("allow", {{"KR_RRN", "pin"}, {"KR_PHONE", "block"}}), body);
  EXPECT_EQ(blocked.action, Action::block);
  EXPECT_FALSE(blocked.pin);
  EXPECT_FALSE(blocked.redact);
  EXPECT_EQ(blocked.block_message(), "request contains personal data (KR_PHONE in message 0); blocked by policy");

  const Decision pinned = decide_ok(policy("pin"), body);
  EXPECT_EQ(pinned.action, Action::pin);
  EXPECT_TRUE(pinned.pin);
  EXPECT_FALSE(pinned.redact);
  EXPECT_TRUE(pinned.splices.empty());
}

TEST_F(GuardPolicy, RedactionSplicesGiveValidJsonWithSharedPlaceholders) {
  const std::vector<std::string> contents = {
      s("제 번호는 ", kPhone, " 이고 메일은 ", kEmail),
      "알겠습니다",
      s("다시: ", kPhone, ", 그리고 \"동생\" ", kPhone2) + " \\ \xED\x95\x9C\n끝",
  };
  const std::string body = chat(contents);
  const Decision d = decide_ok(policy("redact"), body);
  EXPECT_EQ(d.action, Action::redact);
  EXPECT_TRUE(d.redact);
  EXPECT_FALSE(d.pin);
  ASSERT_NE(d.redaction, nullptr);
  ASSERT_EQ(d.splices.size(), 2u);  // message 1 has nothing to replace: its bytes stay
  EXPECT_LT(d.splices[0].offset, d.splices[1].offset);
  EXPECT_EQ(d.message_indexes, (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ(d.types_summary(), "KR_PHONE:3,EMAIL:1");

  const std::string redacted = apply_splices(body, d.splices);
  EXPECT_EQ(content_of(redacted, 0), "제 번호는 [KR_PHONE_1] 이고 메일은 [EMAIL_1]");
  EXPECT_EQ(content_of(redacted, 1), "알겠습니다");
  EXPECT_EQ(content_of(redacted, 2), "다시: [KR_PHONE_1], 그리고 \"동생\" [KR_PHONE_2] \\ \xED\x95\x9C\n끝");
  for (std::string_view value : {kPhone, kPhone2, kEmail}) EXPECT_EQ(redacted.find(value), std::string::npos);
  // Everything outside the replaced tokens is forwarded byte for byte.
  EXPECT_EQ(redacted.substr(0, d.splices[0].offset), body.substr(0, d.splices[0].offset));
  // The model's answer gets the values back.
  EXPECT_EQ(d.redaction->restore(content_of(redacted, 2)), contents[2]);
}

TEST_F(GuardPolicy, RedactionAcrossEscapedOriginalTokens) {
  // The client escaped Hangul as \uXXXX and quotes as \"; the splice replaces the whole raw token.
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"\uC804\uD654 \"010-1234-5678\" \ub05d"}],"stream":true})";
  const Decision d = decide_ok(policy("redact"), body);
  ASSERT_EQ(d.splices.size(), 1u);
  const std::string redacted = apply_splices(body, d.splices);
  EXPECT_EQ(content_of(redacted, 0), "전화 \"[KR_PHONE_1]\" 끝");
  EXPECT_TRUE(redacted.ends_with(R"(}],"stream":true})"));
}

TEST_F(GuardPolicy, LiteralPlaceholdersElsewhereInTheRequestAreNeverReused) {
  const std::string body = chat({s("전화 ", kPhone), "I typed [KR_PHONE_1] myself"});
  const Decision d = decide_ok(policy("redact"), body);
  const std::string redacted = apply_splices(body, d.splices);
  EXPECT_EQ(content_of(redacted, 0), "전화 [KR_PHONE_2]");
  EXPECT_EQ(content_of(redacted, 1), "I typed [KR_PHONE_1] myself");
  EXPECT_EQ(d.redaction->restore("[KR_PHONE_1] [KR_PHONE_2]"), s("[KR_PHONE_1] ", kPhone));
}

TEST_F(GuardPolicy, ToolCallArgumentsAreRedactedInPlace) {
  const std::string body = R"({"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[)"
                           R"({"id":"c","type":"function","function":{"name":"f","arguments":"{\"to\":\"010-1234-5678\"}"}}]}]})";
  const Decision d = decide_ok(policy("redact"), body);
  const std::string redacted = apply_splices(body, d.splices);
  const boost::json::value doc = boost::json::parse(redacted);
  EXPECT_EQ(doc.at("messages").at(0).at("tool_calls").at(0).at("function").at("arguments").as_string(),
            R"({"to":"[KR_PHONE_1]"})");
}

TEST_F(GuardPolicy, AnthropicSystemPromptIsNamed) {
  const std::string body = s(R"({"model":"c","system":"주민번호 )", kRrn, R"(","messages":[{"role":"user","content":")",
                             kRrn) + R"("}]})";
  const Decision d = decide_ok(policy("block"), body, RequestFormat::anthropic_messages);
  EXPECT_EQ(d.block_message(),
            "request contains personal data (KR_RRN in message 0 and the system prompt); blocked by policy");
  EXPECT_EQ(d.message_indexes, (std::vector<std::uint32_t>{0, kSystemText}));
}

TEST_F(GuardPolicy, UnreadableBodyFailsClosed) {
  Decision d;
  EXPECT_FALSE(decide(*scanner_, policy("redact"), R"({"messages":[{"content":1}]})", d));
  EXPECT_FALSE(decide(*scanner_, policy("redact"), "not json", d));
}

TEST_F(GuardPolicy, SharedScannerIsOnePerProcess) {
  const Scanner* a = shared_scanner();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, shared_scanner());
  std::vector<Finding> findings;
  EXPECT_TRUE(a->try_scan(kPhone, findings));
  EXPECT_EQ(findings.size(), 1u);
}

TEST_F(GuardPolicy, MetricsAndAuditCarryTypesAndActionsOnly) {
  const std::string body = chat({s("주민번호 ", kRrn, " 전화 ", kPhone), s("전화 ", kPhone)});
  const Decision d = decide_ok(policy("redact", {{"KR_RRN", "pin"}}), body);
  obs::Registry& registry = obs::Registry::instance();
  registry.count_pii(d);
  registry.count_pii(Decision{});  // a clean request counts nothing
  const std::string metrics = registry.render();
  EXPECT_NE(metrics.find("# TYPE baton_pii_findings_total counter"), std::string::npos);
  EXPECT_NE(metrics.find("baton_pii_findings_total{type=\"KR_RRN\",action=\"pin\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("baton_pii_findings_total{type=\"KR_PHONE\",action=\"redact\"} 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("baton_pii_requests_total{action=\"pin\"} 1\n"), std::string::npos);
  EXPECT_EQ(metrics.find("action=\"allow\""), std::string::npos);  // zero series are not rendered

  const std::string types = d.types_summary();
  obs::AccessRecord record;
  record.pii_action = to_string(d.action);
  record.pii_types = types;
  std::string line;
  obs::format_access_record(line, record);
  EXPECT_NE(line.find(R"("pii_action":"pin","pii_types":"KR_RRN:1,KR_PHONE:2")"), std::string::npos) << line;
  EXPECT_EQ(line.find("900101"), std::string::npos);
  line.clear();
  obs::format_access_record(line, obs::AccessRecord{});
  EXPECT_EQ(line.find("pii_"), std::string::npos);
}

TEST(GuardSplices, ApplyInOrder) {
  EXPECT_EQ(apply_splices("abcdef", {}), "abcdef");
  EXPECT_EQ(apply_splices("abcdef", {{0, 1, "X"}, {3, 2, ""}, {6, 0, "!"}}), "Xbcf!");
}

}  // namespace
}  // namespace baton::guard
