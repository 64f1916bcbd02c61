#include "storage/sql_backend.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dutydesk::storage::detail {

namespace {

// --- SQL ---------------------------------------------------------------------------------------------------------
// Written once for both backends (see sql_backend.hpp): ?N placeholders, SQL that SQLite and PostgreSQL both accept.
// A parameter's type comes from its context (a column it is compared with or written to), never from a bare SELECT
// list, so that PostgreSQL can infer it.

#define DUTYDESK_REQUEST_COLS                                                                                       \
  "id, room_id, root_message_id, requester_id, requester_username, body, status, assignee, on_duty, created_at, "  \
  "updated_at, last_activity_at, reminders_sent, next_reminder_at, reminder_epoch, closed, moved_to, source, "     \
  "jira_key, lifecycle, team, first_response_at, resolved_at, reopens"

constexpr const char* sql_upsert_request =
  "INSERT INTO requests (" DUTYDESK_REQUEST_COLS ") "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
  "?23, ?24) "
  "ON CONFLICT (id) DO UPDATE SET room_id = excluded.room_id, root_message_id = excluded.root_message_id, "
  "requester_id = excluded.requester_id, requester_username = excluded.requester_username, body = excluded.body, "
  "status = excluded.status, assignee = excluded.assignee, on_duty = excluded.on_duty, "
  "created_at = excluded.created_at, updated_at = excluded.updated_at, "
  "last_activity_at = excluded.last_activity_at, reminders_sent = excluded.reminders_sent, "
  "next_reminder_at = excluded.next_reminder_at, reminder_epoch = excluded.reminder_epoch, "
  "closed = excluded.closed, moved_to = excluded.moved_to, source = excluded.source, jira_key = excluded.jira_key, "
  "lifecycle = excluded.lifecycle, team = excluded.team, first_response_at = excluded.first_response_at, "
  "resolved_at = excluded.resolved_at, reopens = excluded.reopens";
constexpr const char* sql_request_by_id = "SELECT " DUTYDESK_REQUEST_COLS " FROM requests WHERE id = ?1";
constexpr const char* sql_request_by_thread =
  "SELECT " DUTYDESK_REQUEST_COLS " FROM requests "
  "WHERE id = (SELECT request_id FROM thread_map WHERE root_message_id = ?1)";
constexpr const char* sql_request_by_jira = "SELECT " DUTYDESK_REQUEST_COLS " FROM requests WHERE jira_key = ?1";
constexpr const char* sql_open_requests =
  "SELECT " DUTYDESK_REQUEST_COLS " FROM requests WHERE closed = 0 ORDER BY created_at, id";
constexpr const char* sql_requests_between =
  "SELECT " DUTYDESK_REQUEST_COLS " FROM requests WHERE (created_at >= ?1 AND created_at < ?2) "
  "OR (resolved_at >= ?1 AND resolved_at < ?2) ORDER BY created_at, id";

#undef DUTYDESK_REQUEST_COLS

constexpr const char* sql_append_status =
  "INSERT INTO status_changes (request_id, seq, from_status, to_status, actor, at) "
  "VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM status_changes WHERE request_id = ?1), ?2, ?3, ?4, ?5) "
  "RETURNING seq";
constexpr const char* sql_status_history =
  "SELECT request_id, from_status, to_status, actor, at, seq FROM status_changes WHERE request_id = ?1 ORDER BY seq";
constexpr const char* sql_link_thread =
  "INSERT INTO thread_map (root_message_id, request_id, room_id) VALUES (?1, ?2, ?3)";
constexpr const char* sql_thread_links =
  "SELECT root_message_id, request_id, room_id FROM thread_map WHERE request_id = ?1 ORDER BY root_message_id";
// A cursor never moves backwards: replaying an older message leaves it alone.
constexpr const char* sql_set_cursor =
  "INSERT INTO room_cursors (room_id, last_ts, last_message_id) VALUES (?1, ?2, ?3) "
  "ON CONFLICT (room_id) DO UPDATE SET last_ts = excluded.last_ts, last_message_id = excluded.last_message_id "
  "WHERE excluded.last_ts >= room_cursors.last_ts";
constexpr const char* sql_cursors = "SELECT room_id, last_ts, last_message_id FROM room_cursors ORDER BY room_id";
constexpr const char* sql_set_timer =
  "INSERT INTO timers (request_id, kind, due_at, epoch) VALUES (?1, ?2, ?3, ?4) "
  "ON CONFLICT (request_id, kind) DO UPDATE SET due_at = excluded.due_at, epoch = excluded.epoch";
constexpr const char* sql_remove_timer = "DELETE FROM timers WHERE request_id = ?1 AND kind = ?2";
constexpr const char* sql_due_timers =
  "SELECT request_id, kind, due_at, epoch FROM timers WHERE due_at <= ?1 ORDER BY due_at, request_id, kind";
constexpr const char* sql_action =
  "SELECT key, state, created_at, completed_at, result FROM actions WHERE key = ?1";
constexpr const char* sql_pending_actions =
  "SELECT key, state, created_at, completed_at, result FROM actions WHERE state = 'pending' ORDER BY created_at, key";
constexpr const char* sql_claim =
  "INSERT INTO actions (key, state, created_at, completed_at, result) VALUES (?1, 'pending', ?2, NULL, NULL)";
constexpr const char* sql_complete =
  "UPDATE actions SET state = 'done', completed_at = ?2, result = ?3 WHERE key = ?1 AND state = 'pending'";
constexpr const char* sql_release = "DELETE FROM actions WHERE key = ?1 AND state = 'pending'";
constexpr const char* sql_enqueue =
  "INSERT INTO outbox (id, request_id, seq, subject, payload, created_at, sent_at) "
  "VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox WHERE request_id = ?2), ?3, ?4, ?5, NULL) "
  "ON CONFLICT (id) DO NOTHING RETURNING seq";
constexpr const char* sql_event_seq = "SELECT seq FROM outbox WHERE id = ?1";
constexpr const char* sql_mark_delivered =
  "INSERT INTO event_deliveries (event_id, sink, delivered_at) VALUES (?1, ?2, ?3) "
  "ON CONFLICT (event_id, sink) DO NOTHING";
constexpr const char* sql_pending_events_for =
  "SELECT id, request_id, subject, payload, created_at, sent_at, seq, position FROM outbox o "
  "WHERE NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = o.id AND d.sink = ?1) "
  "ORDER BY position LIMIT ?2";

#define DUTYDESK_FEEDBACK_COLS                                                                                      \
  "request_id, round, team, room_id, on_duty, requester, created_at, first_response_at, resolved_at, sent_at, "    \
  "expires_at, state, rating, rated_at, comment"

constexpr const char* sql_upsert_feedback =
  "INSERT INTO feedback (" DUTYDESK_FEEDBACK_COLS ") "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
  "ON CONFLICT (request_id, round) DO UPDATE SET team = excluded.team, room_id = excluded.room_id, "
  "on_duty = excluded.on_duty, requester = excluded.requester, created_at = excluded.created_at, "
  "first_response_at = excluded.first_response_at, resolved_at = excluded.resolved_at, "
  "sent_at = excluded.sent_at, expires_at = excluded.expires_at, state = excluded.state, "
  "rating = excluded.rating, rated_at = excluded.rated_at, comment = excluded.comment";
constexpr const char* sql_feedback_of =
  "SELECT " DUTYDESK_FEEDBACK_COLS " FROM feedback WHERE request_id = ?1 ORDER BY round";
constexpr const char* sql_feedback_between =
  "SELECT " DUTYDESK_FEEDBACK_COLS " FROM feedback WHERE sent_at >= ?1 AND sent_at < ?2 "
  "ORDER BY sent_at, request_id, round";

#undef DUTYDESK_FEEDBACK_COLS

// An outbox row `o` not yet delivered to the sink ?1 ("nats": sent_at; a webhook sink: its delivery row).
#define DUTYDESK_UNSENT                                                                                             \
  "(CASE WHEN CAST(?1 AS TEXT) = 'nats' THEN o.sent_at IS NULL ELSE NOT EXISTS (SELECT 1 FROM event_deliveries d " \
  "WHERE d.event_id = o.id AND d.sink = ?1) END)"
constexpr const char* sql_gauges_open =
  "SELECT room_id, team, status, COUNT(*) FROM requests WHERE closed = 0 AND resolved_at IS NULL "
  "GROUP BY room_id, team, status "
  "ORDER BY room_id, status";
constexpr const char* sql_gauges_queues =
  "SELECT (SELECT COUNT(*) FROM outbox o WHERE " DUTYDESK_UNSENT "), "
  "(SELECT MIN(created_at) FROM outbox o WHERE " DUTYDESK_UNSENT "), "
  "(SELECT COUNT(*) FROM jira_ops WHERE state = 'queued'), "
  "(SELECT MIN(created_at) FROM jira_ops WHERE state = 'queued')";
#undef DUTYDESK_UNSENT
constexpr const char* sql_mark_sent = "UPDATE outbox SET sent_at = COALESCE(sent_at, ?2) WHERE id = ?1";
constexpr const char* sql_pending_events =
  "SELECT id, request_id, subject, payload, created_at, sent_at, seq, position FROM outbox "
  "WHERE sent_at IS NULL ORDER BY position LIMIT ?1";
constexpr const char* sql_pending_events_of =
  "SELECT id, request_id, subject, payload, created_at, sent_at, seq, position FROM outbox "
  "WHERE sent_at IS NULL AND request_id = ?1 ORDER BY seq";

#define DUTYDESK_JIRA_OP_COLS                                                                                       \
  "id, key, request_id, kind, payload, state, attempts, created_at, next_attempt_at, result, last_error, "         \
  "finished_at"

// A replayed key changes nothing; every other constraint (unknown request, bad state) still fails.
constexpr const char* sql_enqueue_jira_op =
  "INSERT INTO jira_ops (key, request_id, kind, payload, state, attempts, created_at, next_attempt_at, result, "
  "last_error, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (key) DO NOTHING";
constexpr const char* sql_update_jira_op =
  "UPDATE jira_ops SET state = ?2, attempts = ?3, next_attempt_at = ?4, result = ?5, last_error = ?6, "
  "finished_at = ?7 WHERE id = ?1";
constexpr const char* sql_queued_jira_ops =
  "SELECT " DUTYDESK_JIRA_OP_COLS " FROM jira_ops WHERE state = 'queued' ORDER BY id LIMIT ?1";
constexpr const char* sql_jira_op_by_key = "SELECT " DUTYDESK_JIRA_OP_COLS " FROM jira_ops WHERE key = ?1";
constexpr const char* sql_jira_ops_of =
  "SELECT " DUTYDESK_JIRA_OP_COLS " FROM jira_ops WHERE request_id = ?1 ORDER BY id";

#undef DUTYDESK_JIRA_OP_COLS

// An issue belongs to one request at a time: linking it elsewhere (a moved request) takes it from the other one.
constexpr const char* sql_unlink_issue = "DELETE FROM jira_links WHERE issue_key = ?1 AND request_id <> ?2";
constexpr const char* sql_set_jira_link =
  "INSERT INTO jira_links (request_id, issue_key, issue_id, url, project, linked_at) "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
  "ON CONFLICT (request_id) DO UPDATE SET issue_key = excluded.issue_key, issue_id = excluded.issue_id, "
  "url = excluded.url, project = excluded.project, linked_at = excluded.linked_at";
constexpr const char* sql_jira_link_of =
  "SELECT request_id, issue_key, issue_id, url, project, linked_at FROM jira_links WHERE request_id = ?1";
// Keys are unique, ids are not enforced to be: a key match wins, then the oldest link.
constexpr const char* sql_jira_link_by_issue =
  "SELECT request_id, issue_key, issue_id, url, project, linked_at FROM jira_links "
  "WHERE issue_key = ?1 OR issue_id = ?1 ORDER BY (issue_key = ?1) DESC, linked_at, request_id LIMIT 1";
// Without a conflict target DO NOTHING covers both unique keys: (request_id, chat_message_id) and comment_id.
constexpr const char* sql_link_comment =
  "INSERT INTO jira_comment_links (request_id, chat_message_id, comment_id, direction, at) "
  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
constexpr const char* sql_comment_by_chat =
  "SELECT request_id, chat_message_id, comment_id, direction, at FROM jira_comment_links "
  "WHERE request_id = ?1 AND chat_message_id = ?2";
constexpr const char* sql_comment_by_id =
  "SELECT request_id, chat_message_id, comment_id, direction, at FROM jira_comment_links WHERE comment_id = ?1";

// A delivery id is refused when it is in the inbox (ON CONFLICT) or was pruned from it (seen_deliveries).
constexpr const char* sql_seen_delivery = "SELECT 1 FROM seen_deliveries WHERE delivery_id = ?1";
constexpr const char* sql_add_inbox =
  "INSERT INTO inbox (delivery_id, source, body, received_at, processed_at, outcome) "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (delivery_id) DO NOTHING";
constexpr const char* sql_mark_inbox =
  "UPDATE inbox SET processed_at = COALESCE(processed_at, ?2), "
  "outcome = CASE WHEN processed_at IS NULL THEN ?3 ELSE outcome END WHERE seq = ?1";
constexpr const char* sql_pending_inbox =
  "SELECT seq, delivery_id, source, body, received_at, processed_at, outcome FROM inbox "
  "WHERE processed_at IS NULL ORDER BY seq LIMIT ?1";
constexpr const char* sql_inbox_by_delivery =
  "SELECT seq, delivery_id, source, body, received_at, processed_at, outcome FROM inbox WHERE delivery_id = ?1";
constexpr const char* sql_remember_pruned =
  "INSERT INTO seen_deliveries (delivery_id, received_at) "
  "SELECT delivery_id, received_at FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?1";
constexpr const char* sql_prune_inbox = "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?1";

constexpr const char* sql_set_state =
  "INSERT INTO kv_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
constexpr const char* sql_state = "SELECT value FROM kv_state WHERE key = ?1";

constexpr const char* sql_counts =
  "SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM requests WHERE closed = 0), "
  "(SELECT COUNT(*) FROM status_changes), (SELECT COUNT(*) FROM thread_map), (SELECT COUNT(*) FROM timers), "
  "(SELECT COUNT(*) FROM actions WHERE state = 'pending'), (SELECT COUNT(*) FROM actions WHERE state = 'done'), "
  "(SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL), (SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL), "
  "(SELECT COUNT(*) FROM jira_ops WHERE state = 'queued'), (SELECT COUNT(*) FROM jira_ops WHERE state = 'done'), "
  "(SELECT COUNT(*) FROM jira_ops WHERE state = 'failed'), (SELECT COUNT(*) FROM jira_links), "
  "(SELECT COUNT(*) FROM jira_comment_links), (SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL), "
  "(SELECT COUNT(*) FROM inbox WHERE processed_at IS NOT NULL), (SELECT COUNT(*) FROM seen_deliveries)";

// --- row readers -------------------------------------------------------------------------------------------------

request_record read_request(const sql_query& q) {
  request_record r;
  r.id = q.col_str(0);
  r.room_id = q.col_str(1);
  r.root_message_id = q.col_str(2);
  r.requester_id = q.col_str(3);
  r.requester_username = q.col_str(4);
  r.text = q.col_str(5);
  r.status = q.col_str(6);
  r.assignee = q.col_opt_str(7);
  r.on_duty = q.col_opt_str(8);
  r.created_at = q.col_i64(9);
  r.updated_at = q.col_i64(10);
  r.last_activity_at = q.col_i64(11);
  r.reminders_sent = static_cast<std::int32_t>(q.col_i64(12));
  r.next_reminder_at = q.col_opt_i64(13);
  r.reminder_epoch = q.col_i64(14);
  r.closed = q.col_i64(15) != 0;
  r.moved_to = q.col_opt_str(16);
  r.source = q.col_str(17) == "jira" ? request_source::jira : request_source::chat;
  r.jira_key = q.col_opt_str(18);
  r.lifecycle = q.col_opt_str(19);
  r.team = q.col_str(20);
  r.first_response_at = q.col_opt_i64(21);
  r.resolved_at = q.col_opt_i64(22);
  r.reopens = static_cast<std::int32_t>(q.col_i64(23));
  return r;
}

feedback_record read_feedback(const sql_query& q) {
  feedback_record f;
  f.request_id = q.col_str(0);
  f.round = q.col_i64(1);
  f.team = q.col_str(2);
  f.room_id = q.col_str(3);
  f.on_duty = q.col_str(4);
  f.requester = q.col_opt_str(5);
  f.created_at = q.col_i64(6);
  f.first_response_at = q.col_opt_i64(7);
  f.resolved_at = q.col_i64(8);
  f.sent_at = q.col_i64(9);
  f.expires_at = q.col_i64(10);
  f.state = q.col_str(11);
  if (auto r = q.col_opt_i64(12))
    f.rating = static_cast<std::int32_t>(*r);
  f.rated_at = q.col_opt_i64(13);
  f.comment = q.col_opt_str(14);
  return f;
}

action_record read_action(const sql_query& q) {
  action_record a;
  a.key = q.col_str(0);
  a.state = q.col_str(1) == "done" ? action_state::done : action_state::pending;
  a.created_at = q.col_i64(2);
  a.completed_at = q.col_opt_i64(3);
  a.result = q.col_opt_str(4);
  return a;
}

outbox_event read_event(const sql_query& q) {
  outbox_event e;
  e.id = q.col_str(0);
  e.request_id = q.col_str(1);
  e.subject = q.col_str(2);
  e.payload = q.col_str(3);
  e.created_at = q.col_i64(4);
  e.sent_at = q.col_opt_i64(5);
  e.seq = q.col_i64(6);
  e.position = q.col_i64(7);
  return e;
}

const char* to_text(jira_op_state x) {
  switch (x) {
    case jira_op_state::queued: return "queued";
    case jira_op_state::done: return "done";
    case jira_op_state::failed: return "failed";
  }
  return "queued";
}

// The CHECK constraint of jira_ops.state admits only the three names.
jira_op_state jira_op_state_of(const std::string& x) {
  if (x == "done")
    return jira_op_state::done;
  if (x == "failed")
    return jira_op_state::failed;
  return jira_op_state::queued;
}

jira_op read_jira_op(const sql_query& q) {
  jira_op op;
  op.id = q.col_i64(0);
  op.key = q.col_str(1);
  op.request_id = q.col_str(2);
  op.kind = q.col_str(3);
  op.payload = q.col_str(4);
  op.state = jira_op_state_of(q.col_str(5));
  op.attempts = static_cast<std::int32_t>(q.col_i64(6));
  op.created_at = q.col_i64(7);
  op.next_attempt_at = q.col_i64(8);
  op.result = q.col_opt_str(9);
  op.last_error = q.col_opt_str(10);
  op.finished_at = q.col_opt_i64(11);
  return op;
}

jira_link read_jira_link(const sql_query& q) {
  return jira_link{q.col_str(0), q.col_str(1), q.col_str(2), q.col_str(3), q.col_str(4), q.col_i64(5)};
}

jira_comment_link read_comment_link(const sql_query& q) {
  return jira_comment_link{q.col_str(0), q.col_str(1), q.col_str(2), q.col_str(3), q.col_i64(4)};
}

inbox_delivery read_inbox(const sql_query& q) {
  return inbox_delivery{q.col_i64(0), q.col_str(1),       q.col_str(2),      q.col_str(3),
                        q.col_i64(4), q.col_opt_i64(5), q.col_opt_str(6)};
}

// A LIMIT value: both databases take a signed 64-bit integer.
std::int64_t sql_limit(std::size_t n) {
  return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
}

// Collects every row of `q` through `read`.
template <class Read>
auto collect(sql_query& q, Read read) -> result<std::vector<decltype(read(q))>> {
  std::vector<decltype(read(q))> out;
  for (;;) {
    auto row = q.step();
    if (!row)
      return row.err();
    if (!*row)
      return out;
    out.push_back(read(q));
  }
}

// The first row of `q` through `read`, if any.
template <class Read>
auto first(sql_query& q, Read read) -> result<std::optional<decltype(read(q))>> {
  auto row = q.step();
  if (!row)
    return row.err();
  if (!*row)
    return std::optional<decltype(read(q))>{};
  return std::optional{read(q)};
}


class sql_store;

class sql_transaction final : public transaction {
public:
  explicit sql_transaction(sql_store& st) : st_(st) {}
  ~sql_transaction() override;

