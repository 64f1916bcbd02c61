// Rocket.Chat simulator: the store and the message operations shared by REST, DDP and the control API.
// Server functions mirrored here (RC apps/meteor/...): lib/server/methods/sendMessage.ts (executeSendMessage),
// lib/server/functions/sendMessage.ts (validateMessage, prepareMessageObject, duplicate _id), processWebhookMessage.ts,
// getRoomByNameOrIdWithOptionToJoin.ts, addUserToRoom.ts, createDirectRoom.ts, updateMessage.ts, deleteMessage.ts,
// reactions/server/setReaction.ts, threads/server/hooks/aftersavemessage.ts.

#include "sim/rocketchat.hpp"

#include <algorithm>
#include <cctype>

#include <openssl/evp.h>

namespace dutydesk::sim {

namespace rc {

namespace {

// Built-in emoji shortnames the simulator knows (a subset of emojione/joypixels, enough for dutydesk's config and
// common reactions). Custom emoji are not simulated.
const std::unordered_set<std::string_view>& emoji_set() {
  static const std::unordered_set<std::string_view> xs = {
    "new", "hammer_and_wrench", "hourglass_flowing_sand", "hourglass", "white_check_mark", "heavy_check_mark",
    "ballot_box_with_check", "eyes", "x", "arrow_right", "arrow_left", "arrow_up", "arrow_down", "star", "star2",
    "thumbsup", "+1", "thumbsdown", "-1", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "zero", "keycap_ten", "smile", "smiley", "grinning", "grin", "joy", "laughing", "wink", "blush", "slight_smile",
    "upside_down", "thinking", "neutral_face", "expressionless", "confused", "worried", "frowning", "frowning2",
    "cry", "sob", "scream", "rage", "angry", "sweat_smile", "sunglasses", "heart", "broken_heart", "heart_eyes",
    "fire", "tada", "rocket", "warning", "rotating_light", "no_entry", "no_entry_sign", "stop_sign",
    "question", "grey_question", "exclamation", "bangbang", "bulb", "bell", "lock", "unlock", "key", "wrench",
    "gear", "tools", "bug", "clock1", "alarm_clock", "stopwatch", "timer", "calendar", "memo", "pencil",
    "pencil2", "clipboard", "pushpin", "paperclip", "link", "mag", "mag_right", "inbox_tray", "outbox_tray",
    "envelope", "email", "ok", "ok_hand", "clap", "pray", "raised_hands", "wave", "muscle", "point_right",
    "point_left", "point_up", "point_down", "handshake", "100", "checkered_flag", "construction", "zap", "boom",
    "sparkles", "hourglass_flowing_sand", "red_circle", "large_blue_circle", "green_circle", "yellow_circle",
    "white_circle", "black_circle", "heavy_plus_sign", "heavy_minus_sign", "repeat", "arrows_counterclockwise",
    "recycle", "speech_balloon", "thought_balloon", "information_source", "sos", "pause_button",
    "play_pause", "stop_button", "fast_forward", "rewind", "coffee", "beer", "pizza", "cake", "trophy", "medal",
    "robot", "ghost", "skull", "poop", "see_no_evil", "hear_no_evil", "speak_no_evil", "sleeping", "zzz",
  };
  return xs;
}

} // namespace

failure meteor_error(std::string code, std::string reason, json details) {
  failure f;
  f.meteor = true;
  f.error = std::move(code);
  f.reason = std::move(reason);
  f.details = std::move(details);
  return f;
}

failure plain_error(std::string message) {
  failure f;
  f.meteor = false;
  f.error = std::move(message);
  return f;
}

std::string meteor_message(const failure& f) {
  if (!f.meteor)
    return f.error;
  return f.reason.empty() ? "[" + f.error + "]" : f.reason + " [" + f.error + "]";
}

bool is_known_emoji(std::string_view name) {
  std::string bare;
  for (char c : name)
    if (c != ':')
      bare += c;
  return emoji_set().count(bare) > 0;
}

std::string normalize_emoji(std::string_view name) {
  std::string bare;
  for (char c : name)
    if (c != ':')
      bare += c;
  return ":" + bare + ":";
}

size_t utf16_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80)
      continue; // continuation byte
    n += (c >= 0xF0) ? 2 : 1; // 4-byte sequences are surrogate pairs in UTF-16
  }
  return n;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

bool user::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool user::bypasses_rate_limit() const {
  return has_role("admin") || has_role("bot") || has_role("app");
}

} // namespace rc

namespace {

using rc::failure;
using rc::meteor_error;
using rc::plain_error;

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// getMessageUrlRegex: scheme of 3-9 letters, "://", then non-blank characters; trailing punctuation is not part
// of the URL.
std::vector<std::string> extract_urls(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = text.find("://", pos)) != std::string::npos) {
    size_t start = pos;
    while (start > 0 && std::isalpha(static_cast<unsigned char>(text[start - 1])))
      --start;
    size_t scheme_len = pos - start;
    size_t end = pos + 3;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '<' &&
           text[end] != '>' && text[end] != '"')
      ++end;
    while (end > pos + 3 && std::string_view(".,;:!?)]'").find(text[end - 1]) != std::string_view::npos)
      --end;
    if (scheme_len >= 3 && scheme_len <= 9 && end > pos + 3) {
      auto url = text.substr(start, end - start);
      if (std::find(out.begin(), out.end(), url) == out.end())
        out.push_back(url);
    }
    pos = end > pos + 3 ? end : pos + 3;
  }
  return out;
}

json plain(std::string s) {
  return json{{"type", "PLAIN_TEXT"}, {"value", std::move(s)}};
}

