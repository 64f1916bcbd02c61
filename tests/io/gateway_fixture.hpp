#pragma once
// Shared by the gateway tests: a real actor system (I/O tests run on the wall clock), the I/O thread, the bot's
// Rocket.Chat settings for the simulator, a channel actor that forwards chat events to the test, and a dm actor that
// forwards DM events to it (as (atom::dm, chat_event), so a test tells them apart).

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <string>

#include "actors/interfaces.hpp"
#include "io/chat_gateway.hpp"
#include "io/io_runtime.hpp"
#include "sim_fixture.hpp"

namespace dutydesk::test {

struct gateway_system_config : caf::actor_system_config {
  gateway_system_config() { set("scheduler.max-threads", 2); }
};

/// Hands every chat event to `sink` (the test's scoped actor, untyped: a typed actor cannot send() to it, anon_send
/// can).
inline actors::channel_actor::behavior_type chat_forwarder(actors::channel_actor::pointer, caf::actor sink) {
  return {
    [sink](atom::chat, actors::chat_event ev) { caf::anon_send(sink, atom::chat_v, std::move(ev)); },
    [](atom::adopt, actors::adopt_request) { return true; },
    [](atom::restore) { return std::size_t{0}; },
    [](atom::restore, const std::string&) {},
    [](atom::status) { return actors::channel_status{}; },
    [](atom::jira, actors::jira_update&) { return true; },
    [](atom::open, actors::jira_born&) { return std::string{}; },
    [](atom::rate, actors::feedback_update&) { return true; },
  };
}

/// Hands every DM event to `sink` (the test's scoped actor), marked as a DM event by a leading atom::dm.
inline actors::dm_actor::behavior_type dm_forwarder(actors::dm_actor::pointer, caf::actor sink) {
  return {
    [sink](atom::chat, actors::chat_event ev) { caf::anon_send(sink, atom::dm_v, std::move(ev)); },
  };
}

/// A simulator, an actor system, a running I/O thread and `cfg` set up for the seed's bot and both support rooms.
class gateway_test : public sim_test {
protected:
  void SetUp() override {
    sim_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    runtime.start();
    cfg.base_url = sim.rocketchat;
    cfg.user_id = seed::bot_id;
    cfg.auth_token = seed::bot_pat;
    cfg.rooms = {"cicd-support", "dba-support"};
    cfg.open_timeout = std::chrono::seconds(10);
    cfg.reconnect_base = std::chrono::milliseconds(50);
    cfg.reconnect_max = std::chrono::milliseconds(200);
  }

  void TearDown() override { runtime.stop(); }

  gateway_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  io::io_runtime runtime;
  io::chat_gateway_config cfg;
};

} // namespace dutydesk::test
