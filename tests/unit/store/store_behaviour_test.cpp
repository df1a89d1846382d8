// One behaviour suite for every Store backend: each TEST_P runs against SQLite (a temporary file)
// and PostgreSQL (a throwaway cluster from tests/unit/support, one fresh database per test).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <latch>
#include <map>
#include <thread>
#include <tuple>

#include "../support/postgres_server.hpp"
#include "store/store.hpp"

namespace baton::store {
namespace {

enum class Backend { sqlite, postgresql };

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kMonday = 1'700'438'400'000;  // 2023-11-20T00:00:00Z
const char* const kDays[] = {"2023-11-20", "2023-11-21", "2023-11-22"};

auto fields(const Limits& l) {
  return std::tie(l.allowed_models, l.rpm, l.tpm, l.max_parallel, l.budget, l.budget_currency, l.budget_period,
                  l.fail_mode, l.guard_json);
}
void expect_same(const TeamRecord& a, const TeamRecord& b) {
  EXPECT_EQ(std::tie(a.id, a.name, a.metadata_json, a.created_at_ms),
            std::tie(b.id, b.name, b.metadata_json, b.created_at_ms));
  EXPECT_EQ(fields(a.limits), fields(b.limits));
}
void expect_same(const KeyRecord& a, const KeyRecord& b) {
  EXPECT_EQ(std::tie(a.id, a.hash, a.preview, a.name, a.team_id, a.metadata_json),
            std::tie(b.id, b.hash, b.preview, b.name, b.team_id, b.metadata_json));
  EXPECT_EQ(std::tie(a.created_at_ms, a.expires_at_ms, a.revoked_at_ms),
            std::tie(b.created_at_ms, b.expires_at_ms, b.revoked_at_ms));
  EXPECT_EQ(fields(a.limits), fields(b.limits));
}

using RowFields = std::tuple<std::string, std::string, std::string, std::string, std::int64_t, std::int64_t,
                             std::int64_t, std::int64_t, double, std::int64_t>;
std::vector<RowFields> as_fields(const std::vector<UsageRow>& rows) {
  std::vector<RowFields> out;
  for (const UsageRow& r : rows) {
    out.emplace_back(r.key_id, r.team_id, r.model, r.day, r.requests, r.input_tokens, r.cached_input_tokens,
                     r.output_tokens, r.cost_usd, r.errors);
  }
  return out;
}

TeamRecord make_team(const std::string& id, std::int64_t created_at_ms) {
  TeamRecord team;
  team.id = id;
  team.name = "Team " + id;
  team.limits.rpm = 100;
  team.limits.budget = 50;
  team.created_at_ms = created_at_ms;
  return team;
}

// Every field away from its default, with text that needs quoting in JSON, SQL and COPY.
KeyRecord full_key() {
  KeyRecord key;
  key.id = "key_0123456789abcdef";
  key.hash = std::string(64, 'a');
  key.preview = "sk-baton-Ab3…x9Zq";
  key.name = "상담 bot, \"prod\"\t'quoted'";
  key.team_id = "team_ml";
  key.limits.allowed_models = {"gpt-4o-mini", "claude,with-comma", "모델 \"q\"\\n"};
  key.limits.rpm = 600;
  key.limits.tpm = 4'000'000'000;
  key.limits.max_parallel = 8;
  key.limits.budget = 123.456789012345;
  key.limits.budget_currency = "KRW";
  key.limits.budget_period = BudgetPeriod::weekly;
  key.limits.fail_mode = FailMode::closed;
  key.limits.guard_json = R"({"pii": {"action": "redact", "allowed_residency": ["kr"]}})";
  key.metadata_json = R"({"owner": "ops", "tags": ["a", "b"]})";
  key.created_at_ms = 1'700'000'000'123;
  key.expires_at_ms = 1'800'000'000'000;
  return key;
}

KeyRecord plain_key(const std::string& id, const std::string& hash, std::int64_t created_at_ms) {
  KeyRecord key;
  key.id = id;
  key.hash = hash;
  key.preview = "sk-baton-" + id;
  key.name = id;
  key.created_at_ms = created_at_ms;
  return key;
}

// 144 requests over three UTC days (on both edges of each), four keys in three teams (one with
// neither: open dev mode), three models, some errors. Costs are multiples of 1/64, so every sum is
// exact whatever order a database adds in.
std::vector<UsageRecord> sample_usage() {
  const char* const keys[][2] = {{"key_a", "team_x"}, {"key_b", "team_x"}, {"key_c", "team_y"}, {"", ""}};
  const char* const models[] = {"gpt-4o-mini", "local", "claude-3-5"};
  const std::int64_t offsets[] = {0, 1, 3'600'000, kDay - 1};
  const std::uint16_t statuses[] = {200, 200, 429, 502, 200};
  std::vector<UsageRecord> records;
  for (int i = 0; i < 144; ++i) {
    UsageRecord r;
    r.ts_ms = kMonday + (i % 3) * kDay + offsets[(i / 3) % 4];
    r.request_id = "req_" + std::to_string(i);
    r.key_id = keys[(i / 2) % 4][0];
    r.team_id = keys[(i / 2) % 4][1];
    r.model = models[(i / 5) % 3];
    r.deployment = r.model == "local" ? "local/tiny" : "openai/" + r.model;
    r.input_tokens = 100 + i;
    r.cached_input_tokens = (i % 7) * 10;
    r.output_tokens = 20 + i % 13;
    r.cost_usd = (i % 9) / 64.0;
    r.latency_ms = 300 + static_cast<std::uint32_t>(i);
    r.ttft_ms = 40;
    r.status = statuses[i % 5];
    r.attempts = static_cast<std::uint8_t>(1 + i % 2);
    r.guard_action = i % 11 == 0 ? "redact" : "";
    records.push_back(r);
  }
  return records;
}

// What query_usage must answer, worked out the obvious way.
std::vector<UsageRow> reference(const std::vector<UsageRecord>& records, const UsageQuery& q) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, UsageRow> groups;
  for (const UsageRecord& r : records) {
    if (r.ts_ms < q.from_ms || (q.to_ms != 0 && r.ts_ms >= q.to_ms)) continue;
    if ((!q.key_id.empty() && r.key_id != q.key_id) || (!q.team_id.empty() && r.team_id != q.team_id) ||
        (!q.model.empty() && r.model != q.model)) {
      continue;
    }
    UsageRow group;
    if (q.by_key) group.key_id = r.key_id;
    if (q.by_team) group.team_id = r.team_id;
    if (q.by_model) group.model = r.model;
    if (q.by_day) group.day = kDays[(r.ts_ms - kMonday) / kDay];
    UsageRow& row = groups.try_emplace({group.key_id, group.team_id, group.model, group.day}, group).first->second;
    row.requests += 1;
    row.input_tokens += r.input_tokens;
    row.cached_input_tokens += r.cached_input_tokens;
    row.output_tokens += r.output_tokens;
    row.cost_usd += r.cost_usd;
    row.errors += r.status >= 400 ? 1 : 0;
  }
  std::vector<UsageRow> rows;
  for (auto& [group, row] : groups) rows.push_back(row);
  return rows;
}

class StoreBehaviour : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { url_ = fresh_url(); }
  void TearDown() override {
    std::error_code ignored;
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

  // A new, empty database: a file in a folder that does not exist yet, or a new PostgreSQL database.
  std::string fresh_url() {
    if (GetParam() == Backend::postgresql) {
      try {
        return test::PostgresServer::shared().create_database();
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
        throw;
      }
    }
    static std::atomic<int> counter = 0;
    const auto dir = std::filesystem::temp_directory_path() /
                     ("baton-store-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    dirs_.push_back(dir);
    return "sqlite://" + (dir / "nested" / "baton.db").string();
  }

  std::unique_ptr<Store> open(const std::string& url = {}) { return open_store(url.empty() ? url_ : url); }
  std::unique_ptr<Store> open_migrated() {
    auto store = open();
    store->migrate();
    return store;
  }

  // SQL straight to the database, bypassing the Store: writes rows the way an older baton did.
  void exec_raw(const std::string& sql) {
    if (GetParam() == Backend::sqlite) {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(url_.substr(std::string_view("sqlite://").size()).c_str(), &db), SQLITE_OK);
      char* error = nullptr;
      EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
      sqlite3_free(error);
      sqlite3_close(db);
    } else {
      PGconn* conn = PQconnectdb(url_.c_str());
      PGresult* result = PQexec(conn, sql.c_str());
      EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQresultErrorMessage(result);
      PQclear(result);
      PQfinish(conn);
    }
  }

  std::string backend_name() const { return GetParam() == Backend::sqlite ? "sqlite" : "postgresql"; }

  std::string url_;
  std::vector<std::filesystem::path> dirs_;
};

TEST_P(StoreBehaviour, MigratesAnEmptyDatabaseToTheLatestVersion) {
  auto store = open();
  EXPECT_EQ(store->backend(), backend_name());
  EXPECT_EQ(store->schema_version(), 0);
  store->migrate();
  EXPECT_EQ(store->schema_version(), Store::kLatestSchemaVersion);
  EXPECT_EQ(store->keys_revision(), 1);
  EXPECT_TRUE(store->list_teams().empty());
  EXPECT_TRUE(store->list_keys().empty());
  EXPECT_TRUE(store->query_usage(UsageQuery{}).empty());
  EXPECT_EQ(open()->schema_version(), Store::kLatestSchemaVersion);  // another connection agrees
}

TEST_P(StoreBehaviour, MigratesAVersionOneDatabaseAndKeepsItsData) {
  auto store = open();
  store->migrate_to(1);
  ASSERT_EQ(store->schema_version(), 1);
  EXPECT_THROW(store->keys_revision(), StoreError);  // v1 had no meta table: this really is the old shape
  // Rows as the v1 release wrote them: no cached_input_tokens, no meta row.
  exec_raw(R"(INSERT INTO teams (id, name, allowed_models, rpm, budget, budget_period, fail_mode, metadata_json,
                                 created_at_ms)
              VALUES ('team_old', 'Old team', '["local"]', 60, 12.5, 'weekly', 'closed', '{"cc": 7}', 1000);
              INSERT INTO keys (id, hash, preview, name, team_id, tpm, created_at_ms, revoked_at_ms)
              VALUES ('key_old', 'deadbeef', 'sk-baton-De…ef', 'legacy', 'team_old', 5000, 2000, 3000);
              INSERT INTO usage (ts_ms, request_id, key_id, team_id, model, deployment, input_tokens,
                                 output_tokens, cost_usd, latency_ms, ttft_ms, status, attempts, guard_action)
              VALUES (1700438400005, 'req_1', 'key_old', 'team_old', 'local', 'local/tiny', 10, 5, 0.25,
                      100, 20, 200, 1, ''),
                     (1700438400006, 'req_2', 'key_old', 'team_old', 'local', 'local/tiny', 7, 0, 0.5,
                      100, 0, 500, 2, 'block'))");

