// Bad Rocket.Chat input (issue 6, "Bad input and security"): messages of 1 MiB, invalid UTF-8 (raw bytes, lone
// surrogate escapes), unknown fields, unknown message types and frame kinds, messages of rooms that are not
// configured. First at the DDP frame parser and through the message filter the supervisors use (a request only for
// a plain top-level message of a configured room), then over the wire: a ddp_session against a scripted server
// that sends them live and in the backfill after a drop. Nothing may crash, and nothing may stall the connection:
// a message the parser cannot read is skipped (live) or its sync is given up for this connection (backfill), and
// the session keeps delivering what comes after.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "ddp_test_server.hpp"
#include "domain/message_filter.hpp"
#include "io/ddp_frames.hpp"
#include "io/ddp_session.hpp"
#include "io/http_client.hpp"
#include "io/rest_json.hpp"
#include "io/rocketchat_rest.hpp"
#include "sim_fixture.hpp"

namespace dutydesk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace ddp = io::ddp;

constexpr std::int64_t t0 = 1732630000000;

/// A message object as Rocket.Chat sends it on the stream (EJSON dates), with `extra` fields merged in.
json message(const std::string& id, const std::string& rid, const std::string& text, std::int64_t ts,
             const json& extra = json::object()) {
  json m{{"_id", id},
         {"rid", rid},
         {"msg", text},
         {"ts", {{"$date", ts}}},
         {"_updatedAt", {{"$date", ts}}},
         {"u", {{"_id", "Car0lCar0lCar0lCa"}, {"username", "carol"}, {"name", "Carol"}}}};
  for (auto& [k, v] : extra.items())
    m[k] = v;
  return m;
}

std::string frame_of(const json& m, const std::string& event = "R1") {
  return json{{"msg", "changed"},
              {"collection", "stream-room-messages"},
              {"id", "id"},
              {"fields", {{"eventName", event}, {"args", json::array({m})}}}}
    .dump();
}

/// `text` spliced raw (not JSON-escaped) into a message frame's msg: for bytes nlohmann would refuse to dump.
std::string frame_with_raw_text(const std::string& id, const std::string& raw_text, std::int64_t ts) {
  auto f = frame_of(message(id, "R1", "@@RAW@@", ts));
  auto at = f.find("@@RAW@@");
  return f.substr(0, at) + raw_text + f.substr(at + 7);
}

const io::chat_message& message_of(const domain::parsed<ddp::server_frame>& f) {
  static const io::chat_message none{};
  if (!f.ok()) {
    ADD_FAILURE() << "not parsed: " << f.error();
    return none;
  }
  const auto* c = std::get_if<ddp::changed>(&f.value());
  if (c == nullptr || !c->message) {
    ADD_FAILURE() << "not a message frame";
    return none;
  }
  return *c->message;
}

/// What the supervisors decide for `m` (converted as io::chat_gateway converts it) in room `room`.
domain::message_class classify(const io::chat_message& m, const std::string& room) {
  domain::incoming_message in;
  in.id = m.id;
  in.room = room;
  in.author = m.u.username;
  in.author_name = m.u.name;
  in.text = m.msg;
  if (!m.tmid.empty())
    in.thread_id = m.tmid;
  if (!m.t.empty())
    in.type = m.t;
  in.edited = m.edited_at_ms.has_value();
  domain::filter_rules rules;
  rules.bot_user = "dutydesk";
  rules.channels = {{"cicd-support", {"alice"}, true}};
  return domain::classify(in, rules);
}

const domain::message_class new_request{domain::message_kind::new_request, domain::ignore_reason::none};

// -- the frame parser ---------------------------------------------------------------------------------------------

