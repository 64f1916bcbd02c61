#pragma once
// The Rocket.Chat simulator: REST `/api/v1/...` and the realtime DDP API (`/websocket`) of a Rocket.Chat 7.x/8.x
// server as a bot user sees them (../shared/reference/rocketchat.md; docs/sim/rocketchat.md lists what is simulated
// and every known deviation). A plain single-threaded object: the server layer calls it on one io thread.
//
// One message store serves every surface. REST chat.postMessage (processWebhookMessage), REST chat.sendMessage,
// DDP sendMessage and the control API's "post as user" all end in `store_message`, which inserts, runs the thread
// hook (root tcount/tlm/replies) and broadcasts, so every path produces the same documents and stream events.
// Broadcast frames are serialised once per event and shared by every subscriber.
//
// Code layout: rocketchat_model.cpp (store, message operations, serialisation), rocketchat_rest.cpp (REST routes,
// auth, rate limiter), rocketchat_ddp.cpp (sessions, methods, streams), rocketchat_control.cpp (control API).

#include "sim/core.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dutydesk::sim {

namespace rc {

/// A login token or personal access token in `services.resume.loginTokens`.
struct token {
  std::string value;
  bool personal = false; // PAT: no `when`, never expires
  int64_t when = 0;      // issue time of a login token; a PAT's createdAt
  std::string name;      // PAT: its name (unique per user)
  bool bypass_two_factor = false; // PAT: `bypassTwoFactor`, set when it was generated

  static token login(std::string value, int64_t when) {
    token t;
    t.value = std::move(value);
    t.when = when;
    return t;
  }
  static token personal_access(std::string value, int64_t created_at = 0, std::string name = {}, bool bypass = false) {
    token t;
    t.value = std::move(value);
    t.personal = true;
    t.when = created_at;
    t.name = std::move(name);
    t.bypass_two_factor = bypass;
    return t;
  }
};

struct user {
  std::string id;
  std::string username;
  std::string name;
  std::string email;
  std::vector<std::string> roles;
  std::string password;
  std::vector<token> tokens;
  int64_t created_at = 0;
  int64_t last_login = 0;
  bool active = true;
  bool email_verified = false;
  bool require_password_change = false;
  int64_t updated_at = 0;
  int utc_offset = 0;
  bool has_role(std::string_view role) const;
  /// Roles holding `api-bypass-rate-limit` by default: admin, bot, app.
  bool bypasses_rate_limit() const;
};

struct message;

struct room {
  std::string id;
  char type = 'c'; // c public, p private, d direct
  std::string name; // empty for DMs
  std::string fname;
  std::string owner_id;
  std::string owner_username;
  std::string topic;
  bool read_only = false;
  bool is_default = false;
  int64_t ts = 0;
  int64_t updated_at = 0;
  int64_t lm = 0;
  int64_t msgs = 0;
  std::string last_message_id;
  std::vector<std::string> dm_usernames; // DMs: sorted as createDirectRoom sorts them
  std::vector<std::string> dm_uids;      // DMs: sorted ids
  std::vector<std::string> members;      // user ids, join order
  std::unordered_set<std::string> member_set;
  std::vector<message*> timeline; // every live message of the room, ts ascending
};

/// A user's subscription to a room (rocketchat_subscription).
struct subscription {
  std::string id;
  std::string rid;
  std::string uid;
  int64_t ts = 0;
  int64_t updated_at = 0;
  bool open = true;
  bool alert = false;
  int unread = 0;
  std::vector<std::string> roles;
};

struct reaction {
  std::string emoji; // ":eyes:"
  std::vector<std::string> usernames;
};

struct message {
  std::string id;
  std::string rid;
  std::string msg;
  std::string t; // system message type; empty for normal messages
  std::string tmid;
  int64_t ts = 0;
  int64_t updated_at = 0;
  std::string uid;
  std::string username;
  std::string uname; // u.name
  bool has_uname = true;
  std::optional<bool> tshow;
  std::optional<bool> groupable;
  std::optional<bool> parse_urls;
  std::optional<std::string> alias;
  std::optional<std::string> emoji;
  std::optional<std::string> avatar;
  json attachments; // null: absent
  json blocks;
  json custom_fields;
  json extra;    // other client keys kept verbatim (object or null)
  json urls;     // null: absent
  json mentions = json::array();
  json channels = json::array();
  json md;       // null: absent
  bool has_mentions = true;
  bool is_thread_root = false;
  int tcount = 0;
  int64_t tlm = 0;
  std::vector<std::string> replies;
  std::vector<reaction> reactions;
  int64_t edited_at = 0;
  std::string edited_by_id;
  std::string edited_by_username;
};

/// A hard-deleted message as `rocketchat__trash` keeps it for chat.syncMessages.
struct trashed {
  std::string id;
  std::string rid;
  std::string tmid;
  int64_t deleted_at = 0;
};

/// Meteor.Error(error, reason, details) or a plain `new Error(message)` thrown by server code.
struct failure {
  bool meteor = true;
  std::string error;  // Meteor error code ("error-not-allowed"), or the message of a plain Error
  std::string reason; // Meteor reason; may be empty
  json details;       // null when absent
  int http_status = 400;
};

enum class date_style { iso, ejson };

/// One DDP subscription of a session.
struct ddp_sub {
  std::string id;
  std::string stream; // "stream-room-messages"
  std::string event;  // "GENERAL", "__my_messages__", "<uid>/message"
};

struct ddp_session {
  uint64_t id = 0;
  std::shared_ptr<ws_connection> conn;
  bool connected = false;
  std::string session_id;
  std::string uid;        // empty until login
  std::string login_token;
  int64_t last_activity = 0;
  int64_t ping_sent_at = -1; // -1: no server ping outstanding
  std::map<std::string, ddp_sub> subs;
};

/// Input of the shared send path (executeSendMessage / processWebhookMessage).
struct send_input {
  std::string id; // client-chosen _id, or empty
  std::string rid;
  std::optional<std::string> msg;
  std::string tmid;
  std::optional<bool> tshow;
  std::optional<int64_t> ts; // client ts (DDP {$date})
  std::optional<std::string> alias;
  std::optional<std::string> emoji;
  std::optional<std::string> avatar;
  json attachments;
  json blocks;
  json custom_fields;
  std::optional<bool> groupable;
  std::optional<bool> parse_urls;
  json extra;
};

/// Meteor.Error(code, reason, details).
failure meteor_error(std::string code, std::string reason = {}, json details = nullptr);
/// A plain `new Error(message)`.
failure plain_error(std::string message);
/// `reason [code]`, or `[code]` without a reason (Meteor's Error.message).
std::string meteor_message(const failure& f);
/// True for a built-in emoji shortname ("eyes" or ":eyes:").
bool is_known_emoji(std::string_view name);
/// ":name:" for "name", ":name:" or "na:me" (setReaction strips every colon, then wraps).
std::string normalize_emoji(std::string_view name);
/// JavaScript `string.length` (UTF-16 code units) of UTF-8 text.
size_t utf16_length(std::string_view utf8);
/// Lower-case hex SHA-256 (Meteor's password digest).
std::string sha256_hex(std::string_view data);

} // namespace rc

