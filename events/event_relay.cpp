#include "events/event_relay.hpp"

#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>

#include "actors/error.hpp"
#include "events/nats_publisher.hpp"
#include "events/webhook_sink.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::events::delivery_result)

namespace dutydesk::events {

namespace {

using std::chrono::milliseconds;

/// A relay's own interface: the public tick plus its timers and the sinks' answers.
using relay_actor = event_relay_actor::extend<
  caf::reacts_to<atom::open>,                                 // the sink is reachable again: retry the head now
  caf::reacts_to<atom::done, std::uint64_t, delivery_result>, // the answer to delivery `corr`
  caf::reacts_to<atom::expire, std::uint64_t>,                // the deadline of delivery `corr`
  caf::reacts_to<atom::remind, std::uint64_t>,                // backoff `epoch` ended
  caf::reacts_to<atom::remind>>;                              // the idle poll

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

/// What a relay shares with the handle that started it (its counters, read from other threads).
struct relay_shared {
  std::shared_ptr<event_sink> sink;
  event_store_actor storage;
  std::shared_ptr<metrics::registry> metrics;
  relay_tuning tuning;
  mutable std::mutex m;
  relay_stats stats; // guarded by m

  template <class F>
  void count(F f) {
    std::lock_guard<std::mutex> lock(m);
    f(stats);
  }
};

std::chrono::milliseconds relay_backoff(milliseconds base, milliseconds cap, unsigned failures, milliseconds asked) {
  auto delay = base;
  for (unsigned i = 1; i < failures && delay < cap; ++i)
    delay *= 2;
  return std::max(std::min(delay, cap), asked);
}

std::string event_kind(std::string_view subject) {
  auto dot = subject.rfind('.');
  return std::string{dot == std::string_view::npos ? subject : subject.substr(dot + 1)};
}

namespace {

struct relay_state {
  static constexpr const char* name = "event-relay";
  std::shared_ptr<relay_shared> shared;
  std::deque<storage::outbox_event> queue; // fetched rows not yet delivered, in outbox order
  bool fetching = false;
  bool fetch_again = false;   // a tick came while fetching
  std::uint64_t in_flight = 0; // the delivery awaited (its corr), 0 for none
  std::uint64_t next_corr = 0;
  unsigned failures = 0;      // consecutive failed attempts of the head
  bool rejected = false;      // one of them was a rejection: the long backoff cap applies
  bool backing_off = false;
  std::uint64_t backoff_epoch = 0; // a delayed_send cannot be cancelled: stale timers carry older epochs
};

using self_ptr = relay_actor::stateful_pointer<relay_state>;

void pump(self_ptr self);

/// Keeps the head and retries it (or the fetch) after the backoff.
void fail(self_ptr self, bool rejected, const std::string& why, milliseconds asked = milliseconds(0)) {
  auto& st = self->state;
  const auto& sh = *st.shared;
  ++st.failures;
  st.rejected = st.rejected || rejected;
  auto cap = st.rejected ? sh.tuning.rejected_max : sh.tuning.backoff_max;
  auto delay = relay_backoff(sh.tuning.backoff_base, cap, st.failures, asked);
  auto head = st.queue.empty() ? std::string{"the outbox query"} : "event " + st.queue.front().id;
  if (rejected)
    spdlog::error("events: {} rejects {}: {}; kept, retrying in {} ms", sh.sink->name(), head, why, delay.count());
  else
    spdlog::warn("events: {} fails for {}: {}; retrying in {} ms", sh.sink->name(), head, why, delay.count());
  if (sh.metrics)
    sh.metrics->retry(sh.sink->system());
  st.backing_off = true;
  self->delayed_send(self, delay, atom::remind_v, ++st.backoff_epoch);
}

void fetch(self_ptr self) {
  auto& st = self->state;
  if (st.fetching) {
    st.fetch_again = true;
    return;
  }
  st.fetching = true;
  st.fetch_again = false;
  const auto& sh = *st.shared;
  self->request(sh.storage, sh.tuning.storage_timeout, atom::events_v, actors::events_query{sh.sink->name(), sh.tuning.batch})
    .then(
      [self](std::vector<storage::outbox_event>& rows) {
        auto& st = self->state;
        st.fetching = false;
        for (auto& r : rows)
          st.queue.push_back(std::move(r));
        if (!st.queue.empty())
          pump(self);
        else if (st.fetch_again)
          fetch(self);
      },
      [self](caf::error& err) {
        self->state.fetching = false;
        fail(self, false, "storage: " + dutydesk::describe(err));
      });
}

void deliver_head(self_ptr self) {
  auto& st = self->state;
  auto corr = ++st.next_corr;
  st.in_flight = corr;
  const auto& sink = st.shared->sink;
  self->delayed_send(self, sink->deadline(), atom::expire_v, corr);
  auto me = caf::actor_cast<relay_actor>(self);
  sink->deliver(st.queue.front(),
                [me, corr](delivery_result r) { caf::anon_send(me, atom::done_v, corr, std::move(r)); });
}

void pump(self_ptr self) {
  auto& st = self->state;
  if (st.in_flight != 0 || st.backing_off)
    return;
  if (st.queue.empty())
    fetch(self);
  else
    deliver_head(self);
}

void on_done(self_ptr self, std::uint64_t corr, delivery_result& r) {
  auto& st = self->state;
  if (corr != st.in_flight || st.queue.empty())
    return; // the late answer of a delivery whose deadline passed (it was retried)
  st.in_flight = 0;
  auto sh = st.shared;
  const auto& head = st.queue.front();
  bool delivered = r.v == delivery_result::verdict::delivered;
  if (sh->metrics) {
    sh->metrics->outbound_call(sh->sink->system(), r.call, r.latency);
    if (sh->sink->system() == "nats")
      sh->metrics->event_published(event_kind(head.subject), !delivered ? "error" : r.duplicate ? "duplicate" : "ok");
  }
  if (!delivered) {
    sh->count([](auto& s) { ++s.failures; });
    fail(self, r.v == delivery_result::verdict::rejected, r.error, r.retry_after.value_or(milliseconds(0)));
    return;
  }
  if (st.failures > 0)
    spdlog::info("events: {} takes events again (after {} failed attempts)", sh->sink->name(), st.failures);
  st.failures = 0;
  st.rejected = false;
  sh->count([&](auto& s) {
    ++s.delivered;
    if (r.duplicate)
      ++s.duplicates;
  });
  // The mark and the next fetch go to storage in this order, so the fetch never sees this row again.
  auto id = head.id;
  self->request(sh->storage, sh->tuning.storage_timeout, atom::events_v, actors::events_sent{sh->sink->name(), {id}, now_ms()})
    .then([](bool) {},
          [sh, id](caf::error& err) {
            spdlog::error("events: marking {} delivered to {} fails: {} (it will be delivered again)", id,
                          sh->sink->name(), dutydesk::describe(err));
          });
  st.queue.pop_front();
  pump(self);
}

relay_actor::behavior_type relay_behavior(self_ptr self, std::shared_ptr<relay_shared> shared) {
  self->state.shared = std::move(shared);
  return {
    [self](atom::tick) { pump(self); },
    [self](atom::open) {
      auto& st = self->state;
      if (st.backing_off) {
        st.backing_off = false;
        ++st.backoff_epoch;
      }
      st.failures = 0;
      pump(self);
    },
    [self](atom::done, std::uint64_t corr, delivery_result& r) { on_done(self, corr, r); },
    [self](atom::expire, std::uint64_t corr) {
      auto& st = self->state;
      if (corr != st.in_flight)
        return;
      st.in_flight = 0;
      st.shared->count([](auto& s) {
        ++s.failures;
        ++s.timeouts;
      });
      fail(self, false, "no answer within " + std::to_string(st.shared->sink->deadline().count()) + " ms");
    },
    [self](atom::remind, std::uint64_t epoch) {
      auto& st = self->state;
      if (epoch != st.backoff_epoch || !st.backing_off)
        return;
      st.backing_off = false;
      pump(self);
    },
    [self](atom::remind) {
      pump(self);
      self->delayed_send(self, self->state.shared->tuning.idle_poll, atom::remind_v);
    },
  };
}

} // namespace

struct event_relays::impl {
  caf::actor_system& sys;
  std::shared_ptr<nats_publisher> publisher; // null without a NATS sink
  std::vector<std::pair<relay_actor, std::shared_ptr<relay_shared>>> relays;
  bool stopped = false;

