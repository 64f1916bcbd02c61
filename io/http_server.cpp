#include "io/http_server.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dutydesk::io {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string result(s);
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// How long a rejected connection is drained before it is closed: long enough for the client to finish sending and
// read the answer (closing with unread input makes the kernel send RST, which can discard the answer in flight).
constexpr std::chrono::milliseconds max_linger{2000};

// The pause before accepting again after an accept error (e.g. out of file descriptors), so it does not spin.
constexpr std::chrono::milliseconds accept_retry_delay{100};

} // namespace

std::optional<std::string> http_server_request::header(std::string_view name) const {
  auto wanted = lower(name);
  for (auto& [n, v] : headers)
    if (n == wanted)
      return v;
  return std::nullopt;
}

namespace detail {

class http_server_session;

struct http_server_impl : std::enable_shared_from_this<http_server_impl> {
  http_server_impl(net::io_context& ioc, http_server_options o)
    : options(std::move(o)), acceptor(ioc), retry_timer(ioc) {}

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void count_status(unsigned status);

  http_server_options options;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::map<std::string, std::map<std::string, http_server::handler>> routes; // path → method → handler
  std::map<std::uint64_t, std::weak_ptr<http_server_session>> sessions;     // open connections by id
  std::uint64_t next_session = 0;
  std::uint16_t port = 0;
  bool stopped = false;
  http_server_stats stats;
};

// One connection: reads a request, hands it to its route, writes the answer, repeats while keep-alive holds.
class http_server_session : public std::enable_shared_from_this<http_server_session> {
public:
  http_server_session(tcp::socket&& socket, std::shared_ptr<http_server_impl> server, std::uint64_t id,
                      std::string remote)
    : stream_(std::move(socket)), server_(std::move(server)), id_(id), remote_(std::move(remote)) {}

  void run() { read_request(); }

  /// Closes the socket; pending operations end with operation_aborted and release the session.
  void close() {
    if (closed_)
      return;
    closed_ = true;
    server_->sessions.erase(id_);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  /// The handler's answer to request number `generation`, on the io thread.
  void on_answer(std::uint64_t generation, http_server_response res) {
    if (closed_ || generation != generation_ || !awaiting_)
      return;
    awaiting_ = false;
    write(std::move(res), keep_alive_);
  }

private:
  const http_server_options& options() const { return server_->options; }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(options().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&http_server_session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    // A Content-Length over body_limit already fails here (Beast checks it when the header is complete), so an
    // oversized body is refused before any of it is read.
    if (ec)
      return on_read_error(ec);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, parser_->get().version());
      return http::async_write(stream_, *continue_,
                               beast::bind_front_handler(&http_server_session::on_continue, shared_from_this()));
    }
    read_body();
  }

  void on_continue(beast::error_code ec, std::size_t) {
    if (ec)
      return close();
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_server_session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    stream_.expires_never();
    dispatch();
  }

  void on_read_error(beast::error_code ec) {
    if (closed_ || ec == net::error::operation_aborted || ec == http::error::end_of_stream ||
        ec == http::error::partial_message)
      return close();
    if (ec == beast::error::timeout) {
      ++server_->stats.timeouts;
      return close();
    }
    if (ec == http::error::body_limit) {
      ++server_->stats.rejected_oversize;
      return reject(413, "request body too large\n");
    }
    if (ec == http::error::header_limit) {
      ++server_->stats.rejected_oversize;
      return reject(431, "request header too large\n");
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      ++server_->stats.malformed;
      return reject(400, "malformed HTTP request\n");
    }
    close(); // connection reset and other socket errors
  }

