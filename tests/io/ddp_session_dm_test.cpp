// ddp_session's direct messages against the real simulator (DUTYDESK_SIM), and the simulator's DM behaviour that
// they rest on (reference rocketchat.md §2.4/§2.5/§4.3/§4.7): the __my_messages__ subscription, DM messages to
// on_direct (new once, again only when the text was edited; reactions dropped), the other rooms of that stream
// ignored, DM rooms backfilled after drops (the given ones and those seen live) and from a stored timestamp, and a
// DM room the session never knew not backfilled; im.create's room and chat.update on a message with buttons.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "io/ddp_session.hpp"
#include "io/rocketchat_rest.hpp"
#include "sim_fixture.hpp"

using namespace dutydesk;
using namespace dutydesk::io;
using dutydesk::test::run_until;
using namespace dutydesk::test::seed;
using std::chrono::milliseconds;

namespace {

constexpr const char* eve_id = "Ev3Ev3Ev3Ev3Ev3Ev";
constexpr const char* eve_token = "eve-token-00000000000000000000000000000";
constexpr const char* carol_id = "CaroLCaroLCaroLCa";
constexpr const char* carol_token = "carol-token-000000000000000000000000000";
constexpr const char* dave_id = "DaveDaveDaveDave1";
constexpr const char* dave_token = "dave-token-0000000000000000000000000000";
// DM room ids: the two user ids sorted and concatenated (reference §4.7).
constexpr const char* eve_dm = "B0tB0tB0tB0tB0tB0Ev3Ev3Ev3Ev3Ev3Ev";
constexpr const char* carol_dm = "B0tB0tB0tB0tB0tB0CaroLCaroLCaroLCa";
constexpr const char* dave_dm = "B0tB0tB0tB0tB0tB0DaveDaveDaveDave1";

class ddp_dm_sim : public dutydesk::test::sim_test {
protected:
  void SetUp() override {
    sim_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    http_client_options o;
    o.retry.base_delay = milliseconds(10);
    o.retry.max_delay = milliseconds(50);
    http.emplace(ioc, o);
    rest.emplace(*http, sim.rocketchat, rc_credentials{bot_id, bot_pat});
  }

  ddp_session_config config(std::vector<std::string> rooms = {cicd}) {
    ddp_session_config c;
    c.url = sim.rocketchat;
    c.token = bot_pat;
    c.room_ids = std::move(rooms);
    c.direct_messages = true;
    c.reconnect_base = milliseconds(20);
    c.reconnect_max = milliseconds(100);
    c.handshake_timeout = milliseconds(3000);
    return c;
  }

  ddp_callbacks recording() {
    ddp_callbacks cb;
    cb.on_message = [this](const chat_message& m) { got.push_back(m); };
    cb.on_direct = [this](const chat_message& m) { direct.push_back(m); };
    cb.on_state = [this](ddp_state, const std::string& d) { last_detail = d; };
    return cb;
  }

  /// A REST client acting as another seed user (to write, edit or open DMs as that user).
  rocketchat_rest as_user(const char* id, const char* token) { return rocketchat_rest(*http, sim.rocketchat, {id, token}); }

  /// Runs one REST call to completion; fails the test when it does not answer.
  template <class T, class Call>
  api_result<T> await(Call call) {
    std::optional<api_result<T>> out;
    call([&](api_result<T> r) { out = std::move(r); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); })) << "no REST answer";
    return out ? std::move(*out) : api_result<T>(api_error{});
  }

  /// The bot's DM room with `user` (im.create as the bot).
  std::string open_dm(rocketchat_rest& r, const std::string& user) {
    auto room = await<rc_room>([&](auto cb) { r.im_create(user, cb); });
    EXPECT_TRUE(room.ok()) << describe(room.error());
    return room.ok() ? room->id : std::string();
  }

  std::size_t count_direct(const std::string& id) const {
    return static_cast<std::size_t>(
      std::count_if(direct.begin(), direct.end(), [&](const chat_message& m) { return m.id == id; }));
  }
  bool has_direct(const std::string& id) const { return count_direct(id) > 0; }
  bool has_message(const std::string& id) const {
    return std::any_of(got.begin(), got.end(), [&](const chat_message& m) { return m.id == id; });
  }

  std::optional<http_client> http;
  std::optional<rocketchat_rest> rest;
  std::vector<chat_message> got;    // on_message
  std::vector<chat_message> direct; // on_direct
  std::string last_detail;
};

} // namespace

