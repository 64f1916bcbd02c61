#include "io/ddp_frames.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "domain/date.hpp"
#include "io/detail/json_util.hpp"

namespace dutydesk::io {

namespace detail {

std::optional<element> field(element obj, std::string_view key) {
  if (!obj.is_object())
    return std::nullopt;
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS || v.is_null())
    return std::nullopt;
  return v;
}

std::optional<std::string> opt_string(element obj, std::string_view key, field_error& err) {
  auto v = field(obj, key);
  if (!v)
    return std::nullopt;
  std::string_view s;
  if (v->get(s) != simdjson::SUCCESS) {
    err.reason = "field " + std::string(key) + " is not a string";
    return std::nullopt;
  }
  return std::string(s);
}

std::string req_string(element obj, std::string_view key, field_error& err) {
  auto v = field(obj, key);
  if (!v) {
    if (!err)
      err.reason = "missing field " + std::string(key);
    return {};
  }
  std::string_view s;
  if (v->get(s) != simdjson::SUCCESS) {
    if (!err)
      err.reason = "field " + std::string(key) + " is not a string";
    return {};
  }
  return std::string(s);
}

namespace {

std::optional<std::int64_t> as_int(element v) {
  std::int64_t i = 0;
  if (v.get(i) == simdjson::SUCCESS)
    return i;
  std::uint64_t u = 0;
  if (v.get(u) == simdjson::SUCCESS && u <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(u);
  double d = 0;
  if (v.get(d) == simdjson::SUCCESS && d > -9.2e18 && d < 9.2e18)
    return static_cast<std::int64_t>(d);
  return std::nullopt;
}

} // namespace

std::optional<std::int64_t> opt_int(element obj, std::string_view key, field_error& err) {
  auto v = field(obj, key);
  if (!v)
    return std::nullopt;
  auto i = as_int(*v);
  if (!i && !err)
    err.reason = "field " + std::string(key) + " is not a number";
  return i;
}

std::optional<bool> opt_bool(element obj, std::string_view key, field_error& err) {
  auto v = field(obj, key);
  if (!v)
    return std::nullopt;
  bool b = false;
  if (v->get(b) != simdjson::SUCCESS) {
    if (!err)
      err.reason = "field " + std::string(key) + " is not a boolean";
    return std::nullopt;
  }
  return b;
}

std::optional<std::int64_t> opt_date(element obj, std::string_view key, field_error& err) {
  auto v = field(obj, key);
  if (!v)
    return std::nullopt;
  if (v->is_object()) {
    auto d = field(*v, "$date");
    if (!d) // {"$date":null}
      return std::nullopt;
    if (auto i = as_int(*d))
      return i;
  } else if (v->is_string()) {
    std::string_view s;
    if (v->get(s) == simdjson::SUCCESS)
      if (auto ms = parse_iso8601_ms(s))
        return ms;
  } else if (auto i = as_int(*v)) {
    return i;
  }
  if (!err)
    err.reason = "field " + std::string(key) + " is not a date";
  return std::nullopt;
}

std::vector<std::string> string_array(element obj, std::string_view key, field_error& err) {
  std::vector<std::string> xs;
  auto v = field(obj, key);
  if (!v)
    return xs;
  simdjson::dom::array arr;
  if (v->get(arr) != simdjson::SUCCESS) {
    if (!err)
      err.reason = "field " + std::string(key) + " is not an array";
    return xs;
  }
  for (auto x : arr) {
    std::string_view s;
    if (x.get(s) != simdjson::SUCCESS) {
      if (!err)
        err.reason = "field " + std::string(key) + " holds a non-string";
      return {};
    }
    xs.emplace_back(s);
  }
  return xs;
}

bool read_chat_message(element e, chat_message& out, field_error& err) {
  if (!e.is_object()) {
    err.reason = "message is not an object";
    return false;
  }
  out.id = req_string(e, "_id", err);
  out.rid = req_string(e, "rid", err);
  out.msg = opt_string(e, "msg", err).value_or("");
  out.ts_ms = opt_date(e, "ts", err).value_or(0);
  out.updated_at_ms = opt_date(e, "_updatedAt", err).value_or(0);
  if (auto u = field(e, "u")) {
    if (!u->is_object()) {
      if (!err)
        err.reason = "field u is not an object";
    } else {
      out.u.id = opt_string(*u, "_id", err).value_or("");
      out.u.username = opt_string(*u, "username", err).value_or("");
      out.u.name = opt_string(*u, "name", err).value_or("");
    }
  }
  out.t = opt_string(e, "t", err).value_or("");
  out.tmid = opt_string(e, "tmid", err).value_or("");
  out.tshow = opt_bool(e, "tshow", err).value_or(false);
  out.edited_at_ms = opt_date(e, "editedAt", err);
  out.tcount = opt_int(e, "tcount", err).value_or(0);
  if (auto r = field(e, "reactions")) {
    simdjson::dom::object obj;
    if (r->get(obj) != simdjson::SUCCESS) {
      if (!err)
        err.reason = "field reactions is not an object";
    } else {
      for (auto kv : obj)
        out.reactions[std::string(kv.key)] = string_array(kv.value, "usernames", err);
    }
  }
  if (auto a = field(e, "attachments")) {
    simdjson::dom::array arr;
    if (a->get(arr) != simdjson::SUCCESS) {
      if (!err)
        err.reason = "field attachments is not an array";
    } else {
      out.has_attachments = arr.size() > 0;
    }
  }
  return !err;
}

meteor_error read_meteor_error(element e) {
  meteor_error m;
  if (!e.is_object()) {
    if (e.is_string()) {
      std::string_view s;
      if (e.get(s) == simdjson::SUCCESS)
        m.error = std::string(s);
    }
    return m;
  }
  if (auto v = field(e, "error")) {
    std::string_view s;
    if (v->get(s) == simdjson::SUCCESS)
      m.error = std::string(s);
    else
      m.error = simdjson::minify(*v);
  }
  field_error ignored;
  m.reason = opt_string(e, "reason", ignored).value_or("");
  field_error ignored2;
  m.message = opt_string(e, "message", ignored2).value_or("");
  field_error ignored3;
  m.error_type = opt_string(e, "errorType", ignored3).value_or("");
  return m;
}

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// The code unit of the `\uXXXX` escape at `i`, or -1 when there is none.
int escape_at(std::string_view s, std::size_t i) {
  if (i + 6 > s.size() || s[i] != '\\' || s[i + 1] != 'u')
    return -1;
  int v = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    int h = hex_value(s[k]);
    if (h < 0)
      return -1;
    v = v * 16 + h;
  }
  return v;
}

/// The length of the well-formed UTF-8 sequence at `i`, or 0 with `bad` set to the length of its maximal ill-formed
/// prefix (always at least 1), which becomes one U+FFFD (Unicode §3.9, as browsers decode).
std::size_t utf8_at(std::string_view s, std::size_t i, std::size_t& bad) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF; // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    bad = 1;
    return 0;
  }
  std::size_t k = 1;
  for (; k <= need; ++k) {
    if (i + k >= s.size())
      break;
    auto x = b(i + k);
    if (k == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF))
      break;
  }
  if (k > need)
    return need + 1;
  bad = k;
  return 0;
}

