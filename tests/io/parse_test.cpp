// Parsers of DDP frames and REST/OnCall answers, on recorded frames from the reference (rocketchat.md §2, §3, §4, §8;
// oncall.md §3, §5, §6) plus malformed ones.

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/ddp_frames.hpp"
#include "io/rest_json.hpp"

using namespace dutydesk::io;

namespace {

std::string data(const std::string& rel) {
  std::ifstream in(std::string(DUTYDESK_TEST_DATA) + "/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class T>
const T& as(const dutydesk::domain::parsed<ddp::server_frame>& f) {
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error());
  EXPECT_TRUE(std::holds_alternative<T>(f.value()));
  return std::get<T>(f.value());
}

} // namespace

TEST(ddp_frames, greeting_both_spellings) {
  EXPECT_TRUE(std::holds_alternative<ddp::greeting>(ddp::parse_server_frame(data("ddp/greeting.json")).value()));
  auto f = ddp::parse_server_frame(R"({"msg":"server_id","server_id":"0"})");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(std::holds_alternative<ddp::greeting>(f.value()));
}

TEST(ddp_frames, connected_ping_pong_updated_ready) {
  auto c = ddp::parse_server_frame(data("ddp/connected.json"));
  EXPECT_EQ(as<ddp::connected>(c).session, "Kz3abc");
  auto p = ddp::parse_server_frame(R"({"msg":"ping"})");
  EXPECT_FALSE(as<ddp::ping>(p).id.has_value());
  auto p2 = ddp::parse_server_frame(R"({"msg":"ping","id":"x7"})");
  EXPECT_EQ(as<ddp::ping>(p2).id.value_or(""), "x7");
  auto po = ddp::parse_server_frame(R"({"msg":"pong","id":"9"})");
  EXPECT_EQ(as<ddp::pong>(po).id.value_or(""), "9");
  auto u = ddp::parse_server_frame(R"({"msg":"updated","methods":["1","42"]})");
  EXPECT_EQ(as<ddp::updated>(u).methods, (std::vector<std::string>{"1", "42"}));
  auto r = ddp::parse_server_frame(R"({"msg":"ready","subs":["s1"]})");
  EXPECT_EQ(as<ddp::ready>(r).subs, (std::vector<std::string>{"s1"}));
  auto fl = ddp::parse_server_frame(R"({"msg":"failed","version":"1"})");
  EXPECT_EQ(as<ddp::failed>(fl).version, "1");
  auto o = ddp::parse_server_frame(R"({"msg":"removed","collection":"users","id":"x"})");
  EXPECT_EQ(as<ddp::other>(o).msg, "removed");
  auto a = ddp::parse_server_frame(
      R"({"msg":"added","collection":"users","id":"aobEdbYhXfu5hkeqG","fields":{"username":"dutydesk"}})");
  EXPECT_EQ(as<ddp::added>(a).collection, "users");
  EXPECT_EQ(nlohmann::json::parse(as<ddp::added>(a).fields_json)["username"], "dutydesk");
}

TEST(ddp_frames, login_result_and_error) {
  auto ok = ddp::parse_server_frame(data("ddp/login_result.json"));
  const auto& r = as<ddp::result>(ok);
  EXPECT_EQ(r.id, "1");
  EXPECT_FALSE(r.error);
  auto j = nlohmann::json::parse(r.result_json);
  EXPECT_EQ(j["id"], "B0tB0tB0tB0tB0tB0");
  EXPECT_EQ(j["tokenExpires"]["$date"], 1740000000000LL);

  auto bad = ddp::parse_server_frame(data("ddp/login_error.json"));
  const auto& e = as<ddp::result>(bad);
  ASSERT_TRUE(e.error);
  EXPECT_EQ(e.error->error, "403");
  EXPECT_EQ(e.error->error_type, "Meteor.Error");
  EXPECT_EQ(e.error->reason, "You've been logged out by the server. Please log in again.");
  EXPECT_TRUE(e.result_json.empty());

  auto falsy = ddp::parse_server_frame(R"({"msg":"result","id":"7"})");
  EXPECT_TRUE(as<ddp::result>(falsy).result_json.empty());
  EXPECT_FALSE(as<ddp::result>(falsy).error);
}

TEST(ddp_frames, nosub_with_and_without_error) {
  auto n = ddp::parse_server_frame(data("ddp/nosub_error.json"));
  ASSERT_TRUE(as<ddp::nosub>(n).error);
  EXPECT_EQ(as<ddp::nosub>(n).error->error, "not-allowed");
  auto n2 = ddp::parse_server_frame(R"({"msg":"nosub","id":"s1"})");
  EXPECT_FALSE(as<ddp::nosub>(n2).error);
}

TEST(ddp_frames, room_message_from_reference) {
  auto f = ddp::parse_server_frame(data("ddp/room_message.json"));
  const auto& c = as<ddp::changed>(f);
  EXPECT_EQ(c.collection, "stream-room-messages");
  EXPECT_EQ(c.event_name, "GENERAL");
  ASSERT_TRUE(c.message);
  const auto& m = *c.message;
  EXPECT_EQ(m.id, "k7Xb2YxJH3mYcF9Pq");
  EXPECT_EQ(m.rid, "GENERAL");
  EXPECT_EQ(m.msg, "@dutydesk db is down");
  EXPECT_EQ(m.ts_ms, 1732630000123);
  EXPECT_EQ(m.updated_at_ms, 1732630000150);
  EXPECT_EQ(m.u.id, "Alic3Alic3Alic3Al");
  EXPECT_EQ(m.u.username, "alice");
  EXPECT_EQ(m.u.name, "Alice");
  EXPECT_TRUE(m.t.empty());
  EXPECT_TRUE(m.tmid.empty());
  EXPECT_FALSE(m.edited_at_ms);
  EXPECT_TRUE(m.reactions.empty());
  EXPECT_FALSE(m.has_attachments);
  EXPECT_FALSE(c.hint);
}

TEST(ddp_frames, my_messages_with_reactions_thread_and_hint) {
  auto f = ddp::parse_server_frame(data("ddp/my_messages_reaction.json"));
  const auto& c = as<ddp::changed>(f);
  ASSERT_TRUE(c.message);
  const auto& m = *c.message;
  EXPECT_EQ(m.tmid, "M1");
  EXPECT_TRUE(m.tshow);
  EXPECT_TRUE(m.has_attachments);
  EXPECT_EQ(m.edited_at_ms.value_or(0), 1732630002000);
  EXPECT_EQ(m.updated_at_ms, 1732630003000);
  EXPECT_EQ(m.u.name, "");
  ASSERT_EQ(m.reactions.count(":eyes:"), 1u);
  EXPECT_EQ(m.reactions.at(":eyes:"), (std::vector<std::string>{"alice", "bob"}));
  ASSERT_TRUE(c.hint);
  EXPECT_TRUE(c.hint->room_participant);
  EXPECT_EQ(c.hint->room_type, "c");
  EXPECT_EQ(c.hint->room_name, "general");
}

TEST(ddp_frames, malformed_frames_are_errors_not_crashes) {
  for (const char* file : {"ddp/bad_message_u.json", "ddp/bad_message_no_id.json", "ddp/truncated.json",
                           "ddp/not_object.json", "ddp/bad_msg_type.json"}) {
    auto f = ddp::parse_server_frame(data(file));
    EXPECT_FALSE(f.ok()) << file;
    if (!f.ok()) {
      EXPECT_FALSE(f.error().empty()) << file;
    }
  }
  EXPECT_FALSE(ddp::parse_server_frame("").ok());
  EXPECT_FALSE(ddp::parse_server_frame("{\"msg\":\"result\"}").ok()); // no id
  EXPECT_FALSE(ddp::parse_server_frame(R"({"msg":"ready","subs":"s1"})").ok());
  EXPECT_FALSE(ddp::parse_server_frame(R"({"msg":"changed","collection":"stream-room-messages","fields":{"args":{}}})").ok());
  EXPECT_FALSE(ddp::parse_server_frame(R"({"msg":"changed","collection":"stream-room-messages","fields":{"eventName":"R","args":[{"_id":"a","rid":"R","ts":{"$date":"x"}}]}})").ok());
  EXPECT_FALSE(ddp::parse_server_frame(std::string("\xff\xfe{", 3)).ok());
}

TEST(ddp_frames, client_frames) {
  using nlohmann::json;
  auto c = json::parse(ddp::connect_frame());
  EXPECT_EQ(c, json::parse(R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})"));
  EXPECT_EQ(json::parse(ddp::pong_frame(std::nullopt)), json::parse(R"({"msg":"pong"})"));
  EXPECT_EQ(json::parse(ddp::pong_frame(std::string("x"))), json::parse(R"({"msg":"pong","id":"x"})"));
  EXPECT_EQ(json::parse(ddp::login_resume_frame("1", "tok\"en")),
            json::parse(R"({"msg":"method","id":"1","method":"login","params":[{"resume":"tok\"en"}]})"));
  EXPECT_EQ(json::parse(ddp::sub_room_messages_frame("2", "GENERAL")),
            json::parse(R"({"msg":"sub","id":"2","name":"stream-room-messages","params":["GENERAL",false]})"));
  EXPECT_EQ(json::parse(ddp::sub_frame("3", "stream-notify-user", R"(["U/message",false])"))["params"][0], "U/message");
  EXPECT_EQ(json::parse(ddp::sub_frame("3", "x", "not json"))["params"], json::array());
  EXPECT_EQ(json::parse(ddp::unsub_frame("2")), json::parse(R"({"msg":"unsub","id":"2"})"));
  EXPECT_EQ(json::parse(ddp::method_frame("9", "setReaction", R"([":eyes:","M1",true])")),
            json::parse(R"({"msg":"method","id":"9","method":"setReaction","params":[":eyes:","M1",true]})"));
  EXPECT_EQ(json::parse(ddp::ping_frame("p1")), json::parse(R"({"msg":"ping","id":"p1"})"));
}

