#pragma once
// What the store keeps: teams, virtual keys, and one usage record per request. Plain values, the
// same for every backend (SQLite, PostgreSQL); the schema lives in the backends' migrations.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace baton::store {

enum class BudgetPeriod : std::uint8_t { daily, weekly, monthly };
enum class FailMode : std::uint8_t { inherit, open, closed };  // inherit: the config's storage.fail_mode

// Limits a key or a team carries. Zero means "no limit"; an empty allowed_models allows every model.
struct Limits {
  std::vector<std::string> allowed_models;
  std::uint32_t rpm = 0;           // requests per sliding minute
  std::uint32_t tpm = 0;           // tokens (input + output) per sliding minute
  std::uint32_t max_parallel = 0;  // requests in flight at once
  double budget = 0;               // 0 = no budget
  std::string budget_currency = "USD";  // USD | KRW
  BudgetPeriod budget_period = BudgetPeriod::monthly;
  FailMode fail_mode = FailMode::inherit;
  std::string guard_json;  // per-key/team guard override, `{"pii": {...}}` as in config; empty = none
};

struct TeamRecord {
  std::string id;  // "team_<hex>" or a name the admin chose
  std::string name;
  Limits limits;
  std::string metadata_json = "{}";
  std::int64_t created_at_ms = 0;
};

struct KeyRecord {
  std::string id;       // "key_<hex>": how admins and usage records name the key
  std::string hash;     // hex SHA-256 of the secret; the secret itself is never stored
  std::string preview;  // "sk-baton-ab12…" for lists; never enough to use
  std::string name;
  std::string team_id;  // empty: no team
  Limits limits;
  std::string metadata_json = "{}";
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;  // 0 = never
  std::int64_t revoked_at_ms = 0;  // 0 = live
};

// One request's outcome. Written by the usage writer in batches, never on the request path.
struct UsageRecord {
  std::int64_t ts_ms = 0;  // when the request finished (Unix ms)
  std::string request_id;
  std::string key_id;   // empty in open dev mode
  std::string team_id;
  std::string model;       // the model group the client asked for
  std::string deployment;  // provider/model that answered (empty: none)
  std::int64_t input_tokens = 0;
  std::int64_t cached_input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;
  std::uint32_t latency_ms = 0;
  std::uint32_t ttft_ms = 0;
  std::uint16_t status = 0;
  std::uint8_t attempts = 0;
  std::string guard_action;  // "", "block", "redact", "pin"

  // Back to a default record, keeping the strings' capacity (a reused queue slot).
  void reset();
};

// GET /admin/usage: totals grouped by any of key, team, model, day within [from_ms, to_ms).
struct UsageQuery {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;  // 0 = no upper bound
  bool by_key = false, by_team = false, by_model = false, by_day = false;
  std::string key_id, team_id, model;  // optional filters
};

struct UsageRow {
  std::string key_id, team_id, model, day;  // set for the grouped-by fields; day is "YYYY-MM-DD" (UTC)
  std::int64_t requests = 0;
  std::int64_t input_tokens = 0;
  std::int64_t cached_input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;
  std::int64_t errors = 0;  // status >= 400
};

std::string_view to_string(BudgetPeriod period);
std::optional<BudgetPeriod> parse_budget_period(std::string_view text);
std::string_view to_string(FailMode mode);
std::optional<FailMode> parse_fail_mode(std::string_view text);

}  // namespace baton::store
