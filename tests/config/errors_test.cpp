// One test per kind of config error, asserting the exact FILE:LINE:COL: message. Positions refer to the line map
// of `minimal` in support.hpp.

#include "config/load.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support.hpp"

using namespace dutydesk::config;
using namespace dutydesk::config::test;
using testing::ElementsAre;
using testing::IsEmpty;

namespace {

const std::string second_channel = "  - room: other\n    team: other\n    jira: {project: OTHER}\n"
                                   "    oncall: {schedule_id: S2}\n";

} // namespace

TEST(config_errors, minimal_config_is_valid) { EXPECT_THAT(errors(minimal), IsEmpty()); }

TEST(config_errors, unknown_top_level_key_suggests_the_closest) {
  EXPECT_THAT(errors(minimal + "rocketchatt: x\ninitial_stat: open\n"),
              ElementsAre("t.yaml:24:1: unknown key 'rocketchatt'; did you mean 'rocketchat'?",
                          "t.yaml:25:1: unknown key 'initial_stat'; did you mean 'initial_status'?"));
}

TEST(config_errors, unknown_key_in_a_section) {
  EXPECT_THAT(errors(minimal_with("  url: http://jira:8080\n", "  url: http://jira:8080\n  flavour: cloud\n")),
              ElementsAre("t.yaml:7:3: unknown key 'flavour' in jira; did you mean 'flavor'?"));
  EXPECT_THAT(errors(minimal_with("    token: jt\n", "    token: jt\n    typ: basic\n")),
              ElementsAre("t.yaml:9:5: unknown key 'typ' in jira.auth; did you mean 'type'?"));
}

TEST(config_errors, unknown_key_without_a_close_match_lists_the_keys) {
  EXPECT_THAT(errors(minimal_with("  token: ot\n", "  token: ot\n  zzzz: 1\n")),
              ElementsAre("t.yaml:13:3: unknown key 'zzzz' in oncall; expected one of: url, token, grafana_url"));
}

TEST(config_errors, unknown_key_inside_list_items) {
  EXPECT_THAT(errors(minimal_with("    team: core\n", "    teem: core\n")),
              ElementsAre("t.yaml:18:5: missing required key 'team' in channels[0]",
                          "t.yaml:19:5: unknown key 'teem' in channels[0]; did you mean 'team'?"));
  EXPECT_THAT(errors(minimal_with("  - id: open\n", "  - id: open\n    lable: Open\n")),
              ElementsAre("t.yaml:15:5: unknown key 'lable' in statuses[0]; did you mean 'label'?"));
  EXPECT_THAT(errors(minimal_with("      schedule_id: S1\n", "      schedule: S1\n")),
              ElementsAre("t.yaml:23:7: unknown key 'schedule' in channels[0].oncall; did you mean 'schedule_id'?",
                          "t.yaml:23:7: missing required key 'schedule_id' in channels[0].oncall"));
  EXPECT_THAT(errors(minimal + "users:\n  - rocketchat: a\n    jria: b\n"),
              ElementsAre("t.yaml:26:5: unknown key 'jria' in users[0]; did you mean 'jira'?"));
}

TEST(config_errors, duplicate_key) {
  EXPECT_THAT(errors(minimal_with("  url: http://rc:3000\n", "  url: http://rc:3000\n  url: http://other\n")),
              ElementsAre("t.yaml:3:3: duplicate key 'url' in rocketchat (first at line 2)"));
}

TEST(config_errors, bad_duration) {
  auto with = [](const std::string& line) {
    return errors(minimal_with("      schedule_id: S1\n", "      schedule_id: S1\n    remind_after:" + line + "\n"));
  };
  EXPECT_THAT(with(" 4x"), ElementsAre("t.yaml:24:19: channels[0].remind_after: invalid duration '4x': unknown unit "
                                       "(use ms, s, m, h or d)"));
  EXPECT_THAT(with(" -1s"), ElementsAre("t.yaml:24:19: channels[0].remind_after: invalid duration '-1s': negative "
                                        "durations are not allowed"));
  EXPECT_THAT(with(" 1.5h"), ElementsAre("t.yaml:24:19: channels[0].remind_after: invalid duration '1.5h': fractions "
                                         "are not allowed (write 1h30m, not 1.5h)"));
  EXPECT_THAT(with(" \"\""), ElementsAre("t.yaml:24:19: channels[0].remind_after: invalid duration '': empty "
                                         "duration (write e.g. 500ms, 30s, 4h, 2d)"));
  EXPECT_THAT(with(""), ElementsAre("t.yaml:24:5: channels[0].remind_after: missing value"));
  EXPECT_THAT(with(" 0s"), ElementsAre("t.yaml:24:19: channels[0].remind_after: must be longer than 0"));
  EXPECT_THAT(errors(minimal + "feedback:\n  expire_after: 1w\n"),
              ElementsAre("t.yaml:25:17: feedback.expire_after: invalid duration '1w': unknown unit (use ms, s, m, h "
                          "or d)"));
}

