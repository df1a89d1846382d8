#pragma once
// libpq, loaded when PostgreSQL storage is first used (dlopen) instead of linked. A baton on
// SQLite, the default, then never maps it nor the ~20 libraries it pulls in (Kerberos, LDAP,
// GnuTLS, SASL...): 3.3 MB of an idle process's 18 MB RSS.
//
// The types come from libpq-fe.h as usual; the functions are called through Libpq, one pointer
// per function baton uses.
#include <libpq-fe.h>

#include <string>

namespace baton::store {

struct Libpq {
  decltype(&::PQconnectdb) connectdb;
  decltype(&::PQfinish) finish;
  decltype(&::PQreset) reset;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQsetClientEncoding) set_client_encoding;
  decltype(&::PQsetNoticeProcessor) set_notice_processor;
  decltype(&::PQexec) exec;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQgetResult) get_result;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQfname) fname;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQcmdTuples) cmd_tuples;
  decltype(&::PQputCopyData) put_copy_data;
  decltype(&::PQputCopyEnd) put_copy_end;
  decltype(&::PQconninfoParse) conninfo_parse;
  decltype(&::PQconninfoFree) conninfo_free;
  decltype(&::PQfreemem) freemem;
};

// The library, loaded once (thread-safe); throws StoreError naming the library and dlopen's reason
// when it cannot be loaded or lacks a function.
const Libpq& libpq();

}  // namespace baton::store
