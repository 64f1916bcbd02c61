#pragma once
// Internal to the SQLite backend: converting sqlite3 result codes into storage errors at the edge.

#include <sqlite3.h>

#include <string>

#include "storage/result.hpp"

namespace dutydesk::storage::detail {

/// The storage error for sqlite result code `rc` while doing `what`; the message names the operation and SQLite's
/// own text (which never quotes bound values).
inline error sqlite_error(sqlite3* db, int rc, const std::string& what) {
  errc code = errc::database;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: code = errc::constraint; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = errc::busy; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = errc::corrupt; break;
    default: break;
  }
  std::string msg = what + ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return error{code, std::move(msg)};
}

/// Runs `sql` (no bound values); the error names `what`.
inline result<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc == SQLITE_OK)
    return {};
  std::string text = what + ": " + (msg != nullptr ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  auto err = sqlite_error(db, rc, what);
  err.message = std::move(text);
  return err;
}

} // namespace dutydesk::storage::detail