  result<void> upsert_request(const request_record& r) override;
  result<std::int64_t> append_status_change(const status_change& c) override;
  result<void> link_thread(const thread_link& link) override;
  result<void> set_room_cursor(const room_cursor& cursor) override;
  result<void> set_timer(const timer_record& t) override;
  result<void> remove_timer(const std::string& request_id, const std::string& kind) override;
  result<claim_outcome> claim(const std::string& key, millis now) override;
  result<void> complete(const std::string& key, const std::string& result_id, millis now) override;
  result<void> release(const std::string& key) override;
  result<std::int64_t> enqueue_event(const outbox_event& e) override;
  result<void> mark_event_sent(const std::string& id, millis at) override;
  result<void> mark_event_delivered(const std::string& id, const std::string& sink, millis at) override;
  result<void> upsert_feedback(const feedback_record& f) override;
  result<bool> enqueue_jira_op(const jira_op& op) override;
  result<void> update_jira_op(const jira_op& op) override;
  result<void> set_jira_link(const jira_link& l) override;
  result<bool> link_jira_comment(const jira_comment_link& l) override;
  result<bool> add_inbox(const inbox_delivery& d) override;
  result<void> mark_inbox_processed(std::int64_t seq, millis at, const std::string& outcome) override;
  result<std::size_t> prune_inbox(millis older_than) override;
  result<void> set_state(const std::string& key, const std::string& value) override;
  result<void> commit() override;
  void rollback() override;

private:
  // The error a write must return without running, if any.
  std::optional<error> blocked() const;
  // Remembers the first failure: it poisons the rest of the transaction.
  template <class T>
  result<T> track(result<T> r) {
    if (!r && !failed_)
      failed_ = r.err();
    return r;
  }
  void finish();

