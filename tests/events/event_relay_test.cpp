// The event relays with a real actor system, a real nats-server -js and a local HTTP receiver, over an in-memory
// outbox actor (the relay's two storage queries): every event reaches JetStream exactly once and in outbox order, also
// across a NATS outage in the middle of a drain; a webhook receiver gets every event in order with a valid signature,
// and after a burst of 5xx answers and a rejection still gets each event accepted exactly once. Plus the pure helpers
// (backoff, kind label, webhook answer classes).

#include "events/event_relay.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "events/webhook_sink.hpp"
#include "io/hmac.hpp"
#include "io/http_server.hpp"
#include "io/io_runtime.hpp"
#include "nats_fixture.hpp"
#include "storage/open.hpp"

using namespace dutydesk;
using namespace std::chrono_literals;

namespace {

// -- pure helpers -------------------------------------------------------------------------------------------------

TEST(relay_backoff, doubles_from_the_base_up_to_the_cap_and_honours_a_longer_wait) {
  EXPECT_EQ(events::relay_backoff(500ms, 30s, 1), 500ms);
  EXPECT_EQ(events::relay_backoff(500ms, 30s, 2), 1000ms);
  EXPECT_EQ(events::relay_backoff(500ms, 30s, 7), 30000ms);
  EXPECT_EQ(events::relay_backoff(500ms, 30s, 8), 30000ms);
  EXPECT_EQ(events::relay_backoff(500ms, 30s, 200), 30000ms);
  EXPECT_EQ(events::relay_backoff(500ms, 300s, 11), 300000ms);
  EXPECT_EQ(events::relay_backoff(500ms, 30s, 1, 4000ms), 4000ms);
}

TEST(event_kind, is_the_last_subject_token) {
  EXPECT_EQ(events::event_kind("dutydesk.request.cicd.created"), "created");
  EXPECT_EQ(events::event_kind("dutydesk.request.dba.status_changed"), "status_changed");
  EXPECT_EQ(events::event_kind("plain"), "plain");
}

TEST(classify_webhook_answer, delivers_2xx_retries_408_429_5xx_and_no_answer_rejects_the_rest) {
  using v = events::delivery_result::verdict;
  EXPECT_EQ(events::classify_webhook_answer(200).v, v::delivered);
  EXPECT_EQ(events::classify_webhook_answer(204).v, v::delivered);
  EXPECT_EQ(events::classify_webhook_answer(0).v, v::retry);
  EXPECT_EQ(events::classify_webhook_answer(0).call, metrics::call_result::transport);
  EXPECT_EQ(events::classify_webhook_answer(408).v, v::retry);
  EXPECT_EQ(events::classify_webhook_answer(429).v, v::retry);
  EXPECT_EQ(events::classify_webhook_answer(429).call, metrics::call_result::rate_limited);
  EXPECT_EQ(events::classify_webhook_answer(500).v, v::retry);
  EXPECT_EQ(events::classify_webhook_answer(503).call, metrics::call_result::server_error);
  EXPECT_EQ(events::classify_webhook_answer(400).v, v::rejected);
  EXPECT_EQ(events::classify_webhook_answer(404).v, v::rejected);
  EXPECT_EQ(events::classify_webhook_answer(301).v, v::rejected);
}

// -- an in-memory outbox ------------------------------------------------------------------------------------------

/// The outbox rows and which sink marked which ids (in marking order); shared by the test thread and the actor.
struct outbox {
  std::mutex m;
  std::vector<storage::outbox_event> rows;
  std::map<std::string, std::vector<std::string>> marked;

