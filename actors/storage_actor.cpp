#include "actors/storage_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/result.hpp>
#include <caf/spawn_options.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "actors/error.hpp"

namespace dutydesk::actors {

namespace {

using json = nlohmann::json;

// Bumped when the lifecycle JSON changes incompatibly; from_row refuses other versions.
constexpr int lifecycle_format = 1;

constexpr const char* reminder_timer = "reminder";

std::int64_t to_ms(domain::timestamp t) {
  return t.time_since_epoch().count();
}

domain::timestamp from_ms(std::int64_t ms) {
  return domain::timestamp{std::chrono::milliseconds{ms}};
}

caf::error failed(const storage::error& err) {
  return make_error(err.code == storage::errc::unavailable ? ec::storage_unavailable : ec::storage_failed,
                    err.message);
}

bool unavailable(const caf::error& err) {
  return err.category() == caf::atom("dutydesk") && err.code() == static_cast<std::uint8_t>(ec::storage_unavailable);
}

void set_health(storage_state& st, bool up, const caf::error& why) {
  if (st.retry.health->up.exchange(up) == up)
    return;
  if (up)
    spdlog::info("storage: the database answers again");
  else
    spdlog::warn("storage: the database cannot be reached; waiting and retrying ({})", describe(why));
  if (st.retry.on_health)
    st.retry.on_health(up);
}

/// Runs a handler, and runs it again while the database cannot be reached: every handler is one unit of work (a
/// read, or begin ... commit) that the store rolled back when the connection went, so running it again is safe.
template <class F>
auto retrying(storage_state& st, F f) -> decltype(f()) {
  auto pause = st.retry.backoff;
  for (;;) {
    auto r = f();
    if (r.flag != caf::rt_error || !unavailable(r.err)) {
      set_health(st, true, {});
      return r;
    }
    set_health(st, false, r.err);
    if (st.retry.health->stopping.load())
      return r;
    st.retry.health->retries.fetch_add(1);
    st.retry.sleep(pause);
    pause = std::min(pause * 2, st.retry.max_backoff);
  }
}

// -- lifecycle JSON -----------------------------------------------------------------------------------------------

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): exactly what JSON text may hold.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (n >= s.size() - i)
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (b & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

// Chat text may be any bytes but JSON strings must be UTF-8, so other bytes are kept as {"hex": "..."}.
json put_text(const std::string& s) {
  if (valid_utf8(s))
    return s;
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(s.size() * 2);
  for (char ch : s) {
    auto b = static_cast<unsigned char>(ch);
    hex += digits[b >> 4];
    hex += digits[b & 0x0f];
  }
  return json{{"hex", std::move(hex)}};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

bool get_text(const json& j, std::string& out) {
  if (j.is_string()) {
    out = j.get<std::string>();
    return true;
  }
  if (!j.is_object() || j.size() != 1 || !j.contains("hex") || !j["hex"].is_string())
    return false;
  const auto& hex = j["hex"].get_ref<const std::string&>();
  if (hex.size() % 2 != 0)
    return false;
  out.clear();
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]);
    int lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out += static_cast<char>((hi << 4) | lo);
  }
  return true;
}

json put_texts(const std::vector<std::string>& xs) {
  json out = json::array();
  for (const auto& x : xs)
    out.push_back(put_text(x));
  return out;
}

json to_json(const domain::duty_resolution& d) {
  json users = json::array();
  for (const auto& u : d.users)
    users.push_back(put_text(u));
  return json{{"users", std::move(users)},
              {"source", std::string{domain::to_string(d.source)}},
              {"reason", put_text(d.reason)},
              {"fallback_used", d.fallback_used}};
}

json to_json(const domain::survey_state& s) {
  return json{
    {"round", s.round},
    {"phase", std::string{domain::to_string(s.phase)}},
    {"sent_at", to_ms(s.sent_at)},
    {"expires_at", to_ms(s.expires_at)},
    {"resolved_at", to_ms(s.resolved_at)},
    {"on_duty", put_text(s.on_duty)},
    {"requester", put_text(s.requester)},
    {"rating", s.rating},
    {"rated_at", s.rated_at ? json(to_ms(*s.rated_at)) : json(nullptr)},
    {"comment", put_text(s.comment)},
  };
}

