// The Beast layer of the simulator. Callback style throughout (no coroutines: toolchain.md §1.1), one io thread,
// so every call into the simulator's logic happens on that thread and the logic needs no locks.

#include "sim/server.hpp"

#include <charconv>
#include <csignal>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "sim/simulator.hpp"

namespace dutydesk::sim {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

bool parse_listen_address(const std::string& text, listen_address& out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return false;
  unsigned port = 0;
  auto p = text.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc{} || ptr != p.data() + p.size() || port > 65535)
    return false;
  out.host = text.substr(0, colon);
  out.port = static_cast<uint16_t>(port);
  return true;
}

namespace {

struct server_state {
  net::io_context& ioc;
  simulator& sim;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

http_request to_request(const http::request<http::string_body>& r, const std::string& remote) {
  http_request in;
  in.method = std::string{r.method_string()};
  in.target = std::string{r.target()};
  auto q = in.target.find('?');
  in.path = percent_decode(std::string_view{in.target}.substr(0, q), false);
  if (q != std::string::npos) {
    std::string_view query = std::string_view{in.target}.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      auto pair = query.substr(0, amp);
      if (!pair.empty()) {
        auto eq = pair.find('=');
        in.query.emplace(percent_decode(pair.substr(0, eq), true),
                         eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), true));
      }
      if (amp == std::string_view::npos)
        break;
      query.remove_prefix(amp + 1);
    }
  }
  for (auto& h : r) {
    std::string name{h.name_string()};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, fresh] = in.headers.emplace(name, std::string{h.value()});
    if (!fresh)
      it->second += ", " + std::string{h.value()};
  }
  in.body = r.body();
  in.remote = remote;
  return in;
}

void abort_socket(tcp::socket& s) {
  beast::error_code ec;
  s.set_option(net::socket_base::linger(true, 0), ec);
  s.close(ec);
}

// --- websocket (Rocket.Chat realtime) -------------------------------------------------------------------------

class ws_session final : public ws_connection, public std::enable_shared_from_this<ws_session> {
public:
  ws_session(tcp::socket&& socket, server_state& st) : ws_(std::move(socket)), st_(st) {}

  void run(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(16 * 1024 * 1024);
    ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
  }

  void send_text(std::string frame) override {
    if (finished_ || closing_)
      return;
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1)
      do_write();
  }

  void close(int code, std::string reason) override {
    if (finished_ || closing_)
      return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (queue_.empty())
      do_close();
  }

  void drop() override {
    if (finished_)
      return;
    abort_socket(beast::get_lowest_layer(ws_).socket());
    finish();
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    beast::error_code opt_ec;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), opt_ec);
    accepted_ = true;
    id_ = st_.sim.rocketchat().ddp_open(shared_from_this());
    do_read();
  }

  void do_read() { ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this())); }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return finish();
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    st_.sim.log_frame("rocketchat", text);
    st_.sim.rocketchat().ddp_message(id_, text);
    if (!finished_)
      do_read();
  }

  void do_write() {
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    // A write may complete successfully after a drop already finished the session and cleared the queue (the
    // completion was on its way when the socket was aborted): the frame it wrote is gone with the queue.
    if (ec || finished_ || queue_.empty())
      return finish();
    queue_.pop_front();
    if (!queue_.empty())
      do_write();
    else if (closing_)
      do_close();
  }

  void do_close() {
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    queue_.clear();
    if (accepted_)
      st_.sim.rocketchat().ddp_closed(id_);
  }

  websocket::stream<beast::tcp_stream> ws_;
  server_state& st_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  websocket::close_reason close_reason_;
  uint64_t id_ = 0;
  bool accepted_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

// --- HTTP -------------------------------------------------------------------------------------------------------

