// Rocket.Chat simulator: the realtime API (DDP over /websocket, reference §2). Heartbeat and handshake follow the
// ddp-streamer (greeting, close 1002 when the first frame is not `connect`, ping after 30 s of client silence,
// close 4000 "TIMEOUT" 30 s later); methods follow the monolith's Meteor methods (sendMessage's strict check(),
// its swallowed errors, Match failures sanitised to 400 "Match failed").

#include "sim/rocketchat.hpp"

#include <algorithm>

namespace dutydesk::sim {

namespace {

using rc::failure;
using rc::meteor_error;

constexpr int64_t heartbeat_ms = 30000;

bool js_truthy(const json& v) {
  if (v.is_null())
    return false;
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_number())
    return v != 0;
  if (v.is_string())
    return !v.get<std::string>().empty();
  return true;
}

json error_object(const failure& f) {
  if (!f.meteor)
    return json{{"isClientSafe", true},
                {"error", 500},
                {"reason", "Internal server error"},
                {"message", "Internal server error [500]"},
                {"errorType", "Meteor.Error"}};
  json code = f.error;
  if (!f.error.empty() && std::all_of(f.error.begin(), f.error.end(), [](char c) { return c >= '0' && c <= '9'; }))
    code = std::stoi(f.error);
  json j{{"isClientSafe", true}, {"error", code}, {"message", rc::meteor_message(f)}, {"errorType", "Meteor.Error"}};
  if (!f.reason.empty())
    j["reason"] = f.reason;
  if (!f.details.is_null())
    j["details"] = f.details;
  return j;
}

// Match failures reach the client sanitised (Match.Error's sanitizedError).
failure match_failed() {
  return meteor_error("400", "Match failed");
}

std::optional<int64_t> ejson_date(const json& v) {
  if (v.is_object() && v.contains("$date") && v["$date"].is_number())
    return v["$date"].get<int64_t>();
  return std::nullopt;
}

std::string frame_changed(const std::string& collection, const std::string& event, const json& args) {
  return json{{"msg", "changed"},
              {"collection", collection},
              {"id", "id"},
              {"fields", {{"eventName", event}, {"args", args}}}}
      .dump();
}

} // namespace

uint64_t rocketchat_sim::ddp_open(std::shared_ptr<ws_connection> conn) {
  auto id = next_session_++;
  auto& s = sessions_[id];
  s.id = id;
  s.conn = std::move(conn);
  s.last_activity = clock_.now_ms();
  send_frame(s, R"({"server_id":"0"})");
  return id;
}

void rocketchat_sim::ddp_closed(uint64_t session) {
  auto i = sessions_.find(session);
  if (i == sessions_.end())
    return;
  remove_session_subs(i->second);
  sessions_.erase(i);
}

void rocketchat_sim::drop_all_connections() {
  auto all = std::move(sessions_);
  sessions_.clear();
  stream_subs_.clear();
  for (auto& [id, s] : all)
    if (s.conn)
      s.conn->drop();
}

void rocketchat_sim::close_session(uint64_t id, int code, const std::string& reason) {
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return;
  auto s = std::move(i->second);
  remove_session_subs(s);
  sessions_.erase(i);
  if (s.conn)
    s.conn->close(code, reason);
}

void rocketchat_sim::remove_session_subs(rc::ddp_session& s) {
  for (auto& [sid, sub] : s.subs) {
    auto it = stream_subs_.find({sub.stream, sub.event});
    if (it == stream_subs_.end())
      continue;
    auto& xs = it->second;
    xs.erase(std::remove(xs.begin(), xs.end(), std::make_pair(s.id, sid)), xs.end());
    if (xs.empty())
      stream_subs_.erase(it);
  }
  s.subs.clear();
}

void rocketchat_sim::send_frame(rc::ddp_session& s, const std::string& frame) {
  if (s.conn)
    s.conn->send_text(frame);
}

void rocketchat_sim::send_json(rc::ddp_session& s, const json& frame) {
  send_frame(s, frame.dump());
}

void rocketchat_sim::tick() {
  auto now = clock_.now_ms();
  std::vector<uint64_t> expired;
  for (auto& [id, s] : sessions_) {
    if (s.ping_sent_at < 0) {
      if (now - s.last_activity >= heartbeat_ms) {
        send_frame(s, R"({"msg":"ping"})");
        s.ping_sent_at = now;
      }
    } else if (now - s.ping_sent_at >= heartbeat_ms) {
      expired.push_back(id);
    }
  }
  for (auto id : expired)
    close_session(id, 4000, "TIMEOUT");
}