TEST(config_errors, bad_url_for_the_key) {
  EXPECT_THAT(errors(minimal_with("  url: http://rc:3000\n", "  url: ftp://rc:3000\n")),
              ElementsAre("t.yaml:2:8: rocketchat.url: invalid URL 'ftp://rc:3000': scheme must be http or https"));
  EXPECT_THAT(errors(minimal_with("  url: http://jira:8080\n", "  url: jira:8080\n")),
              ElementsAre("t.yaml:6:8: jira.url: invalid URL 'jira:8080': missing scheme (expected scheme://host...)"));
  EXPECT_THAT(errors(minimal_with("  url: http://oncall:8081\n", "  url: http:///api\n")),
              ElementsAre("t.yaml:11:8: oncall.url: invalid URL 'http:///api': missing host"));
  EXPECT_THAT(errors(minimal_with("  url: http://rc:3000\n", "  url: http://bot:pw@rc:3000\n")),
              ElementsAre("t.yaml:2:8: rocketchat.url: invalid URL 'http://bot:***@rc:3000': credentials do not belong "
                          "in this URL; use the auth keys"));
  EXPECT_THAT(errors(minimal + "storage:\n  url: mysql://db/x\n"),
              ElementsAre("t.yaml:25:8: storage.url: invalid URL 'mysql://db/x': scheme must be sqlite or postgresql"));
  EXPECT_THAT(errors(minimal + "storage:\n  url: sqlite://dutydesk.db\n"),
              ElementsAre("t.yaml:25:8: storage.url: invalid URL 'sqlite://dutydesk.db': a sqlite URL has no host; "
                          "write sqlite:///absolute/path.db"));
  EXPECT_THAT(errors(minimal + "storage:\n  url: postgresql:///dutydesk\n"),
              ElementsAre("t.yaml:25:8: storage.url: invalid URL 'postgresql:///dutydesk': missing host"));
  EXPECT_THAT(errors(minimal + "events:\n  nats_url: http://nats:4222\n"),
              ElementsAre("t.yaml:25:13: events.nats_url: invalid URL 'http://nats:4222': scheme must be nats (or "
                          "tls)"));
}

TEST(config_errors, bad_listen_address) {
  EXPECT_THAT(errors(minimal + "http:\n  listen: 127.0.0.1\n"),
              ElementsAre("t.yaml:25:11: http.listen: invalid listen address '127.0.0.1': missing port (expected "
                          "HOST:PORT, e.g. 127.0.0.1:8090)"));
  EXPECT_THAT(errors(minimal + "metrics:\n  listen: localhost:99999\n"),
              ElementsAre("t.yaml:25:11: metrics.listen: invalid listen address 'localhost:99999': port must be a "
                          "number from 0 to 65535"));
  EXPECT_THAT(errors(minimal + "http:\n  listen: 0.0.0.0:9000\nmetrics:\n  listen: 0.0.0.0:9000\n"),
              ElementsAre("t.yaml:27:11: metrics.listen: must differ from http.listen"));
  // Port 0 (any free port) for both is fine: the OS picks two different ports.
  EXPECT_THAT(errors(minimal + "http:\n  listen: 127.0.0.1:0\nmetrics:\n  listen: 127.0.0.1:0\n"), IsEmpty());
}

TEST(config_errors, missing_required_key_at_the_enclosing_map) {
  EXPECT_THAT(errors(minimal_with("  webhook_secret: ws\n", "")),
              ElementsAre("t.yaml:6:3: missing required key 'webhook_secret' in jira"));
  EXPECT_THAT(errors(minimal_with("oncall:\n  url: http://oncall:8081\n  token: ot\n", "")),
              ElementsAre("t.yaml:1:1: missing required key 'oncall'"));
  EXPECT_THAT(errors(minimal_with("      project: CORE\n", "      issue_type: Bug\n")),
              ElementsAre("t.yaml:21:7: missing required key 'project' in channels[0].jira"));
  EXPECT_THAT(errors(minimal_with("  - id: open\n", "  - label: Open\n")),
              ElementsAre("t.yaml:14:5: missing required key 'id' in statuses[0]"));
  EXPECT_THAT(errors(""), ElementsAre("t.yaml:1:1: missing required key 'rocketchat'",
                                      "t.yaml:1:1: missing required key 'jira'",
                                      "t.yaml:1:1: missing required key 'oncall'",
                                      "t.yaml:1:1: missing required key 'statuses'",
                                      "t.yaml:1:1: missing required key 'channels'"));
  // A section written with no content is an empty map: its required keys are reported at the section's key.
  EXPECT_THAT(errors(minimal_with("oncall:\n  url: http://oncall:8081\n  token: ot\n", "oncall:\n")),
              ElementsAre("t.yaml:10:1: missing required key 'url' in oncall",
                          "t.yaml:10:1: missing required key 'token' in oncall"));
}

