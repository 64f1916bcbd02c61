#pragma once
// Renders a request's domain events (domain::publish_event) as event-outbox rows: CloudEvents 1.0 in structured JSON
// mode, published to the JetStream subject "<prefix>.request.<team>.<kind>" (docs/events.md).
//
//   {"specversion":"1.0","id":"<request>/event/status/2","source":"/dutydesk","type":"dutydesk.request.status_changed",
//    "subject":"<request id>","time":"2026-12-03T10:15:00.000Z","datacontenttype":"application/json",
//    "data":{"request_id":…,"team":"cicd","channel":"cicd-support",…the event's own fields…}}
//
// The id is the event's deterministic id (also the Nats-Msg-Id), so consumers dedupe on source + id.

#include <string>
#include <string_view>

#include "domain/request_lifecycle.hpp"
#include "storage/records.hpp"

namespace dutydesk::actors {

struct event_context {
  std::string source = "/dutydesk";       // CloudEvents source
  std::string subject_prefix = "dutydesk"; // first subject token(s)
};

/// The subject token for `s`: lower case, characters other than [a-z0-9_-] become '-'; "" becomes "unknown".
std::string subject_token(std::string_view s);

/// The outbox row of `e`, an event of request `r` (its id, room and team fill the implied fields).
storage::outbox_event to_outbox(const domain::publish_event& e, const domain::request_record& r,
                                const event_context& ctx);

} // namespace dutydesk::actors