  sql_store& st_;
  bool finished_ = false;
  std::optional<error> failed_;
};

class sql_store final : public store {
public:
  sql_store(std::unique_ptr<sql_backend> backend, bool ready) : backend_(std::move(backend)), ready_(ready) {}

  sql_backend& backend() { return *backend_; }
  bool txn_open_ = false;

  /// Runs `body(sql_query&)` on a query of `sql` and returns what it returns (or the error of preparing `sql`).
  template <class Body>
  auto with(const char* sql, const char* what, Body body) -> decltype(body(std::declval<sql_query&>())) {
    using out_t = decltype(body(std::declval<sql_query&>()));
    std::optional<out_t> out;
    auto ok = backend_->with(sql, what, [&](sql_query& q) { out.emplace(body(q)); });
    if (!ok)
      return ok.err();
    return std::move(*out);
  }

  result<std::unique_ptr<transaction>> begin() override {
    if (!ready_)
      return pending_error();
    if (txn_open_)
      return error{errc::invalid_state, "a transaction of this store is already open"};
    if (auto ok = backend_->begin(); !ok)
      return ok.err();
    txn_open_ = true;
    return std::unique_ptr<transaction>{std::make_unique<sql_transaction>(*this)};
  }

  result<std::optional<request_record>> request(const std::string& id) override {
    return read(sql_request_by_id, "read request",
                [&](sql_query& q) { return first(q.text(id), read_request); });
  }

