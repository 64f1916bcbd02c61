// The Rocket.Chat gateway against the real simulator, beyond the basics of gateway_test.cpp: a drop through the
// gateway itself (exactly-once backfill), unrouted rooms, DM rooms, reactions carried by chat events, a post to a
// room that is not configured. A real actor system (I/O tests: wall time), answers awaited with bounded receives.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/error.hpp"
#include "io/chat_gateway.hpp"
#include "io/io_runtime.hpp"
#include "gateway_fixture.hpp"
#include "tests/support/metrics_text.hpp"

namespace dutydesk::test {
namespace {

using namespace std::chrono_literals;

class ChatGateway : public gateway_test {
protected:
  void TearDown() override {
    for (auto& [room, ch] : dir->by_room)
      caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
    gateway_test::TearDown();
  }

  template <class T, class Handle, class... Ts>
  std::pair<std::optional<T>, caf::error> ask(const Handle& h, Ts&&... xs) {
    std::optional<T> value;
    caf::error err = make_error(ec::chat_failed, "no answer within 10 s");
    self->request(h, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { value = std::move(x); err = caf::error{}; }, [&](caf::error& e) { err = std::move(e); });
    return {std::move(value), std::move(err)};
  }

  /// Connects with supervisors (forwarders to the scoped actor) for `rooms`, then waits until a message posted
  /// into `rooms[0]` comes back, i.e. the subscriptions are live.
  void connect(io::chat_gateway& chat, const std::vector<std::string>& rooms) {
    auto sink = caf::actor_cast<caf::actor>(self);
    for (const auto& room : rooms)
      dir->by_room.emplace(room, sys.spawn(chat_forwarder, sink));
    chat.connect(dir);
    std::optional<actors::chat_event> ev;
    for (int i = 0; i < 20 && !ev; ++i)
      ev = next_event(post_as("alice", rooms[0], "ready? " + std::to_string(i)), 500ms);
    ASSERT_TRUE(ev) << "the realtime session never delivered";
  }

  /// The next chat event for message `id` within `limit`; events of other messages are counted in `seen`.
  std::optional<actors::chat_event> next_event(const std::string& id, std::chrono::milliseconds limit = 10s) {
    std::optional<actors::chat_event> result;
    bool timed_out = false;
    while (!result && !timed_out)
      self->receive(
        [&](atom::chat, const actors::chat_event& ev) {
          ++seen[ev.msg.id];
          if (ev.msg.id == id)
            result = ev;
        },
        caf::after(limit) >> [&] { timed_out = true; });
    return result;
  }

  std::shared_ptr<actors::channel_directory> dir = std::make_shared<actors::channel_directory>();
  std::map<std::string, int> seen; // message id -> chat events received
};

TEST_F(ChatGateway, AMessagePostedWhileDroppedArrivesOnceThroughTheBackfill) {
  auto metrics = std::make_shared<metrics::registry>();
  cfg.metrics = metrics;
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, {"cicd-support", "dba-support"});
  auto before = chat.stats();
  EXPECT_GE(before.lives, 1u);
  chat.drop(); // returns once the socket is closed: the next post is not seen live
  auto missed = post_as("carol", "dba-support", "posted while dropped");
  auto ev = next_event(missed);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->msg.room, "dba-support");
  EXPECT_EQ(ev->msg.author, "carol");
  EXPECT_EQ(ev->msg.text, "posted while dropped");
  EXPECT_EQ(ev->permalink, sim.rocketchat + "/channel/dba-support?msg=" + missed);
  // A message posted after the reconnect comes live, after any duplicate of the missed one would have.
  auto after = post_as("alice", "dba-support", "after the reconnect");
  ASSERT_TRUE(next_event(after));
  EXPECT_EQ(seen[missed], 1);
  auto s = chat.stats();
  EXPECT_GE(s.drops, before.drops + 1);
  EXPECT_GE(s.lives, before.lives + 1);
  // Live again: connected, and every going-live after the first is a reconnect.
  EXPECT_EQ(value_of(*metrics, "dutydesk_websocket_connected"), "1");
  EXPECT_EQ(value_of(*metrics, "dutydesk_websocket_reconnects_total"), std::to_string(s.lives - 1));
  chat.stop();
}

TEST_F(ChatGateway, MessagesOfARoomWithoutSupervisorAreCountedNotDelivered) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, {"cicd-support"});
  auto before = chat.stats().unrouted;
  auto lost = post_as("carol", "dba-support", "nobody listens here");
  ASSERT_TRUE(next_event(post_as("alice", "cicd-support", "sentinel")));
  EXPECT_EQ(seen.count(lost), 0u);
  EXPECT_GE(chat.stats().unrouted, before + 1);
  chat.stop();
}

TEST_F(ChatGateway, ReactionsComeBackInChatEvents) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, {"cicd-support", "dba-support"});
  auto root = post_as("alice", "cicd-support", "react to me");
  ASSERT_TRUE(next_event(root));
  auto [ok, err] = ask<bool>(chat.actor(), atom::react_v, actors::chat_reaction{"k/eyes", root, ":eyes:", true});
  ASSERT_FALSE(err) << dutydesk::describe(err);
  std::optional<actors::chat_event> ev;
  while (!ev || ev->reactions.empty()) {
    ev = next_event(root);
    ASSERT_TRUE(ev) << "no event with the reaction";
  }
  ASSERT_EQ(ev->reactions.size(), 1u);
  EXPECT_EQ(ev->reactions[0].first, ":eyes:");
  EXPECT_EQ(ev->reactions[0].second, std::vector<std::string>{"dutydesk"});
  chat.stop();
}