void rocketchat_sim::ddp_message(uint64_t session, std::string_view text) {
  auto i = sessions_.find(session);
  if (i == sessions_.end())
    return;
  auto& s = i->second;
  s.last_activity = clock_.now_ms();
  s.ping_sent_at = -1;
  auto frame = json::parse(text, nullptr, false);
  if (frame.is_discarded() || !frame.is_object() || !frame.contains("msg") || !frame["msg"].is_string()) {
    if (!s.connected) {
      close_session(session, 1002, "");
      return;
    }
    json err{{"msg", "error"}, {"reason", "Bad request"}};
    if (!frame.is_discarded())
      err["offendingMessage"] = frame;
    send_json(s, err);
    return;
  }
  auto msg = frame["msg"].get<std::string>();
  if (!s.connected) {
    if (msg != "connect") {
      close_session(session, 1002, "");
      return;
    }
    auto version = frame.value("version", std::string());
    if (version != "1" && version != "pre2" && version != "pre1") {
      send_frame(s, R"({"msg":"failed","version":"1"})");
      close_session(session, 1000, "");
      return;
    }
    s.connected = true;
    s.session_id = ids_.meteor_id(17);
    send_json(s, json{{"msg", "connected"}, {"session", s.session_id}});
    return;
  }
  try {
    dispatch_connected(s, msg, frame);
  } catch (const json::exception&) {
    // A field of the wrong JSON type somewhere in the frame.
    auto it = sessions_.find(session);
    if (it != sessions_.end())
      send_json(it->second, json{{"msg", "error"}, {"reason", "Bad request"}, {"offendingMessage", frame}});
  }
}

void rocketchat_sim::dispatch_connected(rc::ddp_session& s, const std::string& msg, const json& frame) {
  if (msg == "ping") {
    json pong{{"msg", "pong"}};
    if (frame.contains("id"))
      pong["id"] = frame["id"];
    send_json(s, pong);
  } else if (msg == "pong" || msg == "connect") {
    // pong answers our ping (activity already recorded); a second connect is ignored
  } else if (msg == "method") {
    handle_ddp_method(s, frame);
  } else if (msg == "sub") {
    handle_ddp_sub(s, frame);
  } else if (msg == "unsub") {
    auto id = frame.value("id", std::string());
    auto it = s.subs.find(id);
    if (it != s.subs.end()) {
      auto key = std::make_pair(it->second.stream, it->second.event);
      auto st = stream_subs_.find(key);
      if (st != stream_subs_.end()) {
        auto& xs = st->second;
        xs.erase(std::remove(xs.begin(), xs.end(), std::make_pair(s.id, id)), xs.end());
        if (xs.empty())
          stream_subs_.erase(st);
      }
      s.subs.erase(it);
    }
    send_json(s, json{{"msg", "nosub"}, {"id", id}});
  } else {
    send_json(s, json{{"msg", "error"}, {"reason", "Bad request"}, {"offendingMessage", frame}});
  }
}

void rocketchat_sim::handle_ddp_method(rc::ddp_session& s, const json& frame) {
  auto id_it = frame.find("id");
  if (id_it == frame.end() || !id_it->is_string() || !frame.contains("method") || !frame["method"].is_string()) {
    send_json(s, json{{"msg", "error"}, {"reason", "Bad request"}, {"offendingMessage", frame}});
    return;
  }
  auto id = id_it->get<std::string>();
  auto method = frame["method"].get<std::string>();
  json params = frame.value("params", json::array());
  if (!params.is_array())
    params = json::array();
  auto sid = s.id;
  json reply{{"msg", "result"}, {"id", id}};
  try {
    bool has_result = false;
    auto result = call_method(s, method, params, has_result);
    if (has_result && js_truthy(result))
      reply["result"] = std::move(result);
  } catch (const failure& f) {
    reply["error"] = error_object(f);
  } catch (const json::exception&) {
    reply["error"] = error_object(match_failed());
  }
  // The method may have closed the session (none do today), so look it up again.
  auto it = sessions_.find(sid);
  if (it == sessions_.end())
    return;
  send_json(it->second, reply);
  send_json(it->second, json{{"msg", "updated"}, {"methods", json::array({id})}});
}