// A reduced message-parser AST: one PARAGRAPH per line with PLAIN_TEXT, MENTION_USER, MENTION_CHANNEL, EMOJI and
// LINK nodes (no bold/italic/code parsing).
json build_md(const std::string& text) {
  json md = json::array();
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos)
      line_end = text.size();
    std::string line = text.substr(line_start, line_end - line_start);
    if (line.empty()) {
      md.push_back(json{{"type", "LINE_BREAK"}});
    } else {
      json value = json::array();
      std::string buf;
      auto flush = [&] {
        if (!buf.empty()) {
          value.push_back(plain(buf));
          buf.clear();
        }
      };
      size_t i = 0;
      while (i < line.size()) {
        char c = line[i];
        bool boundary = i == 0 || std::isspace(static_cast<unsigned char>(line[i - 1]));
        if ((c == '@' || c == '#') && boundary && i + 1 < line.size() && is_name_char(line[i + 1])) {
          size_t j = i + 1;
          while (j < line.size() && is_name_char(line[j]))
            ++j;
          flush();
          value.push_back(json{{"type", c == '@' ? "MENTION_USER" : "MENTION_CHANNEL"},
                               {"value", plain(line.substr(i + 1, j - i - 1))}});
          i = j;
          continue;
        }
        if (c == ':' && i + 1 < line.size()) {
          size_t j = line.find(':', i + 1);
          if (j != std::string::npos && j > i + 1) {
            auto name = line.substr(i + 1, j - i - 1);
            if (rc::is_known_emoji(name)) {
              flush();
              value.push_back(json{{"type", "EMOJI"}, {"value", plain(name)}, {"shortCode", name}});
              i = j + 1;
              continue;
            }
          }
        }
        auto scheme = line.find("://", i);
        if (scheme != std::string::npos && boundary) {
          size_t k = i;
          while (k < scheme && std::isalpha(static_cast<unsigned char>(line[k])))
            ++k;
          if (k == scheme && scheme - i >= 3) {
            size_t end = scheme + 3;
            while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])))
              ++end;
            if (end > scheme + 3) {
              flush();
              auto url = line.substr(i, end - i);
              value.push_back(json{{"type", "LINK"}, {"value", {{"src", plain(url)}, {"label", json::array({plain(url)})}}}});
              i = end;
              continue;
            }
          }
        }
        buf += c;
        ++i;
      }
      flush();
      md.push_back(json{{"type", "PARAGRAPH"}, {"value", std::move(value)}});
    }
    if (line_end == text.size())
      break;
    line_start = line_end + 1;
  }
  return md;
}

bool is_http_url(const std::string& s) {
  auto lower = s.substr(0, 8);
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0;
}

const char* js_type(const json& v) {
  if (v.is_string())
    return "string";
  if (v.is_number())
    return "number";
  if (v.is_boolean())
    return "boolean";
  if (v.is_null())
    return "null";
  if (v.is_array())
    return "array";
  return "object";
}

enum class kind { string, boolean, number, string_or_number, number_or_bool_or_string, url, object, array };

// check(value, objectMaybeIncluding({...})): a Match.Where wrapping inner checks, so a type error reads
// "Match error: Match error: Expected string, got number in field text" (the inner Match.Error message is
// prefixed again by the outer check), and a bad URL is the plain Error "Invalid href value provided".
void check_fields(const json& obj, const std::vector<std::pair<std::string_view, kind>>& spec) {
  if (!obj.is_object())
    throw plain_error(std::string("Match error: Failed Match.Where validation"));
  for (auto& [name, k] : spec) {
    auto it = obj.find(std::string(name));
    if (it == obj.end() || it->is_null())
      continue;
    const json& v = *it;
    auto mismatch = [&](const char* expected) {
      throw plain_error(std::string("Match error: Match error: Expected ") + expected + ", got " + js_type(v) +
                        " in field " + std::string(name));
    };
    switch (k) {
      case kind::string:
        if (!v.is_string())
          mismatch("string");
        break;
      case kind::boolean:
        if (!v.is_boolean())
          mismatch("boolean");
        break;
      case kind::number:
        if (!v.is_number())
          mismatch("number");
        break;
      case kind::string_or_number:
        if (!v.is_string() && !v.is_number())
          throw plain_error("Match error: Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation in field " +
                            std::string(name));
        break;
      case kind::number_or_bool_or_string:
        if (!v.is_string() && !v.is_number() && !v.is_boolean())
          throw plain_error("Match error: Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation in field " +
                            std::string(name));
        break;
      case kind::url: {
        if (!v.is_string())
          mismatch("string");
        auto s = v.get<std::string>();
        std::string lower = s.substr(0, 11);
        for (auto& c : lower)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!is_http_url(s) || lower.rfind("javascript:", 0) == 0)
          throw plain_error("Invalid href value provided");
        break;
      }
      case kind::object:
        if (!v.is_object())
          mismatch("object");
        break;
      case kind::array:
        if (!v.is_array())
          mismatch("array");
        break;
    }
  }
}

void validate_attachments(const json& attachments) {
  static const std::vector<std::pair<std::string_view, kind>> attachment_spec = {
    {"color", kind::string}, {"text", kind::string}, {"ts", kind::string_or_number}, {"thumb_url", kind::url},
    {"button_alignment", kind::string}, {"actions", kind::array}, {"message_link", kind::url},
    {"collapsed", kind::boolean}, {"author_name", kind::string}, {"author_link", kind::url},
    {"author_icon", kind::url}, {"title", kind::string}, {"title_link", kind::url},
    {"title_link_download", kind::boolean}, {"image_dimensions", kind::object}, {"image_url", kind::url},
    {"image_preview", kind::string}, {"image_type", kind::string}, {"image_size", kind::number},
    {"audio_url", kind::url}, {"audio_type", kind::string}, {"audio_size", kind::number}, {"video_url", kind::url},
    {"video_type", kind::string}, {"video_size", kind::number}, {"fields", kind::array},
  };
  static const std::vector<std::pair<std::string_view, kind>> action_spec = {
    {"type", kind::string}, {"text", kind::string}, {"url", kind::url}, {"image_url", kind::url},
    {"is_webview", kind::boolean}, {"webview_height_ratio", kind::string}, {"msg", kind::string},
    {"msg_in_chat_window", kind::boolean},
  };
  static const std::vector<std::pair<std::string_view, kind>> field_spec = {
    {"short", kind::boolean}, {"title", kind::string}, {"value", kind::number_or_bool_or_string},
  };
  for (auto& a : attachments) {
    check_fields(a, attachment_spec);
    if (auto f = a.find("fields"); f != a.end() && f->is_array()) {
      for (auto& field : *f) {
        check_fields(field, field_spec);
        auto title = field.value("title", json());
        auto value = field.value("value", json());
        bool title_ok = title.is_string() && !title.get<std::string>().empty();
        bool value_ok = !(value.is_null() || (value.is_string() && value.get<std::string>().empty()) ||
                          (value.is_boolean() && !value.get<bool>()) || (value.is_number() && value == 0));
        if (!title_ok || !value_ok)
          throw plain_error("Invalid attachment field, title and value is required");
      }
    }
    if (auto acts = a.find("actions"); acts != a.end() && acts->is_array())
      for (auto& act : *acts)
        check_fields(act, action_spec);
  }
}

