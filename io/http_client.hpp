#pragma once
// An asynchronous HTTP/1.1 client (Beast, callback style) for the REST APIs dutydesk calls: http and https
// (OpenSSL, verify_peer + SNI + host name check), a keep-alive pool per scheme://host:port, a timeout per attempt, and
// a retry policy (reference rocketchat.md §4 rate limiting, oncall.md §6):
// - 5xx answers and timeouts/connection errors are retried with exponential backoff and jitter, up to
//   `max_attempts`; for a POST only when the request is marked `retry_safe` (a failure before the request was sent,
//   i.e. resolve/connect/TLS, is always retried);
// - 429 is always retried after the server's wait: `Retry-After` seconds, Rocket.Chat's `X-RateLimit-Reset` (epoch
//   ms), or OnCall's `RateLimit-Reset` (seconds), capped by `max_rate_limit_wait`.
// A request that fails on a pooled keep-alive connection with a connection error (the server closed it while idle)
// is resent once on a fresh connection without counting as an attempt.
// The last answer (any status) or the transport failure goes to the callback. Not thread-safe: create it and call
// `request()` on the thread running the io_context (post there from elsewhere). Never throws.
// With `options.metrics` set, every attempt is recorded as dutydesk_outbound_calls_total{system,result} and
// dutydesk_outbound_call_seconds{system} (result by metrics::classify_http, or "transport" without an answer; a bad
// URL counts as one transport attempt of 0 s), and every attempt made again after a failure or a 429 as
// dutydesk_outbound_retries_total{system}. The resend on a fresh connection after a stale pooled one is not recorded,
// nor is a request without a system label (neither its own nor the client's default): its caller records it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace dutydesk::metrics {
class registry;
}

namespace dutydesk::io {

namespace detail {
struct http_client_impl;
}

enum class http_method { get, post, put, del };

/// One logical request.
struct http_request {
  http_method method = http_method::get;
  std::string url; // absolute: http[s]://host[:port]/path[?query]
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body; // sent as application/json unless a Content-Type header is given
  /// A POST may be repeated after a 5xx or a lost answer (e.g. chat.sendMessage with a client-chosen _id).
  bool retry_safe = false;
  std::chrono::milliseconds timeout{10000}; // per attempt: resolve + connect + TLS + write + read
  /// The `system` label of this request's metrics; "" = the client's `options.system` (one client may serve several
  /// systems); both empty: not recorded.
  std::string system;
};

/// An answer as received.
struct http_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers; // names lower-cased
  std::string body;
  /// The first header with this name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

/// Why no answer arrived.
enum class http_failure { none, bad_url, resolve, connect, tls, timeout, io };

/// Text for logs.
const char* to_string(http_failure f);

/// The outcome of a logical request after all attempts.
struct http_result {
  http_failure failure = http_failure::none;
  std::string error_text;  // transport detail when failure != none
  http_response response;  // the last answer when failure == none
  unsigned attempts = 0;
  bool ok() const { return failure == http_failure::none; }
};

/// Retry timing; every delay is a parameter so tests can make it tiny.
struct retry_policy {
  unsigned max_attempts = 4;
  std::chrono::milliseconds base_delay{250};  // first backoff; doubles per attempt
  std::chrono::milliseconds max_delay{8000};  // backoff cap
  std::chrono::milliseconds max_rate_limit_wait{60000};
  std::chrono::milliseconds default_rate_limit_wait{1000}; // a 429 without a usable header
  /// Wall clock in epoch ms for `X-RateLimit-Reset`; the system clock when empty.
  std::function<std::int64_t()> now_epoch_ms;
};

/// How long a 429 answer asks to wait, capped by `p.max_rate_limit_wait`.
std::chrono::milliseconds rate_limit_wait(const retry_policy& p, const http_response& r);

/// The wait before attempt `attempts_made + 1`, or nullopt to deliver `r` as final. `repeatable` says whether the
/// request may be sent again after it was (possibly) received; `sent` whether it got that far. `random` is any
/// random number (jitter).
std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& p, unsigned attempts_made,
                                                     const http_result& r, bool repeatable, bool sent,
                                                     std::uint64_t random);

/// TLS settings.
struct tls_options {
  bool verify_peer = true;
  std::string ca_file; // extra trust anchors (PEM); the system store is always loaded
};

struct http_client_options {
  retry_policy retry;
  tls_options tls;
  std::size_t max_idle_per_host = 4;
  std::chrono::milliseconds idle_timeout{30000}; // idle pooled connections older than this are not reused
  std::string user_agent = "dutydesk";
  /// Where attempts are recorded; nothing is recorded when null.
  std::shared_ptr<metrics::registry> metrics;
  /// The default `system` label: "rocketchat", "jira", "oncall", "webhook", ...
  std::string system;
};

/// Counters, for metrics.
struct http_client_stats {
  std::uint64_t requests = 0;      // logical requests started
  std::uint64_t attempts = 0;      // attempts sent (retries included)
  std::uint64_t retries = 0;       // attempts after the first
  std::uint64_t connections = 0;   // connections opened
  std::uint64_t reused = 0;        // attempts on a pooled connection
  std::uint64_t rate_limited = 0;  // 429 answers seen
};

class http_client {
public:
  using callback = std::function<void(http_result)>;

  explicit http_client(boost::asio::io_context& ioc, http_client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Starts `req`; `cb` runs exactly once on the io_context. Pending requests keep the pool alive and finish even
  /// when this object is destroyed first.
  void request(http_request req, callback cb);

  /// Closes the pooled idle connections.
  void close_idle();

  std::size_t idle_connections() const;
  const http_client_stats& stats() const;

private:
  std::shared_ptr<detail::http_client_impl> impl_;
};

} // namespace dutydesk::io
