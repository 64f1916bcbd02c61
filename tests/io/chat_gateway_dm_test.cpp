// The chat gateway's DM side against the real simulator: DM intake to the dm actor (users' messages once, edits
// again, not the bot's own, not reactions, not channel messages, nothing without a dm actor), DMs with rating
// buttons (im.create, the attachment's actions, a click coming back as a DM event), chat_edit of such a DM, and the
// backfill of known DM rooms after a drop. A real actor system (I/O tests: wall time), bounded receives.

#include <caf/actor_system.hpp>
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
#include "io/rocketchat_rest.hpp"
#include "gateway_fixture.hpp"

namespace dutydesk::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* eve_id = "Ev3Ev3Ev3Ev3Ev3Ev";
constexpr const char* eve_token = "eve-token-00000000000000000000000000000";
constexpr const char* eve_dm = "B0tB0tB0tB0tB0tB0Ev3Ev3Ev3Ev3Ev3Ev";   // sorted user ids (reference §4.7)
constexpr const char* carol_dm = "B0tB0tB0tB0tB0tB0CaroLCaroLCaroLCa";

/// Five rating buttons as the survey sends them.
std::vector<domain::button> rating_buttons(const std::string& request) {
  std::vector<domain::button> xs;
  for (int n = 1; n <= 5; ++n)
    xs.push_back(domain::button{std::to_string(n), "!dd rate " + request + " " + std::to_string(n), true});
  return xs;
}

class ChatGatewayDm : public gateway_test {
protected:
  void SetUp() override {
    gateway_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    http.emplace(ioc, io::http_client_options{});
  }

  void TearDown() override {
    for (auto& [room, ch] : dir->by_room)
      caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
    if (dms)
      caf::anon_send_exit(dms, caf::exit_reason::user_shutdown);
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

  /// Connects with forwarders for both support rooms and, when `with_dms`, a dm actor; returns once the bot's
  /// realtime session has subscribed `__my_messages__` (or, without DMs, its rooms) at the simulator.
  void connect(io::chat_gateway& chat, bool with_dms, std::vector<std::string> dm_room_ids = {}) {
    auto sink = caf::actor_cast<caf::actor>(self);
    for (const auto& room : {"cicd-support", "dba-support"})
      dir->by_room.emplace(room, sys.spawn(chat_forwarder, sink));
    if (with_dms) {
      dms = sys.spawn(dm_forwarder, sink);
      chat.connect(dir, dms, std::move(dm_room_ids));
    } else {
      chat.connect(dir);
    }
    auto wanted = with_dms ? 3u : 2u;
    bool subscribed = false;
    for (int i = 0; i < 400 && !subscribed; ++i) {
      auto j = control(io::http_method::get, "/control/rocketchat/sessions");
      for (const auto& s : j["sessions"])
        subscribed = subscribed || (s.value("connected", false) && s["subs"].size() == wanted);
    }
    ASSERT_TRUE(subscribed) << "the realtime session never subscribed";
  }

  /// The next event (channel or DM) for message `id` within `limit`; every event received is counted in
  /// `seen_chat` or `seen_dm`. `dm` says which kind is awaited.
  std::optional<actors::chat_event> next_event(const std::string& id, bool dm, std::chrono::milliseconds limit = 10s) {
    std::optional<actors::chat_event> result;
    bool timed_out = false;
    while (!result && !timed_out)
      self->receive(
        [&](atom::chat, const actors::chat_event& ev) {
          ++seen_chat[ev.msg.id];
          if (!dm && ev.msg.id == id)
            result = ev;
        },
        [&](atom::dm, const actors::chat_event& ev) {
          ++seen_dm[ev.msg.id];
          if (dm && ev.msg.id == id)
            result = ev;
        },
        caf::after(limit) >> [&] { timed_out = true; });
    return result;
  }

  std::optional<actors::chat_event> next_dm(const std::string& id) { return next_event(id, true); }

  /// Runs one REST call as eve (the test's io_context) to completion.
  template <class T, class Call>
  io::api_result<T> as_eve(Call call) {
    io::rocketchat_rest eve{*http, sim.rocketchat, {eve_id, eve_token}};
    std::optional<io::api_result<T>> out;
    call(eve, [&](io::api_result<T> r) { out = std::move(r); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); })) << "no REST answer";
    return out ? std::move(*out) : io::api_result<T>(io::api_error{});
  }

  /// The DM room of the bot and `user`, opened from the user's side (the gateway does not know it).
  std::string user_opens_dm() {
    auto r = as_eve<io::rc_room>([](io::rocketchat_rest& eve, auto cb) { eve.im_create("dutydesk", cb); });
    EXPECT_TRUE(r.ok()) << io::describe(r.error());
    return r.ok() ? r->id : std::string();
  }

  std::shared_ptr<actors::channel_directory> dir = std::make_shared<actors::channel_directory>();
  actors::dm_actor dms;
  std::optional<io::http_client> http;
  std::map<std::string, int> seen_chat; // message id -> channel events received
  std::map<std::string, int> seen_dm;   // message id -> DM events received
};

