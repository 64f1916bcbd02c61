#include "io/chat_gateway.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "io/api_result.hpp"
#include "io/ddp_session.hpp"
#include "io/hmac.hpp"
#include "io/io_runtime.hpp"
#include "io/rocketchat_rest.hpp"

namespace dutydesk::io {

namespace {

/// What an I/O callback hands back to the adapter actor.
struct chat_completion {
  bool ok = false;
  actors::posted value;
  std::string error;
  ec code = ec::chat_failed; // when !ok
};

} // namespace
} // namespace dutydesk::io

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::io::chat_completion)

namespace dutydesk::io {

namespace {

using gateway_actor
  = actors::chat_actor::extend<caf::reacts_to<atom::done, std::uint64_t, chat_completion>>;

} // namespace

std::string message_id_for(std::string_view key) {
  static constexpr std::string_view alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  auto hex = hmac_sha256_hex("dutydesk message id", key);
  std::string result;
  for (std::size_t i = 0; i + 1 < hex.size() && result.size() < 17; i += 2) {
    auto byte = static_cast<unsigned>(std::stoul(hex.substr(i, 2), nullptr, 16));
    result.push_back(alphabet[byte % alphabet.size()]);
  }
  return result;
}

struct chat_gateway::impl {
  caf::actor_system& sys;
  io_runtime& runtime;
  chat_gateway_config cfg;
  // Everything below is used on the I/O thread only, except `bot`, `room_ids` and `room_types` (written by open()
  // before anything else reads them) and the stats (under `stats_mutex`).
  std::unique_ptr<rocketchat_rest> rest;
  std::unique_ptr<ddp_session> ddp;
  std::string bot;
  std::map<std::string, std::string> room_ids;   // name -> id
  std::map<std::string, std::string> room_names; // id -> name
  std::map<std::string, std::string> room_types; // name -> t
  std::map<std::string, std::string> dm_rooms;   // username -> DM room id
  std::shared_ptr<const actors::channel_directory> dir;
  actors::dm_actor dm_sink; // DM intake; null: DMs are not listened to
  gateway_actor actor;
  bool connected = false; // connect() was called (main thread only)
  bool stopped = false;   // stop() ran (main thread only)
  mutable std::mutex stats_mutex;
  chat_gateway_stats stats;

  impl(caf::actor_system& s, io_runtime& r, chat_gateway_config c) : sys(s), runtime(r), cfg(std::move(c)) {}

  /// `room` is a configured room's name, or "" for a DM (then `rid` names the DM room).
  std::string permalink(const std::string& room, const std::string& id, const std::string& rid = {}) const {
    if (room.empty())
      return cfg.base_url + "/direct/" + rid + "?msg=" + id;
    auto t = room_types.find(room);
    auto kind = t != room_types.end() && t->second == "p" ? "/group/" : "/channel/";
    return cfg.base_url + kind + room + "?msg=" + id;
  }

  void count(std::uint64_t chat_gateway_stats::*field) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    ++(stats.*field);
  }

  chat_gateway_stats stats_snapshot() {
    std::lock_guard<std::mutex> lock(stats_mutex);
    return stats;
  }

  // -- I/O thread ---------------------------------------------------------------------------------------------------

  void send(std::uint64_t corr, send_message_args args, std::string room) {
    rest->send_message(args, [this, corr, room, rid = args.rid](api_result<chat_message> r) {
      chat_completion c;
      if (r.ok()) {
        c.ok = true;
        c.value = actors::posted{r->id, permalink(room, r->id, rid)};
        count(&chat_gateway_stats::posts);
      } else {
        c.error = "chat.sendMessage: " + describe(r.error());
        count(&chat_gateway_stats::failures);
      }
      caf::anon_send(actor, atom::done_v, corr, std::move(c));
    });
  }

  void post(std::uint64_t corr, const actors::chat_post& p) {
    auto id = room_ids.find(p.room);
    if (id == room_ids.end())
      return fail(corr, "room #" + p.room + " is not configured", ec::unknown_room);
    send_message_args a;
    a.id = message_id_for(p.key);
    a.rid = id->second;
    a.msg = p.text;
    a.tmid = p.tmid;
    if (!p.buttons.empty())
      a.attachments.push_back(button_attachment(p.buttons));
    send(corr, std::move(a), p.room);
  }

