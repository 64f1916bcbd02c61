#pragma once
// The life of one support request, as a pure state machine: events + now -> effects. No CAF, no clock, no sockets:
// the request actor translates chat traffic into events, calls step(), and carries out the effects in order
// (posts, reactions, DMs, timers, storage writes; persist comes last). Every effect that touches chat carries a
// deterministic idempotency key, so an actor that replays a step after a crash can skip what it already did:
//   "<id>/intro"                          the thread intro
//   "<id>/status/<seq>-remove|add|note"   the n-th status change (seq is persisted)
//   "<id>/reminder/<n>"                   the n-th reminder ever (n is persisted)
//   "<id>/reply/<message id>-<kind>"      an answer to one thread message (help, notes, refusal DMs)
//   "<id>/move/repost|note|remove|add"    the move
// Keys of answers use the message id rather than a counter so that a refusal changes no state at all.
//
//                    created
//                       |  intro (mentions on-duty, buttons), status reaction, arm reminder
//                       v
//      +-----------> active (status s) <-----------------------------+
//      |   status/reaction by staff: remove old reaction, add new,   |
//      |   note, mirror_status_change, re-arm                        |
//      |   staff reply / assign: re-arm (reminder count back to 0)   |
//      |   reminder_due (current epoch, deadline reached): post      |
//      |     reminder (+fallback from the 2nd unanswered one), re-arm|
//      |                       |                                     |
//      |                       | status -> final: request_final,     |
//      |                       | cancel reminders                    |
//      |                       v                                     |
//      |               active (final status s) -- status -> non-final (reopen): re-arm
//      |                       |
//      |  !dd move (staff or requester), target known and different
//      |                       v
//      +-- (never back) -- moving: repost effect issued; commands get a "being moved" note
//                              |  moved event (the actor posted the repost and knows its permalink)
//                              v
//                           moved: note with link, status reaction replaced by the moved emoji, close;
//                                  commands get a "moved there" note; reminders, replies and reactions ignored
//
// Jira mirror (params.jira): a new request asks for its issue ("<id>/jira/create") and its on-duty as assignee
// ("<id>/jira/assign/0"); every plain thread reply by a person becomes a comment ("<id>/jira/comment/<msg>"), an
// edit of one an edit of that comment; a status change made in chat asks for the transition to the status's
// jira_status ("<id>/jira/transition/<seq>") unless that is the Jira status already; `!dd assign` reassigns. From
// Jira: jira_linked posts the link, jira_status_changed takes the mapped status (no transition back),
// jira_comment_added / jira_assignee_changed / jira_problem post notes keyed by the Jira ids.
//
// Refusals (anyone not allowed) produce only a DM effect: the state does not change and nothing is persisted.
// Setting the current status again (a repeated button click or reaction) produces no effects at all.
// Feedback (params.feedback.enabled): a non-final → final change sends the requester a survey DM with five
// `!dd rate <id> <n>` buttons and arms its expiry; survey_answer (from the DM router, or `!dd rate <this id> <n>` in
// the thread) rates it once, by the requester only; survey_comment adds the DM comment after rating; a reopen
// withdraws an open survey (edit_dm), survey_due expires it. Every domain event (created, status_changed,
// comment_added, assigned, moved, rated) is a publish_event effect with a stable id, whatever params.events says:
// the actor uses it for metrics, and writes it to the event outbox when events are configured.
// A thread reply whose id is in handled_replies (it changed the request before) is dropped: a backfill after a
// restart delivers the last seconds again. `reaction_removed` is accepted and ignored: taking back a reaction does
// not undo a status.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/duty_rules.hpp"
#include "domain/templates.hpp"

