// Realtime DDP of the Rocket.Chat simulator: handshake, heartbeat, login, methods, streams and re-emits.

#include "sim/rocketchat.hpp"

#include <fstream>

#include <gtest/gtest.h>

using namespace dutydesk::sim;

namespace {

struct fake_ws final : ws_connection {
  std::vector<std::string> frames;
  int close_code = 0;
  bool closed = false;
  bool dropped = false;
  void send_text(std::string f) override { frames.push_back(std::move(f)); }
  void close(int code, std::string) override {
    closed = true;
    close_code = code;
  }
  void drop() override { dropped = true; }
  std::vector<json> take() {
    std::vector<json> out;
    for (auto& f : frames)
      out.push_back(json::parse(f));
    frames.clear();
    return out;
  }
};

class rc_ddp : public ::testing::Test {
protected:
  manual_clock clock;
  id_source ids{11};
  rocketchat_sim sim{clock, ids};
  std::map<std::string, std::pair<std::string, std::string>> creds;

  void SetUp() override {
    std::ifstream in(std::string(DUTYDESK_SOURCE_DIR) + "/sim/seed/demo.json");
    auto seed = json::parse(in)["rocketchat"];
    sim.load_seed(seed);
    for (auto& u : seed["users"])
      creds[u["username"]] = {u["id"], u["tokens"][0]};
  }

  struct client {
    std::shared_ptr<fake_ws> ws;
    uint64_t id;
  };
  client open() {
    auto ws = std::make_shared<fake_ws>();
    auto id = sim.ddp_open(ws);
    return {ws, id};
  }
  void send(const client& c, const json& j) { sim.ddp_message(c.id, j.dump()); }
  client connected() {
    auto c = open();
    send(c, {{"msg", "connect"}, {"version", "1"}, {"support", {"1", "pre2", "pre1"}}});
    c.ws->frames.clear();
    return c;
  }
  client logged_in(const std::string& username) {
    auto c = connected();
    send(c, {{"msg", "method"}, {"id", "login"}, {"method", "login"}, {"params", {{{"resume", creds[username].second}}}}});
    auto fs = c.ws->take();
    EXPECT_EQ(fs.size(), 3u);
    return c;
  }
  std::vector<json> call(const client& c, const std::string& id, const std::string& method, const json& params) {
    send(c, {{"msg", "method"}, {"id", id}, {"method", method}, {"params", params}});
    return c.ws->take();
  }
  json sub(const client& c, const std::string& id, const std::string& name, const json& params) {
    send(c, {{"msg", "sub"}, {"id", id}, {"name", name}, {"params", params}});
    auto fs = c.ws->take();
    return fs.empty() ? json() : fs.back();
  }
  http_response rest_post(const std::string& route, const std::string& as, const json& body) {
    http_request r;
    r.method = "POST";
    r.path = "/api/v1/" + route;
    r.remote = "127.0.0.1:1";
    r.headers["x-user-id"] = creds[as].first;
    r.headers["x-auth-token"] = creds[as].second;
    r.body = body.dump();
    return sim.handle(r);
  }
  json post(const std::string& as, const json& body) {
    auto r = rest_post("chat.postMessage", as, body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["message"];
  }
  static std::vector<json> changed(const std::vector<json>& fs) {
    std::vector<json> out;
    for (auto& f : fs)
      if (f["msg"] == "changed")
        out.push_back(f);
    return out;
  }
};

TEST_F(rc_ddp, greeting_and_connect) {
  auto c = open();
  ASSERT_EQ(c.ws->frames.size(), 1u);
  EXPECT_EQ(c.ws->frames[0], R"({"server_id":"0"})");
  c.ws->frames.clear();
  send(c, {{"msg", "connect"}, {"version", "1"}, {"support", {"1"}}});
  auto fs = c.ws->take();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["msg"], "connected");
  EXPECT_EQ(fs[0]["session"].get<std::string>().size(), 17u);
}

TEST_F(rc_ddp, first_frame_must_be_connect) {
  auto c = open();
  send(c, {{"msg", "method"}, {"id", "1"}, {"method", "login"}, {"params", json::array()}});
  EXPECT_TRUE(c.ws->closed);
  EXPECT_EQ(c.ws->close_code, 1002);
  EXPECT_EQ(sim.num_sessions(), 0u);
}

TEST_F(rc_ddp, unsupported_version_fails) {
  auto c = open();
  c.ws->frames.clear();
  send(c, {{"msg", "connect"}, {"version", "2"}, {"support", {"2"}}});
  auto fs = c.ws->take();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0], (json{{"msg", "failed"}, {"version", "1"}}));
  EXPECT_TRUE(c.ws->closed);
}