json rocketchat_sim::call_method(rc::ddp_session& s, const std::string& method, const json& params,
                                 bool& has_result) {
  has_result = true;
  auto require_user = [&](const char* name) -> rc::user& {
    auto* u = s.uid.empty() ? nullptr : find_user_by_id(s.uid);
    if (!u)
      throw meteor_error("error-invalid-user", "Invalid user", json{{"method", name}});
    return *u;
  };
  auto arg = [&](size_t i) -> json { return i < params.size() ? params[i] : json(); };

  if (method == "login") {
    auto p = arg(0);
    if (!p.is_object())
      throw meteor_error("400", "Match failed");
    rc::user* u = nullptr;
    std::string token;
    std::string type = "resume";
    if (p.contains("resume")) {
      token = p["resume"].is_string() ? p["resume"].get<std::string>() : std::string();
      auto owner = token_owner_.find(token);
      if (owner != token_owner_.end())
        u = find_user_by_token(owner->second, token);
      if (!u)
        throw meteor_error("403", "You've been logged out by the server. Please log in again.");
    } else if (p.contains("user") && p.contains("password")) {
      auto sel = p["user"];
      if (sel.is_object()) {
        if (sel.contains("username") && sel["username"].is_string())
          u = find_user_by_username(sel["username"].get<std::string>());
        else if (sel.contains("email") && sel["email"].is_string())
          u = find_user_by_email(sel["email"].get<std::string>());
        else if (sel.contains("id") && sel["id"].is_string())
          u = find_user_by_id(sel["id"].get<std::string>());
      } else if (sel.is_string()) {
        auto v = sel.get<std::string>();
        u = v.find('@') != std::string::npos ? find_user_by_email(v) : find_user_by_username(v);
      }
      auto pw = p["password"];
      bool ok = false;
      if (u && u->active && !u->password.empty()) {
        if (pw.is_string())
          ok = pw.get<std::string>() == u->password;
        else if (pw.is_object() && pw.value("algorithm", "") == "sha-256" && pw.contains("digest"))
          ok = pw["digest"].is_string() && pw["digest"].get<std::string>() == rc::sha256_hex(u->password);
      }
      if (!ok)
        throw meteor_error("403", "User not found");
      token = ids_.meteor_id(43);
      u->tokens.push_back(rc::token::login(token, clock_.now_ms()));
      token_owner_[token] = u->id;
      type = "password";
    } else {
      throw meteor_error("400", "Unrecognized options for login request");
    }
    s.uid = u->id;
    s.login_token = token;
    u->last_login = clock_.now_ms();
    send_json(s, json{{"msg", "added"}, {"collection", "users"}, {"id", u->id}, {"fields", {{"username", u->username}}}});
    json expires = nullptr;
    for (auto& t : u->tokens)
      if (t.value == token && !t.personal)
        expires = t.when + login_expiration_ms_;
    // A PAT has no `when`, so Meteor's _tokenExpiration() yields an Invalid Date, which EJSON sends as null.
    return json{{"id", u->id}, {"token", token}, {"tokenExpires", {{"$date", expires}}}, {"type", type}};
  }
  if (method == "logout") {
    if (auto* u = find_user_by_id(s.uid)) {
      // Meteor destroys the connection's login token (a PAT used for `resume` included).
      u->tokens.erase(std::remove_if(u->tokens.begin(), u->tokens.end(),
                                     [&](const rc::token& t) { return t.value == s.login_token; }),
                      u->tokens.end());
      token_owner_.erase(s.login_token);
    }
    s.uid.clear();
    s.login_token.clear();
    has_result = false;
    return nullptr;
  }
  if (method == "sendMessage") {
    auto m = arg(0);
    static const std::set<std::string> allowed = {"_id", "rid", "msg", "tmid", "tshow", "ts", "t", "bot",
                                                  "content", "e2e", "e2eMentions", "customFields",
                                                  "federation", "groupable", "sentByEmail"};
    if (!m.is_object())
      throw match_failed();
    for (auto& [k, v] : m.items()) {
      if (!allowed.count(k))
        throw match_failed();
      if (v.is_null())
        continue;
      bool ok = true;
      if (k == "_id" || k == "rid" || k == "msg" || k == "tmid" || k == "t" || k == "e2e")
        ok = v.is_string();
      else if (k == "tshow" || k == "groupable" || k == "sentByEmail")
        ok = v.is_boolean();
      else if (k == "ts")
        ok = ejson_date(v).has_value();
      else
        ok = v.is_object();
      if (!ok)
        throw match_failed();
    }
    auto& u = require_user("sendMessage");
    auto t = m.value("t", json());
    if (t.is_string() && t.get<std::string>() != "e2e")
      throw rc::plain_error("Cannot send system messages using 'sendMessage'");
    rc::send_input in;
    in.id = m.value("_id", json()).is_string() ? m["_id"].get<std::string>() : std::string();
    in.rid = m.value("rid", json()).is_string() ? m["rid"].get<std::string>() : std::string();
    if (m.value("msg", json()).is_string())
      in.msg = m["msg"].get<std::string>();
    if (m.value("tmid", json()).is_string())
      in.tmid = m["tmid"].get<std::string>();
    if (m.value("tshow", json()).is_boolean())
      in.tshow = m["tshow"].get<bool>();
    if (m.contains("ts"))
      in.ts = ejson_date(m["ts"]);
    if (m.value("groupable", json()).is_boolean())
      in.groupable = m["groupable"].get<bool>();
    if (m.contains("customFields") && m["customFields"].is_object())
      in.custom_fields = m["customFields"];
    try {
      auto* msg = execute_send_message(u, std::move(in));
      if (!msg) {
        has_result = false;
        return nullptr;
      }
      return message_json(*msg, rc::date_style::ejson);
    } catch (const failure& f) {
      // The method rethrows only error-not-allowed; every other failure is swallowed (result undefined).
      if (f.meteor && f.error == "error-not-allowed")
        throw meteor_error(f.error, f.reason, json{{"method", "sendMessage"}});
      has_result = false;
      return nullptr;
    }
  }
  if (method == "updateMessage") {
    auto m = arg(0);
    if (!m.is_object() || !m.contains("_id") || !m["_id"].is_string())
      throw match_failed();
    auto& u = require_user("updateMessage");
    has_result = false;
    auto* original = find_message(m["_id"].get<std::string>());
    if (!original)
      return nullptr;
    json fields = m;
    if (params.size() > 1 && params[1].is_array())
      fields["previewUrls"] = params[1];
    update_message(u, *original, fields);
    return nullptr;
  }
  if (method == "deleteMessage") {
    auto m = arg(0);
    if (!m.is_object() || !m.contains("_id") || !m["_id"].is_string())
      throw match_failed();
    auto& u = require_user("deleteMessage");
    auto* original = find_message(m["_id"].get<std::string>());
    if (!original)
      throw meteor_error("error-action-not-allowed", "Not allowed");
    delete_message(u, *original);
    has_result = false;
    return nullptr;
  }
  if (method == "setReaction") {
    auto reaction = arg(0), mid = arg(1), should = arg(2);
    if (!reaction.is_string() || !mid.is_string() || !(should.is_null() || should.is_boolean()))
      throw match_failed();
    auto& u = require_user("setReaction");
    auto* m = find_message(mid.get<std::string>());
    if (!m)
      throw meteor_error("error-not-allowed", "Not allowed", json{{"method", "setReaction"}});
    set_reaction(u, *m, reaction.get<std::string>(),
                 should.is_boolean() ? std::optional<bool>(should.get<bool>()) : std::nullopt);
    has_result = false;
    return nullptr;
  }
  if (method == "createDirectMessage") {
    for (auto& p : params)
      if (!p.is_string())
        throw match_failed();
    auto& u = require_user("createDirectMessage");
    if (params.size() != 1)
      throw meteor_error("error-not-allowed", "Group direct messages are not simulated",
                         json{{"method", "createDirectMessage"}});
    auto* other = find_user_by_username(params[0].get<std::string>());
    if (!other)
      throw meteor_error("error-invalid-user", "Invalid user", json{{"method", "createDirectMessage"}});
    auto& r = direct_room(u, *other);
    return json{{"t", "d"}, {"rid", r.id}, {"usernames", r.dm_usernames}};
  }
  if (method == "joinRoom") {
    auto rid = arg(0);
    if (!rid.is_string())
      throw match_failed();
    auto& u = require_user("joinRoom");
    auto* r = find_room(rid.get<std::string>());
    if (!r)
      throw meteor_error("error-invalid-room", "Invalid room", json{{"method", "joinRoom"}});
    if (!can_access_room(*r, u))
      throw meteor_error("error-not-allowed", "Not allowed", json{{"method", "joinRoom"}});
    add_user_to_room(*r, u, true, nullptr);
    return true;
  }
  if (method == "loadHistory") {
    auto rid = arg(0);
    if (!rid.is_string())
      throw match_failed();
    auto& u = require_user("loadHistory");
    auto* r = find_room(rid.get<std::string>());
    if (!r || !can_access_room(*r, u)) {
      has_result = false;
      return false;
    }
    auto end = ejson_date(arg(1));
    int64_t limit = arg(2).is_number() ? arg(2).get<int64_t>() : 20;
    bool show_threads = !(arg(4).is_boolean() && !arg(4).get<bool>());
    json out = json::array();
    for (auto it = r->timeline.rbegin(); it != r->timeline.rend() && static_cast<int64_t>(out.size()) < limit; ++it) {
      const auto& m = **it;
      if (end && m.ts >= *end)
        continue;
      if (!show_threads && !m.tmid.empty() && m.tshow != true)
        continue;
      out.push_back(message_json(m, rc::date_style::ejson));
    }
    return json{{"messages", out}};
  }
  if (method == "loadMissedMessages") {
    auto rid = arg(0);
    auto start = ejson_date(arg(1));
    if (!rid.is_string() || !start)
      throw match_failed();
    auto& u = require_user("loadMissedMessages");
    auto* r = find_room(rid.get<std::string>());
    if (!r || !can_access_room(*r, u)) {
      has_result = false;
      return false;
    }
    json out = json::array();
    for (auto it = r->timeline.rbegin(); it != r->timeline.rend() && (*it)->ts > *start; ++it)
      out.push_back(message_json(**it, rc::date_style::ejson));
    return out;
  }
  throw meteor_error("404", "Method '" + method + "' not found");
}