  store->migrate();
  EXPECT_EQ(store->schema_version(), Store::kLatestSchemaVersion);
  const auto teams = store->list_teams();
  ASSERT_EQ(teams.size(), 1u);
  EXPECT_EQ(teams[0].name, "Old team");
  EXPECT_EQ(teams[0].limits.allowed_models, std::vector<std::string>{"local"});
  EXPECT_EQ(teams[0].limits.rpm, 60u);
  EXPECT_EQ(teams[0].limits.budget, 12.5);
  EXPECT_EQ(teams[0].limits.budget_period, BudgetPeriod::weekly);
  EXPECT_EQ(teams[0].limits.fail_mode, FailMode::closed);
  EXPECT_EQ(teams[0].limits.budget_currency, "USD");  // the column default
  const auto keys = store->list_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].team_id, "team_old");
  EXPECT_EQ(keys[0].limits.tpm, 5000u);
  EXPECT_EQ(keys[0].revoked_at_ms, 3000);
  EXPECT_EQ(as_fields(store->query_usage(UsageQuery{})),
            as_fields({UsageRow{"", "", "", "", 2, 17, 0, 5, 0.75, 1}}));

  // Everything v2 added now works on the old data.
  EXPECT_EQ(store->keys_revision(), 1);
  store->put_key(plain_key("key_new", "cafe", 4000));
  EXPECT_EQ(store->keys_revision(), 2);
  UsageRecord record;
  record.ts_ms = kMonday + 7;
  record.key_id = "key_old";
  record.cached_input_tokens = 3;
  store->insert_usage(std::span(&record, 1));
  UsageQuery by_key;
  by_key.by_key = true;
  EXPECT_EQ(as_fields(store->query_usage(by_key)), as_fields({UsageRow{"key_old", "", "", "", 3, 17, 3, 5, 0.75, 1}}));
}

