#pragma once
// The storage actor: the only user of the storage::store (which is not thread-safe). Maps domain::request_record
// onto storage::request_record: the indexed columns (room, root, requester, status, assignee, on-duty, reminder
// due time and epoch, closed, moved_to) plus the whole domain record as JSON in `lifecycle` (schema v2), so a
// restart gets back exactly what the machine had. Spawned detached in production (SQLite calls block), on the test
// scheduler in tests.

#include <caf/stateful_actor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

namespace dutydesk::actors {

/// Whether the database answers, shared with /readyz and the metrics; `stopping` ends the storage actor's waiting.
struct storage_health {
  std::atomic<bool> up{true};
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> retries{0};
};

/// How the storage actor waits for a database that cannot be reached (errc::unavailable: a PostgreSQL restart or
/// network cut). It runs the whole unit of work again after `backoff` (doubling up to `max_backoff`), as long as it
/// takes, in message order: nothing is answered with an error and nothing is lost, the mailbox just waits.
struct storage_retry {
  std::chrono::milliseconds backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  /// Blocks for the given time (std::this_thread::sleep_for in production: the actor is detached; tests inject).
  std::function<void(std::chrono::milliseconds)> sleep;
  /// Told on every change of up/down (metrics, logs).
  std::function<void(bool up)> on_health;
  std::shared_ptr<storage_health> health = std::make_shared<storage_health>();
};

struct storage_state {
  static constexpr const char* name = "storage";
  std::shared_ptr<storage::store> store;
  /// Wall time for the rows' created/updated timestamps (the system clock unless a test injects one).
  wall_clock now;
  storage_retry retry;
};

/// The behavior; a store failure answers ec::storage_failed with the store's message, except errc::unavailable,
/// which is retried (see storage_retry) until the store answers or health->stopping is set (then
/// ec::storage_unavailable).
storage_actor::behavior_type storage_service(storage_actor::stateful_pointer<storage_state> self,
                                             std::shared_ptr<storage::store> store, wall_clock now = {},
                                             storage_retry retry = {});

/// Spawns the storage actor over `store`; `detached` gives it its own thread (production). `now` defaults to the
/// system clock.
storage_actor spawn_storage(caf::actor_system& sys, std::shared_ptr<storage::store> store, bool detached,
                            wall_clock now = {}, storage_retry retry = {});

/// The storage row of a domain record at `now_ms` (epoch ms), the whole record as JSON in `lifecycle`.
storage::request_record to_row(const domain::request_record& r, std::int64_t now_ms);

/// The survey row of a record whose survey was sent (survey.round > 0); state = the survey phase.
storage::feedback_record to_feedback(const domain::request_record& r);

/// The durable key (kv_state) that holds the id of `requester`'s latest survey: a save that opens a survey sets it,
/// the feedback router reads it for a comment typed in the DM and sets it to the request a rating was routed to.
std::string survey_key(const std::string& requester);

/// The domain record a row's `lifecycle` holds; nullopt (with a logged warning) when it is missing or malformed.
std::optional<domain::request_record> from_row(const storage::request_record& row);

/// The Jira outbox row of a step's action (queued, due at `now_ms`); the action's fields are its JSON payload.
storage::jira_op to_op(const std::string& request_id, const domain::jira_action& a, std::int64_t now_ms);

/// The action an outbox row holds; nullopt when the payload is malformed.
std::optional<domain::jira_action> action_of(const storage::jira_op& op);

} // namespace dutydesk::actors
