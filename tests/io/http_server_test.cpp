// io/http_server over real loopback sockets: routes, the server's own answers (404/405/413/431/400/500), keep-alive,
// late and cross-thread answers, the read timeout, connection limits and stop(). Clients are io::http_client or raw
// asio sockets on the same io_context, driven with bounded run_for loops.

#include "io/http_server.hpp"

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "io/http_client.hpp"
#include "tests/io/sim_fixture.hpp"

namespace dutydesk::io {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;
using test::run_until;

// A raw TCP client: sends bytes as given and collects everything until the server closes.
struct raw_connection {
  raw_connection(net::io_context& ioc, std::uint16_t port) : socket(ioc) {
    boost::system::error_code ec;
    socket.connect({net::ip::make_address("127.0.0.1"), port}, ec);
    connected = !ec;
  }

  void send(std::string data) {
    out = std::move(data);
    write_done = false;
    net::async_write(socket, net::buffer(out), [this](boost::system::error_code, std::size_t) { write_done = true; });
  }

  void read_to_eof() {
    net::async_read(socket, net::dynamic_buffer(in), [this](boost::system::error_code ec, std::size_t) {
      read_done = true;
      read_error = ec;
    });
  }

  tcp::socket socket;
  bool connected = false;
  std::string out, in;
  bool write_done = false, read_done = false;
  boost::system::error_code read_error;
};

class HttpServer : public ::testing::Test {
protected:
  // Starts `server` (made with `o`) with the routes the tests share.
  void start(http_server_options o = {}) {
    server = std::make_unique<http_server>(ioc, o);
    server->on("GET", "/hello", [this](http_server_request r, http_server::respond answer) {
      seen.push_back(r);
      http_server_response res;
      res.body = "hi " + r.query;
      res.headers.emplace_back("X-Extra", "1");
      answer(std::move(res));
    });
    server->on("POST", "/echo", [this](http_server_request r, http_server::respond answer) {
      seen.push_back(r);
      http_server_response res;
      res.content_type = "application/json";
      res.body = r.body;
      answer(std::move(res));
    });
    server->on("PUT", "/echo", [](http_server_request, http_server::respond answer) { answer({}); });
    ASSERT_EQ(server->listen(), "");
    ASSERT_NE(server->port(), 0);
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server->port()) + path; }

  // One request through io::http_client (no retries); the result, or a transport failure after 5 s.
  http_result call(http_client& c, http_method m, const std::string& path, std::string body = {},
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    http_request r;
    r.method = m;
    r.url = url(path);
    r.body = std::move(body);
    r.headers = std::move(headers);
    std::optional<http_result> out;
    c.request(r, [&](http_result x) { out = std::move(x); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); }, milliseconds(5000))) << path;
    return out.value_or(http_result{http_failure::timeout, "no answer", {}, 0});
  }

  static http_client_options single_attempt() {
    http_client_options o;
    o.retry.max_attempts = 1;
    return o;
  }

  void TearDown() override {
    if (server)
      server->stop();
  }

  net::io_context ioc;
  std::unique_ptr<http_server> server;
  std::vector<http_server_request> seen;
};

TEST_F(HttpServer, RoutesRequestWithQueryAndLowerCasedHeaders) {
  start();
  http_client c(ioc, single_attempt());
  auto r = call(c, http_method::get, "/hello?a=1&b=2", {}, {{"X-Test", "Yes"}});
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.response.status, 200u);
  EXPECT_EQ(r.response.body, "hi a=1&b=2");
  EXPECT_EQ(r.response.header("x-extra").value_or(""), "1");
  EXPECT_EQ(r.response.header("content-type").value_or(""), "text/plain; charset=utf-8");
  EXPECT_EQ(r.response.header("server").value_or(""), "dutydesk");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/hello?a=1&b=2");
  EXPECT_EQ(seen[0].path, "/hello");
  EXPECT_EQ(seen[0].query, "a=1&b=2");
  EXPECT_EQ(seen[0].header("X-TEST").value_or(""), "Yes");
  EXPECT_EQ(seen[0].remote_address, "127.0.0.1");
  bool lower_name = false;
  for (auto& [name, value] : seen[0].headers)
    lower_name |= name == "x-test" && value == "Yes";
  EXPECT_TRUE(lower_name);

  auto e = call(c, http_method::post, "/echo", R"({"a":1})");
  ASSERT_TRUE(e.ok()) << e.error_text;
  EXPECT_EQ(e.response.status, 200u);
  EXPECT_EQ(e.response.body, R"({"a":1})");
  EXPECT_EQ(e.response.header("content-type").value_or(""), "application/json");
  EXPECT_EQ(server->stats().requests, 2u);
  EXPECT_EQ(server->stats().status_2xx, 2u);
}

