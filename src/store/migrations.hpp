#pragma once
// The schema both SQL backends share: the versioned migrations (one list per dialect, side by side
// in migrations.cpp so they stay in step) and how records map onto columns and back. Internal to
// src/store; nothing outside the store includes this.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/records.hpp"

namespace baton::store::schema {

// One schema version: statements applied in order, in one transaction, with the row recording it.
struct Migration {
  int version;
  std::vector<std::string_view> steps;
};

// Index i holds version i + 1; the last one is Store::kLatestSchemaVersion.
const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

// Which versions are applied (both dialects accept this text). Created inside the first
// migration's transaction, so an empty database stays empty until migrate() runs.
inline constexpr std::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)";

// The columns each record maps onto, in the order write_* and read_* below walk them.
inline constexpr std::string_view kTeamColumns =
    "id, name, allowed_models, rpm, tpm, max_parallel, budget, budget_currency, budget_period, fail_mode, "
    "guard_json, metadata_json, created_at_ms";
inline constexpr std::string_view kKeyColumns =
    "id, hash, preview, name, team_id, allowed_models, rpm, tpm, max_parallel, budget, budget_currency, "
    "budget_period, fail_mode, guard_json, metadata_json, created_at_ms, expires_at_ms, revoked_at_ms";
inline constexpr std::string_view kUsageColumns =
    "ts_ms, request_id, key_id, team_id, model, deployment, input_tokens, cached_input_tokens, output_tokens, "
    "cost_usd, latency_ms, ttft_ms, status, attempts, guard_action";

// "INSERT INTO table (columns) VALUES ($1, ...)" with `rows` parenthesised rows, placeholders
// numbered on across them ('?' gives bare "?", which SQLite numbers in order), and the one-row form
// followed by "ON CONFLICT (id) DO UPDATE SET c = excluded.c, ..." (one text for both dialects but
// the placeholders).
std::string insert_sql(std::string_view table, std::string_view columns, char sigil, std::size_t rows = 1);
std::string upsert_by_id_sql(std::string_view table, std::string_view columns, char sigil);

// Where a backend puts one row's values (bound parameters, a COPY line) and where it reads them
// from (a result row), one column after the other. Keeps the record ↔ column mapping in one place.
// A text value's view is only valid during the call: a writer copies what it keeps.
class RowWriter {
 public:
  virtual void int_value(std::int64_t value) = 0;
  virtual void real_value(double value) = 0;
  virtual void text_value(std::string_view value) = 0;

 protected:
  ~RowWriter() = default;
};

class RowReader {
 public:
  virtual std::int64_t int_value() = 0;
  virtual double real_value() = 0;
  virtual std::string text_value() = 0;

 protected:
  ~RowReader() = default;
};

void write_team(RowWriter& row, const TeamRecord& team);
void write_key(RowWriter& row, const KeyRecord& key);
// Room for a cleaned copy of each of a usage row's text fields (storable_text), one per field so
// every view handed to the row stays valid until the row is written.
using UsageScratch = std::array<std::string, 6>;
void write_usage(RowWriter& row, const UsageRecord& usage, UsageScratch& scratch);
TeamRecord read_team(RowReader& row, std::string_view backend);
KeyRecord read_key(RowReader& row, std::string_view backend);
// One row of usage_query_sql's result.
UsageRow read_usage_row(RowReader& row, const UsageQuery& query);

// Throws StoreError unless 1 <= version <= Store::kLatestSchemaVersion.
void check_target_version(int version, std::string_view backend);

// Column codecs. allowed_models is a JSON array of strings (exact round-trip, any characters).
std::string encode_models(const std::vector<std::string>& models);
std::vector<std::string> decode_models(std::string_view json, std::string_view backend);
BudgetPeriod decode_period(std::string_view text, std::string_view backend);
FailMode decode_fail_mode(std::string_view text, std::string_view backend);

// "YYYY-MM-DD" (UTC) of a day number, i.e. ts_ms / 86400000: both backends group by the integer
// and render it here, so the two never disagree on a calendar edge.
std::string day_text(std::int64_t day_number);

// A usage text field made storable: invalid UTF-8 and NUL bytes become U+FFFD. PostgreSQL rejects
// both, and one bad byte from a client must not cost a whole batch of usage. Returns `text` itself
// when it is clean (the common case), else a view of `scratch`.
std::string_view storable_text(std::string_view text, std::string& scratch);

// A statement with positional parameters written `<sigil>N` ("?1" for SQLite, "$1" for PostgreSQL).
struct BoundSql {
  std::string sql;
  std::vector<std::variant<std::int64_t, std::string>> params;
};

// What both backends do with the rows they read: drop the empty total that an ungrouped
// aggregate over no rows yields, and sort by the grouped fields (byte order, as `COLLATE "C"`).
void finish_usage_rows(std::vector<UsageRow>& rows);

}  // namespace baton::store::schema