/// `text` with every ill-formed UTF-8 sequence and every unpaired surrogate escape (`\ud800` alone, as JavaScript's
/// JSON.stringify writes a lone surrogate) replaced by U+FFFD, so that one odd character does not make a whole
/// message (or a whole sync of messages) unreadable. Syntax errors stay errors.
std::string replace_invalid_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\' && i + 1 < text.size()) {
      int cu = escape_at(text, i);
      if (cu >= 0xD800 && cu <= 0xDBFF) {
        int next = escape_at(text, i + 6);
        if (next >= 0xDC00 && next <= 0xDFFF) {
          out.append(text.substr(i, 12));
          i += 12;
        } else {
          out += "\\ufffd";
          i += 6;
        }
      } else if (cu >= 0xDC00 && cu <= 0xDFFF) {
        out += "\\ufffd";
        i += 6;
      } else {
        out.append(text.substr(i, 2)); // any other escape, "\\" included: its second character is never special
        i += 2;
      }
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      std::size_t bad = 0;
      if (auto n = utf8_at(text, i, bad)) {
        out.append(text.substr(i, n));
        i += n;
      } else {
        out += replacement;
        i += bad;
      }
    }
  }
  return out;
}

} // namespace

bool parse_document(std::string_view text, element& out, std::string& why) {
  thread_local simdjson::dom::parser parser;
  auto err = parser.parse(text.data(), text.size(), true).get(out);
  if (err == simdjson::UTF8_ERROR || err == simdjson::STRING_ERROR) {
    // Invalid UTF-8 or a lone surrogate escape: read it with U+FFFD in their place (the parser copies its input, so
    // the elements do not refer to `fixed`).
    auto fixed = replace_invalid_text(text);
    if (parser.parse(fixed.data(), fixed.size(), true).get(out) == simdjson::SUCCESS)
      return true;
  }
  if (err != simdjson::SUCCESS) {
    why = std::string("invalid JSON: ") + simdjson::error_message(err);
    return false;
  }
  return true;
}

} // namespace detail

