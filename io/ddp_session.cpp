#include "io/ddp_session.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>

#include "domain/url.hpp"
#include "io/rocketchat_rest.hpp"

namespace dutydesk::io {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

const char* to_string(ddp_state s) {
  switch (s) {
    case ddp_state::idle:
      return "idle";
    case ddp_state::connecting:
      return "connecting";
    case ddp_state::live:
      return "live";
    case ddp_state::waiting:
      return "waiting";
    case ddp_state::auth_failed:
      return "auth_failed";
    case ddp_state::stopped:
      return "stopped";
  }
  return "?";
}

namespace {

using error_handler = std::function<void(beast::error_code, const char* stage)>;
using read_handler = std::function<void(beast::error_code, std::string)>;
using write_handler = std::function<void(beast::error_code)>;

/// One websocket connection, plain or TLS.
class ws_conn {
public:
  virtual ~ws_conn() = default;
  virtual void open(const std::string& host, const std::string& port, const std::string& host_header,
                    const std::string& path, error_handler done) = 0;
  virtual void read(read_handler h) = 0;
  virtual void write(const std::string& text, write_handler h) = 0;
  virtual void close() = 0;
};

template <class Stream>
class ws_conn_impl final : public ws_conn {
public:
  template <class... Args>
  explicit ws_conn_impl(net::io_context& ioc, Args&&... args)
      : ws_(ioc, std::forward<Args>(args)...), resolver_(ioc) {}

  void open(const std::string& host, const std::string& port, const std::string& host_header,
            const std::string& path, error_handler done) override {
    host_ = host;
    host_header_ = host_header;
    path_ = path;
    done_ = std::move(done);
    resolver_.async_resolve(host, port, [this](beast::error_code ec, tcp::resolver::results_type rs) {
      if (ec)
        return finish(ec, "resolve");
      beast::get_lowest_layer(ws_).async_connect(rs, [this](beast::error_code ec2, const tcp::endpoint&) {
        if (ec2)
          return finish(ec2, "connect");
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
        tls_then_upgrade();
      });
    });
  }

  void read(read_handler h) override {
    ws_.async_read(buffer_, [this, h = std::move(h)](beast::error_code ec, std::size_t) {
      if (ec)
        return h(ec, {});
      auto text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      h(ec, std::move(text));
    });
  }

  void write(const std::string& text, write_handler h) override {
    ws_.text(true);
    auto frame = std::make_shared<std::string>(text); // alive until the write completes, even after a drop
    ws_.async_write(net::buffer(*frame), [frame, h = std::move(h)](beast::error_code ec, std::size_t) { h(ec); });
  }

  void close() override {
    beast::error_code ec;
    resolver_.cancel();
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

private:
  // `done_` holds the owner's reference to this connection while opening; release it once called.
  void finish(beast::error_code ec, const char* stage) {
    auto d = std::move(done_);
    done_ = nullptr;
    if (d)
      d(ec, stage);
  }

  void tls_then_upgrade() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      auto& s = ws_.next_layer();
      if (!SSL_set_tlsext_host_name(s.native_handle(), host_.c_str()))
        return finish(beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()), "sni");
      s.set_verify_callback(ssl::host_name_verification(host_));
      s.async_handshake(ssl::stream_base::client, [this](beast::error_code ec) {
        if (ec)
          return finish(ec, "tls handshake");
        upgrade();
      });
    } else {
      upgrade();
    }
  }

  void upgrade() {
    beast::get_lowest_layer(ws_).expires_never();
    // DDP has its own heartbeat (the session pings); only bound the close handshake here.
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(16 * 1024 * 1024);
    ws_.async_handshake(host_header_, path_, [this](beast::error_code ec) { finish(ec, "websocket upgrade"); });
  }

  websocket::stream<Stream> ws_;
  tcp::resolver resolver_;
  beast::flat_buffer buffer_;
  std::string host_, host_header_, path_;
  error_handler done_;
};

} // namespace

struct detail::ddp_session_impl : std::enable_shared_from_this<detail::ddp_session_impl> {
  struct room {
    std::string id;
    std::string sub_id;
    bool ready = false;
    bool refused = false;
    bool backfilling = false;
    bool live = false;
    std::int64_t cursor = 0;
    std::unordered_map<std::string, std::int64_t> seen; // _id -> newest _updatedAt delivered
    std::vector<chat_message> held;                     // live events during the backfill
  };

