// Loading valid configs: the full example, defaults, ${ENV} expansion and the derived fields.

#include "config/load.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support.hpp"

using namespace std::chrono_literals;
using namespace dutydesk::config;
using namespace dutydesk::config::test;
using testing::ElementsAre;

namespace {

const std::map<std::string, std::string> example_env{
  {"RC_USER_ID", "rc-user-id"},     {"RC_TOKEN", "rc-token"},     {"JIRA_TOKEN", "jira-token"},
  {"JIRA_WEBHOOK_SECRET", "hook"}, {"ONCALL_TOKEN", "oncall-tok"},
};

} // namespace

TEST(load, full_example_file_loads_with_expected_values) {
  auto result = load_config(DUTYDESK_SOURCE_DIR "/config/dutydesk.example.yaml", map_env(example_env));
  for (const auto& d : result.diagnostics)
    ADD_FAILURE() << format(d);
  ASSERT_TRUE(result.ok());
  const auto& c = *result.value;

  EXPECT_EQ(c.rocketchat.url, "http://127.0.0.1:3000");
  EXPECT_EQ(c.rocketchat.realtime_url, "ws://127.0.0.1:3000/websocket");
  EXPECT_EQ(c.rocketchat.auth, rocketchat_auth::token);
  EXPECT_EQ(c.rocketchat.user_id, "rc-user-id");
  EXPECT_EQ(c.rocketchat.auth_token, "rc-token");

  EXPECT_EQ(c.jira.url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.jira.flavor, jira_flavor::datacenter);
  EXPECT_EQ(c.jira.auth.type, jira_auth_type::bearer);
  EXPECT_EQ(c.jira.auth.token, "jira-token");
  EXPECT_EQ(c.jira.webhook_secret, "hook");
  EXPECT_EQ(c.jira.service_field, "customfield_10100");
  EXPECT_FALSE(c.jira.poll_interval);

  EXPECT_EQ(c.oncall.url, "http://127.0.0.1:8081");
  EXPECT_EQ(c.oncall.token, "oncall-tok");
  EXPECT_FALSE(c.oncall.grafana_url);

  EXPECT_EQ(c.storage.kind, storage_kind::sqlite);
  EXPECT_EQ(c.storage.path, "/var/lib/dutydesk/dutydesk.db");
  ASSERT_TRUE(c.events);
  EXPECT_EQ(c.events->nats_url, "nats://127.0.0.1:4222");
  EXPECT_EQ(c.events->subject_prefix, "dutydesk");
  EXPECT_EQ(c.http.listen, (dutydesk::domain::host_port{"127.0.0.1", 8090}));
  EXPECT_EQ(c.metrics.listen, (dutydesk::domain::host_port{"127.0.0.1", 9464}));

  ASSERT_EQ(c.statuses.size(), 4u);
  std::vector<std::string> ids;
  for (const auto& s : c.statuses)
    ids.push_back(s.id);
  EXPECT_THAT(ids, ElementsAre("open", "in_progress", "waiting", "done"));
  EXPECT_EQ(c.statuses[1].label, "In progress");
  EXPECT_EQ(c.statuses[1].emoji, ":hammer_and_wrench:");
  EXPECT_EQ(c.statuses[2].jira_status, "Waiting for customer");
  EXPECT_FALSE(c.statuses[2].final);
  EXPECT_TRUE(c.statuses[3].final);
  EXPECT_EQ(c.initial_status, "open");

  ASSERT_EQ(c.channels.size(), 1u);
  const auto& ch = c.channels[0];
  EXPECT_EQ(ch.room, "cicd-support");
  EXPECT_EQ(ch.team, "cicd");
  EXPECT_THAT(ch.members, ElementsAre("alice", "dave"));
  EXPECT_EQ(ch.jira.project, "CICD");
  EXPECT_EQ(ch.jira.issue_type, "Task");
  EXPECT_THAT(ch.services, ElementsAre("pipeline", "ci"));
  EXPECT_EQ(ch.oncall.schedule_id, "SCHEDCICD");
  EXPECT_THAT(ch.oncall.fallback, ElementsAre("dave"));
  EXPECT_EQ(ch.remind_after.count(), 4 * 3600 * 1000);
  EXPECT_EQ(ch.default_status, "open");
  EXPECT_EQ(c.channel_for_service("ci"), &ch);
  EXPECT_EQ(c.find_channel("cicd-support"), &ch);
  EXPECT_EQ(c.channel_for_service("nope"), nullptr);

  EXPECT_TRUE(c.feedback.enabled);
  EXPECT_EQ(c.feedback.expire_after.count(), 7 * 24 * 3600 * 1000);
  EXPECT_TRUE(c.feedback.anonymous);

  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_EQ(c.users[0].rocketchat, "alice");
  EXPECT_EQ(c.users[0].oncall, "U4DNY931HHJS5");
  EXPECT_EQ(c.users[0].jira, "alice");
  EXPECT_FALSE(c.users[0].email);
  EXPECT_EQ(c.language, ui_language::en);

  EXPECT_THAT(c.from_env, ElementsAre("jira.auth.token", "jira.webhook_secret", "oncall.token",
                                      "rocketchat.auth_token", "rocketchat.user_id"));
}

