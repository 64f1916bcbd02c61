// Jira simulator: control API (/control/jira-dc/..., /control/jira-cloud/...). Humans act through the same op_*
// code as REST, so every action validates like Jira and raises the same webhooks. Documented in docs/sim/jira.md.
#include <algorithm>

#include "sim/jira.hpp"

namespace dutydesk::sim {

using namespace jira_detail;

namespace {

http_response control_reply(int status, const json& body) {
  http_response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

http_response control_error(int status, std::string message) {
  return control_reply(status, {{"error", std::move(message)}});
}

http_response op_reply(const op_result& r, const json& ok_body) {
  if (!r.ok())
    return control_reply(r.status, r.body);
  return control_reply(r.status == 204 ? 200 : r.status, ok_body);
}

} // namespace

std::optional<size_t> jira_sim::control_actor(const json& body, const http_request& req, std::string& err) const {
  std::string who;
  if (body.is_object() && body.contains("as") && body["as"].is_string())
    who = body["as"].get<std::string>();
  else if (auto q = req.param("as"))
    who = *q;
  if (who.empty()) {
    err = "missing 'as': the name of the seeded Jira user who acts";
    return std::nullopt;
  }
  auto u = find_user_by_name(who);
  if (!u)
    err = "unknown user '" + who + "'";
  return u;
}

json jira_sim::control_issue_json(const issue& i) const {
  auto uname = [&](const std::optional<size_t>& u) { return u ? json(users_[*u].name) : json(nullptr); };
  auto* s = status(i.f.status);
  json comments = json::array();
  for (auto& c : i.comments) {
    json j = {{"id", std::to_string(c.id)}, {"author", users_[c.author].name},
              {"updateAuthor", users_[c.update_author].name}, {"body", c.body.text},
              {"created", jira_time(c.created)}, {"updated", jira_time(c.updated)},
              {"properties", c.properties}};
    if (!c.body.adf.is_null())
      j["bodyAdf"] = c.body.adf;
    if (!c.visibility.is_null())
      j["visibility"] = c.visibility;
    comments.push_back(j);
  }
  json history = json::array();
  for (auto& h : i.histories) {
    json items = json::array();
    for (auto& x : h.items)
      items.push_back(change_item_json(x));
    history.push_back({{"id", std::to_string(h.id)}, {"author", users_[h.author].name},
                       {"created", jira_time(h.created)}, {"items", items}});
  }
  json transitions = json::array();
  for (auto& t : i.transitions)
    transitions.push_back({{"transitionId", t.transition_id}, {"name", t.name},
                           {"from", status(t.from_status) ? status(t.from_status)->name : t.from_status},
                           {"to", status(t.to_status) ? status(t.to_status)->name : t.to_status},
                           {"by", users_[t.actor].name}, {"at", jira_time(t.at)}});
  json links = json::array();
  for (auto& l : i.remote_links) {
    json j = l.body;
    j["id"] = l.id;
    links.push_back(j);
  }
  json custom = json::object();
  for (auto& f : custom_fields_) {
    auto v = custom_value_json(f, i, 2);
    if (!v.is_null())
      custom[f.id] = v;
  }
  json j = {{"id", std::to_string(i.id)},
            {"key", i.key},
            {"project", projects_[i.project].key},
            {"issuetype", i.issuetype},
            {"summary", i.f.summary},
            {"description", i.f.description.present ? json(i.f.description.text) : json(nullptr)},
            {"labels", i.f.labels},
            {"status", {{"id", i.f.status}, {"name", s ? s->name : ""}, {"category", s ? s->category : ""}}},
            {"resolution", i.f.resolution && resolution(*i.f.resolution) ? json(resolution(*i.f.resolution)->name)
                                                                         : json(nullptr)},
            {"assignee", uname(i.f.assignee)},
            {"reporter", users_[i.f.reporter].name},
            {"creator", users_[i.creator].name},
            {"priority", priority(i.f.priority) ? json(priority(i.f.priority)->name) : json(nullptr)},
            {"created", jira_time(i.created)},
            {"updated", jira_time(i.updated)},
            {"customFields", custom},
            {"comments", comments},
            {"history", history},
            {"transitions", transitions},
            {"remoteLinks", links},
            {"properties", i.properties}};
  if (!i.f.description.adf.is_null())
    j["descriptionAdf"] = i.f.description.adf;
  return j;
}

http_response jira_sim::handle_control(const http_request& req) {
  try {
    return control(req);
  } catch (const std::exception& e) {
    return control_error(400, std::string{"bad control request: "} + e.what());
  }
}

http_response jira_sim::control(const http_request& req) {
  auto parts = split_path(req.path);
  std::vector<std::string_view> seg{parts.begin(), parts.end()};
  auto& m = req.method;
  json body = json::object();
  if (!req.body.empty()) {
    auto parsed = parse_json(req.body);
    if (!parsed)
      return control_error(400, "body is not valid JSON");
    body = *parsed;
  }
  if (seg.empty())
    return control_error(404, "unknown control endpoint");
  auto r = seg[0];
  std::string err;

  if (r == "reset" && seg.size() == 1 && m == "POST") {
    load_seed(seed_);
    return control_reply(200, {{"reset", true}});
  }
  if (r == "users" && seg.size() == 1 && m == "GET") {
    json xs = json::array();
    for (auto& u : users_)
      xs.push_back({{"name", u.name}, {"key", u.key}, {"accountId", u.account_id},
                    {"displayName", u.display_name}, {"email", u.email}});
    return control_reply(200, xs);
  }
  // POST /tokens {"user": NAME, "token": T}: gives the user a new personal access token / API token ("" revokes it),
  // as an administrator rotating or revoking a token does; the old one answers 401 from then on.
  if (r == "tokens" && seg.size() == 1 && m == "POST") {
    auto u = find_user_by_name(body.value("user", std::string{}));
    if (!u)
      return control_error(404, "unknown user");
    auto& x = users_[*u];
    if (!x.token.empty())
      user_by_token_.erase(x.token);
    x.token = body.value("token", std::string{});
    if (!x.token.empty())
      user_by_token_[x.token] = *u;
    return control_reply(200, {{"user", x.name}, {"has_token", !x.token.empty()}});
  }
  // GET /statuses: the seeded statuses in their order (the live page's board columns).
  if (r == "statuses" && seg.size() == 1 && m == "GET") {
    json xs = json::array();
    for (auto& s : statuses_)
      xs.push_back({{"id", s.id}, {"name", s.name}, {"category", s.category}});
    return control_reply(200, xs);
  }
  if (r == "projects") {
    if (seg.size() == 1 && m == "GET") {
      json xs = json::array();
      for (auto& p : projects_)
        xs.push_back({{"id", p.id}, {"key", p.key}, {"name", p.name}, {"lead", users_[p.lead].name},
                      {"required_fields", p.required_fields}});
      return control_reply(200, xs);
    }
    if (seg.size() == 3 && seg[2] == "required_fields" && (m == "PUT" || m == "POST")) {
      auto pidx = find_project(seg[1]);
      if (!pidx)
        return control_error(404, "unknown project '" + std::string{seg[1]} + "'");
      auto xs = body.is_object() ? body.value("fields", json()) : body;
      if (!xs.is_array())
        return control_error(400, "expected {\"fields\": [field ids]}");
      std::vector<std::string> ids;
      for (auto& x : xs) {
        if (!x.is_string())
          return control_error(400, "field ids must be strings");
        auto id = x.get<std::string>();
        bool known = custom_by_id_.count(id) || id == "description" || id == "labels" || id == "assignee" ||
                     id == "summary" || id == "priority" || id == "reporter";
        if (!known)
          return control_error(400, "unknown field '" + id + "'");
        ids.push_back(id);
      }
      projects_[*pidx].required_fields = ids;
      return control_reply(200, {{"key", projects_[*pidx].key}, {"required_fields", ids}});
    }
    return control_error(404, "unknown control endpoint");
  }
  if (r == "webhooks") {
    if (seg.size() == 1 && m == "GET") {
      json xs = json::array();
      for (auto& [id, w] : webhooks_) {
        auto j = webhook_json(w);
        j["id"] = id;
        j["hasSecret"] = !w.secret.empty();
        xs.push_back(j);
      }
      return control_reply(200, xs);
    }
    if (seg.size() == 1 && m == "POST") {
      json b = body;
      if (b.is_object() && b.contains("jql") && !b.contains("filters"))
        b["filters"] = {{"issue-related-events-section", b["jql"]}};
      auto res = op_register_webhook(b, bot_, true);
      if (!res.ok())
        return control_reply(res.status, res.body);
      auto j = res.body;
      j["id"] = std::prev(webhooks_.end())->first;
      return control_reply(201, j);
    }
    if (seg.size() == 2 && m == "DELETE") {
      auto id = to_int(seg[1]);
      if (!id || !webhooks_.erase(*id))
        return control_error(404, "unknown webhook");
      return control_reply(200, {{"deleted", *id}});
    }
    return control_error(404, "unknown control endpoint");
  }
  if (r == "deliveries" && m == "GET") {
    if (seg.size() == 2) {
      auto id = to_int(seg[1]);
      auto it = id ? deliveries_.find(static_cast<uint64_t>(*id)) : deliveries_.end();
      if (it == deliveries_.end())
        return control_error(404, "unknown delivery");
      return control_reply(200, delivery_json(it->second, true));
    }
    auto wh = req.param("webhook");
    auto state = req.param("state");
    auto event = req.param("event");
    auto key = req.param("issue");
    bool with_body = req.param("body").value_or("false") == "true";
    auto limit = int_param(req, "limit", 1000);
    json xs = json::array();
    for (auto it = deliveries_.rbegin(); it != deliveries_.rend() && static_cast<int64_t>(xs.size()) < limit; ++it) {
      auto& d = it->second;
      if (wh && std::to_string(d.webhook) != *wh)
        continue;
      if (event && d.event != *event)
        continue;
      if (key && d.issue_key != *key)
        continue;
      auto j = delivery_json(d, with_body);
      if (state && j["state"] != *state)
        continue;
      xs.push_back(j);
    }
    std::reverse(xs.begin(), xs.end());
    return control_reply(200, xs);
  }
  if (r != "issues")
    return control_error(404, "unknown control endpoint");

  if (seg.size() == 1) {
    if (m == "GET") {
      auto project = req.param("project");
      json xs = json::array();
      for (auto& i : issues_)
        if (!project || projects_[i.project].key == *project)
          xs.push_back(control_issue_json(i));
      return control_reply(200, xs);
    }
    if (m != "POST")
      return control_error(405, "method not allowed");
    auto actor = control_actor(body, req, err);
    if (!actor)
      return control_error(400, err);
    json fields = body.value("fields", json::object());
    if (body.contains("project"))
      fields["project"] = {{"key", body["project"]}};
    if (body.contains("issuetype"))
      fields["issuetype"] = body["issuetype"].is_string() ? json{{"name", body["issuetype"]}} : body["issuetype"];
    else if (fields.contains("project") && !fields.contains("issuetype")) {
      if (auto p = find_project(fields["project"].value("key", "")); p && !projects_[*p].issue_types.empty())
        fields["issuetype"] = {{"id", projects_[*p].issue_types.front().id}};
    }
    for (auto* k : {"summary", "labels"})
      if (body.contains(k))
        fields[k] = body[k];
    int api = 2;
    if (body.contains("description")) {
      fields["description"] = body["description"];
      if (body["description"].is_object() && cloud())
        api = 3;
    }
    if (body.contains("assignee")) {
      auto& a = body["assignee"];
      if (a.is_null())
        fields["assignee"] = nullptr;
      else if (auto u = find_user_by_name(a.get<std::string>()))
        fields["assignee"] = cloud() ? json{{"accountId", users_[*u].account_id}} : json{{"name", users_[*u].name}};
      else
        return control_error(400, "unknown assignee '" + a.get<std::string>() + "'");
    }
    if (body.contains("priority"))
      fields["priority"] = {{"name", body["priority"]}};
    json create = {{"fields", fields}};
    if (body.contains("properties"))
      create["properties"] = body["properties"];
    auto res = op_create_issue(*actor, create, api);
    if (!res.ok())
      return control_reply(res.status, res.body);
    return control_reply(201, control_issue_json(*find_issue(res.body["key"].get<std::string>())));
  }

  auto* i = find_issue(seg[1]);
  if (!i)
    return control_error(404, "unknown issue '" + std::string{seg[1]} + "'");
  if (seg.size() == 2) {
    if (m == "GET")
      return control_reply(200, control_issue_json(*i));
    if (m == "PUT") {
      auto actor = control_actor(body, req, err);
      if (!actor)
        return control_error(400, err);
      json edit = json::object();
      if (body.contains("fields"))
        edit["fields"] = body["fields"];
      if (body.contains("update"))
        edit["update"] = body["update"];
      auto res = op_edit_issue(*actor, *i, edit, 2);
      return op_reply(res, control_issue_json(*i));
    }
    return control_error(405, "method not allowed");
  }
  auto sub = seg[2];
  if (sub == "comments") {
    auto actor = control_actor(body, req, err);
    if (!actor)
      return control_error(400, err);
    int api = body.is_object() && body.contains("body") && body["body"].is_object() && cloud() ? 3 : 2;
    if (seg.size() == 3 && m == "POST") {
      json b = {{"body", body.value("body", json())}};
      if (body.contains("visibility"))
        b["visibility"] = body["visibility"];
      if (body.contains("properties"))
        b["properties"] = body["properties"];
      auto res = op_add_comment(*actor, *i, b, api);
      if (!res.ok())
        return control_reply(res.status, res.body);
      return control_reply(201, comment_json(*i, i->comments.back(), 2));
    }
    auto cid = seg.size() == 4 ? to_int(seg[3]) : std::nullopt;
    if (!cid)
      return control_error(404, "unknown comment");
    if (m == "PUT") {
      auto res = op_update_comment(*actor, *i, *cid, {{"body", body.value("body", json())}}, api);
      if (!res.ok())
        return control_reply(res.status, res.body);
      return control_reply(200, comment_json(*i, *find_comment(*i, *cid), 2));
    }
    if (m == "DELETE") {
      auto res = op_delete_comment(*actor, *i, *cid);
      return op_reply(res, {{"deleted", std::to_string(*cid)}});
    }
    return control_error(405, "method not allowed");
  }
  if ((sub == "transitions" || sub == "transition") && seg.size() == 3 && m == "POST") {
    auto actor = control_actor(body, req, err);
    if (!actor)
      return control_error(400, err);
    const transition_def* t = nullptr;
    auto available = available_transitions(*i);
    if (body.contains("transition")) {
      auto id = body["transition"].is_string() ? body["transition"].get<std::string>() : body["transition"].dump();
      for (auto* x : available)
        if (x->id == id)
          t = x;
      if (!t && !transition(id))
        return control_error(400, "unknown transition '" + id + "'");
      if (!t)
        return control_reply(400, errors({"Transition id '" + id + "' is not valid for this issue."}));
    } else if (body.contains("to") && body["to"].is_string()) {
      auto* target = status_by_name(body["to"].get<std::string>());
      if (!target)
        return control_error(400, "unknown status '" + body["to"].get<std::string>() + "'");
      for (auto* x : available)
        if (x->to == target->id)
          t = x;
      if (!t) {
        json names = json::array();
        for (auto* x : available)
          names.push_back(status(x->to) ? status(x->to)->name : x->to);
        return control_reply(400, {{"error", "no transition from '" + std::string{status(i->f.status)->name} +
                                                 "' to '" + target->name + "'"},
                                   {"available", names}});
      }
    } else {
      return control_error(400, "expected 'to' (target status name) or 'transition' (id)");
    }
    json tb = {{"transition", {{"id", t->id}}}};
    bool on_screen = std::find(t->screen_fields.begin(), t->screen_fields.end(), "resolution") !=
                     t->screen_fields.end();
    bool needed = std::find(t->required_fields.begin(), t->required_fields.end(), "resolution") !=
                  t->required_fields.end();
    if (body.contains("resolution"))
      tb["fields"]["resolution"] = body["resolution"].is_null() ? json(nullptr) : json{{"name", body["resolution"]}};
    else if (on_screen && needed && !resolutions_.empty())
      tb["fields"]["resolution"] = {{"name", resolutions_.front().name}};  // what the UI preselects
    if (body.contains("comment"))
      tb["update"]["comment"] = json::array({{{"add", {{"body", body["comment"]}}}}});
    auto res = op_transition(*actor, *i, tb, 2);
    return op_reply(res, control_issue_json(*i));
  }
  if (sub == "assign" && seg.size() == 3 && (m == "POST" || m == "PUT")) {
    auto actor = control_actor(body, req, err);
    if (!actor)
      return control_error(400, err);
    if (!body.contains("assignee"))
      return control_error(400, "expected 'assignee' (user name, \"-1\" for the default, or null)");
    std::optional<size_t> who;
    auto& a = body["assignee"];
    if (a.is_string() && a.get<std::string>() == "-1") {
      who = projects_[i->project].lead;
    } else if (a.is_string()) {
      who = find_user_by_name(a.get<std::string>());
      if (!who)
        return control_error(400, "unknown assignee '" + a.get<std::string>() + "'");
    } else if (!a.is_null()) {
      return control_error(400, "assignee must be a user name or null");
    }
    auto res = op_assign(*actor, *i, who);
    return op_reply(res, control_issue_json(*i));
  }
  return control_error(404, "unknown control endpoint");
}

} // namespace dutydesk::sim