  ddp_session_impl(net::io_context& c, rocketchat_rest& r, ddp_session_config cfg, ddp_callbacks cb)
      : ioc(c), rest(r), config(std::move(cfg)), callbacks(std::move(cb)), ssl_ctx(ssl::context::tls_client),
        tick_timer(c), reconnect_timer(c), rng(std::random_device{}()) {
    boost::system::error_code ec;
    ssl_ctx.set_default_verify_paths(ec);
    if (!config.tls.ca_file.empty())
      ssl_ctx.load_verify_file(config.tls.ca_file, ec);
    ssl_ctx.set_verify_mode(config.tls.verify_peer ? ssl::verify_peer : ssl::verify_none, ec);
    for (const auto& id : config.room_ids) {
      room r2;
      r2.id = id;
      r2.cursor = config.backfill_since_ms;
      rooms.emplace(id, std::move(r2));
    }
  }

  net::io_context& ioc;
  rocketchat_rest& rest;
  ddp_session_config config;
  ddp_callbacks callbacks;
  ssl::context ssl_ctx;
  net::steady_timer tick_timer;
  net::steady_timer reconnect_timer;
  std::mt19937_64 rng;
  std::map<std::string, room> rooms;
  ddp_stats stats;
  ddp_state state = ddp_state::idle;

  // Per connection.
  std::shared_ptr<ws_conn> conn;
  std::uint64_t gen = 0; // bumps on every connection and drop; stale handlers compare it
  std::deque<std::string> outbox;
  bool writing = false;
  bool ddp_connected = false;
  bool logged_in = false;
  std::string login_id;
  std::chrono::steady_clock::time_point handshake_deadline;
  std::chrono::steady_clock::time_point last_rx;
  std::optional<std::chrono::steady_clock::time_point> ping_sent;
  unsigned failures_in_a_row = 0;
  std::uint64_t next_id = 0;

  using clock = std::chrono::steady_clock;

  bool stopped() const { return state == ddp_state::stopped; }

  void log(std::string_view what) {
    if (!stopped() && callbacks.on_log)
      callbacks.on_log(what);
  }

  void set_state(ddp_state s, const std::string& detail = {}) {
    if (state == s && detail.empty())
      return;
    state = s;
    if (callbacks.on_state)
      callbacks.on_state(s, detail);
  }

  void start() {
    if (state != ddp_state::idle)
      return;
    arm_tick();
    connect();
  }

  void stop() {
    if (state == ddp_state::stopped)
      return;
    ++gen;
    if (conn)
      conn->close();
    conn.reset();
    tick_timer.cancel();
    reconnect_timer.cancel();
    // Callbacks stay set (stop() may run inside one of them); every call site checks stopped().
    set_state(ddp_state::stopped);
  }

  bool running() const { return state == ddp_state::connecting || state == ddp_state::live; }

  void connect() {
    auto u = domain::parse_url(config.url);
    std::string scheme = u ? u->scheme : "";
    bool tls = scheme == "https" || scheme == "wss";
    if (!u || u->host.empty() || (!tls && scheme != "http" && scheme != "ws")) {
      set_state(ddp_state::stopped, "bad url");
      log("ddp session has a bad url");
      return;
    }
    ++gen;
    ++stats.connects;
    outbox.clear();
    writing = false;
    ddp_connected = false;
    logged_in = false;
    ping_sent.reset();
    for (auto& [id, r] : rooms) {
      r.ready = r.refused = r.backfilling = r.live = false;
      r.sub_id.clear();
      r.held.clear();
    }
    set_state(ddp_state::connecting);
    handshake_deadline = clock::now() + config.handshake_timeout;
    last_rx = clock::now();
    std::uint16_t default_port = tls ? 443 : 80;
    std::string port = std::to_string(u->port.value_or(default_port));
    std::string host_header = u->ipv6 ? "[" + u->host + "]" : u->host;
    if (u->port && *u->port != default_port)
      host_header += ":" + port;
    std::string path = (scheme == "ws" || scheme == "wss") && !u->path.empty() ? u->path : "/websocket";
    if (tls)
      conn = std::make_shared<ws_conn_impl<beast::ssl_stream<beast::tcp_stream>>>(ioc, ssl_ctx);
    else
      conn = std::make_shared<ws_conn_impl<beast::tcp_stream>>(ioc);
    auto self = shared_from_this();
    auto c = conn;
    auto g = gen;
    conn->open(u->host, port, host_header, path, [self, c, g](beast::error_code ec, const char* stage) {
      if (g != self->gen)
        return;
      if (ec)
        return self->fail(std::string("ddp ") + stage + " failed: " + ec.message());
      self->read_loop(c, g);
      self->send(ddp::connect_frame());
    });
  }

  void read_loop(std::shared_ptr<ws_conn> c, std::uint64_t g) {
    auto self = shared_from_this();
    c->read([self, c, g](beast::error_code ec, std::string text) {
      if (g != self->gen)
        return;
      if (ec)
        return self->fail("ddp connection lost: " + ec.message());
      self->on_frame(text);
      if (g == self->gen)
        self->read_loop(c, g);
    });
  }

  void send(std::string frame) {
    outbox.push_back(std::move(frame));
    if (!writing)
      write_next();
  }