TEST_P(StoreBehaviour, MigratingAgainIsANoOp) {
  auto store = open_migrated();
  store->put_team(make_team("team_a", 1));
  const std::int64_t revision = store->keys_revision();
  store->migrate();
  open()->migrate();
  store->migrate_to(1);  // never goes down
  EXPECT_EQ(store->schema_version(), Store::kLatestSchemaVersion);
  EXPECT_EQ(store->keys_revision(), revision);
  EXPECT_EQ(store->list_teams().size(), 1u);
}

TEST_P(StoreBehaviour, MigrateToRejectsVersionsThisBuildDoesNotKnow) {
  auto store = open();
  EXPECT_THROW(store->migrate_to(0), StoreError);
  EXPECT_THROW(store->migrate_to(Store::kLatestSchemaVersion + 1), StoreError);
  EXPECT_EQ(store->schema_version(), 0);
}

TEST_P(StoreBehaviour, ConcurrentMigrationsOfAFreshDatabaseBothSucceed) {
  for (int round = 0; round < 3; ++round) {
    const std::string url = round == 0 ? url_ : fresh_url();
    auto first = open(url);
    auto second = open(url);
    std::latch start(2);
    std::exception_ptr errors[2];
    auto migrate = [&](Store& store, std::exception_ptr& error) {
      start.arrive_and_wait();
      try {
        store.migrate();
      } catch (...) {
        error = std::current_exception();
      }
    };
    std::thread a(migrate, std::ref(*first), std::ref(errors[0]));
    std::thread b(migrate, std::ref(*second), std::ref(errors[1]));
    a.join();
    b.join();
    for (const auto& error : errors) {
      try {
        if (error) std::rethrow_exception(error);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "round " << round << ": " << e.what();
      }
    }
    EXPECT_EQ(first->schema_version(), Store::kLatestSchemaVersion);
    EXPECT_EQ(second->schema_version(), Store::kLatestSchemaVersion);
    EXPECT_EQ(second->keys_revision(), 1);  // v2's INSERT ran once (twice would have failed on the key)
  }
}