json to_json(const domain::request_record& r) {
  return json{
    {"v", lifecycle_format},
    {"request_id", put_text(r.request_id)},
    {"room", put_text(r.room)},
    {"root_message_id", put_text(r.root_message_id)},
    {"requester", put_text(r.requester)},
    {"text", put_text(r.text)},
    {"permalink", put_text(r.permalink)},
    {"phase", std::string{domain::to_string(r.phase)}},
    {"status", put_text(r.status)},
    {"assignee", put_text(r.assignee)},
    {"on_duty", to_json(r.on_duty)},
    {"status_seq", r.status_seq},
    {"reminder_epoch", r.reminder_epoch},
    {"reminder_deadline", r.reminder_deadline ? json(to_ms(*r.reminder_deadline)) : json(nullptr)},
    {"unanswered_reminders", r.unanswered_reminders},
    {"reminders_sent", r.reminders_sent},
    {"move_target_room", put_text(r.move_target_room)},
    {"moved_by", put_text(r.moved_by)},
    {"moved_permalink", put_text(r.moved_permalink)},
    {"jira_key", put_text(r.jira_key)},
    {"jira_url", put_text(r.jira_url)},
    {"jira_status", put_text(r.jira_status)},
    {"team", put_text(r.team)},
    {"created_at", to_ms(r.created_at)},
    {"first_response_at", r.first_response_at ? json(to_ms(*r.first_response_at)) : json(nullptr)},
    {"resolved_at", r.resolved_at ? json(to_ms(*r.resolved_at)) : json(nullptr)},
    {"reopens", r.reopens},
    {"survey", to_json(r.survey)},
    {"handled_replies", put_texts(r.handled_replies)},
  };
}

// Reads the fields of one JSON object; the first field that is missing or of the wrong type is remembered and
// every later read fails, so a parse is a chain of reads and one check at the end.
class field_reader {
public:
  explicit field_reader(const json& j) : j_(j) {
    if (!j_.is_object())
      bad_ = "(not an object)";
  }

  bool ok() const { return bad_.empty(); }
  const std::string& bad_field() const { return bad_; }

  void text(const char* key, std::string& out) {
    if (const auto* x = find(key); x && !get_text(*x, out))
      fail(key);
  }

  void texts(const char* key, std::vector<std::string>& out) {
    const auto* x = find(key);
    if (!x)
      return;
    if (!x->is_array())
      return fail(key);
    out.clear();
    for (const auto& item : *x) {
      std::string s;
      if (!get_text(item, s))
        return fail(key);
      out.push_back(std::move(s));
    }
  }

  void u64(const char* key, std::uint64_t& out) {
    if (const auto* x = find(key)) {
      if (!x->is_number_unsigned())
        return fail(key);
      out = x->get<std::uint64_t>();
    }
  }