  void add(storage::outbox_event e) {
    std::lock_guard<std::mutex> lock(m);
    e.position = static_cast<std::int64_t>(rows.size()) + 1;
    rows.push_back(std::move(e));
  }
  std::vector<std::string> marked_by(const std::string& sink) {
    std::lock_guard<std::mutex> lock(m);
    return marked[sink];
  }
};

events::event_store_actor::behavior_type outbox_store(events::event_store_actor::pointer, std::shared_ptr<outbox> box) {
  return {
    [box](atom::events, actors::events_query& q) {
      std::lock_guard<std::mutex> lock(box->m);
      const auto& done = box->marked[q.sink];
      std::set<std::string> seen(done.begin(), done.end());
      std::vector<storage::outbox_event> out;
      for (const auto& r : box->rows)
        if (seen.count(r.id) == 0 && out.size() < q.limit)
          out.push_back(r);
      return out;
    },
    [box](atom::events, actors::events_sent& s) {
      std::lock_guard<std::mutex> lock(box->m);
      for (auto& id : s.ids)
        box->marked[s.sink].push_back(id);
      return true;
    },
  };
}

struct relay_system_config : caf::actor_system_config {
  relay_system_config() { set("scheduler.max-threads", 2); }
};

/// The i-th event of a run: requests r0, r1, r2 take turns; each request's events count up.
storage::outbox_event make_event(std::size_t i) {
  static const char* kinds[] = {"created", "status_changed", "commented"};
  auto request = "r" + std::to_string(i % 3);
  auto n = i / 3;
  storage::outbox_event e;
  e.id = request + "/event/" + std::to_string(n);
  e.request_id = request;
  e.subject = std::string{"ddtest.request.team"} + std::to_string(i % 3) + "." + kinds[n % 3];
  e.payload = nlohmann::json{{"specversion", "1.0"}, {"id", e.id}, {"source", "/dutydesk"},
                             {"type", std::string{"dutydesk.request."} + kinds[n % 3]}, {"subject", request},
                             {"data", {{"request_id", request}, {"n", n}}}}
                .dump();
  e.created_at = 1'700'000'000'000 + static_cast<std::int64_t>(i);
  return e;
}

std::vector<std::string> ids_of(std::size_t from, std::size_t to) {
  std::vector<std::string> out;
  for (auto i = from; i < to; ++i)
    out.push_back(make_event(i).id);
  return out;
}

class relay_test : public ::testing::Test {
protected:
  void SetUp() override {
    runtime.start();
    store = sys.spawn(outbox_store, box);
    tuning.backoff_base = 20ms;
    tuning.backoff_max = 200ms;
    tuning.rejected_max = 400ms;
    tuning.idle_poll = 250ms;
    tuning.publish_timeout = 1000ms;
    tuning.connect_timeout = 1000ms;
    tuning.reconnect_wait = 50ms;
    tuning.webhook_timeout = 2000ms;
    cfg.subject_prefix = "ddtest";
    cfg.stream = "TEST_EVENTS";
    cfg.duplicate_window = 2min;
  }

  void TearDown() override {
    if (relays)
      relays->stop();
    relays.reset();
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    runtime.stop();
  }

  void add(std::size_t from, std::size_t to) {
    for (auto i = from; i < to; ++i)
      box->add(make_event(i));
    relays->tick();
  }

  std::string metrics_text() {
    std::ostringstream out;
    prometheus::TextSerializer{}.Serialize(out, registry->prometheus()->Collect());
    return out.str();
  }

  relay_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  io::io_runtime runtime;
  std::shared_ptr<outbox> box = std::make_shared<outbox>();
  events::event_store_actor store;
  events::relay_tuning tuning;
  config::events_config cfg;
  std::shared_ptr<metrics::registry> registry = std::make_shared<metrics::registry>();
  std::unique_ptr<events::event_relays> relays;
};

// -- NATS ---------------------------------------------------------------------------------------------------------

class nats_relay_test : public relay_test {
protected:
  void SetUp() override {
    if (test::nats_server_binary().empty())
      GTEST_SKIP() << "nats-server not found; set DUTYDESK_NATS_SERVER";
    relay_test::SetUp();
    ASSERT_EQ(server.start(), "");
    cfg.nats_url = server.url();
  }

  /// What the stream holds, in stream order: (Nats-Msg-Id, subject), checked against the payload's id.
  std::vector<std::string> stream_ids(std::size_t n) {
    test::jetstream_probe probe(server.url());
    std::vector<std::string> out;
    for (auto& m : probe.read("TEST_EVENTS", "ddtest.>", n)) {
      auto j = nlohmann::json::parse(m.data, nullptr, false);
      EXPECT_EQ(j.value("id", ""), m.msg_id);
      out.push_back(m.msg_id);
    }
    return out;
  }

  test::nats_server server;
};

TEST_F(nats_relay_test, publishes_every_event_once_in_outbox_order_and_marks_it) {
  relays = events::start_event_relays(sys, runtime, store, cfg, registry, tuning);
  EXPECT_EQ(relays->sinks(), std::vector<std::string>{"nats"});
  ASSERT_EQ(relays->prepare(10s), "");
  EXPECT_TRUE(relays->nats_connected());
  add(0, 30);
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("nats").size() >= 30; }));
  EXPECT_EQ(box->marked_by("nats"), ids_of(0, 30));
  EXPECT_EQ(stream_ids(30), ids_of(0, 30));
  auto st = relays->stats("nats");
  EXPECT_EQ(st.delivered, 30u);
  EXPECT_EQ(st.duplicates, 0u);
  EXPECT_EQ(st.failures, 0u);
  auto text = metrics_text();
  EXPECT_NE(text.find(R"(dutydesk_events_published_total{kind="created",result="ok"} 12)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(dutydesk_events_published_total{kind="commented",result="ok"} 9)"), std::string::npos);
  EXPECT_NE(text.find("dutydesk_nats_connected 1"), std::string::npos);

  // Later rows drain on the next tick, continuing the order.
  add(30, 36);
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("nats").size() >= 36; }));
  EXPECT_EQ(stream_ids(36), ids_of(0, 36));
}