  result<std::optional<request_record>> request_by_thread(const std::string& root_message_id) override {
    return read(sql_request_by_thread, "read request by thread",
                [&](sql_query& q) { return first(q.text(root_message_id), read_request); });
  }

  result<std::optional<request_record>> request_by_jira_key(const std::string& jira_key) override {
    return read(sql_request_by_jira, "read request by jira key",
                [&](sql_query& q) { return first(q.text(jira_key), read_request); });
  }

  result<std::vector<request_record>> open_requests() override {
    return read(sql_open_requests, "read open requests", [&](sql_query& q) { return collect(q, read_request); });
  }

  result<std::vector<status_change>> status_history(const std::string& request_id) override {
    return read(sql_status_history, "read status history", [&](sql_query& q) {
      return collect(q.text(request_id), [](const sql_query& r) {
        return status_change{r.col_str(0), r.col_opt_str(1), r.col_str(2), r.col_str(3), r.col_i64(4), r.col_i64(5)};
      });
    });
  }

  result<std::vector<thread_link>> thread_links(const std::string& request_id) override {
    return read(sql_thread_links, "read thread links", [&](sql_query& q) {
      return collect(q.text(request_id),
                     [](const sql_query& r) { return thread_link{r.col_str(0), r.col_str(1), r.col_str(2)}; });
    });
  }