  void i32(const char* key, int& out) {
    if (const auto* x = find(key)) {
      std::int64_t v = 0;
      if (!as_i64(*x, v) || v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        return fail(key);
      out = static_cast<int>(v);
    }
  }

  void boolean(const char* key, bool& out) {
    if (const auto* x = find(key)) {
      if (!x->is_boolean())
        return fail(key);
      out = x->get<bool>();
    }
  }

  void time(const char* key, domain::timestamp& out) {
    if (const auto* x = find(key)) {
      std::int64_t v = 0;
      if (!as_i64(*x, v))
        return fail(key);
      out = from_ms(v);
    }
  }

  /// Whether the object has `key` (fields added by later versions are read only when present).
  bool has(const char* key) const { return bad_.empty() && j_.contains(key); }

  void optional_time(const char* key, std::optional<domain::timestamp>& out) {
    if (const auto* x = find(key)) {
      std::int64_t v = 0;
      if (x->is_null())
        out.reset();
      else if (as_i64(*x, v))
        out = from_ms(v);
      else
        fail(key);
    }
  }

  /// The object under `key`, or nullptr (and the reader failed) when it is not one.
  const json* object(const char* key) {
    const auto* x = find(key);
    if (x && !x->is_object()) {
      fail(key);
      return nullptr;
    }
    return x;
  }

  /// Marks `key` as malformed.
  void fail(const char* key) {
    if (bad_.empty())
      bad_ = key;
  }

private:
  // A JSON integer that fits int64 (nlohmann keeps non-negative numbers as unsigned).
  static bool as_i64(const json& x, std::int64_t& out) {
    if (x.is_number_unsigned()) {
      auto u = x.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return false;
      out = static_cast<std::int64_t>(u);
      return true;
    }
    if (!x.is_number_integer())
      return false;
    out = x.get<std::int64_t>();
    return true;
  }

  const json* find(const char* key) {
    if (!bad_.empty())
      return nullptr;
    auto i = j_.find(key);
    if (i == j_.end()) {
      fail(key);
      return nullptr;
    }
    return &*i;
  }

  const json& j_;
  std::string bad_;
};

template <class Enum, std::size_t N>
bool parse_enum(const std::string& name, const Enum (&xs)[N], Enum& out) {
  for (auto x : xs)
    if (domain::to_string(x) == name) {
      out = x;
      return true;
    }
  return false;
}

constexpr domain::request_phase all_phases[] = {domain::request_phase::fresh, domain::request_phase::active,
                                                domain::request_phase::moving, domain::request_phase::moved};
constexpr domain::survey_phase all_survey_phases[] = {domain::survey_phase::none, domain::survey_phase::open,
                                                      domain::survey_phase::rated, domain::survey_phase::withdrawn,
                                                      domain::survey_phase::expired};
constexpr domain::duty_source all_sources[] = {domain::duty_source::ok, domain::duty_source::empty,
                                               domain::duty_source::unmapped, domain::duty_source::error};

// The record in `j`, or the name of the first malformed field.
std::variant<domain::request_record, std::string> parse_record(const json& j) {
  field_reader in{j};
  std::uint64_t version = 0;
  in.u64("v", version);
  if (in.ok() && version != lifecycle_format)
    return "v (format " + std::to_string(version) + " is not " + std::to_string(lifecycle_format) + ")";
  domain::request_record r;
  std::string phase;
  in.text("request_id", r.request_id);
  in.text("room", r.room);
  in.text("root_message_id", r.root_message_id);
  in.text("requester", r.requester);
  in.text("text", r.text);
  in.text("permalink", r.permalink);
  in.text("phase", phase);
  if (in.ok() && !parse_enum(phase, all_phases, r.phase))
    in.fail("phase");
  in.text("status", r.status);
  in.text("assignee", r.assignee);
  if (const auto* duty = in.object("on_duty")) {
    field_reader d{*duty};
    std::string source;
    d.texts("users", r.on_duty.users);
    d.text("source", source);
    if (d.ok() && !parse_enum(source, all_sources, r.on_duty.source))
      d.fail("source");
    d.text("reason", r.on_duty.reason);
    d.boolean("fallback_used", r.on_duty.fallback_used);
    if (!d.ok())
      return "on_duty." + d.bad_field();
  }
  in.u64("status_seq", r.status_seq);
  in.u64("reminder_epoch", r.reminder_epoch);
  in.optional_time("reminder_deadline", r.reminder_deadline);
  in.i32("unanswered_reminders", r.unanswered_reminders);
  in.u64("reminders_sent", r.reminders_sent);
  in.text("move_target_room", r.move_target_room);
  in.text("moved_by", r.moved_by);
  in.text("moved_permalink", r.moved_permalink);
  in.text("jira_key", r.jira_key);
  in.text("jira_url", r.jira_url);
  in.text("jira_status", r.jira_status);
  // Added with schema v4 (reports, feedback): records saved before lack them and keep the defaults.
  if (in.has("team")) {
    in.text("team", r.team);
    in.time("created_at", r.created_at);
    in.optional_time("first_response_at", r.first_response_at);
    in.optional_time("resolved_at", r.resolved_at);
    std::uint64_t reopens = 0;
    in.u64("reopens", reopens);
    if (in.has("handled_replies"))
      in.texts("handled_replies", r.handled_replies);
    r.reopens = static_cast<std::uint32_t>(std::min<std::uint64_t>(reopens, UINT32_MAX));
    if (const auto* sv = in.object("survey")) {
      field_reader s{*sv};
      std::string phase;
      s.u64("round", r.survey.round);
      s.text("phase", phase);
      if (s.ok() && !parse_enum(phase, all_survey_phases, r.survey.phase))
        s.fail("phase");
      s.time("sent_at", r.survey.sent_at);
      s.time("expires_at", r.survey.expires_at);
      s.time("resolved_at", r.survey.resolved_at);
      s.text("on_duty", r.survey.on_duty);
      s.text("requester", r.survey.requester);
      s.i32("rating", r.survey.rating);
      s.optional_time("rated_at", r.survey.rated_at);
      s.text("comment", r.survey.comment);
      if (!s.ok())
        return "survey." + s.bad_field();
    }
  }
  if (!in.ok())
    return in.bad_field();
  return r;
}

// -- handlers -----------------------------------------------------------------------------------------------------

std::int64_t now_ms(const storage_state& st) {
  return to_ms(st.now());
}

// One transaction: the row, the status change, the reminder timer and the thread link, all or nothing.
caf::result<bool> on_save(storage_state& st, const persist_request& req) {
  const auto& rec = req.record;
  auto& db = *st.store;
  auto txn = db.begin();
  if (!txn)
    return failed(txn.err());
  auto& t = **txn;
  auto stored = db.request(rec.request_id);
  if (!stored)
    return failed(stored.err());
  auto row = to_row(rec, now_ms(st));
  if (*stored)
    row.created_at = (*stored)->created_at;
  if (auto ok = t.upsert_request(row); !ok)
    return failed(ok.err());
  if (req.change) {
    const auto& c = *req.change;
    storage::status_change change;
    change.request_id = rec.request_id;
    if (!c.from.empty())
      change.from = c.from;
    change.to = c.to;
    change.actor = c.by.empty() ? "dutydesk" : c.by;
    change.at = to_ms(c.at);
    if (auto seq = t.append_status_change(change); !seq)
      return failed(seq.err());
  }
  if (rec.reminder_deadline) {
    storage::timer_record timer{rec.request_id, reminder_timer, *row.next_reminder_at, row.reminder_epoch};
    if (auto ok = t.set_timer(timer); !ok)
      return failed(ok.err());
  } else if (auto ok = t.remove_timer(rec.request_id, reminder_timer); !ok) {
    return failed(ok.err());
  }
  if (!rec.root_message_id.empty()) {
    // Every save after the first finds the link; a root linked to ANOTHER request fails the link (constraint).
    auto linked = db.request_by_thread(rec.root_message_id);
    if (!linked)
      return failed(linked.err());
    if (!*linked || (*linked)->id != rec.request_id) {
      if (auto ok = t.link_thread({rec.root_message_id, rec.request_id, rec.room}); !ok)
        return failed(ok.err());
    }
  }
  for (const auto& a : req.jira)
    if (auto ok = t.enqueue_jira_op(to_op(rec.request_id, a, now_ms(st))); !ok)
      return failed(ok.err()); // a key queued before (a replayed step) is no error: enqueue says false
  for (const auto& e : req.events)
    if (auto ok = t.enqueue_event(e); !ok)
      return failed(ok.err()); // an id queued before (a replayed step) keeps its row
  if (rec.survey.round > 0)
    if (auto ok = t.upsert_feedback(to_feedback(rec)); !ok)
      return failed(ok.err());
  // The requester's latest survey: where a comment typed in the DM without a request id goes.
  if (rec.survey.phase == domain::survey_phase::open && !rec.requester.empty())
    if (auto ok = t.set_state(survey_key(rec.requester), rec.request_id); !ok)
      return failed(ok.err());
  if (auto ok = t.commit(); !ok)
    return failed(ok.err());
  return true;
}

// -- the event relays' rows and the metrics sampler's counts -------------------------------------------------------

caf::result<std::vector<storage::outbox_event>> on_events(storage_state& st, const events_query& q) {
  auto xs = q.sink == "nats" ? st.store->pending_events(q.limit) : st.store->pending_events_for(q.sink, q.limit);
  if (!xs)
    return failed(xs.err());
  return std::move(*xs);
}

caf::result<bool> on_events_sent(storage_state& st, const events_sent& s) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto& t = **txn;
  for (const auto& id : s.ids) {
    auto ok = s.sink == "nats" ? t.mark_event_sent(id, s.at) : t.mark_event_delivered(id, s.sink, s.at);
    if (!ok)
      return failed(ok.err());
  }
  if (auto ok = t.commit(); !ok)
    return failed(ok.err());
  return true;
}

