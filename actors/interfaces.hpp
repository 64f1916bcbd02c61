#pragma once
// Every actor interface of dutydesk. Actors hold and pass these typed handles, never caf::actor.
//
//   chat adapter (io/)  ──chat_event──►  channel supervisor (one per room) ──spawns/monitors──►  request actors
//        ▲                                   │  duty? ─► duty actor ─lookup─► OnCall adapter (io/)
//        └──── post / react / dm ────────────┴── request actors ──save/claim/done──► storage actor
//
// Replies that carry no information answer `bool` (true); failures are caf::error with a dutydesk::ec.

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/atoms.hpp"

namespace dutydesk::actors {

/// The Rocket.Chat side as the request actors see it (io/chat_gateway; a fake in tests).
using chat_actor = caf::typed_actor<
  /// Posts a message (idempotent per key) and answers its id and permalink; sent by request actors.
  caf::replies_to<atom::post, chat_post>::with<posted>,
  /// Sets or unsets one of the bot's reactions on a message; sent by request actors.
  caf::replies_to<atom::react, chat_reaction>::with<bool>,
  /// Sends a direct message (idempotent per key); sent by request actors for refusals and surveys.
  caf::replies_to<atom::dm, chat_dm>::with<posted>,
  /// Changes the text of a DM sent before (by its key); sent by request actors (a withdrawn or expired survey).
  caf::replies_to<atom::edit, chat_edit>::with<bool>>;

/// Receives the messages of DMs with the bot (the feedback router; absent when feedback is off).
using dm_actor = caf::typed_actor<caf::reacts_to<atom::chat, chat_event>>;

/// Asks OnCall and the chat directory about one schedule (io/oncall_gateway; a fake in tests).
using oncall_actor = caf::typed_actor<
  /// Who is on call now for the schedule, and their Rocket.Chat users; sent by the duty actor. An OnCall failure
  /// is an answer with oncall.failed set, not an error.
  caf::replies_to<atom::lookup, std::string>::with<duty_lookup>>;

/// The on-duty of each channel, cached (actors/duty_actor).
using duty_actor = caf::typed_actor<
  /// The users to tag for a request in the room (name) now; sent by channel supervisors. Never fails: a miss
  /// resolves to the fallback.
  caf::replies_to<atom::duty, std::string>::with<domain::duty_resolution>>;

/// Durable storage (actors/storage_actor over storage::store).
using storage_actor = caf::typed_actor<
  /// Writes a request's state, its status change, reminder timer and thread link in one transaction; sent by request
  /// actors after every step that changed something.
  caf::replies_to<atom::save, persist_request>::with<bool>,
  /// Claims the idempotency key of an outbound chat action at `now` (epoch ms); sent by request actors.
  caf::replies_to<atom::claim, std::string, std::int64_t>::with<claim_reply>,
  /// Marks a claimed action done with its remote result id at `now`; sent by request actors.
  caf::reacts_to<atom::done, std::string, std::string, std::int64_t>,
  /// The request whose thread root is the message id, if any; sent by channel supervisors.
  caf::replies_to<atom::find, std::string>::with<found_request>,
  /// Every open request of a room (name), oldest first; sent by channel supervisors at start.
  caf::replies_to<atom::load, std::string>::with<std::vector<domain::request_record>>,
  /// Moves a room's cursor forward; sent by channel supervisors.
  caf::replies_to<atom::cursor, cursor_update>::with<bool>,
  /// Every room cursor; sent at start to size the backfill.
  caf::replies_to<atom::cursors>::with<std::vector<storage::room_cursor>>,
  /// The queued Jira outbox rows, oldest first; sent by the Jira bridge.
  caf::replies_to<atom::jira, jira_ops_query>::with<std::vector<storage::jira_op>>,
  /// Writes an outbox row's new state with what it established, in one transaction; sent by the Jira bridge.
  caf::replies_to<atom::jira, jira_op_update>::with<bool>,
  /// The issue link of a request, or the request of an issue; sent by the Jira bridge.
  caf::replies_to<atom::jira, jira_link_query>::with<jira_link_answer>,
  /// Links a request to an issue (a task created in Jira, posted as a request); sent by the Jira bridge.
  caf::replies_to<atom::jira, storage::jira_link>::with<bool>,
  /// Records a comment link (a Jira comment posted into the thread); sent by the Jira bridge.
  caf::replies_to<atom::jira, storage::jira_comment_link>::with<bool>,
  /// A comment link; sent by the Jira bridge.
  caf::replies_to<atom::jira, jira_comment_query>::with<jira_comment_answer>,
  /// Stores a webhook delivery (or poll result) in the inbox; false when its id was seen before. Sent by the webhook
  /// endpoint before it answers Jira.
  caf::replies_to<atom::inbox, storage::inbox_delivery>::with<bool>,
  /// Unprocessed inbox rows, oldest first (at most `limit`); sent by the Jira bridge.
  caf::replies_to<atom::inbox, std::size_t>::with<std::vector<storage::inbox_delivery>>,
  /// Marks an inbox row processed; sent by the Jira bridge.
  caf::replies_to<atom::inbox, inbox_done>::with<bool>,
  /// Prunes processed inbox rows; answers how many went. Sent by the Jira bridge (daily).
  caf::replies_to<atom::inbox, inbox_prune>::with<std::size_t>,
  /// A small durable value (e.g. a JQL poll watermark): get ("" when unset) and set.
  caf::replies_to<atom::get, std::string>::with<std::string>,
  caf::replies_to<atom::save, std::string, std::string>::with<bool>,
  /// Undelivered events of a sink, oldest first; sent by the event relay.
  caf::replies_to<atom::events, events_query>::with<std::vector<storage::outbox_event>>,
  /// Marks events delivered to a sink; sent by the event relay.
  caf::replies_to<atom::events, events_sent>::with<bool>,
  /// Counts for the metrics gauges, the event outbox measured for the sink (see storage::store::gauges); sent by the
  /// metrics sampler.
  caf::replies_to<atom::gauges, std::string>::with<storage_gauges>>;

/// One request (actors/request_actor). The start event (created or restored) comes with the spawn arguments.
using request_actor = caf::typed_actor<
  /// A message in the request's thread (command or activity); answers once handled and persisted. Sent by the
  /// channel supervisor.
  caf::replies_to<atom::reply, domain::thread_reply>::with<bool>,
  /// A user added a reaction to the root message; answers once handled. Sent by the channel supervisor.
  caf::replies_to<atom::reaction, domain::reaction_added>::with<bool>,
  /// The reminder timer of an epoch fired; sent by the actor to itself (delayed_send).
  caf::reacts_to<atom::remind, std::uint64_t>,
  /// The current state, once every queued event is handled; sent by tests and reports.
  caf::replies_to<atom::get>::with<domain::request_record>,
  /// Something Jira said about the request; answers once handled and persisted. Sent by the channel supervisor.
  caf::replies_to<atom::jira, jira_update>::with<bool>,
  /// The requester's answer to the survey (a rating or a comment); answers once handled. Sent by the supervisor.
  caf::replies_to<atom::rate, feedback_update>::with<bool>,
  /// The survey timer of a round fired; sent by the actor to itself (delayed_send).
  caf::reacts_to<atom::expire, std::uint64_t>>;

/// One support channel (actors/channel_supervisor).
using channel_actor = caf::typed_actor<
  /// A message version in this room; sent by the chat adapter.
  caf::reacts_to<atom::chat, chat_event>,
  /// Opens a request for a message the bot reposted here (a move); answers when the request exists. Sent by a
  /// request actor of another channel.
  caf::replies_to<atom::adopt, adopt_request>::with<bool>,
  /// Respawns the room's open requests from storage (timers re-armed); answers how many. Sent by main at start.
  caf::replies_to<atom::restore>::with<std::size_t>,
  /// Restarts the failed request of a thread root after its backoff; sent by the supervisor to itself.
  caf::reacts_to<atom::restore, std::string>,
  /// Counters, once every queued message is handled; sent by tests and health checks.
  caf::replies_to<atom::status>::with<channel_status>,
  /// Hands a Jira change to the request (restoring it from storage when it is open but not running); answers true
  /// once handled, also when the request is closed or unknown (nothing to do). Sent by the Jira bridge.
  caf::replies_to<atom::jira, jira_update>::with<bool>,
  /// Posts a task created in Jira as a new request of this channel; answers the request id. Idempotent per issue.
  /// Sent by the Jira bridge.
  caf::replies_to<atom::open, jira_born>::with<std::string>,
  /// Hands the requester's survey answer to the request (restoring it when needed); answers true once handled, also
  /// when the request is unknown. Sent by the feedback router.
  caf::replies_to<atom::rate, feedback_update>::with<bool>>;

/// Wakes the Jira bridge: the outbox or the inbox has new rows (actors/jira_bridge; absent when Jira is off).
using jira_bridge_actor = caf::typed_actor<caf::reacts_to<atom::tick>>;

/// Wakes the event relays: the event outbox has new rows (events/event_relay; absent when no sink is configured).
using event_relay_actor = caf::typed_actor<caf::reacts_to<atom::tick>>;

/// The channel supervisors by room name: the chat adapter routes by it, request actors find a move's target in it.
/// Filled once before any chat traffic flows, read-only afterwards (so sharing it between actors is safe).
struct channel_directory {
  std::map<std::string, channel_actor> by_room;
};

/// Wall time for the domain, injected so that tests drive it from CAF's test clock.
using wall_clock = std::function<domain::timestamp()>;

} // namespace dutydesk::actors