TEST_F(rc_ddp, ping_pong_both_ways) {
  auto c = connected();
  send(c, {{"msg", "ping"}, {"id", "p1"}});
  send(c, {{"msg", "ping"}});
  auto fs = c.ws->take();
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0], (json{{"msg", "pong"}, {"id", "p1"}}));
  EXPECT_EQ(fs[1], (json{{"msg", "pong"}}));
}

TEST_F(rc_ddp, server_heartbeat_pings_after_30s_and_closes_after_60s) {
  auto c = connected();
  clock.advance_ms(29000);
  sim.tick();
  EXPECT_TRUE(c.ws->frames.empty());
  clock.advance_ms(1000);
  sim.tick();
  ASSERT_EQ(c.ws->frames.size(), 1u);
  EXPECT_EQ(json::parse(c.ws->frames[0]), (json{{"msg", "ping"}}));
  clock.advance_ms(29000);
  sim.tick();
  EXPECT_FALSE(c.ws->closed);
  clock.advance_ms(1000);
  sim.tick();
  EXPECT_TRUE(c.ws->closed);
  EXPECT_EQ(c.ws->close_code, 4000);
  EXPECT_EQ(sim.num_sessions(), 0u);
}

TEST_F(rc_ddp, client_traffic_resets_the_heartbeat) {
  auto c = connected();
  clock.advance_ms(30000);
  sim.tick();
  c.ws->frames.clear();
  clock.advance_ms(20000);
  send(c, {{"msg", "pong"}});
  clock.advance_ms(20000);
  sim.tick();
  EXPECT_FALSE(c.ws->closed);
  EXPECT_TRUE(c.ws->frames.empty()); // 20 s of silence: no new ping yet
  clock.advance_ms(10000);
  sim.tick();
  EXPECT_EQ(c.ws->frames.size(), 1u);
}

TEST_F(rc_ddp, login_resume_sends_added_result_updated) {
  auto c = connected();
  send(c, {{"msg", "method"}, {"id", "1"}, {"method", "login"}, {"params", {{{"resume", creds["dutydesk"].second}}}}});
  auto fs = c.ws->take();
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0], (json{{"msg", "added"}, {"collection", "users"}, {"id", "B0tB0tB0tB0tB0tB0"}, {"fields", {{"username", "dutydesk"}}}}));
  EXPECT_EQ(fs[1]["msg"], "result");
  EXPECT_EQ(fs[1]["id"], "1");
  EXPECT_EQ(fs[1]["result"]["id"], "B0tB0tB0tB0tB0tB0");
  EXPECT_EQ(fs[1]["result"]["token"], creds["dutydesk"].second);
  EXPECT_EQ(fs[1]["result"]["type"], "resume");
  EXPECT_TRUE(fs[1]["result"]["tokenExpires"].contains("$date")); // a PAT: {"$date": null}
  EXPECT_EQ(fs[2], (json{{"msg", "updated"}, {"methods", {"1"}}}));
}

TEST_F(rc_ddp, login_token_from_rest_expires_in_90_days) {
  http_request r;
  r.method = "POST";
  r.path = "/api/v1/login";
  r.body = R"({"user":"alice","password":"alice-pass"})";
  auto token = json::parse(sim.handle(r).body)["data"]["authToken"].get<std::string>();
  auto c = connected();
  auto fs = call(c, "1", "login", {{{"resume", token}}});
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[1]["result"]["tokenExpires"]["$date"], clock.now_ms() + 90LL * 24 * 3600 * 1000);
}