TEST(iso8601, parse_and_format) {
  EXPECT_EQ(parse_iso8601_ms("2024-11-26T14:06:40.123Z").value_or(0), 1732630000123);
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:00Z").value_or(-1), 0);
  EXPECT_EQ(parse_iso8601_ms("2024-11-26T15:06:40.123+01:00").value_or(0), 1732630000123);
  EXPECT_EQ(parse_iso8601_ms("2024-11-26T14:06:40.1Z").value_or(0), 1732630000100);
  EXPECT_FALSE(parse_iso8601_ms("2024-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601_ms("2024-11-26T14:06:40"));
  EXPECT_FALSE(parse_iso8601_ms("2024-11-26T14:06:40.Z"));
  EXPECT_FALSE(parse_iso8601_ms("garbage"));
  EXPECT_EQ(format_iso8601_ms(1732630000123), "2024-11-26T14:06:40.123Z");
  EXPECT_EQ(format_iso8601_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(parse_iso8601_ms(format_iso8601_ms(1740000000001)).value_or(0), 1740000000001);
}

TEST(rest_json, message_responses_with_iso_dates) {
  auto g = parse_rc_message_response(data("rest/get_message.json"));
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->id, "CeXwh5eBbdrtvnqG6");
  EXPECT_EQ(g->ts_ms, parse_iso8601_ms("2018-10-05T13:48:21.616Z").value());
  EXPECT_EQ(g->updated_at_ms, parse_iso8601_ms("2018-10-05T13:48:49.535Z").value());
  EXPECT_EQ(g->reactions.at(":frowning2:"), (std::vector<std::string>{"marcos.defendi"}));
  auto p = parse_rc_message_response(data("rest/post_message.json"));
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->id, "jC9chsFddTvsbFQG7");
  EXPECT_EQ(p->tmid, "k7Xb2YxJH3mYcF9Pq");
  EXPECT_EQ(p->u.username, "dutydesk");
  EXPECT_FALSE(parse_rc_message_response(R"({"success":true})").ok());
  EXPECT_FALSE(parse_rc_message_response(R"({"message":{"_id":"x","rid":"r","ts":"yesterday"}})").ok());
}

TEST(rest_json, error_bodies) {
  auto e = parse_rc_error(data("rest/error_meteor.json"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->error_type, "error-message-not-found");
  EXPECT_NE(e->error.find("[error-message-not-found]"), std::string::npos);
  auto u = parse_rc_error(data("rest/error_401.json"));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->error, "You must be logged in to do this.");
  EXPECT_EQ(u->message, "You must be logged in to do this.");
  EXPECT_TRUE(u->error_type.empty());
  EXPECT_FALSE(rc_success(data("rest/error_401.json")));
  EXPECT_TRUE(rc_success(data("rest/users_info.json")));
  EXPECT_FALSE(rc_success("<html>"));
  EXPECT_FALSE(parse_rc_error("<html>").ok());
}

TEST(rest_json, sync_history_room_users) {
  auto s = parse_rc_sync_messages(data("rest/sync_messages.json"));
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->updated.size(), 2u);
  EXPECT_EQ(s->updated[0].id, "M2");
  ASSERT_EQ(s->deleted.size(), 1u);
  EXPECT_EQ(s->deleted[0].id, "M0");
  EXPECT_EQ(s->deleted[0].deleted_at_ms, parse_iso8601_ms("2024-11-26T14:06:39.000Z").value());
  EXPECT_FALSE(parse_rc_sync_messages(R"({"result":{"updated":{}}})").ok());

  auto h = parse_rc_history(data("rest/history.json"));
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].t, "uj");

  auto r = parse_rc_room(data("rest/im_create.json"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->id, "Alic3Alic3Alic3AlB0tB0tB0tB0tB0tB0");
  EXPECT_EQ(r->type, "d");
  EXPECT_EQ(r->usernames, (std::vector<std::string>{"alice", "dutydesk"}));

  auto u = parse_rc_user_info(data("rest/users_info.json"));
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->username, "alice");
  EXPECT_EQ(u->name, "Alice Adams");

  auto l = parse_rc_users_list(data("rest/users_list.json"));
  ASSERT_TRUE(l.ok()) << l.error();
  ASSERT_EQ(l->users.size(), 1u);
  EXPECT_EQ(l->users[0].emails, (std::vector<std::string>{"alice@example.com"}));
  EXPECT_EQ(l->total, 1);
  EXPECT_FALSE(parse_rc_users_list(R"({"users":[{"username":"no id"}]})").ok());
}

