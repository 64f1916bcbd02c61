// Jira simulator: admin webhooks (REST registration, payloads, deliveries with retries).
//
// Payloads use the REST v2 representation on both flavours (jira.md §7.2-7.4), with the per-flavour envelopes of
// the real captures in tests/data/jira/. Delivery: the first attempt goes out when the event happens (in event
// order per webhook); 408/409/425/429/5xx/connection failures are retried after 1, 2, 4, 8, 16 s (tick()-driven),
// then the delivery is marked failed. X-Atlassian-Webhook-Identifier is stable across retries.
#include <algorithm>

#include "io/hmac.hpp"
#include "sim/jira.hpp"

namespace dutydesk::sim {

using namespace jira_detail;

namespace {

const std::set<std::string>& known_events() {
  static const std::set<std::string> xs = {
    "jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated",
    "comment_deleted", "issue_property_set", "issue_property_deleted", "jira:worklog_updated", "worklog_created",
    "worklog_updated", "worklog_deleted", "issuelink_created", "issuelink_deleted", "project_created",
    "project_updated", "project_deleted", "user_created", "user_updated", "user_deleted", "jira:version_created",
    "jira:version_updated", "jira:version_released", "jira:version_deleted", "sprint_created", "sprint_started",
    "sprint_closed", "board_created", "attachment_created", "attachment_deleted"};
  return xs;
}

const char* state_name(delivery_state s) {
  switch (s) {
  case delivery_state::queued: return "queued";
  case delivery_state::in_flight: return "in_flight";
  case delivery_state::retry_wait: return "retry_wait";
  case delivery_state::delivered: return "delivered";
  case delivery_state::failed: return "failed";
  }
  return "unknown";
}

bool retryable(int status) {
  return status == 0 || status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

} // namespace

int64_t jira_sim::retry_delay_ms(int retry) {
  if (retry < 1)
    return 0;
  return int64_t{1000} << std::min(retry - 1, 20);
}

json jira_sim::webhook_json(const webhook& w) const {
  json j = {{"self", base_url_ + "/rest/webhooks/1.0/webhook/" + std::to_string(w.id)},
            {"name", w.name},
            {"url", w.url},
            {"events", w.events},
            {"filters", {{"issue-related-events-section", w.jql}}},
            {"excludeBody", w.exclude_body},
            {"enabled", w.enabled},
            {"lastUpdated", w.last_updated},
            {"lastUpdatedUser", w.last_updated_user}};
  if (auto u = find_user_by_key(w.last_updated_user))
    j["lastUpdatedDisplayName"] = users_[*u].display_name;
  return j;
}

op_result jira_sim::op_register_webhook(const json& body, std::optional<size_t> actor, bool allow_secret) {
  if (!body.is_object())
    return {400, errors({"Invalid webhook registration body."})};
  json errs = json::object();
  auto name = body.value("name", json());
  auto url = body.value("url", json());
  if (!name.is_string() || name.get<std::string>().empty())
    errs["name"] = "The webhook name must not be empty.";
  if (!url.is_string() || (url.get<std::string>().rfind("http://", 0) != 0 &&
                           url.get<std::string>().rfind("https://", 0) != 0))
    errs["url"] = "The webhook URL must be a valid absolute http(s) URL.";
  auto events = body.value("events", json::array());
  if (!events.is_array())
    errs["events"] = "The webhook events must be a list.";
  else
    for (auto& e : events)
      if (!e.is_string() || !known_events().count(e.get<std::string>()))
        errs["events"] = "Invalid event: " + (e.is_string() ? e.get<std::string>() : e.dump());
  if (!errs.empty())
    return {400, errors({}, errs)};
  webhook w;
  w.id = next_webhook_id_++;
  w.name = name.get<std::string>();
  w.url = url.get<std::string>();
  for (auto& e : events)
    w.events.push_back(e.get<std::string>());
  w.exclude_body = body.value("excludeBody", false);
  w.enabled = body.value("enabled", true);
  if (allow_secret)
    w.secret = body.value("secret", std::string{});
  auto filters = body.value("filters", json::object());
  if (filters.is_object())
    w.jql = filters.value("issue-related-events-section", std::string{});
  if (!w.jql.empty()) {
    std::string err;
    // Filters run as an administrator who can see every project.
    auto q = compile_jql(w.jql, actor ? actor : std::optional<size_t>{0}, err);
    if (!q) {
      --next_webhook_id_;
      return {400, errors({err})};
    }
    w.filter = [this, q](const issue& i) { return jql_matches(*q, i); };
  }
  w.last_updated = clock_.now_ms();
  w.last_updated_user = actor ? users_[*actor].key : "";
  auto [it, inserted] = webhooks_.emplace(w.id, std::move(w));
  (void)inserted;
  return {201, webhook_json(it->second)};
}

http_response jira_sim::route_webhooks(std::vector<std::string_view> seg, ctx& c) {
  if (!c.user)
    return reply(not_authenticated());
  auto& m = c.req.method;
  if (seg.empty()) {
    if (m == "GET") {
      json xs = json::array();
      for (auto& [id, w] : webhooks_)
        xs.push_back(webhook_json(w));
      return reply(200, xs);
    }
    if (m == "POST") {
      auto body = parse_json(c.req.body);
      if (!body)
        return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
      // Jira 9.x has no webhook secret; only Cloud admin webhooks take one (jira.md §7.1).
      return reply(op_register_webhook(*body, c.user, cloud()));
    }
    return reply(405, errors({"Method not allowed"}));
  }
  int64_t id = 0;
  for (char ch : seg[0]) {
    if (ch < '0' || ch > '9') {
      id = -1;
      break;
    }
    id = id * 10 + (ch - '0');
  }
  auto it = webhooks_.find(id);
  if (it == webhooks_.end() || seg.size() != 1)
    return reply(404, errors({"Webhook with id " + std::string{seg[0]} + " does not exist."}));
  if (m == "GET")
    return reply(200, webhook_json(it->second));
  if (m == "DELETE") {
    webhooks_.erase(it);
    return no_content();
  }
  if (m == "PUT") {
    auto body = parse_json(c.req.body);
    if (!body || !body->is_object())
      return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
    json merged = webhook_json(it->second);
    for (auto& [k, v] : body->items())
      merged[k] = v;
    if (!body->contains("secret") && !it->second.secret.empty())
      merged["secret"] = it->second.secret;
    auto saved_next = next_webhook_id_;
    auto r = op_register_webhook(merged, c.user, cloud() || !it->second.secret.empty());
    if (!r.ok())
      return reply(r);
    // Keep the id: move the freshly registered webhook back under the old id.
    auto fresh = webhooks_.find(saved_next);
    auto w = std::move(fresh->second);
    webhooks_.erase(fresh);
    next_webhook_id_ = saved_next;
    w.id = id;
    it->second = std::move(w);
    return reply(200, webhook_json(it->second));
  }
  return reply(405, errors({"Method not allowed"}));
}

std::string jira_sim::expand_url(const std::string& url, const issue& i, size_t actor) const {
  if (url.find("${") == std::string::npos)
    return url;
  auto out = url;
  auto& p = projects_[i.project];
  replace_all(out, "${issue.key}", i.key);
  replace_all(out, "${issue.id}", std::to_string(i.id));
  replace_all(out, "${project.key}", p.key);
  replace_all(out, "${project.id}", p.id);
  replace_all(out, "${modifiedUser.name}", users_[actor].name);
  replace_all(out, "${modifiedUser.key}", users_[actor].key);
  replace_all(out, "${modifiedUser.accountId}", users_[actor].account_id);
  return out;
}

std::optional<std::set<std::string>> jira_sim::webhook_fields() const {
  if (!cloud())
    return std::nullopt;
  // Cloud issue payloads stopped carrying `comment` and `worklog` (present in the 2017 capture, absent from both
  // 2019 captures in tests/data/jira); DC payloads still carry them.
  auto xs = all_field_ids();
  xs.erase("comment");
  xs.erase("worklog");
  return xs;
}

bool jira_sim::has_subscriber(std::string_view webhook_event, const issue& i) const {
  for (auto& [id, w] : webhooks_)
    if (w.enabled && std::find(w.events.begin(), w.events.end(), webhook_event) != w.events.end() &&
        (!w.filter || w.filter(i)))
      return true;
  return false;
}

void jira_sim::emit_issue_event(std::string_view webhook_event, std::string_view type_name, size_t actor,
                                const issue& i, const history* changelog, const comment* c,
                                const std::vector<change_item>* create_items) {
  if (!has_subscriber(webhook_event, i))
    return;  // rendering the full issue is the expensive part; skip it when nobody listens
  json payload = {{"timestamp", clock_.now_ms()},
                  {"webhookEvent", webhook_event},
                  {"issue_event_type_name", type_name},
                  {"user", user_json(actor, 2)},
                  {"issue",
                   {{"id", std::to_string(i.id)},
                    {"self", api_base(2) + "/issue/" + std::to_string(i.id)},
                    {"key", i.key},
                    {"fields", fields_json(i, 2, webhook_fields())}}}};
  auto items_json = [&](const std::vector<change_item>& xs) {
    json items = json::array();
    for (auto& x : xs)
      items.push_back(change_item_json(x));
    return items;
  };
  if (changelog)
    payload["changelog"] = {{"id", std::to_string(changelog->id)}, {"items", items_json(changelog->items)}};
  else if (create_items)
    payload["changelog"] = {{"id", std::to_string(next_history_id_++)}, {"items", items_json(*create_items)}};
  if (c)
    payload["comment"] = comment_json(i, *c, 2);
  enqueue(webhook_event, type_name, i, std::move(payload), actor);
}

void jira_sim::emit_comment_event(std::string_view webhook_event, size_t actor, const issue& i, const comment& c) {
  if (!has_subscriber(webhook_event, i))
    return;
  json payload = {{"timestamp", clock_.now_ms()}, {"webhookEvent", webhook_event}};
  if (cloud()) {
    // Cloud comment events carry a reduced issue and no `user` (zulip comment_created, mattermost cloud-comment-*).
    static const std::set<std::string> reduced = {"summary", "issuetype", "project", "assignee", "priority",
                                                  "status"};
    payload["comment"] = comment_json(i, c, 2);
    payload["issue"] = {{"id", std::to_string(i.id)},
                        {"self", api_base(2) + "/issue/" + std::to_string(i.id)},
                        {"key", i.key},
                        {"fields", fields_json(i, 2, reduced)}};
  } else {
    // DC: no issue object at all (since Jira 7.1); created has no `user`, updated/deleted do.
    if (webhook_event != "comment_created")
      payload["user"] = user_json(actor, 2);
    payload["comment"] = comment_json(i, c, 2);
  }
  enqueue(webhook_event, "", i, std::move(payload), actor);
}

void jira_sim::enqueue(std::string_view webhook_event, std::string_view type_name, const issue& i, json payload,
                       size_t actor) {
  std::string body;
  for (auto& [id, w] : webhooks_) {
    if (!w.enabled || std::find(w.events.begin(), w.events.end(), webhook_event) == w.events.end())
      continue;
    if (w.filter && !w.filter(i))
      continue;
    if (body.empty())
      body = payload.dump();
    delivery d;
    d.id = next_delivery_id_++;
    d.webhook = id;
    d.event = std::string{webhook_event};
    d.type_name = std::string{type_name};
    d.identifier = ids_.uuid();
    d.url = expand_url(w.url, i, actor);
    d.body = w.exclude_body ? std::string{} : body;
    if (!w.secret.empty())
      d.signature = io::hub_signature(w.secret, d.body);
    d.issue_key = i.key;
    d.created = clock_.now_ms();
    queued_.push_back(d.id);
    deliveries_.emplace(d.id, std::move(d));
  }
  flush_queued();
}

void jira_sim::flush_queued() {
  while (send_ && !queued_.empty()) {
    auto id = queued_.front();
    queued_.pop_front();
    auto it = deliveries_.find(id);
    if (it != deliveries_.end() && it->second.state == delivery_state::queued)
      dispatch(it->second);
  }
}

void jira_sim::dispatch(delivery& d) {
  attempt a;
  a.retry = static_cast<int>(d.attempts.size());
  a.at = clock_.now_ms();
  a.call_id = next_call_id_++;
  d.attempts.push_back(a);
  d.state = delivery_state::in_flight;
  call_to_delivery_[a.call_id] = d.id;
  outbound_call call;
  call.id = a.call_id;
  call.url = d.url;
  call.method = "POST";
  call.headers.emplace_back("Content-Type", "application/json");
  call.headers.emplace_back("User-Agent", cloud() ? "Atlassian Webhook HTTP Client"
                                                  : "Atlassian HttpClient 4.5.13 / JIRA-9.12.0 (912000) / Default");
  call.headers.emplace_back("X-Atlassian-Webhook-Identifier", d.identifier);
  call.headers.emplace_back("X-Atlassian-Webhook-Flow", "Primary");
  if (a.retry > 0)
    call.headers.emplace_back("X-Atlassian-Webhook-Retry", std::to_string(a.retry));
  if (!d.signature.empty())
    call.headers.emplace_back("X-Hub-Signature", d.signature);
  call.body = d.body;
  // `d` may be touched by a synchronous on_outbound_result inside send_; do not use it afterwards.
  send_(std::move(call));
}

void jira_sim::on_outbound_result(const outbound_result& result) {
  auto c = call_to_delivery_.find(result.id);
  if (c == call_to_delivery_.end())
    return;
  auto did = c->second;
  call_to_delivery_.erase(c);
  auto it = deliveries_.find(did);
  if (it == deliveries_.end())
    return;
  auto& d = it->second;
  auto a = std::find_if(d.attempts.begin(), d.attempts.end(), [&](auto& x) { return x.call_id == result.id; });
  if (a == d.attempts.end() || a->done)
    return;
  a->done = true;
  a->status = result.status;
  a->error = result.error;
  if (result.status >= 200 && result.status < 300) {
    d.state = delivery_state::delivered;
  } else if (retryable(result.status) && static_cast<int>(d.attempts.size()) <= max_retries) {
    d.state = delivery_state::retry_wait;
    d.next_at = clock_.now_ms() + retry_delay_ms(static_cast<int>(d.attempts.size()));
    retry_at_.emplace(d.next_at, d.id);
  } else {
    d.state = delivery_state::failed;
  }
}

void jira_sim::tick() {
  auto now = clock_.now_ms();
  flush_queued();
  while (send_ && !retry_at_.empty() && retry_at_.begin()->first <= now) {
    auto id = retry_at_.begin()->second;
    retry_at_.erase(retry_at_.begin());
    auto it = deliveries_.find(id);
    if (it != deliveries_.end() && it->second.state == delivery_state::retry_wait)
      dispatch(it->second);
  }
  // Bound memory in long benchmarks: forget the oldest finished deliveries.
  for (auto it = deliveries_.begin(); deliveries_.size() > max_kept_deliveries && it != deliveries_.end();) {
    if (it->second.state == delivery_state::delivered || it->second.state == delivery_state::failed)
      it = deliveries_.erase(it);
    else
      ++it;
  }
}

json jira_sim::delivery_json(const delivery& d, bool with_body) const {
  json attempts = json::array();
  for (auto& a : d.attempts) {
    json j = {{"retry", a.retry}, {"at", a.at}, {"done", a.done}, {"status", a.status}};
    if (!a.error.empty())
      j["error"] = a.error;
    attempts.push_back(j);
  }
  json j = {{"id", d.id},
            {"webhookId", d.webhook},
            {"event", d.event},
            {"issueEventTypeName", d.type_name},
            {"issueKey", d.issue_key},
            {"identifier", d.identifier},
            {"url", d.url},
            {"state", state_name(d.state)},
            {"created", d.created},
            {"signed", !d.signature.empty()},
            {"attempts", attempts}};
  if (d.state == delivery_state::retry_wait)
    j["nextAttemptAt"] = d.next_at;
  if (with_body)
    j["body"] = d.body.empty() ? json(nullptr) : json::parse(d.body, nullptr, false);
  return j;
}

} // namespace dutydesk::sim
