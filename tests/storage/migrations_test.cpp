#include <sqlite3.h>

#include <array>

#include "storage/migrations.hpp"
#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

// Runs a one-value query on the database file directly, behind the store's back.
std::int64_t raw_value(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::int64_t out = -1;
  if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW)
    out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::int64_t table_count(const std::string& path, const std::string& name) {
  auto sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '" + name + "'";
  return raw_value(path, sql.c_str());
}

// The real migrations plus a second step only the tests know.
const std::array<migration, 2> two_steps{{
  sqlite_migrations()[0],
  {2, "add notes", "CREATE TABLE notes (x TEXT); CREATE INDEX notes_x ON notes (x);"},
}};

using migrations_test = temp_dir_test;

TEST_F(migrations_test, list_is_numbered_from_one) {
  auto list = sqlite_migrations();
  ASSERT_FALSE(list.empty());
  for (std::size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(list[i].name.empty());
  }
}

TEST_F(migrations_test, apply_from_empty_database) {
  auto st = open();
  ASSERT_TRUE(st);
  auto v = st->schema_version();
  DD_ASSERT_OK(v);
  EXPECT_EQ(*v, static_cast<int>(sqlite_migrations().size()));
  auto pending = st->pending_migrations();
  DD_ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  for (auto name : {"requests", "status_changes", "thread_map", "room_cursors", "timers", "actions", "outbox"})
    EXPECT_EQ(table_count(db_path(), name), 1) << name;
  EXPECT_EQ(raw_value(db_path(), "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(sqlite_migrations().size()));
  EXPECT_GT(raw_value(db_path(), "SELECT MIN(applied_at) FROM schema_migrations"), 1'600'000'000'000);
}

TEST_F(migrations_test, reopen_is_idempotent) {
  ASSERT_TRUE(open());
  ASSERT_TRUE(open());
  auto st = open();
  ASSERT_TRUE(st);
  auto v = st->schema_version();
  DD_ASSERT_OK(v);
  EXPECT_EQ(*v, static_cast<int>(sqlite_migrations().size()));
  EXPECT_EQ(raw_value(db_path(), "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(sqlite_migrations().size()));
}

TEST_F(migrations_test, reports_pending_without_applying) {
  ASSERT_TRUE(open()); // version 1
  sqlite_options check;
  check.apply_migrations = false;
  check.migrations = two_steps;
  auto st = open(check);
  ASSERT_TRUE(st);
  auto pending = st->pending_migrations();
  DD_ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0], (migration_info{2, "add notes"}));
  EXPECT_EQ(*st->schema_version(), 1);
  EXPECT_EQ(table_count(db_path(), "notes"), 0);
  // A store with pending migrations refuses to work on the old schema.
  auto r = st->request("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::schema_pending);
  auto txn = st->begin();
  ASSERT_FALSE(txn.ok());
  EXPECT_EQ(txn.err().code, errc::schema_pending);
  st.reset();

  sqlite_options apply;
  apply.migrations = two_steps;
  st = open(apply);
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->schema_version(), 2);
  EXPECT_TRUE(st->pending_migrations()->empty());
  EXPECT_EQ(table_count(db_path(), "notes"), 1);
  DD_ASSERT_OK(st->request("x"));
}

TEST_F(migrations_test, empty_database_reports_every_migration_pending) {
  sqlite_options check;
  check.apply_migrations = false;
  auto st = open(check);
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->schema_version(), 0);
  auto pending = st->pending_migrations();
  DD_ASSERT_OK(pending);
  EXPECT_EQ(pending->size(), sqlite_migrations().size());
  EXPECT_EQ(table_count(db_path(), "requests"), 0);
}

TEST_F(migrations_test, newer_schema_than_binary_is_refused) {
  sqlite_options newer;
  newer.migrations = two_steps;
  ASSERT_TRUE(open(newer));
  auto st = open_sqlite(db_path());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::schema_too_new);
  EXPECT_NE(st.err().message.find("version 2 is newer"), std::string::npos) << st.err().message;
  // Also in check mode, and the database is left as it was.
  sqlite_options check;
  check.apply_migrations = false;
  auto checked = open_sqlite(db_path(), check);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.err().code, errc::schema_too_new);
  EXPECT_EQ(raw_value(db_path(), "SELECT MAX(version) FROM schema_migrations"), 2);
}

TEST_F(migrations_test, failing_migration_applies_nothing) {
  const std::array<migration, 3> broken{{
    sqlite_migrations()[0],
    {2, "fine", "CREATE TABLE fine (x TEXT)"},
    {3, "broken", "CREATE TABLE half (x TEXT); INSERT INTO no_such_table VALUES (1)"},
  }};
  sqlite_options opts;
  opts.migrations = broken;
  auto st = open_sqlite(db_path(), opts);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::database);
  EXPECT_NE(st.err().message.find("migration 3"), std::string::npos) << st.err().message;
  for (auto name : {"requests", "fine", "half", "schema_migrations"})
    EXPECT_EQ(table_count(db_path(), name), 0) << name;
}

TEST_F(migrations_test, misnumbered_list_is_rejected) {
  const std::array<migration, 2> gap{{sqlite_migrations()[0], {3, "skips two", "SELECT 1"}}};
  sqlite_options opts;
  opts.migrations = gap;
  auto st = open_sqlite(db_path(), opts);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::invalid_state);
}

} // namespace
} // namespace dutydesk::storage::test