  explicit impl(caf::actor_system& s) : sys(s) {}
};

event_relays::event_relays(std::unique_ptr<impl> x) : impl_(std::move(x)) {}

event_relays::~event_relays() {
  stop();
}

std::string event_relays::prepare(std::chrono::milliseconds timeout) {
  auto& pub = impl_->publisher;
  if (!pub)
    return {};
  auto started = std::chrono::steady_clock::now();
  if (!pub->wait_attempted(timeout)) {
    spdlog::error("nats: the first connect has not returned after {} ms (libnats 3.4.1 can hang in connect, nats.c "
                  "#707); starting without NATS, events wait in the outbox",
                  timeout.count());
    return {};
  }
  if (!pub->connected()) {
    auto problem = pub->stream_problem();
    if (problem.empty())
      spdlog::warn("nats: not reachable at start; events wait in the outbox until it is");
    return problem;
  }
  auto left = timeout - std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  if (pub->wait_ready(std::max(left, milliseconds(0))))
    return {};
  return pub->stream_problem();
}

void event_relays::tick() {
  for (auto& [a, sh] : impl_->relays)
    caf::anon_send(a, atom::tick_v);
}

std::vector<std::string> event_relays::sinks() const {
  std::vector<std::string> out;
  for (const auto& [a, sh] : impl_->relays)
    out.push_back(sh->sink->name());
  return out;
}

event_relay_actor event_relays::relay(const std::string& sink) const {
  for (const auto& [a, sh] : impl_->relays)
    if (sh->sink->name() == sink)
      return a;
  return {};
}

relay_stats event_relays::stats(const std::string& sink) const {
  for (const auto& [a, sh] : impl_->relays)
    if (sh->sink->name() == sink) {
      std::lock_guard<std::mutex> lock(sh->m);
      return sh->stats;
    }
  return {};
}

bool event_relays::nats_connected() const {
  return impl_->publisher && impl_->publisher->connected();
}

void event_relays::stop() {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  {
    caf::scoped_actor self{impl_->sys};
    for (auto& [a, sh] : impl_->relays) {
      self->monitor(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
    }
    bool late = false;
    for (std::size_t i = 0; i < impl_->relays.size() && !late; ++i)
      self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [&] { late = true; });
    if (late)
      spdlog::warn("events: a relay did not stop within 5 s");
  }
  impl_->relays.clear();
  // The relays' sinks are gone with them: this is the last reference, so the connection closes here, off the
  // actors' threads.
  impl_->publisher.reset();
}

std::unique_ptr<event_relays> start_event_relays(caf::actor_system& sys, io::io_runtime& runtime,
                                                 event_store_actor storage, const config::events_config& cfg,
                                                 std::shared_ptr<metrics::registry> metrics, relay_tuning tuning) {
  auto x = std::make_unique<event_relays::impl>(sys);
  std::vector<std::shared_ptr<event_sink>> sinks;
  // Filled before the publisher starts, so its callbacks (libnats threads) only ever read it.
  auto nats_relay = std::make_shared<relay_actor>();
  if (!cfg.nats_url.empty()) {
    nats_options o;
    o.url = cfg.nats_url;
    o.stream = cfg.stream;
    o.subjects = {cfg.subject_prefix + ".>"};
    o.duplicate_window = cfg.duplicate_window;
    o.publish_timeout = tuning.publish_timeout;
    o.connect_timeout = tuning.connect_timeout;
    o.reconnect_wait = tuning.reconnect_wait;
    x->publisher = std::make_shared<nats_publisher>(o, [metrics, nats_relay](bool up) {
      if (metrics)
        metrics->nats_connected(up);
      if (up && *nats_relay)
        caf::anon_send(*nats_relay, atom::open_v);
    });
    if (metrics)
      metrics->nats_connected(false);
    sinks.push_back(std::make_shared<nats_sink>(x->publisher, tuning.connect_timeout + tuning.publish_timeout * 2
                                                                + std::chrono::seconds(1)));
  }
  for (std::size_t i = 0; i < cfg.webhooks.size(); ++i)
    sinks.push_back(std::make_shared<webhook_sink>(
      runtime, i, webhook_options{cfg.webhooks[i].url, cfg.webhooks[i].secret, tuning.webhook_timeout}));
  for (auto& sink : sinks) {
    auto sh = std::make_shared<relay_shared>();
    sh->sink = sink;
    sh->storage = storage;
    sh->metrics = metrics;
    sh->tuning = tuning;
    auto a = sys.spawn(relay_behavior, sh);
    if (sink->system() == "nats")
      *nats_relay = a;
    x->relays.emplace_back(a, sh);
  }
  if (x->publisher)
    x->publisher->start();
  for (auto& [a, sh] : x->relays)
    caf::anon_send(a, atom::remind_v); // the first drain, and the idle poll from then on
  return std::make_unique<event_relays>(std::move(x));
}

std::unique_ptr<event_relays> start_event_relays(caf::actor_system& sys, io::io_runtime& runtime,
                                                 actors::storage_actor storage, const config::events_config& cfg,
                                                 std::shared_ptr<metrics::registry> metrics, relay_tuning tuning) {
  return start_event_relays(sys, runtime, event_store_actor{storage}, cfg, std::move(metrics), tuning);
}

} // namespace dutydesk::events