TEST(config_errors, rocketchat_and_jira_credentials) {
  EXPECT_THAT(errors(minimal_with("  user_id: bot\n  auth_token: tok\n", "")),
              ElementsAre("t.yaml:2:3: missing required keys 'user_id' and 'auth_token' (or 'username' and "
                          "'password') in rocketchat"));
  EXPECT_THAT(errors(minimal_with("  auth_token: tok\n", "")),
              ElementsAre("t.yaml:2:3: missing required key 'auth_token' in rocketchat"));
  EXPECT_THAT(errors(minimal_with("  auth_token: tok\n", "  auth_token: tok\n  password: pw\n")),
              ElementsAre("t.yaml:2:3: rocketchat: give either user_id + auth_token or username + password, not both"));
  EXPECT_THAT(errors(minimal_with("    token: jt\n", "    type: basic\n    token: jt\n")),
              ElementsAre("t.yaml:8:5: missing required key 'user' in jira.auth"));
  EXPECT_THAT(errors(minimal_with("    token: jt\n", "    token: jt\n    user: bot\n")),
              ElementsAre("t.yaml:9:5: jira.auth.user: only used with type: basic"));
}

TEST(config_errors, wrong_type) {
  EXPECT_THAT(errors(minimal_with("jira:\n  url: http://jira:8080\n  auth:\n    token: jt\n  webhook_secret: ws\n",
                                  "jira: [a, b]\n")),
              ElementsAre("t.yaml:5:7: jira: expected a map, got a list"));
  EXPECT_THAT(errors(minimal_with("statuses:\n  - id: open\n  - id: done\n    final: true\n", "statuses: {open: Open}\n")),
              ElementsAre("t.yaml:13:11: statuses: expected a list, got a map"));
  EXPECT_THAT(errors(minimal_with("    team: core\n", "    team: core\n    members: alice\n")),
              ElementsAre("t.yaml:20:14: channels[0].members: expected a list, got a single value"));
  EXPECT_THAT(errors(minimal_with("  url: http://rc:3000\n", "  url: {a: 1}\n")),
              ElementsAre("t.yaml:2:8: rocketchat.url: expected a single value, got a map"));
  EXPECT_THAT(errors("- a\n"), ElementsAre("t.yaml:1:1: the top level: expected a map, got a list"));
  EXPECT_THAT(errors(minimal_with("  - room: support\n    team: core\n    jira:\n      project: CORE\n    oncall:\n"
                                  "      schedule_id: S1\n",
                                  "  - support\n")),
              ElementsAre("t.yaml:18:5: channels[0]: expected a map, got a single value"));
  EXPECT_THAT(errors(minimal_with("    final: true\n", "    final: yes\n")),
              ElementsAre("t.yaml:16:12: statuses[1].final: expected true or false, got 'yes'"));
}

TEST(config_errors, channel_room_listed_twice_points_at_the_second) {
  auto twice = replace(second_channel, "room: other", "room: support");
  EXPECT_THAT(errors(minimal + twice),
              ElementsAre("t.yaml:24:11: channels[1].room: room 'support' is listed twice (first at line 18)"));
}

TEST(config_errors, team_owns_one_channel_only) {
  auto same_team = replace(second_channel, "team: other", "team: core");
  EXPECT_THAT(errors(minimal + same_team),
              ElementsAre("t.yaml:25:11: channels[1].team: team 'core' already owns channel 'support' (line 19); a "
                          "team owns one channel only"));
}

TEST(config_errors, service_routed_to_two_channels) {
  auto text = minimal_with("    team: core\n", "    team: core\n    services: [ci, cd]\n");
  text += replace(second_channel, "    team: other\n", "    team: other\n    services: [cd]\n");
  EXPECT_THAT(errors(text), ElementsAre("t.yaml:27:16: channels[1].services[0]: service 'cd' is already routed to "
                                        "channel 'support' (line 20)"));
}

