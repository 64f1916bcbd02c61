// ddp_session against a scripted DDP server (a blocking Beast websocket server on its own thread): what the
// simulator never does — malformed frames (counted and skipped), server pings with an id (answered with that id),
// and a server that goes silent (detected by the client's ping timeout, then a reconnect).

#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/ddp_session.hpp"
#include "io/rocketchat_rest.hpp"
#include "sim_fixture.hpp"

using namespace dutydesk::io;
using dutydesk::test::run_until;
using std::chrono::milliseconds;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

json message(const char* id, bool iso) {
  json ts = iso ? json("2024-11-26T14:06:40.123Z") : json{{"$date", 1732630000123}};
  json up = iso ? json("2024-11-26T14:06:40.150Z") : json{{"$date", 1732630000150}};
  return json{{"_id", id}, {"rid", "R1"}, {"msg", "hello"}, {"ts", ts}, {"_updatedAt", up},
              {"u", {{"_id", "A"}, {"username", "alice"}}}};
}

std::string message_frame(const char* id) {
  return json{{"msg", "changed"},
              {"collection", "stream-room-messages"},
              {"id", "id"},
              {"fields", {{"eventName", "R1"}, {"args", json::array({message(id, false)})}}}}
      .dump();
}

/// Answers chat.syncMessages with M1 (already delivered live) and M1b (missed), as Rocket.Chat's REST would.
struct sync_server {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  std::atomic<int> open_fd{-1};
  std::atomic<int> syncs{0};
  std::string last_target;

  unsigned short port() const { return acceptor.local_endpoint().port(); }
  void abort() {
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    if (int fd = open_fd.load(); fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
  }
  void run() {
    beast::error_code ec;
    while (!ec) {
      tcp::socket sock = acceptor.accept(ec);
      if (ec)
        return;
      open_fd = sock.native_handle();
      beast::flat_buffer b;
      for (;;) {
        beast::http::request<beast::http::string_body> req;
        beast::http::read(sock, b, req, ec);
        if (ec)
          break;
        last_target = std::string(req.target());
        ++syncs;
        beast::http::response<beast::http::string_body> res{beast::http::status::ok, 11};
        res.set(beast::http::field::content_type, "application/json");
        res.body() = json{{"result", {{"updated", json::array({message("M1b", true), message("M1", true)})},
                                      {"deleted", json::array()}}},
                          {"success", true}}
                         .dump();
        res.keep_alive(true);
        res.prepare_payload();
        beast::http::write(sock, res, ec);
        if (ec)
          break;
      }
      ec = {};
    }
  }
};

struct scripted_server {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  std::mutex mu;
  std::string error;
  std::string pong_id;
  int connections = 0;
  std::atomic<int> open_fd{-1};

  /// Unblocks the server thread whatever it waits for (used when a test fails half-way).
  void abort() {
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    if (int fd = open_fd.load(); fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
  }

  unsigned short port() const { return acceptor.local_endpoint().port(); }

  static json read_json(websocket::stream<tcp::socket>& ws) {
    beast::flat_buffer b;
    ws.read(b);
    return json::parse(beast::buffers_to_string(b.data()), nullptr, false);
  }

  static void say(websocket::stream<tcp::socket>& ws, const std::string& text) {
    ws.text(true);
    ws.write(net::buffer(text));
  }

  // connect -> connected, login -> result, sub -> ready.
  static void handshake(websocket::stream<tcp::socket>& ws) {
    ws.accept();
    say(ws, R"({"server_id":"0"})");
    auto c = read_json(ws);
    if (c.value("msg", "") != "connect")
      throw std::runtime_error("expected connect, got " + c.dump());
    say(ws, R"({"msg":"connected","session":"S1"})");
    auto login = read_json(ws);
    if (login.value("method", "") != "login" || login["params"][0].value("resume", "") != "T")
      throw std::runtime_error("expected login resume, got " + login.dump());
    say(ws, json{{"msg", "result"}, {"id", login["id"]}, {"result", {{"id", "B"}, {"token", "T"}}}}.dump());
    say(ws, json{{"msg", "updated"}, {"methods", json::array({login["id"]})}}.dump());
    auto sub = read_json(ws);
    if (sub.value("msg", "") != "sub" || sub["params"][0] != "R1")
      throw std::runtime_error("expected sub R1, got " + sub.dump());
    say(ws, json{{"msg", "ready"}, {"subs", json::array({sub["id"]})}}.dump());
  }

  void run() {
    try {
      {
        websocket::stream<tcp::socket> ws(acceptor.accept());
        open_fd = ws.next_layer().native_handle();
        handshake(ws);
        say(ws, "this is not json");
        say(ws, R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"R1","args":[{"rid":"R1"}]}})");
        say(ws, message_frame("M1"));
        say(ws, R"({"msg":"ping","id":"srv-1"})");
        for (;;) { // skip client pings, if any, until our pong arrives
          auto f = read_json(ws);
          if (f.value("msg", "") == "pong") {
            std::lock_guard lock(mu);
            pong_id = f.value("id", "");
            break;
          }
        }
        {
          std::lock_guard lock(mu);
          ++connections;
        }
        // Now go silent: keep the socket open, answer nothing. The client must give up on its own.
        auto second = acceptor.accept(); // blocks until the client reconnects
        websocket::stream<tcp::socket> ws2(std::move(second));
        open_fd = ws2.next_layer().native_handle();
        beast::error_code ignored;
        ws.next_layer().close(ignored);
        handshake(ws2);
        {
          std::lock_guard lock(mu);
          ++connections;
        }
        say(ws2, message_frame("M2"));
        beast::flat_buffer b;
        beast::error_code ec;
        while (!ec) // until the client closes
          ws2.read(b, ec), b.clear();
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mu);
      error = e.what();
    }
  }
};

} // namespace