  result<std::vector<timer_record>> due_timers(millis up_to) override {
    return read(sql_due_timers, "read due timers", [&](sql_query& q) {
      return collect(q.i64(up_to), [](const sql_query& r) {
        return timer_record{r.col_str(0), r.col_str(1), r.col_i64(2), r.col_i64(3)};
      });
    });
  }

  result<std::vector<room_cursor>> room_cursors() override {
    return read(sql_cursors, "read room cursors", [&](sql_query& q) {
      return collect(q, [](const sql_query& r) { return room_cursor{r.col_str(0), r.col_i64(1), r.col_str(2)}; });
    });
  }

  result<std::optional<action_record>> action(const std::string& key) override {
    return read(sql_action, "read action", [&](sql_query& q) { return first(q.text(key), read_action); });
  }

  result<std::vector<action_record>> pending_actions() override {
    return read(sql_pending_actions, "read pending actions", [&](sql_query& q) { return collect(q, read_action); });
  }

  result<std::vector<outbox_event>> pending_events(std::size_t limit) override {
    return read(sql_pending_events, "read pending events",
                [&](sql_query& q) { return collect(q.i64(sql_limit(limit)), read_event); });
  }

  result<std::vector<outbox_event>> pending_events_of(const std::string& request_id) override {
    return read(sql_pending_events_of, "read pending events of request",
                [&](sql_query& q) { return collect(q.text(request_id), read_event); });
  }

  result<std::vector<outbox_event>> pending_events_for(const std::string& sink, std::size_t limit) override {
    return read(sql_pending_events_for, "read pending events of sink",
                [&](sql_query& q) { return collect(q.text(sink).i64(sql_limit(limit)), read_event); });
  }

  result<std::vector<feedback_record>> feedback_of(const std::string& request_id) override {
    return read(sql_feedback_of, "read feedback of request",
                [&](sql_query& q) { return collect(q.text(request_id), read_feedback); });
  }

  result<std::vector<feedback_record>> feedback_between(millis since, millis until) override {
    return read(sql_feedback_between, "read feedback",
                [&](sql_query& q) { return collect(q.i64(since).i64(until), read_feedback); });
  }

  result<std::vector<request_record>> requests_between(millis since, millis until) override {
    return read(sql_requests_between, "read requests of period",
                [&](sql_query& q) { return collect(q.i64(since).i64(until), read_request); });
  }

