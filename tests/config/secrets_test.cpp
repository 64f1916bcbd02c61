// No secret value ever appears in an error or in the summary. Secrets here are distinctive strings; every kind of
// error is triggered on them (or next to them), and every output is searched for them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "config/commands.hpp"
#include "config/load.hpp"
#include "support.hpp"

using namespace dutydesk::config;
using namespace dutydesk::config::test;
using testing::IsEmpty;
using testing::Not;

namespace {

// Literal values of secret keys and URL passwords.
const std::vector<std::string> literal_secrets{
  "LITRCTOKEN7731", "LITRCPASSWORD1193", "LITJIRATOKEN2288", "LITWEBHOOK4471", "LITONCALL5510",
  "LITPGPW9034",    "LITNATSPW6620",     "LITNATSTOKEN3301", "LITRCURLPW0042",
};

// Values of environment variables: every one is a secret, whatever key it lands in.
const std::map<std::string, std::string> env{
  {"RC_URL", "ftp://envrcurlsecret1"},
  {"JIRA_URL", "envjiraurlsecret2"},
  {"ONCALL_URL", "http://envoncallurlsecret3:99999"},
  {"REMIND", "envdurationsecret4"},
  {"FLAVOR", "envflavorsecret5"},
  {"AUTH_TYPE", "envauthtypesecret6"},
  {"LANGUAGE", "envlanguagesecret7"},
  {"LISTEN", "envlistensecret8"},
  {"STATUS_ID", "envstatussecret9"},
  {"BAD_STATUS_ID", "Env Status Secret 10"},
  {"ROOM", "envroomsecret11"},
  {"TEAM", "envteamsecret12"},
  {"SERVICE", "envservicesecret13"},
  {"INITIAL", "envinitialsecret14"},
  {"FINAL", "envboolsecret15"},
  {"EMOJI", "envemojisecret16"},
  {"PROJECT", "envprojectsecret17"},
  {"EMAIL", "envemailsecret18"},
  {"PREFIX", "env.prefix.secret19.>"},
  {"DEFAULT_STATUS", "done"},
  {"NATS_URL", "nats://envnatsuser:envnatspw20@nats:4222"},
  {"GOOD_URL", "http://envgoodurlsecret21:3000"},
  {"EMPTY", ""},
};

std::vector<std::string> all_secrets() {
  auto xs = literal_secrets;
  for (const auto& [name, value] : env)
    if (!value.empty() && value != "done") // "done" is a plain word that also appears as a status id
      xs.push_back(value);
  xs.push_back("envnatspw20");
  return xs;
}

/// Every line check-config prints for `text`, plus the formatted diagnostics.
std::string outputs(const std::string& text) {
  auto result = load_config_text(text, "t.yaml", map_env(env));
  std::string out;
  for (const auto& d : result.diagnostics)
    out += format(d) + "\n";
  if (result.ok())
    out += redacted_summary(*result.value) + "\n";
  return out;
}

void expect_no_secret(const std::string& output, const std::string& context) {
  for (const auto& secret : all_secrets())
    EXPECT_EQ(output.find(secret), std::string::npos) << context << " leaks '" << secret << "' in:\n" << output;
}

// The minimal config with literal secrets everywhere a secret can be.
std::string with_literal_secrets() {
  auto text = minimal_with("  auth_token: tok\n", "  auth_token: LITRCTOKEN7731\n");
  text = replace(text, "    token: jt\n", "    token: LITJIRATOKEN2288\n");
  text = replace(text, "  webhook_secret: ws\n", "  webhook_secret: LITWEBHOOK4471\n");
  text = replace(text, "  token: ot\n", "  token: LITONCALL5510\n");
  return text + "storage:\n  url: postgresql://dd:LITPGPW9034@db:5432/dutydesk\n"
                "events:\n  nats_url: nats://user:LITNATSPW6620@nats:4222\n";
}

} // namespace

TEST(secrets, the_fixture_really_contains_the_secrets) {
  // Guards the other tests: a loaded config holds the values, so their absence from outputs means redaction.
  auto c = load_ok(with_literal_secrets());
  EXPECT_EQ(c.rocketchat.auth_token, "LITRCTOKEN7731");
  EXPECT_EQ(c.jira.auth.token, "LITJIRATOKEN2288");
  EXPECT_EQ(c.jira.webhook_secret, "LITWEBHOOK4471");
  EXPECT_EQ(c.oncall.token, "LITONCALL5510");
  EXPECT_EQ(c.storage.conninfo, "postgresql://dd:LITPGPW9034@db:5432/dutydesk");
  EXPECT_EQ(c.events->nats_url, "nats://user:LITNATSPW6620@nats:4222");
  // And the search finds a secret when it is there.
  EXPECT_THAT(all_secrets(), testing::Contains("LITPGPW9034"));
  EXPECT_NE(c.storage.conninfo.find("LITPGPW9034"), std::string::npos);
}