class http_session final : public std::enable_shared_from_this<http_session> {
public:
  // `system` is nullptr for the control API.
  http_session(tcp::socket&& socket, server_state& st, simulated_system* system)
    : stream_(std::move(socket)), st_(st), system_(system), timer_(st.ioc) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  void run() { do_read(); }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    stream_.expires_after(std::chrono::minutes(5));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec)
      return;
    auto req = parser_->release();
    if (websocket::is_upgrade(req)) {
      auto target = std::string_view{req.target()};
      if (system_ == &st_.sim.rocketchat() && target.substr(0, target.find('?')) == "/websocket") {
        stream_.expires_never();
        std::make_shared<ws_session>(stream_.release_socket(), st_)->run(std::move(req));
        return;
      }
    }
    auto in = to_request(req, remote_);
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    if (!system_)
      return respond(st_.sim.control(in), 0);
    auto decision = st_.sim.product(*system_, in);
    respond(std::move(*decision.response), decision.latency_ms);
  }

  void respond(http_response r, int latency_ms) {
    pending_ = std::move(r);
    if (latency_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(latency_ms));
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec)
          self->write_pending();
      });
    } else {
      write_pending();
    }
  }

  void write_pending() {
    if (pending_.reset) {
      abort_socket(stream_.socket());
      return;
    }
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(pending_.status));
    res_.set(http::field::server, "dutydesk-sim");
    if (pending_.status != 204 && pending_.status != 304)
      res_.set(http::field::content_type, pending_.content_type);
    for (auto& [name, value] : pending_.headers)
      res_.set(name, value);
    res_.body() = std::move(pending_.body);
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    http::async_write(stream_, res_, beast::bind_front_handler(&http_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return;
    if (!keep_alive_) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  server_state& st_;
  simulated_system* system_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  http_response pending_;
  std::string remote_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
};

class listener final : public std::enable_shared_from_this<listener> {
public:
  listener(server_state& st, const listen_address& addr, simulated_system* system)
    : st_(st), acceptor_(st.ioc), system_(system) {
    tcp::endpoint ep{net::ip::make_address(addr.host), addr.port};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const {
    return "http://" + acceptor_.local_endpoint().address().to_string() + ":" + std::to_string(port());
  }

  void run() { do_accept(); }

private:
  void do_accept() {
    acceptor_.async_accept(st_.ioc, beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec)
      std::make_shared<http_session>(std::move(socket), st_, system_)->run();
    if (ec != net::error::operation_aborted)
      do_accept();
  }

  server_state& st_;
  tcp::acceptor acceptor_;
  simulated_system* system_;
};

// --- outbound HTTP (Jira webhooks) ------------------------------------------------------------------------------

class outbound_request final : public std::enable_shared_from_this<outbound_request> {
public:
  outbound_request(net::io_context& ioc, outbound_call call, std::function<void(outbound_result)> done)
    : resolver_(ioc), stream_(ioc), call_(std::move(call)), done_(std::move(done)) {}

  void start() {
    // Only plain http:// receivers on loopback are reachable here.
    constexpr std::string_view scheme = "http://";
    std::string_view url = call_.url;
    if (url.substr(0, scheme.size()) != scheme)
      return fail("unsupported URL scheme");
    url.remove_prefix(scheme.size());
    auto slash = url.find('/');
    std::string authority{url.substr(0, slash)};
    target_ = slash == std::string_view::npos ? "/" : std::string{url.substr(slash)};
    auto colon = authority.rfind(':');
    host_ = authority.substr(0, colon);
    port_ = colon == std::string::npos ? "80" : authority.substr(colon + 1);
    host_header_ = authority;
    resolver_.async_resolve(host_, port_, beast::bind_front_handler(&outbound_request::on_resolve, shared_from_this()));
  }

private:
  void fail(std::string what) {
    if (done_)
      done_(outbound_result{call_.id, 0, std::move(what)});
    done_ = nullptr;
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail("resolve: " + ec.message());
    stream_.expires_after(std::chrono::seconds(10));
    stream_.async_connect(results, beast::bind_front_handler(&outbound_request::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::endpoint) {
    if (ec)
      return fail("connect: " + ec.message());
    req_.version(11);
    req_.method_string(call_.method);
    req_.target(target_);
    req_.set(http::field::host, host_header_);
    req_.set(http::field::user_agent, "Atlassian Webhook HTTP Client");
    for (auto& [name, value] : call_.headers)
      req_.set(name, value);
    req_.body() = call_.body;
    req_.keep_alive(false);
    req_.prepare_payload();
    http::async_write(stream_, req_, beast::bind_front_handler(&outbound_request::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return fail("write: " + ec.message());
    http::async_read(stream_, buffer_, res_, beast::bind_front_handler(&outbound_request::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail("read: " + ec.message());
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (done_)
      done_(outbound_result{call_.id, static_cast<int>(res_.result_int()), ""});
    done_ = nullptr;
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  outbound_call call_;
  std::function<void(outbound_result)> done_;
  std::string host_, port_, host_header_, target_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
};

void schedule_tick(net::steady_timer& timer, simulator& sim) {
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &sim](beast::error_code ec) {
    if (ec)
      return;
    sim.tick();
    schedule_tick(timer, sim);
  });
}

} // namespace

int run_server(const server_options& options) {
  json seed;
  {
    std::ifstream in(options.seed_path);
    seed = json::parse(in, nullptr, false);
    if (seed.is_discarded() || !seed.is_object()) {
      std::cerr << "dutydesk-sim: " << options.seed_path << " is not a JSON object\n";
      return 1;
    }
  }
  // The io_context outlives the simulator: the simulator's DDP sessions hold websocket streams, which unregister from
  // the io_context's websocket service when they are destroyed (the other order segfaulted at every stop after a
  // realtime client had connected).
  net::io_context ioc{1};
  system_clock clock;
  id_source ids{options.random_seed};
  simulator sim{clock, ids};
  try {
    sim.load_seed(seed);
  } catch (const std::exception& e) {
    std::cerr << "dutydesk-sim: bad seed " << options.seed_path << ": " << e.what() << "\n";
    return 1;
  }
  server_state st{ioc, sim};
  for (auto* jira : {&sim.jira_dc(), &sim.jira_cloud()}) {
    jira->set_outbound([&ioc, jira](outbound_call call) {
      std::make_shared<outbound_request>(ioc, std::move(call), [jira](outbound_result r) {
        jira->on_outbound_result(r);
      })->start();
    });
  }
  std::vector<std::pair<std::string, std::shared_ptr<listener>>> listeners;
  try {
    auto add = [&](const std::string& name, const listen_address& addr, simulated_system* system) {
      try {
        listeners.emplace_back(name, std::make_shared<listener>(st, addr, system));
      } catch (const std::exception& e) {
        throw std::runtime_error("cannot listen on " + addr.host + ":" + std::to_string(addr.port) + " for " + name +
                                 ": " + e.what());
      }
    };
    add("rocketchat", options.rocketchat, &sim.rocketchat());
    add("jira-dc", options.jira_dc, &sim.jira_dc());
    add("jira-cloud", options.jira_cloud, &sim.jira_cloud());
    add("oncall", options.oncall, &sim.oncall());
    add("control", options.control, nullptr);
  } catch (const std::exception& e) {
    std::cerr << "dutydesk-sim: " << e.what() << "\n";
    return 1;
  }
  json ready = json::object();
  for (auto& [name, l] : listeners) {
    ready[name] = l->url();
    if (auto* s = sim.find(name))
      s->set_base_url(l->url());
    l->run();
  }
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  net::steady_timer ticker{ioc};
  schedule_tick(ticker, sim);
  std::cout << "dutydesk-sim ready " << ready.dump() << std::endl;
  ioc.run();
  std::cout << "dutydesk-sim stopped" << std::endl;
  return 0;
}

} // namespace dutydesk::sim
