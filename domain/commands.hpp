#pragma once
// The `!dd …` commands users type (or click: a button click is just a message with the button's `msg`) in a
// request's thread. Parsing is tolerant: the prefix and keyword are case-insensitive, and spaces, tabs and newlines
// between the words may be repeated. Arguments are kept as written (minus a leading '#' or '@'); matching a status id
// or a room against the config is the caller's business.
//
//   !dd status <id>          set the request's status
//   !dd move #<channel>      move the request to another channel (by room name)
//   !dd move <service>       ... or to the channel that owns a service
//   !dd assign @<user>       assign the request to a user
//   !dd help                 list the commands and statuses
//   !dd rate <request> <n>   rate a resolved request (a survey button; in its thread or the DM with the bot)
//
// Anything else after the prefix ("!dd", "!dd frobnicate", "!dd status" without an id, extra arguments) is an
// `unknown_command`, which the lifecycle answers with the help text.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dutydesk::domain {

struct status_command {
  std::string status_id;
  friend bool operator==(const status_command&, const status_command&) = default;
};

struct move_command {
  std::string target; // without the leading '#'
  bool is_room = false; // written as "#room"; otherwise a service name
  friend bool operator==(const move_command&, const move_command&) = default;
};

struct assign_command {
  std::string user; // without the leading '@'
  friend bool operator==(const assign_command&, const assign_command&) = default;
};

struct help_command {
  friend bool operator==(const help_command&, const help_command&) = default;
};

struct rate_command {
  std::string request_id;
  int score = 0; // 0..100 as written; the feedback work checks the range
  friend bool operator==(const rate_command&, const rate_command&) = default;
};

struct unknown_command {
  std::string text; // the whole message text, trimmed
  friend bool operator==(const unknown_command&, const unknown_command&) = default;
};

using command = std::variant<status_command, move_command, assign_command, help_command, rate_command, unknown_command>;

/// The words of `text`, split on any run of whitespace (space, tab, newline, CR, FF, VT).
std::vector<std::string_view> split_words(std::string_view text);

/// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

/// True when `text` starts (after leading whitespace) with the `!dd` prefix as a whole word, in any case.
bool is_command(std::string_view text);

/// The command in `text`, or nullopt when `text` is not a `!dd` command at all (plain chat).
std::optional<command> parse_command(std::string_view text);

} // namespace dutydesk::domain