class rocketchat_sim final : public simulated_system {
public:
  rocketchat_sim(const clock_source& clock, id_source& ids);
  ~rocketchat_sim() override;
  std::string name() const override { return "rocketchat"; }
  http_response handle(const http_request& req) override;
  http_response handle_control(const http_request& req) override;
  void load_seed(const json& section) override;
  void set_base_url(std::string url) override;
  void tick() override;

  /// Opens a DDP session for a new websocket on GET /websocket and sends the greeting frame.
  uint64_t ddp_open(std::shared_ptr<ws_connection> conn);
  /// Handles one text frame from the client of `session`.
  void ddp_message(uint64_t session, std::string_view text);
  /// Forgets a session whose socket is gone (either side closed it); unknown ids are ignored.
  void ddp_closed(uint64_t session);
  /// Drops every websocket abruptly (no close frame), as a network failure would.
  void drop_all_connections();

  /// Number of open DDP sessions (for tests and the control API).
  size_t num_sessions() const { return sessions_.size(); }

private:
  // ---- model (rocketchat_model.cpp) ----
  rc::user* find_user_by_id(std::string_view id);
  rc::user* find_user_by_username(std::string_view username);
  rc::user* find_user_by_email(std::string_view email);
  rc::user* find_user_by_token(std::string_view uid, std::string_view token);
  rc::room* find_room(std::string_view id);
  rc::room* find_room_by_name(std::string_view name);
  rc::room* find_room_by_id_or_name(std::string_view id_or_name);
  rc::message* find_message(std::string_view id);
  rc::subscription* find_subscription(std::string_view rid, std::string_view uid);

  rc::user& add_user(rc::user u);
  rc::room& add_room(rc::room r);
  std::string new_id();
  /// Creates the subscription of `uid` to `r` and announces it on stream-notify-user.
  rc::subscription& subscribe_user(rc::room& r, const rc::user& u, bool open);
  /// addUserToRoom: subscribes `u` and posts the `uj` system message; no-op when already a member.
  void add_user_to_room(rc::room& r, const rc::user& u, bool system_message, const rc::user* inviter);
  /// createDirectRoom: the 1:1 DM of `a` and `b` (rid = sorted ids), created on first use.
  rc::room& direct_room(const rc::user& a, const rc::user& b);

  bool can_access_room(const rc::room& r, const rc::user& u) const;
  /// hasPermission with Rocket.Chat's default role grants (global roles, plus the room roles owner/moderator of the
  /// user's subscription to `room` when given). Only the permissions the simulator checks are listed.
  bool has_permission(const rc::user& u, std::string_view permission, const rc::room* room = nullptr) const;
  /// generatePersonalAccessTokenOfUser: stores a PAT (login-token list, no expiry) and returns its value.
  std::string generate_personal_token(rc::user& u, const std::string& name, bool bypass_two_factor);
  /// createRoom('c', ...) for channels.create: the owner plus the members found by username.
  rc::room& create_channel(const rc::user& owner, const std::string& name, const std::vector<std::string>& members,
                           bool read_only, bool exclude_self);
  bool is_member(const rc::room& r, std::string_view uid) const;

