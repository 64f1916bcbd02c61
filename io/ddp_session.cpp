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

  /// A DM room seen on __my_messages__ (or made known by the owner).
  struct dm_room {
    struct version {
      std::int64_t updated = 0;
      std::optional<std::int64_t> edited;
      std::int64_t ts = 0;
    };
    std::string id;
    bool backfilling = false;
    bool live = false;
    std::int64_t cursor = 0;
    std::int64_t floor = 0; // an unseen _id created before this is not delivered (it predates the memory)
    std::unordered_map<std::string, version> seen;
    std::vector<chat_message> held;
  };

  static constexpr const char* my_messages = "__my_messages__";

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
    if (config.backfill_since_ms != 0)
      dm_floor = config.backfill_since_ms - config.backfill_overlap.count();
    for (const auto& id : config.direct_room_ids)
      add_direct_room(id);
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
  std::map<std::string, dm_room> dms;
  std::int64_t dm_floor = 0; // floor of new DM rooms: backfill_since_ms minus the overlap, or 0
  ddp_stats stats;
  ddp_state state = ddp_state::idle;

  // Per connection.
  std::shared_ptr<ws_conn> conn;
  std::uint64_t gen = 0; // bumps on every connection and drop; stale handlers compare it
  std::deque<std::string> outbox;
  bool writing = false;
  bool ddp_connected = false;
  bool logged_in = false;
  std::string my_sub_id; // the __my_messages__ subscription
  bool my_ready = false;
  bool my_refused = false;
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
    my_sub_id.clear();
    my_ready = my_refused = false;
    for (auto& [id, d] : dms) {
      d.backfilling = d.live = false;
      d.held.clear();
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
    if (config.direct_messages) {
      my_sub_id = new_id("sub-");
      send(ddp::sub_room_messages_frame(my_sub_id, my_messages));
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
    for (const auto& s : r.subs) {
      if (auto* rm = room_by_sub(s); rm && !rm->ready) {
        rm->ready = true;
        start_backfill(*rm);
      } else if (!my_sub_id.empty() && s == my_sub_id && !my_ready) {
        my_ready = true;
        for (auto& [id, d] : dms)
          start_direct_backfill(d);
      }
      if (stopped())
        return;
    }
    check_live();
  }

  void handle(const ddp::nosub& n) {
    if (!my_sub_id.empty() && n.id == my_sub_id) {
      meteor_error e = n.error.value_or(meteor_error{"nosub", "the server ended the subscription", "", ""});
      log("ddp subscription to " + std::string(my_messages) + " ended: " + e.error);
      my_refused = true;
      my_ready = false;
      my_sub_id.clear();
      if (!stopped() && callbacks.on_subscription_error)
        callbacks.on_subscription_error(my_messages, e);
      check_live();
      return;
    }
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
    if (c.event_name == my_messages)
      return handle_direct(*c.message, c.hint);
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

  // -- DM rooms ------------------------------------------------------------------------------------------------

  dm_room& direct_room(const std::string& rid) {
    auto [it, inserted] = dms.try_emplace(rid);
    if (inserted) {
      it->second.id = rid;
      it->second.floor = dm_floor;
      it->second.live = my_ready; // a room first seen live is live at once
    }
    return it->second;
  }

  void add_direct_room(const std::string& rid) {
    if (!config.direct_messages || rid.empty() || rooms.count(rid) || dms.count(rid))
      return;
    auto& d = direct_room(rid);
    d.live = false;
    d.cursor = dm_floor;
    if (my_ready && running())
      start_direct_backfill(d);
  }

  void handle_direct(const chat_message& m, const std::optional<room_hint>& hint) {
    // Configured rooms come through their own subscriptions; other rooms than DMs are not asked for.
    if (!my_ready || !hint || hint->room_type != "d" || m.rid.empty() || rooms.count(m.rid))
      return;
    auto& d = direct_room(m.rid);
    if (!d.live) {
      d.held.push_back(m);
      return;
    }
    deliver_direct(d, m, false);
  }

  void deliver_direct(dm_room& d, const chat_message& m, bool from_backfill) {
    if (stopped())
      return;
    auto version = m.updated_at_ms != 0 ? m.updated_at_ms : m.ts_ms;
    auto it = d.seen.find(m.id);
    if (it == d.seen.end()) {
      if (m.ts_ms < d.floor) {
        ++stats.direct_ignored;
        return;
      }
      d.seen.emplace(m.id, dm_room::version{version, m.edited_at_ms, m.ts_ms});
    } else {
      if (it->second.updated >= version) {
        ++stats.duplicates;
        return;
      }
      it->second.updated = version;
      if (it->second.edited == m.edited_at_ms) {
        d.cursor = std::max(d.cursor, version);
        ++stats.direct_ignored;
        return;
      }
      it->second.edited = m.edited_at_ms;
    }
    d.cursor = std::max(d.cursor, version);
    ++stats.direct_delivered;
    if (from_backfill)
      ++stats.backfilled;
    if (callbacks.on_direct)
      callbacks.on_direct(m);
  }

  bool transient(const api_error& e) const {
    return e.code == api_errc::transport || e.code == api_errc::server || e.code == api_errc::rate_limited ||
           e.code == api_errc::auth;
  }

  void start_direct_backfill(dm_room& d) {
    if (d.cursor == 0) {
      d.cursor = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count() -
                 config.backfill_overlap.count();
      go_live_direct(d);
      return;
    }
    d.backfilling = true;
    d.live = false;
    auto since = d.cursor - std::max<std::int64_t>(1, config.backfill_overlap.count());
    auto self = shared_from_this();
    auto g = gen;
    auto rid = d.id;
    rest.sync_messages(rid, since, [self, g, rid](api_result<sync_result> r) {
      if (g != self->gen || self->state == ddp_state::stopped)
        return; // a newer connection will sync again from the cursor
      auto it = self->dms.find(rid);
      if (it == self->dms.end())
        return;
      auto& d2 = it->second;
      d2.backfilling = false;
      if (!r.ok()) {
        ++self->stats.backfill_failures;
        if (self->transient(r.error()))
          return self->fail("ddp backfill of DM room " + rid + " failed: " + r.error().error);
        // Refused for good (e.g. the room is gone): live without it; the next reconnect tries again.
        self->log("ddp backfill of DM room " + rid + " refused: " + describe(r.error()));
        self->go_live_direct(d2);
        return self->check_live();
      }
      auto xs = r.value().updated;
      std::stable_sort(xs.begin(), xs.end(), [](const chat_message& a, const chat_message& b) {
        return a.updated_at_ms < b.updated_at_ms;
      });
      for (const auto& m : xs)
        if (m.rid == rid || m.rid.empty())
          self->deliver_direct(d2, m, true);
      for (const auto& del : r.value().deleted)
        if (!self->stopped() && self->callbacks.on_deleted)
          self->callbacks.on_deleted(rid, del);
      if (self->stopped())
        return;
      ++self->stats.backfills;
      self->go_live_direct(d2);
      self->check_live();
    });
  }

  void go_live_direct(dm_room& d) {
    d.live = true;
    auto held = std::move(d.held);
    d.held.clear();
    for (const auto& m : held)
      deliver_direct(d, m, false);
    // Forget ids older than the memory (server time: the newest version seen); they are not delivered again.
    std::int64_t newest = 0;
    for (const auto& [id, v] : d.seen)
      newest = std::max(newest, v.updated);
    auto horizon = newest - config.direct_memory.count();
    if (newest == 0 || horizon <= d.floor)
      return;
    d.floor = horizon;
    for (auto it = d.seen.begin(); it != d.seen.end();)
      it = it->second.ts < horizon ? d.seen.erase(it) : std::next(it);
  }

  // -- configured rooms ------------------------------------------------------------------------------------------

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
        if (self->transient(r.error()))
          return self->fail("ddp backfill of room " + rid + " failed: " + r.error().error);
        // Refused or unreadable (e.g. a message of a shape the parser rejects): the same sync would fail again after
        // every reconnect and keep every room down. Live without it; the next reconnect syncs from the same cursor.
        self->log("ddp backfill of room " + rid + " refused: " + describe(r.error()));
        self->go_live(rm2);
        return self->check_live();
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
    if (config.direct_messages) {
      if (!my_ready && !my_refused)
        return;
      for (const auto& [id, d] : dms)
        if (d.backfilling)
          return;
    }
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
    return !config.direct_messages || my_ready || my_refused;
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
  if (auto it = impl_->rooms.find(room_id); it != impl_->rooms.end())
    return it->second.cursor;
  auto d = impl_->dms.find(room_id);
  return d == impl_->dms.end() ? 0 : d->second.cursor;
}
void ddp_session::add_direct_room(const std::string& room_id) { impl_->add_direct_room(room_id); }
std::vector<std::string> ddp_session::direct_rooms() const {
  std::vector<std::string> ids;
  for (const auto& [id, d] : impl_->dms)
    ids.push_back(id);
  return ids;
}

} // namespace dutydesk::io
