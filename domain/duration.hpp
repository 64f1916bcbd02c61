#pragma once
// Durations as operators write them in the YAML config: a number followed by a unit, e.g. 500ms, 30s, 4h, 2d.
//
// Grammar: one or more `<digits><unit>` parts with units ms, s, m, h, d. Several parts may be combined ("1h30m",
// "2d12h", "1s500ms") when the units strictly decrease, each unit at most once, with no separators. Rejected: an
// empty text, a sign ("-1s", "+1s"), fractions ("1.5h"), a missing or unknown unit ("30", "4x", "4H"), spaces,
// repeated or increasing units ("30m1h", "1h1h"), and totals that do not fit in std::chrono::milliseconds.

#include <chrono>
#include <string>
#include <string_view>

#include "domain/parsed.hpp"

namespace dutydesk::domain {

/// Parses a duration such as "4h" or "1h30m"; the error reason does not quote `text`.
parsed<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The canonical text of `d` that parse_duration reads back, largest units first: "4h", "1h30m", "1s500ms", "0ms".
/// Negative durations get a leading '-' (which parse_duration rejects).
std::string format_duration(std::chrono::milliseconds d);

} // namespace dutydesk::domain
