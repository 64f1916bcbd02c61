#pragma once
// The supervisor of one support channel. For each message version the chat adapter delivers:
//   - domain::classify says new_request: unless the root is already a request (in memory, or in storage after a
//     restart), ask the duty actor who is on duty, spawn a request actor with `created` and monitor it (not link:
//     a failed request must not take the supervisor down);
//   - thread_reply: hand it to the request actor of its thread (restoring the request from storage when it is open
//     but not running), else ignore it;
//   - thread_edit: a new version of a thread reply, handed on like a reply (only its Jira comment follows it);
//   - a Jira change of a request (from the Jira bridge): handed to its request actor like a thread reply; a task
//     created in Jira: posted by the bot as a top-level message (id derived from the issue key) that becomes a new
//     request linked to the issue;
//   - any version of a known root: diff its reactions against the last version seen and hand each new (user, emoji)
//     by someone other than the bot to the request actor as `reaction_added`. The first version seen after a start
//     only sets the baseline, so a restart does not replay old reactions.
// The room cursor (storage) moves to the newest message whose handling is finished and older than everything still
// in flight, so a crash re-delivers (via the adapter's backfill) whatever was not finished; handling is idempotent.
// A request actor that exits with an error is restarted after a backoff (0.5 s, doubling, at most 5 times) from its
// stored state, or from its `created` event when it failed before its first save; a normal exit forgets it.

#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "actors/interfaces.hpp"
#include "actors/request_actor.hpp"
#include "domain/message_filter.hpp"
#include "domain/request_lifecycle.hpp"

namespace dutydesk::actors {

/// Spawns a request actor; injectable so that supervisor tests can use a fake.
using request_spawner = std::function<request_actor(caf::actor_system&, request_args)>;

struct channel_args {
  std::string room;                // room name
  domain::lifecycle_params params; // this channel's
  domain::filter_rules filter;     // every channel (the filter checks the room itself)
  chat_actor chat;
  storage_actor storage;
  duty_actor duty;
  std::shared_ptr<const channel_directory> channels;
  wall_clock now;
  request_spawner spawn; // empty: spawn_request
  jira_bridge_actor jira{}; // handed to request actors; unset when Jira is off
  std::shared_ptr<const event_context> events{}; // handed to request actors; unset when events are off
  event_relay_actor relay{};
  std::shared_ptr<metrics::registry> metrics{};
};

struct channel_state {
  static constexpr const char* name = "channel";

  channel_args args;
  struct live_request {
    request_actor handle;
    std::string request_id;
  };
  /// One chat event being handled: it stays in flight until every part of its handling is done (`open` counts the
  /// parts still running).
  struct handling {
    std::int64_t ts_ms = 0;
    std::string message_id;
    int open = 1;
    bool cursor = true;                   // false: not a chat message (a Jira change); the cursor ignores it
    std::function<void()> finished = {};  // called once every part is done
  };
  /// A message handed to a request actor and not answered yet; replayed to the restarted actor if it fails.
  struct forward {
    std::string root;
    caf::actor_addr to;
    std::variant<domain::thread_reply, domain::reaction_added, jira_update, feedback_update> msg;
    std::shared_ptr<handling> job;
  };
  std::map<std::string, live_request> by_root;             // thread root message id -> running request
  std::map<caf::actor_addr, std::string> root_of;          // monitored actor -> root
  std::map<std::string, std::set<std::pair<std::string, std::string>>> reactions; // root -> (emoji, user) seen
  std::map<std::string, std::int64_t> reactions_version;   // root -> updated_ms of the version `reactions` is from
  std::set<std::string> pending_roots;                     // roots being created/restored (lookups in flight)
  std::map<std::string, std::vector<std::function<void()>>> waiters; // root -> work waiting for the pending root
  std::map<std::string, int> restarts_of;                  // root -> restarts after an error exit
  std::map<std::string, domain::created> created_of;       // root -> the event that created it in this process
                                                           // (restarts a request that failed before its first save)
  std::map<std::uint64_t, forward> forwards;               // unanswered messages to request actors
  std::uint64_t next_forward = 0;
  std::multiset<std::int64_t> in_flight;                   // ts of messages being handled
  std::map<std::int64_t, std::string> done;                // finished messages newer than the cursor: ts -> id
  std::int64_t newest_done_ts = 0;                         // the cursor last written
  std::string newest_done_id;
  std::int64_t cursor_written = 0;
  bool exiting = false;
  channel_status stats;
};

/// The behavior; spawn with spawn_channel.
channel_actor::behavior_type channel_supervisor(channel_actor::stateful_pointer<channel_state> self, channel_args args);

/// Spawns a channel supervisor.
channel_actor spawn_channel(caf::actor_system& sys, channel_args args);

} // namespace dutydesk::actors
