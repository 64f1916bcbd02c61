#pragma once
// Webhook signatures: Jira's `X-Hub-Signature: sha256=<lower-hex HMAC-SHA256(secret, raw body)>` (jira.md §7.5).
// The simulator signs with it and dutydesk verifies with it, so both sides share one implementation that is
// pinned by the WebSub/GitHub test vector.

#include <string>
#include <string_view>

namespace dutydesk::io {

/// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// The X-Hub-Signature header value for `body`: "sha256=" + hmac_sha256_hex(secret, body).
std::string hub_signature(std::string_view secret, std::string_view body);

/// True when `header` is a valid "sha256=<hex>" signature of `body`; compares in constant time.
bool verify_hub_signature(std::string_view secret, std::string_view body, std::string_view header);

} // namespace dutydesk::io
