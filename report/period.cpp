#include "report/period.hpp"

#include <chrono>

#include <fmt/format.h>

#include "domain/date.hpp"

namespace dutydesk::report {

namespace {

constexpr millis ms_per_day = 86'400'000;
constexpr int max_days = 36'500;

millis day_start(const std::chrono::year_month_day& d) {
  return std::chrono::sys_days{d}.time_since_epoch().count() * ms_per_day;
}

// The value of the two digits at text[at], or -1 when they are not digits.
int two_digits(std::string_view text, std::size_t at) {
  char a = text[at];
  char b = text[at + 1];
  if (a < '0' || a > '9' || b < '0' || b > '9')
    return -1;
  return (a - '0') * 10 + (b - '0');
}

} // namespace

domain::parsed<millis> parse_instant(std::string_view text) {
  constexpr const char* expected = "expected a date as YYYY-MM-DD or a UTC time as YYYY-MM-DDTHH:MM:SSZ";
  if (text.size() != 10 && text.size() != 20)
    return domain::parse_error{expected};
  auto date = domain::parse_date(text.substr(0, 10));
  if (!date)
    return domain::parse_error{date.error() == "no such day in the calendar" ? date.error() : expected};
  if (text.size() == 10)
    return day_start(*date);
  if (text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z')
    return domain::parse_error{expected};
  int h = two_digits(text, 11);
  int m = two_digits(text, 14);
  int s = two_digits(text, 17);
  if (h < 0 || m < 0 || s < 0)
    return domain::parse_error{expected};
  if (h > 23 || m > 59 || s > 59)
    return domain::parse_error{"no such time of day"};
  return day_start(*date) + ((h * 60 + m) * 60 + s) * millis{1000};
}

domain::parsed<period> resolve_period(const period_options& opts, millis now) {
  if (!opts.since.empty() && opts.days)
    return domain::parse_error{"--days: not together with --since (the period is [since, until))"};
  period p;
  p.until = now;
  if (!opts.until.empty()) {
    auto until = parse_instant(opts.until);
    if (!until)
      return domain::parse_error{"--until: " + until.error()};
    p.until = *until;
  }
  if (!opts.since.empty()) {
    auto since = parse_instant(opts.since);
    if (!since)
      return domain::parse_error{"--since: " + since.error()};
    p.since = *since;
  } else {
    int days = opts.days.value_or(default_days);
    if (days < 1 || days > max_days)
      return domain::parse_error{fmt::format("--days: expected a whole number of days from 1 to {}", max_days)};
    p.since = p.until - days * ms_per_day;
  }
  if (p.since >= p.until) {
    auto shown = [](const std::string& given, millis t) { return given.empty() ? rfc3339(t) : given; };
    return domain::parse_error{fmt::format("--since {} is not before --until {}", shown(opts.since, p.since),
                                           shown(opts.until, p.until))};
  }
  return p;
}

std::string rfc3339(millis t) {
  millis ms_of_day = ((t % ms_per_day) + ms_per_day) % ms_per_day;
  std::chrono::year_month_day d{std::chrono::sys_days{std::chrono::days{(t - ms_of_day) / ms_per_day}}};
  auto s = ms_of_day / 1000;
  auto ms = ms_of_day % 1000;
  auto text = fmt::format("{}T{:02}:{:02}:{:02}", domain::to_string(d), s / 3600, s / 60 % 60, s % 60);
  if (ms != 0)
    text += fmt::format(".{:03}", ms);
  return text + "Z";
}

} // namespace dutydesk::report
