#pragma once
// Results of the typed REST clients (rocketchat_rest, oncall_client): a value or an api_error saying what went wrong
// in terms a caller can act on (retry later, fix credentials, fall back to a backup on-duty, ...).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "io/http_client.hpp"

namespace dutydesk::io {

enum class api_errc {
  transport = 1, // no answer after all attempts (see `failure`)
  rate_limited,  // 429 after all attempts
  auth,          // 401, or OnCall's 403 "Invalid token."
  forbidden,     // Rocket.Chat 403: missing permission
  not_found,     // 404 (and Rocket.Chat's bare {"success":false} of chat.getMessage)
  server,        // 5xx after all attempts
  rejected,      // other 4xx or success:false: the server refused this request (see error/error_type)
  parse,         // 2xx but the body is not what the API documents
  empty_rota,    // OnCall: nobody is on call now
};

const char* to_string(api_errc e);

struct api_error {
  api_errc code = api_errc::transport;
  unsigned status = 0;          // HTTP status, 0 without an answer
  http_failure failure = http_failure::none;
  std::string error;            // Rocket.Chat `error`, OnCall `detail`, transport or parse detail
  std::string error_type;       // Rocket.Chat `errorType`; Jira: the rejected field ids (jira::rejected_fields)
  unsigned attempts = 0;
  /// On 429 and 503 answers with `Retry-After` or `X-RateLimit-Reset`: the wait the server asked for
  /// (io::rate_limit_wait with the default retry_policy: capped at 60 s, an unreadable value counts as 1 s).
  std::optional<std::chrono::milliseconds> retry_after{};
};

template <class T>
class api_result {
public:
  api_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  api_result(api_error error) : state_(std::in_place_index<1>, std::move(error)) {}
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// @pre ok()
  const T& value() const { return std::get<0>(state_); }
  T& value() { return std::get<0>(state_); }
  const T* operator->() const { return &value(); }
  /// @pre !ok()
  const api_error& error() const { return std::get<1>(state_); }

private:
  std::variant<T, api_error> state_;
};

/// Fills `out` and returns true for a transport failure or a non-2xx status (the body is not read: callers add
/// product-specific detail); returns false for a 2xx answer.
bool classify_http_failure(const http_result& r, api_error& out);

/// "server (HTTP 503): Internal server error": the code, the status when there was one, and the detail; for logs.
std::string describe(const api_error& e);

/// Percent-encodes a query parameter value.
std::string url_encode(std::string_view s);

} // namespace dutydesk::io
