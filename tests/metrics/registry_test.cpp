// metrics::registry serialized with prometheus-cpp's text format after known recordings: names, labels, counts,
// histogram buckets/_sum/_count, the zeroing of vanished requests_open pairs, classify_http.

#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/registry.hpp"
#include "tests/metrics/scripted.hpp"

namespace {

using namespace std::chrono_literals;
using dutydesk::metrics::call_result;
using dutydesk::metrics::classify_http;
using dutydesk::metrics::registry;

/// The exposition text of `m`, as the set of its lines (series order within a family is unspecified).
std::set<std::string> lines_of(const registry& m) {
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, m.prometheus()->Collect());
  std::set<std::string> xs;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);)
    xs.insert(line);
  return xs;
}

/// The families of `m` with their types, from the "# TYPE" lines.
std::set<std::string> types_of(const registry& m) {
  std::set<std::string> xs;
  for (const auto& line : lines_of(m))
    if (line.rfind("# TYPE ", 0) == 0)
      xs.insert(line.substr(7));
  return xs;
}

void expect_lines(const std::set<std::string>& have, const std::vector<std::string>& want) {
  for (const auto& w : want)
    EXPECT_TRUE(have.count(w)) << "missing line: " << w;
}

/// Lines of `have` that start with `prefix`.
std::size_t count_prefixed(const std::set<std::string>& have, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& line : have)
    n += line.rfind(prefix, 0) == 0;
  return n;
}

} // namespace

TEST(MetricsRegistry, FreshRegistryExposesOnlyTheUnlabelledWebsocketSeries) {
  registry m;
  auto have = lines_of(m);
  expect_lines(have, {"dutydesk_websocket_reconnects_total 0", "dutydesk_websocket_connected 0"});
  EXPECT_EQ(count_prefixed(have, "dutydesk_"), 2u);
  EXPECT_EQ(count_prefixed(have, "dutydesk_nats_connected"), 0u); // no NATS configured reads as absent, not down
  EXPECT_EQ(count_prefixed(have, "dutydesk_storage_up"), 0u);     // set by serve's storage actor
}

TEST(MetricsRegistry, EveryFamilyHasItsContractNameAndType) {
  registry m;
  dutydesk::test::record_script(m);
  std::set<std::string> want{
    "dutydesk_requests_created_total counter",
    "dutydesk_status_transitions_total counter",
    "dutydesk_first_response_seconds histogram",
    "dutydesk_resolution_seconds histogram",
    "dutydesk_reopens_total counter",
    "dutydesk_reminders_sent_total counter",
    "dutydesk_requests_moved_total counter",
    "dutydesk_requests_open gauge",
    "dutydesk_oncall_lookups_total counter",
    "dutydesk_feedback_surveys_sent_total counter",
    "dutydesk_feedback_ratings_total counter",
    "dutydesk_feedback_surveys_closed_total counter",
    "dutydesk_outbound_calls_total counter",
    "dutydesk_outbound_call_seconds histogram",
    "dutydesk_outbound_retries_total counter",
    "dutydesk_websocket_reconnects_total counter",
    "dutydesk_websocket_connected gauge",
    "dutydesk_nats_connected gauge",
    "dutydesk_storage_up gauge",
    "dutydesk_webhook_deliveries_total counter",
    "dutydesk_outbox_depth gauge",
    "dutydesk_outbox_oldest_age_seconds gauge",
    "dutydesk_events_published_total counter",
  };
  EXPECT_EQ(types_of(m), want);
}

