// storage.url → a backend. The URL's scheme picks it; the rest is the backend's own business.

#include <memory>

#include "store/libpq.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"

namespace baton::store {
namespace {

constexpr std::string_view kSqliteScheme = "sqlite://";
constexpr std::string_view kSqliteMemory = "sqlite::memory:";

bool is_postgres(std::string_view url) { return url.starts_with("postgresql://") || url.starts_with("postgres://"); }

}  // namespace

std::string validate_store_url(const std::string& url) {
  if (url == kSqliteMemory) return {};
  if (url.starts_with(kSqliteScheme)) {
    if (url.size() == kSqliteScheme.size()) return "sqlite:// needs a file path, e.g. sqlite://var/baton.db";
    return {};
  }
  if (is_postgres(url)) {
    // libpq's own parser, without connecting: catches what PQconnectdb would reject on its shape.
    const Libpq* pq = nullptr;
    try {
      pq = &libpq();
    } catch (const StoreError& e) {
      return e.what();
    }
    char* error = nullptr;
    PQconninfoOption* options = pq->conninfo_parse(url.c_str(), &error);
    if (options != nullptr) {
      pq->conninfo_free(options);
      return {};
    }
    std::string why = error != nullptr ? error : "out of memory";
    pq->freemem(error);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return "not a valid PostgreSQL URL: " + why;
  }
  if (url.empty()) return "empty; use sqlite://var/baton.db, sqlite::memory: or postgresql://user@host:port/db";
  return "unsupported scheme (use sqlite://PATH, sqlite::memory: or postgresql://user@host:port/db)";
}

std::unique_ptr<Store> open_store(const std::string& url) {
  if (std::string why = validate_store_url(url); !why.empty()) throw StoreError("store: storage.url " + why);
  if (url == kSqliteMemory) return open_sqlite_store(":memory:");
  if (url.starts_with(kSqliteScheme)) return open_sqlite_store(url.substr(kSqliteScheme.size()));
  return open_postgres_store(url);
}

}  // namespace baton::store
