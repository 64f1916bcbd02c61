#pragma once
// Grafana OnCall public API v1 (reference oncall.md §3, §5, §6): who is on call now and who they are. Sends the token
// raw in `Authorization` (no Bearer), plus `X-Grafana-URL` when configured (service-account tokens). 429 waits per
// `RateLimit-Reset` and is retried by http_client; what is left reaches the callback as an api_error
// (rate_limited / auth / not_found / server / transport / parse / empty_rota). The http_client must outlive the
// calls in flight; call on the io_context thread.

#include <functional>
#include <string>
#include <vector>

#include "io/api_result.hpp"
#include "io/http_client.hpp"
#include "io/rest_json.hpp"

namespace dutydesk::io {

class oncall_client {
public:
  template <class T>
  using callback = std::function<void(api_result<T>)>;

  /// `base_url` is the engine URL, with or without the trailing "/api/v1".
  oncall_client(http_client& http, std::string base_url, std::string token, std::string grafana_url = {},
                std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  /// GET schedules/{id}/ → its `on_call_now` user ids; an empty list is the error empty_rota.
  void on_call_now(const std::string& schedule_id, callback<std::vector<std::string>> cb);
  /// GET schedules/{id}/.
  void schedule(const std::string& schedule_id, callback<oncall_schedule> cb);
  /// GET users/{id}/.
  void user(const std::string& user_id, callback<oncall_user> cb);

private:
  template <class T, class Parse>
  void get(const std::string& path, Parse parse, callback<T> cb);

  http_client& http_;
  std::string base_;
  std::string token_;
  std::string grafana_url_;
  std::chrono::milliseconds timeout_;
};

} // namespace dutydesk::io
