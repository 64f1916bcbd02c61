// Fuzzes the Rocket.Chat realtime (DDP) frame parser: io::ddp::parse_server_frame, which gets every websocket text
// frame the server sends, plus parse_chat_message and parse_iso8601_ms on the same bytes.
// Invariants (io/ddp_frames.hpp): parsing never throws; an error has a reason; the JSON texts a frame carries
// (result, fields, args) are valid JSON again; every text is valid UTF-8 (bad bytes and lone surrogate escapes are
// read as U+FFFD); REST and realtime read a message the same way; an id the server sent comes back unchanged
// through the client-side builders (ping → pong_frame → pong); a builder's frame parses as what it is; a parsed
// ISO-8601 time survives format_iso8601_ms → parse_iso8601_ms.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <variant>

#include <simdjson.h>

#include "io/ddp_frames.hpp"
#include "fuzz/support/check.hpp"

namespace {

using ::dutydesk::fuzz::fail;

using namespace dutydesk::io;

// A second parser, separate from the one parse_server_frame keeps, so checking never disturbs the code under test.
simdjson::dom::parser& checker() {
  static simdjson::dom::parser p;
  return p;
}

void check_json(std::string_view text, const char* what) {
  simdjson::dom::element e;
  if (checker().parse(text.data(), text.size(), true).get(e) != simdjson::SUCCESS)
    fail(what, text);
}

// The number of elements of the JSON array `text`; -1 when it is not one.
long array_size(std::string_view text) {
  simdjson::dom::array a;
  if (checker().parse(text.data(), text.size(), true).get(a) != simdjson::SUCCESS)
    return -1;
  return static_cast<long>(a.size());
}

const ddp::server_frame& parse_ok(const std::string& text, const char* what) {
  static thread_local std::optional<dutydesk::domain::parsed<ddp::server_frame>> keep;
  keep.emplace(ddp::parse_server_frame(text));
  if (!keep->ok())
    fail(what, text);
  return keep->value();
}

void check_id_round_trip(const std::optional<std::string>& id) {
  // pong_frame echoes the id; ping_frame sends one. Either way the parser must read back the same id.
  {
    auto frame = ddp::pong_frame(id);
    const auto& back = parse_ok(frame, "pong_frame does not parse");
    const auto* p = std::get_if<ddp::pong>(&back);
    CHECK(p != nullptr, frame);
    CHECK(p->id == id, frame);
  }
  if (id) {
    auto frame = ddp::ping_frame(*id);
    const auto& back = parse_ok(frame, "ping_frame does not parse");
    const auto* p = std::get_if<ddp::ping>(&back);
    CHECK(p != nullptr, frame);
    CHECK(p->id == id, frame);
  }
}

bool same_message(const chat_message& a, const chat_message& b) {
  return a.id == b.id && a.rid == b.rid && a.msg == b.msg && a.ts_ms == b.ts_ms && a.updated_at_ms == b.updated_at_ms &&
         a.u.id == b.u.id && a.u.username == b.u.username && a.u.name == b.u.name && a.t == b.t && a.tmid == b.tmid &&
         a.tshow == b.tshow && a.edited_at_ms == b.edited_at_ms && a.reactions == b.reactions && a.tcount == b.tcount &&
         a.has_attachments == b.has_attachments;
}

// parse_chat_message (REST answers) and a stream-room-messages frame (realtime) read a message the same way: the
// input wrapped as the frame's first argument gives the same message, or fails the same way.
void check_message_paths(std::string_view text) {
  auto direct = parse_chat_message(text);
  // Whether `text` is one whole JSON value by itself; otherwise wrapping it could complete it into another document.
  simdjson::dom::element e;
  auto plain = checker().parse(text.data(), text.size(), true).get(e);
  if (!direct.ok() && plain != simdjson::SUCCESS)
    return;
  // Parsed (plainly, or with U+FFFD for invalid UTF-8): one whole value either way.
  std::string wrapped = R"({"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"r",)"
                        R"("args":[)";
  wrapped.append(text);
  wrapped += "]}}";
  auto framed = ddp::parse_server_frame(wrapped);
  if (!framed.ok() && framed.error().find("too deep") != std::string::npos)
    return; // three more levels of nesting than the input had
  CHECK(direct.ok() == framed.ok(), text);
  if (!direct.ok())
    return;
  const auto* c = std::get_if<ddp::changed>(&framed.value());
  CHECK(c != nullptr && c->message, text);
  CHECK(same_message(direct.value(), *c->message), text);
}