TEST(secrets, summary_of_a_valid_config_shows_no_secret) {
  auto text = with_literal_secrets();
  auto summary = redacted_summary(load_ok(text));
  expect_no_secret(summary, "summary");
  EXPECT_THAT(summary, testing::HasSubstr("storage: postgresql://dd:***@db:5432/dutydesk"));
  EXPECT_THAT(summary, testing::HasSubstr("events: nats://user:***@nats:4222 (prefix dutydesk, stream DUTYDESK_EVENTS, 0 webhooks)"));

  // Values from ${ENV} are shown as ***.
  auto from_env = replace(text, "  url: http://rc:3000\n", "  url: ${GOOD_URL}\n");
  from_env = replace(from_env, "  - room: support\n", "  - room: ${ROOM}\n");
  from_env = replace(from_env, "  - id: open\n", "  - id: ${STATUS_ID}\n");
  from_env = replace(from_env, "  nats_url: nats://user:LITNATSPW6620@nats:4222\n", "  nats_url: ${NATS_URL}\n");
  auto env_summary = redacted_summary(load_ok(from_env, env));
  expect_no_secret(env_summary, "summary with env values");
  EXPECT_THAT(env_summary, testing::HasSubstr("statuses: ***, done (final); initial: ***; channels: *** (team core"));
  EXPECT_THAT(env_summary, testing::HasSubstr("rocketchat: *** (token auth)"));
  EXPECT_THAT(env_summary, testing::HasSubstr("events: *** (prefix dutydesk, stream DUTYDESK_EVENTS, 0 webhooks)"));
}

TEST(secrets, password_auth_summary) {
  auto text = minimal_with("  user_id: bot\n  auth_token: tok\n", "  username: bot\n  password: LITRCPASSWORD1193\n");
  auto summary = redacted_summary(load_ok(text));
  expect_no_secret(summary, "password summary");
  EXPECT_THAT(summary, testing::HasSubstr("rocketchat: http://rc:3000 (password auth)"));
}

