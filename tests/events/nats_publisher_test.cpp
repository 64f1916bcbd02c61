// The JetStream publisher against a real nats-server -js: the stream is created when missing and reused (its
// duplicate window updated), a repeated MsgId is acked as a duplicate with the first sequence, a stopped server makes
// publishes retryable (never a crash) and a restarted one takes them again, and a server that is not there at start
// does not block it.

#include "events/nats_publisher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "nats_fixture.hpp"

using namespace dutydesk;
using namespace std::chrono_literals;
using events::publish_result;

namespace {

class nats_publisher_test : public test::nats_test {
protected:
  events::nats_options options(std::chrono::milliseconds window = 2min) {
    events::nats_options o;
    o.url = server.url();
    o.stream = "TEST_EVENTS";
    o.subjects = {"ddtest.>"};
    o.duplicate_window = window;
    o.publish_timeout = 1000ms;
    o.connect_timeout = 1000ms;
    o.reconnect_wait = 50ms;
    return o;
  }
};

TEST_F(nats_publisher_test, creates_the_stream_when_missing_and_reuses_it) {
  test::jetstream_probe probe(server.url());
  ASSERT_TRUE(probe.ok());
  EXPECT_FALSE(probe.stream("TEST_EVENTS").found);

  {
    events::nats_publisher p(options(2min));
    p.start();
    ASSERT_TRUE(p.wait_ready(10s)) << p.stream_problem();
    EXPECT_TRUE(p.connected());
    auto st = probe.stream("TEST_EVENTS");
    ASSERT_TRUE(st.found);
    EXPECT_EQ(st.duplicates_ns, std::chrono::nanoseconds(2min).count());
    EXPECT_EQ(st.subjects, std::vector<std::string>{"ddtest.>"});
    auto r = p.publish_sync("ddtest.request.cicd.created", R"({"id":"e1"})", "e1");
    ASSERT_EQ(r.kind, publish_result::outcome::ok) << r.error;
    EXPECT_EQ(r.sequence, 1u);
    EXPECT_EQ(p.ensure_stream(), "");
  }

  // A second run with another window keeps the stream and its messages and updates only the window.
  events::nats_publisher p(options(10min));
  p.start();
  ASSERT_TRUE(p.wait_ready(10s)) << p.stream_problem();
  auto st = probe.stream("TEST_EVENTS");
  ASSERT_TRUE(st.found);
  EXPECT_EQ(st.messages, 1u);
  EXPECT_EQ(st.duplicates_ns, std::chrono::nanoseconds(10min).count());
  auto r = p.publish_sync("ddtest.request.cicd.created", R"({"id":"e2"})", "e2");
  ASSERT_EQ(r.kind, publish_result::outcome::ok) << r.error;
  EXPECT_EQ(r.sequence, 2u);
}

TEST_F(nats_publisher_test, the_same_msg_id_twice_is_a_duplicate_with_the_first_sequence) {
  events::nats_publisher p(options());
  p.start();
  ASSERT_TRUE(p.wait_ready(10s)) << p.stream_problem();
  auto a = p.publish_sync("ddtest.request.cicd.created", "one", "id-1");
  auto b = p.publish_sync("ddtest.request.cicd.status_changed", "two", "id-2");
  auto again = p.publish_sync("ddtest.request.cicd.created", "one", "id-1");
  ASSERT_EQ(a.kind, publish_result::outcome::ok) << a.error;
  ASSERT_EQ(b.kind, publish_result::outcome::ok) << b.error;
  ASSERT_EQ(again.kind, publish_result::outcome::ok) << again.error;
  EXPECT_EQ(a.sequence, 1u);
  EXPECT_FALSE(a.duplicate);
  EXPECT_EQ(b.sequence, 2u);
  EXPECT_FALSE(b.duplicate);
  EXPECT_EQ(again.sequence, 1u);
  EXPECT_TRUE(again.duplicate);

  test::jetstream_probe probe(server.url());
  auto got = probe.read("TEST_EVENTS", "ddtest.>", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].msg_id, "id-1");
  EXPECT_EQ(got[0].data, "one");
  EXPECT_EQ(got[1].msg_id, "id-2");
  EXPECT_EQ(got[1].subject, "ddtest.request.cicd.status_changed");
}

TEST_F(nats_publisher_test, a_stopped_server_makes_publishes_retryable_and_a_restarted_one_takes_them) {
  std::atomic<int> ups{0}, downs{0};
  events::nats_publisher p(options(), [&](bool up) { ++(up ? ups : downs); });
  p.start();
  ASSERT_TRUE(p.wait_ready(10s)) << p.stream_problem();
  ASSERT_EQ(p.publish_sync("ddtest.request.a.created", "1", "m1").kind, publish_result::outcome::ok);
  EXPECT_EQ(ups, 1);

  server.stop();
  auto r = p.publish_sync("ddtest.request.a.created", "2", "m2");
  EXPECT_EQ(r.kind, publish_result::outcome::retryable) << r.error;
  ASSERT_TRUE(test::eventually([&] { return !p.connected(); }));
  EXPECT_EQ(downs, 1);
  r = p.publish_sync("ddtest.request.a.created", "2", "m2");
  EXPECT_EQ(r.kind, publish_result::outcome::retryable);
  EXPECT_EQ(r.error, "not connected");

  ASSERT_EQ(server.start(), "");
  ASSERT_TRUE(p.wait_ready(15s)) << p.stream_problem();
  EXPECT_EQ(ups, 2);
  r = p.publish_sync("ddtest.request.a.created", "2", "m2");
  ASSERT_EQ(r.kind, publish_result::outcome::ok) << r.error;
  // The attempt made while the server was going away may have been stored on reconnect: then this is its duplicate.
  EXPECT_EQ(r.sequence, 2u);

  test::jetstream_probe probe(server.url());
  auto got = probe.read("TEST_EVENTS", "ddtest.>", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].msg_id, "m1");
  EXPECT_EQ(got[1].msg_id, "m2");
}

TEST_F(nats_publisher_test, a_server_missing_at_start_does_not_block_and_is_used_once_it_is_up) {
  server.stop();
  events::nats_publisher p(options());
  auto t0 = std::chrono::steady_clock::now();
  p.start();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_FALSE(p.wait_ready(300ms));
  auto r = p.publish_sync("ddtest.request.a.created", "1", "m1");
  EXPECT_EQ(r.kind, publish_result::outcome::retryable);

  ASSERT_EQ(server.start(), "");
  ASSERT_TRUE(p.wait_ready(15s)) << p.stream_problem();
  r = p.publish_sync("ddtest.request.a.created", "1", "m1");
  ASSERT_EQ(r.kind, publish_result::outcome::ok) << r.error;
  EXPECT_EQ(r.sequence, 1u);
}

TEST_F(nats_publisher_test, a_subject_outside_the_stream_is_retryable_and_publishing_before_start_is_refused) {
  events::nats_publisher idle(options());
  auto refused = idle.publish_sync("ddtest.x", "1", "x1");
  EXPECT_EQ(refused.kind, publish_result::outcome::retryable);
  EXPECT_EQ(refused.error, "not started");

  events::nats_publisher p(options());
  p.start();
  ASSERT_TRUE(p.wait_ready(10s)) << p.stream_problem();
  auto r = p.publish_sync("elsewhere.request.a.created", "1", "o1");
  EXPECT_EQ(r.kind, publish_result::outcome::retryable);
  EXPECT_NE(r.error.find("o responders"), std::string::npos) << r.error;
}

} // namespace