TEST_P(StoreBehaviour, TeamsArePutListedReplacedAndDeleted) {
  auto store = open_migrated();
  TeamRecord a = make_team("team_a", 10);
  a.limits.allowed_models = {"local"};
  a.metadata_json = R"({"owner": "ml"})";
  const TeamRecord b = make_team("team_b", 20);
  store->put_team(b);
  store->put_team(a);
  auto teams = store->list_teams();
  ASSERT_EQ(teams.size(), 2u);
  expect_same(teams[0], a);  // oldest first
  expect_same(teams[1], b);

  a.name = "Renamed";
  a.limits.allowed_models.clear();
  a.limits.budget_period = BudgetPeriod::daily;
  a.limits.fail_mode = FailMode::open;
  store->put_team(a);
  teams = store->list_teams();
  ASSERT_EQ(teams.size(), 2u);
  expect_same(teams[0], a);

  EXPECT_TRUE(store->delete_team("team_a"));
  EXPECT_FALSE(store->delete_team("team_a"));
  EXPECT_FALSE(store->delete_team("team_missing"));
  teams = store->list_teams();
  ASSERT_EQ(teams.size(), 1u);
  expect_same(teams[0], b);
}

TEST_P(StoreBehaviour, KeysRoundTripEveryField) {
  auto store = open_migrated();
  const KeyRecord full = full_key();
  const KeyRecord plain = plain_key("key_plain", std::string(64, 'b'), 5);
  KeyRecord revoked = plain_key("key_revoked", std::string(64, 'c'), 6);
  revoked.revoked_at_ms = 7;
  store->put_key(full);
  store->put_key(plain);
  store->put_key(revoked);
  auto keys = store->list_keys();
  ASSERT_EQ(keys.size(), 3u);
  expect_same(keys[0], plain);
  expect_same(keys[1], revoked);
  expect_same(keys[2], full);

  KeyRecord replaced = full;  // put_key replaces by id
  replaced.name = "renamed";
  replaced.limits.allowed_models = {"only-this"};
  replaced.team_id.clear();
  store->put_key(replaced);
  keys = store->list_keys();
  ASSERT_EQ(keys.size(), 3u);
  expect_same(keys[2], replaced);
}