TEST_F(ChatGateway, DirectMessagesLandInTheUsersDmRoomOncePerKey) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto [first, e1] = ask<actors::posted>(chat.actor(), atom::dm_v, actors::chat_dm{"k/dm1", "eve", "hello"});
  ASSERT_TRUE(first) << dutydesk::describe(e1);
  auto [again, e2] = ask<actors::posted>(chat.actor(), atom::dm_v, actors::chat_dm{"k/dm1", "eve", "hello"});
  ASSERT_TRUE(again) << dutydesk::describe(e2);
  auto [second, e3] = ask<actors::posted>(chat.actor(), atom::dm_v, actors::chat_dm{"k/dm2", "eve", "again"});
  ASSERT_TRUE(second) << dutydesk::describe(e3);
  EXPECT_EQ(first->message_id, io::message_id_for("k/dm1"));
  EXPECT_EQ(first->message_id, again->message_id);
  EXPECT_NE(first->message_id, second->message_id);
  auto dms = control(io::http_method::get, "/control/rocketchat/users/eve/dms");
  ASSERT_EQ(dms["rooms"].size(), 1u) << dms.dump();
  auto rid = dms["rooms"][0].value("_id", "");
  EXPECT_EQ(first->permalink, sim.rocketchat + "/direct/" + rid + "?msg=" + first->message_id);
  auto msgs = control(io::http_method::get, "/control/rocketchat/rooms/" + rid + "/messages");
  int hello = 0, bot_messages = 0;
  for (const auto& m : msgs["messages"]) {
    if (m.value("msg", "") == "hello")
      ++hello;
    if (m["u"].value("username", "") == "dutydesk")
      ++bot_messages;
  }
  EXPECT_EQ(hello, 1) << msgs.dump();
  EXPECT_EQ(bot_messages, 2) << msgs.dump();
  chat.stop();
}

TEST_F(ChatGateway, APostToARoomThatIsNotConfiguredIsUnknownRoom) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto [p, err] = ask<actors::posted>(chat.actor(), atom::post_v,
                                      actors::chat_post{"k/x", "general", "", "hi", {}});
  EXPECT_FALSE(p);
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::unknown_room)) << dutydesk::describe(err);
  chat.stop();
}

TEST_F(ChatGateway, AReactionWithAnEmojiTheServerDoesNotKnowIsRejectedForGood) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, {"cicd-support"});
  auto root = post_as("alice", "cicd-support", "react with nonsense");
  ASSERT_TRUE(next_event(root));
  auto [ok, err] = ask<bool>(chat.actor(), atom::react_v, actors::chat_reaction{"k/x", root, ":no_such_emoji_here:", true});
  ASSERT_TRUE(err);
  // chat_rejected, not chat_failed: the request actor goes on without the reaction instead of failing.
  EXPECT_EQ(err, make_error(ec::chat_rejected)) << dutydesk::describe(err);
  EXPECT_NE(dutydesk::describe(err).find("Invalid emoji"), std::string::npos) << dutydesk::describe(err);
  chat.stop();
}

TEST_F(ChatGateway, APasswordLoginGetsALoginTokenThatServesRestAndTheRealtimeSession) {
  cfg.user_id.clear();
  cfg.auth_token.clear();
  cfg.username = "dutydesk";
  cfg.password = "dutydesk-pass"; // the seed's bot password
  io::chat_gateway chat{sys, runtime, cfg};
  auto err = chat.open();
  ASSERT_FALSE(err) << dutydesk::describe(err);
  EXPECT_EQ(chat.bot_username(), "dutydesk");
  connect(chat, {"cicd-support"}); // live over DDP with the login token as the resume token
  auto root = post_as("alice", "cicd-support", "react to me");
  ASSERT_TRUE(next_event(root));
  auto [ok, react_err] = ask<bool>(chat.actor(), atom::react_v, actors::chat_reaction{"k/pw", root, ":eyes:", true});
  EXPECT_FALSE(react_err) << dutydesk::describe(react_err); // REST with the login token
  chat.stop();
}

TEST_F(ChatGateway, AWrongPasswordIsRefusedAtOpenWithoutShowingIt) {
  cfg.user_id.clear();
  cfg.auth_token.clear();
  cfg.username = "dutydesk";
  cfg.password = "not-the-password";
  io::chat_gateway chat{sys, runtime, cfg};
  auto err = chat.open();
  ASSERT_TRUE(err);
  auto text = dutydesk::describe(err);
  EXPECT_NE(text.find("POST login as dutydesk"), std::string::npos) << text;
  EXPECT_NE(text.find("401"), std::string::npos) << text;
  EXPECT_EQ(text.find("not-the-password"), std::string::npos) << text;
}

} // namespace
} // namespace dutydesk::test
