// Control API of the Rocket.Chat simulator: users, rooms, posting and button clicks as users, read-back.

#include "sim/rocketchat.hpp"

#include <fstream>

#include <gtest/gtest.h>

using namespace dutydesk::sim;

namespace {

struct rec_ws final : ws_connection {
  std::vector<json> frames;
  bool dropped = false;
  void send_text(std::string f) override { frames.push_back(json::parse(f)); }
  void close(int, std::string) override {}
  void drop() override { dropped = true; }
};

class rc_control : public ::testing::Test {
protected:
  manual_clock clock;
  id_source ids{3};
  rocketchat_sim sim{clock, ids};

  void SetUp() override {
    std::ifstream in(std::string(DUTYDESK_SOURCE_DIR) + "/sim/seed/demo.json");
    sim.load_seed(json::parse(in)["rocketchat"]);
  }
  http_response ctl(const std::string& method, const std::string& path, const json& body = json()) {
    http_request r;
    r.method = method;
    r.path = path;
    if (!body.is_null())
      r.body = body.dump();
    return sim.handle_control(r);
  }
  json ok(const std::string& method, const std::string& path, const json& body = json()) {
    auto r = ctl(method, path, body);
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    return json::parse(r.body);
  }
  http_response rest(const std::string& method, const std::string& route, const std::string& uid,
                     const std::string& token, const json& body = json()) {
    http_request r;
    r.method = method;
    r.path = "/api/v1/" + route;
    r.remote = "127.0.0.1:9";
    r.headers["x-user-id"] = uid;
    r.headers["x-auth-token"] = token;
    if (!body.is_null())
      r.body = body.dump();
    return sim.handle(r);
  }
  // The bot posts a button message, as dutydesk does over REST.
  json bot_post(const json& body) {
    auto r = rest("POST", "chat.postMessage", "B0tB0tB0tB0tB0tB0", "dutydesk-pat-0000000000000000000000000000", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["message"];
  }
  std::shared_ptr<rec_ws> listen(const std::string& token, const std::string& stream_event) {
    auto ws = std::make_shared<rec_ws>();
    auto id = sim.ddp_open(ws);
    sim.ddp_message(id, R"({"msg":"connect","version":"1","support":["1"]})");
    sim.ddp_message(id, json{{"msg", "method"}, {"id", "1"}, {"method", "login"}, {"params", {{{"resume", token}}}}}.dump());
    sim.ddp_message(id, json{{"msg", "sub"}, {"id", "s"}, {"name", "stream-room-messages"}, {"params", {stream_event, false}}}.dump());
    ws->frames.clear();
    return ws;
  }
  static json buttons() {
    return json::array({{{"text", "Pick one"},
                         {"actions",
                          {{{"type", "button"}, {"text", "Take DD-42"}, {"msg", "!dd take DD-42 n=8f3a"}, {"msg_in_chat_window", true}, {"msg_processing_type", "sendMessage"}},
                           {{"type", "button"}, {"text", "Note"}, {"msg", "!dd note DD-42 "}, {"msg_in_chat_window", true}, {"msg_processing_type", "respondWithMessage"}},
                           {{"type", "button"}, {"text", "Runbook"}, {"url", "https://wiki.example.com/runbooks/db"}, {"is_webview", true}},
                           {{"type", "button"}, {"text", "Hidden"}, {"msg", "never"}}}}}});
  }
};

TEST_F(rc_control, create_user_returns_a_working_token) {
  auto u = ok("POST", "/users", {{"username", "frank"}, {"name", "Frank F"}, {"email", "frank@example.com"}, {"roles", {"user"}}, {"password", "pw"}});
  EXPECT_EQ(u["id"].get<std::string>().size(), 17u);
  EXPECT_EQ(u["username"], "frank");
  auto me = rest("GET", "me", u["id"], u["token"]);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["name"], "Frank F");
  auto fixed = ok("POST", "/users", {{"username", "gina"}, {"token", "gina-token"}, {"id", "GinaGinaGinaGina1"}});
  EXPECT_EQ(fixed, (json{{"id", "GinaGinaGinaGina1"}, {"username", "gina"}, {"token", "gina-token"}}));
  EXPECT_EQ(ctl("POST", "/users", {{"username", "gina"}}).status, 409);
  EXPECT_EQ(ctl("POST", "/users", json::object()).status, 400);
  auto all = ok("GET", "/users");
  EXPECT_EQ(all["users"].size(), 8u);
}

TEST_F(rc_control, create_room_and_add_member) {
  auto r = ok("POST", "/rooms", {{"name", "ops"}, {"type", "c"}, {"members", {"alice", "dutydesk"}}});
  EXPECT_EQ(r["name"], "ops");
  auto added = ok("POST", "/rooms/ops/members", {{"username", "bob"}});
  EXPECT_EQ(added["added"], true);
  EXPECT_EQ(ok("POST", "/rooms/ops/members", {{"username", "bob"}})["added"], false);
  auto msgs = ok("GET", "/rooms/ops/messages")["messages"];
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0]["t"], "uj");
  EXPECT_EQ(msgs[0]["u"]["username"], "bob");
  auto inv = ok("POST", "/rooms/ops/members", {{"username", "carol"}, {"inviter", "alice"}});
  EXPECT_EQ(inv["added"], true);
  EXPECT_EQ(ok("GET", "/rooms/ops/messages")["messages"][1]["t"], "au");
  auto rooms = ok("GET", "/rooms")["rooms"];
  auto it = std::find_if(rooms.begin(), rooms.end(), [](auto& x) { return x["name"] == "ops"; });
  ASSERT_NE(it, rooms.end());
  EXPECT_EQ((*it)["members"], (json{"alice", "dutydesk", "bob", "carol"}));
  EXPECT_EQ(ctl("POST", "/rooms", {{"name", "ops"}, {"type", "c"}}).status, 409);
  EXPECT_EQ(ctl("POST", "/rooms", {{"name", "x"}, {"type", "d"}}).status, 400);
}