  void dispatch() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    http_server_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos)
      r.query = r.target.substr(q + 1);
    for (auto& f : req)
      r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
    r.body = std::move(req.body());
    r.remote_address = remote_;
    parser_.reset();

    auto route = server_->routes.find(r.path);
    if (route == server_->routes.end())
      return write(plain(404, "not found\n"), keep_alive_);
    auto h = route->second.find(r.method);
    if (h == route->second.end()) {
      std::string allow;
      for (auto& [method, unused] : route->second)
        allow += (allow.empty() ? "" : ", ") + method;
      auto res = plain(405, "method not allowed\n");
      res.headers.emplace_back("Allow", allow);
      return write(std::move(res), keep_alive_);
    }
    auto generation = ++generation_;
    awaiting_ = true;
    auto handler = h->second; // a copy: the handler may replace routes while it runs
    http_server::respond answer = [self = shared_from_this(), generation](http_server_response res) {
      auto ex = self->stream_.get_executor();
      net::post(ex, [self, generation, res = std::move(res)]() mutable { self->on_answer(generation, std::move(res)); });
    };
    try {
      handler(std::move(r), std::move(answer));
    } catch (...) {
      ++server_->stats.handler_errors;
      on_answer(generation, plain(500, "internal error\n"));
    }
  }

  static http_server_response plain(unsigned status, std::string body) {
    http_server_response res;
    res.status = status;
    res.body = std::move(body);
    return res;
  }

  void reject(unsigned status, std::string text) {
    version_ = parser_->get().version() == 10 ? 10 : 11; // what was parsed of the request line, if anything
    if (options().on_reject) {
      std::string target{parser_->get().target()};
      options().on_reject(status, target.substr(0, target.find('?')));
    }
    write(plain(status, std::move(text)), false);
  }

  void write(http_server_response res, bool keep_alive) {
    if (res.status < 200 || res.status > 599)
      res = plain(500, "handler gave an invalid status\n");
    keep_alive_ = keep_alive;
    res_ = {};
    res_.version(version_);
    res_.result(res.status);
    res_.set(http::field::server, "dutydesk");
    if (!res.content_type.empty() && !has_line_break(res.content_type))
      res_.set(http::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers)
      if (!name.empty() && !has_line_break(name) && !has_line_break(value))
        res_.insert(name, value);
    res_.body() = std::move(res.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    ++server_->stats.requests;
    server_->count_status(res.status);
    stream_.expires_after(options().read_timeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&http_server_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == beast::error::timeout)
        ++server_->stats.timeouts;
      return close();
    }
    if (!keep_alive_)
      return linger();
    read_request();
  }

  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::min<std::chrono::milliseconds>(options().read_timeout, max_linger));
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return self->close();
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<http_server_impl> server_;
  std::uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  std::array<char, 4096> drain_{};
  std::uint64_t generation_ = 0; // number of the request whose answer is awaited
  bool awaiting_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool closed_ = false;
};

void http_server_impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
    self->on_accept(ec, std::move(s));
  });
}

void http_server_impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopped || ec == net::error::operation_aborted)
    return;
  if (ec) {
    retry_timer.expires_after(accept_retry_delay);
    retry_timer.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e && !self->stopped)
        self->accept();
    });
    return;
  }
  beast::error_code ignored;
  if (sessions.size() >= options.max_connections) {
    ++stats.rejected_connections;
    socket.close(ignored);
  } else {
    auto remote = socket.remote_endpoint(ignored).address().to_string();
    auto id = ++next_session;
    auto s = std::make_shared<http_server_session>(std::move(socket), shared_from_this(), id, std::move(remote));
    sessions.emplace(id, s);
    ++stats.connections;
    s->run();
  }
  accept();
}

void http_server_impl::count_status(unsigned status) {
  switch (status / 100) {
    case 2: ++stats.status_2xx; break;
    case 3: ++stats.status_3xx; break;
    case 4: ++stats.status_4xx; break;
    default: ++stats.status_5xx; break;
  }
}

} // namespace detail

http_server::http_server(net::io_context& ioc, http_server_options options)
  : impl_(std::make_shared<detail::http_server_impl>(ioc, std::move(options))) {}

http_server::~http_server() {
  stop();
}

void http_server::on(std::string method, std::string path, handler h) {
  impl_->routes[std::move(path)][std::move(method)] = std::move(h);
}

std::string http_server::listen() {
  auto& s = *impl_;
  if (s.acceptor.is_open())
    return "already listening on port " + std::to_string(s.port);
  beast::error_code ec;
  auto address = net::ip::make_address(s.options.host, ec);
  if (ec)
    return "invalid listen address " + s.options.host + ": " + ec.message();
  tcp::endpoint endpoint{address, s.options.port};
  auto where = s.options.host + ":" + std::to_string(s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec)
    return "cannot open a socket for " + where + ": " + ec.message();
  beast::error_code ignored;
  s.acceptor.bind(endpoint, ec);
  if (ec) {
    s.acceptor.close(ignored);
    return "cannot bind " + where + ": " + ec.message();
  }
  s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.close(ignored);
    return "cannot listen on " + where + ": " + ec.message();
  }
  s.port = s.acceptor.local_endpoint(ignored).port();
  s.stopped = false;
  s.accept();
  return "";
}

std::uint16_t http_server::port() const {
  return impl_->port;
}

void http_server::stop() {
  auto& s = *impl_;
  s.stopped = true;
  beast::error_code ignored;
  s.acceptor.close(ignored);
  s.retry_timer.cancel();
  auto open = s.sessions; // close() erases from the map
  for (auto& [id, weak] : open)
    if (auto session = weak.lock())
      session->close();
}

const http_server_stats& http_server::stats() const {
  return impl_->stats;
}

std::size_t http_server::open_connections() const {
  return impl_->sessions.size();
}

} // namespace dutydesk::io
