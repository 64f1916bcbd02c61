#pragma once
// The three printed forms of a report (`dutydesk report --format table|csv|json`); docs/report.md shows each.
//
//   json   {"since": RFC 3339, "until": ..., "overall": {block}, "teams": [{"team": "cicd", block...}, ...]} where a
//          block holds requests_created, requests_resolved, first_response_seconds and resolution_seconds (each
//          {"median", "p90"}), reopen_rate, surveys_sent, responses, response_rate, csat_percent, mean_rating and
//          distribution ({"1": n, ..., "5": n}); unset figures are null. This shape is a contract.
//   csv    a header row, then one row for overall (scope "overall", team "") and one per team (scope "team");
//          durations in seconds, rates 0..1, unset figures as empty fields; `n` is the number of ratings (json's
//          "responses").
//   table  aligned columns for people: one row per team, then "overall"; durations as "45s", "3m 20s", "1h 05m" or
//          "2d 03h" (truncated), rates and CSAT as percentages, "-" for unset figures.

#include <string>

#include "report/report.hpp"

namespace dutydesk::report {

/// The report as pretty-printed JSON (2-space indent), ending in a newline.
std::string to_json(const report& r);

/// The report as CSV (RFC 4180 quoting, "\n" line ends): header row, overall row, one row per team.
std::string to_csv(const report& r);

/// The report as an aligned text table headed by its period.
std::string to_table(const report& r);

/// A duration in seconds for people: "45s", "3m 20s", "1h 05m", "2d 03h" (rounded to whole seconds, then truncated
/// to the two largest units), "-" for unset.
std::string human_duration(std::optional<double> seconds);

} // namespace dutydesk::report
