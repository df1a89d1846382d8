#include "store/migrations.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>

#include <boost/json.hpp>

#include "core/ascii.hpp"
#include "store/store.hpp"
#include "store/usage_sql.hpp"

namespace baton::store::schema {

// Every released version stays here unchanged forever: a database is brought forward by replaying
// the versions it lacks. Add a version by appending; never edit one that shipped.
//
// v1: teams, keys (unique by hash), usage with per-key and per-team time indexes.
// v2: usage.cached_input_tokens, an index on usage(ts_ms) for time-range reports over all keys, and
//     the meta table whose keys_revision row replicas poll to notice key and team changes.
// v3: the per-key and per-team indexes skip rows without a key or team.
// v4: usage_daily (usage_sql.hpp), filled from the existing rows; the raw table's per-key and
//     per-team indexes go. A replica of the previous release keeps working against it: reports are
//     right, and its per-key spend query, run once per budget at start, scans by time instead.
//     (PostgreSQL's trigger counts that replica's rows; in SQLite its rows miss the daily totals,
//     so stop the old processes before starting new ones on the same file.)
//
// Limits are columns (not a JSON blob) so an operator can read and fix them with plain SQL. Every
// unsigned 32-bit field is a BIGINT in PostgreSQL: its INTEGER is signed and would refuse the top half.

namespace {
// Rows without a key (open mode, the master key) or without a team are never looked up by key or
// team (spend_since and usage filters name one), so those indexes skip them: for such traffic each
// usage record costs two B-tree inserts instead of four. Queries that use the indexes repeat the
// indexes' condition (`key_id <> ''`), which both planners need to pick a partial index.
const std::vector<std::string_view> kPartialUsageIndexes{
    "DROP INDEX usage_key_ts",
    "CREATE INDEX usage_key_ts ON usage (key_id, ts_ms) WHERE key_id <> ''",
    "DROP INDEX usage_team_ts",
    "CREATE INDEX usage_team_ts ON usage (team_id, ts_ms) WHERE team_id <> ''",
};

// Version 4: the dialect's usage_daily table, `between` (PostgreSQL's trigger), then what both
// dialects share: the backfill from the rows already there, usage_daily's per-key and per-team
// indexes (partial, as above), and the raw table's per-key and per-team indexes dropped.
std::vector<std::string_view> daily_totals_steps(std::string_view create_table,
                                                 std::initializer_list<std::string_view> between) {
  static const std::string backfill = add_to_daily_sql("usage");
  std::vector<std::string_view> steps{create_table};
  steps.insert(steps.end(), between);
  steps.insert(steps.end(), {backfill, "CREATE INDEX usage_daily_key ON usage_daily (key_id, day) WHERE key_id <> ''",
                             "CREATE INDEX usage_daily_team ON usage_daily (team_id, day) WHERE team_id <> ''",
                             "DROP INDEX usage_key_ts", "DROP INDEX usage_team_ts"});
  return steps;
}
}  // namespace

const std::vector<Migration>& sqlite_migrations() {
  static const std::vector<Migration> migrations{
      {1,
       {R"(CREATE TABLE teams (
             id TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             allowed_models TEXT NOT NULL DEFAULT '[]',
             rpm INTEGER NOT NULL DEFAULT 0,
             tpm INTEGER NOT NULL DEFAULT 0,
             max_parallel INTEGER NOT NULL DEFAULT 0,
             budget REAL NOT NULL DEFAULT 0,
             budget_currency TEXT NOT NULL DEFAULT 'USD',
             budget_period TEXT NOT NULL DEFAULT 'monthly',
             fail_mode TEXT NOT NULL DEFAULT 'inherit',
             guard_json TEXT NOT NULL DEFAULT '',
             metadata_json TEXT NOT NULL DEFAULT '{}',
             created_at_ms INTEGER NOT NULL))",
        R"(CREATE TABLE keys (
             id TEXT PRIMARY KEY,
             hash TEXT NOT NULL,
             preview TEXT NOT NULL,
             name TEXT NOT NULL,
             team_id TEXT NOT NULL DEFAULT '',
             allowed_models TEXT NOT NULL DEFAULT '[]',
             rpm INTEGER NOT NULL DEFAULT 0,
             tpm INTEGER NOT NULL DEFAULT 0,
             max_parallel INTEGER NOT NULL DEFAULT 0,
             budget REAL NOT NULL DEFAULT 0,
             budget_currency TEXT NOT NULL DEFAULT 'USD',
             budget_period TEXT NOT NULL DEFAULT 'monthly',
             fail_mode TEXT NOT NULL DEFAULT 'inherit',
             guard_json TEXT NOT NULL DEFAULT '',
             metadata_json TEXT NOT NULL DEFAULT '{}',
             created_at_ms INTEGER NOT NULL,
             expires_at_ms INTEGER NOT NULL DEFAULT 0,
             revoked_at_ms INTEGER NOT NULL DEFAULT 0))",
        "CREATE UNIQUE INDEX keys_hash ON keys (hash)",
        R"(CREATE TABLE usage (
             ts_ms INTEGER NOT NULL,
             request_id TEXT NOT NULL,
             key_id TEXT NOT NULL,
             team_id TEXT NOT NULL,
             model TEXT NOT NULL,
             deployment TEXT NOT NULL,
             input_tokens INTEGER NOT NULL,
             output_tokens INTEGER NOT NULL,
             cost_usd REAL NOT NULL,
             latency_ms INTEGER NOT NULL,
             ttft_ms INTEGER NOT NULL,
             status INTEGER NOT NULL,
             attempts INTEGER NOT NULL,
             guard_action TEXT NOT NULL))",
        "CREATE INDEX usage_key_ts ON usage (key_id, ts_ms)",
        "CREATE INDEX usage_team_ts ON usage (team_id, ts_ms)"}},
      {2,
       {"ALTER TABLE usage ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX usage_ts ON usage (ts_ms)",
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO meta (name, value) VALUES ('keys_revision', 1)"}},
      {3, kPartialUsageIndexes},
      {4, daily_totals_steps(R"(CREATE TABLE usage_daily (
             day INTEGER NOT NULL,
             key_id TEXT NOT NULL,
             team_id TEXT NOT NULL,
             model TEXT NOT NULL,
             requests INTEGER NOT NULL,
             input_tokens INTEGER NOT NULL,
             cached_input_tokens INTEGER NOT NULL,
             output_tokens INTEGER NOT NULL,
             cost_usd REAL NOT NULL,
             errors INTEGER NOT NULL,
             PRIMARY KEY (day, key_id, team_id, model)) WITHOUT ROWID)",
                             {})},
  };
  return migrations;
}