TEST(load, test_data_copy_of_the_example_matches_the_shipped_example) {
  // tests/data/config/example.yaml is what the CLI test checks; keep it identical to the documented example.
  auto read = [](const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    std::string text;
    if (!f)
      return text;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
      text.append(buffer, n);
    std::fclose(f);
    return text;
  };
  auto shipped = read(DUTYDESK_SOURCE_DIR "/config/dutydesk.example.yaml");
  ASSERT_FALSE(shipped.empty());
  EXPECT_EQ(read(DUTYDESK_TEST_DATA "/config/example.yaml"), shipped);
}

TEST(load, defaults_of_the_minimal_config) {
  auto c = load_ok(minimal);
  EXPECT_EQ(c.rocketchat.realtime_url, "ws://rc:3000/websocket");
  EXPECT_EQ(c.jira.flavor, jira_flavor::datacenter);
  EXPECT_EQ(c.jira.auth.type, jira_auth_type::bearer);
  EXPECT_FALSE(c.jira.service_field);
  EXPECT_FALSE(c.jira.poll_interval);
  EXPECT_EQ(c.storage.url, "sqlite:///var/lib/dutydesk/dutydesk.db");
  EXPECT_EQ(c.storage.kind, storage_kind::sqlite);
  EXPECT_EQ(c.storage.path, "/var/lib/dutydesk/dutydesk.db");
  EXPECT_FALSE(c.events);
  EXPECT_EQ(dutydesk::domain::to_string(c.http.listen), "127.0.0.1:8090");
  EXPECT_EQ(dutydesk::domain::to_string(c.metrics.listen), "127.0.0.1:9464");
  EXPECT_EQ(c.statuses[0].label, "open"); // label defaults to the id
  EXPECT_EQ(c.statuses[0].emoji, "");
  EXPECT_FALSE(c.statuses[0].jira_status);
  EXPECT_FALSE(c.statuses[0].final);
  EXPECT_EQ(c.initial_status, "open");
  EXPECT_EQ(c.channels[0].jira.issue_type, "Task");
  EXPECT_TRUE(c.channels[0].members.empty());
  EXPECT_TRUE(c.channels[0].services.empty());
  EXPECT_TRUE(c.channels[0].oncall.fallback.empty());
  EXPECT_EQ(c.channels[0].remind_after, 4h);
  EXPECT_EQ(c.channels[0].default_status, "open");
  EXPECT_FALSE(c.feedback.enabled);
  EXPECT_EQ(c.feedback.expire_after, 7 * 24h);
  EXPECT_TRUE(c.feedback.anonymous);
  EXPECT_TRUE(c.users.empty());
  EXPECT_EQ(c.language, ui_language::en);
  EXPECT_TRUE(c.from_env.empty());
}

