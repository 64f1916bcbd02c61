// REST /api/v1 of the Rocket.Chat simulator: auth, validation, messages, threads, rate limiting.

#include "sim/rocketchat.hpp"

#include <fstream>

#include <gtest/gtest.h>

using namespace dutydesk::sim;

namespace {

json demo_section() {
  std::ifstream in(std::string(DUTYDESK_SOURCE_DIR) + "/sim/seed/demo.json");
  return json::parse(in)["rocketchat"];
}

class rc_rest : public ::testing::Test {
protected:
  manual_clock clock;
  id_source ids{7};
  rocketchat_sim sim{clock, ids};
  std::map<std::string, std::pair<std::string, std::string>> creds; // username -> (id, token)

  void SetUp() override {
    auto seed = demo_section();
    sim.load_seed(seed);
    for (auto& u : seed["users"])
      creds[u["username"]] = {u["id"], u["tokens"][0]};
  }

  http_request request(std::string method, std::string route, const std::string& as) {
    http_request r;
    r.method = std::move(method);
    r.path = "/api/v1/" + route;
    r.target = r.path;
    r.remote = "127.0.0.1:50000";
    if (!as.empty()) {
      r.headers["x-user-id"] = creds[as].first;
      r.headers["x-auth-token"] = creds[as].second;
    }
    return r;
  }
  http_response get(const std::string& route, const std::string& as,
                    std::vector<std::pair<std::string, std::string>> query = {}) {
    auto r = request("GET", route, as);
    for (auto& [k, v] : query)
      r.query.emplace(k, v);
    return sim.handle(r);
  }
  http_response post(const std::string& route, const std::string& as, const json& body) {
    auto r = request("POST", route, as);
    r.body = body.dump();
    return sim.handle(r);
  }
  static json body(const http_response& r) { return json::parse(r.body); }
  static std::string header(const http_response& r, const std::string& name) {
    for (auto& [k, v] : r.headers)
      if (k == name)
        return v;
    return "";
  }
  json post_ok(const std::string& as, const json& b) {
    auto r = post("chat.postMessage", as, b);
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r)["message"];
  }
};

