// metrics::exposer: serves the registry on GET /metrics, and a taken port is an error text, not an exception.

#include <gtest/gtest.h>

#include <memory>

#include "metrics/exposer.hpp"
#include "metrics/registry.hpp"
#include "tests/metrics/loopback.hpp"

namespace {

using dutydesk::metrics::exposer;
using dutydesk::metrics::registry;

} // namespace

TEST(MetricsExposer, ServesMetricsOnAnEphemeralPort) {
  auto m = std::make_shared<registry>();
  m->request_created("cicd", "chat");
  m->set_requests_open({{{"cicd", "new"}, 3}});
  exposer ex{m, "127.0.0.1", 0};
  EXPECT_EQ(ex.port(), 0);
  ASSERT_EQ(ex.listen(), "");
  ASSERT_NE(ex.port(), 0);
  auto ans = dutydesk::test::http_get(ex.port(), "/metrics");
  ASSERT_TRUE(ans);
  EXPECT_EQ(ans->status, 200);
  EXPECT_NE(ans->headers.find("text/plain"), std::string::npos) << ans->headers;
  EXPECT_NE(ans->body.find("# TYPE dutydesk_requests_created_total counter\n"), std::string::npos) << ans->body;
  EXPECT_NE(ans->body.find("dutydesk_requests_created_total{source=\"chat\",team=\"cicd\"} 1\n"), std::string::npos);
  EXPECT_NE(ans->body.find("dutydesk_requests_open{status=\"new\",team=\"cicd\"} 3\n"), std::string::npos);

  // A later recording shows in the next scrape.
  m->request_created("cicd", "chat");
  ans = dutydesk::test::http_get(ex.port(), "/metrics");
  ASSERT_TRUE(ans);
  EXPECT_NE(ans->body.find("dutydesk_requests_created_total{source=\"chat\",team=\"cicd\"} 2\n"), std::string::npos);
}

TEST(MetricsExposer, OtherPathsAreNotFound) {
  auto m = std::make_shared<registry>();
  exposer ex{m, "127.0.0.1", 0};
  ASSERT_EQ(ex.listen(), "");
  auto ans = dutydesk::test::http_get(ex.port(), "/nope");
  ASSERT_TRUE(ans);
  EXPECT_EQ(ans->status, 404);
}

TEST(MetricsExposer, BusyPortIsAnErrorText) {
  dutydesk::test::bound_socket busy;
  ASSERT_NE(busy.port(), 0);
  auto m = std::make_shared<registry>();
  exposer ex{m, "127.0.0.1", busy.port()};
  auto err = ex.listen();
  EXPECT_NE(err, "");
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(busy.port())), std::string::npos) << err;
  EXPECT_EQ(ex.port(), 0);
}

TEST(MetricsExposer, StopClosesThePortAndListenIsIdempotent) {
  auto m = std::make_shared<registry>();
  exposer ex{m, "127.0.0.1", 0};
  ASSERT_EQ(ex.listen(), "");
  auto port = ex.port();
  EXPECT_EQ(ex.listen(), ""); // already serving
  EXPECT_EQ(ex.port(), port);
  ex.stop();
  EXPECT_EQ(ex.port(), 0);
  EXPECT_FALSE(dutydesk::test::http_get(port, "/metrics"));
  ex.stop();
  // The same port can be served again.
  exposer again{m, "127.0.0.1", port};
  EXPECT_EQ(again.listen(), "");
  EXPECT_EQ(again.port(), port);
}

TEST(MetricsExposer, UnbindableAddressIsAnErrorText) {
  auto m = std::make_shared<registry>();
  exposer ex{m, "192.0.2.1", 0}; // TEST-NET-1: not an address of this host
  EXPECT_NE(ex.listen(), "");
  EXPECT_EQ(ex.port(), 0);
}