std::string i18n(const failure& f) {
  if (!f.meteor)
    return f.error;
  static const std::map<std::string, std::string> xs = {
    {"error-not-allowed", "Not allowed"},
    {"error-invalid-room", "Invalid room"},
    {"error-message-size-exceeded", "Message size exceeds the maximum allowed size"},
  };
  auto i = xs.find(f.error);
  return i == xs.end() ? f.error : i->second;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------

rocketchat_sim::rocketchat_sim(const clock_source& clock, id_source& ids) : clock_(clock), ids_(ids) {}

rocketchat_sim::~rocketchat_sim() = default;

void rocketchat_sim::set_base_url(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  site_url_ = std::move(url);
}

std::string rocketchat_sim::new_id() {
  return ids_.meteor_id(17);
}

void rocketchat_sim::load_seed(const json& section) {
  users_.clear();
  users_by_id_.clear();
  users_by_username_.clear();
  token_owner_.clear();
  rooms_.clear();
  rooms_by_id_.clear();
  rooms_by_name_.clear();
  messages_.clear();
  thread_replies_.clear();
  trash_.clear();
  subscriptions_.clear();
  rate_rules_.clear();

  if (section.contains("site_url") && section["site_url"].is_string())
    set_base_url(section["site_url"].get<std::string>());
  if (auto s = section.find("settings"); s != section.end() && s->is_object()) {
    max_message_size_ = s->value("Message_MaxAllowedSize", max_message_size_);
    rate_limit_calls_ = s->value("API_Enable_Rate_Limiter_Limit_Calls_Default", rate_limit_calls_);
    rate_limit_window_ms_ = s->value("API_Enable_Rate_Limiter_Limit_Time_Default", rate_limit_window_ms_);
    rate_limiter_enabled_ = s->value("API_Enable_Rate_Limiter", rate_limiter_enabled_);
    show_deleted_status_ = s->value("Message_ShowDeletedStatus", show_deleted_status_);
    login_expiration_ms_ = s->value("Accounts_LoginExpiration", login_expiration_ms_ / 86400000) * 86400000;
    rate_limit_by_user_ = s->value("rate_limit_key", std::string("ip")) == "user";
  }
  auto now = clock_.now_ms();
  for (auto& ju : section.value("users", json::array())) {
    rc::user u;
    u.id = ju.value("id", std::string());
    if (u.id.empty())
      u.id = new_id();
    u.username = ju.value("username", std::string());
    u.name = ju.value("name", u.username);
    u.email = ju.value("email", std::string());
    u.roles = ju.value("roles", std::vector<std::string>{"user"});
    u.password = ju.value("password", std::string());
    u.created_at = u.updated_at = now;
    u.email_verified = ju.value("verified", false);
    u.utc_offset = ju.value("utc_offset", 0);
    for (auto& jt : ju.value("tokens", json::array())) {
      rc::token t;
      if (jt.is_string()) {
        t.value = jt.get<std::string>();
        t.personal = true;
      } else {
        t.value = jt.value("token", std::string());
        t.personal = jt.value("type", std::string("personal")) != "login";
        t.when = jt.value("when", now);
        t.name = jt.value("name", std::string());
        t.bypass_two_factor = jt.value("bypass_two_factor", false);
      }
      u.tokens.push_back(t);
    }
    add_user(std::move(u));
  }
  for (auto& jr : section.value("rooms", json::array())) {
    rc::room r;
    r.id = jr.value("id", std::string());
    if (r.id.empty())
      r.id = new_id();
    r.name = jr.value("name", std::string());
    r.fname = r.name;
    auto type = jr.value("type", std::string("c"));
    r.type = type.empty() ? 'c' : type[0];
    r.topic = jr.value("topic", std::string());
    r.read_only = jr.value("read_only", false);
    r.is_default = jr.value("default", false);
    r.ts = r.updated_at = now;
    auto members = jr.value("members", std::vector<std::string>{});
    auto owner = jr.value("owner", members.empty() ? std::string() : members.front());
    if (auto* o = find_user_by_username(owner)) {
      r.owner_id = o->id;
      r.owner_username = o->username;
    }
    auto& room = add_room(std::move(r));
    for (auto& m : members)
      if (auto* u = find_user_by_username(m)) {
        auto& sub = subscribe_user(room, *u, true);
        if (u->id == room.owner_id)
          sub.roles = {"owner"};
      }
  }
}

rc::user& rocketchat_sim::add_user(rc::user u) {
  users_.push_back(std::move(u));
  auto& ref = users_.back();
  users_by_id_[ref.id] = &ref;
  users_by_username_[ref.username] = &ref;
  for (auto& t : ref.tokens)
    token_owner_[t.value] = ref.id;
  return ref;
}

rc::room& rocketchat_sim::add_room(rc::room r) {
  rooms_.push_back(std::move(r));
  auto& ref = rooms_.back();
  rooms_by_id_[ref.id] = &ref;
  if (!ref.name.empty())
    rooms_by_name_[ref.name] = &ref;
  return ref;
}

rc::user* rocketchat_sim::find_user_by_id(std::string_view id) {
  auto i = users_by_id_.find(std::string(id));
  return i == users_by_id_.end() ? nullptr : i->second;
}

rc::user* rocketchat_sim::find_user_by_username(std::string_view username) {
  auto i = users_by_username_.find(std::string(username));
  return i == users_by_username_.end() ? nullptr : i->second;
}

rc::user* rocketchat_sim::find_user_by_email(std::string_view email) {
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (auto& c : r)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  auto want = lower(email);
  for (auto& u : users_)
    if (lower(u.email) == want)
      return &u;
  return nullptr;
}

rc::user* rocketchat_sim::find_user_by_token(std::string_view uid, std::string_view token) {
  auto i = token_owner_.find(std::string(token));
  if (i == token_owner_.end() || i->second != uid)
    return nullptr;
  auto* u = find_user_by_id(uid);
  if (!u || !u->active)
    return nullptr;
  for (auto& t : u->tokens)
    if (t.value == token)
      return (t.personal || clock_.now_ms() < t.when + login_expiration_ms_) ? u : nullptr;
  return nullptr;
}

rc::room* rocketchat_sim::find_room(std::string_view id) {
  auto i = rooms_by_id_.find(std::string(id));
  return i == rooms_by_id_.end() ? nullptr : i->second;
}

rc::room* rocketchat_sim::find_room_by_name(std::string_view name) {
  auto i = rooms_by_name_.find(std::string(name));
  return i == rooms_by_name_.end() ? nullptr : i->second;
}

rc::room* rocketchat_sim::find_room_by_id_or_name(std::string_view id_or_name) {
  if (auto* r = find_room(id_or_name))
    return r;
  return find_room_by_name(id_or_name);
}

rc::message* rocketchat_sim::find_message(std::string_view id) {
  auto i = messages_.find(std::string(id));
  return i == messages_.end() ? nullptr : i->second.get();
}

rc::subscription* rocketchat_sim::find_subscription(std::string_view rid, std::string_view uid) {
  auto i = subscriptions_.find({std::string(rid), std::string(uid)});
  return i == subscriptions_.end() ? nullptr : &i->second;
}

bool rocketchat_sim::is_member(const rc::room& r, std::string_view uid) const {
  return r.member_set.count(std::string(uid)) > 0;
}

bool rocketchat_sim::can_access_room(const rc::room& r, const rc::user& u) const {
  // canAccessRoom: public rooms need only `view-c-room` (every default role has it); others need a subscription.
  return r.type == 'c' || is_member(r, u.id);
}

bool rocketchat_sim::has_permission(const rc::user& u, std::string_view permission, const rc::room* room) const {
  // Default role grants of Rocket.Chat's permission list (apps/meteor/app/authorization/server/constant/permissions.ts).
  static const std::map<std::string_view, std::vector<std::string_view>> grants = {
    {"create-user", {"admin"}},
    {"assign-admin-role", {"admin"}},
    {"edit-other-user-active-status", {"admin"}},
    {"create-c", {"admin", "user", "bot", "app"}},
    {"add-user-to-any-c-room", {"admin"}},
    {"add-user-to-joined-room", {"admin", "owner", "moderator"}},
    {"create-personal-access-tokens", {"admin", "user"}},
  };
  auto it = grants.find(permission);
  if (it == grants.end())
    return false;
  std::vector<std::string> room_roles;
  if (room) {
    auto sub = subscriptions_.find({room->id, u.id});
    if (sub != subscriptions_.end())
      room_roles = sub->second.roles;
  }
  for (auto role : it->second) {
    if (u.has_role(role))
      return true;
    if (std::find(room_roles.begin(), room_roles.end(), role) != room_roles.end())
      return true;
  }
  return false;
}

std::string rocketchat_sim::generate_personal_token(rc::user& u, const std::string& name, bool bypass_two_factor) {
  // Random.secret(): 43 characters; stored as {type: personalAccessToken, createdAt, name, bypassTwoFactor}.
  auto value = ids_.meteor_id(43);
  u.tokens.push_back(rc::token::personal_access(value, clock_.now_ms(), name, bypass_two_factor));
  token_owner_[value] = u.id;
  return value;
}

rc::room& rocketchat_sim::create_channel(const rc::user& owner, const std::string& name,
                                         const std::vector<std::string>& members, bool read_only, bool exclude_self) {
  // createRoom: members are looked up by username (unknown names are skipped), the owner is added unless
  // excludeSelf, and gets the room role `owner`. No system message is posted for the initial members.
  rc::room r;
  r.id = new_id();
  r.type = 'c';
  r.name = name;
  r.fname = name;
  r.owner_id = owner.id;
  r.owner_username = owner.username;
  r.read_only = read_only;
  r.ts = r.updated_at = clock_.now_ms();
  auto& room = add_room(std::move(r));
  std::vector<const rc::user*> joiners;
  if (!exclude_self)
    joiners.push_back(&owner);
  for (auto& m : members)
    if (auto* u = find_user_by_username(m); u && std::find(joiners.begin(), joiners.end(), u) == joiners.end())
      joiners.push_back(u);
  for (auto* u : joiners) {
    auto& sub = subscribe_user(room, *u, true);
    if (u->id == owner.id)
      sub.roles = {"owner"};
  }
  return room;
}

rc::subscription& rocketchat_sim::subscribe_user(rc::room& r, const rc::user& u, bool open) {
  auto now = clock_.now_ms();
  auto [it, inserted] = subscriptions_.try_emplace({r.id, u.id});
  auto& s = it->second;
  if (inserted) {
    s.id = new_id();
    s.rid = r.id;
    s.uid = u.id;
    s.ts = s.updated_at = now;
    s.open = open;
    s.alert = false;
    r.members.push_back(u.id);
    r.member_set.insert(u.id);
    notify_user(u.id, "subscriptions-changed", json::array({"inserted", subscription_json(s, rc::date_style::ejson)}));
    notify_user(u.id, "rooms-changed", json::array({"inserted", room_json(r, rc::date_style::ejson)}));
  }
  return s;
}

void rocketchat_sim::add_user_to_room(rc::room& r, const rc::user& u, bool system_message, const rc::user* inviter) {
  if (is_member(r, u.id))
    return;
  subscribe_user(r, u, true);
  r.updated_at = clock_.now_ms();
  if (!system_message)
    return;
  if (inviter) {
    auto& m = save_system_message(r, "au", *inviter, u.username);
    (void)m;
  } else {
    save_system_message(r, "uj", u, u.username);
  }
}

rc::room& rocketchat_sim::direct_room(const rc::user& a, const rc::user& b) {
  std::vector<const rc::user*> members{&a};
  if (b.id != a.id)
    members.push_back(&b);
  std::vector<std::string> uids;
  for (auto* m : members)
    uids.push_back(m->id);
  std::sort(uids.begin(), uids.end());
  std::string rid;
  for (auto& id : uids)
    rid += id;
  if (auto* existing = find_room(rid))
    return *existing;
  auto sorted = members;
  auto key = [](const rc::user* u) {
    std::string k = u->name.empty() ? u->username : u->name;
    for (auto& c : k)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k;
  };
  std::sort(sorted.begin(), sorted.end(), [&](auto* x, auto* y) { return key(x) < key(y); });
  rc::room r;
  r.id = rid;
  r.type = 'd';
  r.ts = r.updated_at = clock_.now_ms();
  for (auto* m : sorted)
    r.dm_usernames.push_back(m->username);
  r.dm_uids = uids;
  auto& room = add_room(std::move(r));
  // The creator's subscription is open; the other side's opens when the first message arrives.
  for (auto* m : members)
    subscribe_user(room, *m, m->id == a.id);
  return room;
}

// ---------------------------------------------------------------------------------------------------------------

void rocketchat_sim::parse_message_text(rc::message& m) {
  if (m.parse_urls != false) {
    json urls = json::array();
    for (auto& u : extract_urls(m.msg))
      urls.push_back(json{{"url", u}, {"meta", json::object()}});
    m.urls = std::move(urls);
  }
  m.mentions = json::array();
  m.channels = json::array();
  const auto& text = m.msg;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '@' && c != '#')
      continue;
    bool boundary = i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '>';
    if (!boundary)
      continue;
    size_t j = i + 1;
    while (j < text.size() && is_name_char(text[j]))
      ++j;
    if (j == i + 1)
      continue;
    auto name = text.substr(i + 1, j - i - 1);
    if (c == '@') {
      json entry;
      if (name == "all" || name == "here") {
        entry = json{{"_id", name}, {"username", name}};
      } else if (auto* u = find_user_by_username(name)) {
        entry = json{{"_id", u->id}, {"username", u->username}, {"name", u->name}, {"type", "user"}};
      } else {
        continue;
      }
      if (std::find(m.mentions.begin(), m.mentions.end(), entry) == m.mentions.end())
        m.mentions.push_back(entry);
    } else if (auto* r = find_room_by_name(name); r && r->type != 'd') {
      json entry{{"_id", r->id}, {"name", r->name}};
      if (std::find(m.channels.begin(), m.channels.end(), entry) == m.channels.end())
        m.channels.push_back(entry);
    }
    i = j - 1;
  }
  m.md = m.msg.empty() ? json::array() : build_md(m.msg);
}