TEST_F(ChatGatewayDm, AUsersDmReachesTheDmActorOnceAndTheBotsOwnDmsDoNot) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, true);
  ASSERT_EQ(user_opens_dm(), eve_dm);
  auto id = post_as("eve", eve_dm, "my build is stuck");
  auto ev = next_dm(id);
  ASSERT_TRUE(ev) << "the DM never reached the dm actor";
  EXPECT_TRUE(ev->direct);
  EXPECT_EQ(ev->msg.room, eve_dm);
  EXPECT_EQ(ev->msg.author, "eve");
  EXPECT_EQ(ev->msg.text, "my build is stuck");
  EXPECT_FALSE(ev->msg.edited);
  EXPECT_FALSE(ev->msg.thread_id);
  EXPECT_FALSE(ev->msg.type);
  EXPECT_EQ(ev->permalink, sim.rocketchat + "/direct/" + eve_dm + "?msg=" + id);
  EXPECT_GT(ev->ts_ms, 0);
  // The bot answers in the DM: its message is echoed on the stream but is not user input.
  auto [reply, err] = ask<actors::posted>(chat.actor(), atom::dm_v, actors::chat_dm{"k/reply", "eve", "on it"});
  ASSERT_TRUE(reply) << dutydesk::describe(err);
  auto after = post_as("eve", eve_dm, "thanks");
  ASSERT_TRUE(next_dm(after));
  EXPECT_EQ(seen_dm[id], 1);
  EXPECT_EQ(seen_dm.count(reply->message_id), 0u);
  EXPECT_EQ(seen_chat.count(id), 0u);
  EXPECT_EQ(seen_dm.size(), 2u);
  EXPECT_EQ(chat.stats().direct, 2u);
  chat.stop();
}

TEST_F(ChatGatewayDm, AnEditArrivesAgainAsEditedAndAReactionDoesNotRedeliver) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, true);
  ASSERT_EQ(user_opens_dm(), eve_dm);
  auto id = post_as("eve", eve_dm, "db is slow");
  auto first = next_dm(id);
  ASSERT_TRUE(first);
  auto [ok, err] = ask<bool>(chat.actor(), atom::react_v, actors::chat_reaction{"k/eyes", id, ":eyes:", true});
  ASSERT_TRUE(ok) << dutydesk::describe(err);
  auto r = control(io::http_method::post, "/control/rocketchat/reactions",
                   {{"as", "eve"}, {"message_id", id}, {"emoji", ":thumbsup:"}});
  ASSERT_EQ(r["_status"], 200) << r.dump();
  auto marker = post_as("eve", eve_dm, "marker");
  ASSERT_TRUE(next_dm(marker));
  EXPECT_EQ(seen_dm[id], 1); // two reactions, no new event
  auto edited = as_eve<io::chat_message>(
    [&](io::rocketchat_rest& eve, auto cb) { eve.update_message(eve_dm, id, "db is slow (prod only)", cb); });
  ASSERT_TRUE(edited.ok()) << io::describe(edited.error());
  auto again = next_dm(id);
  ASSERT_TRUE(again) << "the edit never arrived";
  EXPECT_TRUE(again->direct);
  EXPECT_TRUE(again->msg.edited);
  EXPECT_EQ(again->msg.text, "db is slow (prod only)");
  EXPECT_EQ(again->msg.room, eve_dm);
  EXPECT_EQ(again->ts_ms, first->ts_ms);
  EXPECT_GT(again->updated_ms, first->updated_ms);
  ASSERT_EQ(again->reactions.size(), 2u); // the event carries the message's reactions
  EXPECT_EQ(again->reactions[0].first, ":eyes:");
  EXPECT_EQ(again->reactions[0].second, std::vector<std::string>{"dutydesk"});
  auto end = post_as("eve", eve_dm, "end");
  ASSERT_TRUE(next_dm(end));
  EXPECT_EQ(seen_dm[id], 2);
  chat.stop();
}