TEST_F(rc_ddp, login_with_digest_password_and_errors) {
  auto c = connected();
  auto fs = call(c, "1", "login", {{{"user", {{"username", "bob"}}}, {"password", {{"digest", rc::sha256_hex("bob-pass")}, {"algorithm", "sha-256"}}}}});
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[1]["result"]["type"], "password");
  EXPECT_EQ(fs[1]["result"]["id"], "B0bB0bB0bB0bB0bB0");
  auto bad = call(connected(), "2", "login", {{{"resume", "nope"}}});
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0]["error"], (json{{"isClientSafe", true}, {"error", 403}, {"reason", "You've been logged out by the server. Please log in again."}, {"message", "You've been logged out by the server. Please log in again. [403]"}, {"errorType", "Meteor.Error"}}));
  EXPECT_EQ(bad[1]["msg"], "updated");
}

TEST_F(rc_ddp, unknown_method_is_404) {
  auto c = logged_in("dutydesk");
  auto fs = call(c, "9", "noSuchMethod", json::array());
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0]["error"]["error"], 404);
  EXPECT_EQ(fs[0]["error"]["reason"], "Method 'noSuchMethod' not found");
  EXPECT_EQ(fs[0]["error"]["message"], "Method 'noSuchMethod' not found [404]");
}

TEST_F(rc_ddp, send_message_method_and_strict_keys) {
  auto c = logged_in("alice");
  auto fs = call(c, "1", "sendMessage", {{{"_id", "AliceMsg000000001"}, {"rid", "CicdSupp0rtRoom01"}, {"msg", "hi"}}});
  ASSERT_EQ(fs.size(), 2u);
  auto m = fs[0]["result"];
  EXPECT_EQ(m["_id"], "AliceMsg000000001");
  EXPECT_EQ(m["ts"], (json{{"$date", clock.now_ms()}}));
  EXPECT_EQ(m["u"]["username"], "alice");
  auto rejected = call(c, "2", "sendMessage", {{{"rid", "CicdSupp0rtRoom01"}, {"msg", "x"}, {"attachments", json::array()}}});
  EXPECT_EQ(rejected[0]["error"]["error"], 400);
  EXPECT_EQ(rejected[0]["error"]["reason"], "Match failed");
  // Failures other than error-not-allowed are swallowed: a result frame without `result`.
  auto swallowed = call(c, "3", "sendMessage", {{{"rid", "CicdSupp0rtRoom01"}, {"msg", std::string(6000, 'x')}}});
  EXPECT_EQ(swallowed[0], (json{{"msg", "result"}, {"id", "3"}}));
  auto anon = connected();
  auto e = call(anon, "4", "sendMessage", {{{"rid", "CicdSupp0rtRoom01"}, {"msg", "x"}}});
  EXPECT_EQ(e[0]["error"]["error"], "error-invalid-user");
}

