#include "events/webhook_sink.hpp"

#include <utility>

#include "io/hmac.hpp"
#include "io/http_client.hpp"
#include "io/io_runtime.hpp"

namespace dutydesk::events {

delivery_result classify_webhook_answer(unsigned status) {
  delivery_result d;
  d.http_status = status;
  d.call = metrics::classify_http(static_cast<int>(status));
  if (status >= 200 && status < 300)
    d.v = delivery_result::verdict::delivered;
  else if (status == 0 || status == 408 || status == 429 || status >= 500)
    d.v = delivery_result::verdict::retry;
  else
    d.v = delivery_result::verdict::rejected;
  return d;
}

struct webhook_sink::impl {
  io::io_runtime& runtime;
  std::string name;
  webhook_options options;
};

webhook_sink::webhook_sink(io::io_runtime& runtime, std::size_t index, webhook_options options)
  : impl_(std::make_shared<impl>(impl{runtime, "webhook:" + std::to_string(index), std::move(options)})) {}

webhook_sink::~webhook_sink() = default;

const std::string& webhook_sink::name() const {
  return impl_->name;
}

std::string_view webhook_sink::system() const {
  return "webhook";
}

std::chrono::milliseconds webhook_sink::deadline() const {
  // The shared client may retry a connect failure or a 429 a few times within one delivery.
  return impl_->options.timeout * 5 + std::chrono::seconds(10);
}

void webhook_sink::deliver(const storage::outbox_event& e, callback done) {
  io::http_request req;
  req.method = io::http_method::post;
  req.url = impl_->options.url;
  req.body = e.payload;
  req.timeout = impl_->options.timeout;
  req.headers = {
    {"Content-Type", "application/cloudevents+json"},
    {"X-Dutydesk-Event-Id", e.id},
    {"X-Dutydesk-Signature", io::hub_signature(impl_->options.secret, e.payload)},
  };
  auto started = std::chrono::steady_clock::now();
  impl_->runtime.post([impl = impl_, req = std::move(req), started, done = std::move(done)]() mutable {
    impl->runtime.http().request(std::move(req), [started, done = std::move(done)](io::http_result r) {
      auto d = classify_webhook_answer(r.ok() ? r.response.status : 0);
      d.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
      if (!r.ok()) {
        d.error = std::string{io::to_string(r.failure)} + ": " + r.error_text;
      } else if (d.v != delivery_result::verdict::delivered) {
        d.error = "HTTP " + std::to_string(r.response.status);
        if (r.response.status == 429)
          d.retry_after = io::rate_limit_wait(io::retry_policy{}, r.response);
      }
      done(std::move(d));
    });
  });
}

} // namespace dutydesk::events
