// ddp_session against the real simulator (DUTYDESK_SIM): login + per-room subscriptions + live messages, heartbeat,
// refused subscriptions, auth failure, and the central promise: across dropped connections every message version
// is delivered exactly once (reconnect + re-login + re-subscribe + chat.syncMessages backfill).

#include <map>
#include <set>

#include "io/ddp_session.hpp"
#include "io/rocketchat_rest.hpp"
#include "sim_fixture.hpp"

using namespace dutydesk;
using namespace dutydesk::io;
using dutydesk::test::run_until;
using namespace dutydesk::test::seed;
using std::chrono::milliseconds;

namespace {


class ddp_sim : public dutydesk::test::sim_test {
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

  ddp_session_config config(std::vector<std::string> rooms = {cicd, dba}) {
    ddp_session_config c;
    c.url = sim.rocketchat;
    c.token = bot_pat;
    c.room_ids = std::move(rooms);
    c.reconnect_base = milliseconds(20);
    c.reconnect_max = milliseconds(100);
    c.handshake_timeout = milliseconds(3000);
    return c;
  }

  ddp_callbacks recording() {
    ddp_callbacks cb;
    cb.on_message = [this](const chat_message& m) { got.push_back(m); };
    cb.on_state = [this](ddp_state s, const std::string& d) {
      states.push_back(s);
      last_detail = d;
      if (s == ddp_state::waiting)
        last_wait_reason = d;
    };
    cb.on_subscription_error = [this](const std::string& rid, const meteor_error& e) { refused[rid] = e.error; };
    return cb;
  }

  std::size_t count(const std::string& id) const {
    std::size_t n = 0;
    for (const auto& m : got)
      n += m.id == id;
    return n;
  }

  bool has(const std::string& id) const { return count(id) > 0; }

  /// Every (_id, _updatedAt) at most once.
  void expect_no_duplicate_versions() const {
    std::set<std::pair<std::string, std::int64_t>> xs;
    for (const auto& m : got)
      EXPECT_TRUE(xs.emplace(m.id, m.updated_at_ms).second) << "delivered twice: " << m.id << " @" << m.updated_at_ms;
  }

  std::optional<http_client> http;
  std::optional<rocketchat_rest> rest;
  std::vector<chat_message> got;
  std::vector<ddp_state> states;
  std::string last_detail;
  std::string last_wait_reason; // the detail of the newest `waiting` state: why the session is waiting to reconnect
  std::map<std::string, std::string> refused;
};

} // namespace