  result<gauge_counts> gauges(const std::string& events_sink) override {
    gauge_counts g;
    auto open = read(sql_gauges_open, "count open requests", [&](sql_query& q) {
      return collect(q, [](const sql_query& r) {
        return gauge_counts::open_count{r.col_str(0), r.col_str(1), r.col_str(2), r.col_i64(3)};
      });
    });
    if (!open)
      return open.err();
    g.open = std::move(*open);
    auto queues = read(sql_gauges_queues, "measure outboxes", [&](sql_query& q) -> result<void> {
      q.text(events_sink);
      auto row = q.step();
      if (!row)
        return row.err();
      g.events_pending = q.col_i64(0);
      g.events_oldest = q.col_opt_i64(1);
      g.jira_queued = q.col_i64(2);
      g.jira_oldest = q.col_opt_i64(3);
      return {};
    });
    if (!queues)
      return queues.err();
    return g;
  }

  result<std::vector<jira_op>> queued_jira_ops(std::size_t limit) override {
    return read(sql_queued_jira_ops, "read queued jira ops",
                [&](sql_query& q) { return collect(q.i64(sql_limit(limit)), read_jira_op); });
  }

  result<std::optional<jira_op>> jira_op_by_key(const std::string& key) override {
    return read(sql_jira_op_by_key, "read jira op", [&](sql_query& q) { return first(q.text(key), read_jira_op); });
  }

  result<std::vector<jira_op>> jira_ops_of(const std::string& request_id) override {
    return read(sql_jira_ops_of, "read jira ops of request",
                [&](sql_query& q) { return collect(q.text(request_id), read_jira_op); });
  }

  result<std::optional<jira_link>> jira_link_of(const std::string& request_id) override {
    return read(sql_jira_link_of, "read jira link",
                [&](sql_query& q) { return first(q.text(request_id), read_jira_link); });
  }

  result<std::optional<jira_link>> jira_link_by_issue(const std::string& issue_key_or_id) override {
    return read(sql_jira_link_by_issue, "read jira link by issue",
                [&](sql_query& q) { return first(q.text(issue_key_or_id), read_jira_link); });
  }

  result<std::optional<jira_comment_link>> jira_comment_by_chat(const std::string& request_id,
                                                                const std::string& chat_message_id) override {
    return read(sql_comment_by_chat, "read jira comment link by chat message",
                [&](sql_query& q) { return first(q.text(request_id).text(chat_message_id), read_comment_link); });
  }

  result<std::optional<jira_comment_link>> jira_comment_by_id(const std::string& comment_id) override {
    return read(sql_comment_by_id, "read jira comment link",
                [&](sql_query& q) { return first(q.text(comment_id), read_comment_link); });
  }

  result<std::vector<inbox_delivery>> pending_inbox(std::size_t limit) override {
    return read(sql_pending_inbox, "read pending inbox",
                [&](sql_query& q) { return collect(q.i64(sql_limit(limit)), read_inbox); });
  }

  result<std::optional<inbox_delivery>> inbox_by_delivery(const std::string& delivery_id) override {
    return read(sql_inbox_by_delivery, "read inbox delivery",
                [&](sql_query& q) { return first(q.text(delivery_id), read_inbox); });
  }

  result<std::optional<std::string>> state(const std::string& key) override {
    return read(sql_state, "read state",
                [&](sql_query& q) { return first(q.text(key), [](const sql_query& r) { return r.col_str(0); }); });
  }

  result<store_counts> counts() override {
    return read(sql_counts, "count rows", [&](sql_query& q) -> result<store_counts> {
      auto row = q.step();
      if (!row)
        return row.err();
      return store_counts{q.col_i64(0),  q.col_i64(1),  q.col_i64(2),  q.col_i64(3),  q.col_i64(4),  q.col_i64(5),
                          q.col_i64(6),  q.col_i64(7),  q.col_i64(8),  q.col_i64(9),  q.col_i64(10), q.col_i64(11),
                          q.col_i64(12), q.col_i64(13), q.col_i64(14), q.col_i64(15), q.col_i64(16)};
    });
  }

  result<int> schema_version() override { return backend_->schema_version(); }

  result<std::vector<migration_info>> pending_migrations() override { return backend_->pending_migrations(); }

  result<void> check_integrity() override { return backend_->check_integrity(); }

private:
  error pending_error() const {
    return error{errc::schema_pending, "database schema is not up to date; run dutydesk migrate"};
  }

  template <class Body>
  auto read(const char* sql, const char* what, Body body) -> decltype(body(std::declval<sql_query&>())) {
    if (!ready_)
      return pending_error();
    return with(sql, what, body);
  }

  std::unique_ptr<sql_backend> backend_;
  bool ready_;
};

// --- transaction -------------------------------------------------------------------------------------------------

sql_transaction::~sql_transaction() {
  if (!finished_)
    rollback();
}

std::optional<error> sql_transaction::blocked() const {
  if (finished_)
    return error{errc::invalid_state, "transaction already committed or rolled back"};
  return failed_;
}

void sql_transaction::finish() {
  finished_ = true;
  st_.txn_open_ = false;
}

result<void> sql_transaction::upsert_request(const request_record& r) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_upsert_request, "store request", [&](sql_query& q) {
    q.text(r.id).text(r.room_id).text(r.root_message_id).text(r.requester_id).text(r.requester_username);
    q.blob(r.text).text(r.status).text(r.assignee).text(r.on_duty).i64(r.created_at).i64(r.updated_at);
    q.i64(r.last_activity_at).i64(std::int64_t{r.reminders_sent}).i64(r.next_reminder_at).i64(r.reminder_epoch);
    q.i64(std::int64_t{r.closed ? 1 : 0}).text(r.moved_to);
    q.text(std::string{r.source == request_source::jira ? "jira" : "chat"}).text(r.jira_key).blob(r.lifecycle);
    q.text(r.team).i64(r.first_response_at).i64(r.resolved_at).i64(std::int64_t{r.reopens});
    return q.run();
  }));
}

