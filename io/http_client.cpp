#include "io/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <random>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include "domain/url.hpp"
#include "metrics/registry.hpp"

namespace dutydesk::io {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::optional<std::string> http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return std::nullopt;
}

const char* to_string(http_failure f) {
  switch (f) {
    case http_failure::none:
      return "none";
    case http_failure::bad_url:
      return "bad url";
    case http_failure::resolve:
      return "resolve failed";
    case http_failure::connect:
      return "connect failed";
    case http_failure::tls:
      return "TLS handshake failed";
    case http_failure::timeout:
      return "timeout";
    case http_failure::io:
      return "connection error";
  }
  return "?";
}

namespace {

std::optional<std::int64_t> to_int(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

} // namespace

std::chrono::milliseconds rate_limit_wait(const retry_policy& p, const http_response& r) {
  using std::chrono::milliseconds;
  std::optional<milliseconds> wait;
  if (auto ra = r.header("retry-after"); ra && to_int(*ra)) {
    wait = milliseconds(*to_int(*ra) * 1000);
  } else if (auto xr = r.header("x-ratelimit-reset"); xr && to_int(*xr)) {
    // Rocket.Chat: epoch ms of the window reset.
    auto now = p.now_epoch_ms ? p.now_epoch_ms()
                              : std::chrono::duration_cast<milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    wait = milliseconds(*to_int(*xr) - now);
  } else if (auto rr = r.header("ratelimit-reset"); rr && to_int(*rr)) {
    wait = milliseconds(*to_int(*rr) * 1000); // OnCall: seconds
  }
  auto w = wait.value_or(p.default_rate_limit_wait);
  return std::clamp(w, milliseconds(0), p.max_rate_limit_wait);
}

std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& p, unsigned attempts_made,
                                                     const http_result& r, bool repeatable, bool sent,
                                                     std::uint64_t random) {
  using std::chrono::milliseconds;
  if (attempts_made >= p.max_attempts)
    return std::nullopt;
  if (r.ok()) {
    if (r.response.status == 429)
      return rate_limit_wait(p, r.response);
    if (r.response.status < 500 || !repeatable)
      return std::nullopt;
  } else {
    if (r.failure == http_failure::bad_url)
      return std::nullopt;
    if (sent && !repeatable)
      return std::nullopt;
  }
  // Exponential backoff with "equal jitter": half fixed, half random.
  auto shift = std::min(attempts_made - 1, 20u);
  auto d = std::min<std::int64_t>(p.base_delay.count() << shift, p.max_delay.count());
  auto half = d / 2;
  return milliseconds(half + static_cast<std::int64_t>(random % static_cast<std::uint64_t>(half + 1)));
}

namespace {

struct connection {
  explicit connection(net::io_context& ioc) : plain(std::in_place, ioc) {}
  connection(net::io_context& ioc, ssl::context& ctx) : secure(std::in_place, ioc, ctx) {}
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    beast::error_code ec;
    tcp().socket().close(ec);
  }
};

struct target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string host_header;
  std::string path;
  std::string key;
};

std::optional<target> split_url(const std::string& url) {
  auto u = domain::parse_url(url);
  if (!u || u->host.empty() || (u->scheme != "http" && u->scheme != "https"))
    return std::nullopt;
  target t;
  t.tls = u->scheme == "https";
  t.host = u->host;
  auto port = u->port.value_or(t.tls ? 443 : 80);
  t.port = std::to_string(port);
  t.host_header = (u->ipv6 ? "[" + u->host + "]" : u->host);
  if (u->port && *u->port != (t.tls ? 443 : 80))
    t.host_header += ":" + t.port;
  t.path = u->path.empty() ? "/" : u->path;
  if (u->has_query)
    t.path += "?" + u->query;
  t.key = u->scheme + "://" + t.host + ":" + t.port;
  return t;
}

http::verb verb_of(http_method m) {
  switch (m) {
    case http_method::get:
      return http::verb::get;
    case http_method::post:
      return http::verb::post;
    case http_method::put:
      return http::verb::put;
    case http_method::del:
      return http::verb::delete_;
  }
  return http::verb::get;
}

} // namespace

struct detail::http_client_impl : std::enable_shared_from_this<detail::http_client_impl> {
  http_client_impl(net::io_context& c, http_client_options o)
      : ioc(c), options(std::move(o)), ssl_ctx(ssl::context::tls_client), rng(std::random_device{}()) {
    boost::system::error_code ec;
    ssl_ctx.set_default_verify_paths(ec);
    if (!options.tls.ca_file.empty())
      ssl_ctx.load_verify_file(options.tls.ca_file, ec);
    ssl_ctx.set_verify_mode(options.tls.verify_peer ? ssl::verify_peer : ssl::verify_none, ec);
  }

