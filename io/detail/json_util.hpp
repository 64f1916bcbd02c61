#pragma once
// Shared simdjson (DOM, error-code style) helpers for io/ parsers. Internal: include only from io/*.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "io/ddp_frames.hpp"

namespace dutydesk::io::detail {

using simdjson::dom::element;

/// Why a field could not be read; "" when fine.
struct field_error {
  std::string reason;
  explicit operator bool() const { return !reason.empty(); }
};

/// The value under `key` when `obj` is an object that has it (null counts as absent).
std::optional<element> field(element obj, std::string_view key);

/// Reads an optional string; sets `err` when present with another type.
std::optional<std::string> opt_string(element obj, std::string_view key, field_error& err);
/// Reads a required string; sets `err` when missing or not a string.
std::string req_string(element obj, std::string_view key, field_error& err);
std::optional<std::int64_t> opt_int(element obj, std::string_view key, field_error& err);
std::optional<bool> opt_bool(element obj, std::string_view key, field_error& err);
/// A date given as `{"$date":ms}`, an ISO string or an epoch-ms number.
std::optional<std::int64_t> opt_date(element obj, std::string_view key, field_error& err);
/// An optional array of strings.
std::vector<std::string> string_array(element obj, std::string_view key, field_error& err);

/// Parses a message object.
bool read_chat_message(element e, chat_message& out, field_error& err);
/// Parses a Meteor error object.
meteor_error read_meteor_error(element e);

/// Parses `text` with a thread-local parser; the element is valid until the next call on this thread.
bool parse_document(std::string_view text, element& out, std::string& why);

} // namespace dutydesk::io::detail
