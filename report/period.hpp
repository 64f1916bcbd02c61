#pragma once
// The period of `dutydesk report` from its command line: --since and --until as a UTC day ("2026-11-01", midnight)
// or a UTC time ("2026-11-01T00:00:00Z"), or --days N back from --until (default: now). The period is [since, until):
// `--until 2026-12-01` ends with the last millisecond of November 30.

#include <optional>
#include <string>
#include <string_view>

#include "domain/parsed.hpp"
#include "storage/records.hpp"

namespace dutydesk::report {

using storage::millis;

/// The default of --days when --since is not given.
inline constexpr int default_days = 30;

/// A half-open period [since, until) in epoch milliseconds UTC.
struct period {
  millis since = 0;
  millis until = 0;
  friend bool operator==(const period&, const period&) = default;
};

/// The period options as given on the command line ("" and unset when absent).
struct period_options {
  std::string since;
  std::string until;
  std::optional<int> days;
};

/// Parses "YYYY-MM-DD" (00:00:00 UTC of that day) or "YYYY-MM-DDTHH:MM:SSZ" into epoch milliseconds.
domain::parsed<millis> parse_instant(std::string_view text);

/// Resolves the options at wall time `now`: until = --until or now; since = --since or until - days (default 30);
/// --days and --since exclude each other.
/// The error names the option ("--since: ...", "--days: ...", "--since X is not before --until Y").
domain::parsed<period> resolve_period(const period_options& opts, millis now);

/// `t` as an RFC 3339 UTC time: "2026-11-01T00:00:00Z", with ".mmm" before the Z when t is not a whole second.
/// @pre t lies in the years 0..9999
std::string rfc3339(millis t);

} // namespace dutydesk::report
