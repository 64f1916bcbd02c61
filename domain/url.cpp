#include "domain/url.hpp"

#include <cctype>

namespace dutydesk::domain {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_host_char(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'; }

bool is_ipv6_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/// Parses a decimal port; `allow_zero` for listen addresses.
parsed<std::uint16_t> parse_port(std::string_view text, bool allow_zero) {
  auto range = allow_zero ? "port must be a number from 0 to 65535" : "port must be a number from 1 to 65535";
  if (text.empty())
    return parse_error{"missing port after ':'"};
  if (text.size() > 5)
    return parse_error{range};
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c))
      return parse_error{range};
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535 || (value == 0 && !allow_zero))
    return parse_error{range};
  return static_cast<std::uint16_t>(value);
}

struct host_and_port {
  std::string host;
  bool ipv6 = false;
  std::optional<std::uint16_t> port;
};

/// Parses "host", "host:port", "[v6]" or "[v6]:port"; the host may be empty.
parsed<host_and_port> parse_authority_host(std::string_view text, bool allow_zero_port) {
  host_and_port result;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return parse_error{"missing ']' after IPv6 address"};
    auto v6 = text.substr(1, close - 1);
    if (v6.empty() || v6.find(':') == std::string_view::npos)
      return parse_error{"invalid IPv6 address"};
    for (char c : v6)
      if (!is_ipv6_char(c))
        return parse_error{"invalid IPv6 address"};
    result.host = std::string{v6};
    result.ipv6 = true;
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return parse_error{"unexpected text after IPv6 address"};
  } else {
    auto colon = text.find(':');
    auto host = text.substr(0, colon);
    for (char c : host)
      if (!is_host_char(c))
        return parse_error{"invalid character in host"};
    if (!host.empty() && (host.front() == '.' || host.front() == '-' || host.back() == '-'))
      return parse_error{"invalid host name"};
    result.host = std::string{host};
    if (colon != std::string_view::npos)
      rest = text.substr(colon);
  }
  if (!rest.empty()) {
    auto port = parse_port(rest.substr(1), allow_zero_port);
    if (!port)
      return parse_error{port.error()};
    result.port = *port;
  }
  return result;
}

} // namespace

parsed<url> parse_url(std::string_view text) {
  for (char c : text)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return parse_error{"a URL must not contain spaces or control characters"};
  if (text.empty())
    return parse_error{"empty URL"};
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return parse_error{"missing scheme (expected scheme://host...)"};
  url result;
  auto scheme = text.substr(0, sep);
  if (!is_alpha(scheme.front()))
    return parse_error{"invalid scheme"};
  for (char c : scheme) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
      return parse_error{"invalid scheme"};
    result.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto rest = text.substr(sep + 3);
  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  auto tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    result.user = std::string{userinfo.substr(0, colon)};
    if (colon != std::string_view::npos)
      result.password = std::string{userinfo.substr(colon + 1)};
    if (result.user.empty())
      return parse_error{"empty user name before '@'"};
  }
  auto hp = parse_authority_host(authority, false);
  if (!hp)
    return parse_error{hp.error()};
  result.host = hp->host;
  result.ipv6 = hp->ipv6;
  result.port = hp->port;

  if (auto hash = tail.find('#'); hash != std::string_view::npos) {
    result.fragment = std::string{tail.substr(hash + 1)};
    result.has_fragment = true;
    tail = tail.substr(0, hash);
  }
  if (auto q = tail.find('?'); q != std::string_view::npos) {
    result.query = std::string{tail.substr(q + 1)};
    result.has_query = true;
    tail = tail.substr(0, q);
  }
  result.path = std::string{tail};
  return result;
}

std::string to_string(const url& u) {
  std::string result = u.scheme + "://";
  if (!u.user.empty()) {
    // A user without a password may be a token (nats://TOKEN@host), so it is masked as well.
    result += u.password ? u.user + ":***@" : std::string{"***@"};
  }
  result += u.ipv6 ? "[" + u.host + "]" : u.host;
  if (u.port)
    result += ":" + std::to_string(*u.port);
  result += u.path;
  if (u.has_query)
    result += "?" + u.query;
  if (u.has_fragment)
    result += "#" + u.fragment;
  return result;
}

std::string redact_url_text(std::string_view text) {
  auto sep = text.find("://");
  auto start = sep == std::string_view::npos ? 0 : sep + 3;
  auto at = text.rfind('@');
  if (at == std::string_view::npos || at < start)
    return std::string{text};
  auto userinfo = text.substr(start, at - start);
  auto colon = userinfo.find(':');
  if (sep == std::string_view::npos || colon == std::string_view::npos) {
    // Without a scheme we cannot tell a user name from a password, and a user without a password may be a token
    // (nats://TOKEN@host): hide all of the userinfo.
    return std::string{text.substr(0, start)} + "***" + std::string{text.substr(at)};
  }
  return std::string{text.substr(0, start + colon + 1)} + "***" + std::string{text.substr(at)};
}

parsed<host_port> parse_host_port(std::string_view text) {
  if (text.empty())
    return parse_error{"empty address (expected HOST:PORT, e.g. 127.0.0.1:8090)"};
  for (char c : text)
    if (std::isspace(static_cast<unsigned char>(c)))
      return parse_error{"an address must not contain spaces"};
  if (text.find("://") != std::string_view::npos)
    return parse_error{"expected HOST:PORT without a scheme, e.g. 127.0.0.1:8090"};
  auto hp = parse_authority_host(text, true);
  if (!hp)
    return parse_error{hp.error()};
  if (hp->host.empty())
    return parse_error{"missing host (use 0.0.0.0 for all interfaces)"};
  if (!hp->port)
    return parse_error{"missing port (expected HOST:PORT, e.g. 127.0.0.1:8090)"};
  return host_port{hp->host, *hp->port};
}

std::string to_string(const host_port& hp) {
  auto host = hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host;
  return host + ":" + std::to_string(hp.port);
}

} // namespace dutydesk::domain