TEST_F(nats_relay_test, an_outage_in_the_middle_of_a_drain_loses_nothing_and_duplicates_nothing) {
  relays = events::start_event_relays(sys, runtime, store, cfg, registry, tuning);
  ASSERT_EQ(relays->prepare(10s), "");
  add(0, 60);
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("nats").size() >= 5; }));
  server.stop();
  ASSERT_TRUE(test::eventually([&] { return !relays->nats_connected(); }));
  add(60, 70);
  auto during = box->marked_by("nats").size();
  EXPECT_LT(during, 70u);
  ASSERT_EQ(server.start(), "");
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("nats").size() >= 70; }, 30s));
  EXPECT_EQ(box->marked_by("nats"), ids_of(0, 70)); // each marked once, in order
  EXPECT_EQ(stream_ids(70), ids_of(0, 70));         // each stored once, in order
  EXPECT_TRUE(relays->nats_connected());
  auto text = metrics_text();
  EXPECT_NE(text.find("dutydesk_nats_connected 1"), std::string::npos) << text;
}

TEST_F(nats_relay_test, an_unreachable_server_does_not_block_start_and_the_backlog_drains_once_it_is_up) {
  server.stop();
  box->add(make_event(0));
  box->add(make_event(1));
  relays = events::start_event_relays(sys, runtime, store, cfg, registry, tuning);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(relays->prepare(5s), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(relays->nats_connected());
  add(2, 9);
  ASSERT_EQ(server.start(), "");
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("nats").size() >= 9; }, 30s));
  EXPECT_EQ(box->marked_by("nats"), ids_of(0, 9));
  EXPECT_EQ(stream_ids(9), ids_of(0, 9));
  EXPECT_GT(relays->stats("nats").failures, 0u);
}

// -- webhooks -----------------------------------------------------------------------------------------------------

/// A receiver on the runtime's io_context: records every request and answers from a script (then 200).
class webhook_relay_test : public relay_test {
protected:
  struct received {
    std::string event_id;
    std::string content_type;
    bool signature_ok = false;
    std::string body_id;
    unsigned answered = 0;
  };

  void SetUp() override {
    relay_test::SetUp();
    server = std::make_unique<io::http_server>(runtime.context());
    server->on("POST", "/hook", [this](io::http_server_request req, io::http_server::respond respond) {
      received r;
      r.event_id = req.header("x-dutydesk-event-id").value_or("");
      r.content_type = req.header("content-type").value_or("");
      r.signature_ok = io::verify_hub_signature(secret, req.body, req.header("x-dutydesk-signature").value_or(""));
      auto j = nlohmann::json::parse(req.body, nullptr, false);
      r.body_id = j.is_object() ? j.value("id", "") : "";
      {
        std::lock_guard<std::mutex> lock(m);
        r.answered = 200;
        if (!script.empty()) {
          r.answered = script.front();
          script.pop_front();
        }
        log.push_back(r);
      }
      respond(io::http_server_response{r.answered, "application/json", "{}", {}});
    });
    std::string err;
    runtime.run_sync([&] { err = server->listen(); });
    ASSERT_EQ(err, "");
    cfg.webhooks = {config::event_webhook{"http://127.0.0.1:" + std::to_string(server->port()) + "/hook", secret}};
  }

  void TearDown() override {
    relay_test::TearDown();
    server.reset(); // the io thread is stopped: stopping the server here is allowed
  }

  std::vector<received> requests() {
    std::lock_guard<std::mutex> lock(m);
    return log;
  }

  /// The ids the receiver accepted (answered 2xx), in arrival order.
  std::vector<std::string> accepted() {
    std::vector<std::string> out;
    for (auto& r : requests())
      if (r.answered == 200)
        out.push_back(r.event_id);
    return out;
  }

  const std::string secret = "hook-s3cret";
  std::mutex m;
  std::deque<unsigned> script;
  std::vector<received> log;
  std::unique_ptr<io::http_server> server;
};

TEST_F(webhook_relay_test, posts_every_event_in_order_signed_as_a_structured_cloudevent) {
  relays = events::start_event_relays(sys, runtime, store, cfg, registry, tuning);
  EXPECT_EQ(relays->sinks(), std::vector<std::string>{"webhook:0"});
  EXPECT_EQ(relays->prepare(1s), "");
  add(0, 12);
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("webhook:0").size() >= 12; }));
  EXPECT_EQ(box->marked_by("webhook:0"), ids_of(0, 12));
  auto got = requests();
  ASSERT_EQ(got.size(), 12u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].event_id, make_event(i).id);
    EXPECT_EQ(got[i].body_id, make_event(i).id);
    EXPECT_EQ(got[i].content_type, "application/cloudevents+json");
    EXPECT_TRUE(got[i].signature_ok) << i;
  }
  EXPECT_TRUE(box->marked_by("nats").empty());
  auto text = metrics_text();
  EXPECT_NE(text.find(R"(dutydesk_outbound_calls_total{result="ok",system="webhook"} 12)"), std::string::npos)
    << text;
}