TEST_F(ddp_sim, login_subscribe_and_receive_live_messages) {
  ddp_session s(ioc, *rest, config(), recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << to_string(s.state()) << last_detail;
  auto sessions = control(http_method::get, "/control/rocketchat/sessions");
  ASSERT_EQ(sessions["sessions"].size(), 1u) << sessions.dump();
  EXPECT_EQ(sessions["sessions"][0]["user_id"], bot_id);
  EXPECT_EQ(sessions["sessions"][0]["subs"].size(), 2u);

  auto id = post_as("alice", "cicd-support", "@dutydesk db is down");
  auto id2 = post_as("bob", "dba-support", "replica lag");
  ASSERT_TRUE(run_until(ioc, [&] { return has(id) && has(id2); }));
  const auto& m = got.front();
  EXPECT_EQ(m.id, id);
  EXPECT_EQ(m.rid, cicd);
  EXPECT_EQ(m.msg, "@dutydesk db is down");
  EXPECT_EQ(m.u.username, "alice");
  EXPECT_GT(m.ts_ms, 0);
  EXPECT_GE(m.updated_at_ms, m.ts_ms);

  // A reaction re-emits the same _id with a newer _updatedAt: delivered as a new version.
  auto r = control(http_method::post, "/control/rocketchat/reactions",
                   {{"as", "carol"}, {"message_id", id}, {"emoji", ":eyes:"}});
  ASSERT_EQ(r["_status"], 200) << r.dump();
  ASSERT_TRUE(run_until(ioc, [&] { return count(id) == 2; }));
  EXPECT_EQ(got.back().reactions.at(":eyes:"), (std::vector<std::string>{"carol"}));
  // Rooms we did not subscribe to stay silent.
  auto other = post_as("alice", "general", "not ours");
  auto marker = post_as("alice", "cicd-support", "marker");
  ASSERT_TRUE(run_until(ioc, [&] { return has(marker); }));
  EXPECT_FALSE(has(other));
  EXPECT_EQ(s.stats().reconnects, 0u);
  EXPECT_EQ(s.stats().malformed_frames, 0u);
  expect_no_duplicate_versions();
}

TEST_F(ddp_sim, drops_lose_nothing_and_duplicate_nothing) {
  auto c = config();
  // Long enough that the posts below (a few ms, more on a loaded CI machine) happen while the bot is disconnected.
  c.reconnect_base = milliseconds(1500);
  c.reconnect_max = milliseconds(1500);
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  auto m1 = post_as("alice", "cicd-support", "before drop");
  ASSERT_TRUE(run_until(ioc, [&] { return has(m1); }));

  std::vector<std::string> missed;
  for (int round = 0; round < 3; ++round) {
    auto backfilled_before = s.stats().backfilled;
    auto d = control(http_method::post, "/control/rocketchat/drop");
    ASSERT_EQ(d["_status"], 200) << d.dump();
    ASSERT_GE(d["dropped"].get<int>(), 1);
    // The session has seen the drop (the reconnect timer now runs) before anything is posted.
    ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::waiting; })) << last_detail;
    // Posted while the bot is disconnected: only the backfill can deliver these.
    missed.push_back(post_as("alice", "cicd-support", "during drop " + std::to_string(round) + " a"));
    missed.push_back(post_as("bob", "dba-support", "during drop " + std::to_string(round) + " b"));
    auto r = control(http_method::post, "/control/rocketchat/reactions",
                     {{"as", "bob"}, {"message_id", m1}, {"emoji", ":eyes:"}, {"action", "toggle"}});
    ASSERT_EQ(r["_status"], 200);
    ASSERT_TRUE(run_until(ioc, [&] {
      return s.state() == ddp_state::live && s.stats().reconnects >= static_cast<std::uint64_t>(round + 1);
    })) << last_detail;
    // Two posts and one reaction version happened while disconnected: all three came from the backfill.
    EXPECT_EQ(s.stats().backfilled - backfilled_before, 3u) << "round " << round;
    auto after = post_as("carol", "cicd-support", "after reconnect " + std::to_string(round));
    missed.push_back(after);
    ASSERT_TRUE(run_until(ioc, [&] {
      return std::all_of(missed.begin(), missed.end(), [&](const std::string& id) { return has(id); });
    }));
  }
  for (const auto& id : missed)
    EXPECT_EQ(count(id), 1u) << id;
  // m1: the original plus one version per reaction toggle.
  EXPECT_EQ(count(m1), 4u);
  EXPECT_EQ(s.stats().reconnects, 3u);
  EXPECT_GE(s.stats().backfills, 6u);
  EXPECT_EQ(s.stats().backfilled, 9u);
  EXPECT_GE(s.stats().duplicates, 1u); // the overlap re-fetched versions already delivered
  expect_no_duplicate_versions();

  // Same room set as the server's view: everything in the rooms since the start, exactly once each.
  for (const char* room : {cicd, dba}) {
    auto all = control(http_method::get, std::string("/control/rocketchat/rooms/") + room + "/messages");
    for (const auto& m : all["messages"])
      EXPECT_EQ(count(m["_id"]), 1u + (m["_id"] == m1 ? 3u : 0u)) << m.dump();
  }
}

TEST_F(ddp_sim, local_drop_and_backfill_from_a_stored_timestamp) {
  auto before = post_as("alice", "cicd-support", "sent while dutydesk was down");
  auto j = control(http_method::get, "/control/rocketchat/messages/" + before);
  auto ts = parse_iso8601_ms(j["message"]["ts"].get<std::string>());
  ASSERT_TRUE(ts);
  auto c = config({cicd});
  c.backfill_since_ms = *ts - 1000;
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live && has(before); })) << last_detail;
  EXPECT_EQ(s.stats().backfilled, 1u);
  s.drop();
  EXPECT_EQ(s.state(), ddp_state::waiting);
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; }));
  EXPECT_EQ(count(before), 1u);
  EXPECT_EQ(s.stats().connects, 2u);
  EXPECT_GE(s.cursor_ms(cicd), *ts);
}