  void write_next() {
    if (outbox.empty() || !conn) {
      writing = false;
      return;
    }
    writing = true;
    auto self = shared_from_this();
    auto g = gen;
    auto c = conn;
    // The frame must stay alive until the write completes: keep it at the queue front until then.
    c->write(outbox.front(), [self, g, c](beast::error_code ec) {
      if (g != self->gen)
        return;
      if (ec)
        return self->fail("ddp write failed: " + ec.message());
      self->outbox.pop_front();
      self->write_next();
    });
  }

  std::string new_id(const char* prefix) { return std::string(prefix) + std::to_string(++next_id); }

  void on_frame(const std::string& text) {
    last_rx = clock::now();
    ping_sent.reset(); // any traffic proves the connection alive
    auto parsed = ddp::parse_server_frame(text);
    if (!parsed.ok()) {
      ++stats.malformed_frames;
      log("ddp skips a malformed frame: " + parsed.error());
      return;
    }
    std::visit([this](const auto& f) { handle(f); }, parsed.value());
  }

  void handle(const ddp::greeting&) {}
  void handle(const ddp::other&) {}
  void handle(const ddp::added&) {}
  void handle(const ddp::updated&) {}
  void handle(const ddp::pong&) {}

  void handle(const ddp::connected&) {
    if (ddp_connected)
      return;
    ddp_connected = true;
    login_id = new_id("login-");
    send(ddp::login_resume_frame(login_id, config.token));
  }

  void handle(const ddp::failed& f) { fail("ddp server refused protocol version (wants " + f.version + ")"); }

  void handle(const ddp::ping& p) {
    ++stats.pings_answered;
    send(ddp::pong_frame(p.id));
  }

  void handle(const ddp::result& r) {
    if (r.id != login_id || logged_in)
      return;
    if (r.error) {
      auto detail = "login refused: " + (r.error->reason.empty() ? r.error->error : r.error->reason);
      log("ddp " + detail);
      ++gen;
      if (conn)
        conn->close();
      conn.reset();
      tick_timer.cancel();
      set_state(ddp_state::auth_failed, detail);
      return;
    }
    logged_in = true;
    for (auto& [id, rm] : rooms) {
      rm.sub_id = new_id("sub-");
      send(ddp::sub_room_messages_frame(rm.sub_id, id));
    }
    check_live();
  }

  room* room_by_sub(const std::string& sub_id) {
    for (auto& [id, r] : rooms)
      if (r.sub_id == sub_id)
        return &r;
    return nullptr;
  }

  void handle(const ddp::ready& r) {
    for (const auto& s : r.subs)
      if (auto* rm = room_by_sub(s); rm && !rm->ready) {
        rm->ready = true;
        start_backfill(*rm);
      }
    check_live();
  }

  void handle(const ddp::nosub& n) {
    auto* rm = room_by_sub(n.id);
    if (!rm)
      return;
    meteor_error e = n.error.value_or(meteor_error{"nosub", "the server ended the subscription", "", ""});
    log("ddp subscription to room " + rm->id + " ended: " + e.error);
    rm->refused = true;
    rm->live = false;
    rm->sub_id.clear();
    if (!stopped() && callbacks.on_subscription_error)
      callbacks.on_subscription_error(rm->id, e);
    check_live();
  }

  void handle(const ddp::changed& c) {
    if (c.collection != "stream-room-messages" || !c.message)
      return;
    auto it = rooms.find(c.message->rid);
    if (it == rooms.end())
      return;
    auto& rm = it->second;
    if (rm.backfilling || !rm.ready) {
      rm.held.push_back(*c.message);
      return;
    }
    deliver(rm, *c.message, false);
  }

  void deliver(room& rm, const chat_message& m, bool from_backfill) {
    if (stopped())
      return;
    auto version = m.updated_at_ms != 0 ? m.updated_at_ms : m.ts_ms;
    auto [it, inserted] = rm.seen.try_emplace(m.id, version);
    if (!inserted) {
      if (it->second >= version) {
        ++stats.duplicates;
        return;
      }
      it->second = version;
    }
    rm.cursor = std::max(rm.cursor, version);
    ++stats.delivered;
    if (from_backfill)
      ++stats.backfilled;
    if (callbacks.on_message)
      callbacks.on_message(m);
  }