const std::vector<Migration>& postgres_migrations() {
  // The trigger runs once per COPY (or INSERT) statement over all of its rows: one grouped upsert
  // per usage batch, whichever baton wrote it. Its groups go in key order, so two replicas' batches
  // lock shared rows in the same order.
  static const std::string add_function =
      "CREATE FUNCTION baton_usage_daily_add() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN " +
      add_to_daily_sql("added") + "; RETURN NULL; END $body$";
  static const std::vector<Migration> migrations{
      {1,
       {R"(CREATE TABLE teams (
             id TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             allowed_models TEXT NOT NULL DEFAULT '[]',
             rpm BIGINT NOT NULL DEFAULT 0,
             tpm BIGINT NOT NULL DEFAULT 0,
             max_parallel BIGINT NOT NULL DEFAULT 0,
             budget DOUBLE PRECISION NOT NULL DEFAULT 0,
             budget_currency TEXT NOT NULL DEFAULT 'USD',
             budget_period TEXT NOT NULL DEFAULT 'monthly',
             fail_mode TEXT NOT NULL DEFAULT 'inherit',
             guard_json TEXT NOT NULL DEFAULT '',
             metadata_json TEXT NOT NULL DEFAULT '{}',
             created_at_ms BIGINT NOT NULL))",
        R"(CREATE TABLE keys (
             id TEXT PRIMARY KEY,
             hash TEXT NOT NULL,
             preview TEXT NOT NULL,
             name TEXT NOT NULL,
             team_id TEXT NOT NULL DEFAULT '',
             allowed_models TEXT NOT NULL DEFAULT '[]',
             rpm BIGINT NOT NULL DEFAULT 0,
             tpm BIGINT NOT NULL DEFAULT 0,
             max_parallel BIGINT NOT NULL DEFAULT 0,
             budget DOUBLE PRECISION NOT NULL DEFAULT 0,
             budget_currency TEXT NOT NULL DEFAULT 'USD',
             budget_period TEXT NOT NULL DEFAULT 'monthly',
             fail_mode TEXT NOT NULL DEFAULT 'inherit',
             guard_json TEXT NOT NULL DEFAULT '',
             metadata_json TEXT NOT NULL DEFAULT '{}',
             created_at_ms BIGINT NOT NULL,
             expires_at_ms BIGINT NOT NULL DEFAULT 0,
             revoked_at_ms BIGINT NOT NULL DEFAULT 0))",
        "CREATE UNIQUE INDEX keys_hash ON keys (hash)",
        R"(CREATE TABLE usage (
             ts_ms BIGINT NOT NULL,
             request_id TEXT NOT NULL,
             key_id TEXT NOT NULL,
             team_id TEXT NOT NULL,
             model TEXT NOT NULL,
             deployment TEXT NOT NULL,
             input_tokens BIGINT NOT NULL,
             output_tokens BIGINT NOT NULL,
             cost_usd DOUBLE PRECISION NOT NULL,
             latency_ms BIGINT NOT NULL,
             ttft_ms BIGINT NOT NULL,
             status INTEGER NOT NULL,
             attempts INTEGER NOT NULL,
             guard_action TEXT NOT NULL))",
        "CREATE INDEX usage_key_ts ON usage (key_id, ts_ms)",
        "CREATE INDEX usage_team_ts ON usage (team_id, ts_ms)"}},
      {2,
       {// A constant default: PostgreSQL 11+ adds the column without rewriting the table.
        "ALTER TABLE usage ADD COLUMN cached_input_tokens BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX usage_ts ON usage (ts_ms)",
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO meta (name, value) VALUES ('keys_revision', 1)"}},
      {3, kPartialUsageIndexes},
      {4, daily_totals_steps(R"(CREATE TABLE usage_daily (
             day BIGINT NOT NULL,
             key_id TEXT NOT NULL,
             team_id TEXT NOT NULL,
             model TEXT NOT NULL,
             requests BIGINT NOT NULL,
             input_tokens BIGINT NOT NULL,
             cached_input_tokens BIGINT NOT NULL,
             output_tokens BIGINT NOT NULL,
             cost_usd DOUBLE PRECISION NOT NULL,
             errors BIGINT NOT NULL,
             PRIMARY KEY (day, key_id, team_id, model)))",
                             {add_function, "CREATE TRIGGER usage_daily_add AFTER INSERT ON usage REFERENCING NEW TABLE "
                                            "AS added FOR EACH STATEMENT EXECUTE FUNCTION baton_usage_daily_add()"})},
  };
  return migrations;
}

