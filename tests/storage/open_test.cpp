#include "storage/open.hpp"
#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

using open_test = temp_dir_test;

TEST(parse_store_url, sqlite_forms) {
  auto file = parse_store_url("sqlite:///var/lib/dutydesk/dutydesk.db");
  DD_ASSERT_OK(file);
  EXPECT_EQ(file->kind, store_location::sqlite_file);
  EXPECT_EQ(file->path, "/var/lib/dutydesk/dutydesk.db");
  auto upper = parse_store_url("SQLite:///x.db");
  DD_ASSERT_OK(upper);
  EXPECT_EQ(upper->path, "/x.db");
  for (auto url : {"sqlite::memory:", "sqlite://:memory:"}) {
    auto mem = parse_store_url(url);
    DD_ASSERT_OK(mem);
    EXPECT_EQ(mem->kind, store_location::sqlite_memory) << url;
    EXPECT_EQ(mem->path, ":memory:") << url;
  }
  auto pg = parse_store_url("postgresql://u:pw@db/dutydesk");
  DD_ASSERT_OK(pg);
  EXPECT_EQ(pg->kind, store_location::postgresql);
}

TEST(parse_store_url, malformed_urls_are_bad_url) {
  for (auto url : {"", "sqlite", ":memory:", "sqlite:relative.db", "sqlite://relative.db", "sqlite://host/x.db",
                   "sqlite:///x.db?mode=ro", "sqlite:///x.db#frag", "sqlite:///", "sqlite:///var/lib/", "mysql://h/db",
                   "file:///x.db"}) {
    auto r = parse_store_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.err().code, errc::bad_url) << url;
    EXPECT_NE(r.err().message.find("sqlite:///"), std::string::npos) << "message shows the accepted forms: " << url;
  }
}

TEST(open_store, postgresql_that_cannot_be_reached_is_unavailable_and_the_password_stays_hidden) {
  // Port 9 (discard) on loopback: nothing listens there, so the connection is refused at once.
  for (auto url : {"postgresql://dutydesk:s3cret@127.0.0.1:9/dutydesk", "postgres://dutydesk:s3cret@127.0.0.1:9/dd"}) {
    auto st = open_store(url);
    ASSERT_FALSE(st.ok()) << url;
    EXPECT_EQ(st.err().code, errc::unavailable) << url << ": " << st.err().message;
    EXPECT_NE(st.err().message.find("PostgreSQL"), std::string::npos) << st.err().message;
    EXPECT_EQ(st.err().message.find("s3cret"), std::string::npos) << st.err().message;
  }
}

TEST(open_store, bad_url_is_an_error_value) {
  auto st = open_store("sqlite://relative.db");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::bad_url);
}

TEST_F(open_test, sqlite_file_url_creates_and_reopens) {
  auto url = "sqlite://" + db_path();
  {
    auto st = open_store(url);
    DD_ASSERT_OK(st);
    in_txn(**st, [](transaction& t) { DD_ASSERT_OK(t.upsert_request(sample_request("r1"))); });
  }
  EXPECT_TRUE(std::filesystem::exists(db_path()));
  auto st = open_store(url);
  DD_ASSERT_OK(st);
  EXPECT_EQ(**(*st)->request("r1"), sample_request("r1"));
}

TEST_F(open_test, missing_directory_is_a_database_error) {
  auto st = open_store("sqlite://" + (dir_ / "no" / "such" / "dir" / "x.db").string());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::database);
}

TEST_F(open_test, check_mode_reports_pending_migrations) {
  open_options check;
  check.apply_migrations = false;
  auto st = open_store("sqlite://" + db_path(), check);
  DD_ASSERT_OK(st);
  auto pending = (*st)->pending_migrations();
  DD_ASSERT_OK(pending);
  EXPECT_EQ(pending->size(), sqlite_migrations().size());
  EXPECT_EQ((*st)->counts().err().code, errc::schema_pending);
  st = open_store("sqlite://" + db_path());
  DD_ASSERT_OK(st);
  EXPECT_TRUE((*st)->pending_migrations()->empty());
}

} // namespace
} // namespace dutydesk::storage::test