TEST_F(rc_control, post_as_user_is_broadcast_like_a_client_message) {
  auto ws = listen("dutydesk-pat-0000000000000000000000000000", "__my_messages__");
  auto r = ok("POST", "/messages", {{"as", "alice"}, {"room", "cicd-support"}, {"text", "@dutydesk pipeline broken"}});
  auto m = r["message"];
  EXPECT_EQ(m["u"]["username"], "alice");
  EXPECT_EQ(m["mentions"][0]["username"], "dutydesk");
  EXPECT_FALSE(m.contains("groupable")); // the sendMessage path, not postMessage
  ASSERT_EQ(ws->frames.size(), 1u);
  EXPECT_EQ(ws->frames[0]["fields"]["args"][0]["_id"], m["_id"]);
  auto reply = ok("POST", "/messages", {{"as", "bob"}, {"rid", "CicdSupp0rtRoom01"}, {"tmid", m["_id"]}, {"text", "me too"}})["message"];
  EXPECT_EQ(reply["tmid"], m["_id"]);
  EXPECT_EQ(ws->frames.size(), 3u); // the reply and the root's re-emit
  auto thread = ok("GET", "/threads/" + m["_id"].get<std::string>());
  EXPECT_EQ(thread["root"]["tcount"], 1);
  ASSERT_EQ(thread["replies"].size(), 1u);
  EXPECT_EQ(thread["replies"][0]["msg"], "me too");
  auto err = ctl("POST", "/messages", {{"as", "alice"}, {"rid", "CicdSupp0rtRoom01"}, {"text", "x"}, {"tshow", true}});
  EXPECT_EQ(err.status, 400);
  EXPECT_EQ(json::parse(err.body)["error"], "invalid-params");
  EXPECT_EQ(ctl("POST", "/messages", {{"as", "nobody"}, {"rid", "GENERAL"}, {"text", "x"}}).status, 404);
}

