#pragma once
// How usage is read back: per-day totals, not one row per request. Schema 4 keeps, next to the raw
// `usage` table, a `usage_daily` table with one row per (UTC day, key, team, model) holding that
// group's sums. Reports and budget seeds read whole days from it and only the partial days at a
// range's ends from `usage`, so the raw table needs no per-key or per-team index: those indexes
// put each key's new rows at a different place in a B-tree, and with many keys every batch dirtied
// a page per key (about nine tenths of the write cost; see docs/PERFORMANCE.md).
//
// Who keeps usage_daily up to date: PostgreSQL itself (a statement trigger over COPY's new rows,
// so any writer, an older baton's included, keeps it right); in SQLite the writer, in the same
// transaction as the rows (DailyRollup below): SQLite has no statement triggers, and a per-row
// trigger costs more than the indexes it replaces.
// Internal to src/store.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "store/migrations.hpp"
#include "store/records.hpp"

namespace baton::store::schema {

inline constexpr std::int64_t kDayMs = 86'400'000;

// usage_daily's columns, in the order DailyRollup writes them. The first four are its primary key.
inline constexpr std::string_view kUsageDailyColumns =
    "day, key_id, team_id, model, requests, input_tokens, cached_input_tokens, output_tokens, cost_usd, errors";

// The rollup of `source`'s rows (ts_ms, key_id, ... as in usage) into usage_daily, adding to
// groups that already have a row. Both dialects accept it; `source` is "usage" for the backfill
// at migration and the trigger's transition table in PostgreSQL.
std::string add_to_daily_sql(std::string_view source);

// "INSERT INTO usage_daily ... ON CONFLICT DO UPDATE" for one group: adds its totals to the
// group's row, or creates the row. DailyRollup::write binds the values.
std::string daily_upsert_sql(char sigil);

// A batch's records added up per (day, key, team, model), with texts made storable exactly as
// write_usage stores them, so the totals land on the groups the raw rows belong to.
class DailyRollup {
 public:
  struct Totals {
    std::int64_t requests = 0;
    std::int64_t input_tokens = 0;
    std::int64_t cached_input_tokens = 0;
    std::int64_t output_tokens = 0;
    double cost_usd = 0;
    std::int64_t errors = 0;
  };
  struct Group {  // usage_daily's primary key
    std::int64_t day = 0;
    std::string key_id, team_id, model;
  };
  struct GroupView {
    std::int64_t day = 0;
    std::string_view key_id, team_id, model;
  };
  // Orders groups and looks them up by view, so a record already counted allocates nothing.
  struct GroupOrder {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return as_tuple(a) < as_tuple(b);
    }
    template <typename G>
    static std::tuple<std::int64_t, std::string_view, std::string_view, std::string_view> as_tuple(const G& g) {
      return {g.day, g.key_id, g.team_id, g.model};
    }
  };

  void add(const UsageRecord& record);
  // In primary-key order, so a batch's upserts walk usage_daily's B-tree forward.
  const std::map<Group, Totals, GroupOrder>& groups() const { return groups_; }
  // One group's row, in kUsageDailyColumns order.
  static void write(RowWriter& row, const Group& group, const Totals& totals);

 private:
  std::map<Group, Totals, GroupOrder> groups_;
  std::string scratch_[3];
};

// query_usage's SELECT. Result columns, in order: key_id, team_id, model ('' unless grouped by),
// day number (0 unless grouped by), requests, input_tokens, cached_input_tokens, output_tokens,
// cost_usd, errors.
BoundSql usage_query_sql(const UsageQuery& query, char sigil);
// spend_since's SELECT: one column, the sum (0 when nothing matched).
BoundSql spend_since_sql(const std::string& key_id, const std::string& team_id, std::int64_t since_ms, char sigil);

}  // namespace baton::store::schema
