#pragma once
// The actor of one request: it feeds chat traffic and its own timers into domain::request_lifecycle and carries out
// the effects in order, one event at a time (events that arrive meanwhile wait in a queue):
//   post_thread / dm_user / add_reaction / remove_reaction / repost: claim the effect's key in storage; fresh or
//     pending → do it through the chat actor (posts carry an id derived from the key, so a pending claim left by a
//     crash is simply redone and Rocket.Chat keeps one message), then mark it done; done → skip.
//   arm_reminder: delayed_send(self, deadline - now, remind, epoch); a fired timer with a stale epoch is dropped by
//     the machine. cancel_reminders: nothing to do (the epoch moved on).
//   persist: storage save; the event's reply (if any) is sent after it.
//   repost: after the post, the target channel's supervisor adopts the repost as a new request, then the machine
//     gets `moved{permalink}` and its effects join the current run. The target is looked up in the channel
//     directory first; a room without a supervisor fails the actor with ec::unknown_room before anything is posted.
//     The repost's key is marked done with the repost's permalink as its result (the message id is its `msg`
//     parameter), so a replay that finds it done still adopts and finishes the move without posting again.
//   close_request: the actor quits (normal exit) once the queue is empty; events queued meanwhile are still
//     handled and answered (a moved request answers commands with the "moved there" note).
//   jira_action: collected and written to the Jira outbox by the step's persist (same transaction); after the save
//     the Jira bridge is woken to carry them out.
//   publish_event: rendered (actors/event_render) and written to the event outbox by the step's persist when events
//     are configured; the relays are woken after the save. Every event also feeds the metrics (created, status
//     transitions, first response, resolution, reopens, ratings).
//   dm_user with buttons: the survey; edit_dm: changes a survey's text (withdrawn, expired); arm_survey:
//     delayed_send(self, deadline - now, expire, round).
//   mirror_status_change / request_final: logged.
//   A `jira` message (what Jira said: the link, a comment, a status, an assignee, a problem) is an event like a
//   thread reply: stepped in turn and answered once carried out. When its turn comes after the request was moved,
//   a comment, status or assignee change is handed on to the request the move created instead (moved_on), and
//   answered once that one took it: the issue follows the move only when the bridge links it to the new request,
//   and what Jira said in between must not be dropped (found by the chaos run: a Jira comment lost that way).
//   `get` waits in the same queue, so it answers the state after every event that arrived before it.
// A failed chat or storage call fails the actor (exit reason = the error): the supervisor restarts it from the
// stored state, and the keys make the replay safe.

#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/event_render.hpp"
#include "actors/interfaces.hpp"
#include "metrics/registry.hpp"
#include "domain/request_lifecycle.hpp"

namespace dutydesk::actors {

/// What a request actor talks to.
struct request_deps {
  chat_actor chat;
  storage_actor storage;
  std::shared_ptr<const channel_directory> channels;
  wall_clock now;
  jira_bridge_actor jira{}; // woken after a save that queued Jira actions; unset when Jira is off
  std::shared_ptr<const event_context> events{}; // set: the step's events go to the event outbox
  event_relay_actor relay{};                     // woken after a save that queued events
  std::shared_ptr<metrics::registry> metrics{};  // unset: nothing recorded
};

struct request_args {
  domain::lifecycle_params params;
  domain::event start; // domain::created for a new request, domain::restored for a stored one
  std::vector<domain::event> then; // stepped right after `start` (e.g. a command to a moved request, for its note)
  request_deps deps;
};

struct request_state {
  static constexpr const char* name = "request";

  std::optional<domain::request_lifecycle> machine;
  request_deps deps;
  /// An event waiting for its turn, with the reply it owes (if any).
  struct queued {
    std::optional<domain::event> event;            // none: a `get`, answered when its turn comes
    std::function<void()> on_done;                 // delivers the reply (true, or the record for a `get`)
    std::function<void(const caf::error&)> on_err; // delivers the failure instead
  };
  /// Events waiting for the one being carried out.
  std::deque<queued> queue;
  /// The event being carried out (its reply is owed once `run` is empty).
  queued current;
  /// The effects of the current event (and of a `moved` step a repost led to) still to carry out, in order.
  std::deque<domain::effect> run;
  bool busy = false;
  bool closing = false;
  /// The jira_action effects of the current step, for its persist.
  std::vector<domain::jira_action> jira;
  /// The events of the current step, rendered, for its persist.
  std::vector<storage::outbox_event> events;
};

/// Where a Jira change for a moved request goes: the request its move created (the repost's id, in the target
/// room), for a comment, status or assignee change. Nothing while the request is not moved, for a link or a problem
/// (those belong to this request's own issue row), or when the record lacks the repost's permalink.
struct moved_jira_change {
  std::string room;
  jira_update update;
};
std::optional<moved_jira_change> moved_on(const domain::request_record& r, const jira_change& change);

/// The behavior; spawn with `sys.spawn(request, std::move(args))` (see spawn_request).
request_actor::behavior_type request(request_actor::stateful_pointer<request_state> self, request_args args);

/// Spawns a request actor.
request_actor spawn_request(caf::actor_system& sys, request_args args);

} // namespace dutydesk::actors
