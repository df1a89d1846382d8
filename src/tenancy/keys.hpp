#pragma once
// Virtual keys ("sk-baton-…") and who a request comes from.
//
// The secret is shown once, when the key is created; the store keeps only its SHA-256. A request's
// bearer token is hashed and looked up by digest in an immutable in-memory directory, then the
// digests are compared in constant time (equal_in_constant_time), so no comparison's time depends on
// where a guess is wrong. The directory is rebuilt (and swapped atomically) when the store's keys_revision moves.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "store/records.hpp"

namespace baton::tenancy {

inline constexpr std::string_view kKeyPrefix = "sk-baton-";

std::string generate_secret();                    // "sk-baton-" + 43 base62 characters (256 bits)
std::string hash_secret(std::string_view secret);  // lowercase hex SHA-256
std::string new_id(std::string_view prefix);      // "key_" / "team_" + 16 hex characters
std::string secret_preview(std::string_view secret);  // "sk-baton-Ab3…x9Zq"

// `{"pii": {action, allowed_residency, types}}` (the config's guard block, as JSON) → policy config.
// Returns an error message, empty when fine.
std::string parse_guard_override(std::string_view json, config::PiiPolicyConfig& out);

class KeyDirectory {
 public:
  struct Entry {
    store::KeyRecord key;
    const store::TeamRecord* team = nullptr;
    std::optional<config::PiiPolicyConfig> key_guard;   // parsed guard_json
    std::optional<config::PiiPolicyConfig> team_guard;
    std::string key_scope;   // "key:<id>": limiter scopes, built once per directory, not per request
    std::string team_scope;  // "team:<id>" or empty
  };

  KeyDirectory(std::vector<store::KeyRecord> keys, std::vector<store::TeamRecord> teams, std::int64_t revision);
  KeyDirectory(const KeyDirectory&) = delete;
  KeyDirectory& operator=(const KeyDirectory&) = delete;

  using Digest = std::array<unsigned char, 32>;  // raw SHA-256

  // The entry whose hash matches `secret`'s (revoked and expired ones included), or nullptr.
  const Entry* find(std::string_view secret) const;
  const Entry* find_digest(const Digest& digest) const;
  const store::TeamRecord* team(std::string_view id) const;
  std::int64_t revision() const { return revision_; }
  // No key was ever created: with no master key either, baton runs in open dev mode.
  bool empty() const { return entries_.empty(); }
  const std::vector<store::TeamRecord>& teams() const { return teams_; }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<store::TeamRecord> teams_;
  std::vector<Entry> entries_;
  // A digest is uniformly random already: its first eight bytes are the hash.
  struct DigestHash {
    std::size_t operator()(const Digest& digest) const noexcept;
  };
  std::unordered_map<Digest, std::size_t, DigestHash> by_digest_;  // → entries_ index
  std::int64_t revision_;
};

// A connection's last bearer token and its SHA-256. Keep-alive clients send the same key with every
// request, so the digest is computed once per connection rather than once per request (229 ns with
// the algorithm prefetched). Holds the token no longer than the connection, whose read buffer held
// it anyway; matched in constant time and wiped when replaced or destroyed.
class TokenDigestMemo {
 public:
  TokenDigestMemo() = default;
  TokenDigestMemo(const TokenDigestMemo&) = delete;
  TokenDigestMemo& operator=(const TokenDigestMemo&) = delete;
  ~TokenDigestMemo();

  const KeyDirectory::Digest& digest_of(std::string_view token);

 private:
  void forget();

  std::string token_;
  KeyDirectory::Digest digest_{};
  bool valid_ = false;
};

// Who is calling, resolved once per request. Pins the directory it came from.
struct Caller {
  enum class Status : std::uint8_t { open_mode, master, key, missing, unknown, revoked, expired };
  Status status = Status::missing;
  std::shared_ptr<const KeyDirectory> directory;
  const KeyDirectory::Entry* entry = nullptr;  // set for key (and for revoked / expired, to name it)

  bool admitted() const { return status == Status::open_mode || status == Status::master || status == Status::key; }
  // The model is in the key's allowed list and its team's (an empty list allows every model).
  bool may_use(std::string_view model) const;
  std::string_view key_id() const { return entry != nullptr ? std::string_view(entry->key.id) : std::string_view{}; }
  std::string_view team_id() const {
    return entry != nullptr ? std::string_view(entry->key.team_id) : std::string_view{};
  }
};

// Whether two ranges of `size` bytes are equal, in a time that depends on `size` only: eight bytes
// per step (CRYPTO_memcmp takes one byte per step, ~7 instructions per byte: 0.6K per keyed request).
bool equal_in_constant_time(const void* a, const void* b, std::size_t size);

// The bearer token from "Authorization: Bearer X" or an "x-api-key: X" header value.
std::string_view bearer_token(std::string_view authorization);

// Copies `directory` into the caller only when a key entry is returned (the pointer keeps it alive):
// open-mode and master-key requests never touch the shared reference count. `memo` (the
// connection's, may be null) saves hashing a token the connection presented before.
Caller authenticate(const std::shared_ptr<const KeyDirectory>& directory, std::string_view token,
                    const std::string& master_key, std::int64_t now_ms, TokenDigestMemo* memo = nullptr);

}  // namespace baton::tenancy
