#pragma once
// Internal to storage/: what a SQL database must offer so that one implementation of `store` (sql_store.cpp) runs
// on it. SQLite and PostgreSQL implement `sql_backend`; the statements of sql_store.cpp are written once, with ?N
// placeholders and SQL both databases accept (ON CONFLICT, RETURNING, COALESCE, partial indexes); the PostgreSQL
// backend rewrites ?N to $N.
//
// Values cross as three kinds: text (identifiers, always valid UTF-8), blob (free text and payloads, any bytes:
// BLOB in SQLite, bytea in PostgreSQL) and 64-bit integers; each may be NULL. A reader gets TEXT and BLOB columns
// back byte for byte through col_str.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/migrations.hpp"
#include "storage/result.hpp"
#include "storage/store.hpp"

namespace dutydesk::storage::detail {

/// One execution of a statement: binds parameters left to right (?1, ?2, ...), steps through the rows.
class sql_query {
public:
  virtual ~sql_query() = default;

  sql_query& text(const std::string& x) {
    bind_text(x);
    return *this;
  }
  sql_query& text(const std::optional<std::string>& x) { return x ? text(*x) : null(); }
  sql_query& blob(const std::string& x) {
    bind_blob(x);
    return *this;
  }
  sql_query& blob(const std::optional<std::string>& x) { return x ? blob(*x) : null(); }
  sql_query& i64(std::int64_t x) {
    bind_i64(x);
    return *this;
  }
  sql_query& i64(const std::optional<std::int64_t>& x) { return x ? i64(*x) : null(); }
  sql_query& null() {
    bind_null();
    return *this;
  }

  /// True for a row, false when done. The first step runs the statement.
  virtual result<bool> step() = 0;

  /// Steps to the end, ignoring rows.
  result<void> run() {
    for (;;) {
      auto r = step();
      if (!r)
        return r.err();
      if (!*r)
        return {};
    }
  }

  virtual std::int64_t col_i64(int i) const = 0;
  virtual bool col_null(int i) const = 0;
  /// A TEXT or BLOB column, byte for byte.
  virtual std::string col_str(int i) const = 0;

  std::optional<std::int64_t> col_opt_i64(int i) const {
    if (col_null(i))
      return std::nullopt;
    return col_i64(i);
  }
  std::optional<std::string> col_opt_str(int i) const {
    if (col_null(i))
      return std::nullopt;
    return col_str(i);
  }

  /// Rows the statement inserted, updated or deleted. @pre it ran to the end
  virtual std::int64_t changes() const = 0;

protected:
  virtual void bind_text(const std::string& x) = 0;
  virtual void bind_blob(const std::string& x) = 0;
  virtual void bind_i64(std::int64_t x) = 0;
  virtual void bind_null() = 0;
};

/// A database connection as the generic store uses it. Not thread-safe, like the store.
class sql_backend {
public:
  virtual ~sql_backend() = default;

  /// Runs `body` on a query of `sql` (a string constant of sql_store.cpp: its address may key a statement cache).
  /// The error is the one of preparing the statement; `body`'s own outcome travels through its captures.
  virtual result<void> with(const char* sql, const char* what, const std::function<void(sql_query&)>& body) = 0;

  /// Starts a write transaction (SQLite: BEGIN IMMEDIATE).
  virtual result<void> begin() = 0;
  virtual result<void> commit() = 0;
  /// Never fails: a rollback that cannot reach the database leaves nothing behind either.
  virtual void rollback() = 0;

  virtual result<int> schema_version() = 0;
  virtual result<std::vector<migration_info>> pending_migrations() = 0;
  virtual result<void> check_integrity() = 0;
};

/// The store over `backend`. When `ready` is false (migrations pending, opened for `migrate --check`) only
/// schema_version(), pending_migrations() and check_integrity() answer; everything else is errc::schema_pending.
std::unique_ptr<store> make_sql_store(std::unique_ptr<sql_backend> backend, bool ready);

} // namespace dutydesk::storage::detail
