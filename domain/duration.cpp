#include "domain/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace dutydesk::domain {

namespace {

struct unit {
  std::string_view name;
  std::int64_t ms;
};

// Largest first: parts must follow this order.
constexpr std::array<unit, 5> units{{
  {"d", 86'400'000},
  {"h", 3'600'000},
  {"m", 60'000},
  {"s", 1'000},
  {"ms", 1},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

} // namespace

parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  if (text.empty())
    return parse_error{"empty duration (write e.g. 500ms, 30s, 4h, 2d)"};
  if (text.front() == '-')
    return parse_error{"negative durations are not allowed"};
  std::int64_t total = 0;
  std::size_t next_unit = 0; // index into `units` of the largest unit still allowed
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i]))
      return parse_error{"expected a number followed by a unit (ms, s, m, h or d)"};
    std::int64_t number = 0;
    bool too_large = false;
    while (i < text.size() && is_digit(text[i])) {
      auto digit = text[i] - '0';
      if (number > (max - digit) / 10)
        too_large = true;
      else
        number = number * 10 + digit;
      ++i;
    }
    if (i < text.size() && (text[i] == '.' || text[i] == ','))
      return parse_error{"fractions are not allowed (write 1h30m, not 1.5h)"};
    auto start = i;
    while (i < text.size() && is_letter(text[i]))
      ++i;
    auto name = text.substr(start, i - start);
    if (name.empty()) {
      if (i == text.size())
        return parse_error{"missing unit (use ms, s, m, h or d)"};
      return parse_error{"unexpected character (write e.g. 500ms, 30s, 4h, 2d, 1h30m)"};
    }
    std::size_t found = units.size();
    for (std::size_t k = 0; k < units.size(); ++k)
      if (units[k].name == name)
        found = k;
    if (found == units.size())
      return parse_error{"unknown unit (use ms, s, m, h or d)"};
    if (found < next_unit)
      return parse_error{"units must go from larger to smaller, each at most once (e.g. 1h30m)"};
    next_unit = found + 1;
    if (too_large || number > max / units[found].ms || total > max - number * units[found].ms)
      return parse_error{"duration is too large"};
    total += number * units[found].ms;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
  auto count = d.count();
  if (count == 0)
    return "0ms";
  std::string result;
  // Work on the unsigned magnitude so that the minimum value does not overflow.
  std::uint64_t rest = count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  if (count < 0)
    result += '-';
  for (const auto& u : units) {
    auto size = static_cast<std::uint64_t>(u.ms);
    if (rest >= size) {
      result += std::to_string(rest / size);
      result += u.name;
      rest %= size;
    }
  }
  return result;
}

} // namespace dutydesk::domain