bool valid_utf8(const std::string& s) { return simdjson::validate_utf8(s.data(), s.size()); }

// Every text the parser hands out is valid UTF-8 (invalid sequences and lone surrogates arrive as U+FFFD).
void check_text(const chat_message& m) {
  for (const auto* s : {&m.id, &m.rid, &m.msg, &m.u.id, &m.u.username, &m.u.name, &m.t, &m.tmid})
    CHECK(valid_utf8(*s), *s);
  for (const auto& [emoji, users] : m.reactions) {
    CHECK(valid_utf8(emoji), emoji);
    for (const auto& u : users)
      CHECK(valid_utf8(u), u);
  }
}

void check_frame(const ddp::server_frame& f) {
  if (const auto* p = std::get_if<ddp::ping>(&f)) {
    check_id_round_trip(p->id);
  } else if (const auto* p = std::get_if<ddp::pong>(&f)) {
    check_id_round_trip(p->id);
  } else if (const auto* r = std::get_if<ddp::result>(&f)) {
    if (!r->result_json.empty())
      check_json(r->result_json, "result_json is not JSON");
    check_id_round_trip(r->id);
  } else if (const auto* n = std::get_if<ddp::nosub>(&f)) {
    check_id_round_trip(n->id);
  } else if (const auto* a = std::get_if<ddp::added>(&f)) {
    CHECK(!a->fields_json.empty());
    check_json(a->fields_json, "fields_json is not JSON");
  } else if (const auto* c = std::get_if<ddp::changed>(&f)) {
    if (!c->args_json.empty()) {
      auto n = array_size(c->args_json);
      CHECK(n >= 0, c->args_json);
      // A sub frame built from these args carries the same array (sub_frame re-parses params_json with nlohmann).
      auto frame = ddp::sub_frame("1", c->event_name, c->args_json);
      const auto& back = parse_ok(frame, "sub_frame does not parse");
      const auto* o = std::get_if<ddp::other>(&back);
      CHECK(o != nullptr && o->msg == "sub", frame);
      simdjson::dom::element doc;
      CHECK(checker().parse(frame.data(), frame.size(), true).get(doc) == simdjson::SUCCESS, frame);
      simdjson::dom::array params;
      CHECK(doc["params"].get(params) == simdjson::SUCCESS, frame);
      CHECK(static_cast<long>(params.size()) == n, frame);
    }
    CHECK(!c->message || c->collection == "stream-room-messages");
    CHECK(!c->hint || c->message);
    CHECK(valid_utf8(c->collection) && valid_utf8(c->id) && valid_utf8(c->event_name));
    if (c->message)
      check_text(*c->message);
    if (c->hint)
      CHECK(valid_utf8(c->hint->room_type) && valid_utf8(c->hint->room_name));
  } else if (const auto* o = std::get_if<ddp::other>(&f)) {
    // Frames the parser does not model keep their msg; the modeled kinds never end up here.
    for (const char* known : {"server_id", "connected", "failed", "ping", "pong", "result", "updated", "ready", "nosub",
                              "added", "changed"})
      CHECK(o->msg != known, o->msg);
  }
}

void check_iso(std::string_view text) {
  auto ms = parse_iso8601_ms(text);
  if (!ms)
    return;
  // Years 0000..9999 are what the formatter writes with four digits; an offset can move a time just outside.
  constexpr std::int64_t min_ms = -62167219200000;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t max_ms = 253402300799999;  // 9999-12-31T23:59:59.999Z
  if (*ms < min_ms || *ms > max_ms)
    return;
  auto formatted = format_iso8601_ms(*ms);
  auto back = parse_iso8601_ms(formatted);
  CHECK(back && *back == *ms, formatted);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto frame = ddp::parse_server_frame(text);
    if (frame.ok()) {
      check_frame(frame.value());
    } else {
      CHECK(!frame.error().empty(), text);
    }
    auto message = parse_chat_message(text);
    CHECK(message.ok() || !message.error().empty(), text);
    if (message.ok())
      check_text(message.value());
    check_message_paths(text);
    if (size <= 64)
      check_iso(text);
  } catch (const std::exception& e) {
    fail("exception escaped", e.what());
  } catch (...) {
    fail("non-standard exception escaped");
  }
  return 0;
}