TEST_F(ddp_dm_sim, a_users_dm_arrives_once_again_when_edited_and_not_for_a_reaction) {
  ddp_session s(ioc, *rest, config(), recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  auto sessions = control(http_method::get, "/control/rocketchat/sessions");
  ASSERT_EQ(sessions["sessions"].size(), 1u) << sessions.dump();
  std::vector<std::string> events;
  for (const auto& sub : sessions["sessions"][0]["subs"])
    events.push_back(sub.value("event", ""));
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (std::vector<std::string>{cicd, "__my_messages__"}));

  auto eve = as_user(eve_id, eve_token);
  auto rid = open_dm(eve, "dutydesk"); // the user opens the DM: the session has never heard of the room
  ASSERT_EQ(rid, eve_dm);
  auto id = post_as("eve", rid, "hello bot");
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(id); }));
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_EQ(direct[0].rid, eve_dm);
  EXPECT_EQ(direct[0].msg, "hello bot");
  EXPECT_EQ(direct[0].u.id, eve_id);
  EXPECT_EQ(direct[0].u.username, "eve");
  EXPECT_FALSE(direct[0].edited_at_ms);
  EXPECT_EQ(s.direct_rooms(), std::vector<std::string>{eve_dm}); // seen live: now known

  // A reaction re-emits the message without editedAt: nothing for on_direct.
  auto r = control(http_method::post, "/control/rocketchat/reactions",
                   {{"as", "eve"}, {"message_id", id}, {"emoji", ":eyes:"}});
  ASSERT_EQ(r["_status"], 200) << r.dump();
  auto marker = post_as("eve", rid, "marker 1");
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(marker); }));
  EXPECT_EQ(count_direct(id), 1u);
  EXPECT_EQ(s.stats().direct_ignored, 1u);

  // An edit re-emits it with editedAt and the new text: delivered again.
  auto edited = await<chat_message>([&](auto cb) { eve.update_message(rid, id, "hello bot, edited", cb); });
  ASSERT_TRUE(edited.ok()) << describe(edited.error());
  ASSERT_TRUE(run_until(ioc, [&] { return count_direct(id) == 2; }));
  EXPECT_EQ(direct.back().msg, "hello bot, edited");
  EXPECT_TRUE(direct.back().edited_at_ms);
  EXPECT_GT(direct.back().updated_at_ms, direct[0].updated_at_ms);

  // The bot's own DM is echoed on the stream; the session hands it on (the gateway filters by author).
  send_message_args own;
  own.rid = rid;
  own.msg = "bot says hi";
  auto sent = await<chat_message>([&](auto cb) { rest->send_message(own, cb); });
  ASSERT_TRUE(sent.ok()) << describe(sent.error());
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(sent->id); }));
  EXPECT_EQ(direct.back().u.id, bot_id);

  // The stream's other rooms: the configured room comes through its own subscription only, a public room the bot
  // has not joined (roomParticipant false, roomType c) not at all.
  auto in_room = post_as("alice", "cicd-support", "in the configured room");
  auto in_public = post_as("alice", "general", "public chatter");
  auto marker2 = post_as("eve", rid, "marker 2");
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(marker2) && has_message(in_room); }));
  EXPECT_FALSE(has_direct(in_room));
  EXPECT_FALSE(has_direct(in_public));
  EXPECT_FALSE(has_message(in_public));
  for (const auto& m : got)
    EXPECT_NE(m.rid, eve_dm) << m.id;
  EXPECT_EQ(direct.size(), 5u); // hello, marker 1, the edit, the bot's DM, marker 2
  EXPECT_EQ(s.stats().direct_delivered, direct.size());
  EXPECT_EQ(s.stats().reconnects, 0u);
}

