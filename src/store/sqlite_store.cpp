#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include "store/migrations.hpp"
#include "store/usage_sql.hpp"

namespace baton::store {
namespace {

constexpr std::string_view kBackend = "sqlite";
constexpr int kBusyTimeoutMs = 5000;

[[noreturn]] void fail(sqlite3* db, std::string_view operation) {
  throw StoreError("sqlite: " + std::string(operation) + ": " + sqlite3_errmsg(db));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SQLite counts every allocation under a global mutex, for statistics baton never reads; the usage
// writer allocates several times per record. The setting only takes before SQLite initialises
// (the first open); later calls are refused with SQLITE_MISUSE and change nothing.
void skip_memory_statistics() {
  static const int once = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)once;
}

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

// A cached statement while one call uses it: binds parameters in order (RowWriter), steps, reads the
// current row's columns in order (RowReader). Reset when it goes out of scope, so no call leaves a
// read snapshot open on the connection.
class Query final : public schema::RowWriter, public schema::RowReader {
 public:
  Query(sqlite3* db, sqlite3_stmt* statement, std::string_view operation)
      : db_(db), statement_(statement), operation_(operation) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  // True while there is a row to read; false once the statement is done.
  bool step() {
    column_ = 0;
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, operation_);
  }
  // Makes the statement ready to run again with new parameters (a batch reuses one INSERT).
  void rewind() {
    sqlite3_reset(statement_);
    parameter_ = 0;
  }

  void bind(const schema::BoundSql& bound) {
    for (const auto& param : bound.params) {
      if (const auto* number = std::get_if<std::int64_t>(&param)) {
        int_value(*number);
      } else {
        text_value(std::get<std::string>(param));
      }
    }
  }

