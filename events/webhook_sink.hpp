#pragma once
// The "webhook:<n>" sink: POSTs each event's CloudEvent JSON (structured mode, `Content-Type:
// application/cloudevents+json`) to a configured URL through an io::http_client on the I/O thread, signed like
// Jira's webhooks (io/hmac.hpp):
//   X-Dutydesk-Event-Id:  <event id>            (the CloudEvents id; receivers dedupe on it)
//   X-Dutydesk-Signature: sha256=<lower-hex HMAC-SHA256(secret, raw body)>
// Answers: 2xx delivered; 408, 429 (honouring Retry-After), 5xx and transport failures retry soon; any other status
// is a rejection, which the relay keeps and retries with the long backoff (a misconfigured receiver loses nothing).
// It uses the runtime's shared io::http_client (a POST is not repeated after it was sent; connect failures and 429s
// are retried by the client's policy); the relay owns every other retry and the order.

#include <chrono>
#include <memory>
#include <string>

#include "events/event_sink.hpp"

namespace dutydesk::io {
class io_runtime;
}

namespace dutydesk::events {

struct webhook_options {
  std::string url;
  std::string secret;
  std::chrono::milliseconds timeout{10000}; // per delivery: connect + TLS + write + read
};

/// The verdict and the metrics label of an HTTP answer `status` (0 = no answer).
delivery_result classify_webhook_answer(unsigned status);

class webhook_sink final : public event_sink {
public:
  /// Sink `index` ("webhook:<index>"). @pre `runtime` outlives this and runs while events are delivered.
  webhook_sink(io::io_runtime& runtime, std::size_t index, webhook_options options);
  ~webhook_sink() override;
  webhook_sink(const webhook_sink&) = delete;
  webhook_sink& operator=(const webhook_sink&) = delete;

  const std::string& name() const override;
  std::string_view system() const override;
  std::chrono::milliseconds deadline() const override;
  void deliver(const storage::outbox_event& e, callback done) override;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace dutydesk::events