TEST_F(ChatGatewayDm, ADmWithButtonsOpensTheRoomAndAClickComesBackAsADmEvent) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, true);
  auto [p, err] = ask<actors::posted>(chat.actor(), atom::dm_v,
                                      actors::chat_dm{"k/survey/R-7", "eve", "How did we do on R-7?",
                                                      rating_buttons("R-7")});
  ASSERT_TRUE(p) << dutydesk::describe(err);
  EXPECT_EQ(p->message_id, io::message_id_for("k/survey/R-7"));
  EXPECT_EQ(p->permalink, sim.rocketchat + "/direct/" + eve_dm + "?msg=" + p->message_id);
  // The room was opened with im.create for eve.
  auto log = control(io::http_method::get, "/control/requests?system=rocketchat");
  int creates = 0;
  for (const auto& x : log["requests"])
    if (x.value("target", "") == "/api/v1/im.create") {
      ++creates;
      EXPECT_EQ(nlohmann::json::parse(x.value("body", "{}")), (nlohmann::json{{"username", "eve"}})) << x.dump();
    }
  EXPECT_EQ(creates, 1) << log.dump();
  auto dmrooms = control(io::http_method::get, "/control/rocketchat/users/eve/dms");
  ASSERT_EQ(dmrooms["rooms"].size(), 1u) << dmrooms.dump();
  EXPECT_EQ(dmrooms["rooms"][0]["_id"], eve_dm);
  // One attachment with the five buttons (reference §5.1).
  auto m = control(io::http_method::get, "/control/rocketchat/messages/" + p->message_id)["message"];
  EXPECT_EQ(m["rid"], eve_dm);
  EXPECT_EQ(m["msg"], "How did we do on R-7?");
  EXPECT_EQ(m["u"]["username"], "dutydesk");
  ASSERT_EQ(m["attachments"].size(), 1u) << m.dump();
  const auto& actions = m["attachments"][0]["actions"];
  ASSERT_EQ(actions.size(), 5u) << m.dump();
  for (int n = 1; n <= 5; ++n) {
    const auto& a = actions[n - 1];
    EXPECT_EQ(a["type"], "button");
    EXPECT_EQ(a["text"], std::to_string(n));
    EXPECT_EQ(a["msg"], "!dd rate R-7 " + std::to_string(n));
    EXPECT_EQ(a["msg_in_chat_window"], true);
    EXPECT_EQ(a["msg_processing_type"], "sendMessage");
    EXPECT_FALSE(a.contains("url"));
  }
  // Eve clicks "4": her client posts the button's msg in the DM as her (reference §5.3).
  auto click = control(io::http_method::post, "/control/rocketchat/click",
                       {{"as", "eve"}, {"message_id", p->message_id}, {"button", 3}});
  ASSERT_EQ(click["_status"], 200) << click.dump();
  ASSERT_EQ(click["posted"], true) << click.dump();
  auto clicked = click["message"].value("_id", "");
  auto ev = next_dm(clicked);
  ASSERT_TRUE(ev) << "the click never reached the dm actor";
  EXPECT_TRUE(ev->direct);
  EXPECT_EQ(ev->msg.room, eve_dm);
  EXPECT_EQ(ev->msg.author, "eve");
  EXPECT_EQ(ev->msg.text, "!dd rate R-7 4");
  EXPECT_FALSE(ev->msg.thread_id);
  auto end = post_as("eve", eve_dm, "end");
  ASSERT_TRUE(next_dm(end));
  EXPECT_EQ(seen_dm[clicked], 1);
  EXPECT_EQ(seen_dm.count(p->message_id), 0u); // the bot's survey itself is not an event
  chat.stop();
}