void rocketchat_sim::touch_room_after_message(rc::room& r, const rc::message& m) {
  r.msgs += 1;
  r.updated_at = m.updated_at;
  if (m.tmid.empty() || m.tshow == true) {
    r.last_message_id = m.id;
    r.lm = m.ts;
  }
  // Other members get an unread count and an alert, as notifyUsersOnMessage does.
  if (m.t.empty() && m.tmid.empty())
    for (auto& uid : r.members)
      if (uid != m.uid)
        if (auto* s = find_subscription(r.id, uid)) {
          s->unread += 1;
          s->alert = true;
          s->open = true;
          s->updated_at = m.updated_at;
        }
}

rc::message& rocketchat_sim::save_system_message(rc::room& r, const std::string& type, const rc::user& u,
                                                 const std::string& msg) {
  auto m = std::make_unique<rc::message>();
  m->id = new_id();
  m->rid = r.id;
  m->t = type;
  m->msg = msg;
  m->ts = m->updated_at = clock_.now_ms();
  m->uid = u.id;
  m->username = u.username;
  m->has_uname = false;
  m->groupable = false;
  m->has_mentions = false;
  auto& ref = *m;
  messages_[ref.id] = std::move(m);
  r.timeline.push_back(&ref);
  touch_room_after_message(r, ref);
  broadcast_message(ref);
  return ref;
}

