#pragma once
// Typed Rocket.Chat REST calls for the bot (reference rocketchat.md §4), on top of http_client. Every call sends
// X-User-Id/X-Auth-Token and hands an api_result to its callback on the io_context thread. Calls: call them on that
// thread. Safe to repeat after a 5xx or a lost answer: chat.sendMessage (client-chosen _id, so the server drops a
// duplicate), chat.update (it sets the text; an unchanged text is a no-op) and chat.react with an explicit
// shouldReact (it sets a state); chat.postMessage and a toggling chat.react are not repeated then (429 always is).
// This object and the http_client must outlive the calls in flight.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "io/api_result.hpp"
#include "io/ddp_frames.hpp"
#include "io/http_client.hpp"
#include "io/rest_json.hpp"

namespace dutydesk::io {

struct rc_credentials {
  std::string user_id;    // X-User-Id
  std::string auth_token; // X-Auth-Token (a PAT)
};

/// An attachment button (reference §5.1). With `url` it opens a link; otherwise a click posts `msg` as the user.
struct rc_button {
  std::string text;
  std::string msg;
  std::string url;
  std::string processing = "sendMessage"; // msg_processing_type
};

/// A message attachment; `buttons` become `actions`.
struct rc_attachment {
  std::string text;
  std::string color;
  std::string title;
  std::vector<rc_button> buttons;
};

struct post_message_args {
  std::string room_id;
  std::string text;
  std::string tmid;  // thread root; "" for a top-level message
  std::string emoji; // "" = none
  std::vector<rc_attachment> attachments;
};

struct send_message_args {
  std::string id; // client-chosen _id (17 chars in Rocket.Chat style); makes the call safe to repeat
  std::string rid;
  std::string msg;
  std::string tmid;
  bool tshow = false;
  std::vector<rc_attachment> attachments;
};

class rocketchat_rest {
public:
  template <class T>
  using callback = std::function<void(api_result<T>)>;

  /// `base_url` is the server root, e.g. "https://chat.example.com" (no /api/v1).
  rocketchat_rest(http_client& http, std::string base_url, rc_credentials creds,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  /// GET me: the bot's own user.
  void me(callback<rc_user> cb);
  /// POST chat.postMessage (roomId form, so tmid is allowed).
  void post_message(const post_message_args& a, callback<chat_message> cb);
  /// POST chat.sendMessage. A repeat of an already stored _id answers without a message; the stored one is then
  /// fetched with chat.getMessage, so the callback always gets the message.
  void send_message(const send_message_args& a, callback<chat_message> cb);
  /// POST chat.update (text only; attachments and buttons stay, reference §4.3). Safe to repeat.
  void update_message(const std::string& room_id, const std::string& msg_id, const std::string& text,
                      callback<chat_message> cb);
  /// POST chat.react; `should_react` empty = toggle.
  void react(const std::string& msg_id, const std::string& emoji, std::optional<bool> should_react,
             callback<std::monostate> cb);
  /// GET chat.getMessage.
  void get_message(const std::string& msg_id, callback<chat_message> cb);
  /// GET chat.syncMessages?roomId&lastUpdate: messages with _updatedAt > last_update_ms, and deletions.
  void sync_messages(const std::string& room_id, std::int64_t last_update_ms, callback<sync_result> cb);
  /// GET channels.history (newest first).
  void channels_history(const std::string& room_id, std::optional<std::int64_t> oldest_ms, int count,
                        callback<std::vector<chat_message>> cb);
  /// GET rooms.info?roomId.
  void room_info(const std::string& room_id, callback<rc_room> cb);
  /// POST im.create {username}: the DM room (idempotent).
  void im_create(const std::string& username, callback<rc_room> cb);
  /// GET users.info?username.
  void user_info(const std::string& username, callback<rc_user> cb);
  /// GET users.list?email (exact, case-insensitive).
  void users_by_email(const std::string& email, callback<rc_user_page> cb);

private:
  http_request make(http_method m, std::string path_and_query, std::string body = {}) const;
  template <class T, class Parse>
  void call(http_request req, Parse parse, callback<T> cb);

  http_client& http_;
  std::string base_;
  rc_credentials creds_;
  std::chrono::milliseconds timeout_;
};

/// The JSON array text of `attachments` as chat.postMessage/sendMessage take it.
std::string attachments_json(const std::vector<rc_attachment>& attachments);

} // namespace dutydesk::io