TEST_P(StoreBehaviour, ADuplicateHashIsRefusedAndChangesNothing) {
  auto store = open_migrated();
  store->put_key(plain_key("key_1", "same-hash", 1));
  const std::int64_t revision = store->keys_revision();
  try {
    store->put_key(plain_key("key_2", "same-hash", 2));
    ADD_FAILURE() << "a second key with the same hash was accepted";
  } catch (const StoreError& error) {
    EXPECT_TRUE(std::string_view(error.what()).starts_with(backend_name() + ": put_key: ")) << error.what();
  }
  EXPECT_EQ(store->list_keys().size(), 1u);
  EXPECT_EQ(store->keys_revision(), revision);  // the bump rolled back with the insert
}

TEST_P(StoreBehaviour, RevokeMarksAKeyOnce) {
  auto store = open_migrated();
  store->put_key(plain_key("key_1", "h1", 1));
  EXPECT_TRUE(store->revoke_key("key_1", 1'700'000'000'000));
  EXPECT_FALSE(store->revoke_key("key_1", 1'700'000'000'999));
  EXPECT_FALSE(store->revoke_key("key_missing", 1'700'000'000'000));
  const auto keys = store->list_keys();
  ASSERT_EQ(keys.size(), 1u);  // revoked keys are still listed
  EXPECT_EQ(keys[0].revoked_at_ms, 1'700'000'000'000);  // the first revocation's time stays
}

TEST_P(StoreBehaviour, KeysRevisionMovesOnEveryChangeAndOnlyThen) {
  auto store = open_migrated();
  std::int64_t last = store->keys_revision();
  auto expect_moved = [&](bool moved, const char* what) {
    const std::int64_t now = store->keys_revision();
    if (moved) {
      EXPECT_GT(now, last) << what;
    } else {
      EXPECT_EQ(now, last) << what;
    }
    last = now;
  };
  store->put_team(make_team("team_a", 1));
  expect_moved(true, "put_team");
  store->put_team(make_team("team_a", 1));
  expect_moved(true, "put_team, replacing with the same values");
  store->put_key(plain_key("key_1", "h1", 1));
  expect_moved(true, "put_key");
  store->put_key(plain_key("key_1", "h1", 2));
  expect_moved(true, "put_key, replacing");
  EXPECT_TRUE(store->revoke_key("key_1", 5));
  expect_moved(true, "revoke_key");
  EXPECT_FALSE(store->revoke_key("key_1", 6));
  expect_moved(false, "revoke_key of a revoked key");
  EXPECT_FALSE(store->delete_team("team_missing"));
  expect_moved(false, "delete_team of a missing team");
  EXPECT_TRUE(store->delete_team("team_a"));
  expect_moved(true, "delete_team");
  const auto usage = sample_usage();
  store->insert_usage(usage);
  expect_moved(false, "insert_usage");
  EXPECT_EQ(open()->keys_revision(), last);  // what a replica polling its own connection sees
}