rc::message* rocketchat_sim::execute_send_message(const rc::user& u, rc::send_input in) {
  if (in.tshow == true && in.tmid.empty())
    throw meteor_error("invalid-params", "tshow provided but missing tmid", json{{"method", "sendMessage"}});
  auto now = clock_.now_ms();
  if (in.ts) {
    auto diff = std::llabs(*in.ts - now);
    if (diff > 60000)
      throw meteor_error("error-message-ts-out-of-sync", "Message timestamp is out of sync",
                         json{{"method", "sendMessage"}, {"message_ts", *in.ts}, {"server_ts", now}});
    if (diff > 10000)
      in.ts = now;
  }
  if (in.msg && static_cast<int64_t>(rc::utf16_length(*in.msg)) > max_message_size_)
    throw meteor_error("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize",
                       json{{"method", "sendMessage"}});
  // No nested threads: a reply to a reply joins the root's thread, in the parent's room.
  if (!in.tmid.empty())
    if (auto* parent = find_message(in.tmid)) {
      if (!parent->tmid.empty())
        in.tmid = parent->tmid;
      in.rid = parent->rid;
    }
  if (in.rid.empty())
    throw plain_error("The 'rid' property on the message object is missing.");
  auto rid = in.rid;
  try {
    auto* room = find_room(rid);
    if (!room)
      throw meteor_error("error-invalid-room", "Invalid room");
    if (!can_access_room(*room, u))
      throw meteor_error("error-not-allowed");
    if (room->read_only && room->owner_id != u.id && !u.has_role("admin"))
      throw meteor_error("error-not-allowed", "You can't send messages because the room is readonly.");
    return store_message(u, *room, std::move(in));
  } catch (const failure& f) {
    ephemeral(u.id, rid, i18n(f));
    throw;
  }
}