TEST_F(ddp_dm_sim, dm_rooms_given_or_seen_live_are_backfilled_after_a_drop_exactly_once) {
  auto carol = as_user(carol_id, carol_token);
  ASSERT_EQ(open_dm(carol, "dutydesk"), carol_dm);
  ASSERT_EQ(open_dm(*rest, "eve"), eve_dm);
  auto c = config();
  c.direct_room_ids = {eve_dm};
  // Long enough that the posts below happen while the bot is disconnected.
  c.reconnect_base = milliseconds(1500);
  c.reconnect_max = milliseconds(1500);
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  EXPECT_EQ(s.direct_rooms(), std::vector<std::string>{eve_dm});
  auto first = post_as("carol", carol_dm, "carol before the drop"); // carol's room becomes known live
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(first); }));
  EXPECT_EQ(s.direct_rooms(), (std::vector<std::string>{carol_dm, eve_dm}));

  auto backfilled_before = s.stats().backfilled;
  auto d = control(http_method::post, "/control/rocketchat/drop");
  ASSERT_EQ(d["_status"], 200) << d.dump();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::waiting; })) << last_detail;
  auto missed_eve = post_as("eve", eve_dm, "eve while down");
  auto missed_carol = post_as("carol", carol_dm, "carol while down");
  auto edited = await<chat_message>([&](auto cb) { carol.update_message(carol_dm, first, "carol, edited while down", cb); });
  ASSERT_TRUE(edited.ok()) << describe(edited.error());
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live && s.stats().reconnects == 1; }))
    << last_detail;
  // Two new messages and one edit, all from the DM backfills (nothing happened in the configured room).
  EXPECT_EQ(s.stats().backfilled - backfilled_before, 3u);
  auto after = post_as("eve", eve_dm, "eve after the reconnect");
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(after); }));
  EXPECT_EQ(count_direct(missed_eve), 1u);
  EXPECT_EQ(count_direct(missed_carol), 1u);
  EXPECT_EQ(count_direct(first), 2u);
  auto last_first = std::find_if(direct.rbegin(), direct.rend(), [&](const chat_message& m) { return m.id == first; });
  EXPECT_EQ(last_first->msg, "carol, edited while down");
  EXPECT_EQ(direct.size(), 5u);
  EXPECT_GE(s.cursor_ms(carol_dm), edited->updated_at_ms);
}

TEST_F(ddp_dm_sim, a_dm_room_the_session_never_knew_loses_what_was_posted_while_down) {
  auto dave = as_user(dave_id, dave_token);
  ASSERT_EQ(open_dm(dave, "dutydesk"), dave_dm);
  auto c = config();
  c.reconnect_base = milliseconds(1500);
  c.reconnect_max = milliseconds(1500);
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  s.drop();
  ASSERT_EQ(s.state(), ddp_state::waiting);
  auto lost = post_as("dave", dave_dm, "nobody knew this room");
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  auto live = post_as("dave", dave_dm, "after the reconnect");
  ASSERT_TRUE(run_until(ioc, [&] { return has_direct(live); }));
  EXPECT_FALSE(has_direct(lost)); // the documented limit
  EXPECT_EQ(direct.size(), 1u);
}

TEST_F(ddp_dm_sim, a_given_dm_room_is_backfilled_from_a_stored_timestamp_on_the_first_subscription) {
  ASSERT_EQ(open_dm(*rest, "eve"), eve_dm);
  auto old = post_as("eve", eve_dm, "long before");
  auto j = control(http_method::get, "/control/rocketchat/messages/" + old);
  auto old_ts = parse_iso8601_ms(j["message"]["ts"].get<std::string>());
  ASSERT_TRUE(old_ts);
  // Posts elsewhere until the server's clock has moved past `old` (bounded; no sleep).
  std::int64_t later = 0;
  for (int i = 0; i < 500 && later <= *old_ts + 2; ++i) {
    auto tick = post_as("alice", "general", "tick " + std::to_string(i));
    auto t = control(http_method::get, "/control/rocketchat/messages/" + tick);
    later = parse_iso8601_ms(t["message"]["ts"].get<std::string>()).value_or(0);
  }
  ASSERT_GT(later, *old_ts + 2);
  auto recent = post_as("eve", eve_dm, "while dutydesk was down");
  auto c = config();
  c.backfill_overlap = milliseconds(1);
  c.backfill_since_ms = later; // the last timestamp a previous process stored: after `old`, before `recent`
  c.direct_room_ids = {eve_dm};
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live && has_direct(recent); })) << last_detail;
  EXPECT_EQ(count_direct(recent), 1u);
  EXPECT_FALSE(has_direct(old));
  EXPECT_EQ(s.stats().backfilled, 1u);
}

