// One serve per store: the instance lock on a SQLite file (flock, per open file, so two acquires in one process
// exclude each other like two processes do) and on PostgreSQL (a session advisory lock per schema).

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "storage/instance_lock.hpp"
#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

using namespace std::chrono_literals;
using instance_lock_test = temp_dir_test;

TEST_F(instance_lock_test, a_second_serve_on_a_sqlite_file_is_refused_with_the_holders_pid_until_the_first_ends) {
  store_location where{store_location::sqlite_file, db_path()};
  auto first = instance_lock::acquire(where);
  DD_ASSERT_OK(first);
  EXPECT_EQ((*first)->describe(), "lock file " + where.path + ".lock");
  auto second = instance_lock::acquire(where, 0ms);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.err().code, errc::busy);
  EXPECT_NE(second.err().message.find("another dutydesk serve uses this store (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
    << second.err().message;
  first = instance_lock::acquire(store_location{store_location::sqlite_memory, ":memory:"}); // drops the file lock
  DD_ASSERT_OK(first);
  auto third = instance_lock::acquire(where, 0ms);
  DD_ASSERT_OK(third);
}

TEST_F(instance_lock_test, a_lock_file_that_cannot_be_created_is_a_database_error) {
  store_location where{store_location::sqlite_file, db_path() + ".d/missing/dd.db"};
  auto r = instance_lock::acquire(where, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::database);
  EXPECT_NE(r.err().message.find("cannot open the lock file"), std::string::npos) << r.err().message;
}

TEST(instance_lock, in_memory_stores_share_nothing_and_take_no_lock) {
  store_location mem{store_location::sqlite_memory, ":memory:"};
  auto a = instance_lock::acquire(mem, 0ms);
  auto b = instance_lock::acquire(mem, 0ms);
  DD_ASSERT_OK(a);
  DD_ASSERT_OK(b);
}

TEST(instance_lock, a_second_serve_on_a_postgresql_schema_is_refused_until_the_first_session_ends) {
  pg_schema one, other;
  ASSERT_FALSE(one.url().empty()) << "no test PostgreSQL: run through ctest (fixture `postgres`) or set "
                                     "DUTYDESK_TEST_POSTGRES_URL";
  store_location where{store_location::postgresql, one.url()};
  auto first = instance_lock::acquire(where);
  DD_ASSERT_OK(first);
  auto second = instance_lock::acquire(where, 300ms); // retried for 300 ms, then refused
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.err().code, errc::busy);
  EXPECT_NE(second.err().message.find("another dutydesk serve uses this database"), std::string::npos);
  // Another schema of the same database is another store.
  auto elsewhere = instance_lock::acquire(store_location{store_location::postgresql, other.url()}, 0ms);
  DD_ASSERT_OK(elsewhere);
  first = instance_lock::acquire(store_location{store_location::sqlite_memory, ":memory:"}); // ends the session
  DD_ASSERT_OK(first);
  auto third = instance_lock::acquire(where, 2s);
  DD_ASSERT_OK(third);
}

TEST(instance_lock, a_postgresql_that_cannot_be_reached_is_unavailable_without_the_password) {
  store_location where{store_location::postgresql, "postgresql://u:secret-pw@127.0.0.1:9/db?connect_timeout=2"};
  auto r = instance_lock::acquire(where, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_EQ(r.err().message.find("secret-pw"), std::string::npos);
}

} // namespace
} // namespace dutydesk::storage::test