  net::io_context& ioc;
  http_client_options options;
  ssl::context ssl_ctx;
  std::mt19937_64 rng;
  std::map<std::string, std::vector<std::unique_ptr<connection>>> idle;
  http_client_stats stats;

  std::unique_ptr<connection> take_idle(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end())
      return nullptr;
    auto now = std::chrono::steady_clock::now();
    auto& xs = it->second;
    while (!xs.empty()) {
      auto c = std::move(xs.back());
      xs.pop_back();
      if (now - c->idle_since < options.idle_timeout)
        return c;
      c->close();
    }
    return nullptr;
  }

  void put_idle(const std::string& key, std::unique_ptr<connection> c) {
    auto& xs = idle[key];
    if (xs.size() >= options.max_idle_per_host) {
      c->close();
      return;
    }
    c->idle_since = std::chrono::steady_clock::now();
    xs.push_back(std::move(c));
  }
};

namespace {

class request_op : public std::enable_shared_from_this<request_op> {
public:
  request_op(std::shared_ptr<detail::http_client_impl> owner, http_request req, http_client::callback cb)
      : owner_(std::move(owner)), req_(std::move(req)), cb_(std::move(cb)), resolver_(owner_->ioc),
        deadline_(owner_->ioc), backoff_(owner_->ioc) {}

  void start() {
    ++owner_->stats.requests;
    if (req_.system.empty())
      req_.system = owner_->options.system;
    auto t = split_url(req_.url);
    if (!t) {
      if (recorded())
        owner_->options.metrics->outbound_call(req_.system, metrics::call_result::transport, {});
      http_result r;
      r.failure = http_failure::bad_url;
      r.error_text = "not an absolute http(s) URL";
      net::post(owner_->ioc, [self = shared_from_this(), r = std::move(r)]() mutable { self->deliver(std::move(r)); });
      return;
    }
    target_ = std::move(*t);
    build_request();
    attempt();
  }

private:
  void build_request() {
    hreq_.method(verb_of(req_.method));
    hreq_.target(target_.path);
    hreq_.version(11);
    hreq_.set(http::field::host, target_.host_header);
    hreq_.set(http::field::user_agent, owner_->options.user_agent);
    hreq_.set(http::field::accept, "application/json");
    bool has_type = false;
    for (const auto& [k, v] : req_.headers) {
      hreq_.set(k, v);
      if (beast::iequals(k, "content-type"))
        has_type = true;
    }
    if (!req_.body.empty() || req_.method == http_method::post || req_.method == http_method::put) {
      if (!has_type)
        hreq_.set(http::field::content_type, "application/json");
      hreq_.body() = req_.body;
    }
    hreq_.keep_alive(true);
    hreq_.prepare_payload();
  }

  void attempt() {
    ++attempts_;
    ++owner_->stats.attempts;
    if (attempts_ > 1)
      ++owner_->stats.retries;
    sent_ = false;
    timed_out_ = false;
    attempt_started_ = std::chrono::steady_clock::now();
    ++generation_;
    deadline_.expires_after(req_.timeout);
    deadline_.async_wait([self = shared_from_this(), gen = generation_](beast::error_code ec) {
      if (ec || gen != self->generation_)
        return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      if (self->conn_)
        self->conn_->close();
    });
    conn_ = owner_->take_idle(target_.key);
    reused_ = conn_ != nullptr;
    if (conn_) {
      ++owner_->stats.reused;
      write();
      return;
    }
    open();
  }

  void open() {
    reused_ = false;
    ++owner_->stats.connections;
    if (target_.tls)
      conn_ = std::make_unique<connection>(owner_->ioc, owner_->ssl_ctx);
    else
      conn_ = std::make_unique<connection>(owner_->ioc);
    resolver_.async_resolve(target_.host, target_.port,
                            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type rs) {
                              if (ec)
                                return self->fail(http_failure::resolve, ec);
                              self->conn_->tcp().async_connect(
                                  rs, [self](beast::error_code ec2, const tcp::endpoint&) {
                                    if (ec2)
                                      return self->fail(http_failure::connect, ec2);
                                    self->handshake();
                                  });
                            });
  }

