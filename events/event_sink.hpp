#pragma once
// Where an event relay delivers outbox rows: a sink takes one event at a time and reports, from any thread, whether
// it was delivered, should be retried soon (the sink is down), or was rejected (a misconfiguration: kept and retried
// slowly, never dropped). Two sinks exist: "nats" (JetStream, below) and "webhook:<n>" (events/webhook_sink.hpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/registry.hpp"
#include "storage/records.hpp"

namespace dutydesk::events {

class nats_publisher;

/// What delivering one event came to.
struct delivery_result {
  enum class verdict {
    delivered, // the sink has it (for NATS possibly from an earlier attempt: duplicate)
    retry,     // the sink is down or overloaded: try the same event again after a backoff
    rejected,  // the sink refused it (4xx, a server-side refusal): keep it and retry with the long backoff
  };
  verdict v = verdict::retry;
  bool duplicate = false;      // delivered, and the sink already had this id (JetStream dedup)
  std::uint64_t sequence = 0;  // the JetStream stream sequence when delivered to NATS
  unsigned http_status = 0;    // the webhook's answer, 0 for none
  std::string error;           // why not delivered
  std::optional<std::chrono::milliseconds> retry_after; // the sink asked to wait this long (429 Retry-After)
  metrics::call_result call = metrics::call_result::ok; // for dutydesk_outbound_calls_total
  std::chrono::microseconds latency{0};
};

class event_sink {
public:
  using callback = std::function<void(delivery_result)>;

  virtual ~event_sink() = default;

  /// The storage sink name: "nats" or "webhook:<n>".
  virtual const std::string& name() const = 0;

  /// The metrics `system` label: "nats" or "webhook".
  virtual std::string_view system() const = 0;

  /// How long a delivery may take before the relay gives up waiting for `done` and retries.
  virtual std::chrono::milliseconds deadline() const = 0;

  /// Starts delivering `e`; `done` runs exactly once, on some other thread (or inline when refused at once). Never
  /// blocks.
  virtual void deliver(const storage::outbox_event& e, callback done) = 0;
};

/// The "nats" sink: publishes the row's payload on its subject with Nats-Msg-Id = the event id.
class nats_sink final : public event_sink {
public:
  /// `publisher` is started by the caller; `deadline` bounds one publish as the relay sees it.
  nats_sink(std::shared_ptr<nats_publisher> publisher, std::chrono::milliseconds deadline);

  const std::string& name() const override;
  std::string_view system() const override;
  std::chrono::milliseconds deadline() const override;
  void deliver(const storage::outbox_event& e, callback done) override;

private:
  std::shared_ptr<nats_publisher> publisher_;
  std::chrono::milliseconds deadline_;
  std::string name_ = "nats";
};

} // namespace dutydesk::events
