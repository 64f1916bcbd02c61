#pragma once
// The atoms and message structs the actors exchange. Messages stay inside one process (no remote actors), so the
// structs that carry domain types are marked CAF_ALLOW_UNSAFE_MESSAGE_TYPE rather than given an inspect(): they are
// never serialized. Atoms are at most 10 characters (CAF 0.17).

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "domain/duty_rules.hpp"
#include "domain/message_filter.hpp"
#include "domain/request_lifecycle.hpp"
#include "storage/records.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(dutydesk, caf::first_custom_type_id)
CAF_ADD_ATOM(dutydesk, dutydesk::atom, post, "post")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, react, "react")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, dm, "dm")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, duty, "duty")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, lookup, "lookup")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, save, "save")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, claim, "claim")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, done, "done")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, find, "find")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, load, "load")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, cursor, "cursor")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, cursors, "cursors")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, reply, "reply")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, reaction, "reaction")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, remind, "remind")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, get, "get")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, chat, "chat")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, adopt, "adopt")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, restore, "restore")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, status, "status")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, jira, "jira")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, open, "open")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, inbox, "inbox")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, tick, "tick")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, edit, "edit")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, events, "events")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, rate, "rate")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, expire, "expire")
CAF_ADD_ATOM(dutydesk, dutydesk::atom, gauges, "gauges")
CAF_END_TYPE_ID_BLOCK(dutydesk)

