#pragma once
// Which incoming Rocket.Chat messages matter: a top-level message by a non-bot user in a configured channel starts
// a request; a message with a thread id (`tmid`) in a configured channel is a thread reply for the request actor of
// that thread; everything else is ignored with a reason. System messages (`t` set: joins, removals, ...), edits
// (`editedAt` set: the stream re-sends the whole message) and the bot's own messages never start or drive anything.
// The bot's own top-level reposts (move) are `own_message` here too: the actor recognises them by the id its post
// returned and creates the moved request itself.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dutydesk::domain {

/// The parts of a Rocket.Chat message the filter looks at.
struct incoming_message {
  std::string id;                       // _id
  std::string room;                     // the room's name
  std::string author;                   // u.username
  std::string author_name{};            // u.name (display name)
  std::string text;                     // msg
  std::optional<std::string> thread_id; // tmid
  std::optional<std::string> type;      // t: set for system messages
  bool edited = false;                  // editedAt present
};

/// A configured support channel, as far as the filter cares.
struct filter_channel {
  std::string room;
  std::vector<std::string> members;
  bool members_open_requests = true; // false: a member's top-level message is chat, not a request
};

/// The filter's inputs besides the message.
struct filter_rules {
  std::string bot_user;
  std::vector<filter_channel> channels;
};

/// thread_edit: a new version of a person's thread reply (editedAt set): only its Jira comment follows it.
enum class message_kind { new_request, thread_reply, thread_edit, ignore };

enum class ignore_reason { none, unknown_room, system_message, edited, own_message, member_chat };

/// "none", "unknown-room", "system-message", "edited", "own-message", "member-chat".
std::string_view to_string(ignore_reason x);

struct message_class {
  message_kind kind = message_kind::ignore;
  ignore_reason reason = ignore_reason::none; // set when kind == ignore
  friend bool operator==(const message_class&, const message_class&) = default;
};

/// Classifies `msg`; see the header comment.
message_class classify(const incoming_message& msg, const filter_rules& rules);

} // namespace dutydesk::domain
