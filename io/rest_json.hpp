#pragma once
// Parsers for the Rocket.Chat REST (reference rocketchat.md §4; ISO-8601 dates) and Grafana OnCall public API
// (oncall.md) answers dutydesk uses. Each takes a response body and returns the value or a parse error; none throws.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/parsed.hpp"
#include "io/ddp_frames.hpp"

namespace dutydesk::io {

/// A Rocket.Chat error body `{"success":false,"error":...,"errorType"?:...,"message"?:...}`.
struct rc_error_body {
  std::string error;      // human text, e.g. "... [error-message-not-found]"; "" when absent
  std::string error_type; // e.g. "invalid-params"; "" when absent
  std::string message;    // the legacy "message" key of 401 bodies
};

/// A message deleted since the last sync.
struct deleted_message {
  std::string id;
  std::int64_t deleted_at_ms = 0;
};

/// `chat.syncMessages` result.
struct sync_result {
  std::vector<chat_message> updated;
  std::vector<deleted_message> deleted;
};

/// A Rocket.Chat user (users.info, users.list, me).
struct rc_user {
  std::string id;
  std::string username;
  std::string name;
  std::string status;
  bool active = true;
  std::vector<std::string> emails; // emails[].address, when visible
  std::vector<std::string> roles;
};

/// A room (rooms.info, im.create).
struct rc_room {
  std::string id;   // _id (im.create: rid)
  std::string type; // t
  std::string name; // "" for DMs
  std::string fname;
  std::vector<std::string> usernames; // DMs
};

/// A page of users.list.
struct rc_user_page {
  std::vector<rc_user> users;
  std::int64_t count = 0;
  std::int64_t offset = 0;
  std::int64_t total = 0;
};

/// True when the body is an object with `"success":true`.
bool rc_success(std::string_view body);
domain::parsed<rc_error_body> parse_rc_error(std::string_view body);
/// `{"message":{...}}` (chat.getMessage, chat.sendMessage, chat.postMessage, chat.update).
domain::parsed<chat_message> parse_rc_message_response(std::string_view body);
/// `{"result":{"updated":[...],"deleted":[...]}}`.
domain::parsed<sync_result> parse_rc_sync_messages(std::string_view body);
/// `{"messages":[...]}` (channels.history and friends), in the server's order.
domain::parsed<std::vector<chat_message>> parse_rc_history(std::string_view body);
/// `{"room":{...}}` of im.create or rooms.info.
domain::parsed<rc_room> parse_rc_room(std::string_view body);
/// `{"user":{...}}` of users.info.
domain::parsed<rc_user> parse_rc_user_info(std::string_view body);
/// The top-level user document of `me`.
domain::parsed<rc_user> parse_rc_me(std::string_view body);
/// `{"users":[...],"count","offset","total"}`.
domain::parsed<rc_user_page> parse_rc_users_list(std::string_view body);

/// An OnCall schedule.
struct oncall_schedule {
  std::string id;
  std::string name;
  std::string type;
  std::vector<std::string> on_call_now; // OnCall user ids; may be empty
};

/// An OnCall user.
struct oncall_user {
  std::string id;
  std::string username;
  std::string email;
  std::string name; // "" when absent
  std::string timezone;
};

/// A page of an OnCall list endpoint; follow `next` (an absolute URL) until it is empty.
template <class T>
struct oncall_page {
  std::vector<T> results;
  std::string next; // "" when null
  std::int64_t count = 0;
};

domain::parsed<oncall_schedule> parse_oncall_schedule(std::string_view body);
domain::parsed<oncall_user> parse_oncall_user(std::string_view body);
domain::parsed<oncall_page<oncall_user>> parse_oncall_users_page(std::string_view body);
domain::parsed<oncall_page<oncall_schedule>> parse_oncall_schedules_page(std::string_view body);
/// The DRF `{"detail":...}` text; "" when the body has none.
std::string parse_oncall_detail(std::string_view body);

} // namespace dutydesk::io