namespace dutydesk::actors {

/// A post in a room: top level, or in a thread when `tmid` is set. The adapter derives the message `_id` from `key`
/// (chat.sendMessage with a client-chosen id), so posting the same key twice shows one message.
struct chat_post {
  std::string key;
  std::string room; // room name, as the config writes it
  std::string tmid; // thread root message id; "" for a top-level message
  std::string text;
  std::vector<domain::button> buttons; // empty: no attachment
};

/// What a post became.
struct posted {
  std::string message_id;
  std::string permalink; // <server>/channel/<room>?msg=<id>
};

/// Sets (add) or unsets one of the bot's reactions on a message; setting what is set is a no-op.
struct chat_reaction {
  std::string key;
  std::string message_id;
  std::string emoji;
  bool add = true;
};

/// A direct message to a user (the adapter opens the DM room).
struct chat_dm {
  std::string key;
  std::string user;
  std::string text;
  std::vector<domain::button> buttons{}; // empty: no attachment
};

/// Changes the text of the DM the bot posted to `user` under `key` (chat.update; an unchanged text is a no-op).
struct chat_edit {
  std::string key; // the key the DM was posted with
  std::string user;
  std::string text;
};

/// One message version as the realtime connection (or its backfill) delivered it.
struct chat_event {
  domain::incoming_message msg; // msg.room is the room name
  std::int64_t ts_ms = 0;
  std::int64_t updated_ms = 0;
  std::vector<std::pair<std::string, std::vector<std::string>>> reactions; // ":emoji:" -> usernames, sorted
  std::string permalink;                                                    // of this message
  bool direct = false; // a message in a DM with the bot (msg.room holds the DM room id, not a channel name)
};

/// A request moved here from another channel: the bot's repost is its root.
struct adopt_request {
  std::string root_message_id;
  std::string requester;
  std::string text;
  std::string permalink; // of the repost
  std::string from_room;
  std::string jira_key{}; // the request's Jira issue, which it keeps ("" when it has none yet)
  std::string jira_url{};
  std::string jira_status{};
};

/// A request's whole state to write, in one transaction: the record (reminder timer and thread link derived from
/// it) and the status change of the step, if any.
struct persist_request {
  domain::request_record record;
  std::optional<domain::status_change> change;
  std::vector<domain::jira_action> jira{}; // the step's Jira actions, for the outbox (same transaction)
  std::vector<storage::outbox_event> events{}; // the step's domain events, rendered, for the event outbox
};

/// Something the requester answered in the DM about a request's survey.
using feedback_change = std::variant<domain::survey_answer, domain::survey_comment>;

struct feedback_update {
  std::string request_id;
  feedback_change change;
};

/// Unsent events of one sink ("nats", "webhook:<n>") in global outbox order.
struct events_query {
  std::string sink;
  std::size_t limit = 100;
};

/// Marks events delivered to a sink at `at` (epoch ms), in one transaction.
struct events_sent {
  std::string sink;
  std::vector<std::string> ids;
  std::int64_t at = 0;
};

/// What the metrics sampler reads from storage: open requests by (room, status) and the outboxes' depth and age.
struct storage_gauges {
  std::vector<std::tuple<std::string, std::string, std::int64_t>> open; // team, status, count
  std::int64_t events_pending = 0;      // undelivered to the "nats" sink
  std::int64_t events_oldest_at = 0;    // created_at of the oldest of them (epoch ms), 0 when none
  std::int64_t jira_queued = 0;
  std::int64_t jira_oldest_at = 0;
};

/// Something Jira said about a request, for its actor (domain events of the Jira side).
using jira_change = std::variant<domain::jira_linked, domain::jira_status_changed, domain::jira_comment_added,
                                 domain::jira_assignee_changed, domain::jira_problem>;

struct jira_update {
  std::string request_id; // = the thread root message id
  jira_change change;
};

/// A task created in Jira that routes to a channel: the supervisor posts it as a new request.
struct jira_born {
  std::string issue_key;
  std::string issue_url;
  std::string issue_status; // Jira status name
  std::string reporter;     // display name
  std::string requester;    // the reporter's chat user, "" when unknown
  std::string summary;
  std::string text;         // the description
};

/// Queued Jira outbox rows, by id; sent by the Jira bridge.
struct jira_ops_query {
  std::size_t limit = 100;
};

/// One transaction for the Jira bridge: an outbox row's new state, plus what its result established (the issue link,
/// a comment link) and follow-up rows to enqueue (e.g. the remote link after a create).
struct jira_op_update {
  storage::jira_op op;
  std::optional<storage::jira_link> link;
  std::optional<storage::jira_comment_link> comment;
  std::vector<storage::jira_op> enqueue;
};

/// Which request an issue (key or id) belongs to, or which issue a request has: set one of them.
struct jira_link_query {
  std::string request_id;
  std::string issue;
};

struct jira_link_answer {
  std::optional<storage::jira_link> link;
  std::optional<domain::request_record> request;
};

/// A comment link by chat message (request id + chat message id) or by Jira comment id.
struct jira_comment_query {
  std::string request_id;
  std::string chat_message_id;
  std::string comment_id;
};

struct jira_comment_answer {
  std::optional<storage::jira_comment_link> link;
};

/// Deletes processed inbox rows older than `older_than` (epoch ms); their delivery ids stay remembered.
struct inbox_prune {
  std::int64_t older_than = 0;
};

/// Marks an inbox delivery processed with its outcome (e.g. "routed", "ignored: own").
struct inbox_done {
  std::int64_t seq = 0;
  std::string outcome;
};

/// What claiming an idempotency key found (storage::claim_status) and the stored result of a done action.
struct claim_reply {
  storage::claim_status status = storage::claim_status::fresh;
  std::string result;
};

/// What OnCall and the chat directory said for one schedule; the duty actor resolves it with the config.
struct duty_lookup {
  domain::oncall_result oncall;
  std::vector<domain::chat_user> directory; // Rocket.Chat users matching the on-call users (by name or email)
};

/// A stored request, if any.
struct found_request {
  std::optional<domain::request_record> record;
};

/// The room cursor: the newest message of the room that is fully handled (nothing older is in flight).
struct cursor_update {
  std::string room;
  std::int64_t ts_ms = 0;
  std::string message_id;
};

/// What a channel supervisor is doing, for tests and health reports.
struct channel_status {
  std::size_t live_requests = 0;
  std::size_t in_flight = 0;
  std::uint64_t requests_created = 0;
  std::uint64_t restarts = 0;
  std::uint64_t ignored = 0;
};

} // namespace dutydesk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::chat_post)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::posted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::chat_reaction)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::chat_dm)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::chat_edit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::feedback_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::events_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::events_sent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::storage_gauges)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dutydesk::storage::outbox_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::chat_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::adopt_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::persist_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::claim_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::duty_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::found_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::cursor_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::channel_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_born)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_ops_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_op_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_link_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_link_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_comment_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::jira_comment_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::inbox_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::inbox_prune)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::storage::inbox_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::storage::jira_link)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::storage::jira_comment_link)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dutydesk::storage::jira_op>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dutydesk::storage::inbox_delivery>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::domain::duty_resolution)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::domain::thread_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::domain::reaction_added)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::domain::request_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dutydesk::domain::request_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dutydesk::storage::room_cursor>)