  /// One attachment whose actions are `buttons` (a click posts the button's msg as the user, reference §5.3).
  static rc_attachment button_attachment(const std::vector<domain::button>& buttons) {
    rc_attachment att;
    for (const auto& b : buttons)
      att.buttons.push_back(rc_button{b.text, b.msg, "", "sendMessage"});
    return att;
  }

  void react(std::uint64_t corr, const actors::chat_reaction& r) {
    rest->react(r.message_id, r.emoji, r.add, [this, corr](api_result<std::monostate> res) {
      chat_completion c;
      c.ok = res.ok();
      if (!res.ok()) {
        c.error = "chat.react: " + describe(res.error());
        if (res.error().code == api_errc::rejected)
          c.code = ec::chat_rejected;
        count(&chat_gateway_stats::failures);
      }
      caf::anon_send(actor, atom::done_v, corr, std::move(c));
    });
  }

  /// Calls `go` with the DM room of `user` (cached, else im.create); fails `corr` when it cannot be opened.
  void with_dm_room(std::uint64_t corr, const std::string& user, std::function<void(const std::string&)> go) {
    if (auto i = dm_rooms.find(user); i != dm_rooms.end())
      return go(i->second);
    rest->im_create(user, [this, corr, user, go = std::move(go)](api_result<rc_room> r) {
      if (!r.ok()) {
        count(&chat_gateway_stats::failures);
        return fail(corr, "im.create " + user + ": " + describe(r.error()));
      }
      dm_rooms[user] = r->id;
      if (ddp)
        ddp->add_direct_room(r->id);
      go(r->id);
    });
  }

  void dm(std::uint64_t corr, const actors::chat_dm& d) {
    with_dm_room(corr, d.user, [this, corr, d](const std::string& rid) {
      send_message_args a;
      a.id = message_id_for(d.key);
      a.rid = rid;
      a.msg = d.text;
      if (!d.buttons.empty())
        a.attachments.push_back(button_attachment(d.buttons));
      send(corr, std::move(a), "");
    });
  }

  void edit(std::uint64_t corr, const actors::chat_edit& e) {
    with_dm_room(corr, e.user, [this, corr, e](const std::string& rid) {
      rest->update_message(rid, message_id_for(e.key), e.text, [this, corr](api_result<chat_message> r) {
        chat_completion c;
        c.ok = r.ok();
        if (r.ok()) {
          count(&chat_gateway_stats::edits);
        } else {
          c.error = "chat.update: " + describe(r.error());
          count(&chat_gateway_stats::failures);
        }
        caf::anon_send(actor, atom::done_v, corr, std::move(c));
      });
    });
  }

  void fail(std::uint64_t corr, std::string text, ec code = ec::chat_failed) {
    chat_completion c;
    c.error = std::move(text);
    c.code = code;
    caf::anon_send(actor, atom::done_v, corr, std::move(c));
  }

  void deliver(const chat_message& m) {
    auto name = room_names.find(m.rid);
    if (name == room_names.end() || !dir) {
      count(&chat_gateway_stats::unrouted);
      return;
    }
    auto target = dir->by_room.find(name->second);
    if (target == dir->by_room.end()) {
      count(&chat_gateway_stats::unrouted);
      return;
    }
    actors::chat_event ev;
    ev.msg.id = m.id;
    ev.msg.room = name->second;
    ev.msg.author = m.u.username;
    ev.msg.author_name = m.u.name;
    ev.msg.text = m.msg;
    if (!m.tmid.empty())
      ev.msg.thread_id = m.tmid;
    if (!m.t.empty())
      ev.msg.type = m.t;
    ev.msg.edited = m.edited_at_ms.has_value();
    ev.ts_ms = m.ts_ms;
    ev.updated_ms = m.updated_at_ms;
    for (const auto& [emoji, users] : m.reactions)
      ev.reactions.emplace_back(emoji, users);
    ev.permalink = permalink(name->second, m.id);
    count(&chat_gateway_stats::delivered);
    caf::anon_send(target->second, atom::chat_v, std::move(ev));
  }

