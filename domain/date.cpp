#include "domain/date.hpp"

#include <cstdio>

namespace dutydesk::domain {

parsed<std::chrono::year_month_day> parse_date(std::string_view text) {
  auto digits = [&](std::size_t from, std::size_t count) {
    int value = 0;
    for (std::size_t i = from; i < from + count; ++i)
      value = value * 10 + (text[i] - '0');
    return value;
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-')
    return parse_error{"expected a date as YYYY-MM-DD"};
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9')
      return parse_error{"expected a date as YYYY-MM-DD"};
  std::chrono::year_month_day d{std::chrono::year{digits(0, 4)}, std::chrono::month{static_cast<unsigned>(digits(5, 2))},
                                std::chrono::day{static_cast<unsigned>(digits(8, 2))}};
  if (!d.ok())
    return parse_error{"no such day in the calendar"};
  return d;
}

std::string to_string(const std::chrono::year_month_day& d) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buffer;
}

std::string format_rfc3339_ms(std::int64_t ms) {
  constexpr std::int64_t day_ms = 86'400'000;
  std::int64_t days = ms / day_ms - ((ms % day_ms != 0) && (ms < 0)); // floor
  std::int64_t rem = ms - days * day_ms;
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(rem / 3600000),
                static_cast<int>(rem / 60000 % 60), static_cast<int>(rem / 1000 % 60), static_cast<int>(rem % 1000));
  return buf;
}

} // namespace dutydesk::domain