TEST(config_errors, status_id_listed_twice) {
  EXPECT_THAT(errors(minimal_with("    final: true\n", "    final: true\n  - id: open\n")),
              ElementsAre("t.yaml:17:9: statuses[2].id: status id 'open' is listed twice (first at line 14)"));
}

TEST(config_errors, unknown_status_id_reference) {
  EXPECT_THAT(errors(minimal + "initial_status: opne\n"),
              ElementsAre("t.yaml:24:17: initial_status: unknown status id 'opne'; did you mean 'open'?"));
  EXPECT_THAT(errors(minimal_with("    team: core\n", "    team: core\n    default_status: waiting\n")),
              ElementsAre("t.yaml:20:21: channels[0].default_status: unknown status id 'waiting'; expected one of: "
                          "open, done"));
}

TEST(config_errors, initial_status_must_not_be_final) {
  EXPECT_THAT(errors(minimal + "initial_status: done\n"),
              ElementsAre("t.yaml:24:17: initial_status: status 'done' is final; a new request cannot start closed"));
  EXPECT_THAT(errors(minimal_with("  - id: open\n", "  - id: closed\n    final: true\n  - id: open\n")),
              ElementsAre("t.yaml:13:1: statuses: the first status is final; put an open status first or set "
                          "initial_status"));
}

TEST(config_errors, at_least_one_final_status) {
  EXPECT_THAT(errors(minimal_with("    final: true\n", "")),
              ElementsAre("t.yaml:13:1: statuses: at least one status needs final: true"));
  EXPECT_THAT(errors(minimal_with("statuses:\n  - id: open\n  - id: done\n    final: true\n", "statuses: []\n")),
              ElementsAre("t.yaml:13:1: statuses: at least one status is required"));
}

TEST(config_errors, unset_environment_variable) {
  EXPECT_THAT(errors(minimal_with("  user_id: bot\n", "  user_id: ${RC_USER}\n")),
              ElementsAre("t.yaml:3:12: rocketchat.user_id: environment variable RC_USER is not set"));
  EXPECT_THAT(errors(minimal + "storage:\n  url: postgresql://${PGUSER}:${PGPASS}@db/x\n", {{"PGUSER", "dd"}}),
              ElementsAre("t.yaml:25:8: storage.url: environment variable PGPASS is not set"));
}

TEST(config_errors, malformed_environment_reference) {
  for (auto ref : {"${rc-user}", "${RC_USER", "${}", "a${1X}"})
    EXPECT_THAT(errors(minimal_with("  user_id: bot\n", std::string{"  user_id: '"} + ref + "'\n")),
                ElementsAre("t.yaml:3:12: rocketchat.user_id: malformed ${...} reference (write ${NAME} with letters, "
                            "digits and _; $${ is a literal ${)"))
      << ref;
}

TEST(config_errors, bad_enum_values) {
  EXPECT_THAT(errors(minimal_with("  url: http://jira:8080\n", "  url: http://jira:8080\n  flavor: dc\n")),
              ElementsAre("t.yaml:7:11: jira.flavor: unknown value 'dc'; expected datacenter or cloud"));
  EXPECT_THAT(errors(minimal_with("    token: jt\n", "    type: oauth\n    token: jt\n")),
              ElementsAre("t.yaml:8:11: jira.auth.type: unknown value 'oauth'; expected bearer or basic"));
  EXPECT_THAT(errors(minimal + "language: de\n"),
              ElementsAre("t.yaml:24:11: language: unknown value 'de'; expected en or ru"));
}

TEST(config_errors, yaml_syntax_errors_have_a_position) {
  // ${X} unquoted in flow style is not valid YAML; the message still has FILE:LINE:COL.
  EXPECT_THAT(errors(minimal_with("  auth:\n    token: jt\n", "  auth: { token: ${JT} }\n"), {{"JT", "x"}}),
              ElementsAre("t.yaml:7:19: invalid YAML: end of map flow not found"));
  EXPECT_THAT(errors("a: b\n c: d\n"), ElementsAre("t.yaml:2:3: invalid YAML: illegal map value"));
}

TEST(config_errors, unreadable_file) {
  auto result = load_config(DUTYDESK_TEST_DATA "/config/does-not-exist.yaml", map_env({}));
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(format(result.diagnostics[0]),
            DUTYDESK_TEST_DATA "/config/does-not-exist.yaml:1:1: cannot read file: No such file or directory");
  auto dir = load_config(DUTYDESK_TEST_DATA "/config", map_env({}));
  ASSERT_EQ(dir.diagnostics.size(), 1u);
  EXPECT_EQ(format(dir.diagnostics[0]), DUTYDESK_TEST_DATA "/config:1:1: cannot read file: Is a directory");
}