namespace dutydesk::domain {

/// Milliseconds since the epoch; always passed in, never read here.
using timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

/// One status, as the config defines it.
struct status_def {
  std::string id;
  std::string label; // "" means the id
  std::string emoji; // e.g. ":eyes:"; "" for none (no reaction, not settable by reaction)
  bool final = false;
  std::string jira_status{}; // the Jira status it maps to; "" for none (no transition, not reachable from Jira)
};

/// A channel a request may move to.
struct move_target {
  std::string room;
  std::vector<std::string> services;
  std::string team{}; // the channel's team (the moved event's to_team)
};

/// The rating survey (config `feedback`).
struct feedback_params {
  bool enabled = false;
  std::chrono::milliseconds expire_after = std::chrono::hours{24 * 7};
  bool anonymous = true; // keep no requester identity with the rating
};

/// Everything the machine needs from the config; the actor maps config onto this. Not persisted.
struct lifecycle_params {
  std::vector<status_def> statuses; // in the configured order (buttons and help follow it)
  std::string initial_status;       // must be one of statuses
  std::vector<std::string> members; // the channel's members
  std::vector<std::string> fallback;
  std::chrono::milliseconds remind_after = std::chrono::hours{4};
  std::string bot_user;
  std::string moved_emoji = ":arrow_right:";
  language lang = language::en;
  std::vector<move_target> channels; // every configured channel, this one included
  bool jira = false;                 // mirror the request to Jira (jira_action effects)
  std::string team{};                // the channel's team (events, metrics, ratings)
  bool events = false;               // NATS / webhook sinks configured (informational: publish_event is always emitted)
  feedback_params feedback{};
};

enum class request_phase { fresh, active, moving, moved };

/// "fresh", "active", "moving", "moved".
std::string_view to_string(request_phase x);

enum class survey_phase { none, open, rated, withdrawn, expired };

/// "none", "open", "rated", "withdrawn", "expired".
std::string_view to_string(survey_phase x);

/// The rating survey of the request's latest resolution (one survey per resolution; `round` counts them).
struct survey_state {
  std::uint64_t round = 0; // 0: never sent; the n-th resolution's survey is round n
  survey_phase phase = survey_phase::none;
  timestamp sent_at{};
  timestamp expires_at{};
  timestamp resolved_at{}; // of the resolution the survey is about
  std::string on_duty{};   // who was on duty (the assignee, else the first resolved on-duty) at the close
  std::string requester{}; // "" when feedback is anonymous
  int rating = 0;          // 1..5 once rated
  std::optional<timestamp> rated_at{};
  std::string comment{};   // typed in the DM after rating
  friend bool operator==(const survey_state&, const survey_state&) = default;
};

/// The whole persisted state of a request; storage writes it as is and a restarted actor feeds it back in
/// `restored`.
struct request_record {
  std::string request_id;
  std::string room;
  std::string root_message_id;
  std::string requester;
  std::string text;
  std::string permalink; // of the root message
  request_phase phase = request_phase::fresh;
  std::string status;
  std::string assignee; // "" when not assigned; takes the place of the rota's on-duty for tags
  duty_resolution on_duty;
  std::uint64_t status_seq = 0;    // number of status changes so far
  std::uint64_t reminder_epoch = 0;
  std::optional<timestamp> reminder_deadline; // set while a reminder is armed
  int unanswered_reminders = 0;    // since the last staff activity
  std::uint64_t reminders_sent = 0; // ever; keys reminder posts
  std::string move_target_room;
  std::string moved_by;
  std::string moved_permalink; // of the repost
  std::string jira_key{};      // "" until the Jira issue exists
  std::string jira_url{};      // browse URL of the issue
  std::string jira_status{};   // the Jira status last requested or reported; "" when unknown
  std::string team{};          // the channel's team when the request was created
  timestamp created_at{};
  std::optional<timestamp> first_response_at{}; // the first reply, status change or assignment by staff
  std::optional<timestamp> resolved_at{};       // the latest move to a final status; unset while not final
  std::uint32_t reopens = 0;                    // final -> non-final changes
  survey_state survey{};
  /// The latest thread replies handled (message ids, oldest first, at most handled_replies_kept): a reply delivered
  /// again (a backfill after a restart re-reads the last seconds) is not handled twice.
  std::vector<std::string> handled_replies{};
  friend bool operator==(const request_record&, const request_record&) = default;
};

/// How many reply ids a record remembers (request_record::handled_replies).
inline constexpr std::size_t handled_replies_kept = 64;

/// A status change for the history table and the Jira/NATS hooks.
struct status_change {
  std::string from; // "" for the initial status
  std::string to;
  std::string by; // "" for the bot (initial status)
  timestamp at;
  std::uint64_t seq = 0;
  friend bool operator==(const status_change&, const status_change&) = default;
};

// -- events -------------------------------------------------------------------------------------------------------

/// A new request (the filter said new_request and the on-duty was resolved).
struct created {
  std::string request_id;
  std::string room;
  std::string root_message_id;
  std::string requester;
  std::string text;
  std::string permalink;
  duty_resolution on_duty;
  std::string jira_key{}; // set when the request comes from Jira (or keeps its issue across a move)
  std::string jira_url{};
  std::string jira_status{};
  bool from_jira = false; // a task created in Jira (events and metrics say source "jira")
};

/// A message in the request's thread: a command or plain activity.
struct thread_reply {
  std::string message_id; // keys the answers; must be set
  std::string author;
  std::string text;
  std::string author_name{}; // display name (u.name); "" when unknown
  bool edited = false;     // a new version of a message seen before (mirrored as a Jira comment edit)
};

struct reaction_added {
  std::string user;
  std::string emoji;
};

struct reaction_removed {
  std::string user;
  std::string emoji;
};

/// The reminder timer fired; `epoch` is the one arm_reminder carried.
struct reminder_due {
  std::uint64_t epoch = 0;
};

/// The on-duty was resolved again (the cache refreshed).
struct on_duty_changed {
  duty_resolution on_duty;
};

/// The actor posted the repost in the target channel; `permalink` points at it.
struct moved {
  std::string permalink;
};

/// A restarted actor hands back the persisted record.
struct restored {
  request_record record;
};

/// The Jira issue of the request exists (the Jira bridge created or found it).
struct jira_linked {
  std::string key;
  std::string url;
  std::string status; // its Jira status
};

/// Somebody changed the issue's status in Jira.
struct jira_status_changed {
  std::string dedupe; // unique per change (keys the note)
  std::string status; // the new Jira status name
  std::string by;     // display name of who did it
  /// The request's jira_status the bridge compared `status` with, when it read the issue. Set and different from
  /// the record's by the time this arrives: the request asked Jira for another status meanwhile, so the read is
  /// from before that transition and is dropped (a poll raced a chat status change; found by the chaos run).
  std::optional<std::string> seen{};
};

/// Somebody commented on the issue in Jira.
struct jira_comment_added {
  std::string comment_id;
  std::string author; // display name
  std::string text;
};

/// The issue's assignee changed in Jira.
struct jira_assignee_changed {
  std::string dedupe;
  std::string assignee; // display name; "" when unassigned
};

/// A Jira action of this request cannot be carried out (a missing required field, no transition, a 4xx).
struct jira_problem {
  std::string key; // unique per problem (keys the note)
  std::string text;
};

/// `!dd rate <request> <n>` in a DM with the bot (a survey button or typed by hand).
struct survey_answer {
  std::string message_id; // keys the answer DM
  std::string user;
  int rating = 0; // as typed; the machine refuses anything but 1..5
};

/// A message typed in the DM with the bot after a rating: the survey's comment.
struct survey_comment {
  std::string message_id;
  std::string user;
  std::string text;
};

/// The survey timer of `round` fired.
struct survey_due {
  std::uint64_t round = 0;
};

using event = std::variant<created, thread_reply, reaction_added, reaction_removed, reminder_due, on_duty_changed,
                           moved, restored, jira_linked, jira_status_changed, jira_comment_added,
                           jira_assignee_changed, jira_problem, survey_answer, survey_comment, survey_due>;

// -- effects ------------------------------------------------------------------------------------------------------

/// A status button: an attachment action of type "button".
struct button {
  std::string text; // the status label
  std::string msg;  // "!dd status <id>"
  bool msg_in_chat_window = true;
  friend bool operator==(const button&, const button&) = default;
};

/// Post in the request's thread (tmid = root message id).
struct post_thread {
  std::string key;
  template_id tmpl;
  std::string text;
  std::vector<std::string> mentions; // usernames the text tags
  std::vector<button> buttons;       // empty: no attachment
};

struct add_reaction {
  std::string key;
  std::string emoji;
};

struct remove_reaction {
  std::string key;
  std::string emoji;
};

/// A direct message (refusals).
struct dm_user {
  std::string key;
  std::string user;
  template_id tmpl;
  std::string text;
  std::vector<button> buttons{}; // the survey's rating buttons; empty: none
};

/// Change the text of the DM posted under `dm_key` (Rocket.Chat's REST keeps its buttons: only the text changes).
struct edit_dm {
  std::string dm_key;
  std::string user;
  template_id tmpl;
  std::string text;
};

/// Arm the survey timer; a fired timer of another round is dropped.
struct arm_survey {
  timestamp deadline;
  std::uint64_t round = 0;
};

/// A value in an event's data.
using fact_value = std::variant<std::string, std::int64_t>;

/// A domain event for the event outbox (NATS, webhook sinks), written in the step's persist transaction. `id` is
/// deterministic ("<request>/event/<kind>/<what>"), so a replayed step yields the same id and the outbox keeps one.
struct publish_event {
  std::string id;
  std::string kind; // "created", "status_changed", "comment_added", "moved", "assigned", "rated"
  timestamp at;
  std::vector<std::pair<std::string, fact_value>> data; // besides request_id, team and channel, which are implied
  friend bool operator==(const publish_event&, const publish_event&) = default;
};

/// Arm the reminder timer; drop any timer with another epoch when it fires.
struct arm_reminder {
  timestamp deadline;
  std::uint64_t epoch = 0;
};

/// No reminder is armed any more; every earlier epoch is stale.
struct cancel_reminders {
  std::uint64_t epoch = 0; // the current (bumped) epoch
};

/// Write the record (and the status change, if any).
struct persist {
  request_record record;
  std::optional<status_change> change;
};

/// Post the moved request in the target channel (top level, as the web client's forward does).
struct repost {
  std::string key;
  std::string target_room;
  std::string text;
};

/// The request is over in this channel; the actor may stop after carrying out the effects.
struct close_request {};

/// Hook for the Jira mirror and event publishing.
struct mirror_status_change {
  status_change change;
};

/// Hook for feedback: the request reached a final status.
struct request_final {
  std::string request_id;
  std::string requester;
  std::string status;
};

enum class jira_kind { create, comment, edit_comment, transition, assign };

/// "create", "comment", "edit_comment", "transition", "assign".
std::string_view to_string(jira_kind x);

/// An outbound Jira action. It is written to the durable Jira outbox in the same transaction as the step's persist
/// (the actor attaches every jira_action of a step to its persist), and the Jira bridge carries it out later, in
/// order per request. `key` is unique per action; a replayed step yields the same keys, which the outbox ignores.
struct jira_action {
  std::string key;
  jira_kind kind = jira_kind::create;
  std::string message_id;  // comment, edit_comment: the chat message
  std::string author;      // comment, edit_comment: its author; assign: the chat user to assign
  std::string author_name; // comment, edit_comment
  std::string text;        // comment, edit_comment: the text; create: the request text
  std::string jira_status; // transition: the target status
  std::string issue_key;   // create: an issue that exists already (a Jira-born or moved request): link it instead
  friend bool operator==(const jira_action&, const jira_action&) = default;
};

using effect = std::variant<post_thread, add_reaction, remove_reaction, dm_user, arm_reminder, cancel_reminders,
                            persist, repost, close_request, mirror_status_change, request_final, jira_action,
                            edit_dm, arm_survey, publish_event>;

/// "!dd status <id>" for each status, labelled, in the configured order.
std::vector<button> status_buttons(const std::vector<status_def>& statuses);

/// The state machine of one request.
class request_lifecycle {
public:
  explicit request_lifecycle(lifecycle_params params);

