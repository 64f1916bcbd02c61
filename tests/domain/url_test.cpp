#include "domain/url.hpp"

#include <gtest/gtest.h>

using dutydesk::domain::parse_host_port;
using dutydesk::domain::parse_url;
using dutydesk::domain::redact_url_text;

namespace {

std::string url_error(std::string_view text) {
  auto u = parse_url(text);
  EXPECT_FALSE(u.ok()) << text;
  return u.ok() ? "" : u.error();
}

std::string listen_error(std::string_view text) {
  auto hp = parse_host_port(text);
  EXPECT_FALSE(hp.ok()) << text;
  return hp.ok() ? "" : hp.error();
}

} // namespace

TEST(url, parses_all_parts) {
  auto u = parse_url("HTTPS://user:pw@Chat.example.com:8443/rc/api?x=1#top");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, "pw");
  EXPECT_EQ(u->host, "Chat.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/rc/api");
  EXPECT_EQ(u->query, "x=1");
  EXPECT_EQ(u->fragment, "top");
}

TEST(url, parses_minimal_and_special_forms) {
  auto plain = parse_url("http://127.0.0.1");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_FALSE(plain->port);
  EXPECT_EQ(plain->path, "");
  EXPECT_FALSE(plain->has_query);

  auto sqlite = parse_url("sqlite:///var/lib/dutydesk/dutydesk.db");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(sqlite->host, "");
  EXPECT_EQ(sqlite->path, "/var/lib/dutydesk/dutydesk.db");

  auto v6 = parse_url("nats://[::1]:4222");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 4222);

  auto token = parse_url("nats://s3cr3t@nats:4222");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->user, "s3cr3t");
  EXPECT_FALSE(token->password);

  // The userinfo ends at the last '@' of the authority, so a password may contain '@'.
  auto at = parse_url("postgresql://dd:p@ss@db:5432/dutydesk");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->password, "p@ss");
  EXPECT_EQ(at->host, "db");
}

TEST(url, rejects_invalid_urls_without_quoting_them) {
  EXPECT_EQ(url_error(""), "empty URL");
  EXPECT_EQ(url_error("127.0.0.1:3000"), "missing scheme (expected scheme://host...)");
  EXPECT_EQ(url_error("://host"), "missing scheme (expected scheme://host...)");
  EXPECT_EQ(url_error("1http://host"), "invalid scheme");
  EXPECT_EQ(url_error("ht_tp://host"), "invalid scheme");
  EXPECT_EQ(url_error("http://ho st"), "a URL must not contain spaces or control characters");
  EXPECT_EQ(url_error("http://host:"), "missing port after ':'");
  EXPECT_EQ(url_error("http://host:http"), "port must be a number from 1 to 65535");
  EXPECT_EQ(url_error("http://host:65536"), "port must be a number from 1 to 65535");
  EXPECT_EQ(url_error("http://host:0"), "port must be a number from 1 to 65535");
  EXPECT_EQ(url_error("http://ho!st"), "invalid character in host");
  EXPECT_EQ(url_error("http://-host"), "invalid host name");
  EXPECT_EQ(url_error("http://[::1"), "missing ']' after IPv6 address");
  EXPECT_EQ(url_error("http://[zz]"), "invalid IPv6 address");
  EXPECT_EQ(url_error("http://:pw@host"), "empty user name before '@'");
}

TEST(url, to_string_masks_credentials) {
  EXPECT_EQ(to_string(*parse_url("postgresql://dd:pw@db:5432/dutydesk?sslmode=require")),
            "postgresql://dd:***@db:5432/dutydesk?sslmode=require");
  EXPECT_EQ(to_string(*parse_url("nats://token@nats:4222")), "nats://***@nats:4222");
  EXPECT_EQ(to_string(*parse_url("http://[::1]:80/x#f")), "http://[::1]:80/x#f");
}

TEST(url, redact_url_text_masks_passwords_even_in_invalid_urls) {
  EXPECT_EQ(redact_url_text("postgresql://dd:pw@db:5432/x"), "postgresql://dd:***@db:5432/x");
  EXPECT_EQ(redact_url_text("postgresql://dd:pw@db:99999/x"), "postgresql://dd:***@db:99999/x");
  EXPECT_EQ(redact_url_text("mysql://dd:p@ss@db"), "mysql://dd:***@db");
  EXPECT_EQ(redact_url_text("nats://token@nats"), "nats://***@nats");
  EXPECT_EQ(redact_url_text("dd:pw@db"), "***@db");
  EXPECT_EQ(redact_url_text("http://host/path"), "http://host/path");
  EXPECT_EQ(redact_url_text("sqlite:///var/x.db"), "sqlite:///var/x.db");
}

TEST(host_port, parses_listen_addresses) {
  auto a = parse_host_port("127.0.0.1:8090");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8090);
  auto any = parse_host_port("0.0.0.0:0");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->port, 0);
  auto v6 = parse_host_port("[::]:9464");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::");
  EXPECT_EQ(to_string(*v6), "[::]:9464");
  EXPECT_EQ(to_string(*parse_host_port("localhost:65535")), "localhost:65535");
}

TEST(host_port, rejects_bad_listen_addresses) {
  EXPECT_EQ(listen_error(""), "empty address (expected HOST:PORT, e.g. 127.0.0.1:8090)");
  EXPECT_EQ(listen_error("127.0.0.1"), "missing port (expected HOST:PORT, e.g. 127.0.0.1:8090)");
  EXPECT_EQ(listen_error(":8090"), "missing host (use 0.0.0.0 for all interfaces)");
  EXPECT_EQ(listen_error("127.0.0.1:"), "missing port after ':'");
  EXPECT_EQ(listen_error("127.0.0.1:65536"), "port must be a number from 0 to 65535");
  EXPECT_EQ(listen_error("127.0.0.1:80a"), "port must be a number from 0 to 65535");
  EXPECT_EQ(listen_error("http://127.0.0.1:80"), "expected HOST:PORT without a scheme, e.g. 127.0.0.1:8090");
  EXPECT_EQ(listen_error("127.0.0.1 :80"), "an address must not contain spaces");
  EXPECT_EQ(listen_error("::1:80"), "port must be a number from 0 to 65535");
}