TEST_P(StoreBehaviour, UsageAnswersEveryGroupingAndFilterLikeTheReference) {
  auto store = open_migrated();
  const auto usage = sample_usage();
  store->insert_usage(std::span(usage).first(100));  // two batches
  store->insert_usage(std::span(usage).subspan(100));

  std::vector<UsageQuery> filters(9);
  filters[1].key_id = "key_a";
  filters[2].team_id = "team_x";
  filters[3].model = "local";
  filters[4].from_ms = kMonday + kDay;           // from day 2 on, inclusive of its first millisecond
  filters[5].to_ms = kMonday + kDay;             // day 1 only: the bound is exclusive
  filters[6].from_ms = kMonday + 1;              // drops each boundary record of the range's ends
  filters[6].to_ms = kMonday + 2 * kDay + 1;
  filters[7].team_id = "team_y";
  filters[7].model = "claude-3-5";
  filters[7].from_ms = kMonday + kDay - 1;
  filters[8].from_ms = kMonday + kDay + 1;      // inside one day: no whole day at all
  filters[8].to_ms = kMonday + kDay + 3'600'001;
  for (std::size_t f = 0; f < filters.size(); ++f) {
    for (int grouping = 0; grouping < 16; ++grouping) {
      UsageQuery query = filters[f];
      query.by_key = grouping & 1;
      query.by_team = grouping & 2;
      query.by_model = grouping & 4;
      query.by_day = grouping & 8;
      SCOPED_TRACE("filter " + std::to_string(f) + ", grouping " + std::to_string(grouping));
      const auto expected = reference(usage, query);
      ASSERT_FALSE(expected.empty());
      EXPECT_EQ(as_fields(store->query_usage(query)), as_fields(expected));
    }
  }
  UsageQuery nothing;
  nothing.key_id = "key_missing";
  EXPECT_TRUE(store->query_usage(nothing).empty());
  nothing = UsageQuery{};
  nothing.from_ms = kMonday + 3 * kDay;
  nothing.by_day = true;
  EXPECT_TRUE(store->query_usage(nothing).empty());
}

// A replica of the previous release writes usage rows itself (schema 3 had no daily totals). In
// PostgreSQL a trigger adds every statement's rows to usage_daily, so reports count them; SQLite
// has no statement triggers (documented: stop old processes before new ones on one file).
TEST_P(StoreBehaviour, RowsAnOlderReleaseWritesAreCountedInPostgres) {
  if (GetParam() == Backend::sqlite) GTEST_SKIP() << "SQLite's daily totals are kept by the writer itself";
  auto store = open_migrated();
  const auto usage = sample_usage();
  store->insert_usage(std::span(usage).first(10));
  exec_raw(R"(INSERT INTO usage (ts_ms, request_id, key_id, team_id, model, deployment, input_tokens,
                                 output_tokens, cost_usd, latency_ms, ttft_ms, status, attempts, guard_action)
              VALUES (1700438400005, 'old_1', 'key_a', 'team_x', 'local', 'local/tiny', 10, 5, 0.25, 100, 20, 200, 1, ''),
                     (1700524800000, 'old_2', 'key_a', 'team_x', 'local', 'local/tiny', 7, 0, 0.5, 100, 0, 500, 2, ''))");
  std::vector<UsageRecord> all(usage.begin(), usage.begin() + 10);
  for (const auto& [ts, input, output, cost, status] :
       {std::tuple{1'700'438'400'005LL, 10, 5, 0.25, 200}, std::tuple{1'700'524'800'000LL, 7, 0, 0.5, 500}}) {
    UsageRecord old;
    old.ts_ms = ts;
    old.key_id = "key_a";
    old.team_id = "team_x";
    old.model = "local";
    old.input_tokens = input;
    old.output_tokens = output;
    old.cost_usd = cost;
    old.status = static_cast<std::uint16_t>(status);
    all.push_back(old);
  }
  UsageQuery query;
  query.by_key = query.by_model = query.by_day = true;
  EXPECT_EQ(as_fields(store->query_usage(query)), as_fields(reference(all, query)));
  double key_a = 0;
  for (const UsageRecord& r : all) key_a += r.key_id == "key_a" ? r.cost_usd : 0;
  EXPECT_EQ(store->spend_since("key_a", "", kMonday), key_a);
}

