// Rocket.Chat simulator: REST `/api/v1/...` (reference §1 and §4; RC apps/meteor/app/api/server/ApiClass.ts and
// v1/*.ts). Request order as in ApiClass: authentication (401), rate limiter (429, X-RateLimit-* headers), AJV
// validation of body/query with additionalProperties:false (400 invalid-params), then the route.

#include "sim/rocketchat.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace dutydesk::sim {

namespace {

using rc::failure;
using rc::meteor_error;
using rc::plain_error;

// ---- a small AJV-alike: the messages RC joins with "\n " into `<messages> [invalid-params]` ----

enum class ty { string, nonempty_string, boolean, number, array, object, string_or_array, bool_string };

struct prop {
  const char* name;
  ty type;
};

struct variant {
  std::vector<prop> props;
  std::vector<const char*> required;
};

enum class combine { single, one_of, any_of };

struct schema {
  combine mode = combine::single;
  std::vector<variant> variants;
};

// Validates one object variant; the first error (AJV without allErrors), or nullopt.
std::optional<std::string> check_variant(const json& j, const variant& v) {
  if (!j.is_object())
    return "must be object";
  for (auto* r : v.required)
    if (!j.contains(r))
      return std::string("must have required property '") + r + "'";
  for (auto& [k, val] : j.items())
    if (std::none_of(v.props.begin(), v.props.end(), [&](const prop& p) { return k == p.name; }))
      return std::string("must NOT have additional properties");
  for (auto& p : v.props) {
    auto it = j.find(p.name);
    if (it == j.end() || it->is_null())
      continue;
    const json& x = *it;
    switch (p.type) {
      case ty::string:
        if (!x.is_string())
          return "must be string";
        break;
      case ty::nonempty_string:
        if (!x.is_string())
          return "must be string";
        if (x.get<std::string>().empty())
          return "must NOT have fewer than 1 characters";
        break;
      case ty::boolean:
        if (!x.is_boolean())
          return "must be boolean";
        break;
      case ty::number:
        if (!x.is_number())
          return "must be number";
        break;
      case ty::array:
        if (!x.is_array())
          return "must be array";
        break;
      case ty::object:
        if (!x.is_object())
          return "must be object";
        break;
      case ty::string_or_array:
        if (!x.is_string() && !x.is_array())
          return "must be string\n must be array\n must match exactly one schema in oneOf";
        break;
      case ty::bool_string:
        if (!x.is_string() || (x != "true" && x != "false"))
          return "must be equal to one of the allowed values";
        break;
    }
  }
  return std::nullopt;
}

std::optional<std::string> validate(const json& j, const schema& s) {
  if (s.mode == combine::single)
    return check_variant(j, s.variants.front());
  std::vector<std::string> errors;
  int matches = 0;
  for (auto& v : s.variants) {
    if (auto e = check_variant(j, v))
      errors.push_back(*e);
    else
      ++matches;
  }
  if (s.mode == combine::any_of) {
    if (matches > 0)
      return std::nullopt;
    errors.push_back("must match a schema in anyOf");
  } else {
    if (matches == 1)
      return std::nullopt;
    if (matches > 1)
      errors.clear();
    errors.push_back("must match exactly one schema in oneOf");
  }
  std::string out;
  for (size_t i = 0; i < errors.size(); ++i)
    out += (i ? "\n " : "") + errors[i];
  return out;
}

// Query parameters as AJV sees them with coerceTypes: numbers parsed, everything else a string.
json query_json(const http_request& req, const schema& s) {
  json j = json::object();
  for (auto& [k, v] : req.query) {
    bool numeric = false;
    for (auto& var : s.variants)
      for (auto& p : var.props)
        if (k == p.name && p.type == ty::number)
          numeric = true;
    if (numeric) {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (!v.empty() && end && *end == '\0')
        j[k] = d;
      else
        j[k] = v; // leaves "must be number"
    } else {
      j[k] = v;
    }
  }
  return j;
}

http_response rest_json(int status, json body) {
  return json_response(status, body);
}

http_response success(json body = json::object()) {
  body["success"] = true;
  return rest_json(200, std::move(body));
}

http_response failure_response(const failure& f) {
  json body{{"success", false}};
  if (f.meteor) {
    body["error"] = rc::meteor_message(f);
    body["errorType"] = f.error;
    if (!f.details.is_null())
      body["details"] = f.details;
  } else if (!f.error.empty()) {
    body["error"] = f.error;
  }
  return rest_json(f.http_status, body);
}

http_response invalid_params(const std::string& messages) {
  return rest_json(400, json{{"success", false}, {"error", messages + " [invalid-params]"}, {"errorType", "invalid-params"}});
}

http_response unauthorized(const std::string& message) {
  return rest_json(401, json{{"success", false}, {"error", message}, {"status", "error"}, {"message", message}});
}

// API.v1.failure(text): 400 with only `error`.
failure api_failure(std::string text) {
  return plain_error(std::move(text));
}

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string js_trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && ws(s.back()))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && ws(s[i]))
    ++i;
  return s.substr(i);
}

struct pagination {
  int64_t offset = 0;
  int64_t count = 50;
};

// getPaginationItems: API_Default_Count 50, API_Upper_Count_Limit 100.
pagination paginate(const http_request& req, int64_t default_count = 50) {
  pagination p;
  p.count = default_count;
  if (auto o = req.param("offset"))
    p.offset = std::max<int64_t>(0, std::atoll(o->c_str()));
  if (auto c = req.param("count")) {
    auto n = std::atoll(c->c_str());
    if (n > 0)
      p.count = std::min<int64_t>(n, 100);
  }
  return p;
}

std::string remote_ip(const http_request& req) {
  auto fwd = req.header("x-forwarded-for");
  if (!fwd.empty())
    return js_trim(fwd.substr(0, fwd.find(',')));
  auto r = req.remote;
  auto colon = r.rfind(':');
  if (colon != std::string::npos && r.find(']') == std::string::npos && r.find(':') == colon)
    r = r.substr(0, colon);
  return r;
}

} // namespace

http_response rocketchat_sim::handle(const http_request& req) {
  static const std::string prefix = "/api/v1/";
  if (req.path.rfind(prefix, 0) != 0)
    return rest_json(404, json{{"success", false}, {"error", "Resource not found"}});
  auto route = req.path.substr(prefix.size());
  rc::user* caller = nullptr;
  auto uid = req.header("x-user-id");
  auto token = req.header("x-auth-token");
  if (!uid.empty() && !token.empty())
    caller = find_user_by_token(uid, token);
  try {
    return rest_route(req, route, caller);
  } catch (const failure& f) {
    return failure_response(f);
  } catch (const json::exception&) {
    return rest_json(400, json{{"success", false}, {"error", "Match error: Failed Match.Where validation"}});
  }
}

