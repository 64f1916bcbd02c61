#include "actors/duty_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "actors/error.hpp"

namespace dutydesk::actors {

namespace {

using self_ptr = duty_actor::stateful_pointer<duty_state>;

/// How long an OnCall failure is cached at most: long enough not to hammer a broken OnCall, short enough to
/// recover fast.
constexpr std::chrono::milliseconds error_ttl{5000};

/// Caches the resolution of `room`'s OnCall lookup, records it, logs and counts a miss, and answers everyone
/// waiting for the room.
void settle(self_ptr self, const std::string& room, domain::duty_resolution res) {
  auto& st = self->state;
  if (st.args.metrics) {
    const auto& team = st.args.rooms.at(room).team;
    st.args.metrics->duty_lookup(team.empty() ? room : team, domain::to_string(res.source));
  }
  auto ttl = st.args.ttl;
  if (res.source == domain::duty_source::error)
    ttl = std::min(ttl, error_ttl);
  st.cache[room] = duty_state::entry{res, self->clock().now() + ttl};
  if (res.source != domain::duty_source::ok) {
    ++st.misses;
    spdlog::warn("channel {} tags fallback: {}", room, res.reason);
  }
  auto waiting = std::move(st.waiting[room]);
  st.waiting.erase(room);
  for (auto& rp : waiting)
    rp.deliver(res);
}

} // namespace

duty_actor::behavior_type duty(duty_actor::stateful_pointer<duty_state> self, duty_args args) {
  self->state.args = std::move(args);
  return {
    [self](atom::duty, const std::string& room) -> caf::result<domain::duty_resolution> {
      auto& st = self->state;
      auto ch = st.args.rooms.find(room);
      if (ch == st.args.rooms.end()) {
        domain::oncall_result failed{true, "room not configured", {}};
        auto res = domain::resolve_on_duty(failed, st.args.overrides, {}, {});
        ++st.misses;
        spdlog::warn("channel {} tags fallback: {}", room, res.reason);
        return res;
      }
      auto hit = st.cache.find(room);
      if (hit != st.cache.end() && self->clock().now() < hit->second.expires)
        return hit->second.value;
      auto rp = self->make_response_promise<domain::duty_resolution>();
      auto& queue = st.waiting[room];
      queue.push_back(rp);
      if (queue.size() > 1)
        return rp; // a lookup for the room is in flight: share it
      ++st.lookups;
      self->request(st.args.oncall, st.args.lookup_timeout, atom::lookup_v, ch->second.schedule_id)
        .then(
          [self, room](duty_lookup& found) {
            auto& st = self->state;
            auto ch = st.args.rooms.find(room);
            auto res = domain::resolve_on_duty(found.oncall, st.args.overrides, found.directory, ch->second.fallback);
            settle(self, room, std::move(res));
          },
          [self, room](caf::error& err) {
            auto& st = self->state;
            auto ch = st.args.rooms.find(room);
            domain::oncall_result failed{true, describe(err), {}};
            auto res = domain::resolve_on_duty(failed, st.args.overrides, {}, ch->second.fallback);
            settle(self, room, std::move(res));
          });
      return rp;
    },
  };
}

duty_actor spawn_duty(caf::actor_system& sys, duty_args args) {
  return sys.spawn(duty, std::move(args));
}

} // namespace dutydesk::actors