  /// Applies `e` at `now` and returns what to do, in order.
  std::vector<effect> step(const event& e, timestamp now);

  /// The current state.
  const request_record& record() const { return record_; }

  const lifecycle_params& params() const { return params_; }

  /// The users tagged for the request now: the assignee, else the resolved on-duty.
  std::vector<std::string> on_duty_now() const;

private:
  std::vector<effect> on(const created& e, timestamp now);
  std::vector<effect> on(const thread_reply& e, timestamp now);
  std::vector<effect> on(const reaction_added& e, timestamp now);
  std::vector<effect> on(const reaction_removed& e, timestamp now);
  std::vector<effect> on(const reminder_due& e, timestamp now);
  std::vector<effect> on(const on_duty_changed& e, timestamp now);
  std::vector<effect> on(const moved& e, timestamp now);
  std::vector<effect> on(const restored& e, timestamp now);
  std::vector<effect> on(const jira_linked& e, timestamp now);
  std::vector<effect> on(const jira_status_changed& e, timestamp now);
  std::vector<effect> on(const jira_comment_added& e, timestamp now);
  std::vector<effect> on(const jira_assignee_changed& e, timestamp now);
  std::vector<effect> on(const jira_problem& e, timestamp now);
  std::vector<effect> on(const survey_answer& e, timestamp now);
  std::vector<effect> on(const survey_comment& e, timestamp now);
  std::vector<effect> on(const survey_due& e, timestamp now);

