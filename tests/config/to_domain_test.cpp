// config → domain parameters for the request lifecycle and the message filter.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "config/to_domain.hpp"
#include "support.hpp"

namespace dutydesk::config {
namespace {

using namespace std::chrono_literals;

std::string example_text() {
  std::ifstream in(std::string{DUTYDESK_SOURCE_DIR} + "/config/dutydesk.example.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

config example() {
  return test::load_ok(example_text(), {{"RC_USER_ID", "u"}, {"RC_TOKEN", "t"}, {"JIRA_TOKEN", "j"},
                                        {"JIRA_WEBHOOK_SECRET", "w"}, {"ONCALL_TOKEN", "o"}});
}

TEST(ToDomain, LifecycleTakesStatusesInOrderAndTheChannelsSettings) {
  auto cfg = example();
  ASSERT_EQ(cfg.channels.size(), 1u);
  auto p = lifecycle_for(cfg, cfg.channels[0], "dutydesk");
  ASSERT_EQ(p.statuses.size(), 4u);
  EXPECT_EQ(p.statuses[0].id, "open");
  EXPECT_EQ(p.statuses[0].label, "Open");
  EXPECT_EQ(p.statuses[0].emoji, ":new:");
  EXPECT_FALSE(p.statuses[0].final);
  EXPECT_EQ(p.statuses[3].id, "done");
  EXPECT_TRUE(p.statuses[3].final);
  EXPECT_EQ(p.initial_status, "open");
  EXPECT_EQ(p.members, (std::vector<std::string>{"alice", "dave"}));
  EXPECT_EQ(p.fallback, (std::vector<std::string>{"dave"}));
  EXPECT_EQ(p.remind_after, 4h);
  EXPECT_EQ(p.bot_user, "dutydesk");
  EXPECT_EQ(p.lang, domain::language::en);
  ASSERT_EQ(p.channels.size(), 1u);
  EXPECT_EQ(p.channels[0].room, "cicd-support");
  EXPECT_EQ(p.channels[0].services, (std::vector<std::string>{"pipeline", "ci"}));
}

TEST(ToDomain, ChannelDefaultStatusAndLanguageApply) {
  auto text = test::replace(example_text(), "    remind_after: 4h ", "    default_status: waiting\n    remind_after: 30m ");
  text = test::replace(text, "# language: en", "language: ru");
  auto cfg = test::load_ok(text, {{"RC_USER_ID", "u"}, {"RC_TOKEN", "t"}, {"JIRA_TOKEN", "j"},
                                  {"JIRA_WEBHOOK_SECRET", "w"}, {"ONCALL_TOKEN", "o"}});
  auto p = lifecycle_for(cfg, cfg.channels.at(0), "bot");
  EXPECT_EQ(p.initial_status, "waiting");
  EXPECT_EQ(p.remind_after, 30min);
  EXPECT_EQ(p.lang, domain::language::ru);
}

TEST(ToDomain, FilterListsEveryChannelWithItsMembers) {
  auto cfg = example();
  auto f = filter_for(cfg, "dutydesk");
  EXPECT_EQ(f.bot_user, "dutydesk");
  ASSERT_EQ(f.channels.size(), 1u);
  EXPECT_EQ(f.channels[0].room, "cicd-support");
  EXPECT_EQ(f.channels[0].members, (std::vector<std::string>{"alice", "dave"}));
  EXPECT_TRUE(f.channels[0].members_open_requests);
}

TEST(ToDomain, MemberRequestsCanBeTurnedOff) {
  auto text = test::replace(example_text(), "    remind_after: 4h ", "    member_requests: false\n    remind_after: 4h ");
  auto cfg = test::load_ok(text, {{"RC_USER_ID", "u"}, {"RC_TOKEN", "t"}, {"JIRA_TOKEN", "j"},
                                  {"JIRA_WEBHOOK_SECRET", "w"}, {"ONCALL_TOKEN", "o"}});
  EXPECT_FALSE(filter_for(cfg, "bot").channels.at(0).members_open_requests);
}

TEST(ToDomain, OverridesCarryOncallIdAndEmail) {
  auto cfg = example();
  auto xs = duty_overrides(cfg);
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].rocketchat, "alice");
  EXPECT_EQ(xs[0].oncall_id, "U4DNY931HHJS5");
  EXPECT_EQ(xs[0].email, "");
}

} // namespace
} // namespace dutydesk::config