TEST_F(rc_ddp, room_stream_delivers_messages_with_the_changed_envelope) {
  auto c = logged_in("dutydesk");
  auto ready = sub(c, "s1", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  EXPECT_EQ(ready, (json{{"msg", "ready"}, {"subs", {"s1"}}}));
  auto m = post("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "own echo"}});
  auto fs = changed(c.ws->take());
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["collection"], "stream-room-messages");
  EXPECT_EQ(fs[0]["id"], "id");
  EXPECT_EQ(fs[0]["fields"]["eventName"], "CicdSupp0rtRoom01");
  ASSERT_EQ(fs[0]["fields"]["args"].size(), 1u);
  auto doc = fs[0]["fields"]["args"][0];
  EXPECT_EQ(doc["_id"], m["_id"]);
  EXPECT_EQ(doc["u"]["_id"], "B0tB0tB0tB0tB0tB0"); // the bot's own post is echoed
  EXPECT_EQ(doc["ts"], (json{{"$date", clock.now_ms()}}));
  EXPECT_EQ(doc["_updatedAt"], (json{{"$date", clock.now_ms()}}));
  // Another room's traffic does not arrive.
  post("alice", {{"roomId", "DbaSupp0rtRoom002"}, {"text", "elsewhere"}});
  EXPECT_TRUE(changed(c.ws->take()).empty());
}

TEST_F(rc_ddp, use_collection_true_adds_an_added_frame) {
  auto c = logged_in("dutydesk");
  send(c, {{"msg", "sub"}, {"id", "s1"}, {"name", "stream-room-messages"}, {"params", {"CicdSupp0rtRoom01", true}}});
  send(c, {{"msg", "sub"}, {"id", "s2"}, {"name", "stream-room-messages"}, {"params", {"DbaSupp0rtRoom002", {{"useCollection", true}, {"args", {nullptr}}}}}});
  send(c, {{"msg", "sub"}, {"id", "s3"}, {"name", "stream-room-messages"}, {"params", {"GENERAL", {{"useCollection", false}, {"args", {nullptr}}}}}});
  auto fs = c.ws->take();
  ASSERT_EQ(fs.size(), 5u);
  EXPECT_EQ(fs[0], (json{{"msg", "added"}, {"collection", "stream-room-messages"}, {"id", "id"}, {"fields", {{"eventName", "CicdSupp0rtRoom01"}}}}));
  EXPECT_EQ(fs[1]["msg"], "ready");
  EXPECT_EQ(fs[2]["fields"]["eventName"], "DbaSupp0rtRoom002");
  EXPECT_EQ(fs[3]["msg"], "ready");
  EXPECT_EQ(fs[4], (json{{"msg", "ready"}, {"subs", {"s3"}}})); // public room, not joined: allowed
}

TEST_F(rc_ddp, refused_and_unknown_subscriptions_and_unsub) {
  http_request r;
  r.method = "POST";
  r.path = "/rooms";
  r.body = R"({"name":"secret","type":"p","members":["alice"]})";
  auto rid = json::parse(sim.handle_control(r).body)["id"].get<std::string>();
  auto c = logged_in("bob");
  auto refused = sub(c, "s1", "stream-room-messages", {rid, false});
  EXPECT_EQ(refused, (json{{"msg", "nosub"}, {"id", "s1"}, {"error", {{"isClientSafe", true}, {"error", "not-allowed"}, {"message", "[not-allowed]"}, {"errorType", "Meteor.Error"}}}}));
  EXPECT_EQ(sub(c, "s2", "stream-room-messages", {"NoSuchRoom", false})["error"]["error"], "not-allowed");
  EXPECT_EQ(sub(c, "s3", "stream-notify-user", {"Alic3Alic3Alic3Al/message", false})["error"]["error"], "not-allowed");
  EXPECT_EQ(sub(c, "s4", "no-such-publication", json::array())["error"]["error"], 404);
  ASSERT_EQ(sub(c, "s5", "stream-room-messages", {"CicdSupp0rtRoom01", false})["msg"], "ready");
  send(c, {{"msg", "unsub"}, {"id", "s5"}});
  EXPECT_EQ(c.ws->take(), (std::vector<json>{{{"msg", "nosub"}, {"id", "s5"}}}));
  post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "after unsub"}});
  EXPECT_TRUE(changed(c.ws->take()).empty());
  send(c, {{"msg", "unsub"}, {"id", "never-existed"}});
  EXPECT_EQ(c.ws->take()[0], (json{{"msg", "nosub"}, {"id", "never-existed"}}));
}

