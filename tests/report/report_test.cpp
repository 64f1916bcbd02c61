// compute() on the hand-computed fixture (tests/report/fixture.hpp), nearest-rank percentiles, and empty periods.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/format.hpp"
#include "report/report.hpp"
#include "tests/report/fixture.hpp"

namespace dutydesk::report {
namespace {

using nlohmann::json;
using namespace test;

// Every figure of the fixture, worked out by hand. The period is [2026-11-01, 2026-12-01).
//
// cicd: created c4 (at `since`), c1, c2, c3, c6 = 5 (c5 was created in October); resolved c5, c1, c2 = 3 (c6 in
//   December). First response over the created ones that have one: c1 60, c2 300, c3 120, c6 30 -> sorted
//   30 60 120 300, n 4: median rank ceil(2) = 2 -> 60, p90 rank ceil(3.6) = 4 -> 300. Resolution: c5 172800 (Oct 30
//   12:00 to Nov 1 12:00), c1 3600, c2 7200 -> 3600 7200 172800: median rank 2 -> 7200, p90 rank ceil(2.7) = 3 ->
//   172800. Reopened: c2 of 3 -> 1/3. Surveys: c5 (unrated), c1 5, c2 4, c2 2 = 4 sent, 3 responses, rate 0.75,
//   CSAT 100 * 2/3, mean 11/3, distribution 2:1 4:1 5:1.
// infra: created i1, i2 = 2, resolved i1, i2 = 2 (i3 lies in October). First response 900 1800: median rank 1 ->
//   900, p90 rank 2 -> 1800. Resolution i1 86400, i2 5400 -> 5400 86400: median 5400, p90 86400. Reopened i1 of 2
//   -> 0.5. Surveys 3 1 5 (October's is out): 3 sent, 3 responses, rate 1, CSAT 100 * 1/3, mean 3, 1:1 3:1 5:1.
// qa: configured, no rows: zeros and nulls.
// data (not configured, listed after the configured teams): created d1, resolved d1 (Nov 15 00:00 to Nov 30 23:50 =
//   15 d 23 h 50 min = 1381800 s), first response 45; reopened 1 of 1 -> 1. Surveys 4 and 5 (the second at the
//   last millisecond of the period): 2 sent, 2 responses, rate 1, CSAT 100, mean 4.5, 4:1 5:1.
// ops: its rows lie at `until`, outside: no block. e1 has no team: it counts only in overall.
// overall: created 5 + 2 + 1 + e1 = 9; resolved 3 + 2 + 1 = 6. First response 10 30 45 60 120 300 900 1800, n 8:
//   median rank 4 -> 60, p90 rank ceil(7.2) = 8 -> 1800. Resolution 3600 5400 7200 86400 172800 1381800, n 6: median
//   rank 3 -> 7200, p90 rank ceil(5.4) = 6 -> 1381800. Reopened c2, i1, d1 of 6 -> 0.5. Surveys: 4 + 3 + 2 = 9
//   sent, 8 responses (5 4 2 3 1 5 4 5), rate 8/9, ratings >= 4: five -> CSAT 62.5, sum 29 -> mean 3.625,
//   distribution 1:1 2:1 3:1 4:2 5:3.
const char* expected_fixture_json = R"({
  "since": "2026-11-01T00:00:00Z",
  "until": "2026-12-01T00:00:00Z",
  "overall": {
    "requests_created": 9, "requests_resolved": 6,
    "first_response_seconds": {"median": 60.0, "p90": 1800.0},
    "resolution_seconds": {"median": 7200.0, "p90": 1381800.0},
    "reopen_rate": 0.5,
    "surveys_sent": 9, "responses": 8, "response_rate": 0.8888888888888888,
    "csat_percent": 62.5, "mean_rating": 3.625,
    "distribution": {"1": 1, "2": 1, "3": 1, "4": 2, "5": 3}
  },
  "teams": [
    {"team": "cicd", "requests_created": 5, "requests_resolved": 3,
     "first_response_seconds": {"median": 60.0, "p90": 300.0},
     "resolution_seconds": {"median": 7200.0, "p90": 172800.0},
     "reopen_rate": 0.3333333333333333,
     "surveys_sent": 4, "responses": 3, "response_rate": 0.75,
     "csat_percent": 66.66666666666667, "mean_rating": 3.6666666666666665,
     "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}},
    {"team": "infra", "requests_created": 2, "requests_resolved": 2,
     "first_response_seconds": {"median": 900.0, "p90": 1800.0},
     "resolution_seconds": {"median": 5400.0, "p90": 86400.0},
     "reopen_rate": 0.5,
     "surveys_sent": 3, "responses": 3, "response_rate": 1.0,
     "csat_percent": 33.333333333333336, "mean_rating": 3.0,
     "distribution": {"1": 1, "2": 0, "3": 1, "4": 0, "5": 1}},
    {"team": "qa", "requests_created": 0, "requests_resolved": 0,
     "first_response_seconds": {"median": null, "p90": null},
     "resolution_seconds": {"median": null, "p90": null},
     "reopen_rate": null,
     "surveys_sent": 0, "responses": 0, "response_rate": null,
     "csat_percent": null, "mean_rating": null,
     "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}},
    {"team": "data", "requests_created": 1, "requests_resolved": 1,
     "first_response_seconds": {"median": 45.0, "p90": 45.0},
     "resolution_seconds": {"median": 1381800.0, "p90": 1381800.0},
     "reopen_rate": 1.0,
     "surveys_sent": 2, "responses": 2, "response_rate": 1.0,
     "csat_percent": 100.0, "mean_rating": 4.5,
     "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}
  ]
})";

TEST(report_compute, fixture_figures_as_json) {
  auto r = compute(requests(), surveys(), since, until, configured_teams(), std::nullopt);
  EXPECT_EQ(json::parse(to_json(r)), json::parse(expected_fixture_json));
}

TEST(report_compute, fixture_figures_as_values) {
  auto r = compute(requests(), surveys(), since, until, configured_teams(), std::nullopt);
  ASSERT_EQ(r.teams.size(), 4u);
  const auto& cicd = r.teams[0];
  EXPECT_EQ(cicd.team, "cicd");
  EXPECT_EQ(cicd.requests_created, 5);
  EXPECT_EQ(cicd.requests_resolved, 3);
  EXPECT_EQ(cicd.first_response_seconds, (quantiles{60.0, 300.0}));
  EXPECT_EQ(cicd.resolution_seconds, (quantiles{7200.0, 172800.0}));
  EXPECT_EQ(cicd.reopen_rate, 1.0 / 3.0);
  EXPECT_EQ(cicd.csat_percent, 200.0 / 3.0);
  EXPECT_EQ(cicd.mean_rating, 11.0 / 3.0);
  EXPECT_EQ(cicd.distribution, (std::array<std::int64_t, 5>{0, 1, 0, 1, 1}));
  EXPECT_EQ(r.overall.team, "");
  EXPECT_EQ(r.overall.response_rate, 8.0 / 9.0);
  EXPECT_EQ(r.overall.responses, 8);
  EXPECT_EQ(r.teams[3].team, "data");
}

TEST(report_compute, only_team_restricts_overall_to_it) {
  auto r = compute(requests(), surveys(), since, until, configured_teams(), std::string{"infra"});
  ASSERT_EQ(r.teams.size(), 1u);
  EXPECT_EQ(r.teams[0].team, "infra");
  auto overall = r.overall;
  overall.team = "infra";
  EXPECT_EQ(overall, r.teams[0]);
  EXPECT_EQ(r.overall.requests_created, 2);
  EXPECT_EQ(r.overall.surveys_sent, 3);
  EXPECT_EQ(r.overall.csat_percent, 100.0 / 3.0);
}

TEST(report_compute, only_team_without_rows_is_listed_empty) {
  auto r = compute(requests(), surveys(), since, until, configured_teams(), std::string{"nobody"});
  ASSERT_EQ(r.teams.size(), 1u);
  EXPECT_EQ(r.teams[0].team, "nobody");
  EXPECT_EQ(r.teams[0].requests_created, 0);
  EXPECT_EQ(r.overall.surveys_sent, 0);
}

TEST(report_compute, empty_period_has_zeros_and_nulls) {
  auto r = compute({}, {}, since, until, {"cicd"}, std::nullopt);
  EXPECT_EQ(json::parse(to_json(r)), json::parse(R"({
    "since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z",
    "overall": {"requests_created": 0, "requests_resolved": 0,
                "first_response_seconds": {"median": null, "p90": null},
                "resolution_seconds": {"median": null, "p90": null}, "reopen_rate": null,
                "surveys_sent": 0, "responses": 0, "response_rate": null, "csat_percent": null, "mean_rating": null,
                "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}},
    "teams": [{"team": "cicd", "requests_created": 0, "requests_resolved": 0,
               "first_response_seconds": {"median": null, "p90": null},
               "resolution_seconds": {"median": null, "p90": null}, "reopen_rate": null,
               "surveys_sent": 0, "responses": 0, "response_rate": null, "csat_percent": null, "mean_rating": null,
               "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}]
  })"));
}

TEST(report_compute, unrated_surveys_give_a_zero_rate_and_null_scores) {
  std::vector<storage::feedback_record> xs{survey("c1", 1, "cicd", nov(2), std::nullopt),
                                           survey("c2", 1, "cicd", nov(3), std::nullopt)};
  auto r = compute({}, xs, since, until, {}, std::nullopt);
  EXPECT_EQ(r.overall.surveys_sent, 2);
  EXPECT_EQ(r.overall.responses, 0);
  EXPECT_EQ(r.overall.response_rate, 0.0);
  EXPECT_EQ(r.overall.csat_percent, std::nullopt);
  EXPECT_EQ(r.overall.mean_rating, std::nullopt);
  ASSERT_EQ(r.teams.size(), 1u); // cicd is found in the data
  EXPECT_EQ(r.teams[0].team, "cicd");
}

TEST(report_compute, created_without_first_response_has_null_quantiles) {
  auto r = compute({request("c4", "cicd", since, std::nullopt, std::nullopt, 0)}, {}, since, until, {}, std::nullopt);
  EXPECT_EQ(r.overall.requests_created, 1);
  EXPECT_EQ(r.overall.first_response_seconds, (quantiles{std::nullopt, std::nullopt}));
  EXPECT_EQ(r.overall.reopen_rate, std::nullopt);
}

TEST(report_compute, teams_found_in_data_follow_the_configured_ones_sorted) {
  std::vector<storage::request_record> xs{request("a", "zeta", nov(2), std::nullopt, std::nullopt, 0),
                                          request("b", "alpha", nov(3), std::nullopt, std::nullopt, 0),
                                          request("c", "mid", nov(4), std::nullopt, std::nullopt, 0)};
  auto r = compute(xs, {}, since, until, {"mid", "beta", "mid"}, std::nullopt);
  std::vector<std::string> names;
  for (const auto& b : r.teams)
    names.push_back(b.team);
  EXPECT_EQ(names, (std::vector<std::string>{"mid", "beta", "alpha", "zeta"}));
}

TEST(report_nearest_rank, one_value) {
  EXPECT_EQ(nearest_rank({7.5}, 50), 7.5);
  EXPECT_EQ(nearest_rank({7.5}, 90), 7.5);
}

TEST(report_nearest_rank, two_values) {
  // ceil(0.5 * 2) = 1: the lower one; ceil(0.9 * 2) = 2: the upper one.
  EXPECT_EQ(nearest_rank({20.0, 10.0}, 50), 10.0);
  EXPECT_EQ(nearest_rank({20.0, 10.0}, 90), 20.0);
}

TEST(report_nearest_rank, ten_values) {
  std::vector<double> xs{7, 3, 10, 1, 9, 2, 8, 4, 6, 5};
  EXPECT_EQ(nearest_rank(xs, 50), 5.0);  // rank 5
  EXPECT_EQ(nearest_rank(xs, 90), 9.0);  // rank 9, exactly (not ceil(9.000000000000002) = 10)
  EXPECT_EQ(nearest_rank(xs, 91), 10.0); // rank ceil(9.1) = 10
  EXPECT_EQ(nearest_rank(xs, 100), 10.0);
  EXPECT_EQ(nearest_rank(xs, 1), 1.0);
}

TEST(report_nearest_rank, no_values) {
  EXPECT_EQ(nearest_rank({}, 50), std::nullopt);
}

} // namespace
} // namespace dutydesk::report
