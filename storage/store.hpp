#pragma once
// The durable storage interface. A backend (SQLite now, PostgreSQL later) implements `store` and `transaction`.
//
// Threading: a store and its transactions are used from one thread at a time (the storage actor); none of them is
// thread-safe. Writes happen only inside a `transaction`: begin() → stage writes → commit(). Every staged write runs
// at once inside the database transaction, so reads on the same transaction (claim) see earlier writes. The first
// failing write poisons the transaction: later writes return that error without running, and commit() rolls back
// and returns it. Nothing of a transaction is visible after a crash unless commit() returned success; everything
// is once it did (see docs/storage.md for the SQLite durability level).
//
// Idempotency protocol for an outbound chat action (nothing posted twice, also after kill -9):
//   1. In a transaction, together with the state change that asks for the action: claim(key). `fresh` → commit,
//      then perform the action; `done` → skip it, the result is in the record; `pending` → an earlier run claimed it
//      and may or may not have performed it: reconcile with the remote side (e.g. look the message up by the id
//      derived from the key) before deciding.
//   2. After the remote side confirmed: complete(key, remote id) in a transaction (or release(key) when the action
//      is known not to have happened, so that the next claim is fresh again).
//
// Jira mirror (the Jira side is slower and flakier, so its actions go through a durable queue instead):
//   - Outbox: enqueue_jira_op(op) in the transaction of the state change that asks for it; a replayed change enqueues
//     the same key again, which is a no-op. The worker takes queued_jira_ops(), and for each one first commits
//     update_jira_op with attempts + 1, then calls Jira, then commits the outcome (done + result, failed + error,
//     or queued with a later next_attempt_at). An op found queued with attempts > 0 after a crash may have reached
//     Jira: reconcile (e.g. search for the issue by a property derived from the key) before calling again.
//   - Inbox: add_inbox(delivery) commits a webhook call or poll hit before it is acknowledged/processed; a repeated
//     delivery id is refused (false), also after prune_inbox dropped the row. Process pending_inbox() in seq order
//     and mark_inbox_processed each row in the transaction of the changes it caused.
//   - Links: set_jira_link maps a request to its issue, link_jira_comment a chat message to a comment, so that
//     neither side is mirrored twice.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.hpp"
#include "storage/result.hpp"

namespace dutydesk::storage {

/// A unit of work: staged writes that become durable all together on commit() or not at all.
/// Destroying an uncommitted transaction rolls it back. @pre It does not outlive its store.
class transaction {
public:
  virtual ~transaction() = default;

  /// Inserts the request or replaces every field of the stored one with the same id.
  virtual result<void> upsert_request(const request_record& r) = 0;

  /// Appends a status change; storage assigns and returns its per-request sequence number (1, 2, ...).
  virtual result<std::int64_t> append_status_change(const status_change& c) = 0;

  /// Maps a thread root message to a request; errc::constraint when the root message is already mapped.
  virtual result<void> link_thread(const thread_link& link) = 0;

  /// Sets the room's cursor (replaces the previous one).
  virtual result<void> set_room_cursor(const room_cursor& cursor) = 0;

  /// Sets the timer of (request id, kind), replacing its due time and epoch.
  virtual result<void> set_timer(const timer_record& t) = 0;

  /// Removes the timer of (request id, kind); removing an absent timer is not an error.
  virtual result<void> remove_timer(const std::string& request_id, const std::string& kind) = 0;

  /// Claims the outbound action `key` at time `now`; see the protocol above.
  virtual result<claim_outcome> claim(const std::string& key, millis now) = 0;

  /// Marks the claimed action `key` done with the remote `result_id`; errc::not_found when never claimed.
  virtual result<void> complete(const std::string& key, const std::string& result_id, millis now) = 0;

  /// Drops a pending claim of `key` (the action is known not to have happened); a done record is kept and
  /// errc::invalid_state returned, an absent one is errc::not_found.
  virtual result<void> release(const std::string& key) = 0;

  /// Appends an event to the outbox; storage assigns and returns its per-request sequence number (1, 2, ...). An
  /// event whose id is in the outbox already is kept as it is and its sequence number returned (a replayed step).
  virtual result<std::int64_t> enqueue_event(const outbox_event& e) = 0;