namespace ddp {

namespace {

using detail::element;
using detail::field;
using detail::field_error;

std::optional<std::string> id_of(element obj, field_error& err) {
  auto v = field(obj, "id");
  if (!v)
    return std::nullopt;
  std::string_view s;
  if (v->get(s) == simdjson::SUCCESS)
    return std::string(s);
  if (v->is_number())
    return simdjson::minify(*v);
  err.reason = "field id is not a string";
  return std::nullopt;
}

domain::parsed<server_frame> fail(std::string reason) { return domain::parse_error{std::move(reason)}; }

domain::parsed<server_frame> parse_changed(element doc) {
  field_error err;
  changed c;
  c.collection = detail::req_string(doc, "collection", err);
  c.id = detail::opt_string(doc, "id", err).value_or("");
  auto fields = field(doc, "fields");
  if (fields) {
    if (!fields->is_object())
      return fail("field fields is not an object");
    c.event_name = detail::opt_string(*fields, "eventName", err).value_or("");
    if (auto args = field(*fields, "args")) {
      simdjson::dom::array arr;
      if (args->get(arr) != simdjson::SUCCESS)
        return fail("field args is not an array");
      c.args_json = simdjson::minify(*args);
      if (c.collection == "stream-room-messages" && arr.size() > 0) {
        chat_message m;
        field_error merr;
        if (!detail::read_chat_message(arr.at(0).value_unsafe(), m, merr))
          return fail("stream-room-messages message: " + merr.reason);
        c.message = std::move(m);
        if (arr.size() > 1) {
          element h = arr.at(1).value_unsafe();
          if (!h.is_object())
            return fail("stream-room-messages second argument is not an object");
          room_hint hint;
          hint.room_participant = detail::opt_bool(h, "roomParticipant", err).value_or(false);
          hint.room_type = detail::opt_string(h, "roomType", err).value_or("");
          hint.room_name = detail::opt_string(h, "roomName", err).value_or("");
          c.hint = std::move(hint);
        }
      }
    }
  }
  if (err)
    return fail(err.reason);
  return server_frame{std::move(c)};
}

} // namespace

domain::parsed<server_frame> parse_server_frame(std::string_view text) {
  element doc;
  std::string why;
  if (!detail::parse_document(text, doc, why))
    return fail(why);
  if (!doc.is_object())
    return fail("frame is not a JSON object");
  field_error err;
  auto msg = detail::opt_string(doc, "msg", err);
  if (err)
    return fail(err.reason);
  if (!msg) {
    if (field(doc, "server_id"))
      return server_frame{greeting{}};
    return fail("frame has no msg");
  }
  const std::string& m = *msg;
  if (m == "server_id")
    return server_frame{greeting{}};
  if (m == "connected") {
    connected c;
    c.session = detail::opt_string(doc, "session", err).value_or("");
    if (err)
      return fail(err.reason);
    return server_frame{std::move(c)};
  }
  if (m == "failed") {
    failed f;
    f.version = detail::opt_string(doc, "version", err).value_or("");
    if (err)
      return fail(err.reason);
    return server_frame{std::move(f)};
  }
  if (m == "ping" || m == "pong") {
    auto id = id_of(doc, err);
    if (err)
      return fail(err.reason);
    if (m == "ping")
      return server_frame{ping{std::move(id)}};
    return server_frame{pong{std::move(id)}};
  }
  if (m == "result") {
    result r;
    auto id = id_of(doc, err);
    if (err || !id)
      return fail(err ? err.reason : "result has no id");
    r.id = std::move(*id);
    if (auto res = field(doc, "result"))
      r.result_json = simdjson::minify(*res);
    if (auto e = field(doc, "error"))
      r.error = detail::read_meteor_error(*e);
    return server_frame{std::move(r)};
  }
  if (m == "updated") {
    updated u;
    u.methods = detail::string_array(doc, "methods", err);
    if (err)
      return fail(err.reason);
    return server_frame{std::move(u)};
  }
  if (m == "ready") {
    ready r;
    r.subs = detail::string_array(doc, "subs", err);
    if (err)
      return fail(err.reason);
    return server_frame{std::move(r)};
  }
  if (m == "nosub") {
    nosub n;
    auto id = id_of(doc, err);
    if (err || !id)
      return fail(err ? err.reason : "nosub has no id");
    n.id = std::move(*id);
    if (auto e = field(doc, "error"))
      n.error = detail::read_meteor_error(*e);
    return server_frame{std::move(n)};
  }
  if (m == "added") {
    added a;
    a.collection = detail::req_string(doc, "collection", err);
    a.id = detail::opt_string(doc, "id", err).value_or("");
    if (err)
      return fail(err.reason);
    auto f = field(doc, "fields");
    a.fields_json = f ? simdjson::minify(*f) : std::string("{}");
    return server_frame{std::move(a)};
  }
  if (m == "changed")
    return parse_changed(doc);
  return server_frame{other{m}};
}

namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json params_or_empty(std::string_view params_json) {
  auto j = json::parse(params_json.begin(), params_json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return json::array();
  return j;
}

} // namespace

std::string connect_frame() {
  return dump(json{{"msg", "connect"}, {"version", "1"}, {"support", json::array({"1", "pre2", "pre1"})}});
}

std::string pong_frame(const std::optional<std::string>& id) {
  json j{{"msg", "pong"}};
  if (id)
    j["id"] = *id;
  return dump(j);
}

std::string ping_frame(std::string_view id) { return dump(json{{"msg", "ping"}, {"id", id}}); }

std::string login_resume_frame(std::string_view id, std::string_view token) {
  return dump(json{{"msg", "method"}, {"id", id}, {"method", "login"},
                   {"params", json::array({json{{"resume", token}}})}});
}

std::string sub_room_messages_frame(std::string_view id, std::string_view event_name) {
  return dump(json{{"msg", "sub"}, {"id", id}, {"name", "stream-room-messages"},
                   {"params", json::array({event_name, false})}});
}

std::string sub_frame(std::string_view id, std::string_view name, std::string_view params_json) {
  return dump(json{{"msg", "sub"}, {"id", id}, {"name", name}, {"params", params_or_empty(params_json)}});
}

std::string unsub_frame(std::string_view id) { return dump(json{{"msg", "unsub"}, {"id", id}}); }

std::string method_frame(std::string_view id, std::string_view method, std::string_view params_json) {
  return dump(json{{"msg", "method"}, {"id", id}, {"method", method}, {"params", params_or_empty(params_json)}});
}

} // namespace ddp

domain::parsed<chat_message> parse_chat_message(std::string_view json_text) {
  detail::element doc;
  std::string why;
  if (!detail::parse_document(json_text, doc, why))
    return domain::parse_error{why};
  chat_message m;
  detail::field_error err;
  if (!detail::read_chat_message(doc, m, err))
    return domain::parse_error{err.reason};
  return m;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

} // namespace

std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start)
      return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om))
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  auto days = sys_days{ymd}.time_since_epoch().count();
  std::int64_t secs = static_cast<std::int64_t>(days) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + ms;
}

std::string format_iso8601_ms(std::int64_t ms) {
  return domain::format_rfc3339_ms(ms);
}

} // namespace dutydesk::io
