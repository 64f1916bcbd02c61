#include "io/jira_webhook.hpp"

#include <array>
#include <cctype>

#include <openssl/evp.h>

#include "io/detail/json_util.hpp"
#include "io/hmac.hpp"

namespace dutydesk::io::jira {

namespace {

using detail::element;
using detail::field;

std::string lower(std::string_view s) {
  std::string result(s);
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  result.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    result += digits[md[i] >> 4];
    result += digits[md[i] & 0xfu];
  }
  return result;
}

// application/json, text/json and any +json type (parameters such as charset allowed).
bool json_media_type(std::string_view content_type) {
  auto type = lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.pop_back();
  auto slash = type.find('/');
  if (slash == std::string::npos)
    return false;
  auto sub = std::string_view(type).substr(slash + 1);
  return sub == "json" || (sub.size() > 5 && sub.substr(sub.size() - 5) == "+json");
}

// Reads the fields parse_webhook knows; the first wrong type wins and makes the payload an error.
class reader {
public:
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  std::string text(element obj, std::string_view key, std::string_view where) {
    return string_field(obj, key, where, false);
  }

  // Ids and changelog values: Jira sends strings, but a number is read as its text rather than rejected.
  std::string id(element obj, std::string_view key, std::string_view where) {
    return string_field(obj, key, where, true);
  }

  std::optional<element> object(element obj, std::string_view key, std::string_view where) {
    auto v = field(obj, key);
    if (!v)
      return std::nullopt;
    if (!v->is_object()) {
      fail(where, key, "an object");
      return std::nullopt;
    }
    return v;
  }

  std::optional<simdjson::dom::array> array(element obj, std::string_view key, std::string_view where) {
    auto v = field(obj, key);
    if (!v)
      return std::nullopt;
    simdjson::dom::array a;
    if (v->get(a) != simdjson::SUCCESS) {
      fail(where, key, "an array");
      return std::nullopt;
    }
    return a;
  }

  std::int64_t integer(element obj, std::string_view key, std::string_view where) {
    auto v = field(obj, key);
    if (!v)
      return 0;
    std::int64_t i = 0;
    if (v->get(i) == simdjson::SUCCESS)
      return i;
    fail(where, key, "an integer");
    return 0;
  }

  void fail(std::string_view where, std::string_view key, std::string_view expected) {
    if (error_.empty())
      error_ = std::string(where) + (where.empty() ? "" : ".") + std::string(key) + " is not " + std::string(expected);
  }

private:
  std::string string_field(element obj, std::string_view key, std::string_view where, bool number_ok) {
    auto v = field(obj, key);
    if (!v)
      return {};
    std::string_view s;
    if (v->get(s) == simdjson::SUCCESS)
      return std::string(s);
    if (number_ok && (v->is_int64() || v->is_uint64()))
      return simdjson::minify(*v);
    fail(where, key, "a string");
    return {};
  }

  std::string error_;
};

actor read_actor(reader& r, element e, std::string_view where) {
  actor a;
  a.name = r.text(e, "name", where);
  a.key = r.text(e, "key", where);
  a.account_id = r.text(e, "accountId", where);
  a.display_name = r.text(e, "displayName", where);
  a.email = r.text(e, "emailAddress", where);
  return a;
}

std::optional<actor> read_opt_actor(reader& r, element parent, std::string_view key, std::string_view where) {
  auto e = r.object(parent, key, where);
  if (!e)
    return std::nullopt;
  return read_actor(r, *e, where.empty() ? std::string(key) : std::string(where) + "." + std::string(key));
}

// A custom field's value as dutydesk uses it: a select option's value, a text, or a number.
std::optional<std::string> custom_value(element v) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS)
    return std::string(s);
  if (v.is_number())
    return simdjson::minify(v);
  if (auto value = field(v, "value")) {
    if (value->get(s) == simdjson::SUCCESS)
      return std::string(s);
  }
  return std::nullopt;
}