  /// Records that event `id` reached the webhook sink `sink` at `at` (the "nats" sink uses mark_event_sent);
  /// errc::not_found for an unknown id. Recording twice keeps the first time.
  virtual result<void> mark_event_delivered(const std::string& id, const std::string& sink, millis at) = 0;

  /// Inserts the survey row (request id, round) or replaces every field of it.
  virtual result<void> upsert_feedback(const feedback_record& f) = 0;

  /// Marks the outbox event `id` sent at `at`; errc::not_found for an unknown id. Marking twice keeps the first time.
  virtual result<void> mark_event_sent(const std::string& id, millis at) = 0;

  /// Adds `op` to the Jira outbox (storage assigns `id`, the global order); true when inserted, false when an op with
  /// the same key exists already (nothing changes, so replaying a state change is harmless).
  virtual result<bool> enqueue_jira_op(const jira_op& op) = 0;

  /// Sets state, attempts, next_attempt_at, result, last_error and finished_at of the op `op.id` (the other fields
  /// never change); errc::not_found for an unknown id.
  virtual result<void> update_jira_op(const jira_op& op) = 0;

  /// Inserts or replaces the Jira link of `l.request_id`. An issue belongs to one request at a time: another
  /// request's link to the same issue key is removed (a request moved to another channel keeps its issue).
  /// errc::constraint when the request does not exist.
  virtual result<void> set_jira_link(const jira_link& l) = 0;

  /// Links a chat message to a Jira comment; true when inserted, false when (request id, chat message id) or the
  /// comment id is linked already (the existing link is kept).
  virtual result<bool> link_jira_comment(const jira_comment_link& l) = 0;

  /// Adds a delivery to the inbox (storage assigns `seq`, the arrival order); true when inserted, false when the
  /// delivery id was added before, also when that row was pruned since (nothing changes).
  virtual result<bool> add_inbox(const inbox_delivery& d) = 0;

  /// Marks inbox row `seq` processed at `at` with `outcome`; errc::not_found for an unknown (or pruned) seq. Marking
  /// twice keeps the first time and outcome.
  virtual result<void> mark_inbox_processed(std::int64_t seq, millis at, const std::string& outcome) = 0;

  /// Deletes the processed inbox rows with processed_at before `older_than` and returns how many; their delivery ids
  /// stay remembered, so add_inbox still refuses a late duplicate. Pending rows are never pruned.
  virtual result<std::size_t> prune_inbox(millis older_than) = 0;

  /// Sets the small key/value `key` (e.g. the JQL poll watermark of a project), replacing the previous value.
  virtual result<void> set_state(const std::string& key, const std::string& value) = 0;

  /// Makes every staged write durable, or none of them; the transaction is finished either way.
  virtual result<void> commit() = 0;

  /// Discards every staged write; the transaction is finished.
  virtual void rollback() = 0;
};

/// A storage backend.
class store {
public:
  virtual ~store() = default;

  /// Starts a unit of work; errc::invalid_state while another transaction of this store is open.
  virtual result<std::unique_ptr<transaction>> begin() = 0;

  /// The request with `id`, if any.
  virtual result<std::optional<request_record>> request(const std::string& id) = 0;

  /// The request a thread root message maps to (via link_thread), if any.
  virtual result<std::optional<request_record>> request_by_thread(const std::string& root_message_id) = 0;

  /// The request mirrored to Jira issue `jira_key`, if any.
  virtual result<std::optional<request_record>> request_by_jira_key(const std::string& jira_key) = 0;

  /// Every request that is not closed, oldest first (restore at start).
  virtual result<std::vector<request_record>> open_requests() = 0;

  /// The status changes of a request in sequence order.
  virtual result<std::vector<status_change>> status_history(const std::string& request_id) = 0;

  /// Every thread link of a request.
  virtual result<std::vector<thread_link>> thread_links(const std::string& request_id) = 0;