void rocketchat_sim::handle_ddp_sub(rc::ddp_session& s, const json& frame) {
  auto id = frame.value("id", std::string());
  auto name = frame.value("name", std::string());
  json params = frame.value("params", json::array());
  if (!params.is_array())
    params = json::array();
  auto nosub = [&](json error) { send_json(s, json{{"msg", "nosub"}, {"id", id}, {"error", std::move(error)}}); };
  auto not_allowed = [&] {
    nosub(json{{"isClientSafe", true}, {"error", "not-allowed"}, {"message", "[not-allowed]"}, {"errorType", "Meteor.Error"}});
  };
  static const std::set<std::string> streams = {"stream-room-messages", "stream-notify-room", "stream-notify-user",
                                                "stream-notify-all", "stream-notify-logged"};
  if (!streams.count(name)) {
    nosub(json{{"isClientSafe", true},
               {"error", 404},
               {"reason", "Subscription '" + name + "' not found"},
               {"message", "Subscription '" + name + "' not found [404]"},
               {"errorType", "Meteor.Error"}});
    return;
  }
  auto event = params.empty() || !params[0].is_string() ? std::string() : params[0].get<std::string>();
  bool use_collection = false;
  if (params.size() > 1) {
    if (params[1].is_boolean())
      use_collection = params[1].get<bool>();
    else if (params[1].is_object())
      use_collection = params[1].value("useCollection", false);
  }
  auto* u = s.uid.empty() ? nullptr : find_user_by_id(s.uid);
  bool allowed = false;
  if (u && !event.empty()) {
    if (name == "stream-room-messages") {
      if (event == "__my_messages__") {
        allowed = true;
      } else {
        auto* r = find_room(event);
        allowed = r && can_access_room(*r, *u);
      }
    } else if (name == "stream-notify-room") {
      auto slash = event.find('/');
      auto* r = slash == std::string::npos ? nullptr : find_room(event.substr(0, slash));
      allowed = r && is_member(*r, u->id);
    } else if (name == "stream-notify-user") {
      allowed = event.rfind(u->id + "/", 0) == 0;
    } else {
      allowed = true; // stream-notify-all / -logged: accepted, nothing is published on them
    }
  }
  if (!allowed) {
    not_allowed();
    return;
  }
  if (auto old = s.subs.find(id); old != s.subs.end()) {
    auto st = stream_subs_.find({old->second.stream, old->second.event});
    if (st != stream_subs_.end()) {
      auto& xs = st->second;
      xs.erase(std::remove(xs.begin(), xs.end(), std::make_pair(s.id, id)), xs.end());
    }
  }
  s.subs[id] = rc::ddp_sub{id, name, event};
  stream_subs_[{name, event}].emplace_back(s.id, id);
  if (use_collection)
    send_json(s, json{{"msg", "added"}, {"collection", name}, {"id", "id"}, {"fields", {{"eventName", event}}}});
  send_json(s, json{{"msg", "ready"}, {"subs", json::array({id})}});
}

