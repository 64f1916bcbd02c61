#include "actors/request_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <type_traits>
#include <utility>

#include "actors/error.hpp"

namespace dutydesk::actors {

namespace {

using self_ptr = request_actor::stateful_pointer<request_state>;

std::int64_t now_ms(const request_state& st) {
  return st.deps.now().time_since_epoch().count();
}

const std::string& request_id(const request_state& st) {
  return st.machine->record().request_id;
}

// A repost's claim stores the permalink as its result (the request needs it to finish the move after a replay);
// the message id is the permalink's `msg` parameter.
std::string message_id_of(std::string_view permalink) {
  auto at = permalink.rfind("msg=");
  return at == std::string_view::npos ? std::string{} : std::string{permalink.substr(at + 4)};
}

void next(self_ptr self);

/// Answers every owed reply with `err` and stops the actor with it.
void fail(self_ptr self, caf::error err) {
  auto& st = self->state;
  spdlog::error("request {} failed: {}", st.machine ? request_id(st) : std::string{"?"}, describe(err));
  if (st.current.on_err)
    st.current.on_err(err);
  st.current = {};
  for (auto& q : st.queue)
    if (q.on_err)
      q.on_err(err);
  st.queue.clear();
  st.run.clear();
  st.jira.clear(); // a replay of the step queues them again
  st.events.clear();
  self->quit(std::move(err));
}

/// The error handler of every chat and storage request.
auto on_error(self_ptr self) {
  return [self](caf::error& err) { fail(self, std::move(err)); };
}

/// Claims `key`; runs `perform` unless the action is done already, else `skipped(result)`.
template <class Perform, class Skipped>
void claimed(self_ptr self, const std::string& key, Perform perform, Skipped skipped) {
  self->request(self->state.deps.storage, caf::infinite, atom::claim_v, key, now_ms(self->state))
    .then(
      [self, key, perform, skipped](claim_reply& reply) mutable {
        if (reply.status == storage::claim_status::done) {
          spdlog::info("request {} skips {}: done already", request_id(self->state), key);
          skipped(reply.result);
          return;
        }
        perform();
      },
      on_error(self));
}

/// Marks `key` done with `result` and goes on with the run.
void mark_done(self_ptr self, const std::string& key, const std::string& result) {
  self->send(self->state.deps.storage, atom::done_v, key, result, now_ms(self->state));
}

/// Posts (thread or top level) under `key`, then calls `then(posted)` after marking it done.
template <class Then>
void post(self_ptr self, chat_post msg, Then then) {
  auto key = msg.key;
  self->request(self->state.deps.chat, caf::infinite, atom::post_v, std::move(msg))
    .then(
      [self, key, then](posted& p) mutable {
        spdlog::info("request {} posted {} as {}", request_id(self->state), key, p.message_id);
        then(std::move(p));
      },
      on_error(self));
}

void post_thread(self_ptr self, const domain::post_thread& e) {
  const auto& r = self->state.machine->record();
  chat_post msg{e.key, r.room, r.root_message_id, e.text, e.buttons};
  claimed(
    self, e.key,
    [self, msg] {
      post(self, msg, [self, key = msg.key](posted p) {
        mark_done(self, key, p.message_id);
        next(self);
      });
    },
    [self](const std::string&) { next(self); });
}

void react(self_ptr self, std::string key, std::string emoji, bool add) {
  const auto& r = self->state.machine->record();
  chat_reaction msg{key, r.root_message_id, std::move(emoji), add};
  claimed(
    self, key,
    [self, msg] {
      self->request(self->state.deps.chat, caf::infinite, atom::react_v, msg)
        .then(
          [self, msg](bool) {
            spdlog::info("request {} {} reaction {}", request_id(self->state), msg.add ? "added" : "removed",
                         msg.emoji);
            mark_done(self, msg.key, msg.message_id);
            next(self);
          },
          [self, msg](caf::error& err) {
            // A reaction Rocket.Chat refuses for good (an unknown emoji in `statuses`) is not worth the request:
            // it goes on without it, and the log says what to fix.
            if (err.category() == caf::atom("dutydesk") && err.code() == static_cast<std::uint8_t>(ec::chat_rejected)) {
              spdlog::error("request {}: Rocket.Chat refuses the reaction {} ({}); going on without it. Check the "
                            "status emoji in the config",
                            request_id(self->state), msg.emoji, describe(err));
              mark_done(self, msg.key, "rejected");
              next(self);
              return;
            }
            fail(self, std::move(err));
          });
    },
    [self](const std::string&) { next(self); });
}

void dm(self_ptr self, const domain::dm_user& e) {
  chat_dm msg{e.key, e.user, e.text, e.buttons};
  claimed(
    self, e.key,
    [self, msg] {
      self->request(self->state.deps.chat, caf::infinite, atom::dm_v, msg)
        .then(
          [self, msg](posted& p) {
            spdlog::info("request {} sent {} to {}", request_id(self->state), msg.key, msg.user);
            mark_done(self, msg.key, p.message_id);
            next(self);
          },
          on_error(self));
    },
    [self](const std::string&) { next(self); });
}

/// The target channel adopts the repost; then the machine learns the move happened and its effects join the run.
void adopt(self_ptr self, channel_actor target, posted p) {
  const auto& r = self->state.machine->record();
  adopt_request msg{p.message_id, r.requester, r.text, p.permalink, r.room, r.jira_key, r.jira_url, r.jira_status};
  self->request(target, caf::infinite, atom::adopt_v, std::move(msg))
    .then(
      [self, permalink = p.permalink](bool) {
        auto& st = self->state;
        spdlog::info("request {} moved to {}", request_id(st), st.machine->record().move_target_room);
        auto xs = st.machine->step(domain::moved{permalink}, st.deps.now());
        for (auto& x : xs)
          st.run.push_back(std::move(x));
        next(self);
      },
      on_error(self));
}

void do_repost(self_ptr self, const domain::repost& e) {
  auto& st = self->state;
  // Check the target first: without its supervisor nobody would adopt the repost.
  const channel_actor* found = nullptr;
  if (st.deps.channels)
    if (auto it = st.deps.channels->by_room.find(e.target_room); it != st.deps.channels->by_room.end())
      found = &it->second;
  if (found == nullptr) {
    fail(self, make_error(ec::unknown_room, "request " + request_id(st) + " cannot move to " + e.target_room));
    return;
  }
  auto target = *found;
  chat_post msg{e.key, e.target_room, "", e.text, {}};
  claimed(
    self, e.key,
    [self, msg, target] {
      post(self, msg, [self, key = msg.key, target](posted p) {
        mark_done(self, key, p.permalink);
        adopt(self, target, std::move(p));
      });
    },
    [self, target](const std::string& permalink) { adopt(self, target, posted{message_id_of(permalink), permalink}); });
}

void save(self_ptr self, const domain::persist& e) {
  auto jira = std::move(self->state.jira);
  auto events = std::move(self->state.events);
  self->state.jira.clear();
  self->state.events.clear();
  bool wake_jira = !jira.empty();
  bool wake_relay = !events.empty();
  self->request(self->state.deps.storage, caf::infinite, atom::save_v,
                persist_request{e.record, e.change, std::move(jira), std::move(events)})
    .then(
      [self, wake_jira, wake_relay](bool) {
        if (wake_jira && self->state.deps.jira)
          self->send(self->state.deps.jira, atom::tick_v);
        if (wake_relay && self->state.deps.relay)
          self->send(self->state.deps.relay, atom::tick_v);
        next(self);
      },
      on_error(self));
}

/// Changes a survey DM's text (chat.update is idempotent, so no claim).
void edit(self_ptr self, const domain::edit_dm& e) {
  chat_edit msg{e.dm_key, e.user, e.text};
  self->request(self->state.deps.chat, caf::infinite, atom::edit_v, std::move(msg))
    .then(
      [self, key = e.dm_key](bool) {
        spdlog::info("request {} edited {}", request_id(self->state), key);
        next(self);
      },
      on_error(self));
}

void arm_survey(self_ptr self, const domain::arm_survey& e) {
  auto delay = std::max(std::chrono::milliseconds{0}, e.deadline - self->state.deps.now());
  self->delayed_send(self, delay, atom::expire_v, e.round);
}

std::int64_t int_field(const domain::publish_event& e, std::string_view name, std::int64_t otherwise = -1) {
  for (const auto& [k, v] : e.data)
    if (k == name)
      if (const auto* n = std::get_if<std::int64_t>(&v))
        return *n;
  return otherwise;
}

std::string text_field(const domain::publish_event& e, std::string_view name) {
  for (const auto& [k, v] : e.data)
    if (k == name)
      if (const auto* t = std::get_if<std::string>(&v))
        return *t;
  return {};
}

/// What an event means for the metrics.
void measure(metrics::registry& m, const std::string& team, const domain::publish_event& e) {
  using std::chrono::seconds;
  if (auto first = int_field(e, "first_response_seconds"); first >= 0)
    m.first_response(team, seconds{first});
  if (e.kind == "created") {
    m.request_created(team, text_field(e, "source"));
  } else if (e.kind == "status_changed") {
    m.status_changed(team, text_field(e, "from"), text_field(e, "to"));
    if (auto resolved = int_field(e, "resolution_seconds"); resolved >= 0)
      m.resolution(team, seconds{resolved});
    if (int_field(e, "reopened") == 1)
      m.reopened(team);
  } else if (e.kind == "moved") {
    m.moved(team, text_field(e, "to_team"));
  } else if (e.kind == "rated") {
    m.rating(team, static_cast<int>(int_field(e, "rating", 0)));
  }
}

/// Side effects that are not events but still counted.
void measure_effect(self_ptr self, const domain::effect& x) {
  auto& st = self->state;
  if (!st.deps.metrics)
    return;
  const auto& team = st.machine->record().team;
  if (const auto* p = std::get_if<domain::post_thread>(&x)) {
    if (p->tmpl == domain::template_id::reminder || p->tmpl == domain::template_id::reminder_escalated)
      st.deps.metrics->reminder_sent(team);
  } else if (const auto* d = std::get_if<domain::dm_user>(&x)) {
    if (d->tmpl == domain::template_id::survey)
      st.deps.metrics->survey_sent(team);
  } else if (const auto* ed = std::get_if<domain::edit_dm>(&x)) {
    st.deps.metrics->survey_closed(team, ed->tmpl == domain::template_id::survey_withdrawn ? "withdrawn" : "expired");
  }
}

void arm(self_ptr self, const domain::arm_reminder& e) {
  auto delay = std::max(std::chrono::milliseconds{0}, e.deadline - self->state.deps.now());
  spdlog::info("request {} arms reminder {} in {} ms", request_id(self->state), e.epoch, delay.count());
  self->delayed_send(self, delay, atom::remind_v, e.epoch);
}

void log_change(const domain::status_change& c, const std::string& id) {
  spdlog::info("request {} status {} -> {} by {}", id, c.from, c.to, c.by);
}

/// Starts carrying out `x`; returns true when it finished synchronously.
bool carry_out(self_ptr self, domain::effect x) {
  auto& st = self->state;
  measure_effect(self, x);
  return std::visit(
    [&](auto& e) -> bool {
      using T = std::decay_t<decltype(e)>;
      if constexpr (std::is_same_v<T, domain::post_thread>) {
        post_thread(self, e);
        return false;
      } else if constexpr (std::is_same_v<T, domain::add_reaction>) {
        react(self, e.key, e.emoji, true);
        return false;
      } else if constexpr (std::is_same_v<T, domain::remove_reaction>) {
        react(self, e.key, e.emoji, false);
        return false;
      } else if constexpr (std::is_same_v<T, domain::dm_user>) {
        dm(self, e);
        return false;
      } else if constexpr (std::is_same_v<T, domain::repost>) {
        do_repost(self, e);
        return false;
      } else if constexpr (std::is_same_v<T, domain::persist>) {
        save(self, e);
        return false;
      } else if constexpr (std::is_same_v<T, domain::arm_reminder>) {
        arm(self, e);
        return true;
      } else if constexpr (std::is_same_v<T, domain::cancel_reminders>) {
        return true; // the epoch moved on: any timer still armed is stale
      } else if constexpr (std::is_same_v<T, domain::close_request>) {
        spdlog::info("request {} closes", request_id(st));
        st.closing = true;
        return true;
      } else if constexpr (std::is_same_v<T, domain::jira_action>) {
        st.jira.push_back(std::move(e));
        return true;
      } else if constexpr (std::is_same_v<T, domain::edit_dm>) {
        edit(self, e);
        return false;
      } else if constexpr (std::is_same_v<T, domain::arm_survey>) {
        arm_survey(self, e);
        return true;
      } else if constexpr (std::is_same_v<T, domain::publish_event>) {
        const auto& r = st.machine->record();
        if (st.deps.metrics)
          measure(*st.deps.metrics, r.team, e);
        if (st.deps.events)
          st.events.push_back(to_outbox(e, r, *st.deps.events));
        return true;
      } else if constexpr (std::is_same_v<T, domain::mirror_status_change>) {
        log_change(e.change, request_id(st));
        return true;
      } else {
        static_assert(std::is_same_v<T, domain::request_final>);
        spdlog::info("request {} reached final status {} of {}", e.request_id, e.status, e.requester);
        return true;
      }
    },
    x);
}

/// The current event is a Jira change for a request that moved: the new request takes it, then the run goes on.
void hand_on(self_ptr self, moved_jira_change m) {
  auto& st = self->state;
  const auto* dir = st.deps.channels.get();
  const channel_actor* target = nullptr;
  if (dir != nullptr)
    if (auto it = dir->by_room.find(m.room); it != dir->by_room.end())
      target = &it->second;
  if (target == nullptr) {
    spdlog::warn("request {} moved to {}, which has no supervisor: a Jira change is dropped", request_id(st), m.room);
    return next(self);
  }
  spdlog::info("request {} moved: a Jira change goes on to {} in {}", request_id(st), m.update.request_id, m.room);
  auto to = m.update.request_id;
  self->request(*target, caf::infinite, atom::jira_v, std::move(m.update))
    .then([self](bool) { next(self); },
          [self, to](caf::error& err) {
            spdlog::warn("request {}: handing a Jira change on to {} failed: {}", request_id(self->state), to,
                         describe(err));
            next(self);
          });
}

/// Goes on with the current run; when it is over, answers its event and steps the next queued one.
void next(self_ptr self) {
  auto& st = self->state;
  for (;;) {
    while (!st.run.empty()) {
      auto x = std::move(st.run.front());
      st.run.pop_front();
      if (!carry_out(self, std::move(x)))
        return; // resumed by the answer (or failed)
    }
    if (st.busy) {
      st.busy = false;
      auto done = std::move(st.current.on_done);
      st.current = {};
      if (done)
        done();
    }
    if (st.queue.empty()) {
      if (st.closing)
        self->quit();
      return;
    }
    st.current = std::move(st.queue.front());
    st.queue.pop_front();
    st.busy = true;
    if (st.current.event) { // a change only Jira sends (a `jira` message), for a request that has moved
      auto change = std::visit(
        [](auto& e) -> std::optional<jira_change> {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_constructible_v<jira_change, T>)
            return jira_change{e};
          else
            return std::nullopt;
        },
        *st.current.event);
      if (change)
        if (auto m = moved_on(st.machine->record(), *change))
          return hand_on(self, std::move(*m));
    }
    if (st.current.event) {
      auto xs = st.machine->step(*st.current.event, st.deps.now());
      st.run.assign(std::make_move_iterator(xs.begin()), std::make_move_iterator(xs.end()));
    }
  }
}

void enqueue(self_ptr self, request_state::queued q) {
  self->state.queue.push_back(std::move(q));
  if (!self->state.busy)
    next(self);
}

/// An event whose reply is `true` once its effects are carried out.
caf::typed_response_promise<bool> answered(self_ptr self, domain::event e) {
  auto rp = self->make_response_promise<bool>();
  enqueue(self, {std::move(e), [rp]() mutable { rp.deliver(true); },
                 [rp](const caf::error& err) mutable { rp.deliver(err); }});
  return rp;
}

} // namespace