  /// Every timer due at or before `up_to`, earliest first (ties by request id, kind). Pass INT64_MAX for all.
  virtual result<std::vector<timer_record>> due_timers(millis up_to) = 0;

  /// Every room cursor, ordered by room id.
  virtual result<std::vector<room_cursor>> room_cursors() = 0;

  /// The idempotency record of `key`, if any.
  virtual result<std::optional<action_record>> action(const std::string& key) = 0;

  /// Every pending (claimed, not completed) action, oldest first: to reconcile after a crash.
  virtual result<std::vector<action_record>> pending_actions() = 0;

  /// Up to `limit` unsent outbox events in global order.
  virtual result<std::vector<outbox_event>> pending_events(std::size_t limit) = 0;

  /// The unsent outbox events of one request in per-request order.
  virtual result<std::vector<outbox_event>> pending_events_of(const std::string& request_id) = 0;

  /// Up to `limit` outbox events not yet delivered to the webhook sink `sink`, in global order.
  virtual result<std::vector<outbox_event>> pending_events_for(const std::string& sink, std::size_t limit) = 0;

  /// The survey rows of a request, by round.
  virtual result<std::vector<feedback_record>> feedback_of(const std::string& request_id) = 0;

  /// Every survey row sent in [since, until), by sent_at.
  virtual result<std::vector<feedback_record>> feedback_between(millis since, millis until) = 0;

  /// Every request created in [since, until) or resolved in it (resolved_at), by created_at.
  virtual result<std::vector<request_record>> requests_between(millis since, millis until) = 0;

  /// Open requests (not moved, not resolved) by room and status, and the outboxes' depth and age: the events not yet
  /// delivered to `events_sink` ("nats", or a webhook sink "webhook:<n>" when there is no NATS), the queued Jira ops.
  virtual result<gauge_counts> gauges(const std::string& events_sink) = 0;

  /// Up to `limit` queued Jira ops in enqueue order (by id), whatever their next_attempt_at.
  virtual result<std::vector<jira_op>> queued_jira_ops(std::size_t limit) = 0;

  /// The Jira op with idempotency key `key`, if any.
  virtual result<std::optional<jira_op>> jira_op_by_key(const std::string& key) = 0;

  /// Every Jira op of a request, in any state, in enqueue order.
  virtual result<std::vector<jira_op>> jira_ops_of(const std::string& request_id) = 0;

  /// The Jira link of a request, if any.
  virtual result<std::optional<jira_link>> jira_link_of(const std::string& request_id) = 0;

  /// The Jira link whose issue key or issue id is `issue_key_or_id`, if any; a key match wins over an id match.
  virtual result<std::optional<jira_link>> jira_link_by_issue(const std::string& issue_key_or_id) = 0;

  /// The comment link of a chat message of a request, if any.
  virtual result<std::optional<jira_comment_link>> jira_comment_by_chat(const std::string& request_id,
                                                                        const std::string& chat_message_id) = 0;

  /// The comment link of Jira comment `comment_id`, if any.
  virtual result<std::optional<jira_comment_link>> jira_comment_by_id(const std::string& comment_id) = 0;

  /// Up to `limit` unprocessed inbox deliveries in arrival order (by seq).
  virtual result<std::vector<inbox_delivery>> pending_inbox(std::size_t limit) = 0;

  /// The inbox row of `delivery_id`, processed or not, if it is still kept (a pruned row is gone, its id remembered).
  virtual result<std::optional<inbox_delivery>> inbox_by_delivery(const std::string& delivery_id) = 0;

  /// The value of the small key/value `key`, if set.
  virtual result<std::optional<std::string>> state(const std::string& key) = 0;

  /// Row counts.
  virtual result<store_counts> counts() = 0;

  /// The newest applied schema version (0 for an empty database).
  virtual result<int> schema_version() = 0;

  /// The migrations known to the binary and not applied yet, in order.
  virtual result<std::vector<migration_info>> pending_migrations() = 0;

  /// Checks the database's own consistency (SQLite: PRAGMA integrity_check + foreign_key_check); errc::corrupt when
  /// it fails.
  virtual result<void> check_integrity() = 0;
};

} // namespace dutydesk::storage
