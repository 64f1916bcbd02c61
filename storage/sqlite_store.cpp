#include "storage/sqlite_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "storage/sql_backend.hpp"
#include "storage/sqlite_detail.hpp"

namespace dutydesk::storage {

namespace {

using detail::sqlite_error;

// One use of a cached prepared statement; resets the statement when it goes out of scope so that the next use
// starts clean.
class sqlite_query final : public detail::sql_query {
public:
  sqlite_query(sqlite3* db, sqlite3_stmt* stmt, const char* what) : db_(db), stmt_(stmt), what_(what) {}
  sqlite_query(const sqlite_query&) = delete;
  sqlite_query& operator=(const sqlite_query&) = delete;
  ~sqlite_query() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  result<bool> step() override {
    if (bind_rc_ != SQLITE_OK)
      return sqlite_error(db_, bind_rc_, what_);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    return sqlite_error(db_, rc, what_);
  }

  std::int64_t col_i64(int i) const override { return sqlite3_column_int64(stmt_, i); }
  bool col_null(int i) const override { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  // Reads TEXT and BLOB columns byte for byte (column_bytes, not strlen): NULs and invalid UTF-8 survive.
  std::string col_str(int i) const override {
    const void* p = sqlite3_column_blob(stmt_, i);
    int n = sqlite3_column_bytes(stmt_, i);
    if (p == nullptr || n <= 0)
      return {};
    return std::string{static_cast<const char*>(p), static_cast<std::size_t>(n)};
  }
  std::int64_t changes() const override { return sqlite3_changes(db_); }

private:
  void bind_text(const std::string& x) override {
    check(sqlite3_bind_text(stmt_, ++index_, x.data(), static_cast<int>(x.size()), SQLITE_TRANSIENT));
  }
  // std::string::data() is never null, so an empty string binds as an empty blob, not as NULL.
  void bind_blob(const std::string& x) override {
    check(sqlite3_bind_blob64(stmt_, ++index_, x.data(), x.size(), SQLITE_TRANSIENT));
  }
  void bind_i64(std::int64_t x) override { check(sqlite3_bind_int64(stmt_, ++index_, x)); }
  void bind_null() override { check(sqlite3_bind_null(stmt_, ++index_)); }

  void check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK)
      bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* what_;
  int index_ = 0;
  int bind_rc_ = SQLITE_OK;
};

// One connection, its prepared statements cached by the address of their SQL text.
class sqlite_backend final : public detail::sql_backend {
public:
  sqlite_backend(sqlite3* db, std::span<const migration> migrations) : db_(db), migrations_(migrations) {}
  sqlite_backend(const sqlite_backend&) = delete;
  sqlite_backend& operator=(const sqlite_backend&) = delete;

  ~sqlite_backend() override {
    for (auto& [sql, stmt] : cache_)
      sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  result<void> with(const char* sql, const char* what,
                    const std::function<void(detail::sql_query&)>& body) override {
    auto stmt = prepare(sql, what);
    if (!stmt)
      return stmt.err();
    sqlite_query q{db_, *stmt, what};
    body(q);
    return {};
  }

  // IMMEDIATE takes the write lock now, so commit never fails with SQLITE_BUSY halfway through a unit of work.
  result<void> begin() override { return detail::exec(db_, "BEGIN IMMEDIATE", "begin transaction"); }

  result<void> commit() override { return detail::exec(db_, "COMMIT", "commit transaction"); }

  // Fails only when SQLite already rolled back on its own (e.g. after SQLITE_FULL); either way nothing remains.
  void rollback() override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

  result<int> schema_version() override { return sqlite_schema_version(db_); }

  result<std::vector<migration_info>> pending_migrations() override {
    return sqlite_pending_migrations(db_, migrations_);
  }

  result<void> check_integrity() override {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA integrity_check", -1, &stmt, nullptr);
    if (rc != SQLITE_OK)
      return sqlite_error(db_, rc, "integrity check");
    std::string verdict;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      auto p = sqlite3_column_text(stmt, 0);
      verdict = p != nullptr ? reinterpret_cast<const char*>(p) : "";
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
      return sqlite_error(db_, rc, "integrity check");
    if (verdict != "ok")
      return error{errc::corrupt, "integrity check failed: " + verdict};
    rc = sqlite3_prepare_v2(db_, "PRAGMA foreign_key_check", -1, &stmt, nullptr);
    if (rc != SQLITE_OK)
      return sqlite_error(db_, rc, "foreign key check");
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
      return error{errc::corrupt, "foreign key check found dangling references"};
    if (rc != SQLITE_DONE)
      return sqlite_error(db_, rc, "foreign key check");
    return {};
  }

private:
  result<sqlite3_stmt*> prepare(const char* sql, const char* what) {
    if (auto i = cache_.find(sql); i != cache_.end())
      return i->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK)
      return sqlite_error(db_, rc, what);
    cache_.emplace(sql, stmt);
    return stmt;
  }

  sqlite3* db_;
  std::span<const migration> migrations_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// Runs a PRAGMA that answers one text row and returns that row.
result<std::string> pragma(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK)
    return sqlite_error(db, rc, sql);
  std::string out;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    auto p = sqlite3_column_text(stmt, 0);
    out = p != nullptr ? reinterpret_cast<const char*>(p) : "";
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sqlite_error(db, rc, sql);
  return out;
}

} // namespace

result<std::unique_ptr<store>> open_sqlite(const std::string& path, const sqlite_options& opts) {
  bool memory = path == ":memory:";
  if (path.empty())
    return error{errc::bad_url, "empty SQLite path"};
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    auto err = sqlite_error(db, rc, "open SQLite database");
    sqlite3_close_v2(db);
    return err;
  }
  // The backend owns the handle from here, so every early return closes it.
  auto backend = std::make_unique<sqlite_backend>(db, opts.migrations);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, opts.busy_timeout_ms);
  // The first statement that reads the file: a non-database file fails here with SQLITE_NOTADB.
  auto mode = pragma(db, "PRAGMA journal_mode = WAL");
  if (!mode)
    return mode.err();
  if (!memory && *mode != "wal")
    return error{errc::database, "SQLite refused WAL mode (journal_mode is " + *mode + ")"};
  for (std::string sql : {std::string{"PRAGMA synchronous = "} + (opts.full_sync ? "FULL" : "NORMAL"),
                          std::string{"PRAGMA foreign_keys = ON"}})
    if (auto ok = detail::exec(db, sql.c_str(), sql); !ok)
      return ok.err();
  bool ready = true;
  if (opts.apply_migrations) {
    auto v = sqlite_apply_migrations(db, opts.migrations);
    if (!v)
      return v.err();
  } else {
    auto pending = sqlite_pending_migrations(db, opts.migrations);
    if (!pending)
      return pending.err();
    ready = pending->empty();
  }
  return detail::make_sql_store(std::move(backend), ready);
}

} // namespace dutydesk::storage