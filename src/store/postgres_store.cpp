#include "store/postgres_store.hpp"

#include <charconv>
#include <chrono>
#include <cstring>

#include "store/libpq.hpp"
#include "store/migrations.hpp"
#include "store/usage_sql.hpp"

namespace baton::store {
namespace {

constexpr std::string_view kBackend = "postgresql";
// pg_advisory_xact_lock's key for migrations: "batonmig" in ASCII, recognisable in pg_locks.
constexpr std::int64_t kMigrationLockKey = 0x626174'6f6e6d6967;
// COPY data goes to libpq in pieces of about this size: big enough to amortise the calls, small
// enough that a 2048-record batch is never held twice in memory.
constexpr std::size_t kCopyChunkBytes = 256 * 1024;

std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

[[noreturn]] void fail(std::string_view operation, const std::string& message) {
  throw StoreError("postgresql: " + std::string(operation) + ": " + message);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Numbers as PostgreSQL's text input reads them; doubles in the shortest form that reads back exactly.
template <typename Number>
void append_number(std::string& out, Number value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof text, value);
  out.append(text, end);
}

struct FinishConnection {
  void operator()(PGconn* conn) const { libpq().finish(conn); }
};
struct ClearResult {
  void operator()(PGresult* result) const { libpq().clear(result); }
};
using Result = std::unique_ptr<PGresult, ClearResult>;

// Parameters for PQexecParams, all in text form, in the order RowWriter receives them.
class Params final : public schema::RowWriter {
 public:
  Params() = default;
  explicit Params(const schema::BoundSql& bound) {
    for (const auto& param : bound.params) {
      if (const auto* number = std::get_if<std::int64_t>(&param)) {
        int_value(*number);
      } else {
        text_value(std::get<std::string>(param));
      }
    }
  }

  void int_value(std::int64_t value) override { append_number(values_.emplace_back(), value); }
  void real_value(double value) override { append_number(values_.emplace_back(), value); }
  void text_value(std::string_view value) override { values_.emplace_back(value); }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into values_: taken after the last value is added, since adding may move them.
  std::vector<const char*> pointers() const {
    std::vector<const char*> pointers;
    pointers.reserve(values_.size());
    for (const std::string& value : values_) pointers.push_back(value.c_str());
    return pointers;
  }

 private:
  std::vector<std::string> values_;
};

// One row of a text-format result, read column after column.
class ResultRow final : public schema::RowReader {
 public:
  ResultRow(const PGresult* result, int row, std::string_view operation)
      : result_(result), row_(row), operation_(operation) {}

  std::int64_t int_value() override { return parse<std::int64_t>(); }
  double real_value() override { return parse<double>(); }
  std::string text_value() override {
    const int column = column_++;
    return std::string(libpq().getvalue(result_, row_, column), static_cast<std::size_t>(libpq().getlength(result_, row_, column)));
  }

 private:
  template <typename Number>
  Number parse() {
    const int column = column_++;
    const char* text = libpq().getvalue(result_, row_, column);
    const char* end = text + libpq().getlength(result_, row_, column);
    Number value{};
    // sum() over bigint comes back as numeric: still plain digits, since the inputs are integers.
    const auto [stop, error] = std::from_chars(text, end, value);
    if (error != std::errc() || stop != end) {
      fail(operation_, "column " + std::string(libpq().fname(result_, column)) + " is not a number: " + text);
    }
    return value;
  }

  const PGresult* result_;
  int row_;
  std::string_view operation_;
  int column_ = 0;
};

// The COPY text format: columns split by tabs, rows end with a newline, and a backslash escapes
// the four bytes that would otherwise be read as structure (NUL never gets here: storable_text).
class CopyRows final : public schema::RowWriter {
 public:
  void int_value(std::int64_t value) override {
    next_column();
    append_number(buffer_, value);
  }
  void real_value(double value) override {
    next_column();
    append_number(buffer_, value);
  }
  void text_value(std::string_view value) override {
    next_column();
    std::size_t special = value.find_first_of("\\\t\n\r");
    while (special != std::string_view::npos) {
      buffer_.append(value.substr(0, special));
      buffer_ += '\\';
      const char c = value[special];
      buffer_ += c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
      value.remove_prefix(special + 1);
      special = value.find_first_of("\\\t\n\r");
    }
    buffer_.append(value);
  }
  void end_row() {
    buffer_ += '\n';
    first_column_ = true;
  }
  std::string& buffer() { return buffer_; }