  void int_value(std::int64_t value) override { check(sqlite3_bind_int64(statement_, ++parameter_, value)); }
  void real_value(double value) override { check(sqlite3_bind_double(statement_, ++parameter_, value)); }
  void text_value(std::string_view value) override {
    // TRANSIENT (SQLite copies) unless the caller promised the texts outlive the step.
    check(sqlite3_bind_text64(statement_, ++parameter_, value.data(), value.size(),
                              texts_outlive_step_ ? SQLITE_STATIC : SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  // The caller keeps every text it binds alive and unchanged until the statement has stepped, so
  // SQLite may use them in place: no copy (one allocation) per text parameter.
  void bind_texts_in_place() { texts_outlive_step_ = true; }

  std::int64_t int_value() override { return sqlite3_column_int64(statement_, column_++); }
  double real_value() override { return sqlite3_column_double(statement_, column_++); }
  std::string text_value() override {
    const int column = column_++;
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (text == nullptr) return {};  // NULL (or out of memory, which the next step reports)
    return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, operation_);
  }

  sqlite3* db_;
  sqlite3_stmt* statement_;
  std::string_view operation_;
  int parameter_ = 0;
  int column_ = 0;
  bool texts_outlive_step_ = false;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path)
      : team_upsert_(schema::upsert_by_id_sql("teams", schema::kTeamColumns, '?')),
        key_upsert_(schema::upsert_by_id_sql("keys", schema::kKeyColumns, '?')),
        usage_insert_(schema::insert_sql("usage", schema::kUsageColumns, '?')),
        usage_insert_many_(schema::insert_sql("usage", schema::kUsageColumns, '?', kUsageRowsPerInsert)),
        daily_upsert_(schema::daily_upsert_sql('?')) {
    skip_memory_statistics();
    sqlite3* db = nullptr;
    // NOMUTEX: a Store is one connection used by one thread at a time, so SQLite's own locking is waste.
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    db_.reset(db);
    if (rc != SQLITE_OK) {
      throw StoreError("sqlite: open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    exec("PRAGMA journal_mode = WAL", "open");  // ":memory:" stays in "memory" mode, which is fine
    exec("PRAGMA synchronous = NORMAL", "open");
    // 16 MiB of page cache instead of 2: the usage writer touches the tail pages of the table, its
    // time index and today's daily totals per batch; when they fell out of a 2 MiB cache they were
    // re-read from the WAL each time (measured with schema 3: ~50k → ~65k records/s).
    exec("PRAGMA cache_size = -16384", "open");
  }

  std::string_view backend() const override { return kBackend; }

  void migrate_to(int version) override {
    schema::check_target_version(version, kBackend);
    for (const schema::Migration& migration : schema::sqlite_migrations()) {
      if (migration.version > version) break;
      if (migration.version <= schema_version()) continue;
      // IMMEDIATE takes the write lock up front: a second process waits here (busy timeout), then
      // sees the version this one recorded and skips it.
      Transaction transaction(*this, "migrate");
      exec(std::string(schema::kCreateVersionTable).c_str(), "migrate");
      if (applied_version() >= migration.version) {
        transaction.commit();
        continue;
      }
      for (std::string_view step : migration.steps) exec(std::string(step).c_str(), "migrate");
      {
        Query record = query("INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, ?2)", "migrate");
        record.int_value(migration.version);
        record.int_value(now_ms());
        record.step();
      }
      transaction.commit();
    }
  }

  int schema_version() override {
    {
      Query exists = query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                           "schema_version");
      if (!exists.step() || exists.int_value() == 0) return 0;
    }
    return applied_version();
  }

  void put_team(const TeamRecord& team) override {
    Transaction transaction(*this, "put_team");
    {
      Query upsert = query(team_upsert_, "put_team");
      schema::write_team(upsert, team);
      upsert.step();
    }
    bump_keys_revision("put_team");
    transaction.commit();
  }

  std::vector<TeamRecord> list_teams() override {
    Query select = query("SELECT " + std::string(schema::kTeamColumns) + " FROM teams ORDER BY created_at_ms, id",
                         "list_teams");
    std::vector<TeamRecord> teams;
    while (select.step()) teams.push_back(schema::read_team(select, kBackend));
    return teams;
  }

  bool delete_team(const std::string& id) override {
    Transaction transaction(*this, "delete_team");
    {
      Query remove = query("DELETE FROM teams WHERE id = ?1", "delete_team");
      remove.text_value(id);
      remove.step();
    }
    if (sqlite3_changes(db_.get()) == 0) return false;  // nothing changed: the revision stays
    bump_keys_revision("delete_team");
    transaction.commit();
    return true;
  }

  void put_key(const KeyRecord& key) override {
    Transaction transaction(*this, "put_key");
    {
      Query upsert = query(key_upsert_, "put_key");
      schema::write_key(upsert, key);
      upsert.step();
    }
    bump_keys_revision("put_key");
    transaction.commit();
  }

  std::vector<KeyRecord> list_keys() override {
    Query select =
        query("SELECT " + std::string(schema::kKeyColumns) + " FROM keys ORDER BY created_at_ms, id", "list_keys");
    std::vector<KeyRecord> keys;
    while (select.step()) keys.push_back(schema::read_key(select, kBackend));
    return keys;
  }

  bool revoke_key(const std::string& id, std::int64_t at_ms) override {
    if (at_ms <= 0) throw StoreError("sqlite: revoke_key: at_ms must be positive (0 means live)");
    Transaction transaction(*this, "revoke_key");
    {
      Query update = query("UPDATE keys SET revoked_at_ms = ?1 WHERE id = ?2 AND revoked_at_ms = 0", "revoke_key");
      update.int_value(at_ms);
      update.text_value(id);
      update.step();
    }
    if (sqlite3_changes(db_.get()) == 0) return false;
    bump_keys_revision("revoke_key");
    transaction.commit();
    return true;
  }

  std::int64_t keys_revision() override {
    Query select = query("SELECT value FROM meta WHERE name = 'keys_revision'", "keys_revision");
    if (!select.step()) throw StoreError("sqlite: keys_revision: the meta row is missing");
    return select.int_value();
  }

  void insert_usage(std::span<const UsageRecord> batch) override {
    if (batch.empty()) return;
    Transaction transaction(*this, "insert_usage");
    // Whole groups of rows per statement: a step's own cost (halt, reset, the statement's
    // transaction bookkeeping) was a sixth of a row's, paid once per group instead of per row.
    std::size_t next = 0;
    if (batch.size() >= kUsageRowsPerInsert) {
      Query insert = query(usage_insert_many_, "insert_usage");
      insert.bind_texts_in_place();  // each record and its scratch outlive the step
      for (; batch.size() - next >= kUsageRowsPerInsert; next += kUsageRowsPerInsert) {
        for (std::size_t row = 0; row < kUsageRowsPerInsert; ++row) {
          schema::write_usage(insert, batch[next + row], usage_scratch_[row]);
        }
        insert.step();
        insert.rewind();
      }
    }
    if (next < batch.size()) {
      Query insert = query(usage_insert_, "insert_usage");
      insert.bind_texts_in_place();
      for (; next < batch.size(); ++next) {
        schema::write_usage(insert, batch[next], usage_scratch_[0]);
        insert.step();
        insert.rewind();
      }
    }
    add_to_daily_totals(batch);
    transaction.commit();
  }

  // usage_daily's share of insert_usage (usage_sql.hpp): one upsert per group the batch touches.
  void add_to_daily_totals(std::span<const UsageRecord> batch) {
    schema::DailyRollup daily;
    for (const UsageRecord& record : batch) daily.add(record);
    Query upsert = query(daily_upsert_, "insert_usage");
    upsert.bind_texts_in_place();  // the groups outlive each step
    for (const auto& [group, totals] : daily.groups()) {
      schema::DailyRollup::write(upsert, group, totals);
      upsert.step();
      upsert.rewind();
    }
  }

  std::vector<UsageRow> query_usage(const UsageQuery& usage_query) override {
    const schema::BoundSql bound = schema::usage_query_sql(usage_query, '?');
    Query select = query(bound.sql, "query_usage");
    select.bind(bound);
    std::vector<UsageRow> rows;
    while (select.step()) rows.push_back(schema::read_usage_row(select, usage_query));
    schema::finish_usage_rows(rows);
    return rows;
  }

  double spend_since(const std::string& key_id, const std::string& team_id, std::int64_t since_ms) override {
    const schema::BoundSql bound = schema::spend_since_sql(key_id, team_id, since_ms, '?');
    Query select = query(bound.sql, "spend_since");
    select.bind(bound);
    return select.step() ? select.real_value() : 0.0;
  }

 private:
  // Rolls back unless committed, so an exception anywhere inside leaves the database as it was.
  class Transaction {
   public:
    Transaction(SqliteStore& store, std::string_view operation) : store_(store), operation_(operation) {
      Query begin = store_.query("BEGIN IMMEDIATE", operation_);
      begin.step();
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
      if (!committed_) sqlite3_exec(store_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
      Query commit = store_.query("COMMIT", operation_);
      commit.step();
      committed_ = true;
    }

   private:
    SqliteStore& store_;
    std::string_view operation_;
    bool committed_ = false;
  };

  // The statement for `sql`, prepared on first use and kept for the connection's life. Dynamic
  // texts (query_usage) are few: one per combination of groupings and filters.
  Query query(const std::string& sql, std::string_view operation) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
      sqlite3_stmt* statement = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                             &statement, nullptr) != SQLITE_OK) {
        fail(db_.get(), operation);
      }
      found = statements_.emplace(sql, std::unique_ptr<sqlite3_stmt, FinalizeStatement>(statement)).first;
    }
    return Query(db_.get(), found->second.get(), operation);
  }