TEST_F(ChatGatewayDm, AnEditChangesTheDmTextAndKeepsTheButtons) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto [p, err] = ask<actors::posted>(chat.actor(), atom::dm_v,
                                      actors::chat_dm{"k/survey/R-8", "eve", "Rate R-8", rating_buttons("R-8")});
  ASSERT_TRUE(p) << dutydesk::describe(err);
  auto [ok, e2] = ask<bool>(chat.actor(), atom::edit_v,
                            actors::chat_edit{"k/survey/R-8", "eve", "R-8 was reopened: this survey is withdrawn"});
  ASSERT_TRUE(ok) << dutydesk::describe(e2);
  EXPECT_TRUE(*ok);
  auto got = as_eve<io::chat_message>([&](io::rocketchat_rest& eve, auto cb) { eve.get_message(p->message_id, cb); });
  ASSERT_TRUE(got.ok()) << io::describe(got.error());
  EXPECT_EQ(got->msg, "R-8 was reopened: this survey is withdrawn");
  EXPECT_EQ(got->rid, eve_dm);
  EXPECT_TRUE(got->edited_at_ms);
  EXPECT_TRUE(got->has_attachments);
  auto m = control(io::http_method::get, "/control/rocketchat/messages/" + p->message_id)["message"];
  EXPECT_EQ(m["editedBy"]["username"], "dutydesk");
  ASSERT_EQ(m["attachments"].size(), 1u) << m.dump();
  ASSERT_EQ(m["attachments"][0]["actions"].size(), 5u) << m.dump();
  EXPECT_EQ(m["attachments"][0]["actions"][0]["msg"], "!dd rate R-8 1");
  // The same edit again (a replay) succeeds and changes nothing.
  auto updated = m["_updatedAt"];
  auto [again, e3] = ask<bool>(chat.actor(), atom::edit_v,
                               actors::chat_edit{"k/survey/R-8", "eve", "R-8 was reopened: this survey is withdrawn"});
  ASSERT_TRUE(again) << dutydesk::describe(e3);
  EXPECT_EQ(control(io::http_method::get, "/control/rocketchat/messages/" + p->message_id)["message"]["_updatedAt"],
            updated);
  auto s = chat.stats();
  EXPECT_EQ(s.posts, 1u);
  EXPECT_EQ(s.failures, 0u);
  chat.stop();
}

TEST_F(ChatGatewayDm, AnEditOfAKeyNeverPostedFailsWithAClearError) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  auto [ok, err] = ask<bool>(chat.actor(), atom::edit_v, actors::chat_edit{"k/never", "eve", "changed"});
  EXPECT_FALSE(ok);
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::chat_failed)) << dutydesk::describe(err);
  auto text = dutydesk::describe(err);
  EXPECT_NE(text.find("chat.update"), std::string::npos) << text;
  EXPECT_NE(text.find("No message found with the id of \"" + io::message_id_for("k/never") + "\"."),
            std::string::npos)
    << text;
  EXPECT_EQ(chat.stats().failures, 1u);
  EXPECT_EQ(chat.stats().edits, 0u);
  chat.stop();
}

