// Golden csv and table output of the fixture (figures in tests/report/report_test.cpp), human durations, CSV quoting.

#include <gtest/gtest.h>

#include "report/format.hpp"
#include "tests/report/fixture.hpp"

namespace dutydesk::report {
namespace {

using namespace test;

report fixture_report() {
  return compute(requests(), surveys(), since, until, configured_teams(), std::nullopt);
}

TEST(report_format, csv_golden) {
  EXPECT_EQ(to_csv(fixture_report()),
            "scope,team,requests_created,requests_resolved,first_response_median_seconds,first_response_p90_seconds,"
            "resolution_median_seconds,resolution_p90_seconds,reopen_rate,surveys_sent,n,response_rate,csat_percent,"
            "mean_rating,rating_1,rating_2,rating_3,rating_4,rating_5\n"
            "overall,,9,6,60,1800,7200,1381800,0.5,9,8,0.8888888888888888,62.5,3.625,1,1,1,2,3\n"
            "team,cicd,5,3,60,300,7200,172800,0.3333333333333333,4,3,0.75,66.66666666666667,3.6666666666666665,"
            "0,1,0,1,1\n"
            "team,infra,2,2,900,1800,5400,86400,0.5,3,3,1,33.333333333333336,3,1,0,1,0,1\n"
            "team,qa,0,0,,,,,,0,0,,,,0,0,0,0,0\n"
            "team,data,1,1,45,45,1381800,1381800,1,2,2,1,100,4.5,0,0,0,1,1\n");
}

TEST(report_format, table_golden) {
  EXPECT_EQ(to_table(fixture_report()),
            "period 2026-11-01T00:00:00Z .. 2026-12-01T00:00:00Z (until excluded)\n"
            "\n"
            "team     created  resolved  1st response p50  1st response p90  resolution p50  resolution p90  "
            "reopened  surveys  responded    CSAT  mean  1  2  3  4  5  n\n"
            "cicd           5         3            1m 00s            5m 00s          2h 00m          2d 00h  "
            "   33.3%        4      75.0%   66.7%  3.67  0  1  0  1  1  3\n"
            "infra          2         2           15m 00s           30m 00s          1h 30m          1d 00h  "
            "   50.0%        3     100.0%   33.3%  3.00  1  0  1  0  1  3\n"
            "qa             0         0                 -                 -               -               -  "
            "       -        0          -       -     -  0  0  0  0  0  0\n"
            "data           1         1               45s               45s         15d 23h         15d 23h  "
            "  100.0%        2     100.0%  100.0%  4.50  0  0  0  1  1  2\n"
            "overall        9         6            1m 00s           30m 00s          2h 00m         15d 23h  "
            "   50.0%        9      88.9%   62.5%  3.62  1  1  1  2  3  8\n");
}

TEST(report_format, csv_quotes_team_names) {
  auto r = compute({request("x", "a,\"b\"", nov(2), std::nullopt, std::nullopt, 0)}, {}, since, until, {},
                   std::nullopt);
  auto csv = to_csv(r);
  EXPECT_NE(csv.find("\nteam,\"a,\"\"b\"\"\",1,0,,,,,,0,0,,,,0,0,0,0,0\n"), std::string::npos) << csv;
}

TEST(report_format, json_keeps_the_documented_key_order) {
  auto text = to_json(compute({}, {}, since, until, {"cicd"}, std::nullopt));
  auto at = [&](const char* key) { return text.find(std::string{"\""} + key + "\""); };
  EXPECT_LT(at("since"), at("until"));
  EXPECT_LT(at("until"), at("overall"));
  EXPECT_LT(at("overall"), at("teams"));
  EXPECT_LT(at("requests_created"), at("distribution"));
  EXPECT_EQ(text.back(), '\n');
}

TEST(report_format, human_durations) {
  EXPECT_EQ(human_duration(std::nullopt), "-");
  EXPECT_EQ(human_duration(0.0), "0s");
  EXPECT_EQ(human_duration(0.4), "0s");
  EXPECT_EQ(human_duration(59.4), "59s");
  EXPECT_EQ(human_duration(59.5), "1m 00s");
  EXPECT_EQ(human_duration(200.0), "3m 20s");
  EXPECT_EQ(human_duration(3599.0), "59m 59s");
  EXPECT_EQ(human_duration(3900.0), "1h 05m");
  EXPECT_EQ(human_duration(86399.0), "23h 59m");
  EXPECT_EQ(human_duration(86400.0 * 2 + 3 * 3600 + 59 * 60), "2d 03h");
  EXPECT_EQ(human_duration(-90.0), "-1m 30s");
}

} // namespace
} // namespace dutydesk::report
