#pragma once
// The production backend: one libpq connection per Store. Values always travel as parameters
// (PQexecParams), usage batches as one COPY ... FROM STDIN, and migrations serialise on an advisory
// lock so replicas that start together apply each version once.
#include <memory>
#include <string>

#include "store/store.hpp"

namespace baton::store {

// `url`: "postgresql://..." or "postgres://..." as libpq takes it. Throws StoreError.
std::unique_ptr<Store> open_postgres_store(const std::string& url);

}  // namespace baton::store