 private:
  void next_column() {
    if (!first_column_) buffer_ += '\t';
    first_column_ = false;
  }

  std::string buffer_;
  bool first_column_ = true;
};

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" and the like

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const std::string& url)
      : conn_(libpq().connectdb(url.c_str())),
        team_upsert_(schema::upsert_by_id_sql("teams", schema::kTeamColumns, '$')),
        key_upsert_(schema::upsert_by_id_sql("keys", schema::kKeyColumns, '$')),
        usage_copy_("COPY usage (" + std::string(schema::kUsageColumns) + ") FROM STDIN") {
    // The URL is never part of a message: it may carry a password.
    if (!conn_) fail("connect", "out of memory");
    if (libpq().status(conn_.get()) != CONNECTION_OK) fail("connect", trimmed(libpq().error_message(conn_.get())));
    libpq().set_notice_processor(conn_.get(), ignore_notice, nullptr);
    // Whatever the server's default, text travels as UTF-8 (storable_text guarantees it for usage).
    if (libpq().set_client_encoding(conn_.get(), "UTF8") != 0) fail("connect", trimmed(libpq().error_message(conn_.get())));
  }

  std::string_view backend() const override { return kBackend; }

  void migrate_to(int version) override {
    schema::check_target_version(version, kBackend);
    for (const schema::Migration& migration : schema::postgres_migrations()) {
      if (migration.version > version) break;
      if (migration.version <= schema_version()) continue;
      Transaction transaction(*this, "migrate");
      // Replicas starting at once queue here; each then re-reads the version under the lock and
      // skips what another already applied. The lock ends with the transaction.
      Params lock;
      lock.int_value(kMigrationLockKey);
      exec("SELECT pg_advisory_xact_lock($1)", lock, "migrate");
      exec(std::string(schema::kCreateVersionTable), Params(), "migrate");
      if (applied_version() >= migration.version) {
        transaction.commit();
        continue;
      }
      for (std::string_view step : migration.steps) exec(std::string(step), Params(), "migrate");
      Params row;
      row.int_value(migration.version);
      row.int_value(now_ms());
      exec("INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)", row, "migrate");
      transaction.commit();
    }
  }

  int schema_version() override {
    reconnect_if_lost("schema_version");
    const Result exists = exec("SELECT to_regclass('schema_migrations') IS NOT NULL", Params(), "schema_version");
    if (std::strcmp(libpq().getvalue(exists.get(), 0, 0), "t") != 0) return 0;
    return applied_version();
  }

  void put_team(const TeamRecord& team) override {
    Params params;
    schema::write_team(params, team);
    Transaction transaction(*this, "put_team");
    exec(team_upsert_, params, "put_team");
    bump_keys_revision("put_team");
    transaction.commit();
  }

  std::vector<TeamRecord> list_teams() override {
    reconnect_if_lost("list_teams");
    const Result result = exec("SELECT " + std::string(schema::kTeamColumns) + " FROM teams ORDER BY created_at_ms, id",
                               Params(), "list_teams");
    std::vector<TeamRecord> teams;
    for (int i = 0; i < libpq().ntuples(result.get()); ++i) {
      ResultRow row(result.get(), i, "list_teams");
      teams.push_back(schema::read_team(row, kBackend));
    }
    return teams;
  }