// ---------------------------------------------------------------------------------------------------------------

void rocketchat_sim::broadcast_message(const rc::message& m) {
  auto room_it = rooms_by_id_.find(m.rid);
  if (room_it == rooms_by_id_.end())
    return;
  const auto& room = *room_it->second;
  auto per_room = stream_subs_.find({"stream-room-messages", m.rid});
  auto mine = stream_subs_.find({"stream-room-messages", "__my_messages__"});
  bool has_room_subs = per_room != stream_subs_.end() && !per_room->second.empty();
  bool has_my_subs = mine != stream_subs_.end() && !mine->second.empty();
  if (!has_room_subs && !has_my_subs)
    return;
  json doc = message_json(m, rc::date_style::ejson);
  if (has_room_subs) {
    auto frame = frame_changed("stream-room-messages", m.rid, json::array({doc}));
    for (auto& [sid, sub] : per_room->second) {
      auto s = sessions_.find(sid);
      if (s != sessions_.end())
        send_frame(s->second, frame);
    }
  }
  if (has_my_subs) {
    std::string frames[2]; // [0]: non-participant, [1]: participant; built on first use
    for (auto& [sid, sub] : mine->second) {
      auto s = sessions_.find(sid);
      if (s == sessions_.end())
        continue;
      auto* u = find_user_by_id(s->second.uid);
      if (!u || !can_access_room(room, *u))
        continue;
      bool participant = is_member(room, u->id);
      auto& frame = frames[participant ? 1 : 0];
      if (frame.empty()) {
        json allowed{{"roomParticipant", participant}, {"roomType", std::string(1, room.type)}};
        if (!room.name.empty())
          allowed["roomName"] = room.name;
        frame = frame_changed("stream-room-messages", "__my_messages__", json::array({doc, allowed}));
      }
      send_frame(s->second, frame);
    }
  }
}

