#pragma once
// The on-duty of each channel: asks the OnCall adapter for the channel's schedule and resolves the answer with
// domain::resolve_on_duty (the config's user overrides and the channel's fallback). Answers are cached per room for
// `ttl` of actor-clock time; concurrent asks for the same room share one lookup. A miss (empty rota, unmapped user,
// OnCall error) is logged with its reason and counted; it is never an error for the asker. Every OnCall lookup
// (not a cache hit, not an unconfigured room) is recorded as dutydesk_oncall_lookups_total{team,result} with the
// resolution's source as result (ok, empty, unmapped, error; a lookup timeout is an error).

#include <caf/stateful_actor.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"
#include "domain/duty_rules.hpp"
#include "metrics/registry.hpp"

namespace dutydesk::actors {

struct duty_channel {
  std::string schedule_id;
  std::vector<std::string> fallback;
  std::string team{}; // the `team` label of the channel's lookups; "" = the room name
};

struct duty_args {
  std::map<std::string, duty_channel> rooms; // by room name
  std::vector<domain::duty_override> overrides;
  oncall_actor oncall;
  std::chrono::milliseconds ttl{60000};
  std::chrono::milliseconds lookup_timeout{15000};
  std::shared_ptr<metrics::registry> metrics{}; // where lookups are recorded; nothing is recorded when null
};

struct duty_state {
  static constexpr const char* name = "duty";

  duty_args args;
  struct entry {
    domain::duty_resolution value;
    caf::actor_clock::time_point expires;
  };
  std::map<std::string, entry> cache;
  std::map<std::string, std::vector<caf::typed_response_promise<domain::duty_resolution>>> waiting;
  std::uint64_t lookups = 0;
  std::uint64_t misses = 0; // resolutions that were not `ok`
};

duty_actor::behavior_type duty(duty_actor::stateful_pointer<duty_state> self, duty_args args);

duty_actor spawn_duty(caf::actor_system& sys, duty_args args);

} // namespace dutydesk::actors
