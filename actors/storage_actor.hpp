#pragma once
// The storage actor: the only user of the storage::store (which is not thread-safe). Maps domain::request_record
// onto storage::request_record: the indexed columns (room, root, requester, status, assignee, on-duty, reminder
// due time and epoch, closed, moved_to) plus the whole domain record as JSON in `lifecycle` (schema v2), so a
// restart gets back exactly what the machine had. Spawned detached in production (SQLite calls block), on the test
// scheduler in tests.

#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

namespace dutydesk::actors {

struct storage_state {
  static constexpr const char* name = "storage";
  std::shared_ptr<storage::store> store;
  /// Wall time for the rows' created/updated timestamps (the system clock unless a test injects one).
  wall_clock now;
};

/// The behavior; every store failure answers ec::storage_failed with the store's message.
storage_actor::behavior_type storage_service(storage_actor::stateful_pointer<storage_state> self,
                                             std::shared_ptr<storage::store> store, wall_clock now = {});

/// Spawns the storage actor over `store`; `detached` gives it its own thread (production). `now` defaults to the
/// system clock.
storage_actor spawn_storage(caf::actor_system& sys, std::shared_ptr<storage::store> store, bool detached,
                            wall_clock now = {});

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
