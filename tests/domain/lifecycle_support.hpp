#pragma once
// Shared by the request lifecycle tests: the start time, the standard `created` event and effect filters.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "domain/request_lifecycle.hpp"

namespace dutydesk::domain::test {

inline const timestamp t0{std::chrono::milliseconds{1'700'000'000'000}};

/// Carol's request R1 in #support, with alice on duty.
inline created make_created() {
  duty_resolution d;
  d.users = {"alice"};
  return created{"R1", "support", "root1", "carol", "my build is broken",
                 "https://chat.example.com/channel/support?msg=root1", d};
}

/// Every effect of type T, in order.
template <class T>
std::vector<T> all(const std::vector<effect>& xs) {
  std::vector<T> result;
  for (const auto& x : xs)
    if (const auto* p = std::get_if<T>(&x))
      result.push_back(*p);
  return result;
}

/// The one effect of type T (a failure when there is not exactly one).
template <class T>
T only(const std::vector<effect>& xs) {
  auto found = all<T>(xs);
  EXPECT_EQ(found.size(), 1u);
  return found.empty() ? T{} : found.front();
}

/// An event's data as a test writes it out, to compare with publish_event::data whole.
using facts = std::vector<std::pair<std::string, fact_value>>;

} // namespace dutydesk::domain::test
