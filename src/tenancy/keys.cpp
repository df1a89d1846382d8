#include "tenancy/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <boost/json.hpp>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "guard/pii_type.hpp"
#include "guard/policy.hpp"

namespace baton::tenancy {

namespace {

void random_bytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) throw std::runtime_error("the system random generator failed");
}

// SHA-256 with the algorithm fetched once and one context per thread: OpenSSL 3's one-shot
// SHA256() looks the algorithm up on every call (637 ns against 229 ns here), and every keyed
// request hashes its token.
// SHA-256 into a fixed array: the per-request lookup allocates nothing.
std::array<unsigned char, SHA256_DIGEST_LENGTH> digest_of(std::string_view text) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                   &EVP_MD_CTX_free);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  unsigned int length = 0;
  if (sha256 == nullptr || context == nullptr || EVP_DigestInit_ex(context.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1 || length != SHA256_DIGEST_LENGTH) {
    throw std::runtime_error("OpenSSL could not compute SHA-256");
  }
  return digest;
}

std::string raw_digest(std::string_view text) {
  const auto digest = digest_of(text);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  if (hex.size() % 2 != 0) return out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool list_allows(const std::vector<std::string>& allowed, std::string_view model) {
  if (allowed.empty()) return true;
  for (const std::string& m : allowed) {
    if (m == model) return true;
  }
  return false;
}

}  // namespace

std::string generate_secret() {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string secret(kKeyPrefix);
  // 43 base62 characters carry 256 bits; rejection sampling keeps every character uniform.
  while (secret.size() < kKeyPrefix.size() + 43) {
    unsigned char batch[64];
    random_bytes(batch, sizeof(batch));
    for (const unsigned char b : batch) {
      if (b >= 248) continue;  // 248 = 4 × 62: larger values would bias the first characters
      secret += kAlphabet[b % 62];
      if (secret.size() == kKeyPrefix.size() + 43) break;
    }
  }
  return secret;
}

std::string hash_secret(std::string_view secret) { return to_hex(raw_digest(secret)); }

std::string new_id(std::string_view prefix) {
  unsigned char bytes[8];
  random_bytes(bytes, sizeof(bytes));
  return std::string(prefix) + "_" + to_hex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string secret_preview(std::string_view secret) {
  if (secret.size() < kKeyPrefix.size() + 8) return std::string(kKeyPrefix) + "…";
  return std::string(secret.substr(0, kKeyPrefix.size() + 3)) + "…" + std::string(secret.substr(secret.size() - 4));
}

std::string parse_guard_override(std::string_view json, config::PiiPolicyConfig& out) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) return "guard must be an object like {\"pii\": {\"action\": \"block\"}}";
  for (const auto& [name, _] : doc.as_object()) {
    if (name != "pii") return "guard." + std::string(name) + ": unknown key";
  }
  const boost::json::value* pii = doc.as_object().if_contains("pii");
  if (pii == nullptr) return {};
  if (!pii->is_object()) return "guard.pii must be an object";
  for (const auto& [name, value] : pii->as_object()) {
    if (name == "action") {
      if (!value.is_string() || !guard::action_from_string(value.as_string())) {
        return "guard.pii.action must be one of allow, block, redact, pin";
      }
      out.action = std::string(value.as_string());
      out.action_set = true;
    } else if (name == "allowed_residency") {
      if (!value.is_array()) return "guard.pii.allowed_residency must be a list of strings";
      out.allowed_residency.clear();
      for (const auto& r : value.as_array()) {
        if (!r.is_string()) return "guard.pii.allowed_residency must be a list of strings";
        out.allowed_residency.emplace_back(r.as_string());
      }
      out.allowed_residency_set = true;
    } else if (name == "types") {
      if (!value.is_object()) return "guard.pii.types must be an object of PII type to action";
      for (const auto& [type, action] : value.as_object()) {
        if (!guard::pii_type_from_string(type)) return "guard.pii.types: unknown PII type '" + std::string(type) + "'";
        if (!action.is_string() || !guard::action_from_string(action.as_string())) {
          return "guard.pii.types." + std::string(type) + " must be one of allow, block, redact, pin";
        }
        out.types[std::string(type)] = std::string(action.as_string());
      }
    } else {
      return "guard.pii." + std::string(name) + ": unknown key";
    }
  }
  return {};
}

KeyDirectory::KeyDirectory(std::vector<store::KeyRecord> keys, std::vector<store::TeamRecord> teams,
                           std::int64_t revision)
    : teams_(std::move(teams)), revision_(revision) {
  entries_.reserve(keys.size());
  for (store::KeyRecord& key : keys) {
    Entry entry;
    entry.team = team(key.team_id);
    if (!key.limits.guard_json.empty()) {
      config::PiiPolicyConfig policy;
      if (parse_guard_override(key.limits.guard_json, policy).empty()) entry.key_guard = std::move(policy);
    }
    if (entry.team != nullptr && !entry.team->limits.guard_json.empty()) {
      config::PiiPolicyConfig policy;
      if (parse_guard_override(entry.team->limits.guard_json, policy).empty()) entry.team_guard = std::move(policy);
    }
    const std::string digest = from_hex(key.hash);
    entry.key_scope = "key:" + key.id;
    if (entry.team != nullptr) entry.team_scope = "team:" + entry.team->id;
    entry.key = std::move(key);
    if (digest.size() != SHA256_DIGEST_LENGTH) continue;  // a corrupt row can never match a request
    Digest raw{};
    std::memcpy(raw.data(), digest.data(), raw.size());
    by_digest_.emplace(raw, entries_.size());
    entries_.push_back(std::move(entry));
  }
}

