#pragma once
// Helpers for the config tests: a minimal valid config with fixed line numbers, and edits of it.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/load.hpp"

namespace dutydesk::config::test {

// Line numbers matter: error tests assert exact positions.
//  1 rocketchat:            9   webhook_secret: ws      17 channels:
//  2   url: http://rc:3000  10 oncall:                  18   - room: support
//  3   user_id: bot         11   url: http://oncall:8081 19    team: core
//  4   auth_token: tok      12   token: ot              20     jira:
//  5 jira:                  13 statuses:                21       project: CORE
//  6   url: http://jira:8080 14   - id: open            22     oncall:
//  7   auth:                15   - id: done             23       schedule_id: S1
//  8     token: jt          16     final: true
inline const std::string minimal = R"(rocketchat:
  url: http://rc:3000
  user_id: bot
  auth_token: tok
jira:
  url: http://jira:8080
  auth:
    token: jt
  webhook_secret: ws
oncall:
  url: http://oncall:8081
  token: ot
statuses:
  - id: open
  - id: done
    final: true
channels:
  - room: support
    team: core
    jira:
      project: CORE
    oncall:
      schedule_id: S1
)";

/// `text` with the first occurrence of `from` replaced by `to`; fails the test when `from` is absent.
inline std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "not in the config: " << from;
  if (pos != std::string::npos)
    text.replace(pos, from.size(), to);
  return text;
}

/// The minimal config with `from` replaced by `to`.
inline std::string minimal_with(const std::string& from, const std::string& to) { return replace(minimal, from, to); }

/// Loads `text` as "t.yaml" and returns the formatted diagnostics.
inline std::vector<std::string> errors(const std::string& text, std::map<std::string, std::string> env = {}) {
  auto result = load_config_text(text, "t.yaml", map_env(std::move(env)));
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics)
    out.push_back(format(d));
  EXPECT_EQ(result.ok(), out.empty());
  return out;
}

/// Loads `text`, failing the test on any diagnostic.
inline config load_ok(const std::string& text, std::map<std::string, std::string> env = {}) {
  auto result = load_config_text(text, "t.yaml", map_env(std::move(env)));
  for (const auto& d : result.diagnostics)
    ADD_FAILURE() << format(d);
  return result.ok() ? *result.value : config{};
}

} // namespace dutydesk::config::test
