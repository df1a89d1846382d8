#include "store/libpq.hpp"

#include <dlfcn.h>

#include "store/store.hpp"

namespace baton::store {

namespace {

constexpr const char* kLibrary = "libpq.so.5";  // the soname baton is built against (libpq5)

template <class Function>
void bind(void* handle, const char* name, Function& slot) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) throw StoreError(std::string("postgresql: ") + kLibrary + " has no " + name);
  slot = reinterpret_cast<Function>(symbol);
}

Libpq load() {
  // RTLD_LOCAL: its symbols stay out of the global namespace; it is never unloaded.
  void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw StoreError(std::string("postgresql: cannot load ") + kLibrary + " (install libpq5): " + (why != nullptr ? why : "unknown error"));
  }
  Libpq pq{};
  bind(handle, "PQconnectdb", pq.connectdb);
  bind(handle, "PQfinish", pq.finish);
  bind(handle, "PQreset", pq.reset);
  bind(handle, "PQstatus", pq.status);
  bind(handle, "PQerrorMessage", pq.error_message);
  bind(handle, "PQsetClientEncoding", pq.set_client_encoding);
  bind(handle, "PQsetNoticeProcessor", pq.set_notice_processor);
  bind(handle, "PQexec", pq.exec);
  bind(handle, "PQexecParams", pq.exec_params);
  bind(handle, "PQgetResult", pq.get_result);
  bind(handle, "PQresultStatus", pq.result_status);
  bind(handle, "PQresultErrorMessage", pq.result_error_message);
  bind(handle, "PQclear", pq.clear);
  bind(handle, "PQntuples", pq.ntuples);
  bind(handle, "PQfname", pq.fname);
  bind(handle, "PQgetvalue", pq.getvalue);
  bind(handle, "PQgetlength", pq.getlength);
  bind(handle, "PQcmdTuples", pq.cmd_tuples);
  bind(handle, "PQputCopyData", pq.put_copy_data);
  bind(handle, "PQputCopyEnd", pq.put_copy_end);
  bind(handle, "PQconninfoParse", pq.conninfo_parse);
  bind(handle, "PQconninfoFree", pq.conninfo_free);
  bind(handle, "PQfreemem", pq.freemem);
  return pq;
}

}  // namespace

const Libpq& libpq() {
  static const Libpq loaded = load();  // a throw leaves it unset: the next call tries again
  return loaded;
}

}  // namespace baton::store