void check_target_version(int version, std::string_view backend) {
  if (version < 1 || version > Store::kLatestSchemaVersion) {
    throw StoreError(std::string(backend) + ": migrate: no schema version " + std::to_string(version) +
                     " (this build knows 1.." + std::to_string(Store::kLatestSchemaVersion) + ")");
  }
}

std::string encode_models(const std::vector<std::string>& models) {
  boost::json::array array;
  array.reserve(models.size());
  for (const std::string& model : models) array.emplace_back(model);
  return boost::json::serialize(array);
}

std::vector<std::string> decode_models(std::string_view json, std::string_view backend) {
  boost::system::error_code error;
  const boost::json::value value = boost::json::parse(json, error);
  std::vector<std::string> models;
  if (!error && value.is_array()) {
    for (const boost::json::value& item : value.get_array()) {
      if (!item.is_string()) break;
      models.emplace_back(item.get_string());
    }
    if (models.size() == value.get_array().size()) return models;
  }
  throw StoreError(std::string(backend) + ": read: allowed_models is not a JSON array of strings: " +
                   std::string(json.substr(0, 200)));
}

BudgetPeriod decode_period(std::string_view text, std::string_view backend) {
  if (auto period = parse_budget_period(text)) return *period;
  throw StoreError(std::string(backend) + ": read: unknown budget_period '" + std::string(text) + "'");
}

