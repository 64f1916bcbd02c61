#include "metrics/registry.hpp"

#include <mutex>
#include <set>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace dutydesk::metrics {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

/// Response and resolution times span a minute to a week: 1m 5m 15m 30m 1h 2h 4h 8h 1d 3d 7d.
const Histogram::BucketBoundaries duration_buckets{60,    300,   900,   1800,   3600,  7200,
                                                   14400, 28800, 86400, 259200, 604800};

/// Outbound calls: a fast local answer to a slow retry-worthy one (the client's per-attempt timeout is 10 s).
const Histogram::BucketBoundaries latency_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                  1,     2.5,  5,     10,   30};

Family<Counter>& counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

Family<Gauge>& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

Family<Histogram>& histogram(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

std::string str(std::string_view s) { return std::string(s); }

double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1e3; }

} // namespace

std::string_view to_string(call_result r) {
  switch (r) {
    case call_result::ok:
      return "ok";
    case call_result::client_error:
      return "client_error";
    case call_result::rate_limited:
      return "rate_limited";
    case call_result::server_error:
      return "server_error";
    case call_result::transport:
      return "transport";
  }
  return "transport";
}

call_result classify_http(int status) {
  if (status == 429)
    return call_result::rate_limited;
  if (status >= 200 && status < 300)
    return call_result::ok;
  if (status >= 400 && status < 500)
    return call_result::client_error;
  if (status >= 500 && status < 600)
    return call_result::server_error;
  // 0 is no answer; 1xx/3xx never reach the caller as final answers of a REST call, and an out-of-range status
  // is a broken peer: both count as "no usable answer".
  return call_result::transport;
}

struct registry::impl {
  impl()
      : reg(std::make_shared<prometheus::Registry>()),
        requests_created(counter(*reg, "dutydesk_requests_created_total", "Requests opened, by team and source.")),
        status_transitions(counter(*reg, "dutydesk_status_transitions_total",
                                   "Request status changes, by team and from/to status id.")),
        first_response_seconds(histogram(*reg, "dutydesk_first_response_seconds",
                                         "Time from a request's creation to the first staff answer.")),
        resolution_seconds(histogram(*reg, "dutydesk_resolution_seconds",
                                     "Time from a request's creation to its final status.")),
        reopens(counter(*reg, "dutydesk_reopens_total", "Requests reopened after a final status, by team.")),
        reminders(counter(*reg, "dutydesk_reminders_sent_total", "Idle reminders posted to the on-duty, by team.")),
        moved(counter(*reg, "dutydesk_requests_moved_total", "Requests moved between teams.")),
        requests_open(gauge(*reg, "dutydesk_requests_open", "Open requests by team and status (from storage).")),
        oncall_lookups(counter(*reg, "dutydesk_oncall_lookups_total",
                               "On-duty lookups by team and result (ok, empty, unmapped, error).")),
        surveys_sent(counter(*reg, "dutydesk_feedback_surveys_sent_total", "Feedback surveys sent, by team.")),
        ratings(counter(*reg, "dutydesk_feedback_ratings_total", "Feedback ratings received, by team and rating.")),
        surveys_closed(counter(*reg, "dutydesk_feedback_surveys_closed_total",
                               "Feedback surveys closed without a rating, by team and outcome.")),
        outbound_calls(counter(*reg, "dutydesk_outbound_calls_total",
                               "Outbound call attempts by system and result.")),
        outbound_call_seconds(histogram(*reg, "dutydesk_outbound_call_seconds",
                                        "Latency of outbound call attempts, by system.")),
        outbound_retries(counter(*reg, "dutydesk_outbound_retries_total",
                                 "Outbound calls made again after a failure, by system.")),
        websocket_reconnects(counter(*reg, "dutydesk_websocket_reconnects_total",
                                     "Times the Rocket.Chat realtime session went live again after a drop.")
                                 .Add({})),
        websocket_connected(
            gauge(*reg, "dutydesk_websocket_connected", "1 while the Rocket.Chat realtime session is live.").Add({})),
        nats_connected(gauge(*reg, "dutydesk_nats_connected", "1 while the NATS connection is up.")),
        storage_up(gauge(*reg, "dutydesk_storage_up",
                         "1 while the database answers, 0 while dutydesk waits for it to come back.")),
        webhook_deliveries(counter(*reg, "dutydesk_webhook_deliveries_total",
                                   "Incoming Jira webhook deliveries by the answer given.")),
        outbox_depth(gauge(*reg, "dutydesk_outbox_depth", "Entries waiting in an outbox, by queue.")),
        outbox_oldest_age(gauge(*reg, "dutydesk_outbox_oldest_age_seconds",
                                "Age of the oldest waiting outbox entry, by queue (0 when empty).")),
        events_published(counter(*reg, "dutydesk_events_published_total",
                                 "Events published to NATS, by kind and result.")) {}

