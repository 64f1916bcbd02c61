// End to end against a real SQLite file: the fixture's rows written through a transaction, read back by the loader
// (requests_between, feedback_between), and the report equal to the one computed from the rows directly.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "report/format.hpp"
#include "report/load.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/report/fixture.hpp"

namespace dutydesk::report {
namespace {

using namespace test;

class report_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dutydesk-report-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string db_path() const { return (dir_ / "dutydesk.db").string(); }
  std::string url() const { return "sqlite://" + db_path(); }

  // Creates the database with every migration and writes the fixture's rows in one transaction.
  void write_fixture() {
    auto store = storage::open_sqlite(db_path());
    ASSERT_TRUE(store.ok()) << store.err().message;
    auto tx = (*store)->begin();
    ASSERT_TRUE(tx.ok()) << tx.err().message;
    for (const auto& r : requests()) {
      auto done = (*tx)->upsert_request(r);
      ASSERT_TRUE(done.ok()) << r.id << ": " << done.err().message;
    }
    for (const auto& f : surveys()) {
      auto done = (*tx)->upsert_feedback(f);
      ASSERT_TRUE(done.ok()) << f.request_id << ": " << done.err().message;
    }
    auto committed = (*tx)->commit();
    ASSERT_TRUE(committed.ok()) << committed.err().message;
  }

  std::filesystem::path dir_;
};

TEST_F(report_store_test, loader_reads_the_period_and_the_report_matches) {
  ASSERT_NO_FATAL_FAILURE(write_fixture());
  auto rows = load(url(), since, until);
  ASSERT_TRUE(rows.ok()) << rows.err().message;

  // requests_between: created in the period or resolved in it, by created_at (i3 and o1 lie outside).
  std::vector<std::string> ids;
  for (const auto& r : rows->requests)
    ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"c5", "c4", "c1", "c2", "c3", "i1", "i2", "d1", "e1", "c6"}));
  // The v4 fields come back as written.
  auto expected = requests();
  EXPECT_EQ(rows->requests[0], expected[1]); // c5
  EXPECT_EQ(rows->requests[5], expected[6]); // i1: reopens 2

  // feedback_between: sent in the period, by sent_at (October's and the one at `until` lie outside).
  ASSERT_EQ(rows->feedback.size(), 9u);
  auto surveys_written = surveys();
  for (std::size_t i = 0; i < rows->feedback.size(); ++i)
    EXPECT_EQ(rows->feedback[i], surveys_written[i + 1]) << i;

  auto from_store = compute(rows->requests, rows->feedback, since, until, configured_teams(), std::nullopt);
  auto from_rows = compute(requests(), surveys(), since, until, configured_teams(), std::nullopt);
  EXPECT_EQ(from_store, from_rows);
  EXPECT_EQ(to_json(from_store), to_json(from_rows));
  EXPECT_EQ(from_store.overall.requests_created, 9);
  EXPECT_EQ(from_store.overall.surveys_sent, 9);
}

TEST_F(report_store_test, missing_file_is_not_created) {
  auto rows = load(url(), since, until);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.err().code, storage::errc::not_found);
  EXPECT_EQ(rows.err().message, "the database file does not exist");
  EXPECT_FALSE(std::filesystem::exists(db_path()));
}

TEST_F(report_store_test, pending_migrations_are_refused_not_applied) {
  {
    // An empty file: schema version 0, every migration pending.
    auto store = storage::open_sqlite(db_path(), storage::sqlite_options{.apply_migrations = false});
    ASSERT_TRUE(store.ok()) << store.err().message;
  }
  auto rows = load(url(), since, until);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.err().code, storage::errc::schema_pending);
  auto store = storage::open_sqlite(db_path(), storage::sqlite_options{.apply_migrations = false});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->schema_version(), 0);
}

TEST_F(report_store_test, empty_store_gives_the_empty_report) {
  { ASSERT_TRUE(storage::open_sqlite(db_path()).ok()); }
  auto rows = load(url(), since, until);
  ASSERT_TRUE(rows.ok()) << rows.err().message;
  EXPECT_TRUE(rows->requests.empty());
  EXPECT_TRUE(rows->feedback.empty());
}

} // namespace
} // namespace dutydesk::report
