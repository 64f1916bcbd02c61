// http_client over TLS against a local HTTPS server with a throw-away self-signed certificate for "localhost":
// the certificate is trusted through tls_options::ca_file; verify_peer and the host name check must refuse the same
// server under another name (127.0.0.1) and an untrusted certificate.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "io/http_client.hpp"
#include "sim_fixture.hpp"
#include "tls_support.hpp"

using namespace dutydesk::io;
using dutydesk::test::run_until;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

using dutydesk::test::make_cert;
using dutydesk::test::self_signed;
using dutydesk::test::temp_file;

struct https_server {
  explicit https_server(const self_signed& c) : ctx(ssl::context::tls_server) {
    ctx.use_certificate_chain(net::buffer(c.cert_pem));
    ctx.use_private_key(net::buffer(c.key_pem), ssl::context::pem);
    thread = std::thread([this] { run(); });
  }
  ~https_server() {
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    thread.join();
  }
  unsigned short port() const { return acceptor.local_endpoint().port(); }

  void run() {
    for (;;) {
      beast::error_code ec;
      tcp::socket sock = acceptor.accept(ec);
      if (ec)
        return;
      beast::ssl_stream<tcp::socket> s(std::move(sock), ctx);
      s.handshake(ssl::stream_base::server, ec);
      if (ec) {
        ++refused_handshakes;
        continue;
      }
      beast::flat_buffer b;
      http::request<http::string_body> req;
      http::read(s, b, req, ec);
      if (ec)
        continue;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"ok":true,"host":")" + std::string(req[http::field::host]) + "\"}";
      res.keep_alive(false);
      res.prepare_payload();
      http::write(s, res, ec);
      s.shutdown(ec);
    }
  }

  net::io_context ioc;
  ssl::context ctx;
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::atomic<int> refused_handshakes{0};
  std::thread thread;
};

http_result get(net::io_context& ioc, http_client& c, const std::string& url) {
  std::optional<http_result> out;
  c.request(http_request{http_method::get, url, {}, {}, false, std::chrono::milliseconds(3000), {}},
            [&](http_result r) { out = std::move(r); });
  EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); }));
  return out.value_or(http_result{http_failure::timeout, "test deadline", {}, 0});
}

} // namespace

TEST(https, verified_by_ca_file_and_host_name) {
  auto cert = make_cert();
  ASSERT_NE(cert.cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  https_server server(cert);
  temp_file ca(cert.cert_pem);
  net::io_context ioc;
  http_client_options o;
  o.retry.max_attempts = 1;
  o.tls.ca_file = ca.path;
  http_client c(ioc, o);

  auto ok = get(ioc, c, "https://localhost:" + std::to_string(server.port()) + "/x");
  ASSERT_TRUE(ok.ok()) << to_string(ok.failure) << ": " << ok.error_text;
  EXPECT_EQ(ok.response.status, 200u);
  EXPECT_EQ(ok.response.body, R"({"ok":true,"host":"localhost:)" + std::to_string(server.port()) + "\"}");

  // Same server, same trusted certificate, but the name does not match it.
  auto wrong_name = get(ioc, c, "https://127.0.0.1:" + std::to_string(server.port()) + "/x");
  EXPECT_EQ(wrong_name.failure, http_failure::tls) << wrong_name.error_text;

  // Without the CA the certificate is not trusted.
  http_client_options plain = o;
  plain.tls.ca_file.clear();
  http_client untrusting(ioc, plain);
  auto untrusted = get(ioc, untrusting, "https://localhost:" + std::to_string(server.port()) + "/x");
  EXPECT_EQ(untrusted.failure, http_failure::tls) << untrusted.error_text;
  EXPECT_TRUE(run_until(ioc, [&] { return server.refused_handshakes.load() >= 2; }, std::chrono::milliseconds(3000)));
}
