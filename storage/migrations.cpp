#include "storage/migrations.hpp"

#include <sqlite3.h>

#include <array>
#include <string>

#include "storage/sqlite_detail.hpp"

namespace dutydesk::storage {

namespace {

// Free text (requests.body, outbox.payload) is BLOB so that invalid UTF-8 survives unchanged (bytea in PostgreSQL,
// see postgres_sql()); identifiers are TEXT. The rest (BIGINT, INTEGER, TEXT, CHECK, partial indexes) is common SQL.
constexpr std::string_view v1_sql = R"sql(
CREATE TABLE requests (
  id                 TEXT    PRIMARY KEY,
  room_id            TEXT    NOT NULL,
  root_message_id    TEXT    NOT NULL,
  requester_id       TEXT    NOT NULL,
  requester_username TEXT    NOT NULL,
  body               BLOB    NOT NULL,
  status             TEXT    NOT NULL,
  assignee           TEXT,
  on_duty            TEXT,
  created_at         BIGINT  NOT NULL,
  updated_at         BIGINT  NOT NULL,
  last_activity_at   BIGINT  NOT NULL,
  reminders_sent     INTEGER NOT NULL DEFAULT 0,
  next_reminder_at   BIGINT,
  reminder_epoch     BIGINT  NOT NULL DEFAULT 0,
  closed             INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
  moved_to           TEXT,
  source             TEXT    NOT NULL CHECK (source IN ('chat', 'jira')),
  jira_key           TEXT
);
CREATE INDEX requests_open ON requests (created_at, id) WHERE closed = 0;
CREATE INDEX requests_root ON requests (root_message_id);
CREATE UNIQUE INDEX requests_jira_key ON requests (jira_key) WHERE jira_key IS NOT NULL;

CREATE TABLE status_changes (
  request_id  TEXT    NOT NULL REFERENCES requests (id),
  seq         BIGINT  NOT NULL,
  from_status TEXT,
  to_status   TEXT    NOT NULL,
  actor       TEXT    NOT NULL,
  at          BIGINT  NOT NULL,
  PRIMARY KEY (request_id, seq)
);

CREATE TABLE thread_map (
  root_message_id TEXT PRIMARY KEY,
  request_id      TEXT NOT NULL REFERENCES requests (id),
  room_id         TEXT NOT NULL
);
CREATE INDEX thread_map_request ON thread_map (request_id);

CREATE TABLE room_cursors (
  room_id         TEXT   PRIMARY KEY,
  last_ts         BIGINT NOT NULL,
  last_message_id TEXT   NOT NULL
);

CREATE TABLE timers (
  request_id TEXT   NOT NULL REFERENCES requests (id),
  kind       TEXT   NOT NULL,
  due_at     BIGINT NOT NULL,
  epoch      BIGINT NOT NULL,
  PRIMARY KEY (request_id, kind)
);
CREATE INDEX timers_due ON timers (due_at, request_id, kind);

CREATE TABLE actions (
  key          TEXT   PRIMARY KEY,
  state        TEXT   NOT NULL CHECK (state IN ('pending', 'done')),
  created_at   BIGINT NOT NULL,
  completed_at BIGINT,
  result       TEXT
);
CREATE INDEX actions_pending ON actions (created_at, key) WHERE state = 'pending';

CREATE TABLE outbox (
  position   INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT    NOT NULL UNIQUE,
  request_id TEXT    NOT NULL REFERENCES requests (id),
  seq        BIGINT  NOT NULL,
  subject    TEXT    NOT NULL,
  payload    BLOB    NOT NULL,
  created_at BIGINT  NOT NULL,
  sent_at    BIGINT,
  UNIQUE (request_id, seq)
);
CREATE INDEX outbox_pending ON outbox (position) WHERE sent_at IS NULL;
)sql";

// The request's whole lifecycle record (JSON text written by the storage actor). NULL for rows written before; the
// reader treats such a row as having no restorable state. BLOB for the same reason as `body` (bytea in PostgreSQL).
constexpr std::string_view v2_sql = R"sql(
ALTER TABLE requests ADD COLUMN lifecycle BLOB;
)sql";