void rocketchat_sim::broadcast_deleted(const rc::room& r, const std::string& message_id) {
  auto event = r.id + "/deleteMessage";
  auto it = stream_subs_.find({"stream-notify-room", event});
  if (it == stream_subs_.end())
    return;
  auto frame = frame_changed("stream-notify-room", event, json::array({json{{"_id", message_id}}}));
  for (auto& [sid, sub] : it->second) {
    auto s = sessions_.find(sid);
    if (s != sessions_.end())
      send_frame(s->second, frame);
  }
}

void rocketchat_sim::notify_user(const std::string& uid, const std::string& event, const json& args) {
  auto key = uid + "/" + event;
  auto it = stream_subs_.find({"stream-notify-user", key});
  if (it == stream_subs_.end() || it->second.empty())
    return;
  auto frame = frame_changed("stream-notify-user", key, args);
  for (auto& [sid, sub] : it->second) {
    auto s = sessions_.find(sid);
    if (s != sessions_.end())
      send_frame(s->second, frame);
  }
}

void rocketchat_sim::notify_room_members(const rc::room& r, const std::string& event, const json& args) {
  for (auto& uid : r.members)
    notify_user(uid, event, args);
}

void rocketchat_sim::ephemeral(const std::string& uid, const std::string& rid, const std::string& text) {
  auto now = clock_.now_ms();
  json m{{"groupable", false},
         {"msg", text},
         {"_id", std::to_string(now)},
         {"rid", rid},
         {"ts", date_value(now, rc::date_style::ejson)},
         {"u", {{"_id", "rocket.cat"}, {"username", "rocket.cat"}}},
         {"private", true},
         {"_updatedAt", date_value(now, rc::date_style::ejson)}};
  notify_user(uid, "message", json::array({m}));
}

} // namespace dutydesk::sim
