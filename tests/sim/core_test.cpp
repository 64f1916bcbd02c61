#include "sim/core.hpp"

#include <gtest/gtest.h>

using namespace dutydesk::sim;

TEST(sim_time, formats_rocketchat_and_jira_instants) {
  EXPECT_EQ(iso8601_utc(1732630000123), "2024-11-26T14:06:40.123Z");
  EXPECT_EQ(jira_time(1559607317234), "2019-06-04T00:15:17.234+0000");
}

TEST(sim_time, parses_offsets_fractions_and_dates) {
  EXPECT_EQ(parse_iso8601("2024-11-26T14:06:40.123Z"), 1732630000123);
  EXPECT_EQ(parse_iso8601("2019-01-07T16:55:51.184-0330"), parse_iso8601("2019-01-07T20:25:51.184Z"));
  EXPECT_EQ(parse_iso8601("2019-01-07T16:55:51+01:00"), parse_iso8601("2019-01-07T15:55:51Z"));
  EXPECT_EQ(parse_iso8601("1970-01-02"), 86400000);
  EXPECT_FALSE(parse_iso8601("yesterday"));
  EXPECT_FALSE(parse_iso8601("2024-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2024-11-26T14:06:40.123Zjunk"));
}

TEST(sim_ids, meteor_ids_use_the_unambiguous_alphabet_and_are_seeded) {
  id_source a{1}, b{1}, c{2};
  auto x = a.meteor_id();
  EXPECT_EQ(x.size(), 17u);
  EXPECT_EQ(x.find_first_not_of("23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"), std::string::npos);
  EXPECT_EQ(x, b.meteor_id());
  EXPECT_NE(x, c.meteor_id());
  auto u = a.uuid();
  EXPECT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
}