TEST_F(rc_ddp, my_messages_carries_room_participation) {
  auto c = logged_in("dutydesk");
  ASSERT_EQ(sub(c, "s1", "stream-room-messages", {"__my_messages__", false})["msg"], "ready");
  post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "joined room"}});
  post("alice", {{"roomId", "GENERAL"}, {"text", "not joined"}});
  post("alice", {{"channel", "@dutydesk"}, {"text", "dm"}});
  auto fs = changed(c.ws->take());
  ASSERT_EQ(fs.size(), 3u);
  for (auto& f : fs)
    EXPECT_EQ(f["fields"]["eventName"], "__my_messages__");
  EXPECT_EQ(fs[0]["fields"]["args"][1], (json{{"roomParticipant", true}, {"roomType", "c"}, {"roomName", "cicd-support"}}));
  EXPECT_EQ(fs[1]["fields"]["args"][1], (json{{"roomParticipant", false}, {"roomType", "c"}, {"roomName", "general"}}));
  EXPECT_EQ(fs[2]["fields"]["args"][1], (json{{"roomParticipant", true}, {"roomType", "d"}}));
  EXPECT_EQ(fs[2]["fields"]["args"][0]["msg"], "dm");
}

TEST_F(rc_ddp, reaction_and_edit_re_emit_the_whole_message) {
  auto c = logged_in("dutydesk");
  sub(c, "s1", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  auto m = post("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "vote"}});
  c.ws->frames.clear();
  clock.advance_ms(500);
  auto alice = logged_in("alice");
  call(alice, "r", "setReaction", {":eyes:", m["_id"]});
  auto fs = changed(c.ws->take());
  ASSERT_EQ(fs.size(), 1u);
  auto doc = fs[0]["fields"]["args"][0];
  EXPECT_EQ(doc["_id"], m["_id"]);
  EXPECT_EQ(doc["msg"], "vote");
  EXPECT_EQ(doc["reactions"], (json{{":eyes:", {{"usernames", {"alice"}}}}}));
  EXPECT_FALSE(doc.contains("editedAt"));
  EXPECT_EQ(doc["_updatedAt"], (json{{"$date", clock.now_ms()}}));
  call(alice, "r2", "setReaction", {":eyes:", m["_id"]}); // toggle off: the key disappears
  fs = changed(c.ws->take());
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_FALSE(fs[0]["fields"]["args"][0].contains("reactions"));

  clock.advance_ms(500);
  auto bot = logged_in("dutydesk");
  auto res = call(bot, "u", "updateMessage", {{{"_id", m["_id"]}, {"rid", "CicdSupp0rtRoom01"}, {"msg", "vote (closed)"}, {"attachments", json::array()}}});
  EXPECT_FALSE(res[0].contains("error")) << res[0];
  fs = changed(c.ws->take());
  ASSERT_EQ(fs.size(), 1u);
  doc = fs[0]["fields"]["args"][0];
  EXPECT_EQ(doc["msg"], "vote (closed)");
  EXPECT_EQ(doc["editedAt"], (json{{"$date", clock.now_ms()}}));
  EXPECT_EQ(doc["editedBy"], (json{{"_id", "B0tB0tB0tB0tB0tB0"}, {"username", "dutydesk"}}));
  // Unchanged text: silent no-op, nothing emitted.
  call(bot, "u2", "updateMessage", {{{"_id", m["_id"]}, {"msg", "vote (closed)"}}});
  EXPECT_TRUE(changed(c.ws->take()).empty());
  auto bad_key = call(bot, "u3", "updateMessage", {{{"_id", m["_id"]}, {"rid", "GENERAL"}, {"msg", "moved"}}});
  EXPECT_EQ(bad_key[0]["error"]["error"], "error-invalid-update-key");
}

TEST_F(rc_ddp, thread_reply_re_emits_the_root) {
  auto c = logged_in("dutydesk");
  sub(c, "s1", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  auto root = post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "@dutydesk db is down"}});
  c.ws->frames.clear();
  clock.advance_ms(2000);
  auto bob = logged_in("bob");
  call(bob, "1", "sendMessage", {{{"rid", "CicdSupp0rtRoom01"}, {"tmid", root["_id"]}, {"msg", "looking"}}});
  auto fs = changed(c.ws->take());
  ASSERT_EQ(fs.size(), 2u);
  auto reply = fs[0]["fields"]["args"][0];
  EXPECT_EQ(reply["tmid"], root["_id"]);
  EXPECT_EQ(reply["msg"], "looking");
  auto r = fs[1]["fields"]["args"][0];
  EXPECT_EQ(r["_id"], root["_id"]);
  EXPECT_EQ(r["tcount"], 1);
  EXPECT_EQ(r["tlm"], reply["ts"]);
  EXPECT_EQ(r["replies"], (json{"Alic3Alic3Alic3Al", "B0bB0bB0bB0bB0bB0"}));
}

