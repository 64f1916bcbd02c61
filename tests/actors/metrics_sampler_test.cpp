// The metrics sampler over a real storage actor (SQLite in memory) on CAF's test coordinator: the gauges follow the
// store on every interval, resolved requests leave the open series (which then read 0), and a storage failure
// keeps the last values.

#include "actors/metrics_sampler.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "actors/storage_actor.hpp"
#include "storage/open.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/metrics_text.hpp"

using namespace std::chrono_literals;
using namespace dutydesk;
using test::value_of;

namespace {

class MetricsSampler : public test::deterministic_fixture {
protected:
  std::shared_ptr<storage::store> db;
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
  actors::storage_actor storage_hdl;
  actors::metrics_sampler_actor sampler;

  void SetUp() override {
    auto opened = storage::open_store("sqlite::memory:");
    ASSERT_TRUE(opened);
    db = std::shared_ptr<storage::store>(std::move(*opened));
    storage_hdl = actors::spawn_storage(sys, db, false, wall());
  }

  void TearDown() override {
    caf::anon_send_exit(sampler, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(storage_hdl, caf::exit_reason::user_shutdown);
    run();
  }

  void start() {
    actors::metrics_sampler_args a;
    a.storage = storage_hdl;
    a.metrics = metrics;
    a.interval = 15s;
    a.now = wall();
    sampler = actors::spawn_metrics_sampler(sys, std::move(a));
    run();
  }

  static storage::request_record row(const std::string& id, const std::string& team, const std::string& status) {
    storage::request_record r;
    r.id = id;
    r.room_id = team + "-support";
    r.root_message_id = id;
    r.requester_id = "u1";
    r.requester_username = "dave";
    r.text = "help";
    r.status = status;
    r.team = team;
    r.created_at = r.updated_at = r.last_activity_at = wall_start_ms;
    return r;
  }

  template <class Body>
  void write(Body body) {
    auto t = db->begin();
    ASSERT_TRUE(t.ok());
    body(**t);
    ASSERT_TRUE((*t)->commit().ok());
  }

  std::string open(const std::string& team, const std::string& status) {
    return value_of(*metrics, "dutydesk_requests_open{status=\"" + status + "\",team=\"" + team + "\"}");
  }
  std::string depth(const std::string& queue) {
    return value_of(*metrics, "dutydesk_outbox_depth{queue=\"" + queue + "\"}");
  }
  std::string age(const std::string& queue) {
    return value_of(*metrics, "dutydesk_outbox_oldest_age_seconds{queue=\"" + queue + "\"}");
  }
};

} // namespace

TEST_F(MetricsSampler, gauges_follow_the_store_every_interval_and_keep_their_values_when_storage_fails) {
  write([&](storage::transaction& t) {
    ASSERT_TRUE(t.upsert_request(row("r1", "cicd", "new")).ok());
    ASSERT_TRUE(t.upsert_request(row("r2", "cicd", "new")).ok());
    ASSERT_TRUE(t.upsert_request(row("r3", "infra", "in_progress")).ok());
    storage::outbox_event e;
    e.id = "e1";
    e.request_id = "r1";
    e.subject = "dutydesk.request.cicd.created";
    e.payload = "{}";
    e.created_at = wall_start_ms - 30000;
    ASSERT_TRUE(t.enqueue_event(e).ok());
  });
  start(); // samples at once
  EXPECT_EQ(open("cicd", "new"), "2");
  EXPECT_EQ(open("infra", "in_progress"), "1");
  EXPECT_EQ(depth("events"), "1");
  EXPECT_EQ(age("events"), "30");
  EXPECT_EQ(depth("jira"), "0");
  EXPECT_EQ(age("jira"), "0");

  // r1 and r2 are resolved, the event is sent: on the next interval the cicd series read 0 and the outbox is empty.
  write([&](storage::transaction& t) {
    for (auto id : {"r1", "r2"}) {
      auto r = row(id, "cicd", "done");
      r.resolved_at = wall_start_ms + 1000;
      ASSERT_TRUE(t.upsert_request(r).ok());
    }
    ASSERT_TRUE(t.mark_event_sent("e1", wall_start_ms + 1000).ok());
  });
  advance(14s);
  EXPECT_EQ(open("cicd", "new"), "2"); // not yet
  advance(1s);
  EXPECT_EQ(open("cicd", "new"), "0");
  EXPECT_EQ(open("cicd", "done"), "absent"); // resolved is not open
  EXPECT_EQ(open("infra", "in_progress"), "1");
  EXPECT_EQ(depth("events"), "0");
  EXPECT_EQ(age("events"), "0");
  auto counts = request<actors::metrics_sampler_counts>(sampler, atom::status_v);
  EXPECT_EQ(counts.samples, 2u);
  EXPECT_EQ(counts.failures, 0u);

  // Storage goes away: the values stay, the failure is counted, and the sampler keeps ticking.
  caf::anon_send_exit(storage_hdl, caf::exit_reason::user_shutdown);
  run();
  advance(15s);
  advance(15s);
  EXPECT_EQ(open("infra", "in_progress"), "1");
  counts = request<actors::metrics_sampler_counts>(sampler, atom::status_v);
  EXPECT_EQ(counts.samples, 2u);
  EXPECT_EQ(counts.failures, 2u);
}