  void start_backfill(room& rm) {
    if (rm.cursor == 0) {
      // Nothing delivered yet and no starting point: begin from now; the next reconnect syncs from here.
      rm.cursor = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count() -
                  config.backfill_overlap.count();
      go_live(rm);
      return;
    }
    rm.backfilling = true;
    auto since = rm.cursor - std::max<std::int64_t>(1, config.backfill_overlap.count());
    auto self = shared_from_this();
    auto g = gen;
    auto rid = rm.id;
    rest.sync_messages(rid, since, [self, g, rid](api_result<sync_result> r) {
      if (g != self->gen || self->state == ddp_state::stopped)
        return; // a newer connection will sync again from the cursor
      auto it = self->rooms.find(rid);
      if (it == self->rooms.end())
        return;
      auto& rm2 = it->second;
      rm2.backfilling = false;
      if (!r.ok()) {
        ++self->stats.backfill_failures;
        return self->fail("ddp backfill of room " + rid + " failed: " + r.error().error);
      }
      auto xs = r.value().updated;
      std::stable_sort(xs.begin(), xs.end(), [](const chat_message& a, const chat_message& b) {
        return a.updated_at_ms < b.updated_at_ms;
      });
      for (const auto& m : xs)
        if (m.rid == rid || m.rid.empty())
          self->deliver(rm2, m, true);
      for (const auto& d : r.value().deleted)
        if (!self->stopped() && self->callbacks.on_deleted)
          self->callbacks.on_deleted(rid, d);
      if (self->stopped())
        return;
      ++self->stats.backfills;
      self->go_live(rm2);
      self->check_live();
    });
  }

  void go_live(room& rm) {
    rm.live = true;
    auto held = std::move(rm.held);
    rm.held.clear();
    for (const auto& m : held)
      deliver(rm, m, false);
    // Versions older than the sync window can never come back; forget them.
    auto horizon = rm.cursor - config.backfill_overlap.count() - 60000;
    for (auto it = rm.seen.begin(); it != rm.seen.end();)
      it = it->second < horizon ? rm.seen.erase(it) : std::next(it);
  }

  void check_live() {
    if (state != ddp_state::connecting || !logged_in)
      return;
    for (const auto& [id, r] : rooms)
      if (!r.live && !r.refused)
        return;
    failures_in_a_row = 0;
    set_state(ddp_state::live);
  }

  void fail(const std::string& reason) {
    if (!running())
      return;
    log(reason);
    ++gen;
    if (conn)
      conn->close();
    conn.reset();
    outbox.clear();
    writing = false;
    ++stats.reconnects;
    auto shift = std::min(failures_in_a_row, 16u);
    ++failures_in_a_row;
    auto d = std::min<std::int64_t>(config.reconnect_base.count() << shift, config.reconnect_max.count());
    auto half = d / 2;
    auto delay = std::chrono::milliseconds(half + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(half + 1)));
    set_state(ddp_state::waiting, reason);
    reconnect_timer.expires_after(delay);
    auto self = shared_from_this();
    reconnect_timer.async_wait([self](beast::error_code ec) {
      if (ec || self->state != ddp_state::waiting)
        return;
      self->connect();
    });
  }

  void arm_tick() {
    auto period = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(5), std::min(config.idle_ping, config.pong_timeout) / 4);
    tick_timer.expires_after(period);
    auto self = shared_from_this();
    tick_timer.async_wait([self](beast::error_code ec) {
      if (ec || self->state == ddp_state::stopped || self->state == ddp_state::auth_failed)
        return;
      self->tick();
      self->arm_tick();
    });
  }

  void tick() {
    auto now = clock::now();
    if (state == ddp_state::connecting && !all_subscribed() && now > handshake_deadline)
      return fail("ddp handshake timed out");
    if (!running() || !ddp_connected)
      return;
    if (ping_sent) {
      if (now - *ping_sent > config.pong_timeout)
        fail("ddp server silent after ping: connection dead");
      return;
    }
    if (now - last_rx > config.idle_ping) {
      ping_sent = now;
      ++stats.pings_sent;
      send(ddp::ping_frame(new_id("ping-")));
    }
  }

  bool all_subscribed() const {
    if (!logged_in)
      return false;
    for (const auto& [id, r] : rooms)
      if (!r.ready && !r.refused)
        return false;
    return true;
  }
};

ddp_session::ddp_session(net::io_context& ioc, rocketchat_rest& rest, ddp_session_config config,
                         ddp_callbacks callbacks)
    : impl_(std::make_shared<detail::ddp_session_impl>(ioc, rest, std::move(config), std::move(callbacks))) {}

ddp_session::~ddp_session() { impl_->stop(); }

void ddp_session::start() { impl_->start(); }
void ddp_session::stop() { impl_->stop(); }
void ddp_session::drop() {
  if (impl_->running())
    impl_->fail("ddp connection dropped on request");
}
ddp_state ddp_session::state() const { return impl_->state; }
const ddp_stats& ddp_session::stats() const { return impl_->stats; }
std::int64_t ddp_session::cursor_ms(const std::string& room_id) const {
  auto it = impl_->rooms.find(room_id);
  return it == impl_->rooms.end() ? 0 : it->second.cursor;
}

} // namespace dutydesk::io