TEST_F(ddp_sim, client_heartbeat_keeps_an_idle_connection) {
  auto c = config({cicd});
  c.idle_ping = milliseconds(40);
  c.pong_timeout = milliseconds(1000);
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; }));
  ASSERT_TRUE(run_until(ioc, [&] { return s.stats().pings_sent >= 3; }));
  EXPECT_EQ(s.state(), ddp_state::live);
  EXPECT_EQ(s.stats().reconnects, 0u);
  auto log = control(http_method::get, "/control/requests?system=rocketchat");
  int pings = 0;
  for (const auto& r : log["requests"])
    if (r.value("method", "") == "WS" && r.value("body", "").find("\"ping\"") != std::string::npos)
      ++pings;
  EXPECT_GE(pings, 3);
}

TEST_F(ddp_sim, refused_room_is_reported_and_others_go_live) {
  ddp_session s(ioc, *rest, config({cicd, "NoSuchRoom"}), recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::live; })) << last_detail;
  ASSERT_EQ(refused.count("NoSuchRoom"), 1u);
  EXPECT_EQ(refused["NoSuchRoom"], "not-allowed");
  auto id = post_as("alice", "cicd-support", "still works");
  ASSERT_TRUE(run_until(ioc, [&] { return has(id); }));
}

TEST_F(ddp_sim, bad_token_stops_with_auth_failed) {
  auto c = config({cicd});
  c.token = "not-a-token";
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.state() == ddp_state::auth_failed; })) << to_string(s.state());
  EXPECT_NE(last_detail.find("logged out"), std::string::npos) << last_detail;
  ioc.restart();
  ioc.run_for(milliseconds(100));
  EXPECT_EQ(s.state(), ddp_state::auth_failed);
  EXPECT_EQ(s.stats().connects, 1u);
}

TEST_F(ddp_sim, unreachable_server_is_retried_with_backoff) {
  auto c = config({cicd});
  c.url = "http://127.0.0.1:1";
  ddp_session s(ioc, *rest, c, recording());
  s.start();
  ASSERT_TRUE(run_until(ioc, [&] { return s.stats().connects >= 3; }));
  EXPECT_GE(s.stats().reconnects, 2u);
  // The newest state may be the next `connecting` (no detail) already; the reason is the waiting state's.
  EXPECT_NE(last_wait_reason.find("connect failed"), std::string::npos) << last_wait_reason;
  s.stop();
  EXPECT_EQ(s.state(), ddp_state::stopped);
  // Let the aborted connect attempt complete: until it does, its pending callback owns the connection (as on the
  // always-running I/O thread of serve); destroying the io_context with it unrun would leak the session.
  ioc.restart();
  ioc.run_for(milliseconds(100));
}

TEST_F(ddp_sim, stop_inside_a_callback_ends_delivery) {
  std::unique_ptr<ddp_session> s;
  auto cb = recording();
  cb.on_message = [&](const chat_message& m) {
    got.push_back(m);
    s->stop(); // the adapter may stop from inside a callback
  };
  s = std::make_unique<ddp_session>(ioc, *rest, config({cicd}), cb);
  s->start();
  ASSERT_TRUE(run_until(ioc, [&] { return s->state() == ddp_state::live; }));
  auto first = post_as("alice", "cicd-support", "one");
  ASSERT_TRUE(run_until(ioc, [&] { return has(first); }));
  EXPECT_EQ(s->state(), ddp_state::stopped);
  auto second = post_as("alice", "cicd-support", "two");
  ioc.restart();
  ioc.run_for(milliseconds(100));
  EXPECT_FALSE(has(second));
  EXPECT_EQ(got.size(), 1u);
  auto sessions = control(http_method::get, "/control/rocketchat/sessions");
  for (const auto& x : sessions["sessions"])
    EXPECT_FALSE(x.value("connected", false)) << sessions.dump();
}