  // One-off statements (pragmas, migration steps): not worth a cache entry.
  void exec(const char* sql, std::string_view operation) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db_.get(), operation);
  }

  int applied_version() {
    Query select = query("SELECT coalesce(max(version), 0) FROM schema_migrations", "schema_version");
    return select.step() ? static_cast<int>(select.int_value()) : 0;
  }

  // Inside the caller's transaction, so a reader that sees the new revision also sees the change.
  void bump_keys_revision(std::string_view operation) {
    Query update = query("UPDATE meta SET value = value + 1 WHERE name = 'keys_revision'", operation);
    update.step();
    if (sqlite3_changes(db_.get()) != 1) throw StoreError("sqlite: " + std::string(operation) + ": no keys_revision row");
  }

  std::unique_ptr<sqlite3, CloseDatabase> db_;  // declared first: destroyed after the statements
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, FinalizeStatement>> statements_;
  const std::string team_upsert_;
  const std::string key_upsert_;
  static constexpr std::size_t kUsageRowsPerInsert = 32;  // 32 x 15 parameters, far below SQLite's limit
  const std::string usage_insert_;
  const std::string usage_insert_many_;
  std::array<schema::UsageScratch, kUsageRowsPerInsert> usage_scratch_;  // repaired texts, one set per row
  const std::string daily_upsert_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  if (path != ":memory:") {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    if (error) throw StoreError("sqlite: open " + path + ": cannot create " + parent.string() + ": " + error.message());
  }
  return std::make_unique<SqliteStore>(path);
}

}  // namespace baton::store
