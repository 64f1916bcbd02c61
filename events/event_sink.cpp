#include "events/event_sink.hpp"

#include <utility>

#include "events/nats_publisher.hpp"

namespace dutydesk::events {

nats_sink::nats_sink(std::shared_ptr<nats_publisher> publisher, std::chrono::milliseconds deadline)
  : publisher_(std::move(publisher)), deadline_(deadline) {}

const std::string& nats_sink::name() const {
  return name_;
}

std::string_view nats_sink::system() const {
  return "nats";
}

std::chrono::milliseconds nats_sink::deadline() const {
  return deadline_;
}

void nats_sink::deliver(const storage::outbox_event& e, callback done) {
  auto started = std::chrono::steady_clock::now();
  publisher_->publish(e.subject, e.payload, e.id, [started, done = std::move(done)](publish_result r) {
    delivery_result d;
    d.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    switch (r.kind) {
      case publish_result::outcome::ok:
        d.v = delivery_result::verdict::delivered;
        d.duplicate = r.duplicate;
        d.sequence = r.sequence;
        d.call = metrics::call_result::ok;
        break;
      case publish_result::outcome::retryable:
        d.v = delivery_result::verdict::retry;
        d.call = metrics::call_result::transport;
        break;
      case publish_result::outcome::failed:
        d.v = delivery_result::verdict::rejected;
        d.call = metrics::call_result::client_error;
        break;
    }
    d.error = std::move(r.error);
    done(std::move(d));
  });
}

} // namespace dutydesk::events