// The Jira mirror: an outbox of Jira operations (AUTOINCREMENT id = global order, never reused, so an op's id stays
// its identity), an inbox of webhook/poll deliveries with the ids of pruned ones kept in `seen_deliveries` for
// dedupe, the request <-> issue and chat message <-> comment links, and a small key/value table (poll watermarks).
// Remote and free text (payload, body, last_error, outcome, value) is BLOB like `body` (bytea in PostgreSQL).
constexpr std::string_view v3_sql = R"sql(
CREATE TABLE jira_ops (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  key             TEXT    NOT NULL UNIQUE,
  request_id      TEXT    NOT NULL REFERENCES requests (id),
  kind            TEXT    NOT NULL,
  payload         BLOB    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      BIGINT  NOT NULL,
  next_attempt_at BIGINT  NOT NULL,
  result          TEXT,
  last_error      BLOB,
  finished_at     BIGINT
);
CREATE INDEX jira_ops_queued ON jira_ops (id) WHERE state = 'queued';
CREATE INDEX jira_ops_request ON jira_ops (request_id, id);

CREATE TABLE jira_links (
  request_id TEXT   PRIMARY KEY REFERENCES requests (id),
  issue_key  TEXT   NOT NULL UNIQUE,
  issue_id   TEXT   NOT NULL,
  url        TEXT   NOT NULL,
  project    TEXT   NOT NULL,
  linked_at  BIGINT NOT NULL
);
CREATE INDEX jira_links_issue_id ON jira_links (issue_id);

CREATE TABLE jira_comment_links (
  request_id      TEXT   NOT NULL REFERENCES requests (id),
  chat_message_id TEXT   NOT NULL,
  comment_id      TEXT   NOT NULL UNIQUE,
  direction       TEXT   NOT NULL CHECK (direction IN ('to_jira', 'from_jira')),
  at              BIGINT NOT NULL,
  PRIMARY KEY (request_id, chat_message_id)
);

CREATE TABLE inbox (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id  TEXT    NOT NULL UNIQUE,
  source       TEXT    NOT NULL CHECK (source IN ('webhook', 'poll')),
  body         BLOB    NOT NULL,
  received_at  BIGINT  NOT NULL,
  processed_at BIGINT,
  outcome      BLOB
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE processed_at IS NULL;
CREATE INDEX inbox_processed ON inbox (processed_at) WHERE processed_at IS NOT NULL;

CREATE TABLE seen_deliveries (
  delivery_id TEXT   PRIMARY KEY,
  received_at BIGINT NOT NULL
);

CREATE TABLE kv_state (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
)sql";

// Reports and feedback: the request's team, first staff response, latest resolution and reopen count as columns;
// one survey row per resolution (requester NULL when feedback is anonymous); deliveries of outbox events to webhook
// sinks (the "nats" sink keeps using outbox.sent_at).
constexpr std::string_view v4_sql = R"sql(
ALTER TABLE requests ADD COLUMN team TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN first_response_at BIGINT;
ALTER TABLE requests ADD COLUMN resolved_at BIGINT;
ALTER TABLE requests ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
CREATE INDEX requests_created ON requests (created_at);
CREATE INDEX requests_resolved ON requests (resolved_at) WHERE resolved_at IS NOT NULL;

CREATE TABLE feedback (
  request_id        TEXT    NOT NULL REFERENCES requests (id),
  round             BIGINT  NOT NULL,
  team              TEXT    NOT NULL,
  room_id           TEXT    NOT NULL,
  on_duty           TEXT    NOT NULL,
  requester         TEXT,
  created_at        BIGINT  NOT NULL,
  first_response_at BIGINT,
  resolved_at       BIGINT  NOT NULL,
  sent_at           BIGINT  NOT NULL,
  expires_at        BIGINT  NOT NULL,
  state             TEXT    NOT NULL CHECK (state IN ('open', 'rated', 'withdrawn', 'expired')),
  rating            INTEGER CHECK (rating BETWEEN 1 AND 5),
  rated_at          BIGINT,
  comment           BLOB,
  PRIMARY KEY (request_id, round)
);
CREATE INDEX feedback_sent ON feedback (sent_at);

CREATE TABLE event_deliveries (
  event_id     TEXT   NOT NULL REFERENCES outbox (id),
  sink         TEXT   NOT NULL,
  delivered_at BIGINT NOT NULL,
  PRIMARY KEY (event_id, sink)
);
)sql";

constexpr std::array<migration, 4> all_migrations{{
  {1, "initial schema", v1_sql},
  {2, "request lifecycle state", v2_sql},
  {3, "jira mirror", v3_sql},
  {4, "feedback, reports and event sinks", v4_sql},
}};