TEST_F(rc_control, click_in_thread_posts_as_the_clicker_with_tmid) {
  auto root = ok("POST", "/messages", {{"as", "alice"}, {"rid", "CicdSupp0rtRoom01"}, {"text", "@dutydesk db is down"}})["message"];
  auto button_msg = bot_post({{"roomId", "CicdSupp0rtRoom01"}, {"tmid", root["_id"]}, {"text", "DD-42: who takes it?"}, {"attachments", buttons()}});
  auto ws = listen("dutydesk-pat-0000000000000000000000000000", "CicdSupp0rtRoom01");
  auto r = ok("POST", "/click", {{"as", "bob"}, {"message_id", button_msg["_id"]}, {"button", 0}});
  EXPECT_EQ(r["posted"], true);
  EXPECT_EQ(r["joined"], false);
  auto m = r["message"];
  EXPECT_EQ(m["msg"], "!dd take DD-42 n=8f3a");
  EXPECT_EQ(m["u"]["username"], "bob");
  EXPECT_EQ(m["tmid"], root["_id"]); // clicked inside the thread panel
  EXPECT_FALSE(m.contains("attachments"));
  ASSERT_EQ(ws->frames.size(), 2u);
  EXPECT_EQ(ws->frames[0]["fields"]["args"][0]["_id"], m["_id"]);
  EXPECT_EQ(ws->frames[1]["fields"]["args"][0]["_id"], root["_id"]);
  EXPECT_EQ(ws->frames[1]["fields"]["args"][0]["tcount"], 2);
  // The same click by text, forced into the main timeline: no tmid.
  auto main = ok("POST", "/click", {{"as", "carol"}, {"message_id", button_msg["_id"]}, {"button", "Take DD-42"}, {"in_thread", false}});
  EXPECT_FALSE(main["message"].contains("tmid"));
  EXPECT_EQ(main["message"]["u"]["username"], "carol");
}

TEST_F(rc_control, click_on_a_top_level_button_message_posts_to_the_main_room) {
  auto button_msg = bot_post({{"roomId", "CicdSupp0rtRoom01"}, {"text", "choose"}, {"attachments", buttons()}});
  auto r = ok("POST", "/click", {{"as", "dave"}, {"message_id", button_msg["_id"]}, {"button", 0}});
  EXPECT_FALSE(r["message"].contains("tmid"));
  // Clicked in that message's own thread panel: the message is the thread.
  auto t = ok("POST", "/click", {{"as", "dave"}, {"message_id", button_msg["_id"]}, {"button", 0}, {"in_thread", true}});
  EXPECT_EQ(t["message"]["tmid"], button_msg["_id"]);
}

TEST_F(rc_control, click_joins_a_public_room_first) {
  auto button_msg = bot_post({{"roomId", "GENERAL"}, {"text", "anyone?"}, {"attachments", buttons()}});
  auto frank = ok("POST", "/users", {{"username", "frank"}});
  auto r = ok("POST", "/click", {{"as", "frank"}, {"message_id", button_msg["_id"]}, {"button", 0}});
  EXPECT_EQ(r["joined"], true);
  auto msgs = ok("GET", "/rooms/GENERAL/messages")["messages"];
  ASSERT_GE(msgs.size(), 2u);
  auto n = msgs.size();
  EXPECT_EQ(msgs[n - 2]["t"], "uj");
  EXPECT_EQ(msgs[n - 2]["u"]["username"], "frank");
  EXPECT_EQ(msgs[n - 1]["msg"], "!dd take DD-42 n=8f3a");
}

