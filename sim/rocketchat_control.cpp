// Rocket.Chat simulator: the control API under /control/rocketchat (docs/sim/rocketchat.md lists every endpoint).
// "Post as user" and "click a button" go through execute_send_message, the code path of DDP sendMessage, so the
// result is stored and broadcast exactly like a real client's message.

#include "sim/rocketchat.hpp"

#include <algorithm>

namespace dutydesk::sim {

namespace {

http_response control_error(int status, const std::string& error, json extra = json::object()) {
  extra["error"] = error;
  return json_response(status, extra);
}

http_response failure_to_control(const rc::failure& f) {
  json j{{"error", f.meteor ? f.error : std::string("error")}, {"reason", f.meteor ? f.reason : f.error},
         {"message", rc::meteor_message(f)}};
  return json_response(400, j);
}

} // namespace

http_response rocketchat_sim::handle_control(const http_request& req) {
  try {
    return control_route(req);
  } catch (const rc::failure& f) {
    return failure_to_control(f);
  } catch (const json::exception& e) {
    return control_error(400, std::string("bad request: ") + e.what());
  }
}

http_response rocketchat_sim::control_route(const http_request& req) {
  auto parts = split_path(req.path);
  json body = json::object();
  if (req.method == "POST" && !req.body.empty()) {
    auto parsed = parse_json(req.body);
    if (!parsed || !parsed->is_object())
      return control_error(400, "body must be a JSON object");
    body = std::move(*parsed);
  }
  auto str = [&](const char* k) {
    auto it = body.find(k);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto user_by_any = [&](const std::string& x) -> rc::user* {
    if (auto* u = find_user_by_username(x))
      return u;
    return find_user_by_id(x);
  };
  auto acting_user = [&]() -> rc::user* {
    auto who = str("as").empty() ? str("user") : str("as");
    return user_by_any(who);
  };
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  auto iso_messages = [&](const std::vector<rc::message*>& xs) {
    json out = json::array();
    for (auto* m : xs)
      out.push_back(message_json(*m, rc::date_style::iso));
    return out;
  };

  if (parts.empty())
    return control_error(404, "unknown control endpoint");

  // ---- users ----
  if (parts[0] == "users") {
    if (parts.size() == 1 && post) {
      auto username = str("username");
      if (username.empty())
        return control_error(400, "username is required");
      if (find_user_by_username(username))
        return control_error(409, "username already exists");
      rc::user u;
      u.id = str("id").empty() ? new_id() : str("id");
      if (find_user_by_id(u.id))
        return control_error(409, "id already exists");
      u.username = username;
      u.name = str("name").empty() ? username : str("name");
      u.email = str("email");
      u.roles = body.value("roles", std::vector<std::string>{"user"});
      u.password = str("password");
      u.created_at = clock_.now_ms();
      auto token = str("token").empty() ? ids_.meteor_id(43) : str("token");
      if (token_owner_.count(token))
        return control_error(409, "token already in use");
      u.tokens.push_back(rc::token::personal_access(token));
      auto& ref = add_user(std::move(u));
      return json_response(200, json{{"id", ref.id}, {"username", ref.username}, {"token", token}});
    }
    if (parts.size() == 1 && get) {
      json out = json::array();
      for (auto& u : users_)
        out.push_back(user_json(u, true));
      return json_response(200, json{{"users", out}});
    }
    if (parts.size() == 3 && parts[2] == "dms" && get) {
      auto* u = user_by_any(parts[1]);
      if (!u)
        return control_error(404, "unknown user");
      json out = json::array();
      for (auto& r : rooms_)
        if (r.type == 'd' && is_member(r, u->id))
          out.push_back(room_json(r, rc::date_style::iso));
      return json_response(200, json{{"rooms", out}});
    }
    return control_error(404, "unknown control endpoint");
  }

  // ---- rooms ----
  if (parts[0] == "rooms") {
    if (parts.size() == 1 && post) {
      auto name = str("name");
      auto type = str("type").empty() ? std::string("c") : str("type");
      if (name.empty() || (type != "c" && type != "p"))
        return control_error(400, "name and type c|p are required");
      if (find_room_by_name(name))
        return control_error(409, "room name already exists");
      rc::room r;
      r.id = str("id").empty() ? new_id() : str("id");
      if (find_room(r.id))
        return control_error(409, "room id already exists");
      r.name = name;
      r.fname = name;
      r.type = type[0];
      r.topic = str("topic");
      r.read_only = body.value("read_only", false);
      r.ts = r.updated_at = clock_.now_ms();
      auto members = body.value("members", std::vector<std::string>{});
      auto owner = str("owner").empty() ? (members.empty() ? std::string() : members.front()) : str("owner");
      if (auto* o = user_by_any(owner)) {
        r.owner_id = o->id;
        r.owner_username = o->username;
      }
      auto& room = add_room(std::move(r));
      for (auto& m : members)
        if (auto* u = user_by_any(m)) {
          auto& sub = subscribe_user(room, *u, true);
          if (u->id == room.owner_id)
            sub.roles = {"owner"};
        }
      return json_response(200, json{{"id", room.id}, {"name", room.name}, {"type", type}});
    }
    if (parts.size() == 1 && get) {
      json out = json::array();
      for (auto& r : rooms_) {
        json j = room_json(r, rc::date_style::iso);
        json members = json::array();
        for (auto& uid : r.members)
          if (auto* u = find_user_by_id(uid))
            members.push_back(u->username);
        j["members"] = members;
        out.push_back(std::move(j));
      }
      return json_response(200, json{{"rooms", out}});
    }
    auto* room = parts.size() >= 2 ? find_room_by_id_or_name(parts[1]) : nullptr;
    if (!room)
      return control_error(404, "unknown room");
    if (parts.size() == 3 && parts[2] == "members" && post) {
      auto* u = user_by_any(str("username"));
      if (!u)
        return control_error(404, "unknown user");
      rc::user* inviter = str("inviter").empty() ? nullptr : user_by_any(str("inviter"));
      bool was_member = is_member(*room, u->id);
      add_user_to_room(*room, *u, body.value("system_message", true), inviter);
      return json_response(200, json{{"added", !was_member}});
    }
    if (parts.size() == 3 && parts[2] == "messages" && get) {
      bool top_only = req.param("top_level").value_or("false") == "true";
      std::vector<rc::message*> xs;
      for (auto* m : room->timeline)
        if (!top_only || m->tmid.empty())
          xs.push_back(m);
      return json_response(200, json{{"messages", iso_messages(xs)}});
    }
    return control_error(404, "unknown control endpoint");
  }

  // ---- messages: post as a user, read back ----
  if (parts[0] == "messages") {
    if (parts.size() == 1 && post) {
      auto* u = acting_user();
      if (!u)
        return control_error(404, "unknown user");
      rc::send_input in;
      auto room_ref = str("rid").empty() ? str("room") : str("rid");
      if (!room_ref.empty()) {
        auto* room = find_room_by_id_or_name(room_ref);
        if (!room)
          return control_error(404, "unknown room");
        in.rid = room->id;
      }
      in.id = str("id");
      in.msg = body.contains("text") ? str("text") : str("msg");
      in.tmid = str("tmid");
      if (body.contains("tshow") && body["tshow"].is_boolean())
        in.tshow = body["tshow"].get<bool>();
      auto* m = execute_send_message(*u, std::move(in));
      if (!m)
        return control_error(409, "duplicate message id");
      return json_response(200, json{{"message", message_json(*m, rc::date_style::iso)}});
    }
    auto* m = parts.size() >= 2 ? find_message(parts[1]) : nullptr;
    if (!m)
      return control_error(404, "unknown message");
    if (parts.size() == 2 && get)
      return json_response(200, json{{"message", message_json(*m, rc::date_style::iso)}});
    if (parts.size() == 3 && parts[2] == "reactions" && get) {
      json r = json::object();
      for (auto& x : m->reactions)
        r[x.emoji] = json{{"usernames", x.usernames}};
      return json_response(200, json{{"reactions", r}});
    }
    return control_error(404, "unknown control endpoint");
  }

  if (parts[0] == "threads" && parts.size() == 2 && get) {
    auto* root = find_message(parts[1]);
    if (!root)
      return control_error(404, "unknown message");
    auto it = thread_replies_.find(root->id);
    std::vector<rc::message*> replies = it == thread_replies_.end() ? std::vector<rc::message*>{} : it->second;
    return json_response(200, json{{"root", message_json(*root, rc::date_style::iso)}, {"replies", iso_messages(replies)}});
  }

  // ---- reactions as a user ----
  if (parts[0] == "reactions" && parts.size() == 1 && post) {
    auto* u = acting_user();
    if (!u)
      return control_error(404, "unknown user");
    auto* m = find_message(str("message_id"));
    if (!m)
      return control_error(404, "unknown message");
    auto action = str("action").empty() ? std::string("add") : str("action");
    std::optional<bool> should;
    if (action == "add")
      should = true;
    else if (action == "remove")
      should = false;
    else if (action != "toggle")
      return control_error(400, "action must be add, remove or toggle");
    set_reaction(*u, *m, str("emoji"), should);
    json r = json::object();
    for (auto& x : m->reactions)
      r[x.emoji] = json{{"usernames", x.usernames}};
    return json_response(200, json{{"reactions", r}});
  }

  // ---- a button click, as the web client performs it (reference §5.2/§5.3) ----
  if (parts[0] == "click" && parts.size() == 1 && post) {
    auto* u = acting_user();
    if (!u)
      return control_error(404, "unknown user");
    auto* m = find_message(str("message_id"));
    if (!m)
      return control_error(404, "unknown message");
    auto* room = find_room(m->rid);
    if (!room || !can_access_room(*room, *u))
      return control_error(403, "the user cannot see this message");
    // Collect the buttons in display order.
    std::vector<const json*> buttons;
    if (m->attachments.is_array())
      for (auto& a : m->attachments)
        if (a.is_object() && a.contains("actions") && a["actions"].is_array())
          for (auto& act : a["actions"])
            buttons.push_back(&act);
    const json* button = nullptr;
    auto sel = body.value("button", json());
    if (sel.is_number_integer()) {
      auto i = sel.get<int64_t>();
      if (i >= 0 && i < static_cast<int64_t>(buttons.size()))
        button = buttons[static_cast<size_t>(i)];
    } else if (sel.is_string()) {
      for (auto* b : buttons)
        if (b->value("text", json()).is_string() && b->value("text", std::string()) == sel.get<std::string>()) {
          button = b;
          break;
        }
    }
    if (!button)
      return control_error(404, "no such button");
    auto field = [&](const char* k) {
      auto it = button->find(k);
      return it != button->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    bool in_chat = button->value("msg_in_chat_window", json(false)).is_boolean() &&
                   button->value("msg_in_chat_window", json(false)).get<bool>();
    // ActionAttachtment.tsx renders a button only for type "button" with text or image_url and url or msg_in_chat_window.
    bool rendered = field("type") == "button" && (!field("text").empty() || !field("image_url").empty()) &&
                    (!field("url").empty() || in_chat);
    if (!rendered)
      return control_error(409, "this button is not rendered by the web client");
    if (!field("url").empty())
      return json_response(200, json{{"posted", false}, {"opened_url", field("url")}});
    auto processing = field("msg_processing_type").empty() ? std::string("sendMessage") : field("msg_processing_type");
    auto text = field("msg");
    if (processing == "respondWithMessage")
      return json_response(200, json{{"posted", false}, {"composer", text}});
    if (processing == "respondWithQuotedMessage")
      return json_response(200, json{{"posted", false}, {"composer", ""}, {"quoted_message_id", field("msgId")}});
    if (processing != "sendMessage")
      return control_error(400, "unknown msg_processing_type");
    if (text.empty())
      return json_response(200, json{{"posted", false}});
    bool in_thread = body.contains("in_thread") && body["in_thread"].is_boolean() ? body["in_thread"].get<bool>()
                                                                                 : !m->tmid.empty();
    std::string tmid = in_thread ? (m->tmid.empty() ? m->id : m->tmid) : std::string();
    bool joined = false;
    if (!is_member(*room, u->id)) {
      if (room->type != 'c')
        return control_error(403, "the user cannot join this room");
      add_user_to_room(*room, *u, true, nullptr);
      joined = true;
    }
    // "+:emoji:" becomes a reaction on the last message of the chat context (processSetReaction).
    if (text.size() > 3 && text[0] == '+' && text[1] == ':' && text.back() == ':') {
      auto emoji = text.substr(1);
      if (rc::is_known_emoji(emoji)) {
        rc::message* last = nullptr;
        if (!tmid.empty()) {
          auto it = thread_replies_.find(tmid);
          last = it != thread_replies_.end() && !it->second.empty() ? it->second.back() : find_message(tmid);
        } else {
          for (auto r = room->timeline.rbegin(); r != room->timeline.rend(); ++r)
            if ((*r)->tmid.empty() || (*r)->tshow == true) {
              last = *r;
              break;
            }
        }
        if (last)
          set_reaction(*u, *last, emoji, std::nullopt);
        return json_response(200, json{{"posted", false}, {"reacted", last != nullptr}, {"joined", joined}});
      }
    }
    rc::send_input in;
    in.id = new_id();
    in.rid = room->id;
    in.msg = text;
    in.tmid = tmid;
    auto* sent = execute_send_message(*u, std::move(in));
    if (!sent)
      return control_error(409, "duplicate message id");
    return json_response(200, json{{"posted", true}, {"joined", joined}, {"message", message_json(*sent, rc::date_style::iso)}});
  }

  if (parts[0] == "drop" && parts.size() == 1 && post) {
    auto n = sessions_.size();
    drop_all_connections();
    return json_response(200, json{{"dropped", n}});
  }
  if (parts[0] == "sessions" && parts.size() == 1 && get) {
    json out = json::array();
    for (auto& [id, s] : sessions_) {
      json subs = json::array();
      for (auto& [sid, sub] : s.subs)
        subs.push_back(json{{"id", sid}, {"name", sub.stream}, {"event", sub.event}});
      out.push_back(json{{"id", id}, {"connected", s.connected}, {"user_id", s.uid}, {"subs", subs}});
    }
    return json_response(200, json{{"sessions", out}});
  }
  return control_error(404, "unknown control endpoint");
}

} // namespace dutydesk::sim
