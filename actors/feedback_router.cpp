#include "actors/feedback_router.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <utility>
#include <vector>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "domain/commands.hpp"

namespace dutydesk::actors {

namespace {

using self_ptr = feedback_router_actor::stateful_pointer<feedback_router_state>;

void next(self_ptr self);

/// The current message is handled: go on with the queue.
void finish(self_ptr self) {
  self->state.busy = false;
  next(self);
}

void help(self_ptr self, const chat_event& ev) {
  auto& st = self->state;
  ++st.stats.helped;
  chat_dm dm{"dm/help/" + ev.msg.id, ev.msg.author, std::string{domain::template_text(domain::template_id::dm_help,
                                                                                       st.args.lang)}};
  self->request(st.args.chat, st.args.timeout, atom::dm_v, std::move(dm))
    .then([](const posted&) {},
          [self](caf::error& e) { spdlog::warn("feedback: the help DM failed: {}", describe(e)); });
}

/// Hands `change` to the request `id`'s supervisor; `then(found)` runs after the supervisor answered (found = the
/// request exists and its channel is served).
template <class Then>
void hand_to_request(self_ptr self, const std::string& id, feedback_change change, Then then) {
  auto& st = self->state;
  self->request(st.args.storage, st.args.timeout, atom::find_v, id)
    .then(
      [self, id, change = std::move(change), then](found_request& found) mutable {
        auto& st = self->state;
        if (!found.record || found.record->request_id != id) {
          then(false, std::string{});
          return;
        }
        auto ch = st.args.channels->by_room.find(found.record->room);
        if (ch == st.args.channels->by_room.end()) {
          spdlog::warn("feedback: request {} is in #{}, which this process does not serve", id, found.record->room);
          then(false, std::string{});
          return;
        }
        auto requester = found.record->requester;
        self->request(ch->second, st.args.timeout, atom::rate_v, feedback_update{id, std::move(change)})
          .then([then, requester](bool) mutable { then(true, requester); },
                [self, id](caf::error& e) {
                  ++self->state.stats.failed;
                  spdlog::error("feedback: request {} fails to take the answer: {}", id, describe(e));
                  finish(self);
                });
      },
      [self, id](caf::error& e) {
        ++self->state.stats.failed;
        spdlog::error("feedback: looking up request {} failed: {}", id, describe(e));
        finish(self);
      });
}

void rating(self_ptr self, chat_event ev, dm_rating r) {
  auto user = ev.msg.author;
  domain::survey_answer answer{ev.msg.id, user, r.rating};
  hand_to_request(self, r.request_id, answer, [self, ev, user, id = r.request_id](bool found, const std::string& requester) {
    auto& st = self->state;
    if (!found) {
      help(self, ev);
      finish(self);
      return;
    }
    ++st.stats.ratings;
    if (requester != user) {
      finish(self);
      return;
    }
    self->request(st.args.storage, st.args.timeout, atom::save_v, survey_key(user), id)
      .then([self](bool) { finish(self); },
            [self](caf::error& e) {
              spdlog::warn("feedback: remembering the latest survey failed: {}", describe(e));
              finish(self);
            });
  });
}

void comment(self_ptr self, chat_event ev) {
  auto& st = self->state;
  auto user = ev.msg.author;
  self->request(st.args.storage, st.args.timeout, atom::get_v, survey_key(user))
    .then(
      [self, ev](std::string& id) {
        if (id.empty()) {
          help(self, ev);
          finish(self);
          return;
        }
        domain::survey_comment c{ev.msg.id, ev.msg.author, ev.msg.text};
        hand_to_request(self, id, c, [self, ev](bool found, const std::string&) {
          if (found)
            ++self->state.stats.comments;
          else
            help(self, ev);
          finish(self);
        });
      },
      [self](caf::error& e) {
        ++self->state.stats.failed;
        spdlog::error("feedback: reading the latest survey failed: {}", describe(e));
        finish(self);
      });
}

void handle(self_ptr self, chat_event ev) {
  auto& st = self->state;
  if (ev.msg.edited || ev.msg.text.empty() || ev.msg.author.empty()) {
    ++st.stats.ignored;
    return finish(self);
  }
  if (auto r = parse_dm_rating(ev.msg.text))
    return rating(self, std::move(ev), std::move(*r));
  if (domain::is_command(ev.msg.text)) {
    help(self, ev);
    return finish(self);
  }
  comment(self, std::move(ev));
}

void next(self_ptr self) {
  auto& st = self->state;
  if (st.busy)
    return;
  if (st.queue.empty()) {
    for (auto& rp : st.waiting)
      rp.deliver(st.stats);
    st.waiting.clear();
    return;
  }
  st.busy = true;
  auto ev = std::move(st.queue.front());
  st.queue.pop_front();
  handle(self, std::move(ev));
}

feedback_router_actor::behavior_type router(self_ptr self, feedback_router_args args) {
  self->state.args = std::move(args);
  return {
    [self](atom::chat, chat_event& ev) {
      self->state.queue.push_back(std::move(ev));
      next(self);
    },
    [self](atom::status) -> caf::result<feedback_router_stats> {
      // Answered behind the queue: once every message that arrived before is handled.
      auto rp = self->make_response_promise<feedback_router_stats>();
      self->state.waiting.push_back(rp);
      next(self);
      return rp;
    },
  };
}

} // namespace

std::optional<dm_rating> parse_dm_rating(std::string_view text) {
  auto words = domain::split_words(text);
  if (words.size() < 2 || !domain::iequals(words[0], "!dd") || !domain::iequals(words[1], "rate"))
    return std::nullopt;
  if (words.size() != 4)
    return std::nullopt;
  dm_rating r;
  r.request_id = std::string{words[2]};
  auto n = words[3];
  if (n.size() <= 3 && !n.empty()) {
    int v = 0;
    bool digits = true;
    for (char c : n) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        digits = false;
        break;
      }
      v = v * 10 + (c - '0');
    }
    if (digits)
      r.rating = v;
  }
  return r;
}

feedback_router_actor spawn_feedback_router(caf::actor_system& sys, feedback_router_args args) {
  return sys.spawn(router, std::move(args));
}

} // namespace dutydesk::actors