TEST_F(webhook_relay_test, after_a_5xx_burst_and_a_rejection_every_event_is_accepted_exactly_once_in_order) {
  {
    std::lock_guard<std::mutex> lock(m);
    script = {500, 500, 503, 500, 400};
  }
  relays = events::start_event_relays(sys, runtime, store, cfg, registry, tuning);
  add(0, 12);
  ASSERT_TRUE(test::eventually([&] { return box->marked_by("webhook:0").size() >= 12; }));
  EXPECT_EQ(box->marked_by("webhook:0"), ids_of(0, 12));
  EXPECT_EQ(accepted(), ids_of(0, 12));
  auto got = requests();
  ASSERT_EQ(got.size(), 17u);
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_EQ(got[i].event_id, make_event(0).id) << "the head is retried, nothing overtakes it";
  auto st = relays->stats("webhook:0");
  EXPECT_EQ(st.delivered, 12u);
  EXPECT_EQ(st.failures, 5u);
}

// -- the real storage actor, both sinks ---------------------------------------------------------------------------

/// The storage actor over SQLite in memory, with the NATS sink and a webhook sink draining the same outbox.
class storage_relay_test : public webhook_relay_test {
protected:
  void SetUp() override {
    if (test::nats_server_binary().empty())
      GTEST_SKIP() << "nats-server not found; set DUTYDESK_NATS_SERVER";
    webhook_relay_test::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_EQ(nats.start(), "");
    cfg.nats_url = nats.url();
    auto opened = storage::open_store("sqlite::memory:");
    ASSERT_TRUE(opened);
    real = actors::spawn_storage(sys, std::shared_ptr<storage::store>(std::move(*opened)), false);
  }

  void TearDown() override {
    webhook_relay_test::TearDown();
    if (real)
      caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
  }

  /// Saves event i with its request's record, as a request actor's step does (one transaction).
  void save(std::size_t i) {
    auto e = make_event(i);
    domain::request_record r;
    r.request_id = e.request_id;
    r.room = "cicd-support";
    r.root_message_id = e.request_id;
    r.requester = "carol";
    r.text = "help";
    r.phase = domain::request_phase::active;
    r.status = "open";
    bool saved = false;
    caf::scoped_actor self{sys};
    self->request(real, 10s, atom::save_v, actors::persist_request{r, std::nullopt, {}, {e}})
      .receive([&](bool ok) { saved = ok; }, [&](caf::error& err) { ADD_FAILURE() << dutydesk::describe(err); });
    ASSERT_TRUE(saved) << i;
  }

  std::size_t pending(const std::string& sink) {
    std::size_t n = 999;
    caf::scoped_actor self{sys};
    self->request(real, 10s, atom::events_v, actors::events_query{sink, 1000})
      .receive([&](std::vector<storage::outbox_event>& xs) { n = xs.size(); },
               [&](caf::error& err) { ADD_FAILURE() << dutydesk::describe(err); });
    return n;
  }

  test::nats_server nats;
  actors::storage_actor real;
};

TEST_F(storage_relay_test, both_sinks_drain_the_stored_outbox_in_order_and_storage_marks_each) {
  for (std::size_t i = 0; i < 9; ++i)
    save(i);
  ASSERT_EQ(pending("nats"), 9u);
  ASSERT_EQ(pending("webhook:0"), 9u);
  relays = events::start_event_relays(sys, runtime, real, cfg, registry, tuning);
  EXPECT_EQ(relays->sinks(), (std::vector<std::string>{"nats", "webhook:0"}));
  ASSERT_EQ(relays->prepare(10s), "");
  for (std::size_t i = 9; i < 15; ++i)
    save(i);
  relays->tick();
  ASSERT_TRUE(test::eventually([&] { return pending("nats") == 0 && pending("webhook:0") == 0; }));
  EXPECT_EQ(accepted(), ids_of(0, 15));
  test::jetstream_probe probe(nats.url());
  std::vector<std::string> stored;
  for (auto& m : probe.read("TEST_EVENTS", "ddtest.>", 15))
    stored.push_back(m.msg_id);
  EXPECT_EQ(stored, ids_of(0, 15));
  EXPECT_EQ(relays->stats("nats").delivered, 15u);
  EXPECT_EQ(relays->stats("webhook:0").delivered, 15u);
}

} // namespace