issue_ref read_issue(reader& r, element e) {
  issue_ref i;
  i.id = r.id(e, "id", "issue");
  i.key = r.text(e, "key", "issue");
  auto fields = r.object(e, "fields", "issue");
  if (!fields)
    return i;
  constexpr std::string_view where = "issue.fields";
  auto f = *fields;
  i.summary = r.text(f, "summary", where);
  // A string in the v2 representation webhooks use; any other shape (ADF) is left out rather than rejected.
  if (auto d = field(f, "description")) {
    std::string_view s;
    if (d->get(s) == simdjson::SUCCESS)
      i.description = std::string(s);
  }
  i.updated = r.text(f, "updated", where);
  if (auto project = r.object(f, "project", where))
    i.project_key = r.text(*project, "key", "issue.fields.project");
  if (auto status = r.object(f, "status", where)) {
    i.status_name = r.text(*status, "name", "issue.fields.status");
    if (auto category = r.object(*status, "statusCategory", "issue.fields.status"))
      i.status_category = r.text(*category, "key", "issue.fields.status.statusCategory");
  }
  if (auto a = read_opt_actor(r, f, "reporter", where))
    i.reporter = *a;
  if (auto a = read_opt_actor(r, f, "creator", where))
    i.creator = *a;
  if (auto a = read_opt_actor(r, f, "assignee", where)) {
    i.assignee = *a;
    i.has_assignee = true;
  }
  if (auto labels = r.array(f, "labels", where)) {
    for (auto x : *labels) {
      std::string_view s;
      if (x.get(s) != simdjson::SUCCESS) {
        r.fail(where, "labels[]", "a string");
        break;
      }
      i.labels.emplace_back(s);
    }
  }
  simdjson::dom::object obj;
  if (f.get(obj) == simdjson::SUCCESS) {
    for (auto [k, v] : obj) {
      if (k.substr(0, 12) != "customfield_" || v.is_null())
        continue;
      if (auto value = custom_value(v))
        i.custom.emplace(std::string(k), std::move(*value));
    }
  }
  return i;
}

// The issue id in a comment's self URL ".../rest/api/2/issue/{issueId}/comment/{commentId}".
std::string issue_id_from_self(std::string_view self) {
  constexpr std::string_view issue = "/issue/";
  constexpr std::string_view comment = "/comment/";
  auto c = self.rfind(comment);
  if (c == std::string_view::npos)
    return {};
  auto i = self.rfind(issue, c);
  if (i == std::string_view::npos)
    return {};
  return std::string(self.substr(i + issue.size(), c - i - issue.size()));
}

comment read_comment(reader& r, element e) {
  comment c;
  c.id = r.id(e, "id", "comment");
  c.self = r.text(e, "self", "comment");
  if (auto b = field(e, "body")) {
    std::string_view s;
    if (b->get(s) == simdjson::SUCCESS)
      c.body = std::string(s);
  }
  if (auto a = read_opt_actor(r, e, "author", "comment"))
    c.author = *a;
  if (auto a = read_opt_actor(r, e, "updateAuthor", "comment"))
    c.update_author = *a;
  c.created = r.text(e, "created", "comment");
  c.updated = r.text(e, "updated", "comment");
  return c;
}

changelog_item read_item(reader& r, element e) {
  constexpr std::string_view where = "changelog.items[]";
  changelog_item it;
  it.field = r.text(e, "field", where);
  it.field_id = r.text(e, "fieldId", where);
  it.fieldtype = r.text(e, "fieldtype", where);
  it.from = r.id(e, "from", where);
  it.from_string = r.id(e, "fromString", where);
  it.to = r.id(e, "to", where);
  it.to_string = r.id(e, "toString", where);
  it.tmp_from_account_id = r.text(e, "tmpFromAccountId", where);
  it.tmp_to_account_id = r.text(e, "tmpToAccountId", where);
  return it;
}

bool same(const std::string& a, const std::string& b) {
  return !a.empty() && a == b;
}

bool is_self(const actor& a, const self_identity& self) {
  return same(a.name, self.name) || same(a.key, self.key) || same(a.account_id, self.account_id);
}

bool field_is(const changelog_item& it, std::string_view name) {
  return it.field == name || it.field_id == name;
}

std::string actor_id(const actor& a) {
  return a.account_id.empty() ? a.name : a.account_id;
}

change base_change(change_kind kind, const webhook& w) {
  change c;
  c.kind = kind;
  if (w.issue) {
    c.issue_id = w.issue->id;
    c.issue_key = w.issue->key;
    c.issue = w.issue;
  }
  return c;
}

change comment_change(change_kind kind, const webhook& w, const actor& author) {
  auto c = base_change(kind, w);
  if (c.issue_id.empty())
    c.issue_id = w.comment->issue_id;
  c.comment_id = w.comment->id;
  c.body = w.comment->body;
  c.author_display = author.display_name;
  c.author_id = actor_id(author);
  switch (kind) {
    case change_kind::comment_edited:
      c.dedupe_key = "comment:" + c.comment_id + ":edit:" + w.comment->updated;
      break;
    case change_kind::comment_deleted:
      c.dedupe_key = "comment:" + c.comment_id + ":deleted";
      break;
    default:
      c.dedupe_key = "comment:" + c.comment_id;
      break;
  }
  return c;
}

} // namespace

intake_verdict check_delivery(const http_server_request& req, std::string_view secret) {
  if (!secret.empty()) {
    auto signature = req.header("x-hub-signature");
    if (!signature || signature->empty())
      return {401, "", "missing X-Hub-Signature"};
    if (!verify_hub_signature(secret, req.body, *signature))
      return {401, "", "X-Hub-Signature does not match the body"};
  }
  auto content_type = req.header("content-type");
  if (!content_type)
    return {415, "", "missing Content-Type (expected application/json)"};
  if (!json_media_type(*content_type))
    return {415, "", "Content-Type is not JSON"};
  element doc;
  std::string why;
  if (!detail::parse_document(req.body, doc, why))
    return {400, "", "body is not valid JSON (" + why + ")"};
  if (!doc.is_object())
    return {400, "", "body is not a JSON object"};
  auto identifier = req.header("x-atlassian-webhook-identifier");
  if (identifier && !identifier->empty())
    return {200, *identifier, ""};
  return {200, "sha256:" + sha256_hex(req.body), ""};
}

