#pragma once
// The configuration contract (ARCHITECTURE.md §3.2) as plain structs. A Config is built once by the
// loader, validated, and then only read: reload builds a new one and swaps the whole snapshot.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace baton::config {

struct Timeouts {
  std::uint32_t connect_ms = 5'000;
  std::uint32_t first_token_ms = 120'000;  // until the upstream's first byte of the answer
  std::uint32_t stall_ms = 60'000;         // longest allowed gap between two stream chunks
  std::uint32_t total_ms = 600'000;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  unsigned workers = 0;  // 0 = one per usable core
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::uint32_t header_timeout_ms = 10'000;  // whole request head + body must arrive within this
  std::uint32_t idle_timeout_ms = 75'000;    // keep-alive connection with no request
  std::size_t max_connections = 20'000;
  std::uint32_t drain_timeout_ms = 30'000;   // SIGTERM: in-flight work gets this long
  std::string access_log = "stdout";         // "stdout", "off", or a file path
};

struct AuthConfig {
  std::string master_key;
};

struct Price {  // USD per million tokens
  double input_per_mtok = 0;
  double cached_input_per_mtok = 0;  // 0: same as input
  double output_per_mtok = 0;
  bool empty() const { return input_per_mtok == 0 && cached_input_per_mtok == 0 && output_per_mtok == 0; }
};

struct StorageConfig {
  std::string url = "sqlite://var/baton.db";  // sqlite://PATH | sqlite::memory: | postgresql://...
  std::string redis;                          // redis://host:port/db; empty = limits exact per process
  // When Redis (limits) or the database (usage records) cannot keep up: `open` serves the request
  // uncounted and counts that in a metric; `closed` refuses it with 503. Keys and teams may override.
  bool fail_closed = false;
  std::uint32_t redis_timeout_ms = 100;  // a limit check that takes longer counts as Redis unavailable
  std::size_t usage_queue = 200'000;     // usage records held in memory while the database is slow
  std::uint32_t usage_batch = 2'048;     // records per write transaction
  std::uint32_t usage_flush_ms = 200;    // longest a record waits before its batch is written
  std::uint32_t keys_refresh_ms = 250;   // how often replicas look for key/team changes (revocation)
};

// Prices come from a deployment's `price`, else from `pricing.models` by upstream model id, else
// from the built-in table (tenancy/pricing.cpp). Budgets in KRW convert at `krw_per_usd`.
struct PricingConfig {
  double krw_per_usd = 1400;
  std::map<std::string, Price> models;  // upstream model id -> price
};

enum class ProviderKind { openai, anthropic, llama_server };

struct Origin {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string path_prefix;  // e.g. "/v1", never ends with '/'
};

struct ProviderConfig {
  std::string name;
  ProviderKind kind = ProviderKind::openai;
  std::string base_url;
  Origin origin;
  std::string api_key;
  std::string residency;
  bool enabled = true;  // `enabled: "${OPENAI_API_KEY:+true}"` turns a provider on only when a key is set
  Timeouts timeouts;
  std::map<std::string, std::string> headers;  // extra headers sent upstream
  // kind: llama-server
  std::string binary;
  std::string model_path;
  unsigned threads = 1;
  unsigned ctx_size = 2048;
  std::vector<std::string> args;
};


struct DeploymentConfig {
  std::string provider;
  std::string model;
  Price price;
  std::uint32_t context_window = 0;  // 0 = unknown
  std::uint32_t weight = 1;
};

// Per-model overrides of provider timeouts: only the fields that are set apply.
struct TimeoutOverrides {
  std::optional<std::uint32_t> connect_ms, first_token_ms, stall_ms, total_ms;
  Timeouts apply_to(Timeouts base) const;
};

struct RetryConfig {
  unsigned max_attempts = 3;  // attempts per model group (the model itself, then each fallback)
  std::uint32_t base_backoff_ms = 100;
  std::uint32_t max_backoff_ms = 2'000;
};

struct BreakerSettings {
  std::uint32_t consecutive_failures = 5;
  std::uint32_t cooldown_ms = 30'000;
  // Also open when at least failure_ratio of >= min_requests requests in window_ms failed (0: off).
  double failure_ratio = 0.5;
  std::uint32_t min_requests = 20;
  std::uint32_t window_ms = 30'000;
};

// `guard.pii` and `models[].guard.pii`. The loader validates the names: `action` and every value of
// `types` is one of allow | block | redact | pin, every key of `types` a PII type (ARCHITECTURE
// §3.4). guard::Policy::from_config turns this into the enforced policy.
struct PiiPolicyConfig {
  std::string action = "allow";                // default action for every type
  std::vector<std::string> allowed_residency;  // provider residencies a `pin` may route to
  std::map<std::string, std::string> types;    // per-type overrides: "KR_RRN" -> "block"
  // What the file set. A model's block overrides the global one field by field: `action` and
  // `allowed_residency` when set, `types` key by key.
  bool action_set = false;
  bool allowed_residency_set = false;
};

struct GuardConfig {
  PiiPolicyConfig pii;
};

// The policy a model gets: `global` with `model`'s fields laid over it (nullptr: `global` as is).
PiiPolicyConfig merge_pii_policy(const PiiPolicyConfig& global, const PiiPolicyConfig* model);

struct ModelConfig {
  std::string name;
  std::string strategy = "priority";
  std::vector<DeploymentConfig> deployments;
  std::vector<std::string> fallbacks;
  std::optional<GuardConfig> guard;  // `models[].guard`: overrides `guard` for this model, field by field
  TimeoutOverrides timeouts;
  RetryConfig retry;
  BreakerSettings breaker;
};

struct Config {
  std::string source_path;
  ServerConfig server;
  AuthConfig auth;
  StorageConfig storage;
  PricingConfig pricing;
  std::vector<ProviderConfig> providers;
  std::vector<ModelConfig> models;
  GuardConfig guard;

  const ProviderConfig* find_provider(std::string_view name) const;
  const ModelConfig* find_model(std::string_view name) const;
};

// One problem found while loading: "FILE:LINE: KEY: REASON".
struct Problem {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string key;
  std::string reason;
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when problems is empty
  std::vector<Problem> problems;
};

LoadResult load_config_file(const std::string& path);
LoadResult load_config_text(const std::string& text, const std::string& display_name);

// "${VAR}", "${VAR:-default}" (default when unset or empty) and "${VAR:+word}" (word when set and
// non-empty, else empty) expansion; `$$` is a literal '$'. Returns false and sets `error`
// for an unterminated reference or a ${VAR} (no default) whose variable is unset.
bool expand_env(const std::string& in, std::string& out, std::string& error);

// "http://host:port/prefix" → Origin. Returns an error message or empty on success.
std::string parse_origin(const std::string& url, Origin& out);

}  // namespace baton::config
