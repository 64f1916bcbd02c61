#pragma once
// The event relays (docs/events.md): one actor per sink ("nats", "webhook:<n>") that drains the durable event outbox
// in global order. A relay asks storage for the sink's undelivered rows, delivers them strictly one at a time (so an
// event is never delivered before every earlier one was acked), marks each delivered row with its sink, and on a
// failure keeps the row at the head and retries it after a backoff: 500 ms doubling to 30 s while the sink is down,
// up to 5 min while it rejects events (a 4xx, a JetStream refusal). Nothing is ever dropped; receivers dedupe on
// the CloudEvents id (NATS does it for us through Nats-Msg-Id within the stream's duplicate window).
//
// Wake-ups: `tick` after a save that wrote events (and a slow idle poll as a safety net), the NATS connection
// coming back, and the relay's own backoff timers. A delivery whose answer does not come within the sink's deadline
// counts as a retry (a libnats call stuck in a dead connection cannot stall the relay).

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"
#include "config/config.hpp"
#include "events/event_sink.hpp"
#include "metrics/registry.hpp"

namespace dutydesk::io {
class io_runtime;
}

namespace dutydesk::events {

/// A relay as others see it: woken when the outbox has new rows; sent by whoever saved them (and the relay itself).
using event_relay_actor = caf::typed_actor<caf::reacts_to<atom::tick>>;

/// The part of the storage actor a relay uses (a storage_actor converts to it).
using event_store_actor = caf::typed_actor<
  caf::replies_to<atom::events, actors::events_query>::with<std::vector<storage::outbox_event>>,
  caf::replies_to<atom::events, actors::events_sent>::with<bool>>;

/// Timing of the relays; every value is a parameter so tests can make it small.
struct relay_tuning {
  std::size_t batch = 100;                           // rows fetched per storage query
  std::chrono::milliseconds backoff_base{500};       // first retry delay; doubles per failure
  std::chrono::milliseconds backoff_max{30000};      // cap while the sink is down
  std::chrono::milliseconds rejected_max{300000};    // cap while the sink rejects events
  std::chrono::milliseconds idle_poll{5000};         // outbox poll without a tick
  std::chrono::milliseconds storage_timeout{30000};
  std::chrono::milliseconds publish_timeout{5000};   // NATS MaxWait
  std::chrono::milliseconds connect_timeout{5000};   // NATS connect attempt
  std::chrono::milliseconds reconnect_wait{500};     // NATS reconnect attempts
  std::chrono::milliseconds webhook_timeout{10000};  // per webhook delivery
};

/// The delay after `failures` consecutive failures (1 = the first): base * 2^(failures-1), at most `cap`, and at
/// least what the sink asked for.
std::chrono::milliseconds relay_backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        unsigned failures,
                                        std::chrono::milliseconds asked = std::chrono::milliseconds(0));

/// The `kind` metrics label of an event subject: its last token ("dutydesk.request.cicd.created" → "created").
std::string event_kind(std::string_view subject);

/// Counters of one relay, for tests and health reports.
struct relay_stats {
  std::uint64_t delivered = 0;  // rows marked delivered (duplicates included)
  std::uint64_t duplicates = 0; // of them, acked by JetStream as duplicates
  std::uint64_t failures = 0;   // attempts that did not deliver (retry or rejected)
  std::uint64_t timeouts = 0;   // of them, no answer within the sink's deadline
};

/// The running relays of a process.
class event_relays {
public:
  struct impl;
  explicit event_relays(std::unique_ptr<impl> x);
  /// stop().
  ~event_relays();
  event_relays(const event_relays&) = delete;
  event_relays& operator=(const event_relays&) = delete;

  /// Waits (at most `timeout`) for the NATS connection and the stream, at start. Answers "" when they are ready, when
  /// there is no NATS sink, or when the server is merely unreachable (the relay connects in the background and
  /// ensures the stream once connected); else the problem (e.g. the stream cannot be created). Blocks the caller.
  std::string prepare(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Wakes every relay (new outbox rows).
  void tick();

  /// The relays' sink names, "nats" first when configured.
  std::vector<std::string> sinks() const;

  /// The relay of `sink`; an invalid handle for an unknown sink.
  event_relay_actor relay(const std::string& sink) const;

  /// Counters of `sink`'s relay (zeros for an unknown sink).
  relay_stats stats(const std::string& sink) const;

  /// True while the NATS connection is up (false without a NATS sink).
  bool nats_connected() const;

  /// Stops the relays (waiting for them, at most a few seconds) and closes the NATS connection. Idempotent.
  void stop();

private:
  std::unique_ptr<impl> impl_;
};

/// Spawns one relay per sink: "nats" when `cfg.nats_url` is set (the stream `cfg.stream` over
/// "<subject_prefix>.>" with `cfg.duplicate_window`), and "webhook:<i>" per `cfg.webhooks[i]`. `metrics` may be null.
/// Starts the NATS connection in the background; never blocks on it.
std::unique_ptr<event_relays> start_event_relays(caf::actor_system& sys, io::io_runtime& runtime,
                                                 actors::storage_actor storage, const config::events_config& cfg,
                                                 std::shared_ptr<metrics::registry> metrics,
                                                 relay_tuning tuning = {});

/// The same over any actor that answers the relay's two storage queries (tests use an in-memory outbox).
std::unique_ptr<event_relays> start_event_relays(caf::actor_system& sys, io::io_runtime& runtime,
                                                 event_store_actor storage, const config::events_config& cfg,
                                                 std::shared_ptr<metrics::registry> metrics,
                                                 relay_tuning tuning = {});

} // namespace dutydesk::events