caf::result<storage_gauges> on_gauges(storage_state& st, const std::string& sink) {
  auto g = st.store->gauges(sink);
  if (!g)
    return failed(g.err());
  std::map<std::pair<std::string, std::string>, std::int64_t> open;
  for (const auto& x : g->open)
    open[{x.team.empty() ? x.room_id : x.team, x.status}] += x.count;
  storage_gauges out;
  for (const auto& [k, n] : open)
    out.open.emplace_back(k.first, k.second, n);
  out.events_pending = g->events_pending;
  out.events_oldest_at = g->events_oldest.value_or(0);
  out.jira_queued = g->jira_queued;
  out.jira_oldest_at = g->jira_oldest.value_or(0);
  return out;
}

// -- the Jira bridge's rows ---------------------------------------------------------------------------------------

caf::result<std::vector<storage::jira_op>> on_jira_ops(storage_state& st, const jira_ops_query& q) {
  auto xs = st.store->queued_jira_ops(q.limit);
  if (!xs)
    return failed(xs.err());
  return std::move(*xs);
}

caf::result<bool> on_jira_update(storage_state& st, const jira_op_update& u) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto& t = **txn;
  auto ok = t.update_jira_op(u.op);
  if (ok && u.link)
    ok = t.set_jira_link(*u.link);
  if (ok && u.comment) {
    auto linked = t.link_jira_comment(*u.comment);
    if (!linked)
      return failed(linked.err());
  }
  for (const auto& op : u.enqueue) {
    if (!ok)
      break;
    auto queued = t.enqueue_jira_op(op);
    if (!queued)
      return failed(queued.err());
  }
  if (ok)
    ok = t.commit();
  if (!ok)
    return failed(ok.err());
  return true;
}

