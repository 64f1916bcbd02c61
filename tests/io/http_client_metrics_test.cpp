// io::http_client records every attempt in a metrics::registry: outbound_calls_total{system,result},
// outbound_call_seconds{system} and outbound_retries_total{system}, against an in-process io::http_server that
// answers from a script (503s, a 429, a 404) and a closed port.

#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "tests/support/metrics_text.hpp"
#include "io/http_client.hpp"
#include "io/http_server.hpp"
#include "metrics/registry.hpp"
#include "tests/io/sim_fixture.hpp"

namespace dutydesk::io {
namespace {

using std::chrono::milliseconds;
using test::run_until;

using test::value_of;

class HttpClientMetrics : public ::testing::Test {
protected:
  void SetUp() override {
    start_server(0);
    metrics = std::make_shared<metrics::registry>();
    http_client_options o;
    o.retry.max_attempts = 4;
    o.retry.base_delay = milliseconds(1);
    o.retry.max_delay = milliseconds(2);
    o.metrics = metrics;
    o.system = "jira";
    client.emplace(ioc, o);
  }

  /// Serves GET /scripted on `port` (0: ephemeral), answering the statuses of `script` in turn (200 when empty).
  void start_server(std::uint16_t port) {
    http_server_options so;
    so.port = port;
    server = std::make_unique<http_server>(ioc, so);
    server->on("GET", "/scripted", [this](http_server_request, http_server::respond answer) {
      http_server_response r;
      if (!script.empty()) {
        r.status = script.front();
        script.pop_front();
      }
      if (r.status == 429)
        r.headers.emplace_back("Retry-After", "0");
      answer(std::move(r));
    });
    ASSERT_EQ(server->listen(), "");
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }

  void TearDown() override {
    client.reset();
    server->stop();
    ioc.restart();
    ioc.run_for(milliseconds(20));
  }

  http_result get(const std::string& url, std::string system = {}) {
    http_request req;
    req.url = url;
    req.system = std::move(system);
    std::optional<http_result> out;
    client->request(std::move(req), [&](http_result r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); }));
    return out.value_or(http_result{});
  }

  std::string calls(const std::string& system, const std::string& result) {
    return value_of(*metrics,
                    "dutydesk_outbound_calls_total{result=\"" + result + "\",system=\"" + system + "\"}");
  }

  boost::asio::io_context ioc;
  std::unique_ptr<http_server> server;
  std::string base;
  std::deque<unsigned> script;
  std::shared_ptr<metrics::registry> metrics;
  std::optional<http_client> client;
};

} // namespace

TEST_F(HttpClientMetrics, ServerErrorsThenSuccessRecordEveryAttemptAndEachRetry) {
  script = {503, 502, 200};
  auto r = get(base + "/scripted");
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.response.status, 200u);
  EXPECT_EQ(r.attempts, 3u);
  EXPECT_EQ(calls("jira", "server_error"), "2");
  EXPECT_EQ(calls("jira", "ok"), "1");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_retries_total{system="jira"})"), "2");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_call_seconds_count{system="jira"})"), "3");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_call_seconds_bucket{system="jira",le="30"})"), "3");
}

TEST_F(HttpClientMetrics, RateLimitedAnswerIsItsOwnResultAndARetry) {
  script = {429, 200};
  auto r = get(base + "/scripted", "rocketchat");
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.attempts, 2u);
  EXPECT_EQ(calls("rocketchat", "rate_limited"), "1");
  EXPECT_EQ(calls("rocketchat", "ok"), "1");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_retries_total{system="rocketchat"})"), "1");
  // The request's own system replaces the client's default.
  EXPECT_EQ(calls("jira", "ok"), "absent");
}

TEST_F(HttpClientMetrics, ClientErrorIsFinalAndNotRetried) {
  script = {404};
  auto r = get(base + "/scripted");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response.status, 404u);
  EXPECT_EQ(calls("jira", "client_error"), "1");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_retries_total{system="jira"})"), "absent");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_call_seconds_count{system="jira"})"), "1");
}

TEST_F(HttpClientMetrics, UnreachablePortIsTransportPerAttempt) {
  std::uint16_t closed = 0;
  {
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed = a.local_endpoint().port();
  }
  auto r = get("http://127.0.0.1:" + std::to_string(closed) + "/x", "oncall");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, http_failure::connect);
  EXPECT_EQ(r.attempts, 4u);
  EXPECT_EQ(calls("oncall", "transport"), "4");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_retries_total{system="oncall"})"), "3");
}

TEST_F(HttpClientMetrics, BadUrlIsOneTransportCall) {
  auto r = get("ftp://example/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, http_failure::bad_url);
  EXPECT_EQ(calls("jira", "transport"), "1");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_call_seconds_sum{system="jira"})"), "0");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_retries_total{system="jira"})"), "absent");
}

TEST_F(HttpClientMetrics, StaleKeepAliveResendIsNotAnAttempt) {
  ASSERT_TRUE(get(base + "/scripted").ok());
  ASSERT_EQ(client->idle_connections(), 1u);
  // A new server on the same port: the pooled connection to the old one fails at once and the request is resent
  // on a fresh connection, which is not an attempt of its own.
  auto port = server->port();
  server->stop();
  ioc.restart();
  ioc.run_for(milliseconds(20));
  ASSERT_NO_FATAL_FAILURE(start_server(port));
  auto r = get(base + "/scripted");
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_EQ(calls("jira", "ok"), "2");
  EXPECT_EQ(calls("jira", "transport"), "absent");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_call_seconds_count{system="jira"})"), "2");
}

TEST_F(HttpClientMetrics, NoRegistryRecordsNothing) {
  http_client_options o;
  o.retry.max_attempts = 1;
  http_client plain(ioc, o);
  std::optional<http_result> out;
  http_request req;
  req.url = base + "/scripted";
  plain.request(std::move(req), [&](http_result r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(run_until(ioc, [&] { return out.has_value(); }));
  EXPECT_TRUE(out->ok());
  EXPECT_EQ(calls("jira", "ok"), "absent");
}

TEST_F(HttpClientMetrics, NoSystemLabelAnywhereRecordsNothing) {
  // The process's shared client has no default system; a caller that records its own calls (the webhook relay)
  // leaves the request's label empty too.
  http_client_options o;
  o.retry.max_attempts = 2;
  o.retry.base_delay = milliseconds(1);
  o.retry.max_delay = milliseconds(2);
  o.metrics = metrics;
  client.emplace(ioc, o);
  script = {503, 200};
  ASSERT_TRUE(get(base + "/scripted").ok());
  ASSERT_TRUE(get(base + "/scripted", "oncall").ok());
  EXPECT_EQ(calls("", "ok"), "absent");
  EXPECT_EQ(calls("", "server_error"), "absent");
  EXPECT_EQ(value_of(*metrics, R"(dutydesk_outbound_retries_total{system=""})"), "absent");
  EXPECT_EQ(calls("oncall", "ok"), "1");
}

} // namespace dutydesk::io
