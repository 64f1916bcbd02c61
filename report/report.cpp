#include "report/report.hpp"

#include <algorithm>
#include <iterator>
#include <set>

namespace dutydesk::report {

namespace {

bool in_period(millis t, millis since, millis until) {
  return since <= t && t < until;
}

std::optional<double> ratio(double numerator, std::int64_t denominator) {
  if (denominator == 0)
    return std::nullopt;
  return numerator / static_cast<double>(denominator);
}

// The rows of one block, already restricted to what counts for the period.
struct rows {
  std::vector<const storage::request_record*> created;
  std::vector<const storage::request_record*> resolved;
  std::vector<const storage::feedback_record*> sent;
};

block figures(std::string team, const rows& xs) {
  block b;
  b.team = std::move(team);
  b.requests_created = static_cast<std::int64_t>(xs.created.size());
  b.requests_resolved = static_cast<std::int64_t>(xs.resolved.size());

  std::vector<double> first_response;
  for (const auto* r : xs.created)
    if (r->first_response_at)
      first_response.push_back(static_cast<double>(*r->first_response_at - r->created_at) / 1000.0);
  b.first_response_seconds = {nearest_rank(first_response, 50), nearest_rank(first_response, 90)};

  std::vector<double> resolution;
  std::int64_t num_reopened = 0;
  for (const auto* r : xs.resolved) {
    resolution.push_back(static_cast<double>(*r->resolved_at - r->created_at) / 1000.0);
    if (r->reopens > 0)
      ++num_reopened;
  }
  b.resolution_seconds = {nearest_rank(resolution, 50), nearest_rank(resolution, 90)};
  b.reopen_rate = ratio(static_cast<double>(num_reopened), b.requests_resolved);

  b.surveys_sent = static_cast<std::int64_t>(xs.sent.size());
  std::int64_t sum = 0;
  for (const auto* f : xs.sent) {
    if (!f->rating || *f->rating < 1 || *f->rating > 5)
      continue;
    ++b.responses;
    ++b.distribution[static_cast<std::size_t>(*f->rating - 1)];
    sum += *f->rating;
  }
  b.response_rate = ratio(static_cast<double>(b.responses), b.surveys_sent);
  b.csat_percent = ratio(100.0 * static_cast<double>(b.distribution[3] + b.distribution[4]), b.responses);
  b.mean_rating = ratio(static_cast<double>(sum), b.responses);
  return b;
}

} // namespace

std::optional<double> nearest_rank(std::vector<double> values, int percent) {
  if (values.empty())
    return std::nullopt;
  std::sort(values.begin(), values.end());
  // ceil(percent * n / 100) in integers, so that 90 * 10 / 100 is exactly 9 and not 9.000000000000002.
  auto n = static_cast<std::int64_t>(values.size());
  auto rank = std::clamp<std::int64_t>((percent * n + 99) / 100, 1, n);
  return values[static_cast<std::size_t>(rank - 1)];
}

report compute(const std::vector<storage::request_record>& requests,
               const std::vector<storage::feedback_record>& feedback, millis since, millis until,
               const std::vector<std::string>& configured_teams, std::optional<std::string> only_team) {
  auto counts = [&](const std::string& team) { return !only_team || team == *only_team; };
  rows all;
  for (const auto& r : requests) {
    if (!counts(r.team))
      continue;
    if (in_period(r.created_at, since, until))
      all.created.push_back(&r);
    if (r.resolved_at && in_period(*r.resolved_at, since, until))
      all.resolved.push_back(&r);
  }
  for (const auto& f : feedback)
    if (counts(f.team) && in_period(f.sent_at, since, until))
      all.sent.push_back(&f);

  std::vector<std::string> teams;
  if (only_team) {
    teams.push_back(*only_team);
  } else {
    std::set<std::string> listed;
    for (const auto& t : configured_teams)
      if (!t.empty() && listed.insert(t).second)
        teams.push_back(t);
    std::set<std::string> others;
    auto found = [&](const std::string& t) {
      if (!t.empty() && !listed.contains(t))
        others.insert(t);
    };
    for (const auto* r : all.created)
      found(r->team);
    for (const auto* r : all.resolved)
      found(r->team);
    for (const auto* f : all.sent)
      found(f->team);
    teams.insert(teams.end(), others.begin(), others.end());
  }

  report result;
  result.since = since;
  result.until = until;
  result.overall = figures("", all);
  for (const auto& team : teams) {
    rows of_team;
    auto mine = [&](const auto* x) { return x->team == team; };
    std::copy_if(all.created.begin(), all.created.end(), std::back_inserter(of_team.created), mine);
    std::copy_if(all.resolved.begin(), all.resolved.end(), std::back_inserter(of_team.resolved), mine);
    std::copy_if(all.sent.begin(), all.sent.end(), std::back_inserter(of_team.sent), mine);
    result.teams.push_back(figures(team, of_team));
  }
  return result;
}

} // namespace dutydesk::report