TEST(config_errors, invalid_names_and_codes) {
  EXPECT_THAT(errors(minimal_with("  - id: open\n", "  - id: In Progress\n  - id: open\n")),
              ElementsAre("t.yaml:14:9: statuses[0].id: invalid status id 'In Progress': use lower-case letters, "
                          "digits, '_' and '-', starting with a letter"));
  EXPECT_THAT(errors(minimal_with("  - id: open\n", "  - id: open\n    emoji: new\n")),
              ElementsAre("t.yaml:15:12: statuses[0].emoji: invalid emoji 'new': write an emoji code such as "
                          ":white_check_mark:"));
  EXPECT_THAT(errors(minimal_with("      project: CORE\n", "      project: core\n")),
              ElementsAre("t.yaml:21:16: channels[0].jira.project: invalid Jira project key 'core': use upper-case "
                          "letters, digits and '_', starting with a letter"));
  EXPECT_THAT(errors(minimal_with("  - room: support\n", "  - room: '#support'\n")),
              ElementsAre("t.yaml:18:11: channels[0].room: invalid room name '#support': write the name without '#' or "
                          "spaces"));
  EXPECT_THAT(errors(minimal_with("    team: core\n", "    team: core\n    members: [alice, '', bob]\n")),
              ElementsAre("t.yaml:20:22: channels[0].members[1]: invalid name '': must be non-empty, without spaces"));
  EXPECT_THAT(errors(minimal + "events:\n  nats_url: nats://n:4222\n  subject_prefix: dutydesk.>\n"),
              ElementsAre("t.yaml:26:19: events.subject_prefix: invalid NATS subject prefix 'dutydesk.>': use tokens "
                          "separated by '.', without spaces, '*' or '>'"));
  EXPECT_THAT(errors(minimal + "users:\n  - rocketchat: alice\n    email: alice\n"),
              ElementsAre("t.yaml:26:12: users[0].email: invalid e-mail address 'alice'"));
  EXPECT_THAT(errors(minimal + "users:\n  - rocketchat: alice\n  - rocketchat: '@alice'\n"),
              ElementsAre("t.yaml:26:17: users[1].rocketchat: user '@alice' is listed twice (first at line 25)"));
  EXPECT_THAT(errors(minimal_with("  - id: open\n", "  - id: open\n    label:\n")),
              ElementsAre("t.yaml:15:5: statuses[0].label: missing value"));
}

TEST(config_errors, all_errors_are_collected_in_file_order) {
  auto text = minimal_with("  url: http://rc:3000\n", "  url: ftp://rc\n");
  text = replace(text, "  webhook_secret: ws\n", "");
  text = replace(text, "    team: core\n", "    team: core\n    remind_after: 4x\n");
  text += "languge: en\n";
  EXPECT_THAT(errors(text), ElementsAre("t.yaml:2:8: rocketchat.url: invalid URL 'ftp://rc': scheme must be http or https",
                                        "t.yaml:6:3: missing required key 'webhook_secret' in jira",
                                        "t.yaml:19:19: channels[0].remind_after: invalid duration '4x': unknown unit "
                                        "(use ms, s, m, h or d)",
                                        "t.yaml:24:1: unknown key 'languge'; did you mean 'language'?"));
}

TEST(config_errors, a_dropped_status_causes_no_follow_on_errors) {
  // The only final status has no id: just that is reported, not "at least one final" nor "unknown status id".
  EXPECT_THAT(errors(minimal_with("  - id: done\n", "  - label: Done\n") + "initial_status: done\n"),
              ElementsAre("t.yaml:15:5: missing required key 'id' in statuses[1]"));
  // A duplicate that is the only final one is reported once.
  EXPECT_THAT(errors(minimal_with("  - id: done\n", "  - id: open\n")),
              ElementsAre("t.yaml:15:9: statuses[1].id: status id 'open' is listed twice (first at line 14)"));
  // But a duplicate does not hide an unknown reference: the duplicated id exists anyway.
  EXPECT_THAT(errors(minimal_with("    final: true\n", "    final: true\n  - id: open\n") + "initial_status: opn\n"),
              ElementsAre("t.yaml:17:9: statuses[2].id: status id 'open' is listed twice (first at line 14)",
                          "t.yaml:25:17: initial_status: unknown status id 'opn'; did you mean 'open'?"));
}