TEST_F(HttpServer, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  start();
  http_client c(ioc, single_attempt());
  auto missing = call(c, http_method::get, "/nope");
  ASSERT_TRUE(missing.ok()) << missing.error_text;
  EXPECT_EQ(missing.response.status, 404u);
  auto wrong = call(c, http_method::get, "/echo?x=1");
  ASSERT_TRUE(wrong.ok()) << wrong.error_text;
  EXPECT_EQ(wrong.response.status, 405u);
  EXPECT_EQ(wrong.response.header("allow").value_or(""), "POST, PUT");
  // The query never takes part in matching.
  auto q = call(c, http_method::get, "/hello/?x");
  EXPECT_EQ(q.response.status, 404u);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(server->stats().status_4xx, 3u);
  EXPECT_EQ(server->stats().requests, 3u);
}

TEST_F(HttpServer, OversizedContentLengthIs413WithoutReadingTheBody) {
  http_server_options o;
  o.max_body_bytes = 1024;
  std::vector<std::pair<unsigned, std::string>> rejects;
  o.on_reject = [&](unsigned status, const std::string& path) { rejects.emplace_back(status, path); };
  start(o);
  raw_connection raw(ioc, server->port());
  ASSERT_TRUE(raw.connected);
  // Announces 2 MB but sends none of it: the answer must come from the header alone.
  raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n");
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  EXPECT_EQ(raw.in.rfind("HTTP/1.1 413 ", 0), 0u) << raw.in;
  EXPECT_NE(raw.in.find("Connection: close"), std::string::npos) << raw.in;
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(server->stats().rejected_oversize, 1u);

  // Through a client that does send the whole body.
  http_client c(ioc, single_attempt());
  auto r = call(c, http_method::post, "/echo", std::string(1025, 'x'));
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.response.status, 413u);
  auto fits = call(c, http_method::post, "/echo", std::string(1024, 'y'));
  ASSERT_TRUE(fits.ok()) << fits.error_text;
  EXPECT_EQ(fits.response.status, 200u);
  EXPECT_EQ(fits.response.body, std::string(1024, 'y'));
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(server->stats().rejected_oversize, 2u);
  // Both refusals were reported with the path, without the query.
  EXPECT_EQ(rejects, (std::vector<std::pair<unsigned, std::string>>{{413, "/echo"}, {413, "/echo"}}));
}

TEST_F(HttpServer, OversizedChunkedBodyIs413) {
  http_server_options o;
  o.max_body_bytes = 1024;
  start(o);
  raw_connection raw(ioc, server->port());
  ASSERT_TRUE(raw.connected);
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk(4096, 'z');
  for (int i = 0; i < 64; ++i) // 256 KiB in 4 KiB chunks
    req += "1000\r\n" + chunk + "\r\n";
  req += "0\r\n\r\n";
  raw.send(std::move(req));
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done && raw.write_done; }, milliseconds(5000)));
  EXPECT_EQ(raw.in.rfind("HTTP/1.1 413 ", 0), 0u) << raw.in.substr(0, 200);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(server->stats().rejected_oversize, 1u);

  // A chunked body within the limit is de-chunked for the handler.
  raw_connection ok(ioc, server->port());
  ok.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ok.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return ok.read_done; }, milliseconds(5000)));
  EXPECT_EQ(ok.in.rfind("HTTP/1.1 200 ", 0), 0u) << ok.in;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "abcde");
}

