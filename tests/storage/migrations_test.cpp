#include <sqlite3.h>

#include <array>
#include <string>
#include <vector>

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

// The real migrations plus one more step only the tests know (version = the binary's newest + 1).
std::vector<migration> with_extra_step() {
  std::vector<migration> list{sqlite_migrations().begin(), sqlite_migrations().end()};
  list.push_back({static_cast<int>(list.size()) + 1, "add notes",
                  "CREATE TABLE notes (x TEXT); CREATE INDEX notes_x ON notes (x);"});
  return list;
}
const std::vector<migration> extra_step = with_extra_step();
const int newest = static_cast<int>(sqlite_migrations().size());

// The schema as released in version 1 only.
const std::array<migration, 1> v1_only{{sqlite_migrations()[0]}};


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

TEST_F(migrations_test, current_schema_is_version_4_with_lifecycle_jira_and_feedback_tables) {
  auto list = sqlite_migrations();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].name, "initial schema");
  EXPECT_EQ(list[1].name, "request lifecycle state");
  EXPECT_EQ(list[2].name, "jira mirror");
  EXPECT_EQ(list[3].name, "feedback, reports and event sinks");
  auto st = open();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->schema_version(), 4);
  for (auto name : {"jira_ops", "jira_links", "jira_comment_links", "inbox", "seen_deliveries", "kv_state", "feedback",
                    "event_deliveries"})
    EXPECT_EQ(table_count(db_path(), name), 1) << name;
  for (auto column : {"team", "first_response_at", "resolved_at", "reopens"})
    EXPECT_EQ(raw_value(db_path(), ("SELECT COUNT(*) FROM pragma_table_info('requests') WHERE name = '"
                                    + std::string{column} + "'").c_str()),
              1)
      << column;
  EXPECT_EQ(raw_value(db_path(), "SELECT COUNT(*) FROM pragma_table_info('requests') WHERE name = 'lifecycle' "
                                 "AND type = 'BLOB' AND \"notnull\" = 0"),
            1);
}

TEST_F(migrations_test, version_1_database_upgrades_and_keeps_its_rows) {
  sqlite_options old;
  old.migrations = v1_only;
  ASSERT_TRUE(open(old));
  // A row as a version-1 binary wrote it (the v1 store cannot write through the v2 statements).
  raw_exec(db_path(), "INSERT INTO requests (id, room_id, root_message_id, requester_id, requester_username, body, "
                      "status, created_at, updated_at, last_activity_at, source) "
                      "VALUES ('old', 'support', 'root-old', 'u1', 'alice', X'6869', 'new', 1, 2, 3, 'chat');"
                      "INSERT INTO thread_map VALUES ('root-old', 'old', 'support');");
  EXPECT_EQ(raw_value(db_path(), "SELECT MAX(version) FROM schema_migrations"), 1);

  sqlite_options check;
  check.apply_migrations = false;
  auto checked = open(check);
  ASSERT_TRUE(checked);
  auto pending = checked->pending_migrations();
  DD_ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0], (migration_info{2, "request lifecycle state"}));
  EXPECT_EQ((*pending)[1], (migration_info{3, "jira mirror"}));
  EXPECT_EQ((*pending)[2], (migration_info{4, "feedback, reports and event sinks"}));
  checked.reset();

  auto st = open();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->schema_version(), 4);
  auto got = st->request_by_thread("root-old");
  DD_ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id, "old");
  EXPECT_EQ((*got)->text, "hi");
  EXPECT_EQ((*got)->created_at, 1);
  EXPECT_FALSE((*got)->lifecycle.has_value());
  // The upgraded row can be rewritten with a lifecycle.
  auto r = **got;
  r.lifecycle = R"({"phase":"active"})";
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(r)); });
  EXPECT_EQ(st->request("old")->value().lifecycle, r.lifecycle);
  DD_ASSERT_OK(st->check_integrity());
}

TEST_F(migrations_test, reports_pending_without_applying) {
  ASSERT_TRUE(open()); // the binary's newest version
  sqlite_options check;
  check.apply_migrations = false;
  check.migrations = extra_step;
  auto st = open(check);
  ASSERT_TRUE(st);
  auto pending = st->pending_migrations();
  DD_ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0], (migration_info{newest + 1, "add notes"}));
  EXPECT_EQ(*st->schema_version(), newest);
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
  apply.migrations = extra_step;
  st = open(apply);
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->schema_version(), newest + 1);
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
  newer.migrations = extra_step;
  ASSERT_TRUE(open(newer));
  auto st = open_sqlite(db_path());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::schema_too_new);
  auto expected = "version " + std::to_string(newest + 1) + " is newer";
  EXPECT_NE(st.err().message.find(expected), std::string::npos) << st.err().message;
  // Also in check mode, and the database is left as it was.
  sqlite_options check;
  check.apply_migrations = false;
  auto checked = open_sqlite(db_path(), check);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.err().code, errc::schema_too_new);
  EXPECT_EQ(raw_value(db_path(), "SELECT MAX(version) FROM schema_migrations"), newest + 1);
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