TEST(MetricsRegistry, CountersAndGaugesCarryTheirLabelsAndValues) {
  registry m;
  dutydesk::test::record_script(m);
  auto have = lines_of(m);
  expect_lines(have, {
    R"(dutydesk_requests_created_total{source="chat",team="cicd"} 3)",
    R"(dutydesk_requests_created_total{source="jira",team="cicd"} 1)",
    R"(dutydesk_requests_created_total{source="chat",team="infra"} 2)",
    R"(dutydesk_status_transitions_total{from="",team="cicd",to="new"} 1)",
    R"(dutydesk_status_transitions_total{from="new",team="cicd",to="in_progress"} 2)",
    R"(dutydesk_status_transitions_total{from="in_progress",team="cicd",to="done"} 1)",
    R"(dutydesk_reopens_total{team="cicd"} 1)",
    R"(dutydesk_reminders_sent_total{team="cicd"} 2)",
    R"(dutydesk_requests_moved_total{from_team="cicd",to_team="infra"} 1)",
    R"(dutydesk_requests_open{status="new",team="cicd"} 2)",
    R"(dutydesk_requests_open{status="in_progress",team="cicd"} 1)",
    R"(dutydesk_requests_open{status="new",team="infra"} 4)",
    R"(dutydesk_oncall_lookups_total{result="ok",team="cicd"} 2)",
    R"(dutydesk_oncall_lookups_total{result="empty",team="cicd"} 1)",
    R"(dutydesk_oncall_lookups_total{result="unmapped",team="infra"} 1)",
    R"(dutydesk_oncall_lookups_total{result="error",team="infra"} 1)",
    R"(dutydesk_feedback_surveys_sent_total{team="cicd"} 4)",
    R"(dutydesk_feedback_ratings_total{rating="5",team="cicd"} 2)",
    R"(dutydesk_feedback_ratings_total{rating="4",team="cicd"} 1)",
    R"(dutydesk_feedback_ratings_total{rating="2",team="cicd"} 1)",
    R"(dutydesk_feedback_surveys_closed_total{outcome="expired",team="cicd"} 1)",
    R"(dutydesk_outbound_calls_total{result="ok",system="jira"} 1)",
    R"(dutydesk_outbound_calls_total{result="server_error",system="jira"} 1)",
    R"(dutydesk_outbound_calls_total{result="rate_limited",system="rocketchat"} 1)",
    R"(dutydesk_outbound_calls_total{result="transport",system="oncall"} 1)",
    R"(dutydesk_outbound_retries_total{system="jira"} 1)",
    R"(dutydesk_websocket_reconnects_total 1)",
    R"(dutydesk_websocket_connected 1)",
    R"(dutydesk_nats_connected 1)",
    R"(dutydesk_webhook_deliveries_total{result="accepted"} 3)",
    R"(dutydesk_webhook_deliveries_total{result="duplicate"} 1)",
    R"(dutydesk_outbox_depth{queue="events"} 5)",
    R"(dutydesk_outbox_oldest_age_seconds{queue="events"} 120)",
    R"(dutydesk_outbox_depth{queue="jira"} 0)",
    R"(dutydesk_outbox_oldest_age_seconds{queue="jira"} 0)",
    R"(dutydesk_events_published_total{kind="request.created",result="ok"} 3)",
    R"(dutydesk_events_published_total{kind="request.status_changed",result="error"} 1)",
  });
  EXPECT_EQ(count_prefixed(have, "dutydesk_requests_created_total{"), 3u);
  EXPECT_EQ(count_prefixed(have, "dutydesk_feedback_ratings_total{"), 3u);
  EXPECT_EQ(count_prefixed(have, "dutydesk_requests_open{"), 3u);
}

TEST(MetricsRegistry, DurationHistogramsUseTheMinuteToWeekBuckets) {
  registry m;
  dutydesk::test::record_script(m);
  auto have = lines_of(m);
  // first_response: 120 s and 600 s.
  expect_lines(have, {
    R"(dutydesk_first_response_seconds_count{team="cicd"} 2)",
    R"(dutydesk_first_response_seconds_sum{team="cicd"} 720)",
    R"(dutydesk_first_response_seconds_bucket{team="cicd",le="60"} 0)",
    R"(dutydesk_first_response_seconds_bucket{team="cicd",le="300"} 1)",
    R"(dutydesk_first_response_seconds_bucket{team="cicd",le="900"} 2)",
    R"(dutydesk_first_response_seconds_bucket{team="cicd",le="604800"} 2)",
    R"(dutydesk_first_response_seconds_bucket{team="cicd",le="+Inf"} 2)",
    R"(dutydesk_resolution_seconds_count{team="cicd"} 1)",
    R"(dutydesk_resolution_seconds_sum{team="cicd"} 3000)",
    R"(dutydesk_resolution_seconds_bucket{team="cicd",le="1800"} 0)",
    R"(dutydesk_resolution_seconds_bucket{team="cicd",le="3600"} 1)",
  });
  // 11 boundaries plus +Inf, exactly these.
  std::vector<std::string> les{"60",    "300",   "900",   "1800",   "3600",   "7200", "14400",
                               "28800", "86400", "259200", "604800", "+Inf"};
  EXPECT_EQ(count_prefixed(have, "dutydesk_resolution_seconds_bucket{"), les.size());
  for (const auto& le : les)
    EXPECT_EQ(count_prefixed(have, R"(dutydesk_resolution_seconds_bucket{team="cicd",le=")" + le + "\"}"), 1u) << le;
}