TEST_F(HttpServer, HeaderOverTheLimitIs431) {
  http_server_options o;
  o.max_header_bytes = 512;
  start(o);
  raw_connection raw(ioc, server->port());
  raw.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'b') + "\r\n\r\n");
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  EXPECT_EQ(raw.in.rfind("HTTP/1.1 431 ", 0), 0u) << raw.in;
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(server->stats().rejected_oversize, 1u);
}

TEST_F(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  http_client c(ioc, single_attempt());
  auto a = call(c, http_method::get, "/hello?n=1");
  auto b = call(c, http_method::get, "/hello?n=2");
  ASSERT_TRUE(a.ok() && b.ok()) << a.error_text << b.error_text;
  EXPECT_EQ(a.response.body, "hi n=1");
  EXPECT_EQ(b.response.body, "hi n=2");
  EXPECT_EQ(c.stats().connections, 1u);
  EXPECT_EQ(c.stats().reused, 1u);
  EXPECT_EQ(server->stats().connections, 1u);
  EXPECT_EQ(server->stats().requests, 2u);
  EXPECT_EQ(server->open_connections(), 1u);

  // Two pipelined requests on a raw socket, the second asking to close.
  raw_connection raw(ioc, server->port());
  raw.send("GET /hello?p=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?p=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  auto first = raw.in.find("hi p=1");
  auto second = raw.in.find("hi p=2");
  ASSERT_NE(first, std::string::npos) << raw.in;
  ASSERT_NE(second, std::string::npos) << raw.in;
  EXPECT_LT(first, second);
  EXPECT_EQ(server->stats().connections, 2u);
}

TEST_F(HttpServer, AsyncHandlerAnswersLater) {
  start();
  net::steady_timer timer(ioc);
  int calls = 0;
  server->on("POST", "/later", [&](http_server_request r, http_server::respond answer) {
    ++calls;
    timer.expires_after(milliseconds(50));
    timer.async_wait([answer, body = r.body](boost::system::error_code) {
      http_server_response res;
      res.status = 202;
      res.body = "later " + body;
      answer(res);
      res.status = 500; // a second answer is ignored
      answer(res);
    });
  });
  // An answer from another thread is posted onto the io thread.
  server->on("POST", "/thread", [&](http_server_request, http_server::respond answer) {
    std::thread([answer] {
      http_server_response res;
      res.status = 201;
      res.body = "from a thread";
      answer(res);
    }).detach();
  });
  http_client c(ioc, single_attempt());
  auto start_time = std::chrono::steady_clock::now();
  auto r = call(c, http_method::post, "/later", "x");
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.response.status, 202u);
  EXPECT_EQ(r.response.body, "later x");
  EXPECT_GE(std::chrono::steady_clock::now() - start_time, milliseconds(45));
  EXPECT_EQ(calls, 1);
  auto t = call(c, http_method::post, "/thread");
  ASSERT_TRUE(t.ok()) << t.error_text;
  EXPECT_EQ(t.response.status, 201u);
  EXPECT_EQ(t.response.body, "from a thread");
  // The connection is still usable after the ignored second answer.
  auto again = call(c, http_method::get, "/hello?z");
  EXPECT_EQ(again.response.body, "hi z");
  EXPECT_EQ(server->stats().status_5xx, 0u);
}

TEST_F(HttpServer, ClientGoneBeforeTheAnswerIsFine) {
  start();
  std::optional<http_server::respond> pending;
  server->on("POST", "/slow", [&](http_server_request, http_server::respond answer) { pending = std::move(answer); });
  {
    raw_connection raw(ioc, server->port());
    raw.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    ASSERT_TRUE(run_until(ioc, [&] { return pending.has_value(); }, milliseconds(5000)));
  } // the client closes
  http_server_response res;
  res.body = std::string(256 * 1024, 'a'); // large enough that the write notices the peer is gone
  (*pending)(res);
  ASSERT_TRUE(run_until(ioc, [&] { return server->open_connections() == 0; }, milliseconds(5000)));
  http_client c(ioc, single_attempt());
  auto r = call(c, http_method::get, "/hello");
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.response.status, 200u);
}