rc::message* rocketchat_sim::store_message(const rc::user& u, rc::room& r, rc::send_input in) {
  // validateMessage
  if ((in.alias && !in.alias->empty()) || (in.avatar && !in.avatar->empty()))
    if (!u.has_role("bot") && !u.has_role("app"))
      throw plain_error("Not enough permission");
  if (in.avatar && !in.avatar->empty() && !is_http_url(*in.avatar) && in.avatar->front() != '/')
    throw plain_error("Invalid href value provided");
  if (in.attachments.is_array() && !in.attachments.empty())
    validate_attachments(in.attachments);

  if (!in.id.empty() && find_message(in.id))
    return nullptr; // sendMessage returns early for a duplicate _id

  auto now = clock_.now_ms();
  auto m = std::make_unique<rc::message>();
  m->id = in.id.empty() ? new_id() : in.id;
  m->rid = r.id;
  m->msg = in.msg.value_or("");
  m->tmid = in.tmid;
  m->ts = in.ts.value_or(now);
  m->updated_at = now;
  m->uid = u.id;
  m->username = u.username;
  m->uname = u.name;
  if (in.tshow == true)
    m->tshow = true;
  m->groupable = in.groupable;
  m->parse_urls = in.parse_urls;
  m->alias = in.alias;
  m->emoji = in.emoji;
  m->avatar = in.avatar;
  m->attachments = in.attachments;
  m->blocks = in.blocks;
  m->custom_fields = in.custom_fields;
  m->extra = in.extra;
  parse_message_text(*m);

  auto& msg = *m;
  messages_[msg.id] = std::move(m);
  if (r.timeline.empty() || r.timeline.back()->ts <= msg.ts) {
    r.timeline.push_back(&msg);
  } else {
    auto pos = std::upper_bound(r.timeline.begin(), r.timeline.end(), msg.ts,
                                [](int64_t ts, const rc::message* x) { return ts < x->ts; });
    r.timeline.insert(pos, &msg);
  }
  touch_room_after_message(r, msg);
  if (auto* sub = find_subscription(r.id, u.id)) {
    sub->open = true;
    sub->updated_at = now;
  }
  broadcast_message(msg);

  // Thread hook: the root counts the reply, records the last reply time and the followers, and is re-emitted.
  if (!msg.tmid.empty())
    if (auto* root = find_message(msg.tmid)) {
      std::vector<std::string> add;
      for (auto& mention : msg.mentions)
        if (mention.value("type", "") == "user")
          add.push_back(mention.value("_id", ""));
      if (root->replies.empty())
        add.push_back(root->uid);
      add.push_back(msg.uid);
      for (auto& id : add)
        if (std::find(root->replies.begin(), root->replies.end(), id) == root->replies.end())
          root->replies.push_back(id);
      root->is_thread_root = true;
      root->tcount += 1;
      root->tlm = msg.ts;
      root->updated_at = now;
      auto& replies = thread_replies_[root->id];
      if (replies.empty() || replies.back()->ts <= msg.ts) {
        replies.push_back(&msg);
      } else {
        auto pos = std::upper_bound(replies.begin(), replies.end(), msg.ts,
                                    [](int64_t ts, const rc::message* x) { return ts < x->ts; });
        replies.insert(pos, &msg);
      }
      broadcast_message(*root);
    }
  return &msg;
}

rc::room& rocketchat_sim::resolve_post_target(const rc::user& u, const std::string& target) {
  if (target.empty())
    throw meteor_error("invalid-channel");
  rc::room* room = nullptr;
  auto direct = [&](const std::string& name_or_id, bool by_id_only) -> rc::room* {
    rc::user* other = find_user_by_id(name_or_id);
    if (!other && !by_id_only)
      other = find_user_by_username(name_or_id);
    if (other)
      return &direct_room(u, *other);
    auto* r = find_room(name_or_id);
    return r && r->type == 'd' ? r : nullptr;
  };
  if (target[0] == '#') {
    room = find_room_by_id_or_name(target.substr(1));
    if (!room)
      throw meteor_error("invalid-channel");
    if (room->type == 'c')
      add_user_to_room(*room, u, true, nullptr);
  } else if (target[0] == '@') {
    room = direct(target.substr(1), false);
    if (!room)
      throw meteor_error("invalid-channel");
  } else {
    room = find_room_by_id_or_name(target);
    if (room) {
      if (room->type == 'c')
        add_user_to_room(*room, u, true, nullptr);
    } else {
      room = direct(target, true);
      if (!room)
        throw meteor_error("invalid-channel");
    }
  }
  if (!can_access_room(*room, u))
    throw meteor_error("error-not-allowed");
  return *room;
}

bool rocketchat_sim::can_edit(const rc::user& u, const rc::message& m) const {
  if (u.has_role("admin"))
    return true;
  auto i = rooms_by_id_.find(m.rid);
  if (i != rooms_by_id_.end() && i->second->owner_id == u.id)
    return true;
  return m.uid == u.id;
}

bool rocketchat_sim::can_delete(const rc::user& u, const rc::message& m) const {
  return can_edit(u, m);
}