caf::result<jira_link_answer> on_jira_link(storage_state& st, const jira_link_query& q) {
  jira_link_answer a;
  auto link = q.request_id.empty() ? st.store->jira_link_by_issue(q.issue) : st.store->jira_link_of(q.request_id);
  if (!link)
    return failed(link.err());
  a.link = std::move(*link);
  auto id = !q.request_id.empty() ? q.request_id : a.link ? a.link->request_id : std::string{};
  if (!id.empty()) {
    auto row = st.store->request(id);
    if (!row)
      return failed(row.err());
    if (*row)
      a.request = from_row(**row);
  }
  return a;
}

caf::result<bool> on_jira_set_link(storage_state& st, const storage::jira_link& l) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto ok = (*txn)->set_jira_link(l);
  if (ok)
    ok = (*txn)->commit();
  if (!ok)
    return failed(ok.err());
  return true;
}

caf::result<bool> on_jira_link_comment(storage_state& st, const storage::jira_comment_link& l) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto added = (*txn)->link_jira_comment(l);
  if (!added)
    return failed(added.err());
  if (auto ok = (*txn)->commit(); !ok)
    return failed(ok.err());
  return *added;
}

caf::result<jira_comment_answer> on_jira_comment(storage_state& st, const jira_comment_query& q) {
  auto link = q.comment_id.empty() ? st.store->jira_comment_by_chat(q.request_id, q.chat_message_id)
                                   : st.store->jira_comment_by_id(q.comment_id);
  if (!link)
    return failed(link.err());
  return jira_comment_answer{std::move(*link)};
}

caf::result<bool> on_inbox_add(storage_state& st, const storage::inbox_delivery& d) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto added = (*txn)->add_inbox(d);
  if (!added)
    return failed(added.err());
  if (auto ok = (*txn)->commit(); !ok)
    return failed(ok.err());
  return *added;
}

caf::result<std::vector<storage::inbox_delivery>> on_inbox_pending(storage_state& st, std::size_t limit) {
  auto xs = st.store->pending_inbox(limit);
  if (!xs)
    return failed(xs.err());
  return std::move(*xs);
}

caf::result<bool> on_inbox_done(storage_state& st, const inbox_done& d) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto ok = (*txn)->mark_inbox_processed(d.seq, now_ms(st), d.outcome);
  if (ok)
    ok = (*txn)->commit();
  if (!ok)
    return failed(ok.err());
  return true;
}

caf::result<std::size_t> on_inbox_prune(storage_state& st, const inbox_prune& p) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto n = (*txn)->prune_inbox(p.older_than);
  if (!n)
    return failed(n.err());
  if (auto ok = (*txn)->commit(); !ok)
    return failed(ok.err());
  return *n;
}

