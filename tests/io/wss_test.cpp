// The realtime connection over wss:// against a local TLS websocket server with a throw-away self-signed certificate
// for "localhost": certificates are verified by default (no CA file: the session never gets past the TLS handshake,
// keeps retrying, and the server sees no websocket upgrade); with the certificate as tls_options::ca_file it logs
// in, subscribes and goes live; the host name check refuses the trusted certificate under another name.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "ddp_test_server.hpp"
#include "io/chat_gateway.hpp"
#include "io/ddp_session.hpp"
#include "io/http_client.hpp"
#include "io/rocketchat_rest.hpp"
#include "sim_fixture.hpp"
#include "tls_support.hpp"

namespace dutydesk::test {
namespace {

using namespace std::chrono_literals;
using io::ddp_state;

struct outcome {
  std::vector<std::pair<ddp_state, std::string>> states;
  bool live = false;
  std::string last_wait; // the detail of the latest waiting state
};

/// Runs a session for `url` with `tls` until it is live or `limit` passed.
outcome run_session(boost::asio::io_context& ioc, const std::string& url, io::tls_options tls,
                    std::chrono::milliseconds limit = 3000ms, const std::function<bool(const outcome&)>& done = {}) {
  io::http_client http(ioc);
  // Never called: nothing was delivered, so going live needs no backfill.
  io::rocketchat_rest rest(http, "http://127.0.0.1:1", io::rc_credentials{"B", "T"});
  io::ddp_session_config c;
  c.url = url;
  c.token = "T";
  c.room_ids = {"R1"};
  c.tls = std::move(tls);
  c.handshake_timeout = 2000ms;
  c.reconnect_base = 20ms;
  c.reconnect_max = 100ms;
  outcome out;
  io::ddp_callbacks cb;
  cb.on_state = [&](ddp_state s, const std::string& detail) {
    out.states.emplace_back(s, detail);
    if (s == ddp_state::live)
      out.live = true;
    if (s == ddp_state::waiting)
      out.last_wait = detail;
  };
  io::ddp_session s(ioc, rest, c, cb);
  s.start();
  run_until(ioc, [&] { return out.live || (done && done(out)); }, limit);
  s.stop();
  ioc.restart();
  ioc.run_for(20ms);
  return out;
}

TEST(wss, tls_is_verified_by_default_everywhere_it_is_configured) {
  EXPECT_TRUE(io::tls_options{}.verify_peer);
  EXPECT_TRUE(io::tls_options{}.ca_file.empty());
  EXPECT_TRUE(io::http_client_options{}.tls.verify_peer);
  EXPECT_TRUE(io::ddp_session_config{}.tls.verify_peer);
  EXPECT_TRUE(io::chat_gateway_config{}.tls.verify_peer);
}

TEST(wss, a_self_signed_server_is_refused_unless_its_certificate_is_the_configured_ca) {
  auto cert = make_cert("localhost");
  ddp_script_server server({{}}, cert);
  auto url = "wss://localhost:" + std::to_string(server.port()) + "/websocket";
  boost::asio::io_context ioc;

  // Default TLS options: the system trust store does not know the certificate. The session waits and retries.
  auto refused = run_session(ioc, url, io::tls_options{}, 5000ms,
                             [&](const outcome&) { return server.refused_handshakes.load() >= 2; });
  EXPECT_FALSE(refused.live);
  EXPECT_GE(server.refused_handshakes.load(), 2);
  EXPECT_EQ(server.upgraded.load(), 0);
  EXPECT_NE(refused.last_wait.find("tls handshake"), std::string::npos) << refused.last_wait;

  // The certificate as the CA file: live (TLS, upgrade, DDP login and the subscription).
  temp_file ca(cert.cert_pem);
  io::tls_options trusted;
  trusted.ca_file = ca.path;
  auto ok = run_session(ioc, url, trusted);
  EXPECT_TRUE(ok.live) << "last wait: " << ok.last_wait << "; server: " << server.error();
  EXPECT_EQ(server.upgraded.load(), 1);
  EXPECT_TRUE(run_until(ioc, [&] { return server.scripted.load() == 1; }, 3000ms));

  // Trusted certificate, wrong name: 127.0.0.1 is not what it was issued for.
  auto before = server.refused_handshakes.load();
  auto wrong_name = run_session(ioc, "wss://127.0.0.1:" + std::to_string(server.port()) + "/websocket", trusted,
                                5000ms, [&](const outcome&) { return server.refused_handshakes.load() > before; });
  EXPECT_FALSE(wrong_name.live);
  EXPECT_GT(server.refused_handshakes.load(), before);
  EXPECT_EQ(server.upgraded.load(), 1);

  // An https:// server root is realtime over wss as well, with the same checks.
  before = server.refused_handshakes.load();
  auto https_root = run_session(ioc, "https://localhost:" + std::to_string(server.port()), io::tls_options{}, 5000ms,
                                [&](const outcome&) { return server.refused_handshakes.load() > before; });
  EXPECT_FALSE(https_root.live);
  EXPECT_GT(server.refused_handshakes.load(), before);
  EXPECT_EQ(server.upgraded.load(), 1);
}

TEST(wss, a_certificate_for_another_host_is_refused_even_when_trusted) {
  auto cert = make_cert("rocketchat.example");
  ddp_script_server server({{}}, cert);
  temp_file ca(cert.cert_pem);
  io::tls_options trusted;
  trusted.ca_file = ca.path;
  boost::asio::io_context ioc;
  auto out = run_session(ioc, "wss://localhost:" + std::to_string(server.port()) + "/websocket", trusted, 5000ms,
                         [&](const outcome&) { return server.refused_handshakes.load() >= 1; });
  EXPECT_FALSE(out.live);
  EXPECT_GE(server.refused_handshakes.load(), 1);
  EXPECT_EQ(server.upgraded.load(), 0);
}

} // namespace
} // namespace dutydesk::test
