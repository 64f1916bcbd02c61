#include "actors/metrics_sampler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "actors/error.hpp"

namespace dutydesk::actors {

namespace {

using self_ptr = metrics_sampler_actor::stateful_pointer<metrics_sampler_state>;

std::chrono::milliseconds age(std::int64_t oldest_ms, std::int64_t now_ms) {
  return std::chrono::milliseconds(oldest_ms == 0 ? 0 : std::max<std::int64_t>(0, now_ms - oldest_ms));
}

void sample(self_ptr self) {
  auto& st = self->state;
  self->request(st.args.storage, st.args.timeout, atom::gauges_v, st.args.events_sink)
    .then(
      [self](storage_gauges& g) {
        auto& st = self->state;
        metrics::open_counts open;
        for (const auto& [team, status, n] : g.open)
          open[{team, status}] += n;
        st.args.metrics->set_requests_open(open);
        auto now = st.args.now().time_since_epoch().count();
        st.args.metrics->set_outbox("events", g.events_pending, age(g.events_oldest_at, now));
        st.args.metrics->set_outbox("jira", g.jira_queued, age(g.jira_oldest_at, now));
        ++st.counts.samples;
      },
      [self](caf::error& e) {
        ++self->state.counts.failures;
        spdlog::warn("metrics: reading the gauges from storage failed: {}", describe(e));
      });
}

metrics_sampler_actor::behavior_type sampler(self_ptr self, metrics_sampler_args args) {
  self->state.args = std::move(args);
  sample(self);
  self->delayed_send(self, self->state.args.interval, atom::tick_v);
  return {
    [self](atom::tick) {
      sample(self);
      self->delayed_send(self, self->state.args.interval, atom::tick_v);
    },
    [self](atom::status) { return self->state.counts; },
  };
}

} // namespace

metrics_sampler_actor spawn_metrics_sampler(caf::actor_system& sys, metrics_sampler_args args) {
  return sys.spawn(sampler, std::move(args));
}

} // namespace dutydesk::actors