  void publish(std::vector<effect>& xs, std::string what, std::string kind, timestamp now,
               std::vector<std::pair<std::string, fact_value>> data) const;
  /// Records the first staff response (`user` acted at `now`) once; answers its delay in seconds when this was it.
  std::optional<std::int64_t> respond(const std::string& user, timestamp now);
  static std::int64_t seconds_between(timestamp from, timestamp to);
  std::vector<button> rating_buttons() const;
  std::string survey_key() const;
  void send_survey(std::vector<effect>& xs, timestamp now);
  void survey_closed(std::vector<effect>& xs, survey_phase phase);
  std::vector<effect> set_status(const std::string& user, const status_def& target, const std::string& reply_key,
                                 timestamp now, bool from_jira = false);
  void jira(std::vector<effect>& xs, jira_action a) const;
  std::vector<effect> move(const thread_reply& e, const std::string& target, bool is_room);

  const status_def* find_status(std::string_view id) const;
  const status_def* find_status_by_emoji(std::string_view emoji) const;
  request_roles roles() const;
  std::string key(std::string_view kind) const;
  std::string label(const status_def& s) const;
  std::string status_list() const;
  std::string render(template_id id, std::initializer_list<template_arg> args) const;
  post_thread note(std::string key, template_id id, std::initializer_list<template_arg> args) const;
  void arm(std::vector<effect>& xs, timestamp now);
  void cancel(std::vector<effect>& xs);

  lifecycle_params params_;
  request_record record_;
  std::optional<status_change> pending_change_; // goes into this step's persist
};

} // namespace dutydesk::domain
