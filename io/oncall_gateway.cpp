#include "io/oncall_gateway.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <map>

#include "io/api_result.hpp"
#include "io/io_runtime.hpp"
#include "io/oncall_client.hpp"
#include "io/rocketchat_rest.hpp"

namespace dutydesk::io {

namespace {

using oncall_gateway_actor
  = actors::oncall_actor::extend<caf::reacts_to<atom::done, std::uint64_t, actors::duty_lookup>>;

} // namespace

struct oncall_gateway::impl {
  caf::actor_system& sys;
  io_runtime& runtime;
  oncall_gateway_config cfg;
  chat_gateway_config chat;
  // I/O thread only (created there on first use).
  std::unique_ptr<oncall_client> oncall;
  std::unique_ptr<rocketchat_rest> rest;
  oncall_gateway_actor actor;

  impl(caf::actor_system& s, io_runtime& r, oncall_gateway_config c, chat_gateway_config ch)
    : sys(s), runtime(r), cfg(std::move(c)), chat(std::move(ch)) {}

  void ensure_clients() {
    if (!oncall)
      oncall = std::make_unique<oncall_client>(runtime.http(), cfg.base_url, cfg.token, cfg.grafana_url);
    if (!rest)
      rest = std::make_unique<rocketchat_rest>(runtime.http(), chat.base_url,
                                               rc_credentials{chat.user_id, chat.auth_token});
  }

  // One lookup, as a chain of calls on the I/O thread: schedule → each user → each user's Rocket.Chat account.
  struct lookup_run {
    std::uint64_t corr = 0;
    std::vector<std::string> ids;
    std::size_t next = 0;
    actors::duty_lookup result;
  };

  /// Adds a Rocket.Chat user to the directory once (users.info and the e-mail lookup often find the same one).
  static void add_user(const std::shared_ptr<lookup_run>& run, const rc_user& x) {
    for (const auto& known : run->result.directory)
      if (known.username == x.username)
        return;
    run->result.directory.push_back(domain::chat_user{x.username, x.emails.empty() ? "" : x.emails[0]});
  }

  void finish(const std::shared_ptr<lookup_run>& run) {
    caf::anon_send(actor, atom::done_v, run->corr, std::move(run->result));
  }

  void start(std::uint64_t corr, const std::string& schedule) {
    ensure_clients();
    auto run = std::make_shared<lookup_run>();
    run->corr = corr;
    oncall->on_call_now(schedule, [this, run, schedule](api_result<std::vector<std::string>> r) {
      if (!r.ok()) {
        if (r.error().code != api_errc::empty_rota) {
          run->result.oncall.failed = true;
          run->result.oncall.error = "schedule " + schedule + ": " + describe(r.error());
        }
        return finish(run);
      }
      run->ids = r.value();
      next_user(run);
    });
  }

  void next_user(const std::shared_ptr<lookup_run>& run) {
    if (run->next >= run->ids.size())
      return finish(run);
    auto id = run->ids[run->next++];
    oncall->user(id, [this, run, id](api_result<io::oncall_user> r) {
      if (!r.ok()) {
        run->result.oncall.failed = true;
        run->result.oncall.error = "user " + id + ": " + describe(r.error());
        return finish(run);
      }
      run->result.oncall.on_call_now.push_back(domain::oncall_user{r->id, r->username, r->email});
      map_user(run, r.value());
    });
  }

  void map_user(const std::shared_ptr<lookup_run>& run, const io::oncall_user& u) {
    auto by_email = [this, run, u] {
      if (u.email.empty())
        return next_user(run);
      rest->users_by_email(u.email, [this, run](api_result<rc_user_page> page) {
        if (page.ok())
          for (const auto& x : page->users)
            add_user(run, x);
        next_user(run);
      });
    };
    if (u.username.empty())
      return by_email();
    rest->user_info(u.username, [this, run, by_email](api_result<rc_user> r) {
      if (!r.ok())
        return by_email();
      add_user(run, r.value());
      // The email may map someone else as well (an override, a renamed account): look it up too.
      by_email();
    });
  }
};

namespace {

struct oncall_gateway_state {
  static constexpr const char* name = "oncall-gateway";
  std::shared_ptr<oncall_gateway::impl> impl;
  std::uint64_t next = 0;
  std::map<std::uint64_t, caf::typed_response_promise<actors::duty_lookup>> waiting;
};

oncall_gateway_actor::behavior_type oncall_gateway_behavior(
  oncall_gateway_actor::stateful_pointer<oncall_gateway_state> self, std::shared_ptr<oncall_gateway::impl> impl) {
  self->state.impl = std::move(impl);
  return {
    [self](atom::lookup, std::string schedule) -> caf::typed_response_promise<actors::duty_lookup> {
      auto corr = ++self->state.next;
      auto rp = self->make_response_promise<actors::duty_lookup>();
      self->state.waiting.emplace(corr, rp);
      auto impl = self->state.impl;
      impl->runtime.post([impl, corr, schedule = std::move(schedule)] { impl->start(corr, schedule); });
      return rp;
    },
    [self](atom::done, std::uint64_t corr, actors::duty_lookup result) {
      auto i = self->state.waiting.find(corr);
      if (i == self->state.waiting.end())
        return;
      if (result.oncall.failed)
        spdlog::warn("oncall lookup fails: {}", result.oncall.error);
      i->second.deliver(std::move(result));
      self->state.waiting.erase(i);
    },
  };
}

} // namespace

oncall_gateway::oncall_gateway(caf::actor_system& sys, io_runtime& runtime, oncall_gateway_config config,
                               const chat_gateway_config& chat)
  : impl_(std::make_shared<impl>(sys, runtime, std::move(config), chat)) {
  impl_->actor = sys.spawn(oncall_gateway_behavior, impl_);
}

oncall_gateway::~oncall_gateway() {
  stop();
}

actors::oncall_actor oncall_gateway::actor() const {
  return caf::actor_cast<actors::oncall_actor>(impl_->actor);
}

void oncall_gateway::stop() {
  if (impl_->actor)
    caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
}

} // namespace dutydesk::io