TEST(secrets, no_error_quotes_a_secret) {
  const auto base = with_literal_secrets();
  // Each case: an edit of `base` that makes one kind of error involve a secret value.
  const std::vector<std::pair<std::string, std::string>> cases{
    // env-expanded bad URL, bad duration, bad enums, bad listen address
    {"  url: http://rc:3000\n", "  url: ${RC_URL}\n"},
    {"  url: http://jira:8080\n", "  url: ${JIRA_URL}\n  flavor: ${FLAVOR}\n"},
    {"  url: http://oncall:8081\n", "  url: ${ONCALL_URL}\n"},
    {"    token: LITJIRATOKEN2288\n", "    type: ${AUTH_TYPE}\n    token: LITJIRATOKEN2288\n"},
    {"      schedule_id: S1\n", "      schedule_id: S1\n    remind_after: ${REMIND}\n"},
    // env-expanded bad values of other kinds
    {"  - id: open\n", "  - id: open\n    emoji: ${EMOJI}\n"},
    {"  - id: open\n", "  - id: '${BAD_STATUS_ID}'\n  - id: open\n"},
    {"    final: true\n", "    final: ${FINAL}\n"},
    {"      project: CORE\n", "      project: ${PROJECT}\n"},
    {"    team: core\n", "    team: core\n    default_status: ${INITIAL}\n"},
    {"    team: core\n", "    team: core\n    default_status: ${DEFAULT_STATUS}\n"},
    // env-expanded duplicates: status id, room, team, service; and a reference listing env ids
    {"  - id: open\n", "  - id: ${STATUS_ID}\n  - id: ${STATUS_ID}\n  - id: open\n"},
    // literal secrets in wrong places: wrong type, unknown key, duplicate key, malformed reference, empty env
    {"  auth_token: LITRCTOKEN7731\n", "  auth_token: [LITRCTOKEN7731]\n"},
    {"  auth_token: LITRCTOKEN7731\n", "  auth_token: {LITRCTOKEN7731: 1}\n"},
    {"  auth_token: LITRCTOKEN7731\n", "  auth_tokn: LITRCTOKEN7731\n  auth_token: LITRCTOKEN7731\n"},
    {"  auth_token: LITRCTOKEN7731\n", "  auth_token: LITRCTOKEN7731\n  auth_token: LITRCTOKEN7731\n"},
    {"  auth_token: LITRCTOKEN7731\n", "  auth_token: 'LITRCTOKEN7731${oops'\n"},
    {"  webhook_secret: LITWEBHOOK4471\n", "  webhook_secret: LITWEBHOOK4471${UNSET_VAR}\n"},
    {"  token: LITONCALL5510\n", "  token: ${EMPTY}\n"},
    // URLs with passwords that are invalid for other reasons
    {"  url: http://rc:3000\n", "  url: http://bot:LITRCURLPW0042@rc:3000\n"},
    {"  url: postgresql://dd:LITPGPW9034@db:5432/dutydesk\n", "  url: mysql://dd:LITPGPW9034@db/x\n"},
    {"  url: postgresql://dd:LITPGPW9034@db:5432/dutydesk\n", "  url: postgresql://dd:LITPGPW9034@db:99999/x\n"},
    {"  url: postgresql://dd:LITPGPW9034@db:5432/dutydesk\n", "  url: 'postgresql://dd:LITPGPW9034 x@db/x'\n"},
    {"  url: postgresql://dd:LITPGPW9034@db:5432/dutydesk\n", "  url: dd:LITPGPW9034@db\n"},
    {"  nats_url: nats://user:LITNATSPW6620@nats:4222\n", "  nats_url: http://user:LITNATSPW6620@nats:4222\n"},
    {"  nats_url: nats://user:LITNATSPW6620@nats:4222\n", "  nats_url: http://LITNATSTOKEN3301@nats:4222\n"},
    {"  nats_url: nats://user:LITNATSPW6620@nats:4222\n",
     "  nats_url: ${NATS_URL}\n  subject_prefix: ${PREFIX}\n"},
    // a YAML syntax error on a secret's line
    {"  auth_token: LITRCTOKEN7731\n", "  auth_token: LITRCTOKEN7731: x\n"},
    {"  auth_token: LITRCTOKEN7731\n", "  auth_token: { LITRCTOKEN7731\n"},
  };
  for (const auto& [from, to] : cases) {
    auto out = outputs(replace(base, from, to));
    EXPECT_THAT(out, Not(IsEmpty()));
    EXPECT_NE(out.find("t.yaml:"), std::string::npos) << to << " gave no error:\n" << out;
    expect_no_secret(out, to);
  }

  // Env-expanded duplicates of rooms, teams and services across channels, and env-expanded top-level values.
  auto channels = replace(minimal, "  - room: support\n    team: core\n",
                          "  - room: ${ROOM}\n    team: ${TEAM}\n    services: [ci, '${SERVICE}']\n");
  channels += "  - room: ${ROOM}\n    team: ${TEAM}\n    services: ['${SERVICE}']\n    jira: {project: OTHER}\n"
              "    oncall: {schedule_id: S2}\n"
              "  - room: third\n    team: ${TEAM}\n    services: ['${SERVICE}']\n    jira: {project: THIRD}\n"
              "    oncall: {schedule_id: S3}\n"
              "initial_status: ${INITIAL}\nlanguage: ${LANGUAGE}\nhttp:\n  listen: ${LISTEN}\n"
              "users:\n  - rocketchat: a\n    email: ${EMAIL}\n";
  auto out = outputs(channels);
  expect_no_secret(out, "channels with env values");
  EXPECT_THAT(out, testing::HasSubstr("channels[2].team: team (from ${TEAM}) already owns channels[0]"));
  EXPECT_THAT(out, testing::HasSubstr("initial_status: unknown status id (from ${INITIAL}); expected one of: open, done"));
  EXPECT_THAT(out, testing::HasSubstr("channels[1].room: room (from ${ROOM}) is listed twice (first at line 18)"));
  EXPECT_THAT(out, testing::HasSubstr("channels[1].services[0]: service (from ${SERVICE}) is already routed to "
                                      "channels[0] (line 20)"));

  // Status ids from ${ENV} are neither suggested nor listed in "expected one of".
  auto ids = minimal_with("  - id: open\n", "  - id: ${STATUS_ID}\n  - id: open\n") + "initial_status: envstatussecret\n";
  auto ids_out = outputs(ids);
  expect_no_secret(ids_out, "reference to env status ids");
  EXPECT_THAT(ids_out, testing::HasSubstr("t.yaml:25:17: initial_status: unknown status id 'envstatussecret'; "
                                          "expected one of: ***, open, done"));
}

TEST(secrets, check_config_output_has_no_secret) {
  std::ostringstream out, err;
  EXPECT_EQ(check_config(DUTYDESK_TEST_DATA "/config/secrets.yaml", map_env(env), out, err), 0) << err.str();
  expect_no_secret(out.str() + err.str(), "check-config");
  EXPECT_THAT(out.str(), testing::HasSubstr("secrets.yaml: ok\n"));
  std::ostringstream out2, err2;
  EXPECT_EQ(check_config(DUTYDESK_TEST_DATA "/config/secrets-bad.yaml", map_env(env), out2, err2), 1);
  EXPECT_EQ(out2.str(), "");
  EXPECT_THAT(err2.str(), Not(IsEmpty()));
  expect_no_secret(out2.str() + err2.str(), "check-config on a bad file");
}
