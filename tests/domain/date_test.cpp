#include "domain/date.hpp"

#include <gtest/gtest.h>

using namespace std::chrono;
using dutydesk::domain::parse_date;
using dutydesk::domain::to_string;

TEST(date, parses_iso_dates) {
  auto d = parse_date("2024-02-29");
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(*d, year{2024} / February / 29);
  EXPECT_EQ(to_string(*d), "2024-02-29");
  EXPECT_EQ(to_string(*parse_date("0999-01-01")), "0999-01-01");
}

TEST(date, rejects_other_forms_and_impossible_days) {
  for (auto text : {"", "2024-2-29", "2024/02/29", "24-02-29", "2024-02-29T00:00", "2024-0a-01", " 2024-02-29"}) {
    auto d = parse_date(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.error(), "expected a date as YYYY-MM-DD") << text;
  }
  for (auto text : {"2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-01-00"}) {
    auto d = parse_date(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.error(), "no such day in the calendar") << text;
  }
}
