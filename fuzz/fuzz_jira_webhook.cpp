// Fuzzes the inbound Jira webhook path with the input as the request body: io::jira::check_delivery (signature,
// content type, JSON) under a fixed set of header variants, then parse_webhook and interpret.
// Invariants (io/jira_webhook.hpp):
//   check_delivery: the status is one of 200/401/415/400 and the one the variant calls for (a good signature and a
//     JSON type give 200 exactly when parse_webhook does not reject the body as JSON: a JSON object, also one with
//     invalid UTF-8 read as U+FFFD); 200 has a delivery id and no reason, anything
//     else a reason and no id; the reason never contains the secret; the id is the identifier header when sent,
//     else "sha256:" + 64 lower-hex digits, the same for the same body.
//   parse_webhook never throws; an error is a non-empty text; a webhook has its event and only valid UTF-8 text;
//     a plain JSON object is never a JSON error, any other value or a syntax error always is.
//   interpret: every change has the dedupe key the table in the header gives; the bridge's own account never
//     yields issue changes, and treating someone as "self" only ever removes changes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <simdjson.h>

#include "io/hmac.hpp"
#include "io/jira_webhook.hpp"
#include "fuzz/support/check.hpp"

namespace {

using ::dutydesk::fuzz::fail;

using namespace dutydesk::io;
using namespace dutydesk::io::jira;

constexpr std::string_view secret = "fuzz-secret-7f3a91c2";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

// What a plain parse says about the body: an object, another value, or the error. The io parsers read invalid UTF-8
// and lone surrogate escapes with U+FFFD in their place, so UTF8_ERROR and STRING_ERROR leave the answer open.
enum class shape { object, other_value, syntax_error, text_error };

shape plain_shape(std::string_view body) {
  static simdjson::dom::parser parser;
  simdjson::dom::element e;
  auto err = parser.parse(body.data(), body.size(), true).get(e);
  if (err == simdjson::UTF8_ERROR || err == simdjson::STRING_ERROR)
    return shape::text_error;
  if (err != simdjson::SUCCESS)
    return shape::syntax_error;
  return e.is_object() ? shape::object : shape::other_value;
}

bool valid_utf8(const std::string& s) { return simdjson::validate_utf8(s.data(), s.size()); }

http_server_request request(std::string_view body, std::vector<std::pair<std::string, std::string>> headers) {
  http_server_request r;
  r.method = "POST";
  r.target = r.path = "/jira/webhook";
  r.headers = std::move(headers);
  r.body = std::string(body);
  r.remote_address = "127.0.0.1";
  return r;
}

void check_verdict(const intake_verdict& v, unsigned expected, std::string_view what) {
  if (v.status != expected)
    fail("unexpected status", std::string(what) + ": got " + std::to_string(v.status) + " " + v.reason);
  if (v.status == 200) {
    CHECK(!v.delivery_id.empty() && v.reason.empty(), what);
  } else {
    CHECK(v.delivery_id.empty() && !v.reason.empty(), what);
  }
  CHECK(v.reason.find(secret) == std::string::npos, v.reason);
}

// `json_error`: parse_webhook rejected the body as JSON (not for a field), so check_delivery must answer 400.
void check_delivery_variants(std::string_view body, bool json_error) {
  const auto plain = plain_shape(body);
  if (plain == shape::object)
    CHECK(!json_error, body);
  if (plain == shape::other_value || plain == shape::syntax_error)
    CHECK(json_error, body);
  const bool object = !json_error;
  const auto good = hub_signature(secret, body);
  auto bad = good;
  bad.back() = bad.back() == '0' ? '1' : '0'; // another hex digit: another signature
  const unsigned json_status = object ? 200 : 400;

  // Signed, JSON: the body decides.
  auto signed_json = check_delivery(request(body, {{"content-type", "application/json; charset=UTF-8"},
                                                   {"x-hub-signature", good}}),
                                    secret);
  check_verdict(signed_json, json_status, "signed json");
  if (object) {
    auto id = std::string_view(signed_json.delivery_id);
    CHECK(starts_with(id, "sha256:") && id.size() == 7 + 64 && is_lower_hex(id.substr(7)), id);
    // Cloud's retries carry the same identifier; it wins over the body hash.
    auto with_id = check_delivery(request(body, {{"x-hub-signature", good},
                                                 {"content-type", "application/vnd.atlassian+json"},
                                                 {"x-atlassian-webhook-identifier", "wh-42"}}),
                                  secret);
    check_verdict(with_id, 200, "identifier");
    CHECK(with_id.delivery_id == "wh-42", with_id.delivery_id);
    // Unsigned route (empty secret): same body, same id.
    auto unsigned_ok = check_delivery(request(body, {{"content-type", "text/json"}}), "");
    check_verdict(unsigned_ok, 200, "unsigned");
    CHECK(unsigned_ok.delivery_id == signed_json.delivery_id, unsigned_ok.delivery_id);
  }
  // The signature is checked before anything else.
  check_verdict(check_delivery(request(body, {{"content-type", "application/json"}}), secret), 401, "no signature");
  check_verdict(check_delivery(request(body, {{"content-type", "application/json"}, {"x-hub-signature", bad}}),
                               secret),
                401, "bad signature");
  check_verdict(check_delivery(request(body, {{"content-type", "application/json"}, {"x-hub-signature", ""}}),
                               secret),
                401, "empty signature");
  // Then the content type.
  check_verdict(check_delivery(request(body, {{"x-hub-signature", good}}), secret), 415, "no content type");
  check_verdict(check_delivery(request(body, {{"x-hub-signature", good}, {"content-type", "text/plain"}}), secret),
                415, "text/plain");
  check_verdict(check_delivery(request(body, {{"content-type", "application/jsonx"}}), ""), 415, "jsonx");
  check_verdict(check_delivery(request(body, {{"content-type", "json"}}), ""), 415, "no subtype");
  // Blanks before the parameters do not matter.
  check_verdict(check_delivery(request(body, {{"content-type", "Application/JSON \t; charset=utf-8"}}), ""), json_status,
                "blanks before ;");
}

std::string actor_id(const actor& a) { return a.account_id.empty() ? a.name : a.account_id; }

void check_change(const change& c, const webhook& w) {
  CHECK(!c.dedupe_key.empty());
  switch (c.kind) {
    case change_kind::comment_added:
      CHECK(w.comment && c.comment_id == w.comment->id, c.dedupe_key);
      CHECK(c.dedupe_key == "comment:" + c.comment_id, c.dedupe_key);
      break;
    case change_kind::comment_edited:
      CHECK(w.comment && c.comment_id == w.comment->id, c.dedupe_key);
      CHECK(c.dedupe_key == "comment:" + c.comment_id + ":edit:" + w.comment->updated, c.dedupe_key);
      break;
    case change_kind::comment_deleted:
      CHECK(w.comment && c.comment_id == w.comment->id, c.dedupe_key);
      CHECK(c.dedupe_key == "comment:" + c.comment_id + ":deleted", c.dedupe_key);
      break;
    case change_kind::status_changed:
      CHECK(w.event == "jira:issue_updated" && w.issue, w.event);
      CHECK(c.dedupe_key == "status:" + w.issue->id + ":" + w.changelog_id, c.dedupe_key);
      break;
    case change_kind::assignee_changed:
      CHECK(w.event == "jira:issue_updated" && w.issue, w.event);
      CHECK(c.dedupe_key == "assignee:" + w.issue->id + ":" + w.changelog_id, c.dedupe_key);
      CHECK(!c.assignee_id.empty() || c.assignee_display.empty(), c.assignee_display);
      break;
    case change_kind::issue_created:
      CHECK(w.event == "jira:issue_created" && w.issue, w.event);
      CHECK(c.dedupe_key == "created:" + w.issue->id, c.dedupe_key);
      break;
  }
  CHECK(std::string_view(to_string(c.kind)) != "unknown");
  if (w.issue) {
    // A comment change on an issue without an id takes the id from the comment's self URL.
    CHECK(c.issue_key == w.issue->key && c.issue, c.issue_key);
    CHECK(w.issue->id.empty() || c.issue_id == w.issue->id, c.issue_id);
  } else {
    CHECK(c.issue_key.empty() && !c.issue, c.issue_key);
  }
}

bool is_issue_change(change_kind k) {
  return k == change_kind::status_changed || k == change_kind::assignee_changed || k == change_kind::issue_created;
}

void check_actor_text(const actor& a) {
  for (const auto* s : {&a.name, &a.key, &a.account_id, &a.display_name, &a.email})
    CHECK(valid_utf8(*s), *s);
}

// Every text read from the body is valid UTF-8 (invalid sequences arrive as U+FFFD).
void check_text(const webhook& w) {
  CHECK(valid_utf8(w.event) && valid_utf8(w.type_name) && valid_utf8(w.changelog_id));
  check_actor_text(w.user);
  if (w.issue) {
    const auto& i = *w.issue;
    for (const auto* s : {&i.id, &i.key, &i.project_key, &i.summary, &i.description, &i.status_name,
                          &i.status_category, &i.updated})
      CHECK(valid_utf8(*s), *s);
    for (const auto& l : i.labels)
      CHECK(valid_utf8(l), l);
    for (const auto& [k, v] : i.custom)
      CHECK(valid_utf8(k) && valid_utf8(v), v);
    check_actor_text(i.reporter);
    check_actor_text(i.assignee);
  }
  if (w.comment) {
    const auto& c = *w.comment;
    for (const auto* s : {&c.id, &c.self, &c.body, &c.issue_id, &c.created, &c.updated})
      CHECK(valid_utf8(*s), *s);
    check_actor_text(c.author);
  }
  for (const auto& it : w.changelog)
    for (const auto* s : {&it.field, &it.from_string, &it.to, &it.to_string, &it.tmp_to_account_id})
      CHECK(valid_utf8(*s), *s);
}

void check_webhook(const webhook& w) {
  CHECK(!w.event.empty());
  check_text(w);
  const auto all = interpret(w, {});
  for (const auto& c : all)
    check_change(c, w);
  // The bridge's own account, as each flavour names it.
  if (w.has_user) {
    for (const self_identity& self : {self_identity{w.user.name, "", ""}, self_identity{"", w.user.key, ""},
                                      self_identity{"", "", w.user.account_id}}) {
      if (self.name.empty() && self.key.empty() && self.account_id.empty())
        continue;
      auto mine = interpret(w, self);
      CHECK(mine.size() <= all.size(), w.event);
      for (const auto& c : mine)
        CHECK(!is_issue_change(c.kind), w.event);
    }
  }
  if (w.comment) {
    const auto& a = w.comment->author;
    if (!actor_id(a).empty()) {
      auto mine = interpret(w, self_identity{a.name, a.key, a.account_id});
      CHECK(mine.size() <= all.size(), w.event);
      for (const auto& c : mine)
        CHECK(c.kind != change_kind::comment_added, w.event);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto parsed = parse_webhook(body);
    bool json_error = false;
    if (const auto* why = std::get_if<std::string>(&parsed)) {
      CHECK(!why->empty(), body);
      json_error = starts_with(*why, "invalid JSON") || *why == "webhook body is not a JSON object";
    } else {
      check_webhook(std::get<webhook>(parsed));
    }
    // check_delivery reads the body as parse_webhook does: it refuses (400) exactly the bodies that are no JSON object.
    check_delivery_variants(body, json_error);
  } catch (const std::exception& e) {
    fail("exception escaped", e.what());
  } catch (...) {
    fail("non-standard exception escaped");
  }
  return 0;
}