  void deliver_direct(const chat_message& m) {
    if (!dm_sink || m.u.id == cfg.user_id || !m.t.empty())
      return; // the bot's own DMs (and their edits) and system messages are not user input
    actors::chat_event ev;
    ev.direct = true;
    ev.msg.id = m.id;
    ev.msg.room = m.rid;
    ev.msg.author = m.u.username;
    ev.msg.author_name = m.u.name;
    ev.msg.text = m.msg;
    if (!m.tmid.empty())
      ev.msg.thread_id = m.tmid;
    ev.msg.edited = m.edited_at_ms.has_value();
    ev.ts_ms = m.ts_ms;
    ev.updated_ms = m.updated_at_ms;
    for (const auto& [emoji, users] : m.reactions)
      ev.reactions.emplace_back(emoji, users);
    ev.permalink = permalink("", m.id, m.rid);
    count(&chat_gateway_stats::direct);
    caf::anon_send(dm_sink, atom::chat_v, std::move(ev));
  }
};

namespace {

struct gateway_state {
  static constexpr const char* name = "chat-gateway";
  std::shared_ptr<chat_gateway::impl> impl;
  std::uint64_t next = 0;
  std::map<std::uint64_t, caf::typed_response_promise<actors::posted>> posts;
  std::map<std::uint64_t, caf::typed_response_promise<bool>> reacts; // reactions and edits
};

gateway_actor::behavior_type gateway(gateway_actor::stateful_pointer<gateway_state> self,
                                     std::shared_ptr<chat_gateway::impl> impl) {
  self->state.impl = std::move(impl);
  return {
    [self](atom::post, actors::chat_post p) -> caf::typed_response_promise<actors::posted> {
      auto corr = ++self->state.next;
      auto rp = self->make_response_promise<actors::posted>();
      self->state.posts.emplace(corr, rp);
      auto impl = self->state.impl;
      impl->runtime.post([impl, corr, p = std::move(p)] { impl->post(corr, p); });
      return rp;
    },
    [self](atom::react, actors::chat_reaction r) -> caf::typed_response_promise<bool> {
      auto corr = ++self->state.next;
      auto rp = self->make_response_promise<bool>();
      self->state.reacts.emplace(corr, rp);
      auto impl = self->state.impl;
      impl->runtime.post([impl, corr, r = std::move(r)] { impl->react(corr, r); });
      return rp;
    },
    [self](atom::dm, actors::chat_dm d) -> caf::typed_response_promise<actors::posted> {
      auto corr = ++self->state.next;
      auto rp = self->make_response_promise<actors::posted>();
      self->state.posts.emplace(corr, rp);
      auto impl = self->state.impl;
      impl->runtime.post([impl, corr, d = std::move(d)] { impl->dm(corr, d); });
      return rp;
    },
    [self](atom::edit, actors::chat_edit e) -> caf::typed_response_promise<bool> {
      auto corr = ++self->state.next;
      auto rp = self->make_response_promise<bool>();
      self->state.reacts.emplace(corr, rp);
      auto impl = self->state.impl;
      impl->runtime.post([impl, corr, e = std::move(e)] { impl->edit(corr, e); });
      return rp;
    },
    [self](atom::done, std::uint64_t corr, chat_completion c) {
      auto err = [&] { return make_error(c.code, c.error); };
      if (auto i = self->state.posts.find(corr); i != self->state.posts.end()) {
        if (c.ok)
          i->second.deliver(std::move(c.value));
        else
          i->second.deliver(err());
        self->state.posts.erase(i);
      } else if (auto j = self->state.reacts.find(corr); j != self->state.reacts.end()) {
        if (c.ok)
          j->second.deliver(true);
        else
          j->second.deliver(err());
        self->state.reacts.erase(j);
      }
      if (!c.ok)
        spdlog::warn("chat gateway fails a call: {}", c.error);
    },
  };
}

// Runs `fn(done)` on the I/O thread and waits for done(error) at most `limit`.
caf::error wait_io(io_runtime& rt, std::chrono::milliseconds limit,
                   std::function<void(std::function<void(caf::error)>)> fn) {
  auto p = std::make_shared<std::promise<caf::error>>();
  auto f = p->get_future();
  rt.post([p, fn = std::move(fn)] {
    auto once = std::make_shared<std::once_flag>();
    fn([p, once](caf::error e) { std::call_once(*once, [&] { p->set_value(std::move(e)); }); });
  });
  if (f.wait_for(limit) != std::future_status::ready)
    return make_error(ec::chat_failed, "no answer from Rocket.Chat within the open timeout");
  return f.get();
}

} // namespace