TEST_F(rc_ddp, deletes_notify_room_or_re_emit_rm) {
  auto c = logged_in("dutydesk");
  sub(c, "s1", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  ASSERT_EQ(sub(c, "s2", "stream-notify-room", {"CicdSupp0rtRoom01/deleteMessage", false})["msg"], "ready");
  auto m = post("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "bye"}});
  c.ws->frames.clear();
  auto fs = changed(call(c, "d", "deleteMessage", {{{"_id", m["_id"]}}}));
  ASSERT_EQ(fs.size(), 1u); // nothing on the message stream, only the notify-room event
  EXPECT_EQ(fs[0], (json{{"msg", "changed"}, {"collection", "stream-notify-room"}, {"id", "id"}, {"fields", {{"eventName", "CicdSupp0rtRoom01/deleteMessage"}, {"args", {{{"_id", m["_id"]}}}}}}}));

  // Someone else's message, in a room they do not own: not allowed.
  auto other = post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "alice's"}});
  auto bob = logged_in("bob");
  auto denied = call(bob, "d2", "deleteMessage", {{{"_id", other["_id"]}}});
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_EQ(denied[0]["error"]["error"], "error-action-not-allowed");
  EXPECT_EQ(denied[0]["error"]["reason"], "Not allowed");
}

TEST_F(rc_ddp, thread_root_delete_is_a_soft_rm_re_emit) {
  auto c = logged_in("alice");
  sub(c, "s1", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  sub(c, "s2", "stream-notify-room", {"CicdSupp0rtRoom01/deleteMessage", false});
  auto root = post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "root"}});
  post("bob", {{"roomId", "CicdSupp0rtRoom01"}, {"tmid", root["_id"]}, {"text", "reply"}});
  c.ws->frames.clear();
  auto fs = changed(call(c, "d", "deleteMessage", {{{"_id", root["_id"]}}}));
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["collection"], "stream-room-messages");
  auto doc = fs[0]["fields"]["args"][0];
  EXPECT_EQ(doc["_id"], root["_id"]);
  EXPECT_EQ(doc["t"], "rm");
  EXPECT_EQ(doc["msg"], "");
  EXPECT_EQ(doc["attachments"], json::array());
  EXPECT_EQ(doc["reactions"], json::object());
  EXPECT_EQ(doc["editedBy"]["username"], "alice");
  EXPECT_FALSE(doc.contains("md"));
}

