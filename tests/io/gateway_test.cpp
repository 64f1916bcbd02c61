// The Rocket.Chat and OnCall gateways against the real simulator: a real actor system (these are I/O tests, time is
// the wall clock), answers awaited with bounded receives.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "actors/error.hpp"
#include "io/chat_gateway.hpp"
#include "io/io_runtime.hpp"
#include "io/oncall_gateway.hpp"
#include "gateway_fixture.hpp"

namespace dutydesk::test {
namespace {

using namespace std::chrono_literals;

TEST(MessageIdFor, IsStableSeventeenRocketChatCharacters) {
  auto a = io::message_id_for("R1/intro");
  EXPECT_EQ(a, io::message_id_for("R1/intro"));
  EXPECT_NE(a, io::message_id_for("R1/intro2"));
  ASSERT_EQ(a.size(), 17u);
  for (char c : a)
    EXPECT_NE(std::string_view{"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"}.find(c),
              std::string_view::npos)
      << a;
}

class Gateway : public gateway_test {
protected:
  template <class T, class Handle, class... Ts>
  T ask(const Handle& h, Ts&&... xs) {
    T result{};
    bool ok = false;
    std::string failure = "timeout";
    self->request(h, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); ok = true; },
               [&](caf::error& e) { failure = dutydesk::describe(e); });
    EXPECT_TRUE(ok) << failure;
    return result;
  }

  /// The next chat event whose message has id `id` (others are dropped), within 10 s.
  std::optional<actors::chat_event> next_event(const std::string& id) {
    std::optional<actors::chat_event> result;
    bool timed_out = false;
    while (!result && !timed_out)
      self->receive([&](atom::chat, const actors::chat_event& ev) {
        if (ev.msg.id == id)
          result = ev;
      },
                    caf::after(10s) >> [&] { timed_out = true; });
    return result;
  }

};

TEST_F(Gateway, OpenResolvesTheBotAndTheRooms) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  EXPECT_EQ(chat.bot_username(), "dutydesk");
  chat.stop();
}

TEST_F(Gateway, OpenNamesARoomThatDoesNotExist) {
  cfg.rooms.push_back("no-such-room");
  io::chat_gateway chat{sys, runtime, cfg};
  auto err = chat.open();
  ASSERT_TRUE(err);
  EXPECT_NE(dutydesk::describe(err).find("#no-such-room"), std::string::npos) << dutydesk::describe(err);
}

TEST_F(Gateway, OpenFailsWithABadToken) {
  cfg.auth_token = "wrong";
  io::chat_gateway chat{sys, runtime, cfg};
  auto err = chat.open();
  ASSERT_TRUE(err);
  EXPECT_NE(dutydesk::describe(err).find("GET me"), std::string::npos) << dutydesk::describe(err);
}

TEST_F(Gateway, TheSameKeyPostedTwiceIsOneMessageWithItsButtons) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto root = post_as("alice", "cicd-support", "help me");
  actors::chat_post p{"k/intro", "cicd-support", root, "@bob look", {{"Open", "!dd status open", true}}};
  auto first = ask<actors::posted>(chat.actor(), atom::post_v, p);
  auto second = ask<actors::posted>(chat.actor(), atom::post_v, p);
  EXPECT_EQ(first.message_id, io::message_id_for("k/intro"));
  EXPECT_EQ(first.message_id, second.message_id);
  EXPECT_EQ(first.permalink, sim.rocketchat + "/channel/cicd-support?msg=" + first.message_id);
  auto thread = control(io::http_method::get, "/control/rocketchat/threads/" + root);
  ASSERT_EQ(thread["replies"].size(), 1u) << thread.dump();
  auto action = thread["replies"][0]["attachments"][0]["actions"][0];
  EXPECT_EQ(action["type"], "button");
  EXPECT_EQ(action["msg"], "!dd status open");
  EXPECT_EQ(action["msg_in_chat_window"], true);
  chat.stop();
}

