#include "domain/duty_rules.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace dutydesk::domain;

namespace {

const std::vector<duty_override> overrides{{"alice", "U1", ""}, {"bob", "", "Bob@Example.com"}};
const std::vector<chat_user> directory{{"carl", "carl@example.com"}, {"dora", "dora@example.com"}};
const std::vector<std::string> fallback{"lead", "backup"};

duty_resolution resolve(oncall_result r) {
  return resolve_on_duty(r, overrides, directory, fallback);
}

} // namespace

TEST(duty_rules, maps_by_override_id_override_email_username_and_email) {
  auto r = resolve(oncall_result{false,
                                 "",
                                 {{"U1", "a.smith", "a@example.com"},
                                  {"U2", "bobby", "bob@example.com"},
                                  {"U3", "carl", ""},
                                  {"U4", "d", "DORA@example.com"}}});
  EXPECT_EQ(r.source, duty_source::ok);
  EXPECT_EQ(r.users, (std::vector<std::string>{"alice", "bob", "carl", "dora"}));
  EXPECT_FALSE(r.fallback_used);
  EXPECT_EQ(r.reason, "");
}

TEST(duty_rules, override_wins_over_directory) {
  auto r = resolve(oncall_result{false, "", {{"U1", "carl", "carl@example.com"}}});
  EXPECT_EQ(r.users, (std::vector<std::string>{"alice"}));
}

TEST(duty_rules, duplicates_are_tagged_once) {
  auto r = resolve(oncall_result{false, "", {{"U1", "", ""}, {"U9", "", "bob@example.com"}, {"U1", "", ""}}});
  EXPECT_EQ(r.users, (std::vector<std::string>{"alice", "bob"}));
}

TEST(duty_rules, empty_rota_tags_fallback) {
  auto r = resolve(oncall_result{});
  EXPECT_EQ(r.source, duty_source::empty);
  EXPECT_EQ(r.users, fallback);
  EXPECT_TRUE(r.fallback_used);
  EXPECT_EQ(r.reason, "nobody on call");
}

TEST(duty_rules, oncall_error_tags_fallback_with_reason) {
  auto r = resolve(oncall_result{true, "HTTP 503", {}});
  EXPECT_EQ(r.source, duty_source::error);
  EXPECT_EQ(r.users, fallback);
  EXPECT_EQ(r.reason, "OnCall error: HTTP 503");
}

TEST(duty_rules, unmapped_user_tags_mapped_ones_and_fallback) {
  auto r = resolve(oncall_result{false, "", {{"U1", "", ""}, {"U7", "zed", "zed@example.com"}}});
  EXPECT_EQ(r.source, duty_source::unmapped);
  EXPECT_EQ(r.users, (std::vector<std::string>{"alice", "lead", "backup"}));
  EXPECT_TRUE(r.fallback_used);
  EXPECT_EQ(r.reason, "no Rocket.Chat user for OnCall user zed");
}

TEST(duty_rules, fallback_that_is_on_duty_is_not_repeated) {
  std::vector<std::string> fb{"alice", "lead"};
  auto r = resolve_on_duty(oncall_result{false, "", {{"U1", "", ""}, {"U8", "ghost", ""}}}, overrides, directory, fb);
  EXPECT_EQ(r.users, (std::vector<std::string>{"alice", "lead"}));
}

TEST(duty_rules, source_names) {
  EXPECT_EQ(to_string(duty_source::ok), "ok");
  EXPECT_EQ(to_string(duty_source::empty), "empty");
  EXPECT_EQ(to_string(duty_source::unmapped), "unmapped");
  EXPECT_EQ(to_string(duty_source::error), "error");
}

namespace {
const request_roles roles{"carol", {"alice"}, {"mia"}, "dutydesk"};
}

TEST(duty_rules, who_may_set_a_status) {
  EXPECT_EQ(may_set_status(roles, "alice", false), status_permission::allowed);
  EXPECT_EQ(may_set_status(roles, "mia", false), status_permission::allowed);
  EXPECT_EQ(may_set_status(roles, "carol", true), status_permission::allowed);
  EXPECT_EQ(may_set_status(roles, "carol", false), status_permission::requester_not_final);
  EXPECT_EQ(may_set_status(roles, "eve", true), status_permission::refused);
  EXPECT_EQ(may_set_status(roles, "dutydesk", true), status_permission::refused);
  EXPECT_EQ(may_set_status(roles, "", true), status_permission::refused);
}

TEST(duty_rules, a_requester_who_is_staff_may_set_any_status) {
  request_roles r = roles;
  r.requester = "mia";
  EXPECT_EQ(may_set_status(r, "mia", false), status_permission::allowed);
}

TEST(duty_rules, move_assign_react_activity) {
  EXPECT_TRUE(may_move(roles, "alice"));
  EXPECT_TRUE(may_move(roles, "mia"));
  EXPECT_TRUE(may_move(roles, "carol"));
  EXPECT_FALSE(may_move(roles, "eve"));
  EXPECT_TRUE(may_assign(roles, "alice"));
  EXPECT_TRUE(may_assign(roles, "mia"));
  EXPECT_FALSE(may_assign(roles, "carol"));
  EXPECT_TRUE(may_react(roles, "mia"));
  EXPECT_FALSE(may_react(roles, "carol"));
  EXPECT_FALSE(may_react(roles, "dutydesk"));
  EXPECT_TRUE(counts_as_activity(roles, "alice"));
  EXPECT_FALSE(counts_as_activity(roles, "carol"));
  EXPECT_FALSE(counts_as_activity(roles, "eve"));
}
