// The CLI commands as functions: check-config output and exit codes, and report's --since/--until checks.

#include "config/commands.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

using namespace dutydesk::config;
using testing::HasSubstr;

namespace {

struct run_result {
  int rc;
  std::string out;
  std::string err;
};

run_result run_check(const std::string& path, std::map<std::string, std::string> env = {}) {
  std::ostringstream out, err;
  int rc = check_config(path, map_env(std::move(env)), out, err);
  return {rc, out.str(), err.str()};
}

} // namespace

TEST(check_config, valid_file_prints_ok_and_the_summary) {
  const std::string path = DUTYDESK_TEST_DATA "/config/minimal.yaml";
  auto r = run_check(path);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, path + ": ok\n"
                          "statuses: open, done (final); initial: open; channels: support (team core, jira CORE/Task, "
                          "remind 4h, default open); rocketchat: http://127.0.0.1:3000 (token auth); jira: "
                          "http://127.0.0.1:8080 (datacenter, bearer auth); oncall: http://127.0.0.1:8081; storage: "
                          "sqlite:///var/lib/dutydesk/dutydesk.db; events: off; http: 127.0.0.1:8090; metrics: "
                          "127.0.0.1:9464; feedback: off; users: 0; language: en\n");
}

TEST(check_config, invalid_file_prints_every_error_and_exits_1) {
  const std::string path = DUTYDESK_TEST_DATA "/config/bad.yaml";
  auto r = run_check(path);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            path + ":3:8: rocketchat.url: invalid URL 'ftp://127.0.0.1:3000': scheme must be http or https\n" +
              path + ":4:12: rocketchat.user_id: environment variable DUTYDESK_TEST_UNSET_VAR is not set\n" +
              path + ":8:3: unknown key 'flavour' in jira; did you mean 'flavor'?\n" +
              path + ":19:9: statuses[2].id: status id 'open' is listed twice (first at line 16)\n" +
              path + ":25:19: channels[0].remind_after: invalid duration '4x': unknown unit (use ms, s, m, h or d)\n" +
              path + ":26:11: channels[1].room: room 'support' is listed twice (first at line 21)\n" +
              path + ":30:17: initial_status: unknown status id 'opn'; did you mean 'open'?\n");
}

TEST(check_config, unreadable_file_exits_1) {
  auto r = run_check("/nonexistent/dutydesk.yaml");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "/nonexistent/dutydesk.yaml:1:1: cannot read file: No such file or directory\n");
}

TEST(check_config, load_and_report_returns_the_config) {
  std::ostringstream err;
  auto cfg = load_and_report(DUTYDESK_TEST_DATA "/config/minimal.yaml", map_env({}), err);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->channels.at(0).room, "support");
  EXPECT_EQ(err.str(), "");
  EXPECT_FALSE(load_and_report(DUTYDESK_TEST_DATA "/config/bad.yaml", map_env({}), err));
  EXPECT_THAT(err.str(), HasSubstr("bad.yaml:3:8: rocketchat.url"));
}