chat_gateway::chat_gateway(caf::actor_system& sys, io_runtime& runtime, chat_gateway_config config)
  : impl_(std::make_shared<impl>(sys, runtime, std::move(config))) {
}

chat_gateway::~chat_gateway() {
  stop();
}

caf::error chat_gateway::open() {
  auto& i = *impl_;
  if (i.cfg.auth_token.empty() && !i.cfg.username.empty()) {
    // Password login: Rocket.Chat answers {"status":"success","data":{"userId","authToken",...}}, or 401
    // {"status":"error","error":"Unauthorized"}; a user with two-factor authentication gets 400 totp-required.
    auto login_err = wait_io(i.runtime, i.cfg.open_timeout, [&i](std::function<void(caf::error)> done) {
      http_request req;
      req.system = "rocketchat";
      req.method = http_method::post;
      req.url = i.cfg.base_url + "/api/v1/login";
      req.body = nlohmann::json{{"user", i.cfg.username}, {"password", i.cfg.password}}.dump();
      i.runtime.http().request(std::move(req), [&i, done](http_result r) {
        api_error e;
        if (classify_http_failure(r, e)) {
          auto j = nlohmann::json::parse(r.response.body, nullptr, false);
          std::string what = j.is_object() ? j.value("errorType", j.value("error", std::string{})) : std::string{};
          if (what == "totp-required")
            return done(make_error(ec::chat_failed, "POST login as " + i.cfg.username +
                                                        ": the user has two-factor authentication; use a personal "
                                                        "access token (rocketchat.user_id + auth_token)"));
          return done(make_error(ec::chat_failed, "POST login as " + i.cfg.username + ": " + describe(e)));
        }
        auto j = nlohmann::json::parse(r.response.body, nullptr, false);
        const nlohmann::json* data = j.is_object() && j.contains("data") ? &j["data"] : nullptr;
        if (!data || !data->is_object() || !data->contains("userId") || !(*data)["userId"].is_string() ||
            !data->contains("authToken") || !(*data)["authToken"].is_string())
          return done(make_error(ec::chat_failed, "POST login as " + i.cfg.username + ": unexpected answer"));
        i.cfg.user_id = (*data)["userId"].get<std::string>();
        i.cfg.auth_token = (*data)["authToken"].get<std::string>();
        done({});
      });
    });
    if (login_err)
      return login_err;
    spdlog::info("chat gateway: logged in to Rocket.Chat as {} with its password", i.cfg.username);
  }
  auto err = wait_io(i.runtime, i.cfg.open_timeout, [&i](std::function<void(caf::error)> done) {
    i.rest = std::make_unique<rocketchat_rest>(i.runtime.http(), i.cfg.base_url,
                                               rc_credentials{i.cfg.user_id, i.cfg.auth_token});
    i.rest->me([&i, done](api_result<rc_user> r) {
      if (!r.ok())
        return done(make_error(ec::chat_failed, "GET me (login): " + describe(r.error())));
      i.bot = r->username;
      done({});
    });
  });
  if (err)
    return err;
  for (const auto& room : i.cfg.rooms) {
    err = wait_io(i.runtime, i.cfg.open_timeout, [&i, room](std::function<void(caf::error)> done) {
      http_request req;
      req.system = "rocketchat";
      req.url = i.cfg.base_url + "/api/v1/rooms.info?roomName=" + url_encode(room);
      req.headers = {{"X-User-Id", i.cfg.user_id}, {"X-Auth-Token", i.cfg.auth_token}};
      i.runtime.http().request(std::move(req), [&i, room, done](http_result r) {
        api_error e;
        if (classify_http_failure(r, e)) {
          if (e.status == 400 || e.status == 404)
            return done(make_error(ec::unknown_room, "room #" + room + " does not exist in Rocket.Chat (or the bot "
                                                     "cannot see it)"));
          return done(make_error(ec::chat_failed, "rooms.info #" + room + ": " + describe(e)));
        }
        auto j = nlohmann::json::parse(r.response.body, nullptr, false);
        if (!j.is_object() || !j.contains("room") || !j["room"].contains("_id") || !j["room"]["_id"].is_string())
          return done(make_error(ec::chat_failed, "rooms.info #" + room + ": unexpected answer"));
        auto id = j["room"]["_id"].get<std::string>();
        i.room_ids[room] = id;
        i.room_names[id] = room;
        i.room_types[room] = j["room"].value("t", "c");
        done({});
      });
    });
    if (err)
      return err;
  }
  i.actor = i.sys.spawn(gateway, impl_);
  spdlog::info("chat gateway logs in as {} and resolves {} rooms", i.bot, i.room_ids.size());
  return {};
}

