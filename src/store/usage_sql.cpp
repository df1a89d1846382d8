#include "store/usage_sql.hpp"

#include <limits>

#include "store/store.hpp"

namespace baton::store::schema {

namespace {

constexpr std::string_view kSums =
    "requests = usage_daily.requests + excluded.requests,"
    " input_tokens = usage_daily.input_tokens + excluded.input_tokens,"
    " cached_input_tokens = usage_daily.cached_input_tokens + excluded.cached_input_tokens,"
    " output_tokens = usage_daily.output_tokens + excluded.output_tokens,"
    " cost_usd = usage_daily.cost_usd + excluded.cost_usd,"
    " errors = usage_daily.errors + excluded.errors";

// Adds a parameter holding `value`; returns its placeholder "<sigil>N" (numbered, so a query may
// use one parameter in both of its parts).
std::string placeholder(BoundSql& bound, char sigil, std::variant<std::int64_t, std::string> value) {
  bound.params.emplace_back(std::move(value));
  return sigil + std::to_string(bound.params.size());
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

// The rows that make up [from_ms, to_ms) under the query's filters, as one derived table `parts`
// with usage_daily's columns: the whole UTC days from usage_daily, the partial days at either end
// (a range need not start or end at midnight) from usage, one row per record.
std::string parts_sql(const UsageQuery& query, BoundSql& bound, char sigil) {
  const std::int64_t from = query.from_ms;
  const std::int64_t to = query.to_ms == 0 ? std::numeric_limits<std::int64_t>::max() : query.to_ms;
  const std::int64_t from_day = floor_div(from, kDayMs);
  const std::int64_t first_day = from_day * kDayMs == from ? from_day : from_day + 1;  // the first whole day
  const std::int64_t end_day = query.to_ms == 0 ? std::numeric_limits<std::int64_t>::max() : floor_div(to, kDayMs);
  // Records before the first whole day, and after the last one; a range inside one day is all "head".
  const bool whole_days = first_day < end_day;
  const std::int64_t head_end = whole_days ? first_day * kDayMs : to;
  const std::int64_t tail_start = whole_days && query.to_ms != 0 ? end_day * kDayMs : to;

  std::string filters;
  std::string daily_filters;
  if (!query.key_id.empty()) {
    const std::string key = placeholder(bound, sigil, query.key_id);
    filters += " AND key_id = " + key;
    daily_filters += " AND key_id = " + key + " AND key_id <> ''";  // the partial index's condition
  }
  if (!query.team_id.empty()) {
    const std::string team = placeholder(bound, sigil, query.team_id);
    filters += " AND team_id = " + team;
    daily_filters += " AND team_id = " + team + " AND team_id <> ''";
  }
  if (!query.model.empty()) {
    const std::string model = placeholder(bound, sigil, query.model);
    filters += " AND model = " + model;
    daily_filters += " AND model = " + model;
  }

  std::string sql = "(SELECT " + std::string(kUsageDailyColumns) + " FROM usage_daily WHERE ";
  if (whole_days) {
    sql += "day >= " + placeholder(bound, sigil, first_day);
    if (query.to_ms != 0) sql += " AND day < " + placeholder(bound, sigil, end_day);
  } else {
    sql += "1 = 0";
  }
  sql += daily_filters;
  sql +=
      " UNION ALL SELECT ts_ms / 86400000, key_id, team_id, model, 1, input_tokens, cached_input_tokens,"
      " output_tokens, cost_usd, CASE WHEN status >= 400 THEN 1 ELSE 0 END FROM usage WHERE ((ts_ms >= ";
  sql += placeholder(bound, sigil, from) + " AND ts_ms < " + placeholder(bound, sigil, head_end) + ")";
  if (tail_start < to) {
    sql += " OR (ts_ms >= " + placeholder(bound, sigil, tail_start) + " AND ts_ms < " +
           placeholder(bound, sigil, query.to_ms) + ")";
  }
  sql += ")" + filters + ") AS parts";
  return sql;
}

}  // namespace

std::string add_to_daily_sql(std::string_view source) {
  std::string sql = "INSERT INTO usage_daily (" + std::string(kUsageDailyColumns) +
                    ") SELECT ts_ms / 86400000, key_id, team_id, model, count(*), sum(input_tokens),"
                    " sum(cached_input_tokens), sum(output_tokens), sum(cost_usd),"
                    " sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END) FROM ";
  // "WHERE true": SQLite would read "ON CONFLICT" after a bare FROM as a join constraint.
  sql.append(source).append(" WHERE true GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
  sql.append(" ON CONFLICT (day, key_id, team_id, model) DO UPDATE SET ").append(kSums);
  return sql;
}

std::string daily_upsert_sql(char sigil) {
  return insert_sql("usage_daily", kUsageDailyColumns, sigil) +
         " ON CONFLICT (day, key_id, team_id, model) DO UPDATE SET " + std::string(kSums);
}

void DailyRollup::add(const UsageRecord& record) {
  const GroupView group{floor_div(record.ts_ms, kDayMs), storable_text(record.key_id, scratch_[0]),
                        storable_text(record.team_id, scratch_[1]), storable_text(record.model, scratch_[2])};
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    it = groups_
             .try_emplace(
                 Group{group.day, std::string(group.key_id), std::string(group.team_id), std::string(group.model)})
             .first;
  }
  Totals& totals = it->second;
  totals.requests += 1;
  totals.input_tokens += record.input_tokens;
  totals.cached_input_tokens += record.cached_input_tokens;
  totals.output_tokens += record.output_tokens;
  totals.cost_usd += record.cost_usd;
  totals.errors += record.status >= 400 ? 1 : 0;
}

void DailyRollup::write(RowWriter& row, const Group& group, const Totals& totals) {
  row.int_value(group.day);
  row.text_value(group.key_id);
  row.text_value(group.team_id);
  row.text_value(group.model);
  row.int_value(totals.requests);
  row.int_value(totals.input_tokens);
  row.int_value(totals.cached_input_tokens);
  row.int_value(totals.output_tokens);
  row.real_value(totals.cost_usd);
  row.int_value(totals.errors);
}

BoundSql usage_query_sql(const UsageQuery& query, char sigil) {
  BoundSql bound;
  bound.sql = "SELECT ";
  bound.sql += query.by_key ? "key_id" : "''";
  bound.sql += query.by_team ? ", team_id" : ", ''";
  bound.sql += query.by_model ? ", model" : ", ''";
  bound.sql += query.by_day ? ", day" : ", 0";
  bound.sql +=
      ", coalesce(sum(requests), 0), coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0),"
      " coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0), coalesce(sum(errors), 0) FROM ";
  bound.sql += parts_sql(query, bound, sigil);
  // Group by result positions: both dialects accept them.
  std::string group_by;
  const bool grouped[] = {query.by_key, query.by_team, query.by_model, query.by_day};
  for (int i = 0; i < 4; ++i) {
    if (!grouped[i]) continue;
    group_by += group_by.empty() ? " GROUP BY " : ", ";
    group_by += std::to_string(i + 1);
  }
  bound.sql += group_by;
  return bound;
}

BoundSql spend_since_sql(const std::string& key_id, const std::string& team_id, std::int64_t since_ms, char sigil) {
  if (key_id.empty() && team_id.empty()) throw StoreError("store: spend_since: needs a key_id or a team_id");
  UsageQuery query;
  query.from_ms = since_ms;
  // A key's spend is its own even when the caller names its team too.
  if (!key_id.empty()) {
    query.key_id = key_id;
  } else {
    query.team_id = team_id;
  }
  BoundSql bound;
  bound.sql = "SELECT coalesce(sum(cost_usd), 0) FROM " + parts_sql(query, bound, sigil);
  return bound;
}

}  // namespace baton::store::schema