caf::result<std::string> on_state_get(storage_state& st, const std::string& key) {
  auto v = st.store->state(key);
  if (!v)
    return failed(v.err());
  return v->value_or("");
}

caf::result<bool> on_state_set(storage_state& st, const std::string& key, const std::string& value) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto ok = (*txn)->set_state(key, value);
  if (ok)
    ok = (*txn)->commit();
  if (!ok)
    return failed(ok.err());
  return true;
}

caf::result<claim_reply> on_claim(storage_state& st, const std::string& key, std::int64_t now) {
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto outcome = (*txn)->claim(key, now);
  if (!outcome)
    return failed(outcome.err());
  if (auto ok = (*txn)->commit(); !ok)
    return failed(ok.err());
  return claim_reply{outcome->status, outcome->record.result.value_or("")};
}

caf::result<void> on_done(storage_state& st, const std::string& key, const std::string& result, std::int64_t now) {
  auto txn = st.store->begin();
  auto ok = txn ? (*txn)->complete(key, result, now) : storage::result<void>{txn.err()};
  if (ok)
    ok = (*txn)->commit();
  if (!ok) {
    spdlog::error("storage fails to mark action {} done: {}", key, ok.err().message);
    return failed(ok.err()); // nobody waits for the answer; the retry wrapper sees an unreachable database
  }
  return caf::unit;
}

caf::result<found_request> on_find(storage_state& st, const std::string& root) {
  auto row = st.store->request_by_thread(root);
  if (!row)
    return failed(row.err());
  if (!*row)
    return found_request{};
  return found_request{from_row(**row)};
}

caf::result<std::vector<domain::request_record>> on_load(storage_state& st, const std::string& room) {
  auto rows = st.store->open_requests();
  if (!rows)
    return failed(rows.err());
  std::vector<domain::request_record> result;
  for (const auto& row : *rows)
    if (row.room_id == room)
      if (auto rec = from_row(row))
        result.push_back(std::move(*rec));
  return result;
}

caf::result<bool> on_cursor(storage_state& st, const cursor_update& u) {
  auto cursors = st.store->room_cursors();
  if (!cursors)
    return failed(cursors.err());
  auto stored = std::find_if(cursors->begin(), cursors->end(),
                             [&](const storage::room_cursor& c) { return c.room_id == u.room; });
  // Only strictly newer moves it: two messages of the same millisecond have no order we could trust.
  if (stored != cursors->end() && u.ts_ms <= stored->last_ts)
    return true;
  auto txn = st.store->begin();
  if (!txn)
    return failed(txn.err());
  auto ok = (*txn)->set_room_cursor({u.room, u.ts_ms, u.message_id});
  if (ok)
    ok = (*txn)->commit();
  if (!ok)
    return failed(ok.err());
  return true;
}

caf::result<std::vector<storage::room_cursor>> on_cursors(storage_state& st) {
  auto xs = st.store->room_cursors();
  if (!xs)
    return failed(xs.err());
  return std::move(*xs);
}

} // namespace

storage::request_record to_row(const domain::request_record& r, std::int64_t now_ms) {
  storage::request_record row;
  row.id = r.request_id;
  row.room_id = r.room;
  row.root_message_id = r.root_message_id;
  row.requester_id = r.requester;
  row.requester_username = r.requester;
  row.text = r.text;
  row.status = r.status;
  if (!r.assignee.empty())
    row.assignee = r.assignee;
  if (!r.on_duty.users.empty())
    row.on_duty = r.on_duty.users.front();
  row.created_at = row.updated_at = row.last_activity_at = now_ms;
  if (r.created_at.time_since_epoch().count() != 0)
    row.created_at = to_ms(r.created_at);
  row.team = r.team;
  if (r.first_response_at)
    row.first_response_at = to_ms(*r.first_response_at);
  if (r.resolved_at)
    row.resolved_at = to_ms(*r.resolved_at);
  row.reopens = static_cast<std::int32_t>(std::min<std::uint32_t>(r.reopens, INT32_MAX));
  row.reminders_sent = static_cast<std::int32_t>(std::min<std::uint64_t>(r.reminders_sent, INT32_MAX));
  if (r.reminder_deadline)
    row.next_reminder_at = to_ms(*r.reminder_deadline);
  row.reminder_epoch = static_cast<std::int64_t>(std::min<std::uint64_t>(r.reminder_epoch, INT64_MAX));
  // Only a move ends a request here: a final status can still be reopened, so it stays open (and restored).
  row.closed = r.phase == domain::request_phase::moved;
  if (row.closed && !r.move_target_room.empty())
    row.moved_to = r.move_target_room;
  row.source = storage::request_source::chat; // requests.jira_key stays unset: jira_links maps issues (moves share one)
  // Every string is valid UTF-8 (put_text), so the strict handler never throws; `replace` only keeps it that way.
  row.lifecycle = to_json(r).dump(-1, ' ', false, json::error_handler_t::replace);
  return row;
}