  bool delete_team(const std::string& id) override {
    Params params;
    params.text_value(id);
    Transaction transaction(*this, "delete_team");
    const Result result = exec("DELETE FROM teams WHERE id = $1", params, "delete_team");
    if (affected_rows(result) == 0) return false;  // nothing changed: the revision stays
    bump_keys_revision("delete_team");
    transaction.commit();
    return true;
  }

  void put_key(const KeyRecord& key) override {
    Params params;
    schema::write_key(params, key);
    Transaction transaction(*this, "put_key");
    exec(key_upsert_, params, "put_key");
    bump_keys_revision("put_key");
    transaction.commit();
  }

  std::vector<KeyRecord> list_keys() override {
    reconnect_if_lost("list_keys");
    const Result result = exec("SELECT " + std::string(schema::kKeyColumns) + " FROM keys ORDER BY created_at_ms, id",
                               Params(), "list_keys");
    std::vector<KeyRecord> keys;
    for (int i = 0; i < libpq().ntuples(result.get()); ++i) {
      ResultRow row(result.get(), i, "list_keys");
      keys.push_back(schema::read_key(row, kBackend));
    }
    return keys;
  }

  bool revoke_key(const std::string& id, std::int64_t at_ms) override {
    if (at_ms <= 0) fail("revoke_key", "at_ms must be positive (0 means live)");
    Params params;
    params.int_value(at_ms);
    params.text_value(id);
    Transaction transaction(*this, "revoke_key");
    const Result result =
        exec("UPDATE keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms = 0", params, "revoke_key");
    if (affected_rows(result) == 0) return false;
    bump_keys_revision("revoke_key");
    transaction.commit();
    return true;
  }

  std::int64_t keys_revision() override {
    reconnect_if_lost("keys_revision");
    const Result result = exec("SELECT value FROM meta WHERE name = 'keys_revision'", Params(), "keys_revision");
    if (libpq().ntuples(result.get()) != 1) fail("keys_revision", "the meta row is missing");
    ResultRow row(result.get(), 0, "keys_revision");
    return row.int_value();
  }

  void insert_usage(std::span<const UsageRecord> batch) override {
    if (batch.empty()) return;
    Transaction transaction(*this, "insert_usage");
    copy_usage(batch);
    transaction.commit();
  }

  std::vector<UsageRow> query_usage(const UsageQuery& query) override {
    reconnect_if_lost("query_usage");
    const schema::BoundSql bound = schema::usage_query_sql(query, '$');
    const Result result = exec(bound.sql, Params(bound), "query_usage");
    std::vector<UsageRow> rows;
    for (int i = 0; i < libpq().ntuples(result.get()); ++i) {
      ResultRow row(result.get(), i, "query_usage");
      rows.push_back(schema::read_usage_row(row, query));
    }
    schema::finish_usage_rows(rows);
    return rows;
  }

  double spend_since(const std::string& key_id, const std::string& team_id, std::int64_t since_ms) override {
    reconnect_if_lost("spend_since");
    const schema::BoundSql bound = schema::spend_since_sql(key_id, team_id, since_ms, '$');
    const Result result = exec(bound.sql, Params(bound), "spend_since");
    ResultRow row(result.get(), 0, "spend_since");
    return row.real_value();
  }

 private:
  // BEGIN now, ROLLBACK unless committed: an exception anywhere inside leaves the database as it was.
  class Transaction {
   public:
    Transaction(PostgresStore& store, std::string_view operation) : store_(store), operation_(operation) {
      store_.reconnect_if_lost(operation_);
      store_.exec("BEGIN", Params(), operation_);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
      if (!committed_ && libpq().status(store_.conn_.get()) == CONNECTION_OK) {
        const Result rollback(libpq().exec(store_.conn_.get(), "ROLLBACK"));
      }
    }
    void commit() {
      store_.exec("COMMIT", Params(), operation_);
      committed_ = true;
    }

   private:
    PostgresStore& store_;
    std::string_view operation_;
    bool committed_ = false;
  };