TEST(ddp_scripted, malformed_frames_server_pings_and_a_silent_server) {
  net::io_context ioc;
  scripted_server server;
  server.thread = std::thread([&] { server.run(); });

  sync_server rest_server;
  rest_server.thread = std::thread([&] { rest_server.run(); });
  http_client http(ioc);
  rocketchat_rest rest(http, "http://127.0.0.1:" + std::to_string(rest_server.port()), rc_credentials{"B", "T"});
  ddp_session_config c;
  c.url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/websocket";
  c.token = "T";
  c.room_ids = {"R1"};
  c.idle_ping = milliseconds(150);
  c.pong_timeout = milliseconds(150);
  c.reconnect_base = milliseconds(10);
  std::vector<std::string> got;
  std::vector<std::string> logs;
  ddp_callbacks cb;
  cb.on_message = [&](const chat_message& m) { got.push_back(m.id); };
  cb.on_log = [&](std::string_view s) { logs.emplace_back(s); };
  ddp_session s(ioc, rest, c, cb);
  s.start();

  bool done = run_until(ioc, [&] { return got.size() == 3; }, milliseconds(8000));
  if (!done) {
    server.abort();
    server.thread.join();
    rest_server.abort();
    rest_server.thread.join();
    std::string all;
    for (const auto& l : logs)
      all += l + "\n";
    FAIL() << "got " << got.size() << " messages, state " << to_string(s.state()) << "; server error: "
           << server.error << "; log:\n" << all;
  }
  // M1 live; after the reconnect the backfill brings M1b (missed) and M1 again (dropped as a duplicate), and M2,
  // which arrived live during the backfill, is delivered after it.
  EXPECT_EQ(got, (std::vector<std::string>{"M1", "M1b", "M2"}));
  EXPECT_EQ(s.stats().duplicates, 1u);
  EXPECT_EQ(s.stats().backfilled, 1u);
  EXPECT_EQ(rest_server.syncs.load(), 1);
  EXPECT_EQ(s.stats().malformed_frames, 2u);
  EXPECT_EQ(s.stats().pings_answered, 1u);
  EXPECT_GE(s.stats().pings_sent, 1u);
  EXPECT_EQ(s.stats().reconnects, 1u);
  EXPECT_EQ(s.state(), ddp_state::live);
  bool saw_dead = false, saw_malformed = false;
  for (const auto& l : logs) {
    saw_dead |= l.find("silent after ping") != std::string::npos;
    saw_malformed |= l.find("malformed") != std::string::npos;
  }
  EXPECT_TRUE(saw_dead);
  EXPECT_TRUE(saw_malformed);

  s.stop();
  ioc.restart();
  ioc.run_for(milliseconds(50));
  server.thread.join();
  rest_server.abort();
  rest_server.thread.join();
  EXPECT_NE(rest_server.last_target.find("/api/v1/chat.syncMessages?roomId=R1&lastUpdate="), std::string::npos)
      << rest_server.last_target;
  EXPECT_EQ(server.error, "");
  EXPECT_EQ(server.pong_id, "srv-1");
  EXPECT_EQ(server.connections, 2);
}
