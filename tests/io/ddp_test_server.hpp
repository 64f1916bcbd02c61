#pragma once
// Scripted Rocket.Chat stand-ins for ddp_session tests, each a blocking Beast server on its own thread bound to
// 127.0.0.1 with an ephemeral port:
//   ddp_script_server  a DDP websocket server, plain (ws://) or TLS (wss://, with a given certificate). Every
//                      connection gets the DDP handshake (connected, login result, ready for every sub), then the
//                      frames of its script (connection n gets scripts[n], the last script again for later ones),
//                      then it reads until the client closes. Frames are sent as given, even when they are not
//                      valid UTF-8.
//   canned_rest_server answers every HTTP request with one fixed JSON body (chat.syncMessages for a backfill).
// The destructors unblock and join the threads.

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "tls_support.hpp"

namespace dutydesk::test {

class ddp_script_server {
public:
  /// `tls` set: wss with that certificate; unset: plain ws.
  /// `subs`: how many subscriptions the client makes (one per room, one more for DMs).
  ddp_script_server(std::vector<std::vector<std::string>> scripts, std::optional<self_signed> tls = std::nullopt,
                    std::size_t subs = 1)
      : scripts_(std::move(scripts)), subs_(subs) {
    if (tls) {
      ctx_.emplace(boost::asio::ssl::context::tls_server);
      ctx_->use_certificate_chain(boost::asio::buffer(tls->cert_pem));
      ctx_->use_private_key(boost::asio::buffer(tls->key_pem), boost::asio::ssl::context::pem);
    }
    thread_ = std::thread([this] { run(); });
  }

  ~ddp_script_server() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (int fd = open_fd_.load(); fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
    thread_.join();
  }

  ddp_script_server(const ddp_script_server&) = delete;
  ddp_script_server& operator=(const ddp_script_server&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  std::atomic<int> accepted{0};          // TCP connections
  std::atomic<int> refused_handshakes{0}; // TLS handshakes that failed (the client refused the certificate)
  std::atomic<int> upgraded{0};          // websocket upgrades (TLS passed)
  std::atomic<int> scripted{0};          // connections that got their whole script

  std::string error() {
    std::lock_guard lock(mu_);
    return error_;
  }

private:
  using tcp = boost::asio::ip::tcp;
  using json = nlohmann::json;

  template <class WS>
  static json read_json(WS& ws) {
    boost::beast::flat_buffer b;
    ws.read(b);
    return json::parse(boost::beast::buffers_to_string(b.data()), nullptr, false);
  }

  template <class WS>
  static void say(WS& ws, const std::string& text) {
    ws.text(true);
    ws.write(boost::asio::buffer(text));
  }

  template <class WS>
  void session(WS& ws, const std::vector<std::string>& script) {
    ws.accept();
    ++upgraded;
    say(ws, R"({"server_id":"0"})");
    // connect -> connected; login -> result; each sub -> ready; client pings are answered; the rest is ignored.
    std::size_t subs_seen = 0;
    while (subs_seen < subs_) {
      auto f = read_json(ws);
      auto msg = f.value("msg", "");
      if (msg == "connect") {
        say(ws, R"({"msg":"connected","session":"S1"})");
      } else if (msg == "method" && f.value("method", "") == "login") {
        say(ws, json{{"msg", "result"}, {"id", f["id"]}, {"result", {{"id", "B"}, {"token", "T"}}}}.dump());
        say(ws, json{{"msg", "updated"}, {"methods", json::array({f["id"]})}}.dump());
      } else if (msg == "sub") {
        ++subs_seen;
        say(ws, json{{"msg", "ready"}, {"subs", json::array({f["id"]})}}.dump());
      } else if (msg == "ping") {
        say(ws, f.contains("id") ? json{{"msg", "pong"}, {"id", f["id"]}}.dump() : R"({"msg":"pong"})");
      }
    }
    for (const auto& frame : script)
      say(ws, frame);
    ++scripted;
    boost::beast::flat_buffer b;
    boost::beast::error_code ec;
    while (!ec) { // until the client closes (or the test ends)
      ws.read(b, ec);
      if (!ec) {
        auto f = json::parse(boost::beast::buffers_to_string(b.data()), nullptr, false);
        if (f.is_object() && f.value("msg", "") == "ping")
          say(ws, f.contains("id") ? json{{"msg", "pong"}, {"id", f["id"]}}.dump() : R"({"msg":"pong"})");
      }
      b.clear();
    }
  }

  void run() {
    namespace websocket = boost::beast::websocket;
    for (int n = 0; !stopping_; ++n) {
      boost::beast::error_code ec;
      tcp::socket sock = acceptor_.accept(ec);
      if (ec)
        return;
      ++accepted;
      open_fd_ = sock.native_handle();
      const auto& script = scripts_.empty() ? std::vector<std::string>{}
                                            : scripts_[std::min<std::size_t>(n, scripts_.size() - 1)];
      try {
        if (ctx_) {
          websocket::stream<boost::beast::ssl_stream<tcp::socket>> ws(std::move(sock), *ctx_);
          ws.next_layer().handshake(boost::asio::ssl::stream_base::server, ec);
          if (ec) {
            ++refused_handshakes;
            continue;
          }
          session(ws, script);
        } else {
          websocket::stream<tcp::socket> ws(std::move(sock));
          session(ws, script);
        }
      } catch (const std::exception& e) {
        // The client went away mid-script (e.g. it dropped the connection on a bad frame): next connection.
        std::lock_guard lock(mu_);
        if (error_.empty())
          error_ = e.what();
      }
      open_fd_ = -1;
    }
  }

  std::vector<std::vector<std::string>> scripts_;
  std::size_t subs_ = 1;
  std::optional<boost::asio::ssl::context> ctx_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_fd_{-1};
  std::mutex mu_;
  std::string error_;
  std::thread thread_;
};

class canned_rest_server {
public:
  explicit canned_rest_server(std::string body) : body_(std::move(body)) { thread_ = std::thread([this] { run(); }); }

  ~canned_rest_server() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (int fd = open_fd_.load(); fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
    thread_.join();
  }

  canned_rest_server(const canned_rest_server&) = delete;
  canned_rest_server& operator=(const canned_rest_server&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  std::atomic<int> requests{0};

private:
  using tcp = boost::asio::ip::tcp;
  void run() {
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    while (!ec) {
      tcp::socket sock = acceptor_.accept(ec);
      if (ec)
        return;
      open_fd_ = sock.native_handle();
      boost::beast::flat_buffer b;
      for (;;) {
        http::request<http::string_body> req;
        http::read(sock, b, req, ec);
        if (ec)
          break;
        ++requests;
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = body_;
        res.keep_alive(true);
        res.prepare_payload();
        http::write(sock, res, ec);
        if (ec)
          break;
      }
      open_fd_ = -1;
      ec = {};
    }
  }

  std::string body_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  std::atomic<int> open_fd_{-1};
  std::thread thread_;
};

} // namespace dutydesk::test
