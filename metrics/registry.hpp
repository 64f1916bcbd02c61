#pragma once
// dutydesk's Prometheus metrics: one registry per process (serve creates it and hands a shared_ptr to whoever
// records), served on `metrics.listen` by metrics::exposer. Every name carries the `dutydesk_` prefix; label values
// are bounded sets (team, status, system, result, kind), never a user or request id. Every method is thread-safe
// (prometheus-cpp families lock internally), so actors and I/O threads record directly.
//
// Contract names (docs/metrics.md lists every series with its labels and meaning):
//   dutydesk_requests_created_total{team,source}        source = chat | jira
//   dutydesk_requests_open{team,status}                 gauge, set from storage by the sampler
//   dutydesk_first_response_seconds{team}               histogram
//   dutydesk_resolution_seconds{team}                   histogram
//   dutydesk_feedback_ratings_total{team,rating}        rating = 1..5

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace prometheus {
class Registry;
}

namespace dutydesk::metrics {

/// An outbound call's outcome, as the `result` label spells it.
enum class call_result {
  ok,           // 2xx
  client_error, // 4xx other than 429
  rate_limited, // 429
  server_error, // 5xx
  transport,    // no answer: connect/TLS/timeout/reset
};

/// "ok", "client_error", "rate_limited", "server_error", "transport".
std::string_view to_string(call_result r);

/// The result label of an HTTP status (0 = no answer → transport).
call_result classify_http(int status);

/// Open requests by (team, status), as the sampler counts them in storage.
using open_counts = std::map<std::pair<std::string, std::string>, std::int64_t>;

class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// The underlying prometheus-cpp registry (for the exposer and tests' serialization).
  std::shared_ptr<prometheus::Registry> prometheus() const;

  // -- requests ---------------------------------------------------------------------------------------------------
  /// dutydesk_requests_created_total{team,source}; source "chat" or "jira".
  void request_created(std::string_view team, std::string_view source);
  /// dutydesk_status_transitions_total{team,from,to} (statuses are the configured ids; from "" is the initial one).
  void status_changed(std::string_view team, std::string_view from, std::string_view to);
  /// dutydesk_first_response_seconds{team}.
  void first_response(std::string_view team, std::chrono::milliseconds after_creation);
  /// dutydesk_resolution_seconds{team}.
  void resolution(std::string_view team, std::chrono::milliseconds after_creation);
  /// dutydesk_reopens_total{team}.
  void reopened(std::string_view team);
  /// dutydesk_reminders_sent_total{team}.
  void reminder_sent(std::string_view team);
  /// dutydesk_requests_moved_total{from_team,to_team}.
  void moved(std::string_view from_team, std::string_view to_team);
  /// dutydesk_requests_open{team,status}: replaces every series with `counts` (a pair that is gone reads 0).
  void set_requests_open(const open_counts& counts);

  // -- on-duty ----------------------------------------------------------------------------------------------------
  /// dutydesk_oncall_lookups_total{team,result}; result "ok", "empty", "unmapped" or "error".
  void duty_lookup(std::string_view team, std::string_view result);

  // -- feedback ---------------------------------------------------------------------------------------------------
  /// dutydesk_feedback_surveys_sent_total{team}.
  void survey_sent(std::string_view team);
  /// dutydesk_feedback_ratings_total{team,rating}; @pre 1 <= rating <= 5.
  void rating(std::string_view team, int rating);
  /// dutydesk_feedback_surveys_closed_total{team,outcome}; outcome "withdrawn" or "expired".
  void survey_closed(std::string_view team, std::string_view outcome);

  // -- outbound calls and connections -----------------------------------------------------------------------------
  /// dutydesk_outbound_calls_total{system,result} and dutydesk_outbound_call_seconds{system} (histogram);
  /// system "rocketchat", "jira", "oncall", "nats" or "webhook".
  void outbound_call(std::string_view system, call_result result, std::chrono::microseconds latency);
  /// dutydesk_outbound_retries_total{system}: a call made again after a failure.
  void retry(std::string_view system);
  /// dutydesk_websocket_reconnects_total: the realtime session went live again after a drop.
  void websocket_reconnect();
  /// dutydesk_websocket_connected: 1 while the realtime session is live.
  void websocket_connected(bool up);
  /// dutydesk_nats_connected: 1 while the NATS connection is up.
  void nats_connected(bool up);
  /// 1 while the database answers; set by the storage actor, which waits (and retries) while it does not.
  void storage_up(bool up);
  /// dutydesk_webhook_deliveries_total{result}: the answer to an incoming Jira webhook ("accepted", "duplicate",
  /// "unauthorized", "bad_request", "too_large", "unsupported", "error").
  void webhook_delivery(std::string_view result);

  // -- outboxes ---------------------------------------------------------------------------------------------------
  /// dutydesk_outbox_depth{queue} and dutydesk_outbox_oldest_age_seconds{queue}; queue "events" or "jira"
  /// (0 / 0 when empty).
  void set_outbox(std::string_view queue, std::int64_t depth, std::chrono::milliseconds oldest_age);
  /// dutydesk_events_published_total{kind,result}; result "ok", "duplicate" or "error".
  void event_published(std::string_view kind, std::string_view result);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace dutydesk::metrics