  void handshake() {
    if (!target_.tls)
      return write();
    auto& s = *conn_->secure;
    if (!SSL_set_tlsext_host_name(s.native_handle(), target_.host.c_str()))
      return fail(http_failure::tls, beast::error_code(static_cast<int>(::ERR_get_error()),
                                                       net::error::get_ssl_category()));
    if (owner_->options.tls.verify_peer)
      s.set_verify_callback(ssl::host_name_verification(target_.host));
    s.async_handshake(ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->fail(http_failure::tls, ec);
      self->write();
    });
  }

  template <class F>
  void with_stream(F&& f) {
    if (conn_->secure)
      f(*conn_->secure);
    else
      f(*conn_->plain);
  }

  void write() {
    sent_ = true;
    with_stream([this](auto& stream) {
      http::async_write(stream, hreq_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->fail(http_failure::io, ec);
        self->read();
      });
    });
  }

  void read() {
    res_ = {};
    conn_->buffer.clear();
    with_stream([this](auto& stream) {
      http::async_read(stream, conn_->buffer, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->fail(http_failure::io, ec);
        self->done();
      });
    });
  }

  void done() {
    ++generation_;
    deadline_.cancel();
    http_result r;
    r.attempts = attempts_;
    r.response.status = res_.result_int();
    for (const auto& f : res_) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.response.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    r.response.body = std::move(res_.body());
    if (r.response.status == 429)
      ++owner_->stats.rate_limited;
    record(metrics::classify_http(static_cast<int>(r.response.status)));
    if (res_.keep_alive())
      owner_->put_idle(target_.key, std::move(conn_));
    else
      conn_->close();
    conn_.reset();
    finish(std::move(r));
  }

  void fail(http_failure kind, beast::error_code ec) {
    if (timed_out_)
      kind = http_failure::timeout;
    ++generation_;
    deadline_.cancel();
    if (conn_)
      conn_->close();
    conn_.reset();
    // A pooled connection the server closed while idle fails at once; that is not an attempt of this request.
    if (reused_ && kind == http_failure::io && !stale_retry_used_) {
      stale_retry_used_ = true;
      --attempts_;
      --owner_->stats.attempts;
      return attempt();
    }
    record(metrics::call_result::transport);
    http_result r;
    r.failure = kind;
    r.error_text = ec.message();
    r.attempts = attempts_;
    finish(std::move(r));
  }

  /// Whether this request's attempts are recorded: a registry is set and the request has a system label (a caller
  /// that records its calls itself, as the event relays do, leaves it empty).
  bool recorded() const { return owner_->options.metrics && !req_.system.empty(); }

  /// Records the attempt that just ended.
  void record(metrics::call_result result) {
    if (!recorded())
      return;
    owner_->options.metrics->outbound_call(req_.system, result,
                                           std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::steady_clock::now() - attempt_started_));
  }

  void finish(http_result r) {
    bool repeatable = req_.method != http_method::post || req_.retry_safe;
    auto wait = retry_delay(owner_->options.retry, attempts_, r, repeatable, sent_, owner_->rng());
    if (!wait)
      return deliver(std::move(r));
    if (recorded())
      owner_->options.metrics->retry(req_.system);
    backoff_.expires_after(*wait);
    backoff_.async_wait([self = shared_from_this()](beast::error_code) { self->attempt(); });
  }

  void deliver(http_result r) {
    auto cb = std::move(cb_);
    cb_ = nullptr;
    if (cb)
      cb(std::move(r));
  }

  std::shared_ptr<detail::http_client_impl> owner_;
  http_request req_;
  http_client::callback cb_;
  target target_;
  tcp::resolver resolver_;
  net::steady_timer deadline_;
  net::steady_timer backoff_;
  std::unique_ptr<connection> conn_;
  http::request<http::string_body> hreq_;
  http::response<http::string_body> res_;
  unsigned attempts_ = 0;
  std::chrono::steady_clock::time_point attempt_started_;
  std::uint64_t generation_ = 0;
  bool sent_ = false;
  bool reused_ = false;
  bool timed_out_ = false;
  bool stale_retry_used_ = false;
};

} // namespace

http_client::http_client(net::io_context& ioc, http_client_options options)
    : impl_(std::make_shared<detail::http_client_impl>(ioc, std::move(options))) {}

http_client::~http_client() { close_idle(); }

void http_client::request(http_request req, callback cb) {
  std::make_shared<request_op>(impl_, std::move(req), std::move(cb))->start();
}

void http_client::close_idle() {
  for (auto& [key, xs] : impl_->idle)
    for (auto& c : xs)
      c->close();
  impl_->idle.clear();
}

std::size_t http_client::idle_connections() const {
  std::size_t n = 0;
  for (const auto& [key, xs] : impl_->idle)
    n += xs.size();
  return n;
}

const http_client_stats& http_client::stats() const { return impl_->stats; }

} // namespace dutydesk::io
