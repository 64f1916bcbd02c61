#include "report/format.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/period.hpp"

namespace dutydesk::report {

namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json number_or_null(const std::optional<double>& x) {
  return x ? ordered_json(*x) : ordered_json(nullptr);
}

ordered_json json_quantiles(const quantiles& q) {
  return ordered_json{{"median", number_or_null(q.median)}, {"p90", number_or_null(q.p90)}};
}

ordered_json json_block(const block& b, bool with_team) {
  ordered_json j = ordered_json::object();
  if (with_team)
    j["team"] = b.team;
  j["requests_created"] = b.requests_created;
  j["requests_resolved"] = b.requests_resolved;
  j["first_response_seconds"] = json_quantiles(b.first_response_seconds);
  j["resolution_seconds"] = json_quantiles(b.resolution_seconds);
  j["reopen_rate"] = number_or_null(b.reopen_rate);
  j["surveys_sent"] = b.surveys_sent;
  j["responses"] = b.responses;
  j["response_rate"] = number_or_null(b.response_rate);
  j["csat_percent"] = number_or_null(b.csat_percent);
  j["mean_rating"] = number_or_null(b.mean_rating);
  ordered_json d = ordered_json::object();
  for (std::size_t i = 0; i < b.distribution.size(); ++i)
    d[std::to_string(i + 1)] = b.distribution[i];
  j["distribution"] = std::move(d);
  return j;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos)
    return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"')
      quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string csv_number(const std::optional<double>& x) {
  return x ? fmt::format("{}", *x) : std::string{};
}

std::string csv_row(const std::string& scope, const block& b) {
  std::vector<std::string> xs{scope,
                              csv_field(b.team),
                              std::to_string(b.requests_created),
                              std::to_string(b.requests_resolved),
                              csv_number(b.first_response_seconds.median),
                              csv_number(b.first_response_seconds.p90),
                              csv_number(b.resolution_seconds.median),
                              csv_number(b.resolution_seconds.p90),
                              csv_number(b.reopen_rate),
                              std::to_string(b.surveys_sent),
                              std::to_string(b.responses),
                              csv_number(b.response_rate),
                              csv_number(b.csat_percent),
                              csv_number(b.mean_rating)};
  for (auto count : b.distribution)
    xs.push_back(std::to_string(count));
  return fmt::format("{}\n", fmt::join(xs, ","));
}

std::string percent(const std::optional<double>& share) {
  return share ? fmt::format("{:.1f}%", *share * 100.0) : "-";
}

std::vector<std::string> table_row(const std::string& label, const block& b) {
  std::vector<std::string> xs{label,
                              std::to_string(b.requests_created),
                              std::to_string(b.requests_resolved),
                              human_duration(b.first_response_seconds.median),
                              human_duration(b.first_response_seconds.p90),
                              human_duration(b.resolution_seconds.median),
                              human_duration(b.resolution_seconds.p90),
                              percent(b.reopen_rate),
                              std::to_string(b.surveys_sent),
                              percent(b.response_rate),
                              b.csat_percent ? fmt::format("{:.1f}%", *b.csat_percent) : "-",
                              b.mean_rating ? fmt::format("{:.2f}", *b.mean_rating) : "-"};
  for (auto count : b.distribution)
    xs.push_back(std::to_string(count));
  xs.push_back(std::to_string(b.responses));
  return xs;
}

} // namespace

std::string to_json(const report& r) {
  ordered_json j = ordered_json::object();
  j["since"] = rfc3339(r.since);
  j["until"] = rfc3339(r.until);
  j["overall"] = json_block(r.overall, false);
  ordered_json teams = ordered_json::array();
  for (const auto& b : r.teams)
    teams.push_back(json_block(b, true));
  j["teams"] = std::move(teams);
  // Team names come from the config and the store: replace invalid UTF-8 rather than throw.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string to_csv(const report& r) {
  std::string text =
      "scope,team,requests_created,requests_resolved,first_response_median_seconds,first_response_p90_seconds,"
      "resolution_median_seconds,resolution_p90_seconds,reopen_rate,surveys_sent,n,response_rate,csat_percent,"
      "mean_rating,rating_1,rating_2,rating_3,rating_4,rating_5\n";
  text += csv_row("overall", r.overall);
  for (const auto& b : r.teams)
    text += csv_row("team", b);
  return text;
}

std::string to_table(const report& r) {
  std::vector<std::vector<std::string>> rows{{"team", "created", "resolved", "1st response p50", "1st response p90",
                                              "resolution p50", "resolution p90", "reopened", "surveys",
                                              "responded", "CSAT", "mean", "1", "2", "3", "4", "5", "n"}};
  for (const auto& b : r.teams)
    rows.push_back(table_row(b.team, b));
  rows.push_back(table_row("overall", r.overall));
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  std::string text = fmt::format("period {} .. {} (until excluded)\n\n", rfc3339(r.since), rfc3339(r.until));
  for (const auto& row : rows) {
    text += fmt::format("{:<{}}", row[0], widths[0]);
    for (std::size_t i = 1; i < row.size(); ++i)
      text += fmt::format("  {:>{}}", row[i], widths[i]);
    text += '\n';
  }
  return text;
}

std::string human_duration(std::optional<double> seconds) {
  if (!seconds)
    return "-";
  auto total = std::llround(*seconds);
  std::string sign = total < 0 ? "-" : "";
  total = std::llabs(total);
  if (total < 60)
    return fmt::format("{}{}s", sign, total);
  if (total < 3600)
    return fmt::format("{}{}m {:02}s", sign, total / 60, total % 60);
  if (total < 86400)
    return fmt::format("{}{}h {:02}m", sign, total / 3600, total / 60 % 60);
  return fmt::format("{}{}d {:02}h", sign, total / 86400, total / 3600 % 24);
}

} // namespace dutydesk::report