std::size_t KeyDirectory::DigestHash::operator()(const Digest& digest) const noexcept {
  std::size_t hash = 0;
  std::memcpy(&hash, digest.data(), sizeof hash);
  return hash;
}

bool equal_in_constant_time(const void* a, const void* b, std::size_t size) {
  const auto* left = static_cast<const unsigned char*>(a);
  const auto* right = static_cast<const unsigned char*>(b);
  std::uint64_t differ = 0;
  std::size_t i = 0;
  for (; i + sizeof differ <= size; i += sizeof differ) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, left + i, sizeof x);
    std::memcpy(&y, right + i, sizeof y);
    differ |= x ^ y;
    // An empty asm the compiler must assume reads and changes `differ`: it cannot prove the
    // result settled early and end the loop at the first difference.
    asm volatile("" : "+r"(differ));
  }
  for (; i < size; ++i) {
    differ |= static_cast<std::uint64_t>(left[i] ^ right[i]);
    asm volatile("" : "+r"(differ));
  }
  return differ == 0;
}

const KeyDirectory::Entry* KeyDirectory::find(std::string_view secret) const { return find_digest(digest_of(secret)); }

const KeyDirectory::Entry* KeyDirectory::find_digest(const Digest& digest) const {
  const auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return nullptr;
  // The map found the slot; the final equality check is constant-time over the whole digest.
  if (!equal_in_constant_time(it->first.data(), digest.data(), SHA256_DIGEST_LENGTH)) return nullptr;
  return &entries_[it->second];
}

const store::TeamRecord* KeyDirectory::team(std::string_view id) const {
  if (id.empty()) return nullptr;
  for (const store::TeamRecord& t : teams_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

bool Caller::may_use(std::string_view model) const {
  if (status != Status::key || entry == nullptr) return true;
  if (!list_allows(entry->key.limits.allowed_models, model)) return false;
  return entry->team == nullptr || list_allows(entry->team->limits.allowed_models, model);
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size()) {
    bool bearer = true;
    for (std::size_t i = 0; i < kBearer.size() && bearer; ++i) {
      bearer = (authorization[i] | 0x20) == (kBearer[i] | 0x20);  // the scheme is case-insensitive
    }
    if (bearer) authorization.remove_prefix(kBearer.size());
  }
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  while (!authorization.empty() && authorization.back() == ' ') authorization.remove_suffix(1);
  return authorization;
}

TokenDigestMemo::~TokenDigestMemo() { forget(); }

void TokenDigestMemo::forget() {
  if (!token_.empty()) OPENSSL_cleanse(token_.data(), token_.size());
  OPENSSL_cleanse(digest_.data(), digest_.size());
  token_.clear();
  valid_ = false;
}

const KeyDirectory::Digest& TokenDigestMemo::digest_of(std::string_view token) {
  // Equal lengths first: the comparison needs them, and a length only says what this connection sent.
  if (valid_ && token.size() == token_.size() && equal_in_constant_time(token.data(), token_.data(), token.size())) {
    return digest_;
  }
  forget();
  digest_ = tenancy::digest_of(token);
  token_.assign(token);
  valid_ = true;
  return digest_;
}

Caller authenticate(const std::shared_ptr<const KeyDirectory>& directory, std::string_view token,
                    const std::string& master_key, std::int64_t now_ms, TokenDigestMemo* memo) {
  Caller caller;
  if (master_key.empty() && (directory == nullptr || directory->empty())) {
    caller.status = Caller::Status::open_mode;
    return caller;
  }
  if (token.empty()) {
    caller.status = Caller::Status::missing;
    return caller;
  }
  const KeyDirectory::Digest presented = memo != nullptr ? memo->digest_of(token) : digest_of(token);
  const KeyDirectory::Entry* entry = directory != nullptr ? directory->find_digest(presented) : nullptr;
  if (entry == nullptr) {
    caller.status = Caller::Status::unknown;
    if (!master_key.empty()) {
      const KeyDirectory::Digest expected = digest_of(master_key);
      if (equal_in_constant_time(presented.data(), expected.data(), SHA256_DIGEST_LENGTH)) caller.status = Caller::Status::master;
    }
    return caller;
  }
  caller.directory = directory;
  caller.entry = entry;
  if (entry->key.revoked_at_ms != 0) {
    caller.status = Caller::Status::revoked;
  } else if (entry->key.expires_at_ms != 0 && entry->key.expires_at_ms <= now_ms) {
    caller.status = Caller::Status::expired;
  } else {
    caller.status = Caller::Status::key;
  }
  return caller;
}

}  // namespace baton::tenancy