void rocketchat_sim::update_message(const rc::user& editor, rc::message& m, const json& fields) {
  static const std::set<std::string> allowed = {"tshow", "alias", "attachments", "avatar", "emoji",
                                                "msg", "customFields", "content", "e2eMentions"};
  json current = message_json(m, rc::date_style::ejson);
  for (auto& [key, value] : fields.items()) {
    if (allowed.count(key))
      continue;
    auto cur = current.find(key);
    bool same = cur != current.end() && value.is_primitive() && *cur == value;
    if (!same)
      throw meteor_error("error-invalid-update-key", "Cannot update the message " + key,
                         json{{"method", "updateMessage"}});
  }
  std::string text = m.msg;
  if (m.attachments.is_array() && !m.attachments.empty() && m.attachments[0].is_object() &&
      m.attachments[0].contains("description") && m.attachments[0]["description"].is_string())
    text = m.attachments[0]["description"].get<std::string>();
  auto msg_it = fields.find("msg");
  if (msg_it != fields.end() && msg_it->is_string() && msg_it->get<std::string>() == text &&
      !fields.contains("customFields") && !fields.contains("previewUrls"))
    return; // unchanged text: silent no-op
  if (!can_edit(editor, m))
    throw meteor_error("error-action-not-allowed", "Message editing not allowed",
                       json{{"method", "updateMessage"}, {"action", "Message_editing"}});
  auto* room = find_room(m.rid);
  if (!room)
    throw meteor_error("error-invalid-room", "Invalid room");
  if (!can_access_room(*room, editor))
    throw meteor_error("error-not-allowed");
  if (msg_it != fields.end() && msg_it->is_string()) {
    auto new_text = msg_it->get<std::string>();
    if (static_cast<int64_t>(rc::utf16_length(new_text)) > max_message_size_)
      throw meteor_error("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize",
                         json{{"method", "updateMessage"}});
    m.msg = new_text;
  }
  if (auto a = fields.find("attachments"); a != fields.end()) {
    if (a->is_array() && !a->empty())
      validate_attachments(*a);
    m.attachments = *a;
  }
  if (auto a = fields.find("alias"); a != fields.end() && a->is_string())
    m.alias = a->get<std::string>();
  if (auto a = fields.find("emoji"); a != fields.end() && a->is_string())
    m.emoji = a->get<std::string>();
  if (auto a = fields.find("avatar"); a != fields.end() && a->is_string())
    m.avatar = a->get<std::string>();
  if (auto a = fields.find("tshow"); a != fields.end() && a->is_boolean())
    m.tshow = a->get<bool>() ? std::optional<bool>(true) : std::nullopt;
  if (auto a = fields.find("customFields"); a != fields.end())
    m.custom_fields = *a;
  auto now = clock_.now_ms();
  m.edited_at = now;
  m.edited_by_id = editor.id;
  m.edited_by_username = editor.username;
  m.updated_at = now;
  parse_message_text(m);
  broadcast_message(m);
}

void rocketchat_sim::delete_message(const rc::user& by, rc::message& m) {
  if (!can_delete(by, m))
    throw meteor_error("error-action-not-allowed", "Not allowed");
  auto now = clock_.now_ms();
  auto* room = find_room(m.rid);
  bool is_thread = m.tcount > 0;
  bool show_deleted = show_deleted_status_ || is_thread;
  if (!m.tmid.empty()) {
    if (auto* root = find_message(m.tmid)) {
      root->tcount -= 1;
      root->updated_at = now;
    }
    auto& replies = thread_replies_[m.tmid];
    replies.erase(std::remove(replies.begin(), replies.end(), &m), replies.end());
  }
  std::string id = m.id;
  std::string rid = m.rid;
  if (show_deleted) {
    // Messages.setAsDeletedByIdAndUser: the document stays as an `rm` tombstone and is re-emitted.
    m.msg.clear();
    m.t = "rm";
    m.urls = json::array();
    m.mentions = json::array();
    m.channels = json::array();
    m.attachments = json::array();
    m.reactions.clear();
    m.md = nullptr;
    m.blocks = nullptr;
    m.tshow.reset();
    m.edited_at = now;
    m.edited_by_id = by.id;
    m.edited_by_username = by.username;
    m.updated_at = now;
    broadcast_message(m);
  } else {
    if (room)
      room->timeline.erase(std::remove(room->timeline.begin(), room->timeline.end(), &m), room->timeline.end());
    trash_.push_back(rc::trashed{id, rid, m.tmid, now});
    thread_replies_.erase(id);
    messages_.erase(id);
    if (room)
      broadcast_deleted(*room, id);
  }
  if (room) {
    room->msgs = std::max<int64_t>(0, room->msgs - 1);
    room->updated_at = now;
    if (room->last_message_id == id) {
      room->last_message_id.clear();
      for (auto it = room->timeline.rbegin(); it != room->timeline.rend(); ++it)
        if ((*it)->t.empty() && ((*it)->tmid.empty() || (*it)->tshow == true)) {
          room->last_message_id = (*it)->id;
          break;
        }
    }
  }
}

void rocketchat_sim::set_reaction(const rc::user& u, rc::message& m, std::string emoji,
                                  std::optional<bool> should_react) {
  auto* room = find_room(m.rid);
  if (!room)
    throw meteor_error("error-not-allowed", "Not allowed", json{{"method", "setReaction"}});
  if (!can_access_room(*room, u))
    throw meteor_error("not-authorized", "Not Authorized", json{{"method", "setReaction"}});
  auto key = rc::normalize_emoji(emoji);
  if (!rc::is_known_emoji(key))
    throw meteor_error("error-not-allowed", "Invalid emoji provided.", json{{"method", "setReaction"}});
  auto it = std::find_if(m.reactions.begin(), m.reactions.end(), [&](auto& r) { return r.emoji == key; });
  bool already = it != m.reactions.end() &&
                 std::find(it->usernames.begin(), it->usernames.end(), u.username) != it->usernames.end();
  if (should_react && *should_react == already)
    return;
  if (already) {
    it->usernames.erase(std::find(it->usernames.begin(), it->usernames.end(), u.username));
    if (it->usernames.empty())
      m.reactions.erase(it);
  } else if (it != m.reactions.end()) {
    it->usernames.push_back(u.username);
  } else {
    m.reactions.push_back(rc::reaction{key, {u.username}});
  }
  m.updated_at = clock_.now_ms();
  broadcast_message(m);
}

// ---------------------------------------------------------------------------------------------------------------

json rocketchat_sim::date_value(int64_t ms, rc::date_style style) const {
  if (style == rc::date_style::iso)
    return iso8601_utc(ms);
  return json{{"$date", ms}};
}

