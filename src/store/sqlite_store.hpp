#pragma once
// The embedded backend: one SQLite connection in WAL mode (readers never wait for the writer),
// synchronous=NORMAL (a commit survives a crash of baton, the last ones may not survive a power
// loss), a busy timeout so the admin thread and the usage writer queue for the write lock instead
// of failing, and every statement prepared once and kept on the connection.
#include <memory>
#include <string>

#include "store/store.hpp"

namespace baton::store {

// `path`: a database file (missing parent folders are created) or ":memory:". Throws StoreError.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace baton::store
