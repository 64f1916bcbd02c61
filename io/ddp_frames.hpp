#pragma once
// Rocket.Chat realtime (DDP) frames: a parser for what the server sends and builders for what the client sends
// (reference rocketchat.md §2). Dates are EJSON `{"$date": <epoch ms>}` on this wire. Parsing never throws: a frame
// that is not JSON, not an object, or whose known fields have the wrong type yields a parse error, so the session can
// log it, count it and go on. Unknown fields and unknown `msg` kinds are not errors.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/parsed.hpp"

namespace dutydesk::io {

/// A message author (`u`).
struct chat_user {
  std::string id;       // u._id
  std::string username; // u.username
  std::string name;     // u.name, "" when absent
};

/// The fields of a Rocket.Chat message (`IMessage`) that dutydesk uses.
struct chat_message {
  std::string id;                // _id
  std::string rid;               // room id
  std::string msg;               // text, "" for attachment-only and rm messages
  std::int64_t ts_ms = 0;        // creation time, epoch ms
  std::int64_t updated_at_ms = 0; // _updatedAt, epoch ms (0 when absent)
  chat_user u;
  std::string t;                 // system message type, "" for normal messages
  std::string tmid;              // thread root id, "" when not a reply
  bool tshow = false;
  std::optional<std::int64_t> edited_at_ms;
  std::map<std::string, std::vector<std::string>> reactions; // ":eyes:" -> usernames
  std::int64_t tcount = 0;       // replies, thread roots only
  bool has_attachments = false;  // a non-empty `attachments` array
};

/// The second argument of a `__my_messages__` event.
struct room_hint {
  bool room_participant = false;
  std::string room_type; // c, p, d, l, ...
  std::string room_name; // "" for DMs
};

/// A Meteor error object `{error, reason?, message?, errorType?}`; `error` is a code or a number as text.
struct meteor_error {
  std::string error;
  std::string reason;
  std::string message;
  std::string error_type;
};

namespace ddp {

/// `{"server_id":"0"}` or `{"msg":"server_id",...}`: the greeting, to be ignored.
struct greeting {};
struct connected {
  std::string session;
};
struct failed {
  std::string version;
};
struct ping {
  std::optional<std::string> id;
};
struct pong {
  std::optional<std::string> id;
};
/// A method result: either `result_json` (minified JSON, "" when the server dropped a falsy result) or `error`.
struct result {
  std::string id;
  std::string result_json;
  std::optional<meteor_error> error;
};
struct updated {
  std::vector<std::string> methods;
};
struct ready {
  std::vector<std::string> subs;
};
struct nosub {
  std::string id;
  std::optional<meteor_error> error;
};
struct added {
  std::string collection;
  std::string id;
  std::string fields_json; // minified, "{}" when absent
};
/// A `changed` frame. For collection `stream-room-messages` with a message argument, `message` is set (and
/// `hint` for `__my_messages__`); for other streams `args_json` holds the minified `fields.args`.
struct changed {
  std::string collection;
  std::string id;
  std::string event_name;
  std::string args_json;
  std::optional<chat_message> message;
  std::optional<room_hint> hint;
};
/// A frame with a `msg` this parser does not model (e.g. `removed`, `addedBefore`).
struct other {
  std::string msg;
};

using server_frame =
    std::variant<greeting, connected, failed, ping, pong, result, updated, ready, nosub, added, changed, other>;

/// Parses one text frame from the server.
domain::parsed<server_frame> parse_server_frame(std::string_view text);

// Client -> server frames (compact JSON text).

/// `{"msg":"connect","version":"1","support":["1","pre2","pre1"]}`
std::string connect_frame();
/// `{"msg":"pong"}`, with `id` echoed when the ping had one.
std::string pong_frame(const std::optional<std::string>& id);
/// `{"msg":"ping","id":...}`
std::string ping_frame(std::string_view id);
/// `{"msg":"method","id":...,"method":"login","params":[{"resume":token}]}`
std::string login_resume_frame(std::string_view id, std::string_view token);
/// `{"msg":"sub","id":...,"name":"stream-room-messages","params":[event_name,false]}`
std::string sub_room_messages_frame(std::string_view id, std::string_view event_name);
/// `{"msg":"sub","id":...,"name":name,"params":<params_json>}`; `params_json` must be a JSON array text, else "[]" is
/// sent.
std::string sub_frame(std::string_view id, std::string_view name, std::string_view params_json);
/// `{"msg":"unsub","id":...}`
std::string unsub_frame(std::string_view id);
/// `{"msg":"method","id":...,"method":method,"params":<params_json>}`; `params_json` as for sub_frame.
std::string method_frame(std::string_view id, std::string_view method, std::string_view params_json);

} // namespace ddp

/// Parses one message object (JSON text) whose dates are EJSON `$date`, ISO-8601 strings or epoch-ms numbers.
domain::parsed<chat_message> parse_chat_message(std::string_view json_text);

/// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or a +hh:mm offset) into epoch ms.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

/// Formats epoch ms as "YYYY-MM-DDTHH:MM:SS.fffZ".
std::string format_iso8601_ms(std::int64_t ms);

} // namespace dutydesk::io