result<std::int64_t> sql_transaction::append_status_change(const status_change& c) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_append_status, "append status change", [&](sql_query& q) -> result<std::int64_t> {
    q.text(c.request_id).text(c.from).text(c.to).text(c.actor).i64(c.at);
    auto row = q.step();
    if (!row)
      return row.err();
    std::int64_t seq = q.col_i64(0);
    if (auto done = q.run(); !done)
      return done.err();
    return seq;
  }));
}

result<void> sql_transaction::link_thread(const thread_link& link) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_link_thread, "link thread", [&](sql_query& q) {
    return q.text(link.root_message_id).text(link.request_id).text(link.room_id).run();
  }));
}

result<void> sql_transaction::set_room_cursor(const room_cursor& cursor) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_set_cursor, "set room cursor", [&](sql_query& q) {
    return q.text(cursor.room_id).i64(cursor.last_ts).text(cursor.last_message_id).run();
  }));
}

result<void> sql_transaction::set_timer(const timer_record& t) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_set_timer, "set timer", [&](sql_query& q) {
    return q.text(t.request_id).text(t.kind).i64(t.due_at).i64(t.epoch).run();
  }));
}

result<void> sql_transaction::remove_timer(const std::string& request_id, const std::string& kind) {
  if (auto b = blocked())
    return *b;
  return track(
    st_.with(sql_remove_timer, "remove timer", [&](sql_query& q) { return q.text(request_id).text(kind).run(); }));
}

result<claim_outcome> sql_transaction::claim(const std::string& key, millis now) {
  if (auto b = blocked())
    return *b;
  auto found = st_.with(sql_action, "claim action", [&](sql_query& q) { return first(q.text(key), read_action); });
  if (!found)
    return track(result<claim_outcome>{found.err()});
  if (*found) {
    auto status = (*found)->state == action_state::done ? claim_status::done : claim_status::pending;
    return claim_outcome{status, std::move(**found)};
  }
  auto ins = st_.with(sql_claim, "claim action", [&](sql_query& q) { return q.text(key).i64(now).run(); });
  if (!ins)
    return track(result<claim_outcome>{ins.err()});
  return claim_outcome{claim_status::fresh, action_record{key, action_state::pending, now, std::nullopt, std::nullopt}};
}

result<void> sql_transaction::complete(const std::string& key, const std::string& result_id, millis now) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_complete, "complete action", [&](sql_query& q) -> result<void> {
    if (auto ok = q.text(key).i64(now).text(result_id).run(); !ok)
      return ok;
    if (q.changes() > 0)
      return {};
    // Nothing pending under that key: completing a done action again keeps its first result.
    auto found = st_.with(sql_action, "complete action", [&](sql_query& r) { return first(r.text(key), read_action); });
    if (!found)
      return found.err();
    if (!*found)
      return error{errc::not_found, "complete action: the key was never claimed"};
    return {};
  }));
}

result<void> sql_transaction::release(const std::string& key) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_release, "release action", [&](sql_query& q) -> result<void> {
    if (auto ok = q.text(key).run(); !ok)
      return ok;
    if (q.changes() > 0)
      return {};
    auto found = st_.with(sql_action, "release action", [&](sql_query& r) { return first(r.text(key), read_action); });
    if (!found)
      return found.err();
    if (!*found)
      return error{errc::not_found, "release action: the key was never claimed"};
    return error{errc::invalid_state, "release action: the action is already done"};
  }));
}

result<std::int64_t> sql_transaction::enqueue_event(const outbox_event& e) {
  if (auto b = blocked())
    return *b;
  using seq_or_none = result<std::optional<std::int64_t>>;
  auto inserted = track(st_.with(sql_enqueue, "enqueue event", [&](sql_query& q) -> seq_or_none {
    q.text(e.id).text(e.request_id).text(e.subject).blob(e.payload).i64(e.created_at);
    auto row = q.step();
    if (!row)
      return row.err();
    if (!*row)
      return std::optional<std::int64_t>{}; // the id is there already (a replayed step)
    std::int64_t seq = q.col_i64(0);
    if (auto done = q.run(); !done)
      return done.err();
    return std::optional<std::int64_t>{seq};
  }));
  if (!inserted)
    return inserted.err();
  if (*inserted)
    return **inserted;
  return track(st_.with(sql_event_seq, "enqueue event", [&](sql_query& q) -> result<std::int64_t> {
    auto row = q.text(e.id).step();
    if (!row)
      return row.err();
    if (!*row)
      return error{errc::not_found, "enqueue event: the event vanished"};
    return q.col_i64(0);
  }));
}

result<void> sql_transaction::mark_event_delivered(const std::string& id, const std::string& sink, millis at) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_mark_delivered, "mark event delivered", [&](sql_query& q) -> result<void> {
    auto ok = q.text(id).text(sink).i64(at).run();
    if (!ok && ok.err().code == errc::constraint)
      return error{errc::not_found, "mark event delivered: no such event"};
    return ok;
  }));
}

result<void> sql_transaction::upsert_feedback(const feedback_record& f) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_upsert_feedback, "store feedback", [&](sql_query& q) {
    q.text(f.request_id).i64(f.round).text(f.team).text(f.room_id).text(f.on_duty).text(f.requester);
    q.i64(f.created_at).i64(f.first_response_at).i64(f.resolved_at).i64(f.sent_at).i64(f.expires_at).text(f.state);
    std::optional<std::int64_t> rating;
    if (f.rating)
      rating = *f.rating;
    q.i64(rating).i64(f.rated_at).blob(f.comment);
    return q.run();
  }));
}

