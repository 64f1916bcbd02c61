#include "sim/faults.hpp"

#include <gtest/gtest.h>

using namespace dutydesk::sim;

namespace {

struct faults_fixture : ::testing::Test {
  manual_clock clock;
  id_source ids{3};
  fault_injector faults{clock, ids};

  fault_spec spec(const json& body) {
    std::string error;
    auto s = faults.parse(body, error);
    EXPECT_TRUE(s) << error;
    return s.value_or(fault_spec{});
  }
};

std::string header(const http_response& r, const std::string& name) {
  for (auto& [n, v] : r.headers)
    if (n == name)
      return v;
  return "";
}

} // namespace

TEST_F(faults_fixture, no_spec_means_no_fault) {
  auto d = faults.decide("jira-dc");
  EXPECT_EQ(d.latency_ms, 0);
  EXPECT_FALSE(d.response);
}

TEST_F(faults_fixture, rates_are_honoured_over_many_requests) {
  faults.set("rocketchat", spec({{"rate_429", 0.2}, {"rate_5xx", 0.1}, {"rate_reset", 0.05}}));
  int n429 = 0, n5xx = 0, nreset = 0, ok = 0;
  for (int i = 0; i < 10000; ++i) {
    auto d = faults.decide("rocketchat");
    if (!d.response)
      ++ok;
    else if (d.response->reset)
      ++nreset;
    else if (d.response->status == 429)
      ++n429;
    else
      ++n5xx;
  }
  EXPECT_NEAR(n429, 2000, 150);
  EXPECT_NEAR(n5xx, 1000, 120);
  EXPECT_NEAR(nreset, 500, 90);
  EXPECT_EQ(ok + n429 + n5xx + nreset, 10000);
  auto d = faults.describe();
  EXPECT_EQ(d["injected"]["rocketchat"]["429"], n429);
  EXPECT_EQ(d["injected"]["rocketchat"]["reset"], nreset);
}

TEST_F(faults_fixture, each_system_gets_its_own_429_shape) {
  for (auto sys : {"rocketchat", "oncall", "jira-cloud"})
    faults.set(sys, spec({{"rate_429", 1.0}, {"retry_after_s", 7}}));
  auto rc = faults.decide("rocketchat").response.value();
  EXPECT_EQ(rc.status, 429);
  EXPECT_EQ(json::parse(rc.body)["success"], false);
  EXPECT_EQ(header(rc, "X-RateLimit-Reset"), std::to_string(clock.now_ms() + 7000));
  EXPECT_EQ(header(rc, "Retry-After"), "");
  auto oc = faults.decide("oncall").response.value();
  EXPECT_EQ(header(oc, "RateLimit-Reset"), "7");
  EXPECT_TRUE(json::parse(oc.body).contains("detail"));
  auto jira = faults.decide("jira-cloud").response.value();
  EXPECT_EQ(header(jira, "Retry-After"), "7");
  EXPECT_TRUE(json::parse(jira.body).contains("errorMessages"));
}

TEST_F(faults_fixture, a_timed_spec_lapses_on_the_clock) {
  faults.set("oncall", spec({{"rate_5xx", 1.0}, {"status_5xx", 502}, {"for_ms", 1000}}));
  EXPECT_EQ(faults.decide("oncall").response->status, 502);
  clock.advance_ms(999);
  EXPECT_TRUE(faults.decide("oncall").response);
  clock.advance_ms(1);
  EXPECT_FALSE(faults.decide("oncall").response);
  EXPECT_FALSE(faults.describe().contains("active"));
}

TEST_F(faults_fixture, latency_is_reported_without_failing_the_request) {
  faults.set("jira-dc", spec({{"latency_ms", 250}}));
  auto d = faults.decide("jira-dc");
  EXPECT_EQ(d.latency_ms, 250);
  EXPECT_FALSE(d.response);
}

TEST_F(faults_fixture, bad_specs_are_rejected) {
  std::string error;
  EXPECT_FALSE(faults.parse({{"rate_429", 0.7}, {"rate_5xx", 0.7}}, error));
  EXPECT_FALSE(faults.parse({{"rate_429", -0.1}}, error));
  EXPECT_FALSE(faults.parse({{"status_5xx", 404}}, error));
  EXPECT_FALSE(faults.parse({{"latency_ms", "slow"}}, error));
}

TEST_F(faults_fixture, a_matched_spec_skips_then_fails_only_its_requests_and_lapses_after_its_count) {
  faults.set("jira-dc", spec({{"rate_5xx", 1.0},
                              {"match", "POST /rest/api/2/issue/CICD-1/transitions"},
                              {"skip", 1},
                              {"count", 2}}));
  const std::string post = "POST /rest/api/2/issue/CICD-1/transitions";
  EXPECT_FALSE(faults.decide("jira-dc", "GET /rest/api/2/issue/CICD-1/transitions").response);
  EXPECT_FALSE(faults.decide("jira-dc", "POST /rest/api/2/issue/CICD-2/transitions").response);
  EXPECT_FALSE(faults.decide("jira-dc", post).response) << "the first matching request is skipped";
  EXPECT_EQ(faults.decide("jira-dc", post).response->status, 503);
  EXPECT_EQ(faults.describe()["active"]["jira-dc"]["count"], 1);
  EXPECT_EQ(faults.decide("jira-dc", post).response->status, 503);
  EXPECT_FALSE(faults.decide("jira-dc", post).response) << "lapsed after two faults";
  EXPECT_FALSE(faults.describe().contains("active"));
  EXPECT_EQ(faults.describe()["injected"]["jira-dc"]["5xx"], 2);
}

TEST_F(faults_fixture, negative_skip_or_count_is_refused) {
  std::string error;
  EXPECT_FALSE(faults.parse({{"rate_5xx", 1.0}, {"skip", -1}}, error));
  EXPECT_FALSE(faults.parse({{"rate_5xx", 1.0}, {"count", -2}}, error));
  EXPECT_NE(error.find("count >= 0"), std::string::npos) << error;
}
