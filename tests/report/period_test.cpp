// Parsing --since/--until/--days into a period, and RFC 3339 output.

#include <gtest/gtest.h>

#include "report/period.hpp"
#include "tests/report/fixture.hpp"

namespace dutydesk::report {
namespace {

using test::since;
using test::until;

TEST(report_period, parses_days_and_utc_times) {
  EXPECT_EQ(*parse_instant("2026-11-01"), since);
  EXPECT_EQ(*parse_instant("2026-11-01T00:00:00Z"), since);
  EXPECT_EQ(*parse_instant("2026-11-30T23:59:59Z"), until - 1000);
  EXPECT_EQ(*parse_instant("1970-01-01"), 0);
  EXPECT_EQ(*parse_instant("1969-12-31T23:59:59Z"), -1000);
}

TEST(report_period, refuses_other_texts) {
  const std::string expected = "expected a date as YYYY-MM-DD or a UTC time as YYYY-MM-DDTHH:MM:SSZ";
  for (const char* text : {"", "2026-11-1", "yesterday", "2026-11-01T00:00:00", "2026-11-01T00:00:00+01:00",
                           "2026-11-01 00:00:00Z", "2026-11-01T0a:00:00Z", "2026/11/01"})
    EXPECT_EQ(parse_instant(text).error(), expected) << text;
  EXPECT_EQ(parse_instant("2026-02-29").error(), "no such day in the calendar");
  EXPECT_EQ(parse_instant("2026-11-01T24:00:00Z").error(), "no such time of day");
  EXPECT_EQ(parse_instant("2026-11-01T12:60:00Z").error(), "no such time of day");
}

TEST(report_period, resolves_since_until_and_days) {
  const millis now = until + 12'345;
  EXPECT_EQ(*resolve_period({"2026-11-01", "2026-12-01", std::nullopt}, now), (period{since, until}));
  EXPECT_EQ(*resolve_period({"", "2026-12-01", std::nullopt}, now), (period{until - 30 * 86'400'000LL, until}));
  EXPECT_EQ(*resolve_period({"", "2026-12-01", 30}, now), (period{since, until}));
  EXPECT_EQ(*resolve_period({"", "", std::nullopt}, now), (period{now - 30 * 86'400'000LL, now}));
  EXPECT_EQ(*resolve_period({"", "", 1}, now), (period{now - 86'400'000LL, now}));
  EXPECT_EQ(*resolve_period({"2026-11-01", "", std::nullopt}, now), (period{since, now}));
}

TEST(report_period, names_the_bad_option) {
  const millis now = until;
  EXPECT_EQ(resolve_period({"2026-11-1", "", std::nullopt}, now).error(),
            "--since: expected a date as YYYY-MM-DD or a UTC time as YYYY-MM-DDTHH:MM:SSZ");
  EXPECT_EQ(resolve_period({"", "2023-02-29", std::nullopt}, now).error(), "--until: no such day in the calendar");
  EXPECT_EQ(resolve_period({"2026-12-01", "2026-11-01", std::nullopt}, now).error(),
            "--since 2026-12-01 is not before --until 2026-11-01");
  EXPECT_EQ(resolve_period({"2026-11-01", "2026-11-01T00:00:00Z", std::nullopt}, now).error(),
            "--since 2026-11-01 is not before --until 2026-11-01T00:00:00Z");
  EXPECT_EQ(resolve_period({"2026-12-02", "", std::nullopt}, now).error(),
            "--since 2026-12-02 is not before --until 2026-12-01T00:00:00Z");
  EXPECT_EQ(resolve_period({"", "", 0}, now).error(), "--days: expected a whole number of days from 1 to 36500");
  EXPECT_EQ(resolve_period({"", "", 36'501}, now).error(), "--days: expected a whole number of days from 1 to 36500");
  EXPECT_EQ(resolve_period({"2026-11-01", "", 7}, now).error(),
            "--days: not together with --since (the period is [since, until))");
}

TEST(report_period, prints_rfc3339_utc) {
  EXPECT_EQ(rfc3339(since), "2026-11-01T00:00:00Z");
  EXPECT_EQ(rfc3339(until - 1), "2026-11-30T23:59:59.999Z");
  EXPECT_EQ(rfc3339(test::nov(2, 10, 5, 9)), "2026-11-02T10:05:09Z");
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

} // namespace
} // namespace dutydesk::report
