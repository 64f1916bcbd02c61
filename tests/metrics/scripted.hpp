#pragma once
// One scripted set of recordings that gives every dutydesk_ family at least one series, with values the tests
// assert on exactly (the serializer test and the real-Prometheus test share it).

#include <chrono>

#include "metrics/registry.hpp"

namespace dutydesk::test {

inline void record_script(metrics::registry& m) {
  using namespace std::chrono_literals;
  using metrics::call_result;
  for (int i = 0; i < 3; ++i)
    m.request_created("cicd", "chat");
  m.request_created("cicd", "jira");
  m.request_created("infra", "chat");
  m.request_created("infra", "chat");
  m.status_changed("cicd", "", "new");
  m.status_changed("cicd", "new", "in_progress");
  m.status_changed("cicd", "new", "in_progress");
  m.status_changed("cicd", "in_progress", "done");
  m.first_response("cicd", 120s); // le=300
  m.first_response("cicd", 600s); // le=900
  m.resolution("cicd", 3000s);    // le=3600
  m.reopened("cicd");
  m.reminder_sent("cicd");
  m.reminder_sent("cicd");
  m.moved("cicd", "infra");
  m.set_requests_open({{{"cicd", "new"}, 2}, {{"cicd", "in_progress"}, 1}, {{"infra", "new"}, 4}});
  m.duty_lookup("cicd", "ok");
  m.duty_lookup("cicd", "ok");
  m.duty_lookup("cicd", "empty");
  m.duty_lookup("infra", "unmapped");
  m.duty_lookup("infra", "error");
  for (int i = 0; i < 4; ++i)
    m.survey_sent("cicd");
  m.rating("cicd", 5);
  m.rating("cicd", 5);
  m.rating("cicd", 4);
  m.rating("cicd", 2);
  m.survey_closed("cicd", "expired");
  m.outbound_call("jira", call_result::ok, 50ms);
  m.outbound_call("jira", call_result::server_error, 2s);
  m.outbound_call("rocketchat", call_result::rate_limited, 10ms);
  m.outbound_call("oncall", call_result::transport, 10s);
  m.retry("jira");
  m.websocket_connected(true);
  m.websocket_reconnect();
  m.nats_connected(true);
  m.storage_up(true);
  m.webhook_delivery("accepted");
  m.webhook_delivery("accepted");
  m.webhook_delivery("accepted");
  m.webhook_delivery("duplicate");
  m.set_outbox("events", 5, 120s);
  m.set_outbox("jira", 0, 0ms);
  m.event_published("request.created", "ok");
  m.event_published("request.created", "ok");
  m.event_published("request.created", "ok");
  m.event_published("request.status_changed", "error");
}

} // namespace dutydesk::test