TEST_F(HttpServer, HandlerThatThrowsIs500) {
  start();
  server->on("GET", "/boom", [](http_server_request, http_server::respond) { throw std::runtime_error("boom"); });
  http_client c(ioc, single_attempt());
  auto r = call(c, http_method::get, "/boom");
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(r.response.status, 500u);
  EXPECT_EQ(server->stats().handler_errors, 1u);
  EXPECT_EQ(server->stats().status_5xx, 1u);
}

TEST_F(HttpServer, MalformedRequestLineIs400AndCloses) {
  start();
  raw_connection raw(ioc, server->port());
  raw.send("BAD REQUEST LINE\r\n\r\n");
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  EXPECT_EQ(raw.in.rfind("HTTP/1.1 400 ", 0), 0u) << raw.in;
  EXPECT_EQ(raw.read_error, net::error::eof);
  EXPECT_EQ(server->stats().malformed, 1u);
  EXPECT_EQ(server->stats().status_4xx, 1u);
  EXPECT_TRUE(seen.empty());
}

TEST_F(HttpServer, ExpectContinueGetsInterimAnswer) {
  start();
  raw_connection raw(ioc, server->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.in.find("\r\n\r\n") != std::string::npos; }, milliseconds(5000)));
  EXPECT_EQ(raw.in.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << raw.in;
  raw.send("{}");
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  EXPECT_NE(raw.in.find("HTTP/1.1 200 OK"), std::string::npos) << raw.in;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "{}");
}

TEST_F(HttpServer, ReadTimeoutCutsAHalfSentRequest) {
  http_server_options o;
  o.read_timeout = milliseconds(200);
  start(o);
  raw_connection raw(ioc, server->port());
  auto begin = std::chrono::steady_clock::now();
  raw.send("POST /echo HTTP/1.1\r\nHost: x\r\n"); // headers never finished
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(waited, milliseconds(180));
  EXPECT_LT(waited, milliseconds(3000));
  EXPECT_EQ(raw.in, "");
  EXPECT_EQ(server->stats().timeouts, 1u);
  EXPECT_EQ(server->stats().requests, 0u);
  EXPECT_TRUE(seen.empty());
}

TEST_F(HttpServer, ListenReportsATakenPort) {
  start();
  http_server_options o;
  o.port = server->port();
  http_server second(ioc, o);
  auto error = second.listen();
  EXPECT_EQ(error.rfind("cannot bind 127.0.0.1:" + std::to_string(server->port()) + ": ", 0), 0u) << error;
  EXPECT_EQ(second.port(), 0);
  http_server_options bad;
  bad.host = "not-an-address";
  EXPECT_EQ(http_server(ioc, bad).listen().rfind("invalid listen address not-an-address", 0), 0u);
  EXPECT_EQ(server->listen().rfind("already listening", 0), 0u);
}

TEST_F(HttpServer, MaxConnectionsClosesTheSurplus) {
  http_server_options o;
  o.max_connections = 1;
  start(o);
  raw_connection first(ioc, server->port());
  ASSERT_TRUE(run_until(ioc, [&] { return server->open_connections() == 1; }, milliseconds(5000)));
  raw_connection second(ioc, server->port());
  second.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return second.read_done; }, milliseconds(5000)));
  EXPECT_EQ(second.in, "");
  EXPECT_EQ(server->stats().rejected_connections, 1u);
  first.send("GET /hello?still HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  first.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return first.read_done; }, milliseconds(5000)));
  EXPECT_NE(first.in.find("hi still"), std::string::npos) << first.in;
}

TEST_F(HttpServer, StopClosesAcceptorAndConnections) {
  start();
  auto port = server->port();
  raw_connection raw(ioc, port);
  raw.send("GET /hello?k HTTP/1.1\r\nHost: x\r\n\r\n");
  raw.read_to_eof();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.in.find("hi k") != std::string::npos; }, milliseconds(5000)));
  EXPECT_FALSE(raw.read_done); // kept alive
  server->stop();
  ASSERT_TRUE(run_until(ioc, [&] { return raw.read_done; }, milliseconds(5000)));
  EXPECT_EQ(server->open_connections(), 0u);
  raw_connection refused(ioc, port);
  EXPECT_FALSE(refused.connected);
  server->stop(); // idempotent
}

} // namespace
} // namespace dutydesk::io