constexpr const char* create_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                         " version    INTEGER PRIMARY KEY,"
                                         " name       TEXT    NOT NULL,"
                                         " applied_at BIGINT  NOT NULL)";

result<bool> has_table(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  const char* sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK)
    return detail::sqlite_error(db, rc, "read schema version");
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return detail::sqlite_error(db, rc, "read schema version");
  return rc == SQLITE_ROW;
}

// The applied versions as (max, count); a gap means someone edited the table by hand.
result<std::pair<int, int>> applied(sqlite3* db) {
  auto exists = has_table(db);
  if (!exists)
    return exists.err();
  if (!*exists)
    return std::pair{0, 0};
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(version), 0), COUNT(*) FROM schema_migrations", -1, &stmt,
                              nullptr);
  if (rc != SQLITE_OK)
    return detail::sqlite_error(db, rc, "read schema version");
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(stmt);
    return detail::sqlite_error(db, rc, "read schema version");
  }
  std::pair<int, int> out{sqlite3_column_int(stmt, 0), sqlite3_column_int(stmt, 1)};
  sqlite3_finalize(stmt);
  return out;
}

result<int> checked_version(sqlite3* db, std::span<const migration> list) {
  auto v = applied(db);
  if (!v)
    return v.err();
  return checked_schema_version(v->first, v->second, list);
}

} // namespace

result<int> checked_schema_version(int max, int count, std::span<const migration> list) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i].version != static_cast<int>(i) + 1)
      return error{errc::invalid_state, "migration list is not numbered 1, 2, 3, ... (entry " + std::to_string(i + 1)
                                          + " has version " + std::to_string(list[i].version) + ")"};
  if (max > static_cast<int>(list.size()))
    return error{errc::schema_too_new, "database schema version " + std::to_string(max)
                                         + " is newer than this binary knows (" + std::to_string(list.size())
                                         + "); upgrade dutydesk or point it at another database"};
  if (count != max)
    return error{errc::corrupt, "schema_migrations has gaps (" + std::to_string(count) + " rows up to version "
                                  + std::to_string(max) + ")"};
  return max;
}

std::span<const migration> sqlite_migrations() {
  return all_migrations;
}

result<int> sqlite_schema_version(sqlite3* db) {
  auto v = applied(db);
  if (!v)
    return v.err();
  return v->first;
}

result<std::vector<migration_info>> sqlite_pending_migrations(sqlite3* db, std::span<const migration> list) {
  auto v = checked_version(db, list);
  if (!v)
    return v.err();
  std::vector<migration_info> out;
  for (const auto& m : list.subspan(static_cast<std::size_t>(*v)))
    out.push_back({m.version, std::string{m.name}});
  return out;
}

result<int> sqlite_apply_migrations(sqlite3* db, std::span<const migration> list) {
  // IMMEDIATE takes the write lock first, so two processes starting at once apply the migrations once.
  if (auto ok = detail::exec(db, "BEGIN IMMEDIATE", "begin migrations"); !ok)
    return ok.err();
  auto fail = [db](error err) -> result<int> {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return err;
  };
  if (auto ok = detail::exec(db, create_table_sql, "create schema_migrations"); !ok)
    return fail(ok.err());
  auto v = checked_version(db, list);
  if (!v)
    return fail(v.err());
  int version = *v;
  for (const auto& m : list.subspan(static_cast<std::size_t>(version))) {
    std::string what = "apply migration " + std::to_string(m.version) + " (" + std::string{m.name} + ")";
    if (auto ok = detail::exec(db, std::string{m.sql}.c_str(), what); !ok)
      return fail(ok.err());
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (version, name, applied_at) "
                                    "VALUES (?1, ?2, CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER))",
                                -1, &stmt, nullptr);
    if (rc != SQLITE_OK)
      return fail(detail::sqlite_error(db, rc, what));
    sqlite3_bind_int(stmt, 1, m.version);
    sqlite3_bind_text(stmt, 2, m.name.data(), static_cast<int>(m.name.size()), SQLITE_TRANSIENT);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
      return fail(detail::sqlite_error(db, rc, what));
    version = m.version;
  }
  if (auto ok = detail::exec(db, "COMMIT", "commit migrations"); !ok)
    return fail(ok.err());
  return version;
}

} // namespace dutydesk::storage