TEST(load, optional_keys_and_alternatives) {
  auto text = minimal_with("  user_id: bot\n  auth_token: tok\n", "  username: bot\n  password: pw\n");
  text = replace(text, "  url: http://rc:3000\n", "  url: https://chat.example.com/rc/\n");
  text = replace(text, "  auth:\n    token: jt\n", "  flavor: cloud\n  auth:\n    type: basic\n    user: bot@example.com\n    token: jt\n");
  text = replace(text, "  webhook_secret: ws\n", "  webhook_secret: ws\n  poll_interval: 1m30s\n");
  text = replace(text, "  token: ot\n", "  token: ot\n  grafana_url: https://example.grafana.net/\n");
  text = replace(text, "  - id: open\n", "  - id: new\n  - id: open\n");
  text = replace(text, "    team: core\n",
                 "    team: core\n    members: ['@alice', bob]\n    default_status: new\n    remind_after: 500ms\n");
  text += "initial_status: open\n"
          "storage:\n  url: postgresql://dd:pw@db:5432/dutydesk\n"
          "events: { nats_url: 'nats://nats:4222', subject_prefix: acme.dutydesk }\n"
          "http: { listen: '0.0.0.0:8090' }\n"
          "metrics: { listen: '[::]:9464' }\n"
          "feedback:\n  enabled: True\n  expire_after: 2d\n  anonymous: false\n"
          "users:\n  - rocketchat: alice\n    email: alice@example.com\n"
          "language: ru\n";
  auto c = load_ok(text);
  EXPECT_EQ(c.rocketchat.auth, rocketchat_auth::password);
  EXPECT_EQ(c.rocketchat.username, "bot");
  EXPECT_EQ(c.rocketchat.password, "pw");
  EXPECT_EQ(c.rocketchat.url, "https://chat.example.com/rc");
  EXPECT_EQ(c.rocketchat.realtime_url, "wss://chat.example.com/rc/websocket");
  EXPECT_EQ(c.jira.flavor, jira_flavor::cloud);
  EXPECT_EQ(c.jira.auth.type, jira_auth_type::basic);
  EXPECT_EQ(c.jira.auth.user, "bot@example.com");
  EXPECT_EQ(c.jira.poll_interval, 90s);
  EXPECT_EQ(c.oncall.grafana_url, "https://example.grafana.net");
  EXPECT_EQ(c.initial_status, "open");
  EXPECT_THAT(c.channels[0].members, ElementsAre("alice", "bob"));
  EXPECT_EQ(c.channels[0].default_status, "new");
  EXPECT_EQ(c.channels[0].remind_after, 500ms);
  EXPECT_EQ(c.storage.kind, storage_kind::postgresql);
  EXPECT_EQ(c.storage.conninfo, "postgresql://dd:pw@db:5432/dutydesk");
  ASSERT_TRUE(c.events);
  EXPECT_EQ(c.events->subject_prefix, "acme.dutydesk");
  EXPECT_EQ(dutydesk::domain::to_string(c.http.listen), "0.0.0.0:8090");
  EXPECT_EQ(dutydesk::domain::to_string(c.metrics.listen), "[::]:9464");
  EXPECT_TRUE(c.feedback.enabled);
  EXPECT_EQ(c.feedback.expire_after, 48h);
  EXPECT_FALSE(c.feedback.anonymous);
  EXPECT_EQ(c.users[0].email, "alice@example.com");
  EXPECT_EQ(c.language, ui_language::ru);
}

TEST(load, env_references_are_expanded_after_parsing) {
  auto text = minimal_with("  auth_token: tok\n", "  auth_token: ${RC_TOKEN}\n");
  // Quoted inside flow style, as YAML requires.
  text = replace(text, "  auth:\n    token: jt\n", "  auth: { type: bearer, token: \"${JT}\" }\n");
  // Embedded in a longer scalar, and the $${ escape.
  text += "storage:\n  url: 'postgresql://dd:${PGPASSWORD}@db:5432/dutydesk'\n";
  text = replace(text, "  webhook_secret: ws\n", "  webhook_secret: ab$${cd}\n");
  auto c = load_ok(text, {{"RC_TOKEN", "from-env"}, {"JT", "jt-env"}, {"PGPASSWORD", "pg%20pw"}});
  EXPECT_EQ(c.rocketchat.auth_token, "from-env");
  EXPECT_EQ(c.jira.auth.token, "jt-env");
  EXPECT_EQ(c.jira.webhook_secret, "ab${cd}");
  EXPECT_EQ(c.storage.conninfo, "postgresql://dd:pg%20pw@db:5432/dutydesk");
  EXPECT_THAT(c.from_env, ElementsAre("jira.auth.token", "rocketchat.auth_token", "storage.conninfo", "storage.url"));
}

TEST(load, env_set_to_empty_counts_as_set) {
  // An empty variable is set, so the problem is the empty value, not an unset variable.
  EXPECT_THAT(errors(minimal_with("  auth_token: tok\n", "  auth_token: ${RC_TOKEN}\n"), {{"RC_TOKEN", ""}}),
              ElementsAre("t.yaml:4:15: rocketchat.auth_token: must not be empty"));
}

TEST(load, process_env_reads_the_environment) {
  ASSERT_EQ(setenv("DUTYDESK_TEST_VAR", "value", 1), 0);
  auto env = process_env();
  EXPECT_EQ(env("DUTYDESK_TEST_VAR"), "value");
  unsetenv("DUTYDESK_TEST_VAR");
  EXPECT_EQ(env("DUTYDESK_TEST_VAR"), std::nullopt);
}