TEST_F(rc_rest, login_with_username_email_and_resume) {
  auto r = post("login", "", {{"user", "dutydesk"}, {"password", "dutydesk-pass"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body(r);
  EXPECT_EQ(b["status"], "success");
  EXPECT_EQ(b["success"], true);
  EXPECT_EQ(b["data"]["userId"], "B0tB0tB0tB0tB0tB0");
  EXPECT_EQ(b["data"]["me"]["username"], "dutydesk");
  EXPECT_EQ(b["data"]["me"]["avatarUrl"], "http://127.0.0.1:3000/avatar/dutydesk");
  auto token = b["data"]["authToken"].get<std::string>();
  EXPECT_FALSE(token.empty());

  // The new token authenticates REST calls.
  auto me = request("GET", "me", "");
  me.headers["x-user-id"] = "B0tB0tB0tB0tB0tB0";
  me.headers["x-auth-token"] = token;
  auto mr = sim.handle(me);
  ASSERT_EQ(mr.status, 200);
  EXPECT_EQ(body(mr)["username"], "dutydesk");
  EXPECT_EQ(body(mr)["success"], true);

  EXPECT_EQ(post("login", "", {{"user", "alice@example.com"}, {"password", "alice-pass"}}).status, 200);
  EXPECT_EQ(post("login", "", {{"username", "bob"}, {"password", {{"hashed", rc::sha256_hex("bob-pass")}}}}).status, 200);
  auto resumed = post("login", "", {{"resume", token}});
  ASSERT_EQ(resumed.status, 200);
  EXPECT_EQ(body(resumed)["data"]["authToken"], token);
}

TEST_F(rc_rest, login_failure_is_401_unauthorized) {
  auto r = post("login", "", {{"user", "dutydesk"}, {"password", "wrong"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body(r), (json{{"success", false}, {"error", "Unauthorized"}, {"status", "error"}, {"message", "Unauthorized"}}));
  EXPECT_EQ(post("login", "", {{"user", "nobody"}, {"password", "x"}}).status, 401);
  EXPECT_EQ(post("login", "", {{"resume", "not-a-token"}}).status, 401);
}

TEST_F(rc_rest, missing_or_bad_credentials_give_401_shape) {
  auto r = get("me", "");
  EXPECT_EQ(r.status, 401);
  json expected{{"success", false},
                {"error", "You must be logged in to do this."},
                {"status", "error"},
                {"message", "You must be logged in to do this."}};
  EXPECT_EQ(body(r), expected);
  auto bad = request("GET", "me", "alice");
  bad.headers["x-auth-token"] = "bob-token-00000000000000000000000000000"; // bob's token with alice's id
  EXPECT_EQ(sim.handle(bad).status, 401);
  EXPECT_EQ(get("chat.getMessage", "", {{"msgId", "x"}}).status, 401);
}

TEST_F(rc_rest, logout_revokes_the_token) {
  auto login = body(post("login", "", {{"user", "carol"}, {"password", "carol-pass"}}));
  auto req = request("POST", "logout", "");
  req.headers["x-user-id"] = login["data"]["userId"];
  req.headers["x-auth-token"] = login["data"]["authToken"];
  auto r = sim.handle(req);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["data"]["message"], "You've been logged out!");
  req.method = "GET";
  req.path = "/api/v1/me";
  EXPECT_EQ(sim.handle(req).status, 401);
}

TEST_F(rc_rest, post_message_shape) {
  auto r = post("chat.postMessage", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "  hello @alice #dba-support https://x.example/a  "}, {"emoji", ":rocket:"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body(r);
  EXPECT_EQ(b["success"], true);
  EXPECT_EQ(b["channel"], "CicdSupp0rtRoom01");
  EXPECT_EQ(b["ts"], clock.now_ms());
  auto m = b["message"];
  EXPECT_EQ(m["_id"].get<std::string>().size(), 17u);
  EXPECT_EQ(m["rid"], "CicdSupp0rtRoom01");
  EXPECT_EQ(m["msg"], "hello @alice #dba-support https://x.example/a");
  EXPECT_EQ(m["ts"], iso8601_utc(clock.now_ms()));
  EXPECT_EQ(m["_updatedAt"], iso8601_utc(clock.now_ms()));
  EXPECT_EQ(m["u"], (json{{"_id", "B0tB0tB0tB0tB0tB0"}, {"username", "dutydesk"}, {"name", "DutyDesk"}}));
  EXPECT_EQ(m["alias"], "");
  EXPECT_EQ(m["groupable"], false);
  EXPECT_EQ(m["parseUrls"], true);
  EXPECT_EQ(m["emoji"], ":rocket:");
  EXPECT_EQ(m["attachments"], json::array());
  EXPECT_EQ(m["mentions"], (json::array({{{"_id", "Alic3Alic3Alic3Al"}, {"username", "alice"}, {"name", "Alice Adams"}, {"type", "user"}}})));
  EXPECT_EQ(m["channels"], (json::array({{{"_id", "DbaSupp0rtRoom002"}, {"name", "dba-support"}}})));
  EXPECT_EQ(m["urls"], (json::array({{{"url", "https://x.example/a"}, {"meta", json::object()}}})));
  EXPECT_EQ(m["md"][0]["type"], "PARAGRAPH");
  EXPECT_FALSE(m.contains("tmid"));
  auto got = body(get("chat.getMessage", "alice", {{"msgId", m["_id"]}}));
  EXPECT_EQ(got["message"], m);
}

TEST_F(rc_rest, post_message_by_channel_name_auto_joins_public_room) {
  auto before = body(get("channels.info", "dutydesk", {{"roomName", "general"}}))["channel"]["usersCount"].get<int>();
  auto r = post("chat.postMessage", "dutydesk", {{"channel", "#general"}, {"text", "hi all"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["channel"], "#general");
  auto info = body(get("channels.info", "dutydesk", {{"roomName", "general"}}))["channel"];
  EXPECT_EQ(info["usersCount"].get<int>(), before + 1);
  auto hist = body(get("channels.history", "dutydesk", {{"roomId", "GENERAL"}}))["messages"];
  ASSERT_EQ(hist.size(), 2u);
  EXPECT_EQ(hist[0]["msg"], "hi all"); // newest first
  EXPECT_EQ(hist[1]["t"], "uj");
  EXPECT_EQ(hist[1]["msg"], "dutydesk");
  EXPECT_EQ(hist[1]["groupable"], false);
  // A second post does not join again.
  post_ok("dutydesk", {{"channel", "#general"}, {"text", "again"}});
  EXPECT_EQ(body(get("channels.history", "dutydesk", {{"roomId", "GENERAL"}}))["messages"].size(), 3u);
}

TEST_F(rc_rest, post_to_at_user_creates_the_dm_and_im_create_is_idempotent) {
  auto m = post_ok("dutydesk", {{"channel", "@alice"}, {"text", "psst"}});
  EXPECT_EQ(m["rid"], "Alic3Alic3Alic3AlB0tB0tB0tB0tB0tB0"); // sorted ids, concatenated
  auto r = body(post("im.create", "dutydesk", {{"username", "alice"}}));
  EXPECT_EQ(r["room"], (json{{"_id", "Alic3Alic3Alic3AlB0tB0tB0tB0tB0tB0"}, {"rid", "Alic3Alic3Alic3AlB0tB0tB0tB0tB0tB0"}, {"t", "d"}, {"usernames", {"alice", "dutydesk"}}}));
  EXPECT_EQ(body(post("im.create", "alice", {{"username", "dutydesk"}}))["room"]["rid"], "Alic3Alic3Alic3AlB0tB0tB0tB0tB0tB0");
  auto bad = post("im.create", "dutydesk", {{"username", "ghost"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body(bad)["error"], "Invalid user [error-invalid-user]");
  EXPECT_EQ(body(bad)["errorType"], "error-invalid-user");
  auto none = post("im.create", "dutydesk", json::object());
  EXPECT_EQ(body(none)["error"], "must have required property 'usernames'\n must have required property 'username'\n must match exactly one schema in oneOf [invalid-params]");
}

TEST_F(rc_rest, post_message_validation_errors) {
  auto r = post("chat.postMessage", "dutydesk", {{"roomId", "GENERAL"}, {"text", "x"}, {"bogus", 1}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errorType"], "invalid-params");
  EXPECT_EQ(body(r)["error"], "must NOT have additional properties\n must have required property 'channel'\n must match exactly one schema in oneOf [invalid-params]");
  auto t = post("chat.postMessage", "dutydesk", {{"channel", "#general"}, {"tmid", "abc"}, {"text", "x"}});
  EXPECT_EQ(t.status, 400);
  EXPECT_EQ(body(t)["error"], "must have required property 'roomId'\n must NOT have additional properties\n must match exactly one schema in oneOf [invalid-params]");
  auto ch = post("chat.postMessage", "dutydesk", {{"channel", "#nope"}, {"text", "x"}});
  EXPECT_EQ(body(ch), (json{{"success", false}, {"error", "[invalid-channel]"}, {"errorType", "invalid-channel"}}));
  auto big = post("chat.postMessage", "dutydesk", {{"roomId", "GENERAL"}, {"text", std::string(5001, 'a')}});
  EXPECT_EQ(big.status, 400);
  EXPECT_EQ(body(big), (json{{"success", false}, {"error", "error-message-size-exceeded"}}));
  EXPECT_EQ(post("chat.postMessage", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", std::string(5000, 'a')}}).status, 200);
}

TEST_F(rc_rest, private_rooms_refuse_non_members) {
  auto c = json::parse(sim.handle_control([] {
                          http_request r;
                          r.method = "POST";
                          r.path = "/rooms";
                          r.body = R"({"name":"secret","type":"p","members":["alice"]})";
                          return r;
                        }())
                           .body);
  auto r = post("chat.postMessage", "bob", {{"roomId", c["id"]}, {"text", "let me in"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errorType"], "error-not-allowed");
  EXPECT_EQ(post("chat.postMessage", "alice", {{"roomId", "secret"}, {"text", "mine"}}).status, 200);
  EXPECT_EQ(get("groups.info", "bob", {{"roomName", "secret"}}).status, 400);
  EXPECT_EQ(body(get("groups.info", "alice", {{"roomName", "secret"}}))["group"]["t"], "p");
}

TEST_F(rc_rest, attachments_with_buttons_are_validated) {
  json buttons{{{"color", "#d00"}, {"text", "Pick one"}, {"button_alignment", "horizontal"},
                {"actions", {{{"type", "button"}, {"text", "Take"}, {"msg", "!dd take DD-42"}, {"msg_in_chat_window", true}, {"msg_processing_type", "sendMessage"}},
                             {{"type", "button"}, {"text", "Runbook"}, {"url", "https://wiki.example.com/rb"}, {"is_webview", true}}}}}};
  auto m = post_ok("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "DD-42"}, {"attachments", buttons}});
  EXPECT_EQ(m["attachments"], buttons);
  EXPECT_FALSE(m.contains("parseUrls") && m["parseUrls"] == true); // attachments given: parseUrls false
  EXPECT_FALSE(m.contains("urls"));

  json bad_url = buttons;
  bad_url[0]["actions"][1]["url"] = "javascript:alert(1)";
  auto r = post("chat.postMessage", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"attachments", bad_url}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r), (json{{"success", false}, {"error", "Invalid href value provided"}}));
  json bad_type = buttons;
  bad_type[0]["actions"][0]["msg"] = 5;
  auto t = post("chat.postMessage", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"attachments", bad_type}});
  EXPECT_EQ(t.status, 400);
  EXPECT_EQ(body(t)["error"], "Match error: Match error: Expected string, got number in field msg");
  json bad_field{{{"fields", {{{"title", "only title"}}}}}};
  EXPECT_EQ(body(post("chat.postMessage", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"attachments", bad_field}}))["error"],
            "Invalid attachment field, title and value is required");
}

TEST_F(rc_rest, send_message_client_id_duplicates_and_thread_rules) {
  auto r = post("chat.sendMessage", "alice", {{"message", {{"_id", "ClientChosenId001"}, {"rid", "CicdSupp0rtRoom01"}, {"msg", "root"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["message"]["_id"], "ClientChosenId001");
  EXPECT_FALSE(body(r)["message"].contains("groupable"));
  // A retry with the same _id inserts nothing and answers without `message`.
  auto dup = post("chat.sendMessage", "alice", {{"message", {{"_id", "ClientChosenId001"}, {"rid", "CicdSupp0rtRoom01"}, {"msg", "root again"}}}});
  EXPECT_EQ(dup.status, 200);
  EXPECT_EQ(body(dup), (json{{"success", true}}));
  EXPECT_EQ(body(get("chat.getMessage", "alice", {{"msgId", "ClientChosenId001"}}))["message"]["msg"], "root");

  auto reply = body(post("chat.sendMessage", "bob", {{"message", {{"rid", "CicdSupp0rtRoom01"}, {"tmid", "ClientChosenId001"}, {"msg", "r1"}}}}))["message"];
  // A reply to the reply is re-pointed at the root, and takes the parent's room.
  auto nested = post("chat.sendMessage", "carol", {{"message", {{"rid", "GENERAL"}, {"tmid", reply["_id"]}, {"msg", "r2"}}}});
  ASSERT_EQ(nested.status, 200) << nested.body;
  EXPECT_EQ(body(nested)["message"]["tmid"], "ClientChosenId001");
  EXPECT_EQ(body(nested)["message"]["rid"], "CicdSupp0rtRoom01");

  auto tshow = post("chat.sendMessage", "alice", {{"message", {{"rid", "CicdSupp0rtRoom01"}, {"msg", "x"}, {"tshow", true}}}});
  EXPECT_EQ(tshow.status, 400);
  EXPECT_EQ(body(tshow)["error"], "tshow provided but missing tmid [invalid-params]");
  EXPECT_EQ(body(tshow)["errorType"], "invalid-params");
  auto norid = post("chat.sendMessage", "alice", {{"message", {{"msg", "x"}}}});
  EXPECT_EQ(body(norid), (json{{"success", false}, {"error", "The 'rid' property on the message object is missing."}}));
  auto extra = post("chat.sendMessage", "alice", {{"message", {{"rid", "GENERAL"}}}, {"nope", true}});
  EXPECT_EQ(body(extra)["error"], "must NOT have additional properties [invalid-params]");
  auto badroom = post("chat.sendMessage", "alice", {{"message", {{"rid", "NoSuchRoom"}, {"msg", "x"}}}});
  EXPECT_EQ(body(badroom)["error"], "Invalid room [error-invalid-room]");
}

TEST_F(rc_rest, thread_root_counts_replies) {
  auto root = post_ok("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "@dutydesk db is down"}});
  clock.advance_ms(1000);
  post_ok("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"tmid", root["_id"]}, {"text", "DD-42 opened"}});
  clock.advance_ms(1000);
  auto second = post_ok("bob", {{"roomId", "CicdSupp0rtRoom01"}, {"tmid", root["_id"]}, {"text", "on it"}});
  auto got = body(get("chat.getMessage", "alice", {{"msgId", root["_id"]}}))["message"];
  EXPECT_EQ(got["tcount"], 2);
  EXPECT_EQ(got["tlm"], second["ts"]);
  EXPECT_EQ(got["replies"], (json{"Alic3Alic3Alic3Al", "B0tB0tB0tB0tB0tB0", "B0bB0bB0bB0bB0bB0"}));
  EXPECT_EQ(got["_updatedAt"], iso8601_utc(clock.now_ms()));

  auto t = body(get("chat.getThreadMessages", "alice", {{"tmid", root["_id"]}}));
  ASSERT_EQ(t["messages"].size(), 2u); // replies only, oldest first
  EXPECT_EQ(t["messages"][0]["msg"], "DD-42 opened");
  EXPECT_EQ(t["messages"][1]["msg"], "on it");
  EXPECT_EQ(t["total"], 2);
  auto page = body(get("chat.getThreadMessages", "alice", {{"tmid", root["_id"]}, {"count", "1"}, {"offset", "1"}}));
  EXPECT_EQ(page["count"], 1);
  EXPECT_EQ(page["offset"], 1);
  EXPECT_EQ(page["total"], 2);
  EXPECT_EQ(page["messages"][0]["msg"], "on it");
  auto bad = get("chat.getThreadMessages", "alice", {{"tmid", "nope"}});
  EXPECT_EQ(body(bad)["error"], "Invalid Message [error-invalid-message]");
  EXPECT_EQ(body(get("chat.getThreadMessages", "alice", {{"tmid", "x"}, {"foo", "1"}}))["errorType"], "invalid-params");
}

TEST_F(rc_rest, update_edits_text_and_ignores_unchanged_text) {
  auto m = post_ok("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "first"}});
  clock.advance_ms(5000);
  auto same = body(post("chat.update", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", m["_id"]}, {"text", "first"}}));
  EXPECT_EQ(same["success"], true);
  EXPECT_FALSE(same["message"].contains("editedAt"));
  EXPECT_EQ(same["message"]["_updatedAt"], m["_updatedAt"]);
  auto r = body(post("chat.update", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", m["_id"]}, {"text", "second"}}));
  EXPECT_EQ(r["message"]["msg"], "second");
  EXPECT_EQ(r["message"]["editedAt"], iso8601_utc(clock.now_ms()));
  EXPECT_EQ(r["message"]["editedBy"], (json{{"_id", "B0tB0tB0tB0tB0tB0"}, {"username", "dutydesk"}}));
  auto mismatch = post("chat.update", "dutydesk", {{"roomId", "GENERAL"}, {"msgId", m["_id"]}, {"text", "x"}});
  EXPECT_EQ(body(mismatch), (json{{"success", false}, {"error", "The room id provided does not match where the message is from."}}));
  auto missing = post("chat.update", "dutydesk", {{"roomId", "GENERAL"}, {"msgId", "nope"}, {"text", "x"}});
  EXPECT_EQ(body(missing)["error"], "No message found with the id of \"nope\".");
  auto other = post("chat.update", "bob", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", m["_id"]}, {"text", "hijack"}});
  EXPECT_EQ(body(other)["errorType"], "error-action-not-allowed");
  EXPECT_EQ(body(post("chat.update", "dutydesk", {{"roomId", "x"}, {"msgId", "y"}}))["errorType"], "invalid-params");
}

TEST_F(rc_rest, delete_hard_deletes_and_soft_deletes_thread_roots) {
  auto m = post_ok("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "oops"}});
  clock.advance_ms(1000);
  auto r = post("chat.delete", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", m["_id"]}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body(r);
  EXPECT_EQ(b["_id"], m["_id"]);
  EXPECT_EQ(b["ts"], std::to_string(clock.now_ms()));
  EXPECT_EQ(b["message"]["rid"], "CicdSupp0rtRoom01");
  EXPECT_EQ(b["message"]["u"]["username"], "dutydesk");
  EXPECT_EQ(body(get("chat.getMessage", "dutydesk", {{"msgId", m["_id"]}})), (json{{"success", false}}));
  EXPECT_EQ(body(post("chat.delete", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", m["_id"]}}))["error"],
            "No message found with the id of \"" + m["_id"].get<std::string>() + "\".");

  auto root = post_ok("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "root"}});
  post_ok("bob", {{"roomId", "CicdSupp0rtRoom01"}, {"tmid", root["_id"]}, {"text", "reply"}});
  EXPECT_EQ(body(post("chat.delete", "bob", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", root["_id"]}}))["errorType"], "error-action-not-allowed");
  ASSERT_EQ(post("chat.delete", "alice", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", root["_id"]}}).status, 200);
  auto rm = body(get("chat.getMessage", "alice", {{"msgId", root["_id"]}}))["message"];
  EXPECT_EQ(rm["t"], "rm");
  EXPECT_EQ(rm["msg"], "");
  EXPECT_EQ(rm["reactions"], json::object());
  EXPECT_EQ(rm["editedBy"]["username"], "alice");
  EXPECT_FALSE(rm.contains("md"));
  EXPECT_EQ(body(get("chat.getThreadMessages", "alice", {{"tmid", root["_id"]}}))["total"], 1); // replies stay
}

TEST_F(rc_rest, react_toggles_and_validates_emoji) {
  auto m = post_ok("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "vote"}});
  ASSERT_EQ(post("chat.react", "alice", {{"messageId", m["_id"]}, {"emoji", "eyes"}}).status, 200);
  EXPECT_EQ(post("chat.react", "bob", {{"messageId", m["_id"]}, {"emoji", ":eyes:"}}).status, 200);
  auto got = body(get("chat.getMessage", "alice", {{"msgId", m["_id"]}}))["message"];
  EXPECT_EQ(got["reactions"], (json{{":eyes:", {{"usernames", {"alice", "bob"}}}}}));
  EXPECT_FALSE(got.contains("editedAt"));
  post("chat.react", "alice", {{"messageId", m["_id"]}, {"emoji", "eyes"}}); // toggle off
  post("chat.react", "bob", {{"messageId", m["_id"]}, {"emoji", "eyes"}, {"shouldReact", true}}); // already: no-op
  got = body(get("chat.getMessage", "alice", {{"msgId", m["_id"]}}))["message"];
  EXPECT_EQ(got["reactions"], (json{{":eyes:", {{"usernames", {"bob"}}}}}));
  post("chat.react", "bob", {{"messageId", m["_id"]}, {"reaction", ":eyes:"}, {"shouldReact", false}});
  EXPECT_FALSE(body(get("chat.getMessage", "alice", {{"msgId", m["_id"]}}))["message"].contains("reactions"));

  auto bad = post("chat.react", "alice", {{"messageId", m["_id"]}, {"emoji", ":not_an_emoji_xyz:"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body(bad), (json{{"success", false}, {"error", "Invalid emoji provided. [error-not-allowed]"}, {"errorType", "error-not-allowed"}, {"details", {{"method", "setReaction"}}}}));
  auto none = post("chat.react", "alice", {{"messageId", "nope"}, {"emoji", "eyes"}});
  EXPECT_EQ(body(none)["errorType"], "error-message-not-found");
  clock.advance_ms(61000); // a fresh rate-limit window for alice
  for (auto e : {":new:", ":hammer_and_wrench:", ":hourglass_flowing_sand:", ":white_check_mark:", ":x:", ":arrow_right:", ":star:", ":thumbsup:", ":one:", ":five:"})
    EXPECT_EQ(post("chat.react", "alice", {{"messageId", m["_id"]}, {"emoji", e}}).status, 200) << e;
}

TEST_F(rc_rest, sync_messages_reports_updates_and_deletions) {
  auto a = post_ok("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "a"}});
  auto b = post_ok("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "b"}});
  clock.advance_ms(1000);
  auto mark = iso8601_utc(clock.now_ms());
  clock.advance_ms(1000);
  post("chat.update", "alice", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", a["_id"]}, {"text", "a2"}});
  post("chat.delete", "alice", {{"roomId", "CicdSupp0rtRoom01"}, {"msgId", b["_id"]}});
  auto c = post_ok("bob", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "c"}});
  auto r = get("chat.syncMessages", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"lastUpdate", mark}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto res = body(r)["result"];
  ASSERT_EQ(res["updated"].size(), 2u);
  EXPECT_EQ(res["updated"][0]["_id"], c["_id"]); // ts descending
  EXPECT_EQ(res["updated"][1]["msg"], "a2");
  ASSERT_EQ(res["deleted"].size(), 1u);
  EXPECT_EQ(res["deleted"][0], (json{{"_id", b["_id"]}, {"_deletedAt", iso8601_utc(clock.now_ms())}}));
  EXPECT_FALSE(body(r)["result"].contains("cursor"));

  EXPECT_EQ(body(get("chat.syncMessages", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}}))["errorType"], "error-param-required");
  EXPECT_EQ(body(get("chat.syncMessages", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"lastUpdate", "yesterday"}}))["errorType"], "error-lastUpdate-param-invalid");
  EXPECT_EQ(body(get("chat.syncMessages", "dutydesk", {{"lastUpdate", mark}}))["error"], "must have required property 'roomId' [invalid-params]");

  auto paged = body(get("chat.syncMessages", "dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"type", "UPDATED"}, {"next", "0"}, {"count", "1"}}));
  ASSERT_EQ(paged["result"]["updated"].size(), 1u);
  EXPECT_FALSE(paged["result"]["cursor"]["next"].is_null());
}

TEST_F(rc_rest, channels_history_filters_and_pages) {
  std::vector<json> ms;
  for (int i = 0; i < 5; ++i) {
    ms.push_back(post_ok("alice", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "m" + std::to_string(i)}}));
    clock.advance_ms(1000);
  }
  auto all = body(get("channels.history", "bob", {{"roomId", "CicdSupp0rtRoom01"}}))["messages"];
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0]["msg"], "m4");
  auto two = body(get("channels.history", "bob", {{"roomId", "CicdSupp0rtRoom01"}, {"count", "2"}, {"offset", "1"}}))["messages"];
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0]["msg"], "m3");
  auto window = body(get("channels.history", "bob", {{"roomName", "cicd-support"}, {"oldest", ms[1]["ts"]}, {"latest", ms[3]["ts"]}}))["messages"];
  ASSERT_EQ(window.size(), 1u);
  EXPECT_EQ(window[0]["msg"], "m2");
  auto incl = body(get("channels.history", "bob", {{"roomId", "CicdSupp0rtRoom01"}, {"oldest", ms[1]["ts"]}, {"latest", ms[3]["ts"]}, {"inclusive", "true"}}))["messages"];
  EXPECT_EQ(incl.size(), 3u);
  EXPECT_EQ(body(get("channels.history", "bob", {{"roomId", "nope"}}))["errorType"], "error-room-not-found");
  EXPECT_EQ(body(get("channels.history", "bob", {{"roomId", "CicdSupp0rtRoom01"}, {"inclusive", "yes"}}))["errorType"], "invalid-params");
}

TEST_F(rc_rest, room_info_endpoints) {
  auto c = body(get("channels.info", "bob", {{"roomId", "CicdSupp0rtRoom01"}}));
  EXPECT_EQ(c["channel"]["name"], "cicd-support");
  EXPECT_EQ(c["channel"]["t"], "c");
  EXPECT_EQ(c["channel"]["usersCount"], 6);
  EXPECT_EQ(c["channel"]["u"]["username"], "dutydesk");
  EXPECT_EQ(body(get("channels.info", "bob", {}))["errorType"], "error-room-param-not-provided");
  EXPECT_EQ(body(get("rooms.info", "bob", {{"roomName", "dba-support"}}))["room"]["_id"], "DbaSupp0rtRoom002");
  EXPECT_EQ(body(get("rooms.info", "bob", {}))["errorType"], "error-roomid-param-not-provided");
  EXPECT_EQ(body(get("rooms.info", "bob", {{"roomId", "nope"}})), (json{{"success", false}, {"error", "not-allowed"}, {"errorType", "Not Allowed"}}));
  post_ok("dutydesk", {{"roomId", "CicdSupp0rtRoom01"}, {"text", "latest"}});
  auto after = body(get("rooms.info", "bob", {{"roomId", "CicdSupp0rtRoom01"}}))["room"];
  EXPECT_EQ(after["msgs"], 1);
  EXPECT_EQ(after["lastMessage"]["msg"], "latest");
}

TEST_F(rc_rest, users_info_and_list) {
  auto u = body(get("users.info", "dutydesk", {{"username", "alice"}}));
  EXPECT_EQ(u["user"]["_id"], "Alic3Alic3Alic3Al");
  EXPECT_EQ(u["user"]["name"], "Alice Adams");
  EXPECT_EQ(body(get("users.info", "dutydesk", {{"userId", "B0bB0bB0bB0bB0bB0"}}))["user"]["username"], "bob");
  EXPECT_EQ(body(get("users.info", "dutydesk", {{"email", "carol@example.com"}}))["user"]["username"], "carol");
  EXPECT_EQ(body(get("users.info", "dutydesk", {{"username", "ghost"}})), (json{{"success", false}, {"error", "User not found."}}));
  auto missing = body(get("users.info", "dutydesk", {}));
  EXPECT_EQ(missing["errorType"], "invalid-params");
  EXPECT_NE(missing["error"].get<std::string>().find("must match a schema in anyOf"), std::string::npos);

  auto all = body(get("users.list", "dutydesk", {{"count", "2"}, {"offset", "1"}}));
  EXPECT_EQ(all["count"], 2);
  EXPECT_EQ(all["offset"], 1);
  EXPECT_EQ(all["total"], 6);
  EXPECT_EQ(all["users"][0]["username"], "alice");
  auto by_email = body(get("users.list", "dutydesk", {{"email", "Bob@Example.com"}}));
  ASSERT_EQ(by_email["users"].size(), 1u);
  EXPECT_EQ(by_email["users"][0]["emails"][0]["address"], "bob@example.com");
  auto by_query = body(get("users.list", "dutydesk", {{"query", R"({"emails.address":"dave@example.com"})"}}));
  ASSERT_EQ(by_query["total"], 1);
  EXPECT_EQ(by_query["users"][0]["_id"], "DaveDaveDaveDave1");
  EXPECT_EQ(body(get("users.list", "dutydesk", {{"query", "{bad"}}))["errorType"], "error-invalid-query");
}

TEST_F(rc_rest, subscriptions_get_lists_the_callers_rooms) {
  auto s = body(get("subscriptions.get", "dutydesk", {}));
  ASSERT_EQ(s["update"].size(), 2u);
  EXPECT_EQ(s["remove"], json::array());
  std::set<std::string> rids;
  for (auto& x : s["update"])
    rids.insert(x["rid"]);
  EXPECT_EQ(rids, (std::set<std::string>{"CicdSupp0rtRoom01", "DbaSupp0rtRoom002"}));
  EXPECT_EQ(s["update"][0]["u"]["username"], "dutydesk");
  clock.advance_ms(10);
  auto since = iso8601_utc(clock.now_ms());
  clock.advance_ms(10);
  post_ok("dutydesk", {{"channel", "@bob"}, {"text", "dm"}});
  auto later = body(get("subscriptions.get", "dutydesk", {{"updatedSince", since}}));
  ASSERT_EQ(later["update"].size(), 1u);
  EXPECT_EQ(later["update"][0]["t"], "d");
  EXPECT_EQ(later["update"][0]["name"], "bob");
}

TEST_F(rc_rest, rate_limit_for_users_and_bypass_for_bots) {
  int64_t start = clock.now_ms();
  for (int i = 1; i <= 10; ++i) {
    auto r = get("me", "alice");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(header(r, "X-RateLimit-Limit"), "10");
    EXPECT_EQ(header(r, "X-RateLimit-Remaining"), std::to_string(10 - i));
    EXPECT_EQ(header(r, "X-RateLimit-Reset"), std::to_string(start + 60000));
    clock.advance_ms(1000);
  }
  auto limited = get("me", "alice");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header(limited, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(header(limited, "X-RateLimit-Reset"), std::to_string(start + 60000));
  EXPECT_EQ(body(limited), (json{{"success", false}, {"error", "Error, too many requests. Please slow down. You must wait 50 seconds before trying this endpoint again. [error-too-many-requests]"}}));
  // Another route has its own rule.
  EXPECT_EQ(get("subscriptions.get", "alice", {}).status, 200);
  // The bot role bypasses the limiter and gets no headers.
  for (int i = 0; i < 20; ++i) {
    auto r = get("me", "dutydesk");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(header(r, "X-RateLimit-Limit"), "");
  }
  clock.advance_ms(51000);
  EXPECT_EQ(get("me", "alice").status, 200); // window reset
}

TEST_F(rc_rest, unknown_routes_are_404) {
  auto r = get("nope.nothing", "dutydesk");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["success"], false);
  EXPECT_EQ(sim.handle(request("DELETE", "chat.postMessage", "dutydesk")).status, 404);
}

// ---------------- provisioning: users.create, personal access tokens, channels.create/invite ----------------
// The demo seed plus an administrator (`admin`, no room) and a guest (no create-c); #general is a default channel.

struct capture_ws final : ws_connection {
  std::vector<std::string> frames;
  void send_text(std::string f) override { frames.push_back(std::move(f)); }
  void close(int, std::string) override {}
  void drop() override {}
};

class rc_provision : public rc_rest {
protected:
  void SetUp() override {
    auto seed = demo_section();
    seed["users"].push_back({{"id", "Adm1nAdm1nAdm1nAd"}, {"username", "admin"}, {"name", "Admin"},
                             {"email", "admin@example.com"}, {"roles", {"admin", "user"}}, {"password", "admin-pass"},
                             {"tokens", {"admin-token-00000000000000000000000000"}}});
    seed["users"].push_back({{"id", "Gu3stGu3stGu3stGu"}, {"username", "guest1"}, {"roles", {"guest"}},
                             {"password", "guest-pass"}, {"tokens", {"guest-token-00000000000000000000000000"}}});
    for (auto& r : seed["rooms"])
      if (r["name"] == "general")
        r["default"] = true;
    sim.load_seed(seed);
    for (auto& u : seed["users"])
      creds[u["username"]] = {u["id"], u["tokens"][0]};
  }
  /// POST login with a password; returns (userId, authToken).
  std::pair<std::string, std::string> password_login(const std::string& user, const std::string& password) {
    auto r = post("login", "", {{"user", user}, {"password", password}});
    EXPECT_EQ(r.status, 200) << r.body;
    auto b = body(r);
    return {b["data"]["userId"], b["data"]["authToken"]};
  }
  http_response post_with(const std::string& route, const std::pair<std::string, std::string>& auth, const json& b,
                          std::map<std::string, std::string> extra = {}) {
    auto r = request("POST", route, "");
    r.headers["x-user-id"] = auth.first;
    r.headers["x-auth-token"] = auth.second;
    for (auto& [k, v] : extra)
      r.headers[k] = v;
    r.body = b.dump();
    return sim.handle(r);
  }
  http_response me_with(const std::string& uid, const std::string& token) {
    auto r = request("GET", "me", "");
    r.headers["x-user-id"] = uid;
    r.headers["x-auth-token"] = token;
    return sim.handle(r);
  }
  static std::map<std::string, std::string> two_factor(const std::string& password) {
    return {{"x-2fa-method", "password"}, {"x-2fa-code", rc::sha256_hex(password)}};
  }
  json create_user_body(const std::string& username) {
    return {{"username", username}, {"name", "New " + username}, {"email", username + "@example.invalid"},
            {"password", username + "-pw"}, {"roles", {"user", "bot"}}, {"verified", false},
            {"joinDefaultChannels", false}, {"requirePasswordChange", false}, {"sendWelcomeEmail", false}};
  }
  bool member_of(const std::string& room_name, const std::string& username) {
    auto r = get("users.info", "admin", {{"username", username}, {"includeUserRooms", "true"}});
    EXPECT_EQ(r.status, 200) << r.body;
    auto b = body(r);
    for (auto& room : b["user"]["rooms"])
      if (room["name"] == room_name)
        return true;
    return false;
  }
};

TEST_F(rc_provision, users_create_by_an_admin) {
  auto r = post("users.create", "admin", create_user_body("newbot"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body(r);
  EXPECT_EQ(b["success"], true);
  auto id = b["user"]["_id"].get<std::string>();
  EXPECT_EQ(id.size(), 17u);
  EXPECT_EQ(b["user"]["username"], "newbot");
  EXPECT_EQ(b["user"]["name"], "New newbot");
  EXPECT_EQ(b["user"]["roles"], (json{"user", "bot"}));
  EXPECT_EQ(b["user"]["emails"], (json{{{"address", "newbot@example.invalid"}, {"verified", false}}}));
  EXPECT_EQ(b["user"]["active"], true);
  EXPECT_EQ(b["user"]["requirePasswordChange"], false);
  EXPECT_TRUE(b["user"]["createdAt"].is_string());
  EXPECT_FALSE(b["user"].contains("services"));
  EXPECT_FALSE(member_of("general", "newbot")); // joinDefaultChannels: false

  // The password set here logs in; users.info finds the user.
  EXPECT_EQ(password_login("newbot", "newbot-pw").first, id);
  auto info = get("users.info", "admin", {{"username", "newbot"}});
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(body(info)["user"]["_id"], id);

  // joinDefaultChannels defaults to true; roles default to [user].
  auto d = post("users.create", "admin",
                {{"username", "joiner"}, {"name", "Joiner"}, {"email", "joiner@example.com"}, {"password", "pw"}});
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(body(d)["user"]["roles"], (json{"user"}));
  EXPECT_TRUE(member_of("general", "joiner"));
}

TEST_F(rc_provision, users_create_refusals) {
  // Not an admin: validateUserData's Meteor.Error (400, not 403).
  auto r = post("users.create", "alice", create_user_body("x1"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r), (json{{"success", false},
                           {"error", "Adding user is not allowed [error-action-not-allowed]"},
                           {"errorType", "error-action-not-allowed"},
                           {"details", {{"method", "insertOrUpdateUser"}, {"action", "Adding_user"}}}}));
  EXPECT_EQ(post("users.create", "dutydesk", create_user_body("x2")).status, 400);
  EXPECT_EQ(post("users.create", "", create_user_body("x3")).status, 401);

  // Taken user name (case-insensitive) and e-mail.
  auto dup = post("users.create", "admin", create_user_body("Alice"));
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(body(dup), (json{{"success", false},
                             {"error", "Alice is already in use :( [error-field-unavailable]"},
                             {"errorType", "error-field-unavailable"},
                             {"details", {{"method", "insertOrUpdateUser"}, {"field", "Alice"}}}}));
  auto mail = create_user_body("fresh");
  mail["email"] = "bob@example.com";
  EXPECT_EQ(body(post("users.create", "admin", mail))["error"], "bob@example.com is already in use :( [error-field-unavailable]");

  // Schema (AJV) before permissions: a missing property or an unknown key.
  auto missing = create_user_body("x4");
  missing.erase("password");
  EXPECT_EQ(body(post("users.create", "alice", missing))["error"], "must have required property 'password' [invalid-params]");
  auto extra = create_user_body("x5");
  extra["role"] = "bot";
  EXPECT_EQ(body(post("users.create", "admin", extra))["errorType"], "invalid-params");

  auto bad_role = create_user_body("x6");
  bad_role["roles"] = {"user", "wizard"};
  EXPECT_EQ(body(post("users.create", "admin", bad_role))["error"],
            "The field Roles consist invalid role id [error-action-not-allowed]");
  auto bad_name = create_user_body("x7");
  bad_name["username"] = "has space";
  EXPECT_EQ(body(post("users.create", "admin", bad_name))["errorType"], "error-input-is-not-a-valid-field");
  auto no_pw = create_user_body("x8");
  no_pw["password"] = "";
  EXPECT_EQ(body(post("users.create", "admin", no_pw))["error"], "The field Password is required [error-the-field-is-required]");
  for (auto* name : {"x1", "x4", "x6", "x8"})
    EXPECT_EQ(get("users.info", "admin", {{"username", name}}).status, 400) << name; // none was created
}

TEST_F(rc_provision, personal_access_token_needs_two_factor_by_password) {
  auto session = password_login("alice", "alice-pass");
  auto r = post_with("users.generatePersonalAccessToken", session, {{"tokenName", "ci"}, {"bypassTwoFactor", true}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r), (json{{"success", false},
                           {"error", "TOTP Required [totp-required]"},
                           {"errorType", "totp-required"},
                           {"details", {{"method", "password"}, {"codeGenerated", false}, {"availableMethods", json::array()}}}}));
  auto wrong = post_with("users.generatePersonalAccessToken", session, {{"tokenName", "ci"}},
                         {{"x-2fa-method", "password"}, {"x-2fa-code", rc::sha256_hex("not-the-password")}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(body(wrong), (json{{"success", false},
                               {"error", "TOTP Invalid [totp-invalid]"},
                               {"errorType", "totp-invalid"},
                               {"details", {{"method", "password"}}}}));

  auto ok = post_with("users.generatePersonalAccessToken", session, {{"tokenName", "ci"}, {"bypassTwoFactor", true}},
                      two_factor("alice-pass"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto pat = body(ok)["token"].get<std::string>();
  EXPECT_EQ(pat.size(), 43u);
  EXPECT_EQ(body(ok)["success"], true);

  // The PAT authenticates REST, outlives the password session and never expires...
  ASSERT_EQ(post_with("logout", session, json::object()).status, 200);
  clock.advance_ms(400LL * 24 * 3600 * 1000);
  auto me = me_with(session.first, pat);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(body(me)["username"], "alice");
  // ...and is a DDP resume token.
  auto ws = std::make_shared<capture_ws>();
  auto sid = sim.ddp_open(ws);
  sim.ddp_message(sid, json{{"msg", "connect"}, {"version", "1"}, {"support", {"1"}}}.dump());
  sim.ddp_message(sid, json{{"msg", "method"}, {"id", "1"}, {"method", "login"}, {"params", {{{"resume", pat}}}}}.dump());
  bool resumed = false;
  for (auto& f : ws->frames) {
    auto j = json::parse(f);
    if (j.value("msg", "") == "result" && j["id"] == "1") {
      EXPECT_EQ(j["result"]["id"], session.first);
      resumed = j["result"]["type"] == "resume";
    }
  }
  EXPECT_TRUE(resumed);

  // A token made with bypassTwoFactor skips the 2FA check; the hex code may be upper case.
  auto pat_auth = std::make_pair(session.first, pat);
  EXPECT_EQ(post_with("users.generatePersonalAccessToken", pat_auth, {{"tokenName", "second"}}).status, 200);
  auto fresh = password_login("alice", "alice-pass");
  auto upper = rc::sha256_hex("alice-pass");
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(post_with("users.generatePersonalAccessToken", fresh, {{"tokenName", "third"}},
                      {{"x-2fa-method", "password"}, {"x-2fa-code", upper}})
                .status,
            200);
}

TEST_F(rc_provision, personal_access_token_names_and_regeneration) {
  auto session = password_login("alice", "alice-pass");
  auto gen = [&](const std::string& route, const json& b) {
    return post_with(route, session, b, two_factor("alice-pass"));
  };
  auto first = gen("users.generatePersonalAccessToken", {{"tokenName", "dutydesk"}, {"bypassTwoFactor", true}});
  ASSERT_EQ(first.status, 200) << first.body;
  auto old_pat = body(first)["token"].get<std::string>();

  auto dup = gen("users.generatePersonalAccessToken", {{"tokenName", "dutydesk"}, {"bypassTwoFactor", true}});
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(body(dup), (json{{"success", false},
                             {"error", "A token with this name already exists [error-token-already-exists]"},
                             {"errorType", "error-token-already-exists"},
                             {"details", {{"method", "personalAccessTokens:generateToken"}}}}));

  auto re = gen("users.regeneratePersonalAccessToken", {{"tokenName", "dutydesk"}});
  ASSERT_EQ(re.status, 200) << re.body;
  auto new_pat = body(re)["token"].get<std::string>();
  EXPECT_NE(new_pat, old_pat);
  EXPECT_EQ(me_with(session.first, old_pat).status, 401);
  EXPECT_EQ(me_with(session.first, new_pat).status, 200);
  // The regenerated token keeps bypassTwoFactor.
  EXPECT_EQ(post_with("users.generatePersonalAccessToken", {session.first, new_pat}, {{"tokenName", "other"}}).status, 200);

  auto none = gen("users.regeneratePersonalAccessToken", {{"tokenName", "nope"}});
  EXPECT_EQ(body(none), (json{{"success", false},
                              {"error", "Token does not exist [error-token-does-not-exists]"},
                              {"errorType", "error-token-does-not-exists"},
                              {"details", {{"method", "personalAccessTokens:regenerateToken"}}}}));
  EXPECT_EQ(body(gen("users.generatePersonalAccessToken", json::object())),
            (json{{"success", false}, {"error", "The 'tokenName' param is required"}}));

  // The bot role alone lacks create-personal-access-tokens.
  auto bot = password_login("dutydesk", "dutydesk-pass");
  auto refused = post_with("users.generatePersonalAccessToken", bot, {{"tokenName", "x"}}, two_factor("dutydesk-pass"));
  EXPECT_EQ(body(refused), (json{{"success", false},
                                 {"error", "Not Authorized [not-authorized]"},
                                 {"errorType", "not-authorized"},
                                 {"details", {{"method", "personalAccessTokens:generateToken"}}}}));
  EXPECT_EQ(post("users.generatePersonalAccessToken", "", {{"tokenName", "x"}}).status, 401);
}

TEST_F(rc_provision, channels_create) {
  auto r = post("channels.create", "admin", {{"name", "ops-support"}, {"members", {"dutydesk", "nobody"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto c = body(r)["channel"];
  EXPECT_EQ(body(r)["success"], true);
  EXPECT_EQ(c["name"], "ops-support");
  EXPECT_EQ(c["fname"], "ops-support");
  EXPECT_EQ(c["t"], "c");
  EXPECT_EQ(c["u"]["username"], "admin");
  EXPECT_EQ(c["usersCount"], 2); // the creator and dutydesk; unknown names are skipped
  EXPECT_EQ(c["msgs"], 0);
  EXPECT_TRUE(member_of("ops-support", "dutydesk"));
  EXPECT_TRUE(member_of("ops-support", "admin"));
  auto info = get("channels.info", "dutydesk", {{"roomName", "ops-support"}});
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(body(info)["channel"]["_id"], c["_id"]);

  auto dup = post("channels.create", "alice", {{"name", "ops-support"}});
  EXPECT_EQ(body(dup)["error"], "A channel with name 'ops-support' exists [error-duplicate-channel-name]");
  EXPECT_EQ(body(post("channels.create", "admin", {{"name", "two words"}}))["error"],
            "two words is not a valid room name. [error-invalid-room-name]");
  EXPECT_EQ(body(post("channels.create", "admin", json::object()))["error"],
            "must have required property 'name' [invalid-params]");
  auto guest = post("channels.create", "guest1", {{"name", "guest-room"}});
  EXPECT_EQ(guest.status, 403);
  EXPECT_EQ(body(guest), (json{{"success", false},
                               {"error", "User does not have the permissions required for this action [error-unauthorized]"}}));
  // create-c is a user and bot permission too.
  EXPECT_EQ(post("channels.create", "alice", {{"name", "alices-room"}}).status, 200);
}

TEST_F(rc_provision, channels_invite) {
  ASSERT_FALSE(member_of("general", "dutydesk"));
  auto r = post("channels.invite", "admin", {{"roomId", "GENERAL"}, {"userId", "B0tB0tB0tB0tB0tB0"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["channel"]["_id"], "GENERAL");
  EXPECT_EQ(body(r)["channel"]["usersCount"], 6);
  EXPECT_TRUE(member_of("general", "dutydesk"));
  // The `au` system message names the inviter.
  auto history = body(get("channels.history", "admin", {{"roomId", "GENERAL"}}))["messages"];
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0]["t"], "au");
  EXPECT_EQ(history[0]["msg"], "dutydesk");
  EXPECT_EQ(history[0]["u"]["username"], "admin");

  // Inviting a member again changes nothing.
  auto again = post("channels.invite", "admin", {{"roomId", "GENERAL"}, {"userId", "B0tB0tB0tB0tB0tB0"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(body(again)["channel"]["usersCount"], 6);
  EXPECT_EQ(body(get("channels.history", "admin", {{"roomId", "GENERAL"}}))["messages"].size(), history.size());

  // A plain member without add-user-to-joined-room; an unknown user; an unknown room.
  auto refused = post("channels.invite", "alice", {{"roomId", "CicdSupp0rtRoom01"}, {"userId", "Adm1nAdm1nAdm1nAd"}});
  EXPECT_EQ(body(refused), (json{{"success", false},
                                 {"error", "Not allowed [error-not-allowed]"},
                                 {"errorType", "error-not-allowed"},
                                 {"details", {{"method", "addUsersToRoom"}}}}));
  EXPECT_FALSE(member_of("cicd-support", "admin"));
  EXPECT_EQ(body(post("channels.invite", "admin", {{"roomId", "GENERAL"}, {"userId", "nobody"}}))["error"],
            "invalid-user-invite-list");
  EXPECT_EQ(body(post("channels.invite", "admin", {{"roomId", "nope"}, {"userId", "B0tB0tB0tB0tB0tB0"}}))["errorType"],
            "error-room-not-found");
  EXPECT_EQ(body(post("channels.invite", "admin", {{"roomId", "GENERAL"}, {"userIds", json::array()}}))["errorType"],
            "invalid-params");
}

TEST_F(rc_provision, new_routes_share_the_rate_limiter) {
  // alice (role user) is limited per route; admin (api-bypass-rate-limit) is not.
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(post("channels.create", "alice", {{"name", "room" + std::to_string(i)}}).status, 200) << i;
  auto limited = post("channels.create", "alice", {{"name", "room10"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header(limited, "X-RateLimit-Limit"), "10");
  auto admin = post("channels.create", "admin", {{"name", "room11"}});
  EXPECT_EQ(admin.status, 200);
  EXPECT_EQ(header(admin, "X-RateLimit-Limit"), "");
}

} // namespace