TEST(rest_json, oncall_shapes) {
  auto s = parse_oncall_schedule(data("rest/oncall_schedule.json"));
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->id, "SBM7DV7BKFUYU");
  EXPECT_EQ(s->on_call_now, (std::vector<std::string>{"U4DNY931HHJS5"}));
  auto empty = parse_oncall_schedule(R"({"id":"S","name":"n","on_call_now":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->on_call_now.empty());
  EXPECT_FALSE(parse_oncall_schedule(data("rest/oncall_schedule_bad.json")).ok());
  EXPECT_FALSE(parse_oncall_schedule(R"({"detail":"Not found."})").ok());

  auto u = parse_oncall_user(data("rest/oncall_user.json"));
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->username, "alex");
  EXPECT_EQ(u->email, "public-api-demo-user-1@grafana.com");

  auto page = parse_oncall_users_page(data("rest/oncall_users_page.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->next, "http://oncall.example/api/v1/users/?page=2");
  EXPECT_EQ(page->count, 101);
  ASSERT_EQ(page->results.size(), 1u);
  auto last = parse_oncall_users_page(R"({"count":0,"next":null,"results":[]})");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->next.empty());

  EXPECT_EQ(parse_oncall_detail(data("rest/oncall_throttled.json")),
            "Request was throttled. Expected available in 5 seconds.");
  EXPECT_EQ(parse_oncall_detail("not json"), "");
}