std::string survey_key(const std::string& requester) {
  return "feedback/last/" + requester;
}

storage::feedback_record to_feedback(const domain::request_record& r) {
  const auto& s = r.survey;
  storage::feedback_record f;
  f.request_id = r.request_id;
  f.round = static_cast<std::int64_t>(std::min<std::uint64_t>(s.round, INT64_MAX));
  f.team = r.team;
  f.room_id = r.room;
  f.on_duty = s.on_duty;
  if (!s.requester.empty())
    f.requester = s.requester;
  f.created_at = to_ms(r.created_at);
  if (r.first_response_at)
    f.first_response_at = to_ms(*r.first_response_at);
  f.resolved_at = to_ms(s.resolved_at);
  f.sent_at = to_ms(s.sent_at);
  f.expires_at = to_ms(s.expires_at);
  f.state = std::string{domain::to_string(s.phase)};
  if (s.rating >= 1 && s.rating <= 5)
    f.rating = s.rating;
  f.rated_at = s.rated_at ? std::optional<std::int64_t>{to_ms(*s.rated_at)} : std::nullopt;
  if (!s.comment.empty())
    f.comment = s.comment;
  return f;
}

std::optional<domain::request_record> from_row(const storage::request_record& row) {
  if (!row.lifecycle) {
    spdlog::warn("request {} has no lifecycle state (written before schema v2); not restored", row.id);
    return std::nullopt;
  }
  auto j = json::parse(*row.lifecycle, nullptr, false);
  if (j.is_discarded()) {
    spdlog::warn("request {} holds lifecycle state that is not JSON; not restored", row.id);
    return std::nullopt;
  }
  auto parsed = parse_record(j);
  if (auto* bad = std::get_if<std::string>(&parsed)) {
    spdlog::warn("request {} holds malformed lifecycle state (field {}); not restored", row.id, *bad);
    return std::nullopt;
  }
  auto& rec = std::get<domain::request_record>(parsed);
  if (rec.request_id != row.id) {
    spdlog::warn("request {} holds the lifecycle state of request {}; not restored", row.id, rec.request_id);
    return std::nullopt;
  }
  return std::move(rec);
}

storage::jira_op to_op(const std::string& request_id, const domain::jira_action& a, std::int64_t now_ms) {
  storage::jira_op op;
  op.key = a.key;
  op.request_id = request_id;
  op.kind = std::string{domain::to_string(a.kind)};
  op.payload = json{{"message_id", put_text(a.message_id)}, {"author", put_text(a.author)},
                    {"author_name", put_text(a.author_name)}, {"text", put_text(a.text)},
                    {"jira_status", put_text(a.jira_status)}, {"issue_key", put_text(a.issue_key)}}
                 .dump(-1, ' ', false, json::error_handler_t::replace);
  op.created_at = op.next_attempt_at = now_ms;
  return op;
}