  std::shared_ptr<prometheus::Registry> reg;
  Family<Counter>& requests_created;
  Family<Counter>& status_transitions;
  Family<Histogram>& first_response_seconds;
  Family<Histogram>& resolution_seconds;
  Family<Counter>& reopens;
  Family<Counter>& reminders;
  Family<Counter>& moved;
  Family<Gauge>& requests_open;
  Family<Counter>& oncall_lookups;
  Family<Counter>& surveys_sent;
  Family<Counter>& ratings;
  Family<Counter>& surveys_closed;
  Family<Counter>& outbound_calls;
  Family<Histogram>& outbound_call_seconds;
  Family<Counter>& outbound_retries;
  Counter& websocket_reconnects;
  Gauge& websocket_connected;
  // No series until the first nats_connected(): a process without NATS (webhooks only) must not read as "down".
  Family<Gauge>& nats_connected;
  // No series until the first storage_up(): a registry that no storage actor reports to does not read as "down".
  Family<Gauge>& storage_up;
  Family<Counter>& webhook_deliveries;
  Family<Gauge>& outbox_depth;
  Family<Gauge>& outbox_oldest_age;
  Family<Counter>& events_published;

  // Every (team, status) ever set, so a pair that vanishes from the sampler's counts is set back to 0 rather than
  // keeping its last value.
  std::mutex open_mutex;
  std::set<std::pair<std::string, std::string>> open_seen;
};

registry::registry() : impl_(std::make_unique<impl>()) {}

registry::~registry() = default;

std::shared_ptr<prometheus::Registry> registry::prometheus() const { return impl_->reg; }

void registry::request_created(std::string_view team, std::string_view source) {
  impl_->requests_created.Add({{"team", str(team)}, {"source", str(source)}}).Increment();
}

void registry::status_changed(std::string_view team, std::string_view from, std::string_view to) {
  impl_->status_transitions.Add({{"team", str(team)}, {"from", str(from)}, {"to", str(to)}}).Increment();
}

void registry::first_response(std::string_view team, std::chrono::milliseconds after_creation) {
  impl_->first_response_seconds.Add({{"team", str(team)}}, duration_buckets).Observe(seconds(after_creation));
}

void registry::resolution(std::string_view team, std::chrono::milliseconds after_creation) {
  impl_->resolution_seconds.Add({{"team", str(team)}}, duration_buckets).Observe(seconds(after_creation));
}

void registry::reopened(std::string_view team) { impl_->reopens.Add({{"team", str(team)}}).Increment(); }

void registry::reminder_sent(std::string_view team) { impl_->reminders.Add({{"team", str(team)}}).Increment(); }

void registry::moved(std::string_view from_team, std::string_view to_team) {
  impl_->moved.Add({{"from_team", str(from_team)}, {"to_team", str(to_team)}}).Increment();
}

void registry::set_requests_open(const open_counts& counts) {
  std::lock_guard<std::mutex> guard{impl_->open_mutex};
  for (const auto& key : impl_->open_seen)
    if (!counts.count(key))
      impl_->requests_open.Add({{"team", key.first}, {"status", key.second}}).Set(0);
  for (const auto& [key, n] : counts) {
    impl_->requests_open.Add({{"team", key.first}, {"status", key.second}}).Set(static_cast<double>(n));
    impl_->open_seen.insert(key);
  }
}

void registry::duty_lookup(std::string_view team, std::string_view result) {
  impl_->oncall_lookups.Add({{"team", str(team)}, {"result", str(result)}}).Increment();
}

void registry::survey_sent(std::string_view team) { impl_->surveys_sent.Add({{"team", str(team)}}).Increment(); }

void registry::rating(std::string_view team, int rating) {
  if (rating < 1 || rating > 5)
    return; // outside the precondition: not a series of the bounded set
  impl_->ratings.Add({{"team", str(team)}, {"rating", std::to_string(rating)}}).Increment();
}

void registry::survey_closed(std::string_view team, std::string_view outcome) {
  impl_->surveys_closed.Add({{"team", str(team)}, {"outcome", str(outcome)}}).Increment();
}

void registry::outbound_call(std::string_view system, call_result result, std::chrono::microseconds latency) {
  impl_->outbound_calls.Add({{"system", str(system)}, {"result", str(to_string(result))}}).Increment();
  impl_->outbound_call_seconds.Add({{"system", str(system)}}, latency_buckets)
      .Observe(static_cast<double>(latency.count()) / 1e6);
}

void registry::retry(std::string_view system) { impl_->outbound_retries.Add({{"system", str(system)}}).Increment(); }

void registry::websocket_reconnect() { impl_->websocket_reconnects.Increment(); }

void registry::websocket_connected(bool up) { impl_->websocket_connected.Set(up ? 1 : 0); }

void registry::nats_connected(bool up) { impl_->nats_connected.Add({}).Set(up ? 1 : 0); }

void registry::storage_up(bool up) { impl_->storage_up.Add({}).Set(up ? 1 : 0); }

void registry::webhook_delivery(std::string_view result) {
  impl_->webhook_deliveries.Add({{"result", str(result)}}).Increment();
}

void registry::set_outbox(std::string_view queue, std::int64_t depth, std::chrono::milliseconds oldest_age) {
  Labels labels{{"queue", str(queue)}};
  impl_->outbox_depth.Add(labels).Set(static_cast<double>(depth));
  impl_->outbox_oldest_age.Add(labels).Set(seconds(oldest_age));
}

void registry::event_published(std::string_view kind, std::string_view result) {
  impl_->events_published.Add({{"kind", str(kind)}, {"result", str(result)}}).Increment();
}

} // namespace dutydesk::metrics
