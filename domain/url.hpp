#pragma once
// URLs and listen addresses from the config. Only the subset dutydesk needs: scheme://[user[:password]@]host[:port]
// [/path][?query][#fragment], with the host a name, an IPv4 address or a bracketed IPv6 address. The host may be
// empty (sqlite:///var/lib/x.db); callers that need one check it. Userinfo is kept as written (no percent-decoding),
// since libpq and libnats take the URL text as is.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/parsed.hpp"

namespace dutydesk::domain {

/// The parts of a URL.
struct url {
  std::string scheme;                  // lower-cased, e.g. "https"
  std::string user;                    // "" when absent
  std::optional<std::string> password; // set when the userinfo has a ':'
  std::string host;                    // without the brackets of an IPv6 literal; may be empty
  bool ipv6 = false;                   // host was written in brackets
  std::optional<std::uint16_t> port;   // explicit port
  std::string path;                    // "" or starting with '/'
  std::string query;                   // after '?', without it
  std::string fragment;                // after '#', without it
  bool has_query = false;
  bool has_fragment = false;
};

/// Parses `text`; the error reason does not quote it.
parsed<url> parse_url(std::string_view text);

/// The URL text with the password replaced by "***"; a user without a password is masked too, as it may be a token
/// (nats://TOKEN@host).
std::string to_string(const url& u);

/// `text` with anything that may be a password replaced by "***", also when `text` is not a valid URL; use it to
/// quote a URL in a message. Masks the part between the first ':' of the userinfo and the last '@', or all of the
/// userinfo when it has no ':'.
std::string redact_url_text(std::string_view text);

/// `host:port` as used for listen addresses.
struct host_port {
  std::string host; // without the brackets of an IPv6 literal
  std::uint16_t port = 0;
  friend bool operator==(const host_port&, const host_port&) = default;
};

/// Parses "HOST:PORT", e.g. "127.0.0.1:8090", "0.0.0.0:0", "[::1]:9464", "localhost:80". A host is required; port 0
/// is accepted (the OS picks a free port).
parsed<host_port> parse_host_port(std::string_view text);

/// "127.0.0.1:8090", or "[::1]:8090" for IPv6.
std::string to_string(const host_port& hp);

} // namespace dutydesk::domain