std::optional<domain::jira_action> action_of(const storage::jira_op& op) {
  static constexpr std::pair<std::string_view, domain::jira_kind> kinds[] = {
    {"create", domain::jira_kind::create},         {"comment", domain::jira_kind::comment},
    {"edit_comment", domain::jira_kind::edit_comment}, {"transition", domain::jira_kind::transition},
    {"assign", domain::jira_kind::assign}};
  domain::jira_action a;
  a.key = op.key;
  bool known = false;
  for (const auto& [name, kind] : kinds)
    if (name == op.kind) {
      a.kind = kind;
      known = true;
    }
  if (!known)
    return std::nullopt;
  auto j = json::parse(op.payload, nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  field_reader in{j};
  in.text("message_id", a.message_id);
  in.text("author", a.author);
  in.text("author_name", a.author_name);
  in.text("text", a.text);
  in.text("jira_status", a.jira_status);
  in.text("issue_key", a.issue_key);
  if (!in.ok())
    return std::nullopt;
  return a;
}

storage_actor::behavior_type storage_service(storage_actor::stateful_pointer<storage_state> self,
                                             std::shared_ptr<storage::store> store, wall_clock now,
                                             storage_retry retry) {
  self->state.store = std::move(store);
  self->state.retry = std::move(retry);
  if (!self->state.retry.sleep)
    self->state.retry.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!self->state.retry.health)
    self->state.retry.health = std::make_shared<storage_health>();
  self->state.now = now ? std::move(now) : wall_clock{[] {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }};
  return {
    [self](atom::save, const persist_request& req) {
      return retrying(self->state, [&] { return on_save(self->state, req); });
    },
    [self](atom::claim, const std::string& key, std::int64_t at) {
      return retrying(self->state, [&] { return on_claim(self->state, key, at); });
    },
    [self](atom::done, const std::string& key, const std::string& result, std::int64_t at) {
      retrying(self->state, [&] { return on_done(self->state, key, result, at); });
    },
    [self](atom::find, const std::string& root) {
      return retrying(self->state, [&] { return on_find(self->state, root); });
    },
    [self](atom::load, const std::string& room) {
      return retrying(self->state, [&] { return on_load(self->state, room); });
    },
    [self](atom::cursor, const cursor_update& u) {
      return retrying(self->state, [&] { return on_cursor(self->state, u); });
    },
    [self](atom::cursors) {
      return retrying(self->state, [&] { return on_cursors(self->state); });
    },
    [self](atom::jira, const jira_ops_query& q) {
      return retrying(self->state, [&] { return on_jira_ops(self->state, q); });
    },
    [self](atom::jira, const jira_op_update& u) {
      return retrying(self->state, [&] { return on_jira_update(self->state, u); });
    },
    [self](atom::jira, const jira_link_query& q) {
      return retrying(self->state, [&] { return on_jira_link(self->state, q); });
    },
    [self](atom::jira, const jira_comment_query& q) {
      return retrying(self->state, [&] { return on_jira_comment(self->state, q); });
    },
    [self](atom::jira, const storage::jira_link& l) {
      return retrying(self->state, [&] { return on_jira_set_link(self->state, l); });
    },
    [self](atom::jira, const storage::jira_comment_link& l) {
      return retrying(self->state, [&] { return on_jira_link_comment(self->state, l); });
    },
    [self](atom::inbox, const storage::inbox_delivery& d) {
      return retrying(self->state, [&] { return on_inbox_add(self->state, d); });
    },
    [self](atom::inbox, std::size_t limit) {
      return retrying(self->state, [&] { return on_inbox_pending(self->state, limit); });
    },
    [self](atom::inbox, const inbox_done& d) {
      return retrying(self->state, [&] { return on_inbox_done(self->state, d); });
    },
    [self](atom::inbox, const inbox_prune& p) {
      return retrying(self->state, [&] { return on_inbox_prune(self->state, p); });
    },
    [self](atom::get, const std::string& key) {
      return retrying(self->state, [&] { return on_state_get(self->state, key); });
    },
    [self](atom::save, const std::string& key, const std::string& value) {
      return retrying(self->state, [&] { return on_state_set(self->state, key, value); });
    },
    [self](atom::events, const events_query& q) {
      return retrying(self->state, [&] { return on_events(self->state, q); });
    },
    [self](atom::events, const events_sent& x) {
      return retrying(self->state, [&] { return on_events_sent(self->state, x); });
    },
    [self](atom::gauges, const std::string& sink) {
      return retrying(self->state, [&] { return on_gauges(self->state, sink); });
    },
  };
}

storage_actor spawn_storage(caf::actor_system& sys, std::shared_ptr<storage::store> store, bool detached,
                            wall_clock now, storage_retry retry) {
  if (detached)
    return sys.spawn<caf::detached>(storage_service, std::move(store), std::move(now), std::move(retry));
  return sys.spawn(storage_service, std::move(store), std::move(now), std::move(retry));
}

} // namespace dutydesk::actors
