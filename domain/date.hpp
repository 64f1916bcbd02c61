#pragma once
// Calendar dates as the CLI takes them (`dutydesk report --since 2024-05-01`).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/parsed.hpp"

namespace dutydesk::domain {

/// Parses a strict ISO date "YYYY-MM-DD" (four-digit year, two-digit month and day) that exists in the calendar.
parsed<std::chrono::year_month_day> parse_date(std::string_view text);

/// "YYYY-MM-DD". @pre d.ok() and the year is in 0..9999
std::string to_string(const std::chrono::year_month_day& d);

/// RFC 3339 UTC with milliseconds of an epoch-ms time, e.g. "2026-12-03T10:15:00.000Z".
std::string format_rfc3339_ms(std::int64_t ms);

} // namespace dutydesk::domain