TEST_F(rc_ddp, notify_user_subscriptions_changed_on_new_dm_and_ephemeral_errors) {
  auto c = logged_in("dutydesk");
  ASSERT_EQ(sub(c, "s1", "stream-notify-user", {"B0tB0tB0tB0tB0tB0/subscriptions-changed", false})["msg"], "ready");
  ASSERT_EQ(sub(c, "s2", "stream-notify-user", {"B0tB0tB0tB0tB0tB0/message", false})["msg"], "ready");
  auto res = call(c, "1", "createDirectMessage", {"eve"});
  auto fs = changed(res);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["fields"]["eventName"], "B0tB0tB0tB0tB0tB0/subscriptions-changed");
  EXPECT_EQ(fs[0]["fields"]["args"][0], "inserted");
  auto s = fs[0]["fields"]["args"][1];
  EXPECT_EQ(s["rid"], "B0tB0tB0tB0tB0tB0Ev3Ev3Ev3Ev3Ev3Ev");
  EXPECT_EQ(s["t"], "d");
  EXPECT_EQ(s["name"], "eve");
  EXPECT_EQ(s["ts"], (json{{"$date", clock.now_ms()}}));
  auto result = std::find_if(res.begin(), res.end(), [](auto& f) { return f["msg"] == "result"; });
  ASSERT_NE(result, res.end());
  EXPECT_EQ((*result)["result"], (json{{"t", "d"}, {"rid", "B0tB0tB0tB0tB0tB0Ev3Ev3Ev3Ev3Ev3Ev"}, {"usernames", {"dutydesk", "eve"}}}));

  // Sending into a private room the bot is not in: error-not-allowed is rethrown and an ephemeral arrives.
  http_request r;
  r.method = "POST";
  r.path = "/rooms";
  r.body = R"({"name":"secret","type":"p","members":["alice"]})";
  auto rid = json::parse(sim.handle_control(r).body)["id"].get<std::string>();
  auto err = call(c, "2", "sendMessage", {{{"rid", rid}, {"msg", "x"}}});
  auto eph = changed(err);
  ASSERT_EQ(eph.size(), 1u);
  EXPECT_EQ(eph[0]["fields"]["eventName"], "B0tB0tB0tB0tB0tB0/message");
  EXPECT_EQ(eph[0]["fields"]["args"][0]["private"], true);
  EXPECT_EQ(eph[0]["fields"]["args"][0]["u"]["username"], "rocket.cat");
  auto res2 = std::find_if(err.begin(), err.end(), [](auto& f) { return f["msg"] == "result"; });
  EXPECT_EQ((*res2)["error"]["error"], "error-not-allowed");
}

TEST_F(rc_ddp, load_history_returns_newest_first) {
  auto c = logged_in("bob");
  for (int i = 0; i < 3; ++i) {
    post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "h" + std::to_string(i)}});
    clock.advance_ms(1000);
  }
  auto fs = call(c, "1", "loadHistory", {"CicdSupp0rtRoom01", nullptr, 2, nullptr});
  auto msgs = fs[0]["result"]["messages"];
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0]["msg"], "h2");
  EXPECT_EQ(msgs[1]["msg"], "h1");
  EXPECT_TRUE(msgs[0]["ts"].contains("$date"));
}

TEST_F(rc_ddp, drop_all_connections_drops_every_socket) {
  auto a = logged_in("alice");
  auto b = connected();
  sim.drop_all_connections();
  EXPECT_TRUE(a.ws->dropped);
  EXPECT_TRUE(b.ws->dropped);
  EXPECT_EQ(sim.num_sessions(), 0u);
  sim.ddp_closed(a.id); // the server's later notification is harmless
  post("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "nobody listens"}});
  EXPECT_TRUE(a.ws->frames.empty());
}

TEST_F(rc_ddp, each_subscriber_gets_the_same_frame) {
  auto a = logged_in("alice");
  auto b = logged_in("bob");
  sub(a, "s", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  sub(b, "s", "stream-room-messages", {"CicdSupp0rtRoom01", false});
  post("carol", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "fan out"}});
  ASSERT_EQ(a.ws->frames.size(), 1u);
  ASSERT_EQ(b.ws->frames.size(), 1u);
  EXPECT_EQ(a.ws->frames[0], b.ws->frames[0]);
}

} // namespace

namespace {

TEST_F(rc_ddp, malformed_frames_get_an_error_not_a_crash) {
  auto c = logged_in("alice");
  send(c, {{"msg", "sub"}, {"id", 5}, {"name", "stream-room-messages"}, {"params", {"GENERAL", false}}});
  auto fs = c.ws->take();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["msg"], "error");
  EXPECT_EQ(fs[0]["reason"], "Bad request");
  sim.ddp_message(c.id, "not json");
  EXPECT_EQ(c.ws->take()[0]["reason"], "Bad request");
  auto r = call(c, "1", "login", {{{"user", {{"username", 7}}}, {"password", "x"}}});
  EXPECT_TRUE(r[0].contains("error"));
  EXPECT_EQ(r[1]["msg"], "updated");
}

} // namespace
