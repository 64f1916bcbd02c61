#pragma once
// A small asynchronous HTTP/1.1 server (Beast, callback style) for dutydesk's inbound side (Jira webhooks). It runs
// on a caller-owned io_context that a single thread runs. Routes match the path exactly (the query string is split
// off and handed to the handler); a handler answers through a callback, now or later.
// Answers the server gives on its own: 404 for an unknown path, 405 with `Allow` for a known path with another
// method, 413 for a body over `max_body_bytes` (decided from Content-Length before the body is read, or while a
// chunked body is read; the handler never runs), 431 for headers over `max_header_bytes`, 400 for malformed HTTP,
// 500 when a handler throws. Rejections close the connection after a lingering drain so the client sees the answer;
// other answers honour keep-alive. A client that has not sent a whole request within `read_timeout` is
// disconnected, and a write that does not finish within it is abandoned. Never throws to the caller.

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

namespace dutydesk::io {

namespace detail {
struct http_server_impl;
}

struct http_server_options {
  std::string host = "127.0.0.1";                // an IP address literal
  std::uint16_t port = 0;                        // 0: an ephemeral port, see http_server::port()
  std::size_t max_body_bytes = 1024 * 1024;      // larger bodies get 413
  std::size_t max_header_bytes = 16 * 1024;      // request line + header fields; larger get 431
  std::chrono::milliseconds read_timeout{10000}; // per request: from the first byte awaited to the last body byte
  std::size_t max_connections = 256;             // further connections are closed right after accept
  /// Called (on the io_context thread) for each request the server answers itself without a handler: status 413,
  /// 431 or 400, and the path as far as it was read ("" when the request line was not). For metrics.
  std::function<void(unsigned status, const std::string& path)> on_reject{};
};

/// A request as received.
struct http_server_request {
  std::string method;                                       // e.g. "POST"
  std::string target;                                       // as sent: path plus "?query"
  std::string path;                                         // target up to '?'
  std::string query;                                        // after '?', without it; "" when none
  std::vector<std::pair<std::string, std::string>> headers; // names lower-cased, in arrival order
  std::string body;                                         // the raw bytes (de-chunked)
  std::string remote_address;                               // the peer's IP address, e.g. "127.0.0.1"
  /// The first header with this name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

/// An answer; Content-Length, Connection and Server are set by the server.
struct http_server_response {
  unsigned status = 200; // 200..599; anything else is answered 500
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // extra headers
};

/// Counters, for metrics.
struct http_server_stats {
  std::uint64_t connections = 0;          // connections accepted and served
  std::uint64_t rejected_connections = 0; // closed at accept because max_connections were open
  std::uint64_t requests = 0;             // answers started, whatever their status
  std::uint64_t status_2xx = 0;           // answers by status class (100 Continue is not counted)
  std::uint64_t status_3xx = 0;
  std::uint64_t status_4xx = 0;
  std::uint64_t status_5xx = 0;
  std::uint64_t rejected_oversize = 0;    // 413 and 431 answers
  std::uint64_t malformed = 0;            // 400 answers to unparsable HTTP
  std::uint64_t timeouts = 0;             // connections cut by read_timeout (or a stuck write)
  std::uint64_t handler_errors = 0;       // handlers that threw (answered 500)
};

class http_server {
public:
  /// Delivers the answer to one request. Call it once; later calls are ignored. Safe from any thread: the write is
  /// posted to the io_context. When the client has gone or the server stopped, the answer is dropped. It keeps its
  /// connection object alive, so do not keep it past the io_context.
  using respond = std::function<void(http_server_response)>;
  using handler = std::function<void(http_server_request, respond)>;

  explicit http_server(boost::asio::io_context& ioc, http_server_options options = {});
  /// Stops the server (see stop()).
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Routes `method` (exact, e.g. "POST") on `path` (exact, without query) to `h`; a second call for the same pair
  /// replaces the handler. @pre called on the io thread or before the io_context runs.
  void on(std::string method, std::string path, handler h);

  /// Opens the listening socket and starts accepting; returns "" on success, else why not (e.g. the port is taken).
  /// @pre called on the io thread or before the io_context runs.
  std::string listen();

  /// The bound port (the ephemeral one when options.port was 0); 0 before a successful listen().
  std::uint16_t port() const;

  /// Closes the acceptor and every open connection; answers still pending are dropped. Idempotent.
  /// @pre called on the io thread or while the io_context is not being run.
  void stop();

  /// Counters; read them on the io thread.
  const http_server_stats& stats() const;

  /// Connections currently open.
  std::size_t open_connections() const;

private:
  std::shared_ptr<detail::http_server_impl> impl_;
};

} // namespace dutydesk::io