const std::string& chat_gateway::bot_username() const {
  return impl_->bot;
}

actors::chat_actor chat_gateway::actor() const {
  return caf::actor_cast<actors::chat_actor>(impl_->actor);
}

void chat_gateway::connect(std::shared_ptr<const actors::channel_directory> dir) {
  connect(std::move(dir), actors::dm_actor{}, {});
}

void chat_gateway::connect(std::shared_ptr<const actors::channel_directory> dir, actors::dm_actor dms,
                           std::vector<std::string> dm_room_ids) {
  auto impl = impl_;
  impl->connected = true;
  impl->runtime.post([impl, dir = std::move(dir), dms = std::move(dms), dm_room_ids = std::move(dm_room_ids)] {
    impl->dir = dir;
    impl->dm_sink = dms;
    ddp_session_config c;
    if (dms) {
      c.direct_messages = true;
      c.direct_room_ids = dm_room_ids;
      for (const auto& [user, rid] : impl->dm_rooms)
        c.direct_room_ids.push_back(rid);
    }
    c.url = impl->cfg.base_url;
    c.token = impl->cfg.auth_token;
    for (const auto& [name, id] : impl->room_ids)
      c.room_ids.push_back(id);
    c.backfill_since_ms = impl->cfg.backfill_since_ms;
    c.handshake_timeout = impl->cfg.handshake_timeout;
    c.idle_ping = impl->cfg.idle_ping;
    c.pong_timeout = impl->cfg.pong_timeout;
    c.reconnect_base = impl->cfg.reconnect_base;
    c.reconnect_max = impl->cfg.reconnect_max;
    c.tls = impl->cfg.tls;
    ddp_callbacks cb;
    auto* raw = impl.get();
    cb.on_message = [raw](const chat_message& m) { raw->deliver(m); };
    cb.on_direct = [raw](const chat_message& m) { raw->deliver_direct(m); };
    cb.on_state = [raw](ddp_state s, const std::string& detail) {
      if (s == ddp_state::live)
        raw->count(&chat_gateway_stats::lives);
      else if (s == ddp_state::waiting)
        raw->count(&chat_gateway_stats::drops);
      if (const auto& m = raw->cfg.metrics) {
        if (s == ddp_state::live) {
          m->websocket_connected(true);
          if (raw->stats_snapshot().lives > 1)
            m->websocket_reconnect();
        } else if (s != ddp_state::connecting) {
          m->websocket_connected(false);
        }
      }
      if (s == ddp_state::waiting || s == ddp_state::auth_failed)
        spdlog::warn("realtime connection is {}: {}", to_string(s), detail);
      else
        spdlog::info("realtime connection is {}", to_string(s));
    };
    cb.on_subscription_error = [raw](const std::string& room_id, const meteor_error& e) {
      auto name = raw->room_names.count(room_id) ? "#" + raw->room_names.at(room_id) : room_id;
      spdlog::error("realtime subscription to {} fails: {} {}", name, e.error, e.reason);
    };
    cb.on_log = [](std::string_view text) { spdlog::warn("realtime connection: {}", text); };
    impl->ddp = std::make_unique<ddp_session>(impl->runtime.context(), *impl->rest, std::move(c), std::move(cb));
    impl->ddp->start();
  });
}

void chat_gateway::drop() {
  auto impl = impl_;
  impl->runtime.run_sync([impl] {
    if (impl->ddp)
      impl->ddp->drop();
  });
}

void chat_gateway::stop() {
  auto impl = impl_;
  if (impl->stopped)
    return;
  impl->stopped = true;
  if (impl->connected)
    impl->runtime.run_sync([impl] {
      if (impl->ddp) {
        impl->ddp->stop();
        impl->ddp.reset();
      }
      impl->dir.reset();
      impl->dm_sink = actors::dm_actor{};
    });
  if (impl->actor)
    caf::anon_send_exit(impl->actor, caf::exit_reason::user_shutdown);
}

chat_gateway_stats chat_gateway::stats() const {
  std::lock_guard<std::mutex> lock(impl_->stats_mutex);
  return impl_->stats;
}

} // namespace dutydesk::io