std::variant<webhook, std::string> parse_webhook(std::string_view body) {
  element doc;
  std::string why;
  if (!detail::parse_document(body, doc, why))
    return why;
  if (!doc.is_object())
    return std::string("webhook body is not a JSON object");
  reader r;
  webhook w;
  w.event = r.text(doc, "webhookEvent", "");
  w.timestamp = r.integer(doc, "timestamp", "");
  w.type_name = r.text(doc, "issue_event_type_name", "");
  if (auto u = read_opt_actor(r, doc, "user", "")) {
    w.user = *u;
    w.has_user = true;
  }
  if (auto i = r.object(doc, "issue", ""))
    w.issue = read_issue(r, *i);
  if (auto c = r.object(doc, "comment", "")) {
    w.comment = read_comment(r, *c);
    w.comment->issue_id = w.issue && !w.issue->id.empty() ? w.issue->id : issue_id_from_self(w.comment->self);
  }
  if (auto cl = r.object(doc, "changelog", "")) {
    w.changelog_id = r.id(*cl, "id", "changelog");
    if (auto items = r.array(*cl, "items", "changelog")) {
      for (auto x : *items) {
        if (!x.is_object()) {
          r.fail("changelog", "items[]", "an object");
          break;
        }
        w.changelog.push_back(read_item(r, x));
      }
    }
  }
  if (r.failed())
    return r.error();
  if (w.event.empty())
    return std::string("webhookEvent is missing");
  return w;
}

const char* to_string(change_kind k) {
  switch (k) {
    case change_kind::comment_added: return "comment_added";
    case change_kind::comment_edited: return "comment_edited";
    case change_kind::comment_deleted: return "comment_deleted";
    case change_kind::status_changed: return "status_changed";
    case change_kind::assignee_changed: return "assignee_changed";
    case change_kind::issue_created: return "issue_created";
  }
  return "unknown";
}

std::vector<change> interpret(const webhook& w, const self_identity& self) {
  std::vector<change> result;
  if (w.event == "comment_created" || w.event == "comment_updated" || w.event == "comment_deleted") {
    if (!w.comment)
      return result;
    if (w.event == "comment_created") {
      if (!is_self(w.comment->author, self))
        result.push_back(comment_change(change_kind::comment_added, w, w.comment->author));
    } else if (w.event == "comment_updated") {
      if (!is_self(w.comment->update_author, self))
        result.push_back(comment_change(change_kind::comment_edited, w, w.comment->update_author));
    } else if (!(w.has_user && is_self(w.user, self))) {
      result.push_back(comment_change(change_kind::comment_deleted, w, w.has_user ? w.user : w.comment->update_author));
    }
    return result;
  }
  if (w.event != "jira:issue_updated" && w.event != "jira:issue_created")
    return result;
  if (!w.issue || (w.has_user && is_self(w.user, self)))
    return result;
  if (w.event == "jira:issue_created") {
    auto c = base_change(change_kind::issue_created, w);
    c.dedupe_key = "created:" + c.issue_id;
    result.push_back(std::move(c));
    return result;
  }
  if (w.comment) {
    // issue_commented, or a comment left with a transition: the same comment as the comment_* event's.
    if (w.type_name == "issue_comment_edited") {
      if (!is_self(w.comment->update_author, self))
        result.push_back(comment_change(change_kind::comment_edited, w, w.comment->update_author));
    } else if (w.type_name == "issue_comment_deleted") {
      result.push_back(comment_change(change_kind::comment_deleted, w, w.has_user ? w.user : w.comment->update_author));
    } else if (!is_self(w.comment->author, self)) {
      result.push_back(comment_change(change_kind::comment_added, w, w.comment->author));
    }
  }
  for (auto& item : w.changelog) {
    if (field_is(item, "status")) {
      auto c = base_change(change_kind::status_changed, w);
      c.status_name = item.to_string;
      c.status_category = w.issue->status_category;
      c.dedupe_key = "status:" + c.issue_id + ":" + w.changelog_id;
      result.push_back(std::move(c));
    } else if (field_is(item, "assignee")) {
      auto c = base_change(change_kind::assignee_changed, w);
      c.assignee_id = item.tmp_to_account_id.empty() ? item.to : item.tmp_to_account_id;
      c.assignee_display = c.assignee_id.empty() ? std::string() : item.to_string;
      c.dedupe_key = "assignee:" + c.issue_id + ":" + w.changelog_id;
      result.push_back(std::move(c));
    }
  }
  return result;
}

} // namespace dutydesk::io::jira