FailMode decode_fail_mode(std::string_view text, std::string_view backend) {
  if (auto mode = parse_fail_mode(text)) return *mode;
  throw StoreError(std::string(backend) + ": read: unknown fail_mode '" + std::string(text) + "'");
}

std::string day_text(std::int64_t day_number) {
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{day_number}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

namespace {

// Length of the well-formed UTF-8 sequence at text[pos] (RFC 3629: no overlongs, no surrogates,
// nothing past U+10FFFF), or 0 when the bytes there are not one. NUL counts as not storable.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return lead == 0 ? 0 : 1;
  std::size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;  // the lead byte narrows the second byte's range
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  if (byte(pos + 1) < second_min || byte(pos + 1) > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::string_view storable_text(std::string_view text, std::string& scratch) {
  std::size_t pos = 0;
  // ASCII without NUL (ids, model names) is the usual text: no sequence decoding for it, and
  // eight bytes checked at a time (a high bit set, or a zero byte, ends the fast part).
  while (pos + 8 <= text.size()) {
    const std::uint64_t word = load_word(text.data() + pos);
    if (((word & kByteHighs) | zero_bytes(word)) != 0) break;
    pos += 8;
  }
  while (pos < text.size() && static_cast<unsigned char>(text[pos]) - 1U < 0x7FU) ++pos;
  while (pos < text.size()) {
    const std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) break;
    pos += length;
  }
  if (pos == text.size()) return text;
  scratch.assign(text.substr(0, pos));
  while (pos < text.size()) {
    const std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) {
      scratch += "\xEF\xBF\xBD";  // U+FFFD for each byte that starts no valid sequence
      ++pos;
    } else {
      scratch.append(text.substr(pos, length));
      pos += length;
    }
  }
  return scratch;
}

namespace {

std::vector<std::string_view> split_columns(std::string_view columns) {
  std::vector<std::string_view> names;
  while (!columns.empty()) {
    const std::size_t comma = columns.find(',');
    names.push_back(columns.substr(0, comma));
    if (comma == std::string_view::npos) break;
    columns.remove_prefix(comma + 1);
    while (columns.starts_with(' ')) columns.remove_prefix(1);
  }
  return names;
}

}  // namespace

std::string insert_sql(std::string_view table, std::string_view columns, char sigil, std::size_t rows) {
  std::string sql = "INSERT INTO ";
  sql.append(table).append(" (").append(columns).append(") VALUES ");
  const std::size_t count = split_columns(columns).size();
  std::size_t parameter = 0;
  for (std::size_t row = 0; row < rows; ++row) {
    sql += row == 0 ? "(" : ", (";
    for (std::size_t i = 1; i <= count; ++i) {
      if (i > 1) sql += ", ";
      ++parameter;
      // SQLite numbers bare '?' in order; "?N" would make every bind look its name up.
      sql += sigil == '?' ? std::string("?") : sigil + std::to_string(parameter);
    }
    sql += ')';
  }
  return sql;
}

std::string upsert_by_id_sql(std::string_view table, std::string_view columns, char sigil) {
  std::string sql = insert_sql(table, columns, sigil) + " ON CONFLICT (id) DO UPDATE SET ";
  bool first = true;
  for (std::string_view column : split_columns(columns)) {
    if (column == "id") continue;
    if (!first) sql += ", ";
    first = false;
    sql.append(column).append(" = excluded.").append(column);
  }
  return sql;
}

namespace {

void write_limits(RowWriter& row, const Limits& limits) {
  row.text_value(encode_models(limits.allowed_models));
  row.int_value(limits.rpm);
  row.int_value(limits.tpm);
  row.int_value(limits.max_parallel);
  row.real_value(limits.budget);
  row.text_value(limits.budget_currency);
  row.text_value(to_string(limits.budget_period));
  row.text_value(to_string(limits.fail_mode));
  row.text_value(limits.guard_json);
}

Limits read_limits(RowReader& row, std::string_view backend) {
  Limits limits;
  limits.allowed_models = decode_models(row.text_value(), backend);
  limits.rpm = static_cast<std::uint32_t>(row.int_value());
  limits.tpm = static_cast<std::uint32_t>(row.int_value());
  limits.max_parallel = static_cast<std::uint32_t>(row.int_value());
  limits.budget = row.real_value();
  limits.budget_currency = row.text_value();
  limits.budget_period = decode_period(row.text_value(), backend);
  limits.fail_mode = decode_fail_mode(row.text_value(), backend);
  limits.guard_json = row.text_value();
  return limits;
}

}  // namespace

void write_team(RowWriter& row, const TeamRecord& team) {
  row.text_value(team.id);
  row.text_value(team.name);
  write_limits(row, team.limits);
  row.text_value(team.metadata_json);
  row.int_value(team.created_at_ms);
}

void write_key(RowWriter& row, const KeyRecord& key) {
  row.text_value(key.id);
  row.text_value(key.hash);
  row.text_value(key.preview);
  row.text_value(key.name);
  row.text_value(key.team_id);
  write_limits(row, key.limits);
  row.text_value(key.metadata_json);
  row.int_value(key.created_at_ms);
  row.int_value(key.expires_at_ms);
  row.int_value(key.revoked_at_ms);
}

void write_usage(RowWriter& row, const UsageRecord& usage, UsageScratch& scratch) {
  row.int_value(usage.ts_ms);
  row.text_value(storable_text(usage.request_id, scratch[0]));
  row.text_value(storable_text(usage.key_id, scratch[1]));
  row.text_value(storable_text(usage.team_id, scratch[2]));
  row.text_value(storable_text(usage.model, scratch[3]));
  row.text_value(storable_text(usage.deployment, scratch[4]));
  row.int_value(usage.input_tokens);
  row.int_value(usage.cached_input_tokens);
  row.int_value(usage.output_tokens);
  row.real_value(usage.cost_usd);
  row.int_value(usage.latency_ms);
  row.int_value(usage.ttft_ms);
  row.int_value(usage.status);
  row.int_value(usage.attempts);
  row.text_value(storable_text(usage.guard_action, scratch[5]));
}

TeamRecord read_team(RowReader& row, std::string_view backend) {
  TeamRecord team;
  team.id = row.text_value();
  team.name = row.text_value();
  team.limits = read_limits(row, backend);
  team.metadata_json = row.text_value();
  team.created_at_ms = row.int_value();
  return team;
}

KeyRecord read_key(RowReader& row, std::string_view backend) {
  KeyRecord key;
  key.id = row.text_value();
  key.hash = row.text_value();
  key.preview = row.text_value();
  key.name = row.text_value();
  key.team_id = row.text_value();
  key.limits = read_limits(row, backend);
  key.metadata_json = row.text_value();
  key.created_at_ms = row.int_value();
  key.expires_at_ms = row.int_value();
  key.revoked_at_ms = row.int_value();
  return key;
}

UsageRow read_usage_row(RowReader& row, const UsageQuery& query) {
  UsageRow out;
  out.key_id = row.text_value();
  out.team_id = row.text_value();
  out.model = row.text_value();
  const std::int64_t day_number = row.int_value();
  if (query.by_day) out.day = day_text(day_number);
  out.requests = row.int_value();
  out.input_tokens = row.int_value();
  out.cached_input_tokens = row.int_value();
  out.output_tokens = row.int_value();
  out.cost_usd = row.real_value();
  out.errors = row.int_value();
  return out;
}

void finish_usage_rows(std::vector<UsageRow>& rows) {
  std::erase_if(rows, [](const UsageRow& row) { return row.requests == 0; });
  std::sort(rows.begin(), rows.end(), [](const UsageRow& a, const UsageRow& b) {
    return std::tie(a.key_id, a.team_id, a.model, a.day) < std::tie(b.key_id, b.team_id, b.model, b.day);
  });
}

}  // namespace baton::store::schema