TEST_F(ChatGatewayDm, KnownDmRoomsAreBackfilledOnceAfterADrop) {
  // Carol's DM room exists from before (say, a survey of a previous process): passed to connect().
  io::rocketchat_rest carol{*http, sim.rocketchat, {"CaroLCaroLCaroLCa", "carol-token-000000000000000000000000000"}};
  std::optional<io::api_result<io::rc_room>> opened;
  carol.im_create("dutydesk", [&](io::api_result<io::rc_room> r) { opened = std::move(r); });
  ASSERT_TRUE(run_until(ioc, [&] { return opened.has_value(); }));
  ASSERT_TRUE(opened->ok());
  ASSERT_EQ((*opened)->id, carol_dm);
  // Long enough that the posts below happen while the bot is disconnected.
  cfg.reconnect_base = 1500ms;
  cfg.reconnect_max = 1500ms;
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  // Eve's DM room is opened by this gateway (the survey DM), before it connects.
  auto [p, err] = ask<actors::posted>(chat.actor(), atom::dm_v, actors::chat_dm{"k/hello", "eve", "hello"});
  ASSERT_TRUE(p) << dutydesk::describe(err);
  connect(chat, true, {carol_dm});
  // A first DM delivered: the DM rooms are live (their cursors set), so the drop below leaves a gap to backfill.
  auto warm = post_as("eve", eve_dm, "warm up");
  ASSERT_TRUE(next_dm(warm));
  chat.drop(); // returns once the socket is closed: the next posts are not seen live
  auto missed_eve = post_as("eve", eve_dm, "eve while dropped");
  auto missed_carol = post_as("carol", carol_dm, "carol while dropped");
  auto ev = next_dm(missed_eve);
  ASSERT_TRUE(ev) << "eve's DM was not backfilled";
  EXPECT_EQ(ev->msg.room, eve_dm);
  EXPECT_EQ(ev->msg.author, "eve");
  EXPECT_EQ(ev->msg.text, "eve while dropped");
  EXPECT_TRUE(ev->direct);
  if (!seen_dm.count(missed_carol)) {
    auto ev2 = next_dm(missed_carol);
    ASSERT_TRUE(ev2) << "carol's DM was not backfilled";
    EXPECT_EQ(ev2->msg.author, "carol");
    EXPECT_EQ(ev2->msg.room, carol_dm);
  }
  // Messages posted after the reconnect come live, after any duplicate of the missed ones would have.
  auto after_eve = post_as("eve", eve_dm, "eve after");
  auto after_carol = post_as("carol", carol_dm, "carol after");
  ASSERT_TRUE(next_dm(after_eve));
  if (!seen_dm.count(after_carol)) {
    ASSERT_TRUE(next_dm(after_carol));
  }
  EXPECT_EQ(seen_dm[missed_eve], 1);
  EXPECT_EQ(seen_dm[missed_carol], 1);
  EXPECT_EQ(seen_dm.size(), 5u);
  EXPECT_EQ(chat.stats().direct, 5u);
  EXPECT_GE(chat.stats().drops, 1u);
  EXPECT_GE(chat.stats().lives, 2u);
  chat.stop();
}

TEST_F(ChatGatewayDm, ConnectWithoutADmActorDeliversNoDms) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, false); // the session's subscriptions: the two rooms, no __my_messages__
  ASSERT_EQ(user_opens_dm(), eve_dm);
  auto dm = post_as("eve", eve_dm, "hello?");
  auto sentinel = post_as("alice", "cicd-support", "sentinel");
  ASSERT_TRUE(next_event(sentinel, false));
  EXPECT_TRUE(seen_dm.empty());
  EXPECT_EQ(seen_chat.count(dm), 0u);
  EXPECT_EQ(chat.stats().direct, 0u);
  EXPECT_EQ(chat.stats().unrouted, 0u);
  chat.stop();
}

TEST_F(ChatGatewayDm, AChannelMessageDoesNotGoToTheDmActor) {
  io::chat_gateway chat{sys, runtime, cfg};
  ASSERT_FALSE(chat.open());
  connect(chat, true);
  ASSERT_EQ(user_opens_dm(), eve_dm);
  auto in_room = post_as("alice", "cicd-support", "@dutydesk the runner is down");
  auto ev = next_event(in_room, false);
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->direct);
  EXPECT_EQ(ev->msg.room, "cicd-support");
  auto in_public = post_as("alice", "general", "lunch?"); // public, not joined: on __my_messages__ too
  auto sentinel = post_as("eve", eve_dm, "sentinel");
  ASSERT_TRUE(next_dm(sentinel));
  EXPECT_EQ(seen_dm.count(in_room), 0u);
  EXPECT_EQ(seen_dm.count(in_public), 0u);
  EXPECT_EQ(seen_chat.count(in_public), 0u);
  EXPECT_EQ(seen_chat[in_room], 1);
  EXPECT_EQ(seen_dm.size(), 1u);
  chat.stop();
}

} // namespace
} // namespace dutydesk::test
