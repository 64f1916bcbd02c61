#pragma once
// Shared helpers of the storage tests: a fresh temp directory per test, a fresh PostgreSQL schema per test, the
// fixture that runs a test on both backends, and sample records.

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <sqlite3.h>

#include <deque>
#include <fstream>
#include <random>
#include <vector>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "storage/postgres_store.hpp"
#include "storage/sqlite_store.hpp"
#include "storage/store.hpp"

namespace dutydesk::storage::test {

// Runs a statement on the database file directly, behind the store's back.
inline void raw_exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  std::string text = msg != nullptr ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << text;
}

// The first column of the first row `sql` answers on the database file, read behind the store's back, as text
// (sqlite3_column_text); nullopt for NULL or no row.
inline std::optional<std::string> raw_scalar(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::optional<std::string> out;
  if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    out = std::string{p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0))};
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

/// A test with its own temp directory, removed afterwards.
class temp_dir_test : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dutydesk-storage-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string db_path() const { return (dir_ / "dutydesk.db").string(); }

  /// Opens the test database; fails the test when that fails.
  std::unique_ptr<store> open(const sqlite_options& opts = {}) {
    auto st = open_sqlite(db_path(), opts);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.err().message);
    return st.ok() ? std::move(*st) : nullptr;
  }

  std::filesystem::path dir_;
};

/// The test PostgreSQL: $DUTYDESK_TEST_POSTGRES_URL, else the server the ctest fixture `postgres` started (its URL
/// file, DUTYDESK_PG_TEST_DIR/url). "" when there is none.
inline std::string postgres_test_url() {
  if (const char* env = std::getenv("DUTYDESK_TEST_POSTGRES_URL"); env != nullptr && *env != '\0')
    return env;
  std::ifstream in{std::string{DUTYDESK_PG_TEST_DIR} + "/url"};
  std::string url;
  std::getline(in, url);
  return url;
}

/// A schema of its own on the test PostgreSQL for one test (dropped afterwards), and a URL whose connections use it.
class pg_schema {
public:
  pg_schema() {
    base_ = postgres_test_url();
    if (base_.empty())
      return;
    std::random_device rd;
    name_ = "t" + std::to_string(rd()) + std::to_string(rd());
    run("CREATE SCHEMA " + name_);
    url_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + name_;
  }
  ~pg_schema() {
    if (!name_.empty())
      try {
        run("DROP SCHEMA " + name_ + " CASCADE");
      } catch (const std::exception&) {
      }
  }
  pg_schema(const pg_schema&) = delete;
  pg_schema& operator=(const pg_schema&) = delete;

  /// "" when no test PostgreSQL is configured.
  const std::string& url() const { return url_; }

  /// Runs `sql` in the schema, behind the store's back.
  void run(const std::string& sql) const {
    pqxx::connection c{url_.empty() ? base_ : url_};
    pqxx::nontransaction t{c};
    t.exec(sql);
  }

  /// The first column of the first row as text; nullopt for NULL or no row.
  std::optional<std::string> scalar(const std::string& sql) const {
    pqxx::connection c{url_};
    pqxx::nontransaction t{c};
    auto r = t.exec(sql);
    if (r.empty() || r[0][0].is_null())
      return std::nullopt;
    return std::string{r[0][0].c_str()};
  }

private:
  std::string base_, name_, url_;
};

/// The backends a TEST_P of `backend_test` runs on.
inline const char* const backends[] = {"sqlite", "postgres"};

/// A test that runs on both backends (TEST_P + INSTANTIATE_BACKENDS): open() gives the test's own empty database,
/// again the same one when called again (a restart); raw_scalar() reads it behind the store's back.
class backend_test : public temp_dir_test, public ::testing::WithParamInterface<const char*> {
protected:
  void SetUp() override {
    temp_dir_test::SetUp();
    if (postgres()) {
      pg_ = std::make_unique<pg_schema>();
      ASSERT_FALSE(pg_->url().empty())
        << "no test PostgreSQL: run through ctest (fixture `postgres`) or set DUTYDESK_TEST_POSTGRES_URL";
    }
  }

  bool postgres() const { return std::string{GetParam()} == "postgres"; }

  /// Opens the test database with `opts` (its migration list in SQLite spelling; translated for PostgreSQL).
  std::unique_ptr<store> open(const sqlite_options& opts = {}) {
    if (!postgres())
      return temp_dir_test::open(opts);
    // Kept for the test's lifetime: a store holds a view of its list.
    auto& list = lists_.emplace_back();
    for (const auto& m : opts.migrations)
      list.push_back({m.version, m.name, translated_.emplace_back(postgres_sql(m.sql))});
    postgres_options po;
    po.apply_migrations = opts.apply_migrations;
    po.migrations = list;
    auto st = open_postgres(pg_->url(), po);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.err().message);
    return st.ok() ? std::move(*st) : nullptr;
  }

  /// The first column of the first row `sql` answers, read behind the store's back, as text; nullopt for NULL.
  std::optional<std::string> raw_scalar(const std::string& sql) {
    if (postgres())
      return pg_->scalar(sql);
    return test::raw_scalar(db_path(), sql.c_str());
  }

  std::unique_ptr<pg_schema> pg_;
  std::deque<std::string> translated_;
  std::deque<std::vector<migration>> lists_;
};

#define INSTANTIATE_BACKENDS(suite)                                                                                 \
  INSTANTIATE_TEST_SUITE_P(backends, suite, ::testing::ValuesIn(::dutydesk::storage::test::backends),              \
                           [](const auto& info) { return std::string{info.param}; })

/// A request with only the required fields set.
inline request_record minimal_request(const std::string& id, millis at) {
  request_record r;
  r.id = id;
  r.room_id = "room-support";
  r.root_message_id = "msg-" + id;
  r.requester_id = "u-dave";
  r.requester_username = "dave";
  r.text = "hi";
  r.status = "new";
  r.created_at = r.updated_at = r.last_activity_at = at;
  return r;
}

/// A request with every optional field set.
inline request_record sample_request(const std::string& id, millis at = 1'700'000'000'000) {
  request_record r;
  r.id = id;
  r.room_id = "room-support";
  r.root_message_id = "msg-" + id;
  r.requester_id = "u-alice";
  r.requester_username = "alice";
  r.text = "printer on floor 3 is on fire";
  r.status = "new";
  r.assignee = "bob";
  r.on_duty = "carol";
  r.created_at = at;
  r.updated_at = at + 1;
  r.last_activity_at = at + 2;
  r.reminders_sent = 2;
  r.next_reminder_at = at + 3'600'000;
  r.reminder_epoch = 7;
  r.closed = false;
  r.moved_to = "room-other";
  r.source = request_source::jira;
  r.jira_key = "SUP-" + id;
  r.lifecycle = R"({"request_id":")" + id + R"(","phase":"active"})";
  return r;
}

/// Asserts `r` succeeded, printing the error otherwise.
#define DD_ASSERT_OK(r)                                                                                             \
  do {                                                                                                              \
    const auto& dd_r_ = (r);                                                                                        \
    ASSERT_TRUE(dd_r_.ok()) << ::dutydesk::storage::to_string(dd_r_.err().code) << ": " << dd_r_.err().message;    \
  } while (false)

/// Runs `body(transaction&)` in a transaction and commits it, asserting every step.
template <class Body>
void in_txn(store& st, Body body) {
  auto txn = st.begin();
  DD_ASSERT_OK(txn);
  body(**txn);
  DD_ASSERT_OK((*txn)->commit());
}

} // namespace dutydesk::storage::test