request_actor::behavior_type request(request_actor::stateful_pointer<request_state> self, request_args args) {
  auto& st = self->state;
  st.machine.emplace(std::move(args.params));
  st.deps = std::move(args.deps);
  enqueue(self, {std::move(args.start), {}, {}});
  for (auto& e : args.then)
    enqueue(self, {std::move(e), {}, {}});
  return {
    [self](atom::reply, domain::thread_reply& x) { return answered(self, std::move(x)); },
    [self](atom::reaction, domain::reaction_added& x) { return answered(self, std::move(x)); },
    [self](atom::remind, std::uint64_t epoch) { enqueue(self, {domain::reminder_due{epoch}, {}, {}}); },
    [self](atom::expire, std::uint64_t round) { enqueue(self, {domain::survey_due{round}, {}, {}}); },
    [self](atom::rate, feedback_update& x) {
      return answered(self, std::visit([](auto& c) -> domain::event { return std::move(c); }, x.change));
    },
    [self](atom::jira, jira_update& x) {
      return answered(self, std::visit([](auto& c) -> domain::event { return std::move(c); }, x.change));
    },
    [self](atom::get) {
      auto rp = self->make_response_promise<domain::request_record>();
      enqueue(self, {std::nullopt, [self, rp]() mutable { rp.deliver(self->state.machine->record()); },
                     [rp](const caf::error& err) mutable { rp.deliver(err); }});
      return rp;
    },
  };
}

std::optional<moved_jira_change> moved_on(const domain::request_record& r, const jira_change& change) {
  if (r.phase != domain::request_phase::moved || r.move_target_room.empty())
    return std::nullopt;
  if (std::holds_alternative<domain::jira_linked>(change) || std::holds_alternative<domain::jira_problem>(change))
    return std::nullopt;
  auto id = message_id_of(r.moved_permalink);
  if (id.empty())
    return std::nullopt;
  return moved_jira_change{r.move_target_room, jira_update{id, change}};
}

request_actor spawn_request(caf::actor_system& sys, request_args args) {
  return sys.spawn(request, std::move(args));
}

} // namespace dutydesk::actors