json rocketchat_sim::message_json(const rc::message& m, rc::date_style style) const {
  json j = json::object();
  if (m.extra.is_object())
    for (auto& [k, v] : m.extra.items())
      j[k] = v;
  j["_id"] = m.id;
  j["rid"] = m.rid;
  j["msg"] = m.msg;
  j["ts"] = date_value(m.ts, style);
  j["u"] = json{{"_id", m.uid}, {"username", m.username}};
  if (m.has_uname)
    j["u"]["name"] = m.uname;
  j["_updatedAt"] = date_value(m.updated_at, style);
  if (!m.t.empty())
    j["t"] = m.t;
  if (!m.tmid.empty())
    j["tmid"] = m.tmid;
  if (m.tshow)
    j["tshow"] = *m.tshow;
  if (m.groupable)
    j["groupable"] = *m.groupable;
  if (m.parse_urls)
    j["parseUrls"] = *m.parse_urls;
  if (m.alias)
    j["alias"] = *m.alias;
  if (m.emoji)
    j["emoji"] = *m.emoji;
  if (m.avatar)
    j["avatar"] = *m.avatar;
  if (!m.attachments.is_null())
    j["attachments"] = m.attachments;
  if (!m.blocks.is_null())
    j["blocks"] = m.blocks;
  if (!m.custom_fields.is_null())
    j["customFields"] = m.custom_fields;
  if (!m.urls.is_null())
    j["urls"] = m.urls;
  if (m.has_mentions) {
    j["mentions"] = m.mentions;
    j["channels"] = m.channels;
  }
  if (!m.md.is_null())
    j["md"] = m.md;
  if (m.is_thread_root) {
    j["tcount"] = m.tcount;
    j["tlm"] = date_value(m.tlm, style);
    j["replies"] = m.replies;
  }
  if (!m.reactions.empty()) {
    json r = json::object();
    for (auto& x : m.reactions)
      r[x.emoji] = json{{"usernames", x.usernames}};
    j["reactions"] = std::move(r);
  } else if (m.t == "rm") {
    j["reactions"] = json::object();
  }
  if (m.edited_at) {
    j["editedAt"] = date_value(m.edited_at, style);
    j["editedBy"] = json{{"_id", m.edited_by_id}, {"username", m.edited_by_username}};
  }
  return j;
}

json rocketchat_sim::room_json(const rc::room& r, rc::date_style style) const {
  json j = json::object();
  j["_id"] = r.id;
  j["t"] = std::string(1, r.type);
  j["msgs"] = r.msgs;
  j["usersCount"] = r.members.size();
  j["ts"] = date_value(r.ts, style);
  j["_updatedAt"] = date_value(r.updated_at, style);
  if (r.type == 'd') {
    j["usernames"] = r.dm_usernames;
    j["uids"] = r.dm_uids;
  } else {
    j["name"] = r.name;
    j["fname"] = r.fname;
    if (!r.owner_id.empty())
      j["u"] = json{{"_id", r.owner_id}, {"username", r.owner_username}};
    j["ro"] = r.read_only;
    j["default"] = r.is_default;
    j["sysMes"] = true;
    if (!r.topic.empty())
      j["topic"] = r.topic;
  }
  if (r.lm)
    j["lm"] = date_value(r.lm, style);
  if (!r.last_message_id.empty()) {
    auto i = messages_.find(r.last_message_id);
    if (i != messages_.end())
      j["lastMessage"] = message_json(*i->second, style);
  }
  return j;
}

json rocketchat_sim::subscription_json(const rc::subscription& s, rc::date_style style) const {
  json j = json::object();
  auto ri = rooms_by_id_.find(s.rid);
  auto ui = users_by_id_.find(s.uid);
  j["_id"] = s.id;
  j["rid"] = s.rid;
  j["open"] = s.open;
  j["alert"] = s.alert;
  j["unread"] = s.unread;
  j["userMentions"] = 0;
  j["groupMentions"] = 0;
  j["ts"] = date_value(s.ts, style);
  j["_updatedAt"] = date_value(s.updated_at, style);
  if (!s.roles.empty())
    j["roles"] = s.roles;
  if (ui != users_by_id_.end())
    j["u"] = json{{"_id", ui->second->id}, {"username", ui->second->username}};
  if (ri != rooms_by_id_.end()) {
    const auto& r = *ri->second;
    j["t"] = std::string(1, r.type);
    if (r.type == 'd') {
      // A DM subscription is named after the other participant.
      std::string other_id = s.uid;
      for (auto& id : r.dm_uids)
        if (id != s.uid)
          other_id = id;
      auto oi = users_by_id_.find(other_id);
      if (oi != users_by_id_.end()) {
        j["name"] = oi->second->username;
        j["fname"] = oi->second->name;
      }
    } else {
      j["name"] = r.name;
      j["fname"] = r.fname;
    }
  }
  return j;
}

json rocketchat_sim::user_json(const rc::user& u, bool full) const {
  bool online = false;
  for (auto& [id, s] : sessions_)
    if (s.uid == u.id)
      online = true;
  json j{{"_id", u.id},
         {"username", u.username},
         {"name", u.name},
         {"status", online ? "online" : "offline"},
         {"active", u.active},
         {"type", u.has_role("bot") ? "bot" : "user"},
         {"utcOffset", u.utc_offset}};
  if (full) {
    j["roles"] = u.roles;
    j["emails"] = json::array({json{{"address", u.email}, {"verified", u.email_verified}}});
    j["createdAt"] = iso8601_utc(u.created_at);
    if (u.last_login)
      j["lastLogin"] = iso8601_utc(u.last_login);
    j["statusConnection"] = online ? "online" : "offline";
  }
  return j;
}

json rocketchat_sim::me_json(const rc::user& u) const {
  json j = user_json(u, true);
  j["settings"] = json{{"preferences", json::object()}};
  j["avatarUrl"] = site_url_ + "/avatar/" + u.username;
  return j;
}

} // namespace dutydesk::sim