TEST_P(StoreBehaviour, DaysAreUtcCalendarDays) {
  auto store = open_migrated();
  std::vector<UsageRecord> usage(4);
  usage[0].ts_ms = kMonday - 1;  // Sunday 23:59:59.999 UTC
  usage[1].ts_ms = kMonday;
  usage[2].ts_ms = 0;
  usage[3].ts_ms = 951'782'400'000;  // 2000-02-29T00:00:00Z
  store->insert_usage(usage);
  UsageQuery query;
  query.by_day = true;
  std::vector<std::string> days;
  for (const UsageRow& row : store->query_usage(query)) days.push_back(row.day);
  EXPECT_EQ(days, (std::vector<std::string>{"1970-01-01", "2000-02-29", "2023-11-19", "2023-11-20"}));
}

TEST_P(StoreBehaviour, UsageTextIsStoredExactlyOrMadeValid) {
  auto store = open_migrated();
  const std::vector<std::string> models = {
      "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\.", "\\N", "한국어 모델", "quote'\"", "",
  };
  std::vector<UsageRecord> usage;
  for (const std::string& model : models) {
    UsageRecord record;
    record.model = model;
    record.request_id = model;
    usage.push_back(record);
  }
  // Not UTF-8, and a NUL: stored with U+FFFD in their place; the rest of the batch is unaffected.
  usage.push_back(UsageRecord{});
  usage.back().model = std::string("bad\xff\xfe", 5);
  usage.push_back(UsageRecord{});
  usage.back().model = std::string("nul\0byte", 8);
  store->insert_usage(usage);

  UsageQuery query;
  query.by_model = true;
  std::vector<std::string> stored;
  for (const UsageRow& row : store->query_usage(query)) stored.push_back(row.model);
  std::vector<std::string> expected = models;
  expected.push_back("bad\xEF\xBF\xBD\xEF\xBF\xBD");
  expected.push_back("nul\xEF\xBF\xBD" "byte");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(stored, expected);
}

TEST_P(StoreBehaviour, RepairedTextsStayApartWithinOneMultiRowInsert) {
  // SQLite writes usage 32 rows per statement: every row's repaired text must be its own, in the
  // full groups and in the rows left over.
  auto store = open_migrated();
  std::vector<UsageRecord> usage(70);
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < usage.size(); ++i) {
    usage[i].model = "bad" + std::to_string(i) + "\xff";
    usage[i].request_id = "req_" + std::to_string(i);
    expected.push_back("bad" + std::to_string(i) + "\xEF\xBF\xBD");
  }
  store->insert_usage(usage);
  UsageQuery query;
  query.by_model = true;
  std::vector<std::string> stored;
  for (const UsageRow& row : store->query_usage(query)) {
    stored.push_back(row.model);
    EXPECT_EQ(row.requests, 1) << row.model;
  }
  std::sort(expected.begin(), expected.end());
  std::sort(stored.begin(), stored.end());
  EXPECT_EQ(stored, expected);
}