TEST_F(Gateway, ReactionsAndDirectMessages) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto root = post_as("alice", "cicd-support", "react to me");
  EXPECT_TRUE(ask<bool>(chat.actor(), atom::react_v, actors::chat_reaction{"k/r", root, ":new:", true}));
  auto r = control(io::http_method::get, "/control/rocketchat/messages/" + root + "/reactions");
  EXPECT_EQ(r["reactions"][":new:"]["usernames"], nlohmann::json::array({"dutydesk"})) << r.dump();
  EXPECT_TRUE(ask<bool>(chat.actor(), atom::react_v, actors::chat_reaction{"k/r2", root, ":new:", false}));
  r = control(io::http_method::get, "/control/rocketchat/messages/" + root + "/reactions");
  EXPECT_FALSE(r["reactions"].contains(":new:")) << r.dump();
  auto dm = ask<actors::posted>(chat.actor(), atom::dm_v, actors::chat_dm{"k/dm", "eve", "not allowed"});
  auto msg = control(io::http_method::get, "/control/rocketchat/messages/" + dm.message_id);
  EXPECT_EQ(msg["message"]["msg"], "not allowed") << msg.dump();
  chat.stop();
}

TEST_F(Gateway, MessagesArriveAsChatEventsAlsoAcrossADrop) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto dir = std::make_shared<actors::channel_directory>();
  auto sink = caf::actor_cast<caf::actor>(self);
  for (const auto& room : cfg.rooms)
    dir->by_room.emplace(room, sys.spawn(chat_forwarder, sink));
  chat.connect(dir);
  // The subscription is live once a message posted now is delivered.
  std::optional<actors::chat_event> ev;
  for (int i = 0; i < 20 && !ev; ++i) {
    auto id = post_as("alice", "cicd-support", "first " + std::to_string(i));
    ev = next_event(id);
  }
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->msg.room, "cicd-support");
  EXPECT_EQ(ev->msg.author, "alice");
  EXPECT_FALSE(ev->msg.thread_id);
  auto reply = control(io::http_method::post, "/control/rocketchat/messages",
                       {{"as", "bob"}, {"room", "cicd-support"}, {"text", "on it"}, {"tmid", ev->msg.id}});
  auto got = next_event(reply["message"].value("_id", ""));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->msg.thread_id, ev->msg.id);
  // Drop every websocket; what is posted meanwhile comes through the backfill, once.
  control(io::http_method::post, "/control/rocketchat/drop");
  auto missed = post_as("carol", "dba-support", "posted while dropped");
  auto backfilled = next_event(missed);
  ASSERT_TRUE(backfilled);
  EXPECT_EQ(backfilled->msg.room, "dba-support");
  chat.stop();
  for (auto& [room, ch] : dir->by_room)
    caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
}

TEST_F(Gateway, OncallLookupMapsTheOnCallUserToRocketChat) {
  io::oncall_gateway oncall{sys, runtime, {sim.oncall, seed::oncall_token, ""}, cfg};
  auto r = ask<actors::duty_lookup>(oncall.actor(), atom::lookup_v, std::string{"SCHEDCICD"});
  EXPECT_FALSE(r.oncall.failed) << r.oncall.error;
  ASSERT_EQ(r.oncall.on_call_now.size(), 1u);
  EXPECT_EQ(r.oncall.on_call_now[0].username, "bob");
  std::set<std::string> names;
  for (const auto& u : r.directory)
    names.insert(u.username);
  EXPECT_EQ(names, (std::set<std::string>{"bob"}));
  oncall.stop();
}

TEST_F(Gateway, OncallDownIsAFailedAnswerNotAnError) {
  control(io::http_method::post, "/control/faults", {{"system", "oncall"}, {"rate_5xx", 1}});
  io::oncall_gateway oncall{sys, runtime, {sim.oncall, seed::oncall_token, ""}, cfg};
  auto r = ask<actors::duty_lookup>(oncall.actor(), atom::lookup_v, std::string{"SCHEDCICD"});
  EXPECT_TRUE(r.oncall.failed);
  EXPECT_NE(r.oncall.error.find("server"), std::string::npos) << r.oncall.error;
  oncall.stop();
}

} // namespace
} // namespace dutydesk::test
