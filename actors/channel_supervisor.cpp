#include "actors/channel_supervisor.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <optional>
#include <utility>

#include "actors/error.hpp"
#include "domain/commands.hpp"

namespace dutydesk::actors {

namespace {

using self_ptr = channel_actor::stateful_pointer<channel_state>;
using job_ptr = std::shared_ptr<channel_state::handling>;
using reaction_set = std::set<std::pair<std::string, std::string>>;

constexpr std::chrono::seconds storage_timeout{30};
constexpr std::chrono::seconds duty_timeout{30};
/// Restarts after error exits per root and supervisor lifetime.
constexpr int max_restarts = 5;
constexpr std::chrono::milliseconds restart_backoff{500};

bool is_open(const domain::request_record& r) {
  return r.phase != domain::request_phase::moved;
}

bool running(self_ptr self, const std::string& root) {
  return self->state.by_root.count(root) > 0;
}

bool known(self_ptr self, const std::string& root) {
  return running(self, root) || self->state.pending_roots.count(root) > 0;
}

reaction_set pairs_of(const chat_event& ev) {
  reaction_set result;
  for (const auto& [emoji, users] : ev.reactions)
    for (const auto& user : users)
      result.emplace(emoji, user);
  return result;
}

// -- the cursor ---------------------------------------------------------------------------------------------------

/// Writes the cursor when the newest finished message older than everything in flight moved past the last write.
void advance_cursor(self_ptr self) {
  auto& st = self->state;
  auto limit = st.in_flight.empty() ? std::numeric_limits<std::int64_t>::max() : *st.in_flight.begin();
  auto it = st.done.lower_bound(limit);
  if (it == st.done.begin())
    return;
  --it;
  auto ts = it->first;
  auto id = it->second;
  st.done.erase(st.done.begin(), std::next(it));
  if (ts <= st.cursor_written)
    return;
  st.cursor_written = ts;
  st.newest_done_ts = ts;
  st.newest_done_id = id;
  auto room = st.args.room;
  self->request(st.args.storage, storage_timeout, atom::cursor_v, cursor_update{room, ts, id})
    .then([](bool) {},
          [room, ts](caf::error& err) {
            spdlog::error("channel {}: writing the cursor {} failed: {}", room, ts, describe(err));
          });
}

job_ptr begin(self_ptr self, const chat_event& ev) {
  self->state.in_flight.insert(ev.ts_ms);
  auto j = std::make_shared<channel_state::handling>();
  j->ts_ms = ev.ts_ms;
  j->message_id = ev.msg.id;
  return j;
}

void hold(const job_ptr& j) {
  ++j->open;
}

void release(self_ptr self, const job_ptr& j) {
  if (--j->open > 0)
    return;
  if (j->finished)
    j->finished();
  if (!j->cursor)
    return;
  auto& st = self->state;
  auto it = st.in_flight.find(j->ts_ms);
  if (it != st.in_flight.end())
    st.in_flight.erase(it);
  if (j->ts_ms > st.cursor_written) {
    auto& id = st.done[j->ts_ms];
    if (id.empty() || j->message_id > id)
      id = j->message_id;
  }
  advance_cursor(self);
}

// -- children -----------------------------------------------------------------------------------------------------

/// The root is no longer pending: runs what waited for it.
void settle(self_ptr self, const std::string& root) {
  auto& st = self->state;
  st.pending_roots.erase(root);
  auto it = st.waiters.find(root);
  if (it == st.waiters.end())
    return;
  auto work = std::move(it->second);
  st.waiters.erase(it);
  for (auto& f : work)
    f();
}

/// Spawns a request actor for `root` with `start`, monitors it and records it.
bool spawn_child(self_ptr self, const std::string& root, const std::string& request_id, domain::event start,
                 std::vector<domain::event> then = {}) {
  auto& st = self->state;
  request_args a{st.args.params, std::move(start), std::move(then),
                 request_deps{st.args.chat, st.args.storage, st.args.channels, st.args.now, st.args.jira,
                              st.args.events, st.args.relay, st.args.metrics}};
  auto h = st.args.spawn ? st.args.spawn(self->system(), std::move(a)) : spawn_request(self->system(), std::move(a));
  if (!h) {
    spdlog::error("channel {}: spawning the request actor of {} failed", st.args.room, root);
    return false;
  }
  self->monitor(h);
  st.root_of[h.address()] = root;
  st.by_root[root] = channel_state::live_request{h, request_id};
  return true;
}

void send_forward(self_ptr self, const std::string& root,
                  std::variant<domain::thread_reply, domain::reaction_added, jira_update, feedback_update> msg,
                  const job_ptr& j);

/// A restored request without an issue key that storage links to an issue gets the link again. The Jira bridge
/// commits "issue created, linked" before it hands `jira_linked` to the request; a process killed in between left
/// the request without its link note and key (found by the chaos run), and nothing else would ever send it. A
/// request that has its key already ignores a second `jira_linked`.
void relink(self_ptr self, const domain::request_record& r) {
  auto& st = self->state;
  if (!st.args.params.jira || !r.jira_key.empty() || !is_open(r))
    return;
  auto root = r.root_message_id;
  auto id = r.request_id;
  self->request(st.args.storage, storage_timeout, atom::jira_v, jira_link_query{id, ""})
    .then(
      [self, root, id](jira_link_answer& a) {
        if (!a.link || a.link->request_id != id || a.link->issue_key.empty() || !running(self, root))
          return;
        spdlog::info("channel {}: request {} is linked to {} in storage: handing it the link again",
                     self->state.args.room, id, a.link->issue_key);
        auto j = std::make_shared<channel_state::handling>();
        j->cursor = false;
        send_forward(self, root, jira_update{id, domain::jira_linked{a.link->issue_key, a.link->url, ""}}, j);
        release(self, j);
      },
      [self, id](caf::error& err) {
        spdlog::warn("channel {}: looking up the Jira link of {} failed: {}", self->state.args.room, id,
                     describe(err));
      });
}

bool spawn_restored(self_ptr self, domain::request_record record) {
  auto root = record.root_message_id;
  auto id = record.request_id;
  auto check = record;
  if (!spawn_child(self, root, id, domain::restored{std::move(record)}))
    return false;
  relink(self, check);
  return true;
}

/// Drops what the supervisor remembers about a request that is gone for good.
void forget(self_ptr self, const std::string& root) {
  self->state.created_of.erase(root);
  self->state.reactions.erase(root);
  self->state.reactions_version.erase(root);
}

/// Hands `msg` to the running request of `root`; the job stays in flight until the actor answered.
using forwarded = std::variant<domain::thread_reply, domain::reaction_added, jira_update, feedback_update>;

void send_forward(self_ptr self, const std::string& root, forwarded msg, const job_ptr& j) {
  auto& st = self->state;
  auto it = st.by_root.find(root);
  if (it == st.by_root.end())
    return;
  auto hdl = it->second.handle;
  hold(j);
  auto seq = ++st.next_forward;
  st.forwards.emplace(seq, channel_state::forward{root, hdl.address(), msg, j});
  auto on_value = [self, seq](bool) {
    auto& fs = self->state.forwards;
    auto f = fs.find(seq);
    if (f == fs.end())
      return;
    auto job = f->second.job;
    fs.erase(f);
    release(self, job);
  };
  auto on_error = [self, seq](caf::error& err) {
    auto& fs = self->state.forwards;
    auto f = fs.find(seq);
    if (f == fs.end())
      return;
    // A request actor answers an error only as it fails (it quits with that error right after), and a dead one
    // answers request_receiver_down: either way its down message follows, and the down handler replays the
    // message to the restarted actor.
    if (self->state.root_of.count(f->second.to) > 0)
      return;
    spdlog::warn("channel {}: the request of {} failed a message: {}", self->state.args.room, f->second.root,
                 describe(err));
    auto job = f->second.job;
    fs.erase(f);
    release(self, job);
  };
  if (auto* tr = std::get_if<domain::thread_reply>(&msg))
    self->request(hdl, caf::infinite, atom::reply_v, *tr).then(on_value, on_error);
  else if (auto* ju = std::get_if<jira_update>(&msg))
    self->request(hdl, caf::infinite, atom::jira_v, *ju).then(on_value, on_error);
  else if (auto* fu = std::get_if<feedback_update>(&msg))
    self->request(hdl, caf::infinite, atom::rate_v, *fu).then(on_value, on_error);
  else
    self->request(hdl, caf::infinite, atom::reaction_v, std::get<domain::reaction_added>(msg)).then(on_value, on_error);
}

/// Queues `f` until the pending root settles.
void after_pending(self_ptr self, const std::string& root, std::function<void()> f) {
  self->state.waiters[root].push_back(std::move(f));
}

// -- reactions ----------------------------------------------------------------------------------------------------

void diff_now(self_ptr self, const std::string& root, const chat_event& ev, const job_ptr& j) {
  auto& st = self->state;
  auto cur = pairs_of(ev);
  auto seen = st.reactions.find(root);
  if (seen == st.reactions.end()) {
    st.reactions[root] = std::move(cur); // the first version seen only sets the baseline
    st.reactions_version[root] = ev.updated_ms;
    return;
  }
  auto& version = st.reactions_version[root];
  if (ev.updated_ms < version)
    return; // an older version than the one the baseline is from
  for (const auto& [emoji, user] : cur)
    if (seen->second.count({emoji, user}) == 0 && user != st.args.params.bot_user)
      send_forward(self, root, domain::reaction_added{user, emoji}, j);
  seen->second = std::move(cur);
  version = ev.updated_ms;
}

void set_baseline(self_ptr self, const std::string& root, reaction_set baseline, std::int64_t version) {
  self->state.reactions[root] = std::move(baseline);
  self->state.reactions_version[root] = version;
}

// -- opening requests ---------------------------------------------------------------------------------------------

/// Opens the request of `c.root_message_id` unless storage knows it: restores it when it is stored and open, does
/// nothing when it is stored and closed, else resolves the on-duty and spawns it with `created`. The root is
/// pending meanwhile. `baseline`: the reactions creation counts as seen. `done` gets the failure, if any.
void open_request(self_ptr self, domain::created c, reaction_set baseline, std::int64_t version,
                  std::function<void(const caf::error&)> done) {
  auto& st = self->state;
  auto root = c.root_message_id;
  st.pending_roots.insert(root);
  auto finish = [self, root, done](const caf::error& err) {
    settle(self, root);
    done(err);
  };
  auto create = [self, c, baseline, version, finish](domain::duty_resolution on_duty) mutable {
    c.on_duty = std::move(on_duty);
    auto root = c.root_message_id;
    auto id = c.request_id;
    self->state.created_of[root] = c;
    if (spawn_child(self, root, id, std::move(c))) {
      ++self->state.stats.requests_created;
      set_baseline(self, root, std::move(baseline), version);
      finish(caf::error{});
    } else {
      finish(make_error(ec::unavailable, "spawning the request actor failed"));
    }
  };
  self->request(st.args.storage, storage_timeout, atom::find_v, root)
    .then(
      [self, root, baseline, version, create, finish](found_request& found) mutable {
        auto& st = self->state;
        if (found.record) {
          if (is_open(*found.record) && spawn_restored(self, std::move(*found.record)))
            set_baseline(self, root, std::move(baseline), version);
          finish(caf::error{});
          return;
        }
        self->request(st.args.duty, duty_timeout, atom::duty_v, st.args.room)
          .then([create](domain::duty_resolution& res) mutable { create(std::move(res)); },
                [self, create](caf::error& err) mutable {
                  auto& st = self->state;
                  spdlog::warn("channel {}: asking who is on duty failed: {}", st.args.room, describe(err));
                  domain::duty_resolution res;
                  res.users = st.args.params.fallback;
                  res.source = domain::duty_source::error;
                  res.reason = "duty lookup failed: " + describe(err);
                  res.fallback_used = true;
                  create(std::move(res));
                });
      },
      [self, root, finish](caf::error& err) {
        spdlog::error("channel {}: looking up request {} failed: {}", self->state.args.room, root, describe(err));
        finish(err);
      });
}

void new_request(self_ptr self, const chat_event& ev, const job_ptr& j) {
  auto& st = self->state;
  domain::created c{ev.msg.id, st.args.room, ev.msg.id, ev.msg.author, ev.msg.text, ev.permalink, {}};
  hold(j);
  open_request(self, std::move(c), pairs_of(ev), ev.updated_ms, [self, j](const caf::error&) { release(self, j); });
}

/// Hands `msg` to the request of `root`: the running actor, else the stored one if it is open (restored for it). A
/// command (`is_command`) to a moved request wakes a short-lived actor for the "moved there" note.
void route_to(self_ptr self, const std::string& root, forwarded tr, bool is_command, const job_ptr& j) {
  auto& st = self->state;
  if (running(self, root)) {
    send_forward(self, root, tr, j);
    return;
  }
  hold(j);
  if (st.pending_roots.count(root) > 0) {
    // Whatever made the root pending (a replayed root version, a restart, another reply's lookup) may end with
    // nothing running, e.g. when the request was moved meanwhile: then this message is routed on its own, so a
    // command still gets the "moved there" note.
    after_pending(self, root, [self, root, tr, is_command, j] {
      route_to(self, root, tr, is_command, j);
      release(self, j);
    });
    return;
  }
  st.pending_roots.insert(root);
  self->request(st.args.storage, storage_timeout, atom::find_v, root)
    .then(
      [self, root, tr, is_command, j](found_request& found) {
        if (found.record && is_open(*found.record) && spawn_restored(self, std::move(*found.record))) {
          send_forward(self, root, tr, j);
        } else if (auto* ju = std::get_if<jira_update>(&tr); found.record && ju != nullptr) {
          // A Jira change for a request that moved and closed: the request the move created takes it (the issue
          // follows the move only when the bridge links it there; what Jira said in between is not dropped).
          const channel_actor* target = nullptr;
          auto m = moved_on(*found.record, ju->change);
          if (m && self->state.args.channels)
            if (auto it = self->state.args.channels->by_room.find(m->room); it != self->state.args.channels->by_room.end())
              target = &it->second;
          if (target != nullptr) {
            spdlog::info("channel {}: a Jira change for moved request {} goes on to {} in {}", self->state.args.room,
                         root, m->update.request_id, m->room);
            hold(j);
            self->request(*target, caf::infinite, atom::jira_v, std::move(m->update))
              .then([self, j](bool) { release(self, j); },
                    [self, j, root](caf::error& err) {
                      spdlog::warn("channel {}: handing on a Jira change of {} failed: {}", self->state.args.room, root,
                                   describe(err));
                      release(self, j);
                    });
          } else {
            ++self->state.stats.ignored;
          }
        } else if (found.record && is_command) {
          // A command in the thread of a moved request: a short-lived actor answers it with the "moved there"
          // note and exits again.
          auto id = found.record->request_id;
          spdlog::info("channel {}: a command in the thread of closed request {}: waking it for its note",
                       self->state.args.room, id);
          spawn_child(self, root, id, domain::restored{std::move(*found.record)}, {std::get<domain::thread_reply>(tr)});
        } else {
          ++self->state.stats.ignored; // not a request's thread, or chat in a closed one
          if (const auto* r = std::get_if<domain::thread_reply>(&tr))
            spdlog::info("channel {}: reply {} in thread {} ignored: {}", self->state.args.room, r->message_id, root,
                         found.record ? "its request is closed" : "no request there");
        }
        settle(self, root);
        release(self, j);
      },
      [self, root, j](caf::error& err) {
        spdlog::error("channel {}: looking up the thread {} failed: {}", self->state.args.room, root, describe(err));
        settle(self, root);
        release(self, j);
      });
}

void route_reply(self_ptr self, const chat_event& ev, const job_ptr& j, bool edited) {
  domain::thread_reply tr{ev.msg.id, ev.msg.author, ev.msg.text, ev.msg.author_name, edited};
  bool command = !edited && domain::is_command(tr.text);
  route_to(self, *ev.msg.thread_id, std::move(tr), command, j);
}

void on_chat(self_ptr self, chat_event& ev) {
  auto& st = self->state;
  auto j = begin(self, ev);
  if (ev.msg.room != st.args.room) {
    ++st.stats.ignored;
    release(self, j);
    return;
  }
  auto cls = domain::classify(ev.msg, st.args.filter);
  const auto& root = ev.msg.id;
  bool is_running = running(self, root);
  bool is_pending = !is_running && st.pending_roots.count(root) > 0;
  if (is_running) {
    diff_now(self, root, ev, j);
  } else if (is_pending) {
    // A version of a root being created or restored: diff it once that is done. Should the lookup have found
    // nothing to run (it was a thread lookup racing the root's first version), this version opens the request.
    hold(j);
    after_pending(self, root, [self, root, ev, j, kind = cls.kind] {
      if (running(self, root))
        diff_now(self, root, ev, j);
      else if (kind == domain::message_kind::new_request && !known(self, root))
        new_request(self, ev, j);
      release(self, j);
    });
  }
  switch (cls.kind) {
    case domain::message_kind::new_request:
      if (!is_running && !is_pending)
        new_request(self, ev, j);
      break;
    case domain::message_kind::thread_reply:
      route_reply(self, ev, j, false);
      break;
    case domain::message_kind::thread_edit:
      route_reply(self, ev, j, true);
      break;
    case domain::message_kind::ignore:
      if (!is_running && !is_pending) {
        ++st.stats.ignored;
        spdlog::debug("channel {}: ignoring {} ({})", st.args.room, ev.msg.id, domain::to_string(cls.reason));
      }
      break;
  }
  release(self, j);
}

// -- down and exit ------------------------------------------------------------------------------------------------

void on_down(self_ptr self, caf::down_msg& m) {
  auto& st = self->state;
  auto it = st.root_of.find(m.source);
  if (it == st.root_of.end())
    return;
  auto root = it->second;
  st.root_of.erase(it);
  auto live = st.by_root.find(root);
  if (live != st.by_root.end() && live->second.handle.address() == m.source)
    st.by_root.erase(live);
  std::vector<channel_state::forward> lost;
  for (auto f = st.forwards.begin(); f != st.forwards.end();) {
    if (f->second.to == m.source) {
      lost.push_back(std::move(f->second));
      f = st.forwards.erase(f);
    } else {
      ++f;
    }
  }
  auto drop_lost = [self, &lost] {
    for (auto& f : lost)
      release(self, f.job);
  };
  if (!m.reason || m.reason == caf::exit_reason::normal) {
    forget(self, root);
    // The request ended (a move closes it) with thread replies still on their way: route them again, so that a
    // command gets the "moved there" note from a short-lived actor instead of vanishing.
    for (auto& f : lost) {
      if (const auto* tr = std::get_if<domain::thread_reply>(&f.msg))
        route_to(self, f.root, f.msg, !tr->edited && domain::is_command(tr->text), f.job);
      release(self, f.job);
    }
    return;
  }
  if (st.restarts_of[root] >= max_restarts) {
    spdlog::error("channel {}: the request of {} failed again ({}) after {} restarts; giving up", st.args.room, root,
                  describe(m.reason), max_restarts);
    forget(self, root);
    drop_lost();
    return;
  }
  auto n = ++st.restarts_of[root];
  ++st.stats.restarts;
  // A backoff lets a burst of Rocket.Chat or storage errors pass instead of burning every restart at once.
  auto delay = restart_backoff * (1 << (n - 1));
  spdlog::warn("channel {}: the request of {} failed ({}); restarting it in {} ms", st.args.room, root,
               describe(m.reason), delay.count());
  st.pending_roots.insert(root);
  for (auto& f : lost)
    after_pending(self, root, [self, f] {
      if (running(self, f.root))
        send_forward(self, f.root, f.msg, f.job);
      release(self, f.job);
    });
  self->delayed_send(self, delay, atom::restore_v, root);
}

/// The backoff of a failed request is over: respawn it from storage, or from its created event if never saved.
void restart(self_ptr self, const std::string& root) {
  auto& st = self->state;
  self->request(st.args.storage, storage_timeout, atom::find_v, root)
    .then(
      [self, root](found_request& found) {
        auto& st = self->state;
        bool spawned = false;
        if (found.record)
          spawned = is_open(*found.record) && spawn_restored(self, std::move(*found.record));
        else if (auto c = st.created_of.find(root); c != st.created_of.end())
          spawned = spawn_child(self, root, c->second.request_id, c->second);
        if (!spawned)
          forget(self, root);
        settle(self, root);
      },
      [self, root](caf::error& err) {
        spdlog::error("channel {}: looking up request {} to restart it failed: {}", self->state.args.room, root,
                      describe(err));
        forget(self, root);
        settle(self, root);
      });
}

void on_exit(self_ptr self, caf::exit_msg& m) {
  auto& st = self->state;
  if (st.exiting)
    return;
  st.exiting = true;
  for (auto& [root, live] : st.by_root)
    self->send_exit(live.handle, m.reason);
  self->quit(m.reason);
}

} // namespace

channel_actor::behavior_type channel_supervisor(channel_actor::stateful_pointer<channel_state> self,
                                                channel_args args) {
  self->state.args = std::move(args);
  self->set_down_handler([self](caf::down_msg& m) { on_down(self, m); });
  self->set_exit_handler([self](caf::exit_msg& m) { on_exit(self, m); });
  return {
    [self](atom::chat, chat_event& ev) { on_chat(self, ev); },
    [self](atom::adopt, adopt_request& x) -> caf::result<bool> {
      auto root = x.root_message_id;
      if (known(self, root))
        return true;
      auto& st = self->state;
      auto rp = self->make_response_promise<bool>();
      domain::created c{root, st.args.room, root, x.requester, x.text, x.permalink, {}};
      c.jira_key = x.jira_key; // the moved request keeps its issue (reassigned to this channel's on-duty)
      c.jira_url = x.jira_url;
      c.jira_status = x.jira_status;
      open_request(self, std::move(c), {}, 0, [self, rp, root](const caf::error& err) mutable {
        if (err) {
          rp.deliver(err);
          return;
        }
        // Answered once the adopted request has carried out its first step, its record saved included: the moving
        // request then closes for good, and a repost is a bot message no backfill would make a request of again
        // (chaos seed 15: a kill -9 between the two lost the moved request). A request's `get` is queued behind
        // its start event.
        auto it = self->state.by_root.find(root);
        if (it == self->state.by_root.end()) {
          rp.deliver(true); // stored already (and restored, or closed): nothing more to wait for
          return;
        }
        self->request(it->second.handle, caf::infinite, atom::get_v)
          .then([rp](const domain::request_record&) mutable { rp.deliver(true); },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      });
      return rp;
    },
    [self](atom::restore) -> caf::result<std::size_t> {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::size_t>();
      self->request(st.args.storage, storage_timeout, atom::load_v, st.args.room)
        .then(
          [self, rp](std::vector<domain::request_record>& records) mutable {
            std::size_t n = 0;
            for (auto& r : records) {
              if (r.room != self->state.args.room || !is_open(r) || known(self, r.root_message_id))
                continue;
              if (spawn_restored(self, std::move(r)))
                ++n;
            }
            spdlog::info("channel {}: restored {} requests", self->state.args.room, n);
            rp.deliver(n);
          },
          [self, rp](caf::error& err) mutable {
            spdlog::error("channel {}: loading the open requests failed: {}", self->state.args.room, describe(err));
            rp.deliver(err);
          });
      return rp;
    },
    [self](atom::restore, const std::string& root) { restart(self, root); },
    [self](atom::jira, jira_update& x) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      auto j = std::make_shared<channel_state::handling>();
      j->cursor = false;
      j->finished = [rp]() mutable { rp.deliver(true); };
      auto root = x.request_id;
      route_to(self, root, std::move(x), false, j);
      release(self, j);
      return rp;
    },
    [self](atom::rate, feedback_update& x) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      auto j = std::make_shared<channel_state::handling>();
      j->cursor = false;
      j->finished = [rp]() mutable { rp.deliver(true); };
      auto root = x.request_id;
      route_to(self, root, std::move(x), false, j);
      release(self, j);
      return rp;
    },
    [self](atom::open, jira_born& x) -> caf::result<std::string> {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::string>();
      auto text = domain::render(domain::template_id::jira_request, st.args.params.lang,
                                 std::vector<domain::template_arg>{{"key", x.issue_key},
                                                                   {"reporter", x.reporter},
                                                                   {"summary", x.summary},
                                                                   {"url", x.issue_url}});
      chat_post msg{"jira/" + x.issue_key + "/post", st.args.room, "", text, {}};
      self->request(st.args.chat, caf::infinite, atom::post_v, std::move(msg))
        .then(
          [self, rp, x](posted& p) mutable {
            auto& st = self->state;
            auto root = p.message_id;
            if (known(self, root)) {
              rp.deliver(root);
              return;
            }
            auto requester = x.requester.empty() ? st.args.params.bot_user : x.requester;
            auto body = x.summary + (x.text.empty() ? "" : "\n" + x.text);
            domain::created c{root, st.args.room, root, requester, body, p.permalink, {}};
            c.jira_key = x.issue_key;
            c.jira_url = x.issue_url;
            c.jira_status = x.issue_status;
            c.from_jira = true;
            spdlog::info("channel {}: {} from Jira becomes request {}", st.args.room, x.issue_key, root);
            open_request(self, std::move(c), {}, 0, [rp, root](const caf::error& err) mutable {
              if (err)
                rp.deliver(err);
              else
                rp.deliver(root);
            });
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](atom::status) {
      auto s = self->state.stats;
      s.live_requests = self->state.by_root.size();
      s.in_flight = self->state.in_flight.size();
      return s;
    },
  };
}

channel_actor spawn_channel(caf::actor_system& sys, channel_args args) {
  return sys.spawn(channel_supervisor, std::move(args));
}

} // namespace dutydesk::actors
