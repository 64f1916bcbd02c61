#include "io/rocketchat_rest.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

namespace dutydesk::io {

using nlohmann::json;

const char* to_string(api_errc e) {
  switch (e) {
    case api_errc::transport:
      return "transport";
    case api_errc::rate_limited:
      return "rate_limited";
    case api_errc::auth:
      return "auth";
    case api_errc::forbidden:
      return "forbidden";
    case api_errc::not_found:
      return "not_found";
    case api_errc::server:
      return "server";
    case api_errc::rejected:
      return "rejected";
    case api_errc::parse:
      return "parse";
    case api_errc::empty_rota:
      return "empty_rota";
  }
  return "?";
}

std::string describe(const api_error& e) {
  std::string result = to_string(e.code);
  if (e.status != 0)
    result += " (HTTP " + std::to_string(e.status) + ")";
  if (!e.error.empty())
    result += ": " + e.error;
  return result;
}

bool classify_http_failure(const http_result& r, api_error& out) {
  out.attempts = r.attempts;
  if (!r.ok()) {
    out.code = api_errc::transport;
    out.failure = r.failure;
    out.error = std::string(to_string(r.failure)) + (r.error_text.empty() ? "" : ": " + r.error_text);
    return true;
  }
  auto s = r.response.status;
  out.status = s;
  if (s >= 200 && s < 300)
    return false;
  if (s == 429)
    out.code = api_errc::rate_limited;
  else if (s == 401)
    out.code = api_errc::auth;
  else if (s == 403)
    out.code = api_errc::forbidden;
  else if (s == 404)
    out.code = api_errc::not_found;
  else if (s >= 500)
    out.code = api_errc::server;
  else
    out.code = api_errc::rejected;
  if ((s == 429 || s == 503) && (r.response.header("retry-after") || r.response.header("x-ratelimit-reset")))
    out.retry_after = rate_limit_wait(retry_policy{}, r.response);
  return true;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string attachments_json(const std::vector<rc_attachment>& attachments) {
  json arr = json::array();
  for (const auto& a : attachments) {
    json j = json::object();
    if (!a.text.empty())
      j["text"] = a.text;
    if (!a.color.empty())
      j["color"] = a.color;
    if (!a.title.empty())
      j["title"] = a.title;
    if (!a.buttons.empty()) {
      json actions = json::array();
      for (const auto& b : a.buttons) {
        json x{{"type", "button"}, {"text", b.text}};
        if (!b.url.empty()) {
          x["url"] = b.url;
        } else {
          x["msg"] = b.msg;
          x["msg_in_chat_window"] = true;
          x["msg_processing_type"] = b.processing;
        }
        actions.push_back(std::move(x));
      }
      j["actions"] = std::move(actions);
    }
    arr.push_back(std::move(j));
  }
  return arr.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

json attachments_value(const std::vector<rc_attachment>& attachments) {
  return json::parse(attachments_json(attachments), nullptr, false);
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

template <class T>
api_error parse_error_of(const domain::parsed<T>& p, unsigned attempts) {
  api_error e;
  e.code = api_errc::parse;
  e.status = 200;
  e.error = p.error();
  e.attempts = attempts;
  return e;
}

} // namespace

rocketchat_rest::rocketchat_rest(http_client& http, std::string base_url, rc_credentials creds,
                                 std::chrono::milliseconds timeout)
    : http_(http), base_(std::move(base_url)), creds_(std::move(creds)), timeout_(timeout) {
  while (!base_.empty() && base_.back() == '/')
    base_.pop_back();
}

http_request rocketchat_rest::make(http_method m, std::string path_and_query, std::string body) const {
  http_request r;
  r.system = "rocketchat";
  r.method = m;
  r.url = base_ + "/api/v1/" + path_and_query;
  r.headers = {{"X-User-Id", creds_.user_id}, {"X-Auth-Token", creds_.auth_token}};
  r.body = std::move(body);
  r.timeout = timeout_;
  return r;
}

template <class T, class Parse>
void rocketchat_rest::call(http_request req, Parse parse, callback<T> cb) {
  http_.request(std::move(req), [parse = std::move(parse), cb = std::move(cb)](http_result r) {
    api_error e;
    if (classify_http_failure(r, e)) {
      if (r.ok())
        if (auto body = parse_rc_error(r.response.body); body.ok()) {
          e.error = body->error.empty() ? body->message : body->error;
          e.error_type = body->error_type;
        }
      return cb(api_result<T>(std::move(e)));
    }
    if (!rc_success(r.response.body)) {
      e.code = api_errc::rejected;
      if (auto body = parse_rc_error(r.response.body); body.ok()) {
        e.error = body->error;
        e.error_type = body->error_type;
      } else {
        e.code = api_errc::parse;
        e.error = body.error();
      }
      return cb(api_result<T>(std::move(e)));
    }
    auto parsed = parse(r.response.body);
    if (!parsed.ok())
      return cb(api_result<T>(parse_error_of(parsed, r.attempts)));
    cb(api_result<T>(T(parsed.value())));
  });
}

void rocketchat_rest::me(callback<rc_user> cb) {
  call<rc_user>(make(http_method::get, "me"), parse_rc_me, std::move(cb));
}

void rocketchat_rest::post_message(const post_message_args& a, callback<chat_message> cb) {
  json body{{"roomId", a.room_id}, {"text", a.text}};
  if (!a.tmid.empty())
    body["tmid"] = a.tmid;
  if (!a.emoji.empty())
    body["emoji"] = a.emoji;
  if (!a.attachments.empty())
    body["attachments"] = attachments_value(a.attachments);
  call<chat_message>(make(http_method::post, "chat.postMessage", dump(body)), parse_rc_message_response,
                     std::move(cb));
}

void rocketchat_rest::send_message(const send_message_args& a, callback<chat_message> cb) {
  json m{{"rid", a.rid}, {"msg", a.msg}};
  if (!a.id.empty())
    m["_id"] = a.id;
  if (!a.tmid.empty())
    m["tmid"] = a.tmid;
  if (a.tshow)
    m["tshow"] = true;
  if (!a.attachments.empty())
    m["attachments"] = attachments_value(a.attachments);
  auto req = make(http_method::post, "chat.sendMessage", dump(json{{"message", m}}));
  req.retry_safe = !a.id.empty();
  // A repeat of a stored _id answers {"success":true} without a message: fetch the stored one.
  auto parse = [](std::string_view body) -> domain::parsed<chat_message> {
    auto p = parse_rc_message_response(body);
    if (!p.ok() && p.error() == "missing field message")
      return domain::parse_error{"duplicate"};
    return p;
  };
  call<chat_message>(std::move(req), parse, [this, id = a.id, cb = std::move(cb)](api_result<chat_message> r) {
    if (!r.ok() && r.error().code == api_errc::parse && r.error().error == "duplicate" && !id.empty())
      return get_message(id, cb);
    cb(std::move(r));
  });
}

void rocketchat_rest::update_message(const std::string& room_id, const std::string& msg_id, const std::string& text,
                                     callback<chat_message> cb) {
  json body{{"roomId", room_id}, {"msgId", msg_id}, {"text", text}};
  auto req = make(http_method::post, "chat.update", dump(body));
  req.retry_safe = true; // it sets the text: a repeat changes nothing
  call<chat_message>(std::move(req), parse_rc_message_response, std::move(cb));
}

void rocketchat_rest::react(const std::string& msg_id, const std::string& emoji, std::optional<bool> should_react,
                            callback<std::monostate> cb) {
  json body{{"messageId", msg_id}, {"emoji", emoji}};
  if (should_react)
    body["shouldReact"] = *should_react;
  auto parse = [](std::string_view) -> domain::parsed<std::monostate> { return std::monostate{}; };
  auto req = make(http_method::post, "chat.react", dump(body));
  // With shouldReact the call sets a state rather than toggling it, so repeating it changes nothing.
  req.retry_safe = should_react.has_value();
  call<std::monostate>(std::move(req), parse, std::move(cb));
}

void rocketchat_rest::get_message(const std::string& msg_id, callback<chat_message> cb) {
  call<chat_message>(make(http_method::get, "chat.getMessage?msgId=" + url_encode(msg_id)),
                     parse_rc_message_response, [cb = std::move(cb)](api_result<chat_message> r) {
                       // An unknown id is RC's bare API.v1.failure(): {"success":false}.
                       if (!r.ok() && r.error().code == api_errc::rejected && r.error().error.empty() &&
                           r.error().error_type.empty()) {
                         auto e = r.error();
                         e.code = api_errc::not_found;
                         return cb(api_result<chat_message>(std::move(e)));
                       }
                       cb(std::move(r));
                     });
}

void rocketchat_rest::sync_messages(const std::string& room_id, std::int64_t last_update_ms,
                                    callback<sync_result> cb) {
  call<sync_result>(make(http_method::get, "chat.syncMessages?roomId=" + url_encode(room_id) +
                                               "&lastUpdate=" + url_encode(format_iso8601_ms(last_update_ms))),
                    parse_rc_sync_messages, std::move(cb));
}

void rocketchat_rest::channels_history(const std::string& room_id, std::optional<std::int64_t> oldest_ms, int count,
                                       callback<std::vector<chat_message>> cb) {
  std::string q = "channels.history?roomId=" + url_encode(room_id) + "&count=" + std::to_string(count);
  if (oldest_ms)
    q += "&oldest=" + url_encode(format_iso8601_ms(*oldest_ms));
  call<std::vector<chat_message>>(make(http_method::get, q), parse_rc_history, std::move(cb));
}

void rocketchat_rest::room_info(const std::string& room_id, callback<rc_room> cb) {
  call<rc_room>(make(http_method::get, "rooms.info?roomId=" + url_encode(room_id)), parse_rc_room, std::move(cb));
}

void rocketchat_rest::im_create(const std::string& username, callback<rc_room> cb) {
  auto req = make(http_method::post, "im.create", dump(json{{"username", username}}));
  req.retry_safe = true; // idempotent: the same room comes back
  call<rc_room>(std::move(req), parse_rc_room, std::move(cb));
}

void rocketchat_rest::user_info(const std::string& username, callback<rc_user> cb) {
  call<rc_user>(make(http_method::get, "users.info?username=" + url_encode(username)), parse_rc_user_info,
                std::move(cb));
}

void rocketchat_rest::users_by_email(const std::string& email, callback<rc_user_page> cb) {
  call<rc_user_page>(make(http_method::get, "users.list?email=" + url_encode(email)), parse_rc_users_list,
                     std::move(cb));
}

} // namespace dutydesk::io
