#pragma once
// The metrics sampler: every `interval` (and once at start) asks storage for the counts behind the gauges and sets
// them: dutydesk_requests_open{team,status} (every series replaced, so a pair that emptied reads 0) and
// dutydesk_outbox_depth / dutydesk_outbox_oldest_age_seconds for the "events" and "jira" queues. A storage failure
// keeps the last values and is logged; the next tick tries again.

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "metrics/registry.hpp"

namespace dutydesk::actors {

struct metrics_sampler_args {
  storage_actor storage;
  std::shared_ptr<metrics::registry> metrics;
  std::string events_sink = "nats"; // the sink whose undelivered events are the events outbox depth
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds timeout{10000};
  wall_clock now; // for the ages
};

struct metrics_sampler_counts {
  std::uint64_t samples = 0;  // samples set
  std::uint64_t failures = 0; // storage failures
};

struct metrics_sampler_state {
  static constexpr const char* name = "metrics-sampler";
  metrics_sampler_args args;
  metrics_sampler_counts counts;
};

/// `tick`: sample now (sent by the sampler to itself every interval); `status`: samples taken and failed so far.
using metrics_sampler_actor =
  caf::typed_actor<caf::reacts_to<atom::tick>, caf::replies_to<atom::status>::with<metrics_sampler_counts>>;

metrics_sampler_actor spawn_metrics_sampler(caf::actor_system& sys, metrics_sampler_args args);

} // namespace dutydesk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::metrics_sampler_counts)
