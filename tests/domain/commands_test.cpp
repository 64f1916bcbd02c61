#include "domain/commands.hpp"

#include <gtest/gtest.h>

using namespace dutydesk::domain;

namespace {
template <class T>
command c(T x) {
  return command{std::move(x)};
}
} // namespace

TEST(commands, plain_text_is_not_a_command) {
  EXPECT_FALSE(parse_command("hello, my build is broken"));
  EXPECT_FALSE(parse_command(""));
  EXPECT_FALSE(parse_command("!ddx status done")); // the prefix is a whole word
  EXPECT_FALSE(parse_command("please run !dd help"));
  EXPECT_FALSE(is_command("dd status done"));
  EXPECT_TRUE(is_command("  !DD help"));
}

TEST(commands, status_tolerates_case_and_spaces) {
  EXPECT_EQ(parse_command("!dd status in_progress"), c(status_command{"in_progress"}));
  EXPECT_EQ(parse_command("  !DD   Status\tdone  \n"), c(status_command{"done"}));
  EXPECT_EQ(parse_command("!Dd STATUS Done"), c(status_command{"Done"})); // argument kept as written
}

TEST(commands, move_to_room_or_service) {
  EXPECT_EQ(parse_command("!dd move #triage"), c(move_command{"triage", true}));
  EXPECT_EQ(parse_command("!dd MOVE   billing-api"), c(move_command{"billing-api", false}));
  EXPECT_EQ(parse_command("!dd move #"), c(unknown_command{"!dd move #"}));
}

TEST(commands, assign_strips_the_at) {
  EXPECT_EQ(parse_command("!dd assign @bob"), c(assign_command{"bob"}));
  EXPECT_EQ(parse_command("!dd assign bob"), c(assign_command{"bob"}));
  EXPECT_EQ(parse_command("!dd assign @"), c(unknown_command{"!dd assign @"}));
}

TEST(commands, help_and_rate) {
  EXPECT_EQ(parse_command("!dd help"), c(help_command{}));
  EXPECT_EQ(parse_command("!dd HELP"), c(help_command{}));
  EXPECT_EQ(parse_command("!dd rate R-17 5"), c(rate_command{"R-17", 5}));
  EXPECT_EQ(parse_command("!dd rate R-17 five"), c(unknown_command{"!dd rate R-17 five"}));
  EXPECT_EQ(parse_command("!dd rate R-17"), c(unknown_command{"!dd rate R-17"}));
  EXPECT_EQ(parse_command("!dd rate R-17 101"), c(unknown_command{"!dd rate R-17 101"}));
}

TEST(commands, malformed_or_unknown_commands) {
  EXPECT_EQ(parse_command("!dd"), c(unknown_command{"!dd"}));
  EXPECT_EQ(parse_command(" !dd frobnicate now "), c(unknown_command{"!dd frobnicate now"}));
  EXPECT_EQ(parse_command("!dd status"), c(unknown_command{"!dd status"}));
  EXPECT_EQ(parse_command("!dd status done now"), c(unknown_command{"!dd status done now"}));
  EXPECT_EQ(parse_command("!dd help me"), c(unknown_command{"!dd help me"}));
}