TEST_P(StoreBehaviour, AFailedBatchWritesNothingAndTheStoreStaysUsable) {
  auto store = open_migrated();
  // A record the database refuses, far enough into the batch that part of it was already sent.
  exec_raw(GetParam() == Backend::sqlite
               ? "CREATE TRIGGER poison BEFORE INSERT ON usage WHEN NEW.model = 'poison' "
                 "BEGIN SELECT RAISE(ABORT, 'poisoned record'); END"
               : "ALTER TABLE usage ADD CONSTRAINT poison CHECK (model <> 'poison')");
  std::vector<UsageRecord> usage(6000);
  for (UsageRecord& record : usage) {
    record.request_id = "req_0123456789abcdef0123456789abcdef";
    record.model = "gpt-4o-mini";
  }
  usage[5000].model = "poison";
  try {
    store->insert_usage(usage);
    ADD_FAILURE() << "the poisoned batch was accepted";
  } catch (const StoreError& error) {
    EXPECT_TRUE(std::string_view(error.what()).starts_with(backend_name() + ": insert_usage: ")) << error.what();
  }
  EXPECT_TRUE(store->query_usage(UsageQuery{}).empty());

  usage[5000].model = "gpt-4o-mini";
  store->insert_usage(usage);
  store->put_team(make_team("team_a", 1));
  EXPECT_EQ(store->query_usage(UsageQuery{}).at(0).requests, 6000);
  EXPECT_EQ(store->list_teams().size(), 1u);
}

TEST_P(StoreBehaviour, SpendSinceSumsOneKeyOrOneTeam) {
  auto store = open_migrated();
  const auto usage = sample_usage();
  store->insert_usage(usage);
  auto expected = [&](const std::string& key, const std::string& team, std::int64_t since) {
    double sum = 0;
    for (const UsageRecord& r : usage) {
      if (r.ts_ms >= since && (key.empty() ? r.team_id == team : r.key_id == key)) sum += r.cost_usd;
    }
    return sum;
  };
  EXPECT_GT(expected("key_a", "", kMonday), 0);
  EXPECT_EQ(store->spend_since("key_a", "", kMonday), expected("key_a", "", kMonday));
  EXPECT_EQ(store->spend_since("key_a", "", kMonday + kDay), expected("key_a", "", kMonday + kDay));
  EXPECT_EQ(store->spend_since("key_a", "team_x", kMonday), expected("key_a", "", kMonday));  // the key's own
  EXPECT_EQ(store->spend_since("", "team_x", kMonday + 1), expected("", "team_x", kMonday + 1));
  EXPECT_EQ(store->spend_since("key_missing", "", 0), 0.0);
  EXPECT_EQ(store->spend_since("key_a", "", kMonday + 3 * kDay), 0.0);
  EXPECT_THROW(store->spend_since("", "", 0), StoreError);
}

TEST_P(StoreBehaviour, TenThousandRecordsGoInOneBatch) {
  auto store = open_migrated();
  std::vector<UsageRecord> usage(10'000);
  for (std::size_t i = 0; i < usage.size(); ++i) {
    usage[i].ts_ms = kMonday + static_cast<std::int64_t>(i) * 1000;
    usage[i].request_id = "req_" + std::to_string(i);
    usage[i].key_id = "key_" + std::to_string(i % 10);
    usage[i].team_id = "team_1";
    usage[i].model = "gpt-4o-mini";
    usage[i].input_tokens = static_cast<std::int64_t>(i);
    usage[i].output_tokens = 1;
    usage[i].cost_usd = 0.5;
    usage[i].status = i % 100 == 0 ? 500 : 200;
  }
  usage[1].latency_ms = usage[1].ttft_ms = UINT32_MAX;  // the widest values every field can carry
  usage[1].attempts = UINT8_MAX;
  store->insert_usage(usage);
  store->insert_usage({});  // an empty batch is fine too

  const auto total = store->query_usage(UsageQuery{});
  EXPECT_EQ(as_fields(total), as_fields({UsageRow{"", "", "", "", 10'000, 49'995'000, 0, 10'000, 5'000, 100}}));
  UsageQuery by_key;
  by_key.by_key = true;
  const auto rows = store->query_usage(by_key);
  ASSERT_EQ(rows.size(), 10u);
  for (const UsageRow& row : rows) EXPECT_EQ(row.requests, 1000);
  EXPECT_EQ(store->spend_since("", "team_1", 0), 5000.0);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreBehaviour, testing::Values(Backend::sqlite, Backend::postgresql),
                         [](const testing::TestParamInfo<Backend>& backend) {
                           return backend.param == Backend::sqlite ? "sqlite" : "postgresql";
                         });

}  // namespace
}  // namespace baton::store
