#pragma once
// One interface, two SQL backends: SQLite (embedded default, WAL) and PostgreSQL (libpq). A Store is
// one connection and is synchronous: it is only ever used from baton's own store threads (the admin
// /refresh thread and the usage writer each open their own), never from a worker thread.
//
// Failures throw StoreError with a message naming the backend and the operation.
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/records.hpp"

namespace baton::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;

  // The schema version this build writes; each backend's migration list ends at it.
  static constexpr int kLatestSchemaVersion = 4;

  virtual std::string_view backend() const = 0;  // "sqlite" | "postgresql"
  // Applies every migration newer than the database's version, each in its own transaction.
  // Safe to call from several processes at once (PostgreSQL: advisory lock; SQLite: IMMEDIATE tx).
  virtual void migrate() { migrate_to(kLatestSchemaVersion); }
  // Applies the migrations up to and including `version` (1..kLatestSchemaVersion). Never goes
  // down: a database already at or past `version` is left alone (migrations only add, so replicas
  // of the previous release keep working against it during a rolling upgrade).
  virtual void migrate_to(int version) = 0;
  virtual int schema_version() = 0;  // 0 on an empty database

  // Teams. put_team inserts or replaces (by id).
  virtual void put_team(const TeamRecord& team) = 0;
  virtual std::vector<TeamRecord> list_teams() = 0;
  virtual bool delete_team(const std::string& id) = 0;  // false: no such team

  // Keys. put_key inserts or replaces (by id). revoke_key sets revoked_at_ms (false: no such key
  // or already revoked). list_keys returns revoked keys too.
  virtual void put_key(const KeyRecord& key) = 0;
  virtual std::vector<KeyRecord> list_keys() = 0;
  virtual bool revoke_key(const std::string& id, std::int64_t at_ms) = 0;

  // A number that changes whenever a key or team changes (a counter bumped in the same transaction).
  // Replicas poll it to notice revocations quickly and reload the keys only when it moved.
  virtual std::int64_t keys_revision() = 0;

  // Usage. insert_usage writes the whole batch in one transaction (PostgreSQL: COPY).
  virtual void insert_usage(std::span<const UsageRecord> batch) = 0;
  virtual std::vector<UsageRow> query_usage(const UsageQuery& query) = 0;
  // Sum of cost_usd of one key's (or team's) records with ts_ms >= since_ms: seeds budgets at start.
  virtual double spend_since(const std::string& key_id, const std::string& team_id, std::int64_t since_ms) = 0;
};

// "sqlite://var/baton.db" (relative paths are relative to the working directory; parent folders
// are created), "sqlite::memory:", "postgresql://user@host:port/db" or "postgres://...".
// Connects and returns the store; does not migrate. Throws StoreError.
std::unique_ptr<Store> open_store(const std::string& url);

// Checks the URL's shape only (no connection): empty string when fine, else the reason.
std::string validate_store_url(const std::string& url);

}  // namespace baton::store
