// What needs no database server: storage.url shapes, in-memory and file SQLite, the enum texts.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "store/migrations.hpp"
#include "store/store.hpp"
#include "store/usage_sql.hpp"

namespace baton::store {
namespace {

TEST(StoreUrl, AcceptsTheShapesEachBackendTakes) {
  EXPECT_EQ(validate_store_url("sqlite://var/baton.db"), "");
  EXPECT_EQ(validate_store_url("sqlite:///var/lib/baton/baton.db"), "");
  EXPECT_EQ(validate_store_url("sqlite::memory:"), "");
  EXPECT_EQ(validate_store_url("postgresql://baton@db.internal:5432/baton"), "");
  EXPECT_EQ(validate_store_url("postgres://baton:secret@10.0.0.5/baton?sslmode=require"), "");
  EXPECT_NE(validate_store_url(""), "");
  EXPECT_NE(validate_store_url("sqlite://"), "");
  EXPECT_NE(validate_store_url("mysql://root@localhost/baton"), "");
  EXPECT_NE(validate_store_url("var/baton.db"), "");
  EXPECT_NE(validate_store_url("postgresql://h/db?no_such_option=1"), "");
  EXPECT_THROW(open_store("mysql://root@localhost/baton"), StoreError);
}

TEST(StoreUrl, MemoryDatabasesWork) {
  auto store = open_store("sqlite::memory:");
  store->migrate();
  TeamRecord team;
  team.id = "team_a";
  store->put_team(team);
  EXPECT_EQ(store->list_teams().size(), 1u);
  EXPECT_EQ(open_store("sqlite::memory:")->schema_version(), 0);  // each connection has its own
}

TEST(StoreUrl, SqliteFilesUseWal) {
  const auto dir = std::filesystem::temp_directory_path() / ("baton-store-wal-" + std::to_string(getpid()));
  const auto path = dir / "a" / "b" / "baton.db";
  open_store("sqlite://" + path.string())->migrate();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "wal");  // persistent per file
  sqlite3_finalize(statement);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}

// Spend and usage by key or team read whole days from usage_daily through its per-key and per-team
// indexes, which leave out rows without a key or team: a query only gets a partial index when it
// repeats the index's condition. The partial days at the ends come from usage by its time index.
TEST(StoreUrl, KeyAndTeamUsageQueriesUseTheDailyIndexesAndTheTimeIndex) {
  const auto dir = std::filesystem::temp_directory_path() / ("baton-store-plan-" + std::to_string(getpid()));
  const auto path = dir / "baton.db";
  open_store("sqlite://" + path.string())->migrate();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto plan = [&](const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &statement, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::string details;
    while (statement != nullptr && sqlite3_step(statement) == SQLITE_ROW) {
      details += reinterpret_cast<const char*>(sqlite3_column_text(statement, 3));
      details += "; ";
    }
    sqlite3_finalize(statement);
    return details;
  };
  constexpr std::int64_t kNoon = 1'700'481'600'000;  // 2023-11-20T12:00:00Z: a partial first day
  for (const std::string& sql : {schema::spend_since_sql("key_1", "", kNoon, '?').sql,
                                 schema::spend_since_sql("key_1", "team_1", 0, '?').sql}) {
    EXPECT_NE(plan(sql).find("usage_daily_key"), std::string::npos) << plan(sql);
    EXPECT_NE(plan(sql).find("usage_ts"), std::string::npos) << plan(sql);
  }
  EXPECT_NE(plan(schema::spend_since_sql("", "team_1", kNoon, '?').sql).find("usage_daily_team"), std::string::npos);
  UsageQuery by_key;
  by_key.key_id = "key_1";
  by_key.from_ms = kNoon;
  by_key.to_ms = kNoon + 10 * schema::kDayMs;
  EXPECT_NE(plan(schema::usage_query_sql(by_key, '?').sql).find("usage_daily_key"), std::string::npos);
  EXPECT_NE(plan(schema::usage_query_sql(by_key, '?').sql).find("usage_ts"), std::string::npos);
  UsageQuery by_team;
  by_team.team_id = "team_1";
  EXPECT_NE(plan(schema::usage_query_sql(by_team, '?').sql).find("usage_daily_team"), std::string::npos);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}

TEST(StoreRecords, EnumsRoundTripThroughText) {
  for (BudgetPeriod period : {BudgetPeriod::daily, BudgetPeriod::weekly, BudgetPeriod::monthly}) {
    EXPECT_EQ(parse_budget_period(to_string(period)), period);
  }
  for (FailMode mode : {FailMode::inherit, FailMode::open, FailMode::closed}) {
    EXPECT_EQ(parse_fail_mode(to_string(mode)), mode);
  }
  EXPECT_EQ(to_string(BudgetPeriod::monthly), "monthly");
  EXPECT_EQ(to_string(FailMode::closed), "closed");
  EXPECT_EQ(parse_budget_period("Monthly"), std::nullopt);
  EXPECT_EQ(parse_fail_mode(""), std::nullopt);
}

}  // namespace
}  // namespace baton::store