  /// executeSendMessage (DDP sendMessage, REST chat.sendMessage, control post). nullptr: duplicate _id.
  rc::message* execute_send_message(const rc::user& u, rc::send_input in);
  /// sendMessage(): validate, prepare, insert, thread hook, broadcast. nullptr: duplicate _id.
  rc::message* store_message(const rc::user& u, rc::room& r, rc::send_input in);
  /// processWebhookMessage target resolution (chat.postMessage `roomId`/`channel`).
  rc::room& resolve_post_target(const rc::user& u, const std::string& target);
  rc::message& save_system_message(rc::room& r, const std::string& type, const rc::user& u, const std::string& msg);
  /// executeUpdateMessage: `fields` are the client keys; silent no-op when the text is unchanged.
  void update_message(const rc::user& editor, rc::message& m, const json& fields);
  void delete_message(const rc::user& by, rc::message& m);
  void set_reaction(const rc::user& u, rc::message& m, std::string emoji, std::optional<bool> should_react);
  bool can_delete(const rc::user& u, const rc::message& m) const;
  bool can_edit(const rc::user& u, const rc::message& m) const;

  void parse_message_text(rc::message& m);
  void touch_room_after_message(rc::room& r, const rc::message& m);

  json message_json(const rc::message& m, rc::date_style style) const;
  json room_json(const rc::room& r, rc::date_style style) const;
  json subscription_json(const rc::subscription& s, rc::date_style style) const;
  json user_json(const rc::user& u, bool full) const;
  json me_json(const rc::user& u) const;
  json date_value(int64_t ms, rc::date_style style) const;

  // ---- broadcasting (rocketchat_ddp.cpp) ----
  void broadcast_message(const rc::message& m);
  void broadcast_deleted(const rc::room& r, const std::string& message_id);
  void notify_user(const std::string& uid, const std::string& event, const json& args);
  void notify_room_members(const rc::room& r, const std::string& event, const json& args);
  void send_frame(rc::ddp_session& s, const std::string& frame);
  void send_json(rc::ddp_session& s, const json& frame);
  void close_session(uint64_t id, int code, const std::string& reason);
  void remove_session_subs(rc::ddp_session& s);
  void dispatch_connected(rc::ddp_session& s, const std::string& msg, const json& frame);
  void handle_ddp_method(rc::ddp_session& s, const json& frame);
  void handle_ddp_sub(rc::ddp_session& s, const json& frame);
  json call_method(rc::ddp_session& s, const std::string& method, const json& params, bool& has_result);
  void ephemeral(const std::string& uid, const std::string& rid, const std::string& text);

  // ---- REST (rocketchat_rest.cpp) ----
  http_response rest_route(const http_request& req, const std::string& route, rc::user* caller);

  // ---- control (rocketchat_control.cpp) ----
  http_response control_route(const http_request& req);

  const clock_source& clock_;
  id_source& ids_;
  std::string site_url_ = "http://127.0.0.1:3000";

  std::deque<rc::user> users_;
  std::unordered_map<std::string, rc::user*> users_by_id_;
  std::unordered_map<std::string, rc::user*> users_by_username_;
  std::unordered_map<std::string, std::string> token_owner_; // token -> user id

  std::deque<rc::room> rooms_;
  std::unordered_map<std::string, rc::room*> rooms_by_id_;
  std::unordered_map<std::string, rc::room*> rooms_by_name_;

  std::unordered_map<std::string, std::unique_ptr<rc::message>> messages_;
  std::unordered_map<std::string, std::vector<rc::message*>> thread_replies_; // root id -> replies, ts asc
  std::vector<rc::trashed> trash_;

  std::map<std::pair<std::string, std::string>, rc::subscription> subscriptions_; // (rid, uid)

  // Settings (Rocket.Chat defaults; the seed's "settings" object may override them).
  int64_t max_message_size_ = 5000;
  int64_t rate_limit_calls_ = 10;
  int64_t rate_limit_window_ms_ = 60000;
  bool rate_limiter_enabled_ = true;
  bool rate_limit_by_user_ = false; // Rocket.Chat keys on client IP; "user" keys on the caller instead
  int64_t login_expiration_ms_ = 90LL * 24 * 3600 * 1000;
  bool show_deleted_status_ = false;

  // Meteor RateLimiter: one rule per route with one reset time shared by every key.
  struct rate_rule {
    int64_t last_reset = 0;
    std::unordered_map<std::string, int64_t> counters;
  };
  std::unordered_map<std::string, rate_rule> rate_rules_;

  std::unordered_map<uint64_t, rc::ddp_session> sessions_;
  uint64_t next_session_ = 1;
  // (stream, event) -> (session, sub id) subscribers, in subscription order.
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<uint64_t, std::string>>> stream_subs_;
};

} // namespace dutydesk::sim