TEST(rc_input, a_message_of_one_mebibyte_parses_whole_and_is_an_ordinary_request) {
  std::string text;
  while (text.size() < 1024 * 1024)
    text += "log line \xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\xA5 ENOSPC on runner-7\n"; // é € 🔥: multi-byte UTF-8
  auto f = ddp::parse_server_frame(frame_of(message("BIG", "R1", text, t0)));
  const auto& m = message_of(f);
  EXPECT_EQ(m.msg, text);
  EXPECT_EQ(m.id, "BIG");
  EXPECT_EQ(classify(m, "cicd-support"), new_request);
  // The same through the REST shape (a backfill), ISO dates.
  json body{{"result", {{"updated", json::array({message("BIG", "R1", text, t0)})}, {"deleted", json::array()}}},
            {"success", true}};
  auto sync = io::parse_rc_sync_messages(body.dump());
  ASSERT_TRUE(sync.ok()) << sync.error();
  ASSERT_EQ(sync->updated.size(), 1u);
  EXPECT_EQ(sync->updated[0].msg.size(), text.size());
}

TEST(rc_input, unknown_fields_and_frame_kinds_are_ignored) {
  json extra{{"md", json::array({{{"type", "PARAGRAPH"}, {"value", json::array()}}})},
             {"blocks", json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", "x"}}}}})},
             {"customFields", {{"ticket", 7}}},
             {"urls", json::array({{{"url", "https://x.test"}, {"meta", json::object()}}})},
             {"a_field_from_the_future", {{"deep", {{"deeper", json::array({1, "two", nullptr, 3.5, true})}}}}},
             {"u", {{"_id", "Car0lCar0lCar0lCa"}, {"username", "carol"}, {"name", "Carol"}, {"roles", {"user"}}}},
             {"pinned", false},
             {"unread", true},
             {"groupable", nullptr}};
  auto wrapped = json::parse(frame_of(message("M1", "R1", "help please", t0, extra)));
  wrapped["fields"]["also_new"] = json::array({1, 2});
  wrapped["server_time"] = {{"$date", t0}};
  auto f = ddp::parse_server_frame(wrapped.dump());
  const auto& m = message_of(f);
  EXPECT_EQ(m.msg, "help please");
  EXPECT_EQ(m.u.username, "carol");
  EXPECT_EQ(classify(m, "cicd-support"), new_request);

  for (const char* kind : {"removed", "addedBefore", "movedBefore", "a-kind-from-the-future"}) {
    auto other = ddp::parse_server_frame(json{{"msg", kind}, {"collection", "users"}, {"id", "U1"}}.dump());
    ASSERT_TRUE(other.ok()) << kind << ": " << other.error();
    ASSERT_TRUE(std::holds_alternative<ddp::other>(other.value())) << kind;
    EXPECT_EQ(std::get<ddp::other>(other.value()).msg, kind);
  }
  // Other streams are frames without a message.
  auto notify = ddp::parse_server_frame(json{{"msg", "changed"},
                                             {"collection", "stream-notify-user"},
                                             {"id", "id"},
                                             {"fields", {{"eventName", "B/rooms-changed"},
                                                         {"args", json::array({"inserted", {{"_id", "R9"}}})}}}}
                                          .dump());
  ASSERT_TRUE(notify.ok()) << notify.error();
  EXPECT_FALSE(std::get<ddp::changed>(notify.value()).message);
}

TEST(rc_input, system_messages_of_every_type_parse_and_never_become_requests) {
  for (const char* t : {"uj", "ul", "ru", "au", "rm", "r", "ut", "uj-from-link", "user-muted", "room_changed_topic",
                        "room_changed_privacy", "message_pinned", "discussion-created", "videoconf", "e2e",
                        "livechat-close", "added-user-to-team", "ujt", "command", "jitsi_call_started",
                        "a-type-from-the-future"}) {
    SCOPED_TRACE(t);
    // An rm tombstone has no text; the others carry whatever Rocket.Chat puts there (often a user name).
    auto text = std::string{t} == "rm" ? std::string{} : std::string{"carol"};
    auto f = ddp::parse_server_frame(frame_of(message(std::string{"S-"} + t, "R1", text, t0, {{"t", t}})));
    const auto& m = message_of(f);
    EXPECT_EQ(m.t, t);
    auto cls = classify(m, "cicd-support");
    EXPECT_EQ(cls.kind, domain::message_kind::ignore);
    EXPECT_EQ(cls.reason, domain::ignore_reason::system_message);
    // Also as a thread reply (an rm of a reply, a pinned reply).
    auto reply = ddp::parse_server_frame(frame_of(message("S2", "R1", text, t0, {{"t", t}, {"tmid", "ROOT"}})));
    EXPECT_EQ(classify(message_of(reply), "cicd-support").kind, domain::message_kind::ignore);
  }
  // A message without an author (some system messages) is not a request either.
  auto anonymous = json::parse(frame_of(message("A1", "R1", "who?", t0)));
  anonymous["fields"]["args"][0].erase("u");
  EXPECT_EQ(classify(message_of(ddp::parse_server_frame(anonymous.dump())), "cicd-support").kind,
            domain::message_kind::ignore);
}

TEST(rc_input, messages_of_rooms_that_are_not_configured_are_ignored) {
  auto m = message_of(ddp::parse_server_frame(frame_of(message("M1", "GENERAL", "lunch?", t0), "GENERAL")));
  EXPECT_EQ(classify(m, "general"), (domain::message_class{domain::message_kind::ignore,
                                                           domain::ignore_reason::unknown_room}));
  EXPECT_EQ(classify(m, ""), (domain::message_class{domain::message_kind::ignore, domain::ignore_reason::unknown_room}));
  EXPECT_EQ(classify(m, "cicd-support"), new_request); // the same message in a configured room
}

TEST(rc_input, invalid_utf8_is_replaced_not_fatal) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct bad_case {
    const char* what;
    std::string raw; // spliced into the msg string as is
    std::string expected;
  };
  std::vector<bad_case> cases{
    {"a stray continuation byte", "a\x80z", "a" + fffd + "z"},
    {"bytes that never occur in UTF-8", "a\xFF\xFEz", "a" + fffd + fffd + "z"},
    {"a truncated sequence", "a\xE2\x82z", "a" + fffd + "z"},
    {"a sequence cut at the end of the string", "za\xF0\x9F\x94", "za" + fffd},
    {"an overlong encoding", "a\xC0\xAFz", "a" + fffd + fffd + "z"},
    {"a UTF-8 encoded surrogate", "a\xED\xA0\x80z", "a" + fffd + fffd + fffd + "z"},
    {"beyond U+10FFFF", "a\xF4\x90\x80\x80z", "a" + fffd + fffd + fffd + fffd + "z"},
    {"a lone high surrogate escape", "a\\ud800z", "a" + fffd + "z"},
    {"a lone low surrogate escape", "a\\udc00z", "a" + fffd + "z"},
    {"a high surrogate escape before a non-surrogate escape", "a\\ud83d\\u0041z", "a" + fffd + "Az"},
    {"a high surrogate escape at the end", "za\\uD83D", "za" + fffd},
    {"two high surrogate escapes, then a low one", "\\ud83d\\ud83d\\ude00", fffd + "\xF0\x9F\x98\x80"},
    {"an escaped backslash before u", "a\\\\ud800z", "a\\ud800z"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto f = ddp::parse_server_frame(frame_with_raw_text("U1", c.raw, t0));
    const auto& m = message_of(f);
    EXPECT_EQ(m.msg, c.expected);
    EXPECT_EQ(m.id, "U1");
    EXPECT_EQ(classify(m, "cicd-support"), new_request);
  }
  // Valid text is left alone, escapes included.
  auto ok = ddp::parse_server_frame(frame_with_raw_text("U2", "\\ud83d\\ude00 \xF0\x9F\x98\x80 \\u00e9 \\u0000", t0));
  EXPECT_EQ(message_of(ok).msg, std::string("\xF0\x9F\x98\x80 \xF0\x9F\x98\x80 \xC3\xA9 \0", 14));
  // Outside strings invalid bytes are still invalid JSON.
  EXPECT_FALSE(ddp::parse_server_frame("{\"msg\":\"ping\"\xFF}").ok());
  EXPECT_FALSE(ddp::parse_server_frame("\xFF{\"msg\":\"ping\"}").ok());
  // Invalid bytes in a key are replaced like those in values (the key then simply is unknown).
  auto key = ddp::parse_server_frame("{\"msg\":\"ping\",\"x\xFF\":1}");
  EXPECT_TRUE(key.ok());
}

// -- over the wire ------------------------------------------------------------------------------------------------

struct received {
  std::vector<io::chat_message> messages;
  std::vector<std::string> logs;
  std::vector<std::string> ids() const {
    std::vector<std::string> xs;
    for (const auto& m : messages)
      xs.push_back(m.id);
    return xs;
  }
  const io::chat_message* find(const std::string& id) const {
    for (const auto& m : messages)
      if (m.id == id)
        return &m;
    return nullptr;
  }
};

class rc_wire : public ::testing::Test {
protected:
  /// Runs a session against `ws` (and `rest` for backfills) until `done`; returns what it delivered.
  received run(ddp_script_server& ws, canned_rest_server& rest_server, const std::function<bool(const received&)>& done,
               std::chrono::milliseconds limit = 8000ms) {
    io::http_client http(ioc);
    io::rocketchat_rest rest(http, "http://127.0.0.1:" + std::to_string(rest_server.port()),
                             io::rc_credentials{"B", "T"});
    io::ddp_session_config c;
    c.url = "ws://127.0.0.1:" + std::to_string(ws.port()) + "/websocket";
    c.token = "T";
    c.room_ids = {"R1"};
    c.reconnect_base = 10ms;
    c.reconnect_max = 50ms;
    received out;
    io::ddp_callbacks cb;
    cb.on_message = [&](const io::chat_message& m) { out.messages.push_back(m); };
    cb.on_log = [&](std::string_view s) { out.logs.emplace_back(s); };
    session = std::make_unique<io::ddp_session>(ioc, rest, c, cb);
    session->start();
    bool ok = run_until(ioc, [&] { return done(out); }, limit);
    stats = session->stats();
    state = session->state();
    session->stop();
    session.reset();
    ioc.restart();
    ioc.run_for(20ms);
    if (!ok) {
      std::string all;
      for (const auto& l : out.logs)
        all += l + "\n";
      ADD_FAILURE() << "delivered " << ::testing::PrintToString(out.ids()) << ", state " << io::to_string(state)
                    << ", reconnects " << stats.reconnects << "; server: " << ws.error() << "; log:\n" << all;
    }
    return out;
  }

  static std::string sync_body(const std::vector<std::string>& raw_messages) {
    std::string xs;
    for (const auto& m : raw_messages)
      xs += (xs.empty() ? "" : ",") + m;
    return R"({"result":{"updated":[)" + xs + R"(],"deleted":[]},"success":true})";
  }

  boost::asio::io_context ioc;
  std::unique_ptr<io::ddp_session> session;
  io::ddp_stats stats;
  io::ddp_state state = io::ddp_state::idle;
};

TEST_F(rc_wire, bad_live_frames_are_skipped_or_recovered_from_and_delivery_goes_on) {
  std::string big(1024 * 1024, 'x');
  std::vector<std::string> first{
    frame_of(message("M-big", "R1", big, t0 + 1)),
    json{{"msg", "removed"}, {"collection", "users"}, {"id", "U1"}}.dump(),
    json{{"msg", "a-kind-from-the-future"}, {"payload", {{"x", 1}}}}.dump(),
    frame_of(message("M-elsewhere", "OTHER", "not our room", t0 + 2), "OTHER"),
    frame_of(message("M-uj", "R1", "carol", t0 + 3, {{"t", "uj"}})),
    frame_of(message("M-fields", "R1", "new fields", t0 + 4, {{"a_field_from_the_future", {{"x", {1, 2}}}}})),
    frame_with_raw_text("M-surrogate", "half an emoji \\ud83d", t0 + 5),
    frame_of(message("M-badtype", "R1", "tcount as text", t0 + 6, {{"tcount", "seven"}})),
    frame_of(message("M-ok", "R1", "still here", t0 + 7)),
    // A text frame that is not UTF-8 at all breaks the websocket (RFC 6455 §8.1): the connection is recycled.
    frame_with_raw_text("M-raw", "raw \xFF bytes", t0 + 8),
  };
  std::vector<std::string> second{frame_of(message("M-after", "R1", "after the reconnect", t0 + 20))};
  ddp_script_server ws({first, second});
  // The backfill after the reconnect: what was missed, one message with raw invalid bytes among it.
  canned_rest_server rest(sync_body({message("M-missed", "R1", "missed", t0 + 9).dump(),
                                     R"({"_id":"M-raw2","rid":"R1","msg":"raw )" + std::string("\xFF") +
                                       R"( again","ts":"2024-11-26T14:06:40.010Z","_updatedAt":"2024-11-26T14:06:40.010Z","u":{"_id":"C","username":"carol"}})"}));
  auto got = run(ws, rest, [](const received& r) { return r.find("M-after") != nullptr; });
  EXPECT_EQ(got.ids(), (std::vector<std::string>{"M-big", "M-uj", "M-fields", "M-surrogate", "M-ok", "M-missed",
                                                 "M-raw2", "M-after"}));
  ASSERT_NE(got.find("M-big"), nullptr);
  EXPECT_EQ(got.find("M-big")->msg.size(), big.size());
  ASSERT_NE(got.find("M-surrogate"), nullptr);
  EXPECT_EQ(got.find("M-surrogate")->msg, "half an emoji \xEF\xBF\xBD");
  ASSERT_NE(got.find("M-raw2"), nullptr);
  EXPECT_EQ(got.find("M-raw2")->msg, "raw \xEF\xBF\xBD again");
  EXPECT_EQ(got.find("M-uj")->t, "uj"); // the session delivers it; the supervisor ignores it (see above)
  EXPECT_EQ(stats.malformed_frames, 1u); // M-badtype: skipped, logged
  EXPECT_EQ(stats.reconnects, 1u);
  EXPECT_GE(rest.requests.load(), 1);
  for (const auto& l : got.logs) // logs never quote message text
    EXPECT_EQ(l.find("tcount as text"), std::string::npos) << l;
}

TEST_F(rc_wire, a_backfill_the_parser_cannot_read_does_not_stall_the_connection) {
  // The sync after the drop holds a message whose field has the wrong type: the whole sync is unreadable. The room
  // goes live without it (and the next reconnect syncs from the same cursor again) instead of reconnecting forever.
  std::vector<std::string> first{frame_of(message("M1", "R1", "before", t0 + 1)),
                                 frame_with_raw_text("M-raw", "\xFF", t0 + 2)};
  std::vector<std::string> second{frame_of(message("M2", "R1", "after the reconnect", t0 + 20))};
  ddp_script_server ws({first, second});
  canned_rest_server rest(sync_body({message("M-bad", "R1", "x", t0 + 3, {{"reactions", "not an object"}}).dump()}));
  auto got = run(ws, rest, [](const received& r) { return r.find("M2") != nullptr; });
  EXPECT_EQ(got.ids(), (std::vector<std::string>{"M1", "M2"}));
  EXPECT_EQ(stats.backfill_failures, 1u);
  EXPECT_EQ(stats.reconnects, 1u);
  EXPECT_EQ(state, io::ddp_state::live);
  bool logged = false;
  for (const auto& l : got.logs)
    logged |= l.find("backfill of room R1") != std::string::npos;
  EXPECT_TRUE(logged);
}

} // namespace
} // namespace dutydesk::test