TEST_F(ddp_dm_sim, without_direct_messages_there_is_no_dm_subscription) {
  auto c = config();
  c.direct_messages = false;
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  auto sessions = control(http_method::get, "/control/rocketchat/sessions");
  ASSERT_EQ(sessions["sessions"].size(), 1u);
  ASSERT_EQ(sessions["sessions"][0]["subs"].size(), 1u) << sessions.dump();
  EXPECT_EQ(sessions["sessions"][0]["subs"][0]["event"], cicd);
  ASSERT_EQ(open_dm(*rest, "eve"), eve_dm);
  s.add_direct_room(eve_dm); // ignored without direct_messages
  EXPECT_TRUE(s.direct_rooms().empty());
  auto dm = post_as("eve", eve_dm, "anyone?");
  auto marker = post_as("alice", "cicd-support", "marker");
  ASSERT_TRUE(run_until(ioc, [&] { return has_message(marker); }));
  EXPECT_FALSE(has_direct(dm));
  EXPECT_FALSE(has_message(dm));
}

// -- the simulator's DM rooms and edits -----------------------------------------------------------------------------

TEST_F(ddp_dm_sim, sim_im_create_is_idempotent_and_names_the_room_by_the_sorted_user_ids) {
  auto a = await<rc_room>([&](auto cb) { rest->im_create("eve", cb); });
  auto b = await<rc_room>([&](auto cb) { rest->im_create("eve", cb); });
  ASSERT_TRUE(a.ok()) << describe(a.error());
  ASSERT_TRUE(b.ok()) << describe(b.error());
  EXPECT_EQ(a->id, eve_dm);
  EXPECT_EQ(b->id, eve_dm);
  EXPECT_EQ(a->type, "d");
  auto names = a->usernames;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"dutydesk", "eve"}));
  // The user's side opens the same room.
  auto eve = as_user(eve_id, eve_token);
  EXPECT_EQ(open_dm(eve, "dutydesk"), eve_dm);
  auto dms = control(http_method::get, "/control/rocketchat/users/eve/dms");
  ASSERT_EQ(dms["rooms"].size(), 1u) << dms.dump();
  EXPECT_EQ(dms["rooms"][0]["_id"], eve_dm);
  auto bad = await<rc_room>([&](auto cb) { rest->im_create("nobody", cb); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 400);
  EXPECT_EQ(bad.error().error, "Invalid user [error-invalid-user]");
}

TEST_F(ddp_dm_sim, sim_chat_update_changes_only_the_text_of_a_dm_with_buttons) {
  ASSERT_EQ(open_dm(*rest, "eve"), eve_dm);
  send_message_args a;
  a.rid = eve_dm;
  a.msg = "Rate the help you got";
  rc_attachment att;
  for (int i = 1; i <= 5; ++i)
    att.buttons.push_back(rc_button{std::to_string(i), "!dd rate R-1 " + std::to_string(i), "", "sendMessage"});
  a.attachments.push_back(att);
  auto sent = await<chat_message>([&](auto cb) { rest->send_message(a, cb); });
  ASSERT_TRUE(sent.ok()) << describe(sent.error());
  auto up = await<chat_message>([&](auto cb) { rest->update_message(eve_dm, sent->id, "Survey withdrawn", cb); });
  ASSERT_TRUE(up.ok()) << describe(up.error());
  EXPECT_EQ(up->msg, "Survey withdrawn");
  EXPECT_TRUE(up->edited_at_ms);
  EXPECT_TRUE(up->has_attachments);
  auto j = control(http_method::get, "/control/rocketchat/messages/" + sent->id)["message"];
  EXPECT_EQ(j["msg"], "Survey withdrawn");
  EXPECT_EQ(j["editedBy"]["username"], "dutydesk");
  ASSERT_EQ(j["attachments"].size(), 1u) << j.dump();
  ASSERT_EQ(j["attachments"][0]["actions"].size(), 5u) << j.dump();
  EXPECT_EQ(j["attachments"][0]["actions"][4]["msg"], "!dd rate R-1 5");
  // The same text again is a silent no-op: nothing changes.
  auto again = await<chat_message>([&](auto cb) { rest->update_message(eve_dm, sent->id, "Survey withdrawn", cb); });
  ASSERT_TRUE(again.ok()) << describe(again.error());
  EXPECT_EQ(again->updated_at_ms, up->updated_at_ms);
  // The room must be the message's; the id must exist.
  auto wrong_room = await<chat_message>([&](auto cb) { rest->update_message(cicd, sent->id, "x", cb); });
  ASSERT_FALSE(wrong_room.ok());
  EXPECT_EQ(wrong_room.error().error, "The room id provided does not match where the message is from.");
  auto missing = await<chat_message>([&](auto cb) { rest->update_message(eve_dm, "NoSuchMessage0001", "x", cb); });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().status, 400);
  EXPECT_EQ(missing.error().error, "No message found with the id of \"NoSuchMessage0001\".");
}