  // A dropped connection (server restart, failover) is re-established before the next operation
  // starts, never in the middle of one: a transaction must not silently continue on a new session.
  void reconnect_if_lost(std::string_view operation) {
    if (libpq().status(conn_.get()) == CONNECTION_OK) return;
    libpq().reset(conn_.get());
    if (libpq().status(conn_.get()) != CONNECTION_OK) fail(operation, trimmed(libpq().error_message(conn_.get())));
    libpq().set_notice_processor(conn_.get(), ignore_notice, nullptr);
    if (libpq().set_client_encoding(conn_.get(), "UTF8") != 0) fail(operation, trimmed(libpq().error_message(conn_.get())));
  }

  Result exec(const std::string& sql, const Params& params, std::string_view operation) {
    const std::vector<const char*> values = params.pointers();
    Result result(libpq().exec_params(conn_.get(), sql.c_str(), params.size(), nullptr, values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = libpq().result_status(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      fail(operation, trimmed(result ? libpq().result_error_message(result.get()) : libpq().error_message(conn_.get())));
    }
    return result;
  }

  static std::int64_t affected_rows(const Result& result) {
    return std::strtoll(libpq().cmd_tuples(result.get()), nullptr, 10);
  }

  int applied_version() {
    const Result result = exec("SELECT coalesce(max(version), 0) FROM schema_migrations", Params(), "schema_version");
    ResultRow row(result.get(), 0, "schema_version");
    return static_cast<int>(row.int_value());
  }

  // Inside the caller's transaction, so a replica that sees the new revision also sees the change.
  void bump_keys_revision(std::string_view operation) {
    const Result result =
        exec("UPDATE meta SET value = value + 1 WHERE name = 'keys_revision'", Params(), operation);
    if (affected_rows(result) != 1) fail(operation, "no keys_revision row");
  }

  // One COPY for the whole batch, streamed in chunks. On any failure the COPY is ended with an
  // error (the server discards it) before the exception leaves, so the connection stays usable.
  void copy_usage(std::span<const UsageRecord> batch) {
    const Result start(libpq().exec(conn_.get(), usage_copy_.c_str()));
    if (libpq().result_status(start.get()) != PGRES_COPY_IN) {
      fail("insert_usage", trimmed(start ? libpq().result_error_message(start.get()) : libpq().error_message(conn_.get())));
    }
    CopyRows rows;
    rows.buffer().reserve(kCopyChunkBytes + 4096);
    schema::UsageScratch scratch;
    bool sent = true;
    for (const UsageRecord& record : batch) {
      schema::write_usage(rows, record, scratch);
      rows.end_row();
      if (rows.buffer().size() >= kCopyChunkBytes) {
        sent = send_copy_data(rows.buffer());
        if (!sent) break;
      }
    }
    if (sent) sent = send_copy_data(rows.buffer());
    const std::string send_error = sent ? "" : trimmed(libpq().error_message(conn_.get()));
    libpq().put_copy_end(conn_.get(), sent ? nullptr : "baton: usage batch aborted");
    // The COPY's outcome, then the end of results (libpq needs both read before the next command).
    Result outcome(libpq().get_result(conn_.get()));
    const bool copied = libpq().result_status(outcome.get()) == PGRES_COMMAND_OK;
    const std::string outcome_error = copied ? "" : trimmed(libpq().result_error_message(outcome.get()));
    while (Result extra{libpq().get_result(conn_.get())}) {
    }
    if (!sent) fail("insert_usage", send_error);
    if (!copied) fail("insert_usage", outcome_error);
  }

  bool send_copy_data(std::string& buffer) {
    const bool ok = buffer.empty() || libpq().put_copy_data(conn_.get(), buffer.data(), static_cast<int>(buffer.size())) == 1;
    buffer.clear();
    return ok;
  }

  std::unique_ptr<PGconn, FinishConnection> conn_;
  const std::string team_upsert_;
  const std::string key_upsert_;
  const std::string usage_copy_;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url) { return std::make_unique<PostgresStore>(url); }

}  // namespace baton::store