http_response rocketchat_sim::rest_route(const http_request& req, const std::string& route, rc::user* caller) {
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  static const std::set<std::string> public_routes = {"login"};
  static const std::set<std::string> get_routes = {
    "me", "chat.getMessage", "chat.getThreadMessages", "chat.syncMessages", "channels.history", "groups.history",
    "im.history", "dm.history", "channels.info", "groups.info", "rooms.info", "users.info", "users.list",
    "subscriptions.get"};
  static const std::set<std::string> post_routes = {
    "login", "logout", "chat.postMessage", "chat.sendMessage", "chat.update", "chat.delete", "chat.react",
    "im.create", "dm.create", "channels.join", "channels.create", "channels.invite", "users.create",
    "users.generatePersonalAccessToken", "users.regeneratePersonalAccessToken"};
  bool known = (get && get_routes.count(route)) || (post && post_routes.count(route));
  if (!known)
    return rest_json(404, json{{"success", false}, {"error", "Resource not found"}});
  if (!public_routes.count(route) && !caller)
    return unauthorized("You must be logged in to do this.");

  // Rate limiter: one Meteor rule per route+method, counters per client IP (or per user, see the seed setting).
  std::vector<std::pair<std::string, std::string>> rl_headers;
  if (rate_limiter_enabled_ && !(caller && caller->bypasses_rate_limit())) {
    auto now = clock_.now_ms();
    auto rule_key = "/api/v1/" + route + (get ? "get" : "post");
    auto [it, inserted] = rate_rules_.try_emplace(rule_key);
    auto& rule = it->second;
    if (inserted)
      rule.last_reset = now;
    if (now - rule.last_reset > rate_limit_window_ms_) {
      rule.counters.clear();
      rule.last_reset = now;
    }
    auto key = rate_limit_by_user_ && caller ? caller->id : remote_ip(req);
    auto n = ++rule.counters[key];
    auto time_to_reset = rate_limit_window_ms_ - (now - rule.last_reset);
    bool allowed = n <= rate_limit_calls_;
    auto left = allowed ? rate_limit_calls_ - n : 0;
    rl_headers = {{"X-RateLimit-Limit", std::to_string(rate_limit_calls_)},
                  {"X-RateLimit-Remaining", std::to_string(left)},
                  {"X-RateLimit-Reset", std::to_string(now + time_to_reset)}};
    if (!allowed) {
      auto seconds = static_cast<int64_t>(std::ceil(static_cast<double>(time_to_reset) / 1000.0));
      auto r = rest_json(429, json{{"success", false},
                                   {"error", "Error, too many requests. Please slow down. You must wait " +
                                                 std::to_string(seconds) +
                                                 " seconds before trying this endpoint again. [error-too-many-requests]"}});
      r.headers = rl_headers;
      return r;
    }
  }
  auto with_headers = [&](http_response r) {
    for (auto& h : rl_headers)
      r.headers.push_back(h);
    return r;
  };

  json body = json::object();
  if (post) {
    if (!req.body.empty()) {
      auto parsed = parse_json(req.body);
      if (!parsed)
        return with_headers(invalid_params("must be object"));
      body = std::move(*parsed);
    }
  }
  auto check_body = [&](const schema& s) -> std::optional<http_response> {
    if (auto e = validate(body, s))
      return with_headers(invalid_params(*e));
    return std::nullopt;
  };
  auto check_query = [&](const schema& s) -> std::optional<http_response> {
    if (auto e = validate(query_json(req, s), s))
      return with_headers(invalid_params(*e));
    return std::nullopt;
  };
  auto ok = [&](json b = json::object()) { return with_headers(success(std::move(b))); };
  auto str = [&](const json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };

  try {
    // ---------------- authentication ----------------
    if (route == "login") {
      rc::user* u = nullptr;
      std::string token;
      if (body.contains("resume") && body["resume"].is_string()) {
        token = body["resume"].get<std::string>();
        auto owner = token_owner_.find(token);
        if (owner != token_owner_.end())
          u = find_user_by_token(owner->second, token);
      } else if (body.contains("password")) {
        std::string who = str(body, "user");
        if (!who.empty())
          u = who.find('@') != std::string::npos ? find_user_by_email(who) : find_user_by_username(who);
        else if (!str(body, "username").empty())
          u = find_user_by_username(str(body, "username"));
        else if (!str(body, "email").empty())
          u = find_user_by_email(str(body, "email"));
        auto pw = body["password"];
        bool good = false;
        if (u && u->active && !u->password.empty()) {
          if (pw.is_string())
            good = pw.get<std::string>() == u->password;
          else if (pw.is_object() && pw.contains("hashed") && pw["hashed"].is_string())
            good = pw["hashed"].get<std::string>() == rc::sha256_hex(u->password);
        }
        if (!good)
          u = nullptr;
        if (u) {
          token = ids_.meteor_id(43);
          u->tokens.push_back(rc::token::login(token, clock_.now_ms()));
          token_owner_[token] = u->id;
        }
      }
      if (!u)
        return with_headers(unauthorized("Unauthorized"));
      u->last_login = clock_.now_ms();
      return ok(json{{"status", "success"}, {"data", {{"userId", u->id}, {"authToken", token}, {"me", me_json(*u)}}}});
    }
    if (route == "logout") {
      auto tok = req.header("x-auth-token");
      caller->tokens.erase(std::remove_if(caller->tokens.begin(), caller->tokens.end(),
                                          [&](const rc::token& t) { return t.value == tok; }),
                           caller->tokens.end());
      token_owner_.erase(tok);
      return ok(json{{"status", "success"}, {"data", {{"message", "You've been logged out!"}}}});
    }
    if (route == "me")
      return ok(me_json(*caller));

    // ---------------- chat ----------------
    if (route == "chat.postMessage") {
      static const schema s{combine::one_of,
                            {{{{"roomId", ty::string_or_array}, {"text", ty::string}, {"alias", ty::string},
                               {"emoji", ty::string}, {"avatar", ty::string}, {"attachments", ty::array},
                               {"tmid", ty::string}, {"customFields", ty::object}, {"parseUrls", ty::boolean}},
                              {"roomId"}},
                             {{{"channel", ty::string_or_array}, {"text", ty::string}, {"alias", ty::string},
                               {"emoji", ty::string}, {"avatar", ty::string}, {"attachments", ty::array},
                               {"customFields", ty::object}, {"parseUrls", ty::boolean}},
                              {"channel"}}}};
      if (auto e = check_body(s))
        return *e;
      auto text = str(body, "text");
      if (static_cast<int64_t>(rc::utf16_length(text)) > max_message_size_)
        throw api_failure("error-message-size-exceeded");
      json attachments = body.value("attachments", json());
      if (attachments.is_array())
        for (auto& a : attachments) {
          if (a.is_object() && a.contains("text") && a["text"].is_string() &&
              static_cast<int64_t>(rc::utf16_length(a["text"].get<std::string>())) > max_message_size_)
            throw api_failure("error-message-size-exceeded");
          if (a.is_object() && a.contains("msg") && a["msg"].is_string() && !a["msg"].get<std::string>().empty()) {
            a["text"] = js_trim(a["msg"].get<std::string>());
            a.erase("msg");
          }
        }
      json target = body.contains("channel") ? body["channel"] : body["roomId"];
      std::vector<std::string> targets;
      for (auto& t : target.is_array() ? target : json::array({target}))
        if (t.is_string() && std::find(targets.begin(), targets.end(), t.get<std::string>()) == targets.end())
          targets.push_back(t.get<std::string>());
      json first_message;
      std::string first_channel;
      for (auto& t : targets) {
        auto& room = resolve_post_target(*caller, t);
        rc::send_input in;
        in.rid = room.id;
        in.alias = str(body, "alias");
        in.msg = js_trim(text);
        in.attachments = attachments.is_array() ? attachments : json::array();
        in.parse_urls = body.contains("parseUrls") && body["parseUrls"].is_boolean() ? body["parseUrls"].get<bool>()
                                                                                      : !attachments.is_array();
        in.groupable = false;
        in.tmid = str(body, "tmid");
        if (body.contains("customFields") && body["customFields"].is_object())
          in.custom_fields = body["customFields"];
        if (!str(body, "avatar").empty())
          in.avatar = str(body, "avatar");
        else if (!str(body, "emoji").empty())
          in.emoji = str(body, "emoji");
        auto* m = store_message(*caller, room, std::move(in));
        if (m && first_message.is_null()) {
          first_message = message_json(*m, rc::date_style::iso);
          first_channel = t;
        }
      }
      if (first_message.is_null())
        throw api_failure("unknown-error");
      return ok(json{{"ts", clock_.now_ms()}, {"channel", first_channel}, {"message", first_message}});
    }
    if (route == "chat.sendMessage") {
      static const schema s{combine::single, {{{{"message", ty::object}, {"previewUrls", ty::array}}, {"message"}}}};
      if (auto e = check_body(s))
        return *e;
      static const variant inner{{{"_id", ty::string}, {"rid", ty::string}, {"tmid", ty::string}, {"msg", ty::string},
                                  {"alias", ty::string}, {"emoji", ty::string}, {"tshow", ty::boolean},
                                  {"avatar", ty::string}, {"attachments", ty::array}, {"blocks", ty::array},
                                  {"customFields", ty::object}},
                                 {}};
      const json& m = body["message"];
      // Only property types are checked inside `message` (no additionalProperties there).
      json typed = json::object();
      for (auto& p : inner.props)
        if (m.contains(p.name))
          typed[p.name] = m[p.name];
      if (auto e = check_variant(typed, inner))
        return with_headers(invalid_params(*e));
      if (m.contains("t") && m["t"].is_string() && m["t"] != "e2e")
        throw plain_error("Cannot send system messages using 'chat.sendMessage'");
      rc::send_input in;
      json extra = json::object();
      for (auto& [k, v] : m.items()) {
        if (v.is_null())
          continue;
        if (k == "_id")
          in.id = v.get<std::string>();
        else if (k == "rid")
          in.rid = v.get<std::string>();
        else if (k == "msg")
          in.msg = v.get<std::string>();
        else if (k == "tmid")
          in.tmid = v.get<std::string>();
        else if (k == "tshow")
          in.tshow = v.get<bool>();
        else if (k == "alias")
          in.alias = v.get<std::string>();
        else if (k == "emoji")
          in.emoji = v.get<std::string>();
        else if (k == "avatar")
          in.avatar = v.get<std::string>();
        else if (k == "attachments")
          in.attachments = v;
        else if (k == "blocks")
          in.blocks = v;
        else if (k == "customFields")
          in.custom_fields = v;
        else if (k == "ts" || k == "u" || k == "_updatedAt")
          continue; // the server owns these
        else
          extra[k] = v;
      }
      if (!extra.empty())
        in.extra = extra;
      auto* msg = execute_send_message(*caller, std::move(in));
      if (!msg)
        return ok(); // duplicate _id: sendMessage returns undefined, so `message` is absent
      return ok(json{{"message", message_json(*msg, rc::date_style::iso)}});
    }
    if (route == "chat.update") {
      static const schema s{combine::one_of,
                            {{{{"roomId", ty::string}, {"msgId", ty::string}, {"text", ty::string},
                               {"previewUrls", ty::array}, {"customFields", ty::object}},
                              {"roomId", "msgId", "text"}},
                             {{{"roomId", ty::string}, {"msgId", ty::string}, {"content", ty::object},
                               {"e2eMentions", ty::object}},
                              {"roomId", "msgId", "content"}}}};
      if (auto e = check_body(s))
        return *e;
      auto msg_id = str(body, "msgId");
      auto* m = find_message(msg_id);
      if (!m)
        throw api_failure("No message found with the id of \"" + msg_id + "\".");
      if (str(body, "roomId") != m->rid)
        throw api_failure("The room id provided does not match where the message is from.");
      if (body.contains("content") && m->t != "e2e")
        throw api_failure("Only encrypted messages can have content updated.");
      json fields{{"_id", m->id}, {"rid", m->rid}, {"msg", str(body, "text")}};
      if (body.contains("customFields") && body["customFields"].is_object())
        fields["customFields"] = body["customFields"];
      if (body.contains("previewUrls"))
        fields["previewUrls"] = body["previewUrls"];
      update_message(*caller, *m, fields);
      return ok(json{{"message", message_json(*m, rc::date_style::iso)}});
    }
    if (route == "chat.delete") {
      static const schema s{combine::single,
                            {{{{"msgId", ty::string}, {"roomId", ty::string}, {"fileId", ty::string}, {"asUser", ty::boolean}},
                              {}}}};
      if (auto e = check_body(s))
        return *e;
      if (!(body.contains("msgId") && body.contains("roomId")) && !body.contains("fileId"))
        return with_headers(invalid_params("must have required property 'msgId'\n must have required property "
                                           "'fileId'\n must match a schema in anyOf"));
      auto msg_id = str(body, "msgId");
      auto* m = find_message(msg_id);
      if (!m)
        throw api_failure("No message found with the id of \"" + msg_id + "\".");
      if (str(body, "roomId") != m->rid)
        throw api_failure("The room id provided does not match where the message is from.");
      bool as_user = body.value("asUser", json(false)).is_boolean() && body.value("asUser", json(false)).get<bool>();
      if (as_user && m->uid != caller->id && !caller->has_role("admin"))
        throw api_failure("Unauthorized. You must have the permission \"force-delete-message\" to delete other's "
                          "message as them.");
      rc::user* actor = as_user ? find_user_by_id(m->uid) : caller;
      if (!actor)
        throw api_failure("User not found");
      json projection{{"_id", m->id}, {"rid", m->rid}, {"u", {{"_id", m->uid}, {"username", m->username}, {"name", m->uname}}}};
      if (!can_delete(*actor, *m) && !(as_user && caller->has_role("admin")))
        throw meteor_error("error-action-not-allowed", "Not allowed");
      delete_message(as_user && caller->has_role("admin") ? *caller : *actor, *m);
      return ok(json{{"_id", projection["_id"]}, {"ts", std::to_string(clock_.now_ms())}, {"message", projection}});
    }
    if (route == "chat.react") {
      static const schema s{combine::one_of,
                            {{{{"emoji", ty::string}, {"messageId", ty::nonempty_string}, {"shouldReact", ty::boolean}},
                              {"emoji", "messageId"}},
                             {{{"reaction", ty::string}, {"messageId", ty::nonempty_string}, {"shouldReact", ty::boolean}},
                              {"reaction", "messageId"}}}};
      if (auto e = check_body(s))
        return *e;
      auto* m = find_message(str(body, "messageId"));
      if (!m)
        throw meteor_error("error-message-not-found", "The provided \"messageId\" does not match any existing message.");
      auto emoji = body.contains("emoji") ? str(body, "emoji") : str(body, "reaction");
      if (emoji.empty())
        throw meteor_error("error-emoji-param-not-provided", "The required \"emoji\" param is missing.");
      std::optional<bool> should;
      if (body.contains("shouldReact") && body["shouldReact"].is_boolean())
        should = body["shouldReact"].get<bool>();
      set_reaction(*caller, *m, emoji, should);
      return ok();
    }
    if (route == "chat.getMessage") {
      static const schema s{combine::single, {{{{"msgId", ty::nonempty_string}}, {"msgId"}}}};
      if (auto e = check_query(s))
        return *e;
      auto* m = find_message(*req.param("msgId"));
      if (!m)
        throw api_failure("");
      auto* room = find_room(m->rid);
      if (!room || !can_access_room(*room, *caller))
        throw meteor_error("error-action-not-allowed", "Not allowed");
      return ok(json{{"message", message_json(*m, rc::date_style::iso)}});
    }
    if (route == "chat.getThreadMessages") {
      static const schema s{combine::single,
                            {{{{"tmid", ty::nonempty_string}, {"aroundId", ty::nonempty_string}, {"count", ty::number},
                               {"offset", ty::number}, {"sort", ty::string}},
                              {"tmid"}}}};
      if (auto e = check_query(s))
        return *e;
      auto tmid = *req.param("tmid");
      auto* root = find_message(tmid);
      if (!root)
        throw meteor_error("error-invalid-message", "Invalid Message");
      auto* room = find_room(root->rid);
      if (!room || !can_access_room(*room, *caller))
        throw meteor_error("error-not-allowed", "Not Allowed");
      auto p = paginate(req);
      json out = json::array();
      auto it = thread_replies_.find(tmid);
      int64_t total = it == thread_replies_.end() ? 0 : static_cast<int64_t>(it->second.size());
      for (int64_t i = p.offset; i < total && static_cast<int64_t>(out.size()) < p.count; ++i)
        out.push_back(message_json(*it->second[static_cast<size_t>(i)], rc::date_style::iso));
      auto n = out.size();
      return ok(json{{"messages", std::move(out)}, {"count", n}, {"offset", p.offset}, {"total", total}});
    }
    if (route == "chat.syncMessages") {
      static const schema s{combine::single,
                            {{{{"roomId", ty::string}, {"lastUpdate", ty::string}, {"fromTs", ty::string},
                               {"count", ty::number}, {"next", ty::string}, {"previous", ty::string}, {"type", ty::string}},
                              {"roomId"}}}};
      if (auto e = check_query(s))
        return *e;
      auto type = req.param("type");
      if (type && *type != "UPDATED" && *type != "DELETED")
        return with_headers(invalid_params("must be equal to one of the allowed values"));
      auto last_update = req.param("lastUpdate");
      auto next = req.param("next");
      auto previous = req.param("previous");
      if (!last_update && !type)
        throw meteor_error("error-param-required", "The \"type\" or \"lastUpdate\" parameters must be provided");
      std::optional<int64_t> since;
      if (last_update) {
        since = parse_iso8601(*last_update);
        if (!since)
          throw meteor_error("error-lastUpdate-param-invalid", "The \"lastUpdate\" query parameter must be a valid date");
      }
      auto* room = find_room(*req.param("roomId"));
      if (!room || !can_access_room(*room, *caller))
        throw meteor_error("error-not-allowed", "Not allowed", json{{"method", "messages/get"}});
      if ((next || previous) && !type)
        throw meteor_error("error-type-param-required",
                           "The \"type\" parameter is required when using the \"next\" or \"previous\" parameters");
      if (next && previous)
        throw meteor_error("error-cursor-conflict", "You cannot provide both \"next\" and \"previous\" parameters");
      if ((next || previous) && last_update)
        throw meteor_error("error-cursor-and-lastUpdate-conflict",
                           "The attributes \"next\", \"previous\" and \"lastUpdate\" cannot be used together");
      if (since) {
        // handleWithoutPagination: every message with _updatedAt > lastUpdate (replies included), ts descending,
        // and the trash entries deleted after it.
        json updated = json::array();
        for (auto it = room->timeline.rbegin(); it != room->timeline.rend(); ++it)
          if ((*it)->updated_at > *since)
            updated.push_back(message_json(**it, rc::date_style::iso));
        json deleted = json::array();
        for (auto it = trash_.rbegin(); it != trash_.rend(); ++it)
          if (it->rid == room->id && it->deleted_at > *since)
            deleted.push_back(json{{"_id", it->id}, {"_deletedAt", iso8601_utc(it->deleted_at)}});
        return ok(json{{"result", {{"updated", updated}, {"deleted", deleted}}}});
      }
      // Cursor pagination by _updatedAt (UPDATED) or _deletedAt (DELETED).
      int64_t count = 20;
      if (auto c = req.param("count"); c && std::atoll(c->c_str()) > 0)
        count = std::atoll(c->c_str());
      std::optional<int64_t> after, before;
      auto cursor_value = [&](const std::string& v) -> int64_t {
        char* end = nullptr;
        auto n = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || (end && *end))
          throw plain_error("Invalid Date");
        return n;
      };
      if (next)
        after = cursor_value(*next);
      else if (previous)
        before = cursor_value(*previous);
      else
        after = 0;
      struct item {
        int64_t key;
        json doc;
      };
      std::vector<item> xs;
      if (*type == "UPDATED") {
        for (auto* m : room->timeline)
          if ((after && m->updated_at > *after) || (before && m->updated_at < *before))
            xs.push_back({m->updated_at, message_json(*m, rc::date_style::iso)});
      } else {
        for (auto& t : trash_)
          if (t.rid == room->id && ((after && t.deleted_at > *after) || (before && t.deleted_at < *before)))
            xs.push_back({t.deleted_at, json{{"_id", t.id}, {"_deletedAt", iso8601_utc(t.deleted_at)}}});
      }
      std::stable_sort(xs.begin(), xs.end(), [&](const item& a, const item& b) {
        return previous ? a.key > b.key : a.key < b.key;
      });
      bool paged = next || previous;
      if (paged && static_cast<int64_t>(xs.size()) > count + 1)
        xs.resize(static_cast<size_t>(count + 1));
      auto n = static_cast<int64_t>(xs.size());
      auto key_at = [&](int64_t i) -> json { return std::to_string(xs[static_cast<size_t>(i)].key); };
      json next_cursor = nullptr, prev_cursor = nullptr;
      if (n > 0) {
        // mountNextCursor / mountPreviousCursor
        if (previous)
          next_cursor = key_at(0);
        else if (next && n <= count)
          next_cursor = nullptr;
        else if (next && n > count)
          next_cursor = key_at(n - 2);
        else
          next_cursor = key_at(n - 1);
        if (next)
          prev_cursor = key_at(0);
        else if (previous && n <= count)
          prev_cursor = nullptr;
        else if (previous && n > count)
          prev_cursor = key_at(n - 2);
        else
          prev_cursor = key_at(0);
      }
      if (paged && n > count)
        xs.pop_back();
      json docs = json::array();
      for (auto& x : xs)
        docs.push_back(std::move(x.doc));
      json result{{"updated", *type == "UPDATED" ? docs : json::array()},
                  {"deleted", *type == "DELETED" ? docs : json::array()},
                  {"cursor", {{"next", next_cursor}, {"previous", prev_cursor}}}};
      return ok(json{{"result", result}});
    }

    // ---------------- rooms ----------------
    if (route == "channels.history" || route == "groups.history" || route == "im.history" || route == "dm.history") {
      std::vector<prop> common = {{"latest", ty::nonempty_string}, {"showThreadMessages", ty::bool_string},
                                  {"oldest", ty::nonempty_string}, {"inclusive", ty::bool_string},
                                  {"unreads", ty::bool_string},    {"count", ty::number},
                                  {"offset", ty::number},          {"sort", ty::string}};
      auto with = [&](prop p) {
        auto v = common;
        v.insert(v.begin(), p);
        return v;
      };
      bool is_im = route == "im.history" || route == "dm.history";
      schema s = is_im ? schema{combine::single, {{with({"roomId", ty::nonempty_string}), {"roomId"}}}}
                       : schema{combine::one_of,
                                {{with({"roomId", ty::nonempty_string}), {"roomId"}},
                                 {with({"roomName", ty::nonempty_string}), {"roomName"}}}};
      if (auto e = check_query(s))
        return *e;
      rc::room* room = nullptr;
      if (auto id = req.param("roomId"))
        room = find_room(*id);
      else if (auto n = req.param("roomName"))
        room = find_room_by_name(*n);
      char want = route == "channels.history" ? 'c' : route == "groups.history" ? 'p' : 'd';
      if (!room || room->type != want || (want != 'c' && !is_member(*room, caller->id))) {
        if (want == 'c')
          throw meteor_error("error-room-not-found",
                             "The required \"roomId\" or \"roomName\" param provided does not match any channel");
        if (want == 'p')
          throw meteor_error("error-room-not-found",
                             "The required \"roomId\" or \"roomName\" param provided does not match any group");
        throw meteor_error("error-room-not-found", "The required \"roomId\" param provided does not match any direct message");
      }
      std::optional<int64_t> latest, oldest;
      if (auto l = req.param("latest")) {
        latest = parse_iso8601(*l);
        if (!latest)
          throw meteor_error("error-latest-param-invalid", "The \"latest\" query parameter must be a valid date.");
      }
      if (auto o = req.param("oldest")) {
        oldest = parse_iso8601(*o);
        if (!oldest)
          throw meteor_error("error-oldest-param-invalid", "The \"oldest\" query parameter must be a valid date.");
      }
      bool inclusive = req.param("inclusive").value_or("false") == "true";
      bool show_threads = req.param("showThreadMessages").value_or("true") != "false";
      auto p = paginate(req, 20);
      // Without `latest` every stored message qualifies (RC's default `new Date()` is later than all of them).
      int64_t latest_ms = latest.value_or(INT64_MAX);
      json out = json::array();
      int64_t skipped = 0;
      for (auto it = room->timeline.rbegin(); it != room->timeline.rend(); ++it) {
        const auto& m = **it;
        if (inclusive ? m.ts > latest_ms : m.ts >= latest_ms)
          continue;
        if (oldest && (inclusive ? m.ts < *oldest : m.ts <= *oldest))
          break;
        if (!show_threads && !m.tmid.empty() && m.tshow != true)
          continue;
        if (skipped < p.offset) {
          ++skipped;
          continue;
        }
        if (static_cast<int64_t>(out.size()) >= p.count)
          break;
        out.push_back(message_json(m, rc::date_style::iso));
      }
      return ok(json{{"messages", std::move(out)}});
    }
    if (route == "channels.info" || route == "groups.info") {
      auto id = req.param("roomId");
      auto nm = req.param("roomName");
      if (!id && !nm)
        throw meteor_error("error-room-param-not-provided", "The parameter \"roomId\" or \"roomName\" is required");
      rc::room* room = id ? find_room(*id) : find_room_by_name(*nm);
      bool channel = route == "channels.info";
      if (!room || room->type != (channel ? 'c' : 'p') || (!channel && !is_member(*room, caller->id)))
        throw meteor_error("error-room-not-found", std::string("The required \"roomId\" or \"roomName\" param provided "
                                                               "does not match any ") +
                                                       (channel ? "channel" : "group"));
      return ok(json{{channel ? "channel" : "group", room_json(*room, rc::date_style::iso)}});
    }
    if (route == "rooms.info") {
      auto id = req.param("roomId");
      auto nm = req.param("roomName");
      if (!id && !nm)
        throw meteor_error("error-roomid-param-not-provided", "The parameter \"roomId\" or \"roomName\" is required");
      rc::room* room = id ? find_room(*id) : find_room_by_name(*nm);
      if (!room || !can_access_room(*room, *caller)) {
        // API.v1.failure('not-allowed', 'Not Allowed'): the second argument lands in errorType.
        return with_headers(rest_json(400, json{{"success", false}, {"error", "not-allowed"}, {"errorType", "Not Allowed"}}));
      }
      return ok(json{{"room", room_json(*room, rc::date_style::iso)}});
    }
    if (route == "channels.join") {
      static const schema s{combine::single, {{{{"roomId", ty::string}, {"joinCode", ty::string}}, {"roomId"}}}};
      if (auto e = check_body(s))
        return *e;
      auto* room = find_room(str(body, "roomId"));
      if (!room || room->type != 'c')
        throw meteor_error("error-room-not-found",
                           "The required \"roomId\" or \"roomName\" param provided does not match any channel");
      add_user_to_room(*room, *caller, true, nullptr);
      return ok(json{{"channel", room_json(*room, rc::date_style::iso)}});
    }
    if (route == "im.create" || route == "dm.create") {
      static const schema s{combine::one_of,
                            {{{{"usernames", ty::string}, {"excludeSelf", ty::boolean}}, {"usernames"}},
                             {{{"username", ty::string}, {"excludeSelf", ty::boolean}}, {"username"}}}};
      if (auto e = check_body(s))
        return *e;
      std::string username = str(body, "username");
      if (body.contains("usernames")) {
        auto list = str(body, "usernames");
        if (list.find(',') != std::string::npos)
          throw meteor_error("error-not-allowed", "Group direct messages are not simulated",
                             json{{"method", "createDirectMessage"}});
        username = js_trim(list);
      }
      auto* other = find_user_by_username(username);
      if (!other)
        throw meteor_error("error-invalid-user", "Invalid user", json{{"method", "createDirectMessage"}});
      auto& r = direct_room(*caller, *other);
      return ok(json{{"room", {{"_id", r.id}, {"rid", r.id}, {"t", "d"}, {"usernames", r.dm_usernames}}}});
    }

    if (route == "channels.create") {
      // v1/channels.ts: AJV (isChannelsCreateProps), then createChannelValidator (create-c, else API.v1.forbidden()),
      // then createChannelMethod -> createRoom (getValidRoomName).
      static const schema s{combine::single,
                            {{{{"name", ty::string}, {"members", ty::array}, {"teams", ty::array},
                               {"readOnly", ty::boolean}, {"customFields", ty::object}, {"excludeSelf", ty::boolean},
                               {"extraData", ty::object}},
                              {"name"}}}};
      if (auto e = check_body(s))
        return *e;
      for (auto* key : {"members", "teams"})
        if (body.contains(key))
          for (auto& m : body[key])
            if (!m.is_string())
              return with_headers(invalid_params("must be string"));
      if (!has_permission(*caller, "create-c"))
        return with_headers(rest_json(
            403, json{{"success", false},
                      {"error", "User does not have the permissions required for this action [error-unauthorized]"}}));
      auto name = str(body, "name");
      if (name.empty())
        throw api_failure("Param \"name\" is required");
      name = js_trim(name);
      if (name.empty())
        throw meteor_error("error-invalid-name", "Invalid name", json{{"function", "RocketChat.createRoom"}});
      // UTF8_Channel_Names_Validation default [0-9a-zA-Z-_.]+
      bool valid = std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
      if (!valid)
        throw meteor_error("error-invalid-room-name", name + " is not a valid room name.",
                           json{{"function", "RocketChat.getValidRoomName"}, {"channel_name", name}});
      if (find_room_by_name(name))
        throw meteor_error("error-duplicate-channel-name", "A channel with name '" + name + "' exists",
                           json{{"function", "RocketChat.getValidRoomName"}, {"channel_name", name}});
      std::vector<std::string> members;
      for (auto& m : body.value("members", json::array()))
        members.push_back(m.get<std::string>());
      auto& room = create_channel(*caller, name, members, body.value("readOnly", false), body.value("excludeSelf", false));
      return ok(json{{"channel", room_json(room, rc::date_style::iso)}});
    }
    if (route == "channels.invite") {
      // v1/channels.ts: AJV (isChannelsInviteProps), findChannelByIdOrName, getUserListFromParams, addUsersToRoom.
      auto v = [](const char* key) {
        return variant{{{key, ty::string}, {"userId", ty::string}, {"username", ty::string}, {"user", ty::string}}, {key}};
      };
      static const schema s{combine::one_of, {v("roomId"), v("roomName")}};
      if (auto e = check_body(s))
        return *e;
      rc::room* room = body.contains("roomId") ? find_room(str(body, "roomId")) : find_room_by_name(str(body, "roomName"));
      if (!room || room->type != 'c')
        throw meteor_error("error-room-not-found",
                           "The required \"roomId\" or \"roomName\" param provided does not match any channel");
      rc::user* invitee = nullptr;
      if (!str(body, "userId").empty())
        invitee = find_user_by_id(str(body, "userId"));
      else if (!str(body, "username").empty())
        invitee = find_user_by_username(str(body, "username"));
      else if (!str(body, "user").empty())
        invitee = find_user_by_username(str(body, "user"));
      if (!invitee)
        // API.v1.failure('invalid-user-invite-list', ...): the second argument lands in errorType.
        return with_headers(rest_json(400, json{{"success", false},
                                                {"error", "invalid-user-invite-list"},
                                                {"errorType", "Cannot invite if no valid users are provided"}}));
      // addUsersToRoom: a member needs add-user-to-joined-room, a non-member add-user-to-any-c-room.
      bool allowed = is_member(*room, caller->id) ? has_permission(*caller, "add-user-to-joined-room", room)
                                                  : has_permission(*caller, "add-user-to-any-c-room");
      if (!allowed)
        throw meteor_error("error-not-allowed", "Not allowed", json{{"method", "addUsersToRoom"}});
      if (is_member(*room, invitee->id))
        ephemeral(caller->id, room->id, "`@" + invitee->username + "` is already in here."); // Username_is_already_in_here
      else
        add_user_to_room(*room, *invitee, true, caller);
      return ok(json{{"channel", room_json(*room, rc::date_style::iso)}});
    }

    // ---------------- users and subscriptions ----------------
    if (route == "users.create") {
      // v1/users.ts users.create: AJV (isUserCreateParamsPOST), then saveUser -> validateUserData (in that order).
      static const schema s{combine::single,
                            {{{{"email", ty::string}, {"name", ty::string}, {"password", ty::string},
                               {"username", ty::string}, {"active", ty::boolean}, {"bio", ty::string},
                               {"nickname", ty::string}, {"statusText", ty::string}, {"roles", ty::array},
                               {"joinDefaultChannels", ty::boolean}, {"requirePasswordChange", ty::boolean},
                               {"setRandomPassword", ty::boolean}, {"sendWelcomeEmail", ty::boolean},
                               {"verified", ty::boolean}, {"customFields", ty::object}, {"fields", ty::string},
                               {"freeSwitchExtension", ty::string}},
                              {"email", "name", "password", "username"}}}};
      if (auto e = check_body(s))
        return *e;
      std::vector<std::string> roles;
      if (body.contains("roles") && body["roles"].is_array()) {
        for (auto& r : body["roles"]) {
          if (!r.is_string())
            return with_headers(invalid_params("must be string"));
          roles.push_back(r.get<std::string>());
        }
      }
      const json method{{"method", "insertOrUpdateUser"}};
      auto with = [&](json extra) {
        json d = method;
        d.update(extra);
        return d;
      };
      if (!has_permission(*caller, "create-user"))
        throw meteor_error("error-action-not-allowed", "Adding user is not allowed", with({{"action", "Adding_user"}}));
      static const std::set<std::string> existing_roles = {
        "admin", "moderator", "leader", "owner", "user", "bot", "app", "guest", "anonymous", "livechat-agent",
        "livechat-manager", "livechat-monitor", "livechat-guest"};
      for (auto& r : roles)
        if (!existing_roles.count(r))
          throw meteor_error("error-action-not-allowed", "The field Roles consist invalid role id",
                             with({{"action", "Assign_role"}}));
      if (std::find(roles.begin(), roles.end(), "admin") != roles.end() && !has_permission(*caller, "assign-admin-role"))
        throw meteor_error("error-action-not-allowed", "Assigning admin is not allowed", with({{"action", "Assign_admin"}}));
      auto name = str(body, "name"), username = str(body, "username"), email = str(body, "email");
      auto password = str(body, "password");
      if (js_trim(name).empty())
        throw meteor_error("error-the-field-is-required", "The field Name is required", with({{"field", "Name"}}));
      if (js_trim(username).empty())
        throw meteor_error("error-the-field-is-required", "The field Username is required", with({{"field", "Username"}}));
      // UTF8_User_Names_Validation default [0-9a-zA-Z-_.]+
      bool valid = std::all_of(username.begin(), username.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
      if (!valid)
        throw meteor_error("error-input-is-not-a-valid-field", username + " is not a valid username",
                           with({{"input", username}, {"field", "Username"}}));
      bool random_password = body.value("setRandomPassword", false) == true;
      if (password.empty() && !random_password)
        throw meteor_error("error-the-field-is-required", "The field Password is required", with({{"field", "Password"}}));
      // checkUsernameAvailability is case-insensitive.
      for (auto& u : users_)
        if (lower_ascii(u.username) == lower_ascii(username))
          throw meteor_error("error-field-unavailable", username + " is already in use :(", with({{"field", username}}));
      if (!email.empty() && find_user_by_email(email))
        throw meteor_error("error-field-unavailable", email + " is already in use :(", with({{"field", email}}));
      // validateEmailDomain: a rough form of RC's e-mail regex (local@domain.tld).
      auto at = email.find('@');
      auto dot = at == std::string::npos ? std::string::npos : email.rfind('.');
      if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos || dot == std::string::npos ||
          dot < at + 2 || email.size() - dot < 3 || email.find(' ') != std::string::npos)
        throw meteor_error("error-invalid-email", "Invalid email " + email,
                           json{{"function", "RocketChat.validateEmailDomain"}, {"email", email}});
      rc::user u;
      u.id = new_id();
      u.username = username;
      u.name = name;
      u.email = email;
      u.roles = roles.empty() ? std::vector<std::string>{"user"} : roles;
      u.password = random_password && password.empty() ? ids_.meteor_id(43) : password;
      u.created_at = u.updated_at = clock_.now_ms();
      u.active = body.value("active", true) != false;
      u.email_verified = body.value("verified", false) == true;
      u.require_password_change = body.value("requirePasswordChange", false) == true;
      auto& created = add_user(std::move(u));
      // joinDefaultChannels defaults to true (addUserToDefaultChannels posts the `uj` message).
      if (body.value("joinDefaultChannels", true) != false)
        for (auto& r : rooms_)
          if (r.is_default && r.type != 'd')
            add_user_to_room(r, created, true, nullptr);
      json out = user_json(created, true);
      out["_updatedAt"] = iso8601_utc(created.updated_at);
      out["requirePasswordChange"] = created.require_password_change;
      out["settings"] = json::object();
      return ok(json{{"user", out}});
    }
    if (route == "users.generatePersonalAccessToken" || route == "users.regeneratePersonalAccessToken") {
      // twoFactorRequired routes: ApiClass processTwoFactor -> checkCodeForUser before the action. A user with a
      // password and no TOTP/e-mail 2FA gets the password fallback (Accounts_TwoFactorAuthentication_Enforce_Password_
      // Fallback, default true): x-2fa-code is the SHA-256 hex of the password. A token made with bypassTwoFactor
      // skips the check (isAuthorizedForToken).
      bool regenerate = route == "users.regeneratePersonalAccessToken";
      auto current = req.header("x-auth-token");
      bool bypass = false;
      for (auto& t : caller->tokens)
        if (t.value == current && t.personal && t.bypass_two_factor)
          bypass = true;
      if (!bypass && !caller->password.empty()) {
        auto code = req.header("x-2fa-code");
        auto method = req.header("x-2fa-method");
        if (code.empty())
          throw meteor_error("totp-required", "TOTP Required",
                             json{{"method", "password"}, {"codeGenerated", false}, {"availableMethods", json::array()}});
        bool good = (method.empty() || method == "password") && lower_ascii(code) == rc::sha256_hex(caller->password);
        if (!good)
          throw meteor_error("totp-invalid", "TOTP Invalid", json{{"method", method.empty() ? "password" : method}});
      }
      auto token_name = str(body, "tokenName");
      if (token_name.empty())
        throw api_failure("The 'tokenName' param is required");
      const json details{{"method", regenerate ? "personalAccessTokens:regenerateToken" : "personalAccessTokens:generateToken"}};
      if (!has_permission(*caller, "create-personal-access-tokens"))
        throw meteor_error("not-authorized", "Not Authorized", details);
      auto existing = std::find_if(caller->tokens.begin(), caller->tokens.end(),
                                   [&](const rc::token& t) { return t.personal && t.name == token_name; });
      bool bypass_new = false;
      if (regenerate) {
        if (existing == caller->tokens.end())
          throw meteor_error("error-token-does-not-exists", "Token does not exist", details);
        bypass_new = existing->bypass_two_factor;
        token_owner_.erase(existing->value);
        caller->tokens.erase(existing);
      } else {
        if (existing != caller->tokens.end())
          throw meteor_error("error-token-already-exists", "A token with this name already exists",
                             json{{"method", "personalAccessTokens:generateToken"}});
        auto b = body.find("bypassTwoFactor");
        bypass_new = b != body.end() && b->is_boolean() && b->get<bool>();
      }
      return ok(json{{"token", generate_personal_token(*caller, token_name, bypass_new)}});
    }
    // ---------------- users and subscriptions ----------------
    if (route == "users.info") {
      auto v = [](const char* key) {
        return variant{{{key, ty::string}, {"includeUserRooms", ty::string}, {"fields", ty::string}}, {key}};
      };
      static const schema s{combine::any_of,
                            {v("userId"), v("username"), v("importId"), v("email"), v("freeSwitchExtension")}};
      if (auto e = check_query(s))
        return *e;
      rc::user* u = nullptr;
      if (auto x = req.param("userId"))
        u = find_user_by_id(*x);
      else if (auto y = req.param("username"))
        u = find_user_by_username(*y);
      else if (auto z = req.param("email"))
        u = find_user_by_email(*z);
      if (!u)
        throw api_failure("User not found.");
      json out = user_json(*u, caller->has_role("admin") || caller->id == u->id);
      if (req.param("includeUserRooms").value_or("") == "true" && (caller->has_role("admin") || caller->id == u->id)) {
        json rooms = json::array();
        for (auto& [key, sub] : subscriptions_)
          if (sub.uid == u->id) {
            json j = subscription_json(sub, rc::date_style::iso);
            rooms.push_back(json{{"_id", sub.id}, {"rid", sub.rid}, {"name", j.value("name", "")}, {"t", j.value("t", "")},
                                 {"unread", sub.unread}});
          }
        out["rooms"] = rooms;
      }
      return ok(json{{"user", out}});
    }
    if (route == "users.list") {
      static const schema s{combine::single,
                            {{{{"fields", ty::string}, {"query", ty::string}, {"count", ty::number}, {"offset", ty::number},
                               {"sort", ty::string}, {"email", ty::nonempty_string}},
                              {}}}};
      if (auto e = check_query(s))
        return *e;
      json query = json::object();
      if (auto q = req.param("query")) {
        auto parsed = parse_json(*q);
        if (!parsed || !parsed->is_object())
          throw meteor_error("error-invalid-query", "Invalid query parameter provided: \"" + *q + "\"");
        query = *parsed;
      }
      auto email = req.param("email");
      auto lower = [](std::string x) {
        for (auto& c : x)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return x;
      };
      auto matches = [&](const rc::user& u) {
        if (email && lower(u.email) != lower(*email))
          return false;
        for (auto& [k, v] : query.items()) {
          std::string value = v.is_string() ? v.get<std::string>() : v.dump();
          if (k == "emails.address" || k == "email") {
            if (lower(u.email) != lower(value))
              return false;
          } else if (k == "username") {
            if (u.username != value)
              return false;
          } else if (k == "name") {
            if (u.name != value)
              return false;
          } else if (k == "_id") {
            if (u.id != value)
              return false;
          } else if (k == "active") {
            if (!v.is_boolean() || u.active != v.get<bool>())
              return false;
          } else if (k == "roles") {
            if (!u.has_role(value))
              return false;
          } else {
            return false; // unsupported selector: matches nothing
          }
        }
        return true;
      };
      auto p = paginate(req);
      json out = json::array();
      int64_t total = 0;
      for (auto& u : users_) {
        if (!matches(u))
          continue;
        if (total >= p.offset && static_cast<int64_t>(out.size()) < p.count) {
          json j = user_json(u, true);
          std::string ni = u.name;
          for (auto& c : ni)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          j["nameInsensitive"] = ni;
          out.push_back(std::move(j));
        }
        ++total;
      }
      auto n = out.size();
      return ok(json{{"users", std::move(out)}, {"count", n}, {"offset", p.offset}, {"total", total}});
    }
    if (route == "subscriptions.get") {
      static const schema s{combine::single, {{{{"updatedSince", ty::string}}, {}}}};
      if (auto e = check_query(s))
        return *e;
      std::optional<int64_t> since;
      if (auto u = req.param("updatedSince")) {
        since = parse_iso8601(*u);
        if (!since)
          throw meteor_error("error-updatedSince-param-invalid", "The \"updatedSince\" query parameter must be a valid date.");
      }
      json update = json::array();
      for (auto& [key, sub] : subscriptions_)
        if (sub.uid == caller->id && (!since || sub.updated_at > *since))
          update.push_back(subscription_json(sub, rc::date_style::iso));
      return ok(json{{"update", update}, {"remove", json::array()}});
    }
  } catch (const failure& f) {
    return with_headers(failure_response(f));
  }
  return with_headers(rest_json(404, json{{"success", false}, {"error", "Resource not found"}}));
}

} // namespace dutydesk::sim
