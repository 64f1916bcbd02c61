#include "domain/duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using dutydesk::domain::format_duration;
using dutydesk::domain::parse_duration;

namespace {

std::chrono::milliseconds ok(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << (d.ok() ? "" : d.error());
  return d.ok() ? *d : std::chrono::milliseconds{-1};
}

std::string error(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_FALSE(d.ok()) << text << " parsed as " << (d.ok() ? d->count() : 0) << "ms";
  return d.ok() ? "" : d.error();
}

} // namespace

TEST(duration, single_units) {
  EXPECT_EQ(ok("500ms"), 500ms);
  EXPECT_EQ(ok("30s"), 30s);
  EXPECT_EQ(ok("15m"), 15min);
  EXPECT_EQ(ok("4h"), 4h);
  EXPECT_EQ(ok("2d"), 48h);
  EXPECT_EQ(ok("0s"), 0ms);
  EXPECT_EQ(ok("007s"), 7s);
}

TEST(duration, combinations_with_decreasing_units) {
  EXPECT_EQ(ok("1h30m"), 90min);
  EXPECT_EQ(ok("2d12h"), 60h);
  EXPECT_EQ(ok("1m30s"), 90s);
  EXPECT_EQ(ok("1s500ms"), 1500ms);
  EXPECT_EQ(ok("1d2h3m4s5ms"), 24h + 2h + 3min + 4s + 5ms);
}

TEST(duration, rejects_garbage_with_a_reason) {
  EXPECT_EQ(error(""), "empty duration (write e.g. 500ms, 30s, 4h, 2d)");
  EXPECT_EQ(error("-1s"), "negative durations are not allowed");
  EXPECT_EQ(error("+1s"), "expected a number followed by a unit (ms, s, m, h or d)");
  EXPECT_EQ(error("h"), "expected a number followed by a unit (ms, s, m, h or d)");
  EXPECT_EQ(error("1.5h"), "fractions are not allowed (write 1h30m, not 1.5h)");
  EXPECT_EQ(error("1,5h"), "fractions are not allowed (write 1h30m, not 1.5h)");
  EXPECT_EQ(error("30"), "missing unit (use ms, s, m, h or d)");
  EXPECT_EQ(error("4x"), "unknown unit (use ms, s, m, h or d)");
  EXPECT_EQ(error("4H"), "unknown unit (use ms, s, m, h or d)");
  EXPECT_EQ(error("1w"), "unknown unit (use ms, s, m, h or d)");
  EXPECT_EQ(error("4 h"), "unexpected character (write e.g. 500ms, 30s, 4h, 2d, 1h30m)");
  EXPECT_EQ(error(" 4h"), "expected a number followed by a unit (ms, s, m, h or d)");
  EXPECT_EQ(error("4h "), "expected a number followed by a unit (ms, s, m, h or d)");
  EXPECT_EQ(error("30m1h"), "units must go from larger to smaller, each at most once (e.g. 1h30m)");
  EXPECT_EQ(error("1h1h"), "units must go from larger to smaller, each at most once (e.g. 1h30m)");
  EXPECT_EQ(error("1h30"), "missing unit (use ms, s, m, h or d)");
}

TEST(duration, rejects_overflow) {
  // int64 milliseconds hold 9223372036854775807ms = 106751991167d7h12m55s807ms.
  EXPECT_EQ(ok("106751991167d"), std::chrono::hours{24} * 106751991167);
  EXPECT_EQ(ok("106751991167d7h12m55s807ms"), std::chrono::milliseconds::max());
  EXPECT_EQ(error("106751991167d7h12m55s808ms"), "duration is too large");
  EXPECT_EQ(error("106751991168d"), "duration is too large");
  EXPECT_EQ(error("9223372036854775807d"), "duration is too large");
  EXPECT_EQ(error("99999999999999999999999ms"), "duration is too large");
  EXPECT_EQ(ok("9223372036854775807ms"), std::chrono::milliseconds{9223372036854775807});
}

TEST(duration, format_is_canonical_and_round_trips) {
  EXPECT_EQ(format_duration(4h), "4h");
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(0ms), "0ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds::max()), "106751991167d7h12m55s807ms");
  EXPECT_EQ(format_duration(-90s), "-1m30s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds::min()), "-106751991167d7h12m55s808ms");
  for (auto text : {"500ms", "30s", "4h", "2d", "1d2h3m4s5ms", "9223372036854775807ms"})
    EXPECT_EQ(ok(format_duration(ok(text))), ok(text)) << text;
}