TEST(MetricsRegistry, CallLatencyHistogramSpansFiveMillisecondsToThirtySeconds) {
  registry m;
  m.outbound_call("jira", call_result::ok, 50ms);
  m.outbound_call("jira", call_result::server_error, 2s);
  m.outbound_call("jira", call_result::transport, 45s);
  auto have = lines_of(m);
  expect_lines(have, {
    R"(dutydesk_outbound_call_seconds_count{system="jira"} 3)",
    R"(dutydesk_outbound_call_seconds_sum{system="jira"} 47.05)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="0.005"} 0)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="0.025"} 0)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="0.05"} 1)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="1"} 1)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="2.5"} 2)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="30"} 2)",
    R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="+Inf"} 3)",
    R"(dutydesk_outbound_calls_total{result="ok",system="jira"} 1)",
    R"(dutydesk_outbound_calls_total{result="server_error",system="jira"} 1)",
    R"(dutydesk_outbound_calls_total{result="transport",system="jira"} 1)",
  });
  EXPECT_EQ(count_prefixed(have, "dutydesk_outbound_call_seconds_bucket{"), 13u);
}

TEST(MetricsRegistry, SetRequestsOpenZeroesPairsThatDisappear) {
  registry m;
  m.set_requests_open({{{"cicd", "new"}, 2}, {{"cicd", "waiting"}, 1}});
  m.set_requests_open({{{"cicd", "new"}, 5}, {{"infra", "new"}, 1}});
  auto have = lines_of(m);
  expect_lines(have, {
    R"(dutydesk_requests_open{status="new",team="cicd"} 5)",
    R"(dutydesk_requests_open{status="waiting",team="cicd"} 0)",
    R"(dutydesk_requests_open{status="new",team="infra"} 1)",
  });
  m.set_requests_open({});
  have = lines_of(m);
  expect_lines(have, {
    R"(dutydesk_requests_open{status="new",team="cicd"} 0)",
    R"(dutydesk_requests_open{status="waiting",team="cicd"} 0)",
    R"(dutydesk_requests_open{status="new",team="infra"} 0)",
  });
  EXPECT_EQ(count_prefixed(have, "dutydesk_requests_open{"), 3u);
}

TEST(MetricsRegistry, GaugesFollowTheLastValue) {
  registry m;
  m.websocket_connected(true);
  m.websocket_connected(false);
  m.nats_connected(false);
  m.set_outbox("jira", 7, 1500ms);
  m.set_outbox("jira", 0, 0ms);
  auto have = lines_of(m);
  expect_lines(have, {"dutydesk_websocket_connected 0", "dutydesk_nats_connected 0",
                      R"(dutydesk_outbox_depth{queue="jira"} 0)",
                      R"(dutydesk_outbox_oldest_age_seconds{queue="jira"} 0)"});
  m.set_outbox("jira", 3, 1500ms);
  expect_lines(lines_of(m), {R"(dutydesk_outbox_depth{queue="jira"} 3)",
                             R"(dutydesk_outbox_oldest_age_seconds{queue="jira"} 1.5)"});
}

TEST(MetricsRegistry, RatingOutsideOneToFiveIsNotRecorded) {
  registry m;
  m.rating("cicd", 0);
  m.rating("cicd", 6);
  m.rating("cicd", 1);
  auto have = lines_of(m);
  EXPECT_EQ(count_prefixed(have, "dutydesk_feedback_ratings_total{"), 1u);
  expect_lines(have, {R"(dutydesk_feedback_ratings_total{rating="1",team="cicd"} 1)"});
}

TEST(MetricsRegistry, LabelValuesAreEscaped) {
  registry m;
  m.request_created("a\"b\\c", "chat");
  expect_lines(lines_of(m), {R"(dutydesk_requests_created_total{source="chat",team="a\"b\\c"} 1)"});
}

TEST(MetricsClassify, HttpStatusToResult) {
  EXPECT_EQ(classify_http(200), call_result::ok);
  EXPECT_EQ(classify_http(204), call_result::ok);
  EXPECT_EQ(classify_http(299), call_result::ok);
  EXPECT_EQ(classify_http(400), call_result::client_error);
  EXPECT_EQ(classify_http(404), call_result::client_error);
  EXPECT_EQ(classify_http(428), call_result::client_error);
  EXPECT_EQ(classify_http(429), call_result::rate_limited);
  EXPECT_EQ(classify_http(499), call_result::client_error);
  EXPECT_EQ(classify_http(500), call_result::server_error);
  EXPECT_EQ(classify_http(503), call_result::server_error);
  EXPECT_EQ(classify_http(599), call_result::server_error);
  EXPECT_EQ(classify_http(0), call_result::transport);
  EXPECT_EQ(classify_http(302), call_result::transport);
  EXPECT_EQ(classify_http(600), call_result::transport);
}

TEST(MetricsClassify, ResultLabels) {
  EXPECT_EQ(to_string(call_result::ok), "ok");
  EXPECT_EQ(to_string(call_result::client_error), "client_error");
  EXPECT_EQ(to_string(call_result::rate_limited), "rate_limited");
  EXPECT_EQ(to_string(call_result::server_error), "server_error");
  EXPECT_EQ(to_string(call_result::transport), "transport");
}