TEST_F(rc_control, url_and_respond_buttons_post_nothing) {
  auto button_msg = bot_post({{"roomId", "CicdSupp0rtRoom01"}, {"text", "choose"}, {"attachments", buttons()}});
  auto before = ok("GET", "/rooms/CicdSupp0rtRoom01/messages")["messages"].size();
  auto url = ok("POST", "/click", {{"as", "bob"}, {"message_id", button_msg["_id"]}, {"button", "Runbook"}});
  EXPECT_EQ(url, (json{{"posted", false}, {"opened_url", "https://wiki.example.com/runbooks/db"}}));
  auto respond = ok("POST", "/click", {{"as", "bob"}, {"message_id", button_msg["_id"]}, {"button", 1}});
  EXPECT_EQ(respond, (json{{"posted", false}, {"composer", "!dd note DD-42 "}}));
  // No url and no msg_in_chat_window: the web client does not render it.
  EXPECT_EQ(ctl("POST", "/click", {{"as", "bob"}, {"message_id", button_msg["_id"]}, {"button", "Hidden"}}).status, 409);
  EXPECT_EQ(ctl("POST", "/click", {{"as", "bob"}, {"message_id", button_msg["_id"]}, {"button", 9}}).status, 404);
  EXPECT_EQ(ok("GET", "/rooms/CicdSupp0rtRoom01/messages")["messages"].size(), before);
}

TEST_F(rc_control, react_as_user_and_read_reactions) {
  auto m = bot_post({{"roomId", "CicdSupp0rtRoom01"}, {"text", "vote"}});
  auto path = "/messages/" + m["_id"].get<std::string>() + "/reactions";
  ok("POST", "/reactions", {{"as", "alice"}, {"message_id", m["_id"]}, {"emoji", ":eyes:"}});
  ok("POST", "/reactions", {{"as", "alice"}, {"message_id", m["_id"]}, {"emoji", "eyes"}}); // add again: no-op
  ok("POST", "/reactions", {{"as", "bob"}, {"message_id", m["_id"]}, {"emoji", "white_check_mark"}});
  EXPECT_EQ(ok("GET", path)["reactions"], (json{{":eyes:", {{"usernames", {"alice"}}}}, {":white_check_mark:", {{"usernames", {"bob"}}}}}));
  ok("POST", "/reactions", {{"as", "alice"}, {"message_id", m["_id"]}, {"emoji", ":eyes:"}, {"action", "remove"}});
  EXPECT_EQ(ok("GET", path)["reactions"], (json{{":white_check_mark:", {{"usernames", {"bob"}}}}}));
  EXPECT_EQ(ctl("POST", "/reactions", {{"as", "alice"}, {"message_id", m["_id"]}, {"emoji", ":zzzz_nope:"}}).status, 400);
}

TEST_F(rc_control, read_back_dms_messages_and_sessions) {
  bot_post({{"channel", "@carol"}, {"text", "hello carol"}});
  auto dms = ok("GET", "/users/carol/dms")["rooms"];
  ASSERT_EQ(dms.size(), 1u);
  EXPECT_EQ(dms[0]["_id"], "B0tB0tB0tB0tB0tB0CaroLCaroLCaroLCa");
  EXPECT_EQ(dms[0]["lastMessage"]["msg"], "hello carol");
  EXPECT_EQ(ok("GET", "/users/alice/dms")["rooms"].size(), 0u);
  auto msg = ok("GET", "/rooms/B0tB0tB0tB0tB0tB0CaroLCaroLCaroLCa/messages")["messages"];
  ASSERT_EQ(msg.size(), 1u);
  EXPECT_EQ(ok("GET", "/messages/" + msg[0]["_id"].get<std::string>())["message"], msg[0]);
  EXPECT_EQ(ctl("GET", "/messages/nope").status, 404);
  EXPECT_EQ(ctl("GET", "/nothing").status, 404);
  auto ws = listen("alice-token-000000000000000000000000000", "__my_messages__");
  auto sessions = ok("GET", "/sessions")["sessions"];
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["user_id"], "Alic3Alic3Alic3Al");
  EXPECT_EQ(ok("POST", "/drop")["dropped"], 1);
  EXPECT_TRUE(ws->dropped);
}

} // namespace
