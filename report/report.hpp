#pragma once
// `dutydesk report`'s figures: per team and overall, for a period [since, until) in epoch milliseconds UTC, how many
// requests were created and resolved, how fast they got a first response and a resolution, how often a resolution
// was reopened, and what the rating surveys returned. A pure function over stored rows; report/load.hpp reads the
// rows, report/format.hpp prints the result. docs/report.md is the user's description of the same definitions.
//
// Definitions (every time is compared as since <= t < until):
//   requests_created        requests with created_at in the period
//   requests_resolved       requests with resolved_at in the period (their latest resolution)
//   first_response_seconds  over the requests created in the period that have first_response_at:
//                           (first_response_at - created_at) / 1000.0
//   resolution_seconds      over the requests resolved in the period: (resolved_at - created_at) / 1000.0
//                           Both as {median, p90} by nearest rank on the sorted values (rank = ceil(q * n), 1-based);
//                           unset when there are no values.
//   reopen_rate             among the requests resolved in the period, the share with reopens > 0 (0..1)
//   surveys_sent            survey rows with sent_at in the period
//   responses               those of them with a rating 1..5 (`n` in the table and csv)
//   response_rate           responses / surveys_sent (0..1)
//   csat_percent            100 * (ratings 4 or 5) / responses. This is CSAT, not NPS.
//   mean_rating             the mean of the ratings
//   distribution            how many ratings were 1, 2, 3, 4 and 5
// A ratio whose denominator is 0 is unset (null in JSON), never 0.
//
// Teams: every configured team in config order, then every other team found in the rows that count for the period
// (sorted). `overall` covers every row, also those of unconfigured teams and those without a team (rows written
// before schema v4), which get no block of their own. With `only_team`, only that team's rows count: `overall` then
// equals its one block.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace dutydesk::report {

using storage::millis;

/// The median and 90th percentile of a set of durations in seconds; unset when the set is empty.
struct quantiles {
  std::optional<double> median;
  std::optional<double> p90;
  friend bool operator==(const quantiles&, const quantiles&) = default;
};

/// The figures of one team, or of everything (`overall`).
struct block {
  std::string team; // "" in `overall`
  std::int64_t requests_created = 0;
  std::int64_t requests_resolved = 0;
  quantiles first_response_seconds;
  quantiles resolution_seconds;
  std::optional<double> reopen_rate;
  std::int64_t surveys_sent = 0;
  std::int64_t responses = 0;
  std::optional<double> response_rate;
  std::optional<double> csat_percent;
  std::optional<double> mean_rating;
  std::array<std::int64_t, 5> distribution{}; // [0] counts rating 1, ..., [4] rating 5
  friend bool operator==(const block&, const block&) = default;
};

/// The whole report of a period.
struct report {
  millis since = 0;
  millis until = 0;
  block overall;
  std::vector<block> teams;
  friend bool operator==(const report&, const report&) = default;
};

/// The value of nearest rank `percent` (1..100) of `values`: the ceil(percent/100 * n)-th smallest (1-based); unset
/// for no values.
std::optional<double> nearest_rank(std::vector<double> values, int percent);

/// Computes the report of [since, until) from `requests` and `feedback`; rows outside the period are ignored, so the
/// caller may pass more than the period's rows. `configured_teams` come first in `teams`, in their order.
/// @pre since < until
report compute(const std::vector<storage::request_record>& requests,
               const std::vector<storage::feedback_record>& feedback, millis since, millis until,
               const std::vector<std::string>& configured_teams, std::optional<std::string> only_team);

} // namespace dutydesk::report
