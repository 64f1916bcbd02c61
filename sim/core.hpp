#pragma once
// Shared vocabulary of the simulator. The simulated systems (Rocket.Chat, Jira, Grafana OnCall) are plain,
// single-threaded objects that turn one parsed HTTP request into one response; the Beast layer in server.cpp owns
// the sockets and calls them on a single io thread, so no module needs a lock. Everything a module needs from the
// outside world (time, ids, outbound HTTP) comes in through the small interfaces below, which tests replace.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dutydesk::sim {

using json = nlohmann::json;

/// One HTTP request as the modules see it. Header names are lower-cased; `path` has no query string.
struct http_request {
  std::string method;                              // "GET", "POST", ...
  std::string target;                              // path with query, as received
  std::string path;                                // percent-decoded path, no query
  std::multimap<std::string, std::string> query;   // percent-decoded query parameters
  std::map<std::string, std::string> headers;      // lower-cased names
  std::string body;
  std::string remote;                              // "127.0.0.1:53412"

  /// The header's value, or "" when absent. `name` must be lower-case.
  std::string header(std::string_view name) const;
  /// The first value of query parameter `name`, if present.
  std::optional<std::string> param(std::string_view name) const;
};

/// One HTTP response. `reset` asks the server to drop the connection without answering (fault injection).
struct http_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  bool reset = false;

  http_response& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// A JSON response with the given status.
http_response json_response(int status, const json& body);

/// Wall time in milliseconds since the epoch. The binary uses the system clock; tests use manual_clock.
class clock_source {
public:
  virtual ~clock_source() = default;
  virtual int64_t now_ms() const = 0;
};

class system_clock final : public clock_source {
public:
  int64_t now_ms() const override;
};

class manual_clock final : public clock_source {
public:
  explicit manual_clock(int64_t start_ms = 1732630000000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_; }
  void advance_ms(int64_t d) { now_ += d; }
  void set_ms(int64_t t) { now_ = t; }

private:
  int64_t now_;
};

/// Deterministic ids: a seeded generator, so a run with the same seed and inputs produces the same ids.
class id_source {
public:
  explicit id_source(uint64_t seed = 42) : rng_(seed) {}
  /// A Meteor `Random.id()`-style id: `len` characters of the unambiguous alphabet Rocket.Chat uses.
  std::string meteor_id(size_t len = 17);
  /// Lower-case hex of `bytes` random bytes.
  std::string hex(size_t bytes);
  /// An RFC 4122 version-4 UUID string.
  std::string uuid();
  /// A uniform double in [0, 1).
  double uniform();

private:
  std::mt19937_64 rng_;
};

/// "2024-11-26T14:06:40.123Z" (what Rocket.Chat REST and Grafana OnCall print).
std::string iso8601_utc(int64_t ms);
/// "2019-06-04T00:15:17.234+0000" (what Jira prints).
std::string jira_time(int64_t ms);
/// Parses an ISO 8601 / RFC 3339 instant ("Z", "+hh:mm" or "+hhmm" offsets, optional fraction).
std::optional<int64_t> parse_iso8601(std::string_view text);

/// An HTTP call a module wants made (Jira's outbound webhooks). The server performs it and reports back.
struct outbound_call {
  uint64_t id = 0;            // assigned by the module, echoed in the result
  std::string url;            // absolute http:// URL
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The outcome of one attempt of an outbound_call: HTTP status, or 0 when the connection failed.
struct outbound_result {
  uint64_t id = 0;
  int status = 0;
  std::string error;
};

/// A websocket connection as a module sees it; implemented by the server (and by fakes in tests).
class ws_connection {
public:
  virtual ~ws_connection() = default;
  /// Queues one text frame.
  virtual void send_text(std::string frame) = 0;
  /// Closes the socket with a websocket close code.
  virtual void close(int code, std::string reason) = 0;
  /// Drops the TCP connection abruptly, with no close frame (a network failure, for fault injection).
  virtual void drop() = 0;
};

/// A simulated product: its REST API and its part of the control API.
class simulated_system {
public:
  virtual ~simulated_system() = default;
  /// Short name used by faults, the request log and the control API ("rocketchat", "jira-dc", ...).
  virtual std::string name() const = 0;
  /// Answers one request of the product's own API.
  virtual http_response handle(const http_request& req) = 0;
  /// Answers one control request; `req.path` is what follows "/control/<name>".
  virtual http_response handle_control(const http_request& req) = 0;
  /// Loads users, rooms, projects ... from this system's section of the seed file.
  virtual void load_seed(const json& section) = 0;
  /// The externally visible base URL ("http://127.0.0.1:3000"), used in `self` links, permalinks, `next`.
  /// Called after load_seed when the listen address differs from the seed's.
  virtual void set_base_url(std::string url) = 0;
  /// Called about once a second by the server (heartbeats, retries); time comes from the clock_source.
  virtual void tick() {}
};

/// The non-empty segments of a URL path: "/api/v1/users/" -> {"api", "v1", "users"}.
std::vector<std::string> split_path(std::string_view path);

/// Parses a request body as JSON; nullopt when it is not valid JSON.
std::optional<json> parse_json(std::string_view body);

} // namespace dutydesk::sim