result<void> sql_transaction::mark_event_sent(const std::string& id, millis at) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_mark_sent, "mark event sent", [&](sql_query& q) -> result<void> {
    if (auto ok = q.text(id).i64(at).run(); !ok)
      return ok;
    if (q.changes() == 0)
      return error{errc::not_found, "mark event sent: no such event"};
    return {};
  }));
}

result<bool> sql_transaction::enqueue_jira_op(const jira_op& op) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_enqueue_jira_op, "enqueue jira op", [&](sql_query& q) -> result<bool> {
    q.text(op.key).text(op.request_id).text(op.kind).blob(op.payload).text(std::string{to_text(op.state)});
    q.i64(std::int64_t{op.attempts}).i64(op.created_at).i64(op.next_attempt_at).text(op.result).blob(op.last_error);
    q.i64(op.finished_at);
    if (auto ok = q.run(); !ok)
      return ok.err();
    return q.changes() > 0;
  }));
}

result<void> sql_transaction::update_jira_op(const jira_op& op) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_update_jira_op, "update jira op", [&](sql_query& q) -> result<void> {
    q.i64(op.id).text(std::string{to_text(op.state)}).i64(std::int64_t{op.attempts}).i64(op.next_attempt_at);
    q.text(op.result).blob(op.last_error).i64(op.finished_at);
    if (auto ok = q.run(); !ok)
      return ok;
    if (q.changes() == 0)
      return error{errc::not_found, "update jira op: no such op"};
    return {};
  }));
}

result<void> sql_transaction::set_jira_link(const jira_link& l) {
  if (auto b = blocked())
    return *b;
  if (auto ok = track(st_.with(sql_unlink_issue, "move jira link", [&](sql_query& q) {
        return q.text(l.issue_key).text(l.request_id).run();
      }));
      !ok)
    return ok;
  return track(st_.with(sql_set_jira_link, "set jira link", [&](sql_query& q) {
    return q.text(l.request_id).text(l.issue_key).text(l.issue_id).text(l.url).text(l.project).i64(l.linked_at).run();
  }));
}

result<bool> sql_transaction::link_jira_comment(const jira_comment_link& l) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_link_comment, "link jira comment", [&](sql_query& q) -> result<bool> {
    if (auto ok = q.text(l.request_id).text(l.chat_message_id).text(l.comment_id).text(l.direction).i64(l.at).run();
        !ok)
      return ok.err();
    return q.changes() > 0;
  }));
}

result<bool> sql_transaction::add_inbox(const inbox_delivery& d) {
  if (auto b = blocked())
    return *b;
  auto seen =
    st_.with(sql_seen_delivery, "add inbox delivery", [&](sql_query& q) { return q.text(d.delivery_id).step(); });
  if (!seen)
    return track(result<bool>{seen.err()});
  if (*seen)
    return false;
  return track(st_.with(sql_add_inbox, "add inbox delivery", [&](sql_query& q) -> result<bool> {
    q.text(d.delivery_id).text(d.source).blob(d.body).i64(d.received_at).i64(d.processed_at).blob(d.outcome);
    if (auto ok = q.run(); !ok)
      return ok.err();
    return q.changes() > 0;
  }));
}

result<void> sql_transaction::mark_inbox_processed(std::int64_t seq, millis at, const std::string& outcome) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_mark_inbox, "mark inbox processed", [&](sql_query& q) -> result<void> {
    if (auto ok = q.i64(seq).i64(at).blob(outcome).run(); !ok)
      return ok;
    if (q.changes() == 0)
      return error{errc::not_found, "mark inbox processed: no such delivery"};
    return {};
  }));
}

result<std::size_t> sql_transaction::prune_inbox(millis older_than) {
  if (auto b = blocked())
    return *b;
  // Remember the ids first: the delete then leaves nothing a late duplicate could slip past.
  auto kept = st_.with(sql_remember_pruned, "prune inbox", [&](sql_query& q) { return q.i64(older_than).run(); });
  if (!kept)
    return track(result<std::size_t>{kept.err()});
  return track(st_.with(sql_prune_inbox, "prune inbox", [&](sql_query& q) -> result<std::size_t> {
    if (auto ok = q.i64(older_than).run(); !ok)
      return ok.err();
    return static_cast<std::size_t>(q.changes());
  }));
}

result<void> sql_transaction::set_state(const std::string& key, const std::string& value) {
  if (auto b = blocked())
    return *b;
  return track(st_.with(sql_set_state, "set state", [&](sql_query& q) { return q.text(key).blob(value).run(); }));
}

result<void> sql_transaction::commit() {
  if (finished_)
    return error{errc::invalid_state, "transaction already committed or rolled back"};
  if (failed_) {
    auto err = *failed_;
    rollback();
    return error{err.code, "transaction rolled back: " + err.message};
  }
  if (auto ok = st_.backend().commit(); !ok) {
    rollback();
    return ok.err();
  }
  finish();
  return {};
}

void sql_transaction::rollback() {
  if (finished_)
    return;
  st_.backend().rollback();
  finish();
}

// Runs a PRAGMA that answers one text row and returns that row.
} // namespace

std::unique_ptr<store> make_sql_store(std::unique_ptr<sql_backend> backend, bool ready) {
  return std::make_unique<sql_store>(std::move(backend), ready);
}

} // namespace dutydesk::storage::detail
