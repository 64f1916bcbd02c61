// Jira simulator: comments, transitions, assignee, remote links, entity properties, users and small resources.
#include <algorithm>

#include "sim/jira.hpp"

namespace dutydesk::sim {

using namespace jira_detail;

namespace {

std::string lower(std::string_view s) {
  std::string r{s};
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return r;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && lower(text.substr(0, prefix.size())) == lower(prefix);
}

} // namespace

comment* jira_sim::find_comment(issue& i, int64_t id) {
  auto it = std::lower_bound(i.comments.begin(), i.comments.end(), id,
                             [](const comment& c, int64_t v) { return c.id < v; });
  return it != i.comments.end() && it->id == id ? &*it : nullptr;
}

op_result jira_sim::parse_comment_body(const json& body, int api, rich_text& out) const {
  if (!body.is_object() || !body.contains("body") || body["body"].is_null())
    return {400, errors({}, {{"comment", "Comment body can not be empty!"}})};
  auto& b = body["body"];
  if (api == 3) {
    if (!b.is_object() || !valid_adf(b))
      return {400, errors({}, {{"comment", "Comment body is not valid!"}})};
    auto text = adf_to_wiki(b);
    if (text.find_first_not_of(" \n\t") == std::string::npos)
      return {400, errors({}, {{"comment", "Comment body can not be empty!"}})};
    out.present = true;
    out.adf = b;
    out.text = text;
    return {200, nullptr};
  }
  if (!b.is_string())
    return {400, errors({"Can not deserialize instance of java.lang.String out of START_OBJECT token"})};
  auto s = b.get<std::string>();
  if (s.find_first_not_of(" \n\t\r") == std::string::npos)
    return {400, errors({}, {{"comment", "Comment body can not be empty!"}})};
  out.present = true;
  out.text = s;
  out.adf = nullptr;
  return {200, nullptr};
}

op_result jira_sim::op_add_comment(size_t actor, issue& i, const json& body, int api) {
  rich_text text;
  if (auto r = parse_comment_body(body, api, text); !r.ok())
    return r;
  comment c;
  if (body.contains("visibility") && !body["visibility"].is_null()) {
    auto& v = body["visibility"];
    if (!v.is_object() || !v.contains("type") || !(v["type"] == "group" || v["type"] == "role") ||
        !v.contains("value") || !v["value"].is_string())
      return {400, errors({}, {{"commentLevel", "You are currently not a member of the project role or group."}})};
    c.visibility = {{"type", v["type"]}, {"value", v["value"]}};
    if (cloud())
      c.visibility["identifier"] = v["value"];
  }
  if (body.contains("properties")) {
    auto& ps = body["properties"];
    if (!ps.is_array())
      return {400, errors({"Can not deserialize instance of java.util.ArrayList out of START_OBJECT token"})};
    for (auto& p : ps) {
      if (!p.is_object() || !p.contains("key") || !p["key"].is_string())
        return {400, errors({"Property key is required."})};
      c.properties[p["key"].get<std::string>()] = p.value("value", json(nullptr));
    }
  }
  c.id = next_comment_id_++;
  c.author = c.update_author = actor;
  c.body = std::move(text);
  c.created = c.updated = clock_.now_ms();
  i.comments.push_back(std::move(c));
  i.updated = clock_.now_ms();
  comment_issue_[i.comments.back().id] = issue_by_id_.at(std::to_string(i.id));
  auto& stored = i.comments.back();
  emit_comment_event("comment_created", actor, i, stored);
  emit_issue_event("jira:issue_updated", "issue_commented", actor, i, nullptr, &stored);
  return {201, comment_json(i, stored, api)};
}

op_result jira_sim::op_update_comment(size_t actor, issue& i, int64_t comment_id, const json& body, int api) {
  auto* c = find_comment(i, comment_id);
  if (!c)
    return {404, errors({"Can not find a comment for the id: " + std::to_string(comment_id) + "."})};
  rich_text text;
  if (auto r = parse_comment_body(body, api, text); !r.ok())
    return r;
  if (body.contains("visibility")) {
    auto& v = body["visibility"];
    if (v.is_null())
      c->visibility = nullptr;
    else if (v.is_object() && v.contains("type") && v.contains("value"))
      c->visibility = {{"type", v["type"]}, {"value", v["value"]}};
  }
  c->body = std::move(text);
  c->update_author = actor;
  c->updated = clock_.now_ms();
  i.updated = c->updated;
  emit_comment_event("comment_updated", actor, i, *c);
  emit_issue_event("jira:issue_updated", "issue_comment_edited", actor, i, nullptr, c);
  return {200, comment_json(i, *c, api)};
}

op_result jira_sim::op_delete_comment(size_t actor, issue& i, int64_t comment_id) {
  auto* c = find_comment(i, comment_id);
  if (!c)
    return {404, errors({"Can not find a comment for the id: " + std::to_string(comment_id) + "."})};
  comment gone = *c;
  i.comments.erase(i.comments.begin() + (c - i.comments.data()));
  comment_issue_.erase(comment_id);
  i.updated = clock_.now_ms();
  emit_comment_event("comment_deleted", actor, i, gone);
  emit_issue_event("jira:issue_updated", "issue_comment_deleted", actor, i, nullptr, &gone);
  return {204, nullptr};
}

http_response jira_sim::comments(ctx& c, issue& i, std::vector<std::string_view> rest) {
  auto& m = c.req.method;
  if (rest.empty()) {
    if (m == "POST") {
      auto body = parse_json(c.req.body);
      if (!body)
        return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
      return reply(op_add_comment(*c.user, i, *body, c.api));
    }
    if (m != "GET")
      return reply(405, errors({"Method not allowed"}));
    auto start = std::max<int64_t>(0, int_param(c.req, "startAt", 0));
    auto max = std::max<int64_t>(0, int_param(c.req, "maxResults", 5000));
    auto order = c.req.param("orderBy").value_or("created");
    if (order != "created" && order != "+created" && order != "-created")
      return reply(400, errors({"The orderBy value '" + order + "' is not supported; use created, +created or -created."}));
    std::vector<const comment*> xs;
    for (auto& x : i.comments)
      xs.push_back(&x);
    if (order == "-created")
      std::reverse(xs.begin(), xs.end());
    json out = json::array();
    for (int64_t k = start; k < static_cast<int64_t>(xs.size()) && k < start + max; ++k)
      out.push_back(comment_json(i, *xs[static_cast<size_t>(k)], c.api));
    return reply(200, {{"startAt", start}, {"maxResults", max}, {"total", xs.size()}, {"comments", out}});
  }
  auto id = to_int(rest[0]);
  if (!id || rest.size() != 1)
    return reply(404, errors({"Can not find a comment for the id: " + std::string{rest[0]} + "."}));
  if (m == "GET") {
    auto* x = find_comment(i, *id);
    if (!x)
      return reply(404, errors({"Can not find a comment for the id: " + std::to_string(*id) + "."}));
    return reply(200, comment_json(i, *x, c.api));
  }
  if (m == "PUT") {
    auto body = parse_json(c.req.body);
    if (!body)
      return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
    return reply(op_update_comment(*c.user, i, *id, *body, c.api));
  }
  if (m == "DELETE")
    return reply(op_delete_comment(*c.user, i, *id));
  return reply(405, errors({"Method not allowed"}));
}

std::vector<const transition_def*> jira_sim::available_transitions(const issue& i) const {
  std::vector<const transition_def*> xs;
  for (auto& t : transitions_)
    if (t.from.empty() || std::find(t.from.begin(), t.from.end(), i.f.status) != t.from.end())
      xs.push_back(&t);
  return xs;
}

json jira_sim::transition_json(const transition_def& t, bool with_fields, int api) const {
  json j = {{"id", t.id},
            {"name", t.name},
            {"to", status_json(t.to, api)},
            {"hasScreen", !t.screen_fields.empty()},
            {"isGlobal", t.from.empty()},
            {"isInitial", false},
            {"isConditional", false}};
  if (cloud()) {
    j["isAvailable"] = true;
    j["isLooped"] = false;
  }
  if (with_fields) {
    json fs = json::object();
    auto required = [&](const std::string& id) {
      return std::find(t.required_fields.begin(), t.required_fields.end(), id) != t.required_fields.end();
    };
    for (auto& id : t.screen_fields) {
      json f;
      if (id == "resolution") {
        json allowed = json::array();
        for (auto& r : resolutions_)
          allowed.push_back(resolution_json(r.id, api));
        f = {{"required", required(id)},
             {"schema", {{"type", "resolution"}, {"system", "resolution"}}},
             {"name", "Resolution"},
             {"operations", {"set"}},
             {"allowedValues", allowed}};
      } else if (id == "assignee") {
        f = {{"required", required(id)},
             {"schema", {{"type", "user"}, {"system", "assignee"}}},
             {"name", "Assignee"},
             {"operations", {"set"}}};
      } else if (auto cf = custom_by_id_.find(id); cf != custom_by_id_.end()) {
        auto& d = custom_fields_[cf->second];
        f = {{"required", required(id)},
             {"schema", {{"type", d.schema_type}, {"custom", d.custom}, {"customId", d.custom_id}}},
             {"name", d.name},
             {"operations", {"set"}}};
        if (!d.options.empty()) {
          json allowed = json::array();
          for (auto& o : d.options)
            allowed.push_back(option_json(d, o.id, api));
          f["allowedValues"] = allowed;
        }
      } else {
        continue;
      }
      f[cloud() ? "key" : "fieldId"] = id;
      fs[id] = f;
    }
    j["fields"] = fs;
  }
  return j;
}

op_result jira_sim::op_transition(size_t actor, issue& i, const json& body, int api) {
  if (!body.is_object() || !body.contains("transition") || !body["transition"].is_object() ||
      !body["transition"].contains("id"))
    return {400, errors({"Missing 'transition' identifier"})};
  auto& tid = body["transition"]["id"];
  std::string id = tid.is_string() ? tid.get<std::string>() : tid.is_number_integer() ? tid.dump() : "";
  const transition_def* t = nullptr;
  for (auto* x : available_transitions(i))
    if (x->id == id)
      t = x;
  if (!t)
    return {400, errors({"Transition id '" + id + "' is not valid for this issue."})};
  issue_fields f = i.f;
  json errs = json::object();
  bool resolution_given = false;
  auto fields = body.value("fields", json::object());
  if (!fields.is_object())
    return {400, errors({"Can not deserialize instance of java.util.HashMap"})};
  auto& p = projects_[i.project];
  for (auto& [key, value] : fields.items()) {
    if (std::find(t->screen_fields.begin(), t->screen_fields.end(), key) == t->screen_fields.end()) {
      errs[key] = "Field '" + key + "' cannot be set. It is not on the appropriate screen, or unknown.";
      continue;
    }
    if (key == "resolution") {
      if (value.is_null()) {
        f.resolution.reset();
        continue;
      }
      const named* r = nullptr;
      for (auto& x : resolutions_)
        if (value.is_object() && ((value.contains("id") && value["id"] == x.id) ||
                                  (value.contains("name") && value["name"] == x.name)))
          r = &x;
      if (!r) {
        errs[key] = "Could not find valid 'id' or 'name' in resolution object.";
        continue;
      }
      f.resolution = r->id;
      resolution_given = true;
    } else {
      set_field(key, value, api, p, f, errs);
    }
  }
  for (auto& req : t->required_fields) {
    if (errs.contains(req))
      continue;
    bool has = req == "resolution" ? resolution_given : fields.contains(req) && !fields[req].is_null();
    if (!has) {
      std::string label = req == "resolution" ? "Resolution" : req;
      if (auto cf = custom_by_id_.find(req); cf != custom_by_id_.end())
        label = custom_fields_[cf->second].name;
      errs[req] = label + " is required.";
    }
  }
  rich_text comment_text;
  bool with_comment = false;
  if (body.contains("update") && body["update"].is_object() && body["update"].contains("comment")) {
    auto& ops = body["update"]["comment"];
    if (ops.is_array() && !ops.empty() && ops[0].is_object() && ops[0].contains("add")) {
      if (auto r = parse_comment_body(ops[0]["add"], api, comment_text); !r.ok())
        return r;
      with_comment = true;
    }
  }
  if (!errs.empty())
    return {400, errors({}, errs)};
  auto* to = status(t->to);
  auto* from = status(i.f.status);
  f.status = t->to;
  // Default workflows clear the resolution when an issue leaves the done category ("Reopen").
  if (to && to->category != "done" && !resolution_given)
    f.resolution.reset();
  auto now = clock_.now_ms();
  auto items = diff(i.f, f);
  if (from && to && from->category != to->category)
    i.status_changed = now;
  if (f.resolution && !i.f.resolution)
    i.resolutiondate = now;
  if (!f.resolution)
    i.resolutiondate.reset();
  auto old_status = i.f.status;
  i.f = std::move(f);
  i.updated = now;
  i.transitions.push_back({t->id, t->name, old_status, t->to, actor, now});
  const comment* added = nullptr;
  if (with_comment) {
    comment c;
    c.id = next_comment_id_++;
    c.author = c.update_author = actor;
    c.body = std::move(comment_text);
    c.created = c.updated = now;
    i.comments.push_back(std::move(c));
    comment_issue_[i.comments.back().id] = issue_by_id_.at(std::to_string(i.id));
    added = &i.comments.back();
  }
  auto* h = items.empty() ? nullptr : &add_history(i, actor, std::move(items));
  emit_issue_event("jira:issue_updated", t->event, actor, i, h, added);
  if (added)
    emit_comment_event("comment_created", actor, i, *added);
  return {204, nullptr};
}

http_response jira_sim::transitions(ctx& c, issue& i) {
  if (c.req.method == "GET") {
    bool with_fields = c.req.param("expand").value_or("").find("transitions.fields") != std::string::npos;
    auto only = c.req.param("transitionId");
    json xs = json::array();
    for (auto* t : available_transitions(i))
      if (!only || *only == t->id)
        xs.push_back(transition_json(*t, with_fields, c.api));
    return reply(200, {{"expand", "transitions"}, {"transitions", xs}});
  }
  if (c.req.method != "POST")
    return reply(405, errors({"Method not allowed"}));
  auto body = parse_json(c.req.body);
  if (!body)
    return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
  return reply(op_transition(*c.user, i, *body, c.api));
}

op_result jira_sim::op_assign(size_t actor, issue& i, std::optional<size_t> who) {
  issue_fields f = i.f;
  f.assignee = who;
  auto items = diff(i.f, f);
  if (items.empty())
    return {204, nullptr};
  i.f = std::move(f);
  i.updated = clock_.now_ms();
  auto& h = add_history(i, actor, std::move(items));
  emit_issue_event("jira:issue_updated", "issue_assigned", actor, i, &h, nullptr);
  return {204, nullptr};
}

http_response jira_sim::assignee(ctx& c, issue& i) {
  if (c.req.method != "PUT")
    return reply(405, errors({"Method not allowed"}));
  auto body = parse_json(c.req.body);
  if (!body)
    return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
  if (body->is_null())
    return reply(op_assign(*c.user, i, std::nullopt));
  std::string err;
  auto who = parse_user_ref(*body, projects_[i.project], err);
  if (!who)
    return reply(400, errors({}, {{"assignee", err}}));
  return reply(op_assign(*c.user, i, *who));
}

http_response jira_sim::remotelinks(ctx& c, issue& i, std::vector<std::string_view> rest) {
  auto& m = c.req.method;
  auto link_json = [&](const remote_link& l) {
    json j = {{"id", l.id}, {"self", api_base(c.api) + "/issue/" + i.key + "/remotelink/" + std::to_string(l.id)}};
    if (!l.global_id.empty())
      j["globalId"] = l.global_id;
    j["application"] = l.body.value("application", json::object());
    if (l.body.contains("relationship"))
      j["relationship"] = l.body["relationship"];
    j["object"] = l.body.value("object", json::object());
    return j;
  };
  auto not_found = [&] { return reply(404, errors({"No remote link found."})); };
  auto find_by_id = [&](std::string_view s) -> remote_link* {
    auto id = to_int(s);
    for (auto& l : i.remote_links)
      if (id && l.id == *id)
        return &l;
    return nullptr;
  };
  auto validate = [&](const json& body) -> op_result {
    if (!body.is_object())
      return {400, errors({"Can not deserialize instance of RemoteIssueLinkCreateOrUpdateRequest"})};
    json errs = json::object();
    auto obj = body.value("object", json::object());
    if (!obj.is_object() || !obj.contains("url") || !obj["url"].is_string() || obj["url"].get<std::string>().empty())
      errs["url"] = "'url' is required.";
    if (!obj.is_object() || !obj.contains("title") || !obj["title"].is_string() ||
        obj["title"].get<std::string>().empty())
      errs["title"] = "'title' is required.";
    if (!errs.empty())
      return {400, errors({}, errs)};
    return {200, nullptr};
  };
  auto record = [&](const remote_link& l, bool created) {
    // Jira records remote links in the issue history ("RemoteIssueLink") and raises an issue update.
    auto title = l.body["object"].value("title", "");
    auto item = make_item("RemoteIssueLink", "RemoteIssueLink", "jira", nullptr, nullptr, std::to_string(l.id),
                          "This issue links to \"" + title + "\"");
    i.updated = clock_.now_ms();
    if (created) {
      auto& h = add_history(i, *c.user, {item});
      emit_issue_event("jira:issue_updated", "issue_updated", *c.user, i, &h, nullptr);
    }
  };
  if (rest.empty()) {
    if (m == "GET") {
      if (auto g = c.req.param("globalId")) {
        for (auto& l : i.remote_links)
          if (l.global_id == *g)
            return reply(200, link_json(l));
        return not_found();
      }
      json xs = json::array();
      for (auto& l : i.remote_links)
        xs.push_back(link_json(l));
      return reply(200, xs);
    }
    if (m == "POST") {
      auto body = parse_json(c.req.body);
      if (!body)
        return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
      if (auto r = validate(*body); !r.ok())
        return reply(r);
      auto gid = body->value("globalId", "");
      for (auto& l : i.remote_links)
        if (!gid.empty() && l.global_id == gid) {
          l.body = *body;
          record(l, false);
          return reply(200, {{"id", l.id}, {"self", api_base(c.api) + "/issue/" + i.key + "/remotelink/" +
                                                       std::to_string(l.id)}});
        }
      remote_link l;
      l.id = next_link_id_++;
      l.global_id = gid;
      l.body = *body;
      i.remote_links.push_back(l);
      record(i.remote_links.back(), true);
      return reply(201, {{"id", l.id},
                         {"self", api_base(c.api) + "/issue/" + i.key + "/remotelink/" + std::to_string(l.id)}});
    }
    if (m == "DELETE") {
      auto g = c.req.param("globalId");
      if (!g)
        return reply(400, errors({"A globalId must be specified."}));
      auto it = std::find_if(i.remote_links.begin(), i.remote_links.end(),
                             [&](auto& l) { return l.global_id == *g; });
      if (it == i.remote_links.end())
        return not_found();
      i.remote_links.erase(it);
      return no_content();
    }
    return reply(405, errors({"Method not allowed"}));
  }
  auto* l = rest.size() == 1 ? find_by_id(rest[0]) : nullptr;
  if (!l)
    return not_found();
  if (m == "GET")
    return reply(200, link_json(*l));
  if (m == "PUT") {
    auto body = parse_json(c.req.body);
    if (!body)
      return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
    if (auto r = validate(*body); !r.ok())
      return reply(r);
    l->body = *body;
    l->global_id = body->value("globalId", l->global_id);
    record(*l, false);
    return no_content();
  }
  if (m == "DELETE") {
    i.remote_links.erase(i.remote_links.begin() + (l - i.remote_links.data()));
    return no_content();
  }
  return reply(405, errors({"Method not allowed"}));
}

http_response jira_sim::properties(ctx& c, std::map<std::string, json>& props, std::string self_base,
                                   std::vector<std::string_view> rest) {
  auto& m = c.req.method;
  if (rest.empty()) {
    if (m != "GET")
      return reply(405, errors({"Method not allowed"}));
    json keys = json::array();
    for (auto& [k, v] : props)
      keys.push_back({{"self", self_base + k}, {"key", k}});
    return reply(200, {{"keys", keys}});
  }
  if (rest.size() != 1)
    return reply(404, errors({"null for uri: " + base_url_ + c.req.target}));
  std::string key{rest[0]};
  auto missing = [&] { return reply(404, errors({"The property with key '" + key + "' does not exist."})); };
  if (m == "GET") {
    auto it = props.find(key);
    if (it == props.end())
      return missing();
    return reply(200, {{"key", key}, {"value", it->second}});
  }
  if (m == "PUT") {
    if (key.size() > 255)
      return reply(400, errors({"The property key cannot be longer than 255 characters."}));
    auto body = parse_json(c.req.body);
    if (!body || c.req.body.empty())
      return reply(400, errors({"The property value must be a valid, non-empty JSON."}));
    if (c.req.body.size() > 32768)
      return reply(400, errors({"The property value cannot be longer than 32768 characters."}));
    bool created = props.find(key) == props.end();
    props[key] = *body;
    http_response r;
    r.status = created ? 201 : 200;
    r.content_type = "application/json;charset=UTF-8";
    return r;
  }
  if (m == "DELETE") {
    if (!props.erase(key))
      return missing();
    return no_content();
  }
  return reply(405, errors({"Method not allowed"}));
}

http_response jira_sim::comment_properties(ctx& c, std::vector<std::string_view> rest) {
  if (rest.size() < 2 || rest[1] != "properties")
    return reply(404, errors({"null for uri: " + base_url_ + c.req.target}));
  auto id = to_int(rest[0]);
  auto not_found = [&] {
    return reply(404, errors({"Can not find a comment for the id: " + std::string{rest[0]} + "."}));
  };
  if (!id || !c.user)
    return not_found();
  auto it = comment_issue_.find(*id);
  if (it == comment_issue_.end())
    return not_found();
  auto& i = issues_[it->second];
  auto* cm = find_comment(i, *id);
  if (!cm)
    return not_found();
  return properties(c, cm->properties, api_base(c.api) + "/comment/" + std::to_string(*id) + "/properties/",
                    {rest.begin() + 2, rest.end()});
}

http_response jira_sim::users(ctx& c, std::vector<std::string_view> rest) {
  if (c.req.method != "GET")
    return reply(405, errors({"Method not allowed"}));
  if (!c.user)
    return reply(not_authenticated());
  auto gdpr = [&] {
    return reply(400, errors({"The query parameter 'username' is not supported in GDPR strict mode."}));
  };
  if (rest.empty()) {
    std::optional<size_t> u;
    std::string asked;
    if (cloud()) {
      if (c.req.param("username") || c.req.param("key"))
        return gdpr();
      asked = c.req.param("accountId").value_or("");
      u = find_user_by_account(asked);
      if (!u)
        return reply(404, errors({"Specified user does not exist or you do not have required permissions"}));
    } else {
      if (auto k = c.req.param("key")) {
        asked = *k;
        u = find_user_by_key(asked);
      } else {
        asked = c.req.param("username").value_or("");
        u = find_user_by_name(asked);
      }
      if (!u)
        return reply(404, errors({"The user named '" + asked + "' does not exist"}));
    }
    auto j = user_json(*u, c.api);
    j["locale"] = "en_US";
    j["groups"] = {{"size", 1}, {"items", json::array()}};
    j["applicationRoles"] = {{"size", 1}, {"items", json::array()}};
    j["expand"] = "groups,applicationRoles";
    return reply(200, j);
  }
  bool assignable = rest.size() == 2 && rest[0] == "assignable" && rest[1] == "search";
  if (!(rest.size() == 1 && rest[0] == "search") && !assignable)
    return reply(404, errors({"null for uri: " + base_url_ + c.req.target}));
  std::string q;
  std::optional<std::string> account;
  if (cloud()) {
    if (c.req.param("username"))
      return gdpr();
    q = c.req.param("query").value_or("");
    account = c.req.param("accountId");
    if (q.empty() && !account && !assignable)
      return reply(400, errors({"The query parameter 'query' or 'accountId' must be provided."}));
  } else {
    auto u = c.req.param("username");
    if (!u && !assignable)
      return reply(400, errors({"The username query parameter was not provided"}));
    q = u.value_or("");
  }
  if (assignable) {
    auto issue_key = c.req.param("issueKey");
    auto project = c.req.param("project");
    if (!issue_key && !project)
      return reply(400, errors({"Either the issue key or the project must be specified."}));
    if (issue_key && !find_issue(*issue_key))
      return reply(404, errors({"Issue does not exist or you do not have permission to see it."}));
    if (project && !find_project(*project))
      return reply(404, errors({"No project could be found with key '" + *project + "'."}));
  }
  auto start = std::max<int64_t>(0, int_param(c.req, "startAt", 0));
  auto max = std::max<int64_t>(0, int_param(c.req, "maxResults", 50));
  auto matches = [&](const user& u) {
    if (account)
      return u.account_id == *account;
    if (q.empty() || q == "." || q == "*")
      return true;
    if (starts_with_ci(u.email, q) || starts_with_ci(u.display_name, q))
      return true;
    if (!cloud() && starts_with_ci(u.name, q))
      return true;
    for (size_t pos = u.display_name.find(' '); pos != std::string::npos; pos = u.display_name.find(' ', pos + 1))
      if (starts_with_ci(std::string_view{u.display_name}.substr(pos + 1), q))
        return true;
    return false;
  };
  json out = json::array();
  int64_t seen = 0;
  for (size_t k = 0; k < users_.size(); ++k) {
    if (!matches(users_[k]) || (assignable && !users_[k].active))
      continue;
    if (seen++ < start)
      continue;
    if (static_cast<int64_t>(out.size()) >= max)
      break;
    out.push_back(user_json(k, c.api));
  }
  return reply(200, out);
}

http_response jira_sim::myself(ctx& c) {
  if (!c.user)
    return reply(not_authenticated());
  auto j = user_json(*c.user, c.api);
  j["locale"] = "en_US";
  j["groups"] = {{"size", 1}, {"items", json::array()}};
  j["applicationRoles"] = {{"size", 1}, {"items", json::array()}};
  j["expand"] = "groups,applicationRoles";
  if (!cloud())
    j["deleted"] = false;
  return reply(200, j);
}

http_response jira_sim::server_info(ctx& c) {
  (void)c;
  json j;
  j["baseUrl"] = base_url_;
  if (cloud()) {
    j["version"] = "1001.0.0-SNAPSHOT";
    j["versionNumbers"] = {1001, 0, 0};
    j["deploymentType"] = "Cloud";
    j["buildNumber"] = 100289;
    j["buildDate"] = "2025-11-20T00:00:00.000+0000";
    j["serverTime"] = now_jira();
    j["scmInfo"] = "57a0ca5b4a0bb0ac5f3fee4764acb1c14e4d7e71";
    j["serverTitle"] = "Jira";
    j["defaultLocale"] = {{"locale", "en_US"}};
    j["serverTimeZone"] = "Etc/UTC";
  } else {
    auto version = seed_.value("dc_version", std::string{"9.12.0"});
    std::vector<int> numbers;
    size_t pos = 0;
    while (pos <= version.size()) {
      auto next = version.find('.', pos);
      if (next == std::string::npos)
        next = version.size();
      numbers.push_back(static_cast<int>(to_int(version.substr(pos, next - pos)).value_or(0)));
      pos = next + 1;
    }
    j["version"] = version;
    j["versionNumbers"] = numbers;
    j["deploymentType"] = "Server";
    int build = 0;
    for (size_t k = 0; k < 3; ++k)
      build = build * 100 + (k < numbers.size() ? numbers[k] : 0);
    j["buildNumber"] = build * 10;
    j["buildDate"] = "2023-11-27T00:00:00.000+0000";
    j["databaseBuildNumber"] = build * 10;
    j["serverTime"] = now_jira();
    j["scmInfo"] = "6b9d3b0c4bb54d2ee4e6bd2b4ea5b3d0c5e6f7a8";
    j["serverTitle"] = "Jira";
  }
  return reply(200, j);
}

http_response jira_sim::misc_resource(ctx& c, std::vector<std::string_view> seg) {
  auto not_found = [&] { return reply(404, errors({"null for uri: " + base_url_ + c.req.target})); };
  if (c.req.method != "GET")
    return seg.empty() ? not_found() : reply(405, errors({"Method not allowed"}));
  auto r = seg[0];
  if (r == "project") {
    if (seg.size() == 1) {
      json xs = json::array();
      if (c.user)
        for (auto& p : projects_)
          xs.push_back(project_json(p, c.api));
      return reply(200, xs);
    }
    auto pidx = c.user ? find_project(seg[1]) : std::nullopt;
    if (!pidx || seg.size() != 2)
      return reply(404, errors({"No project could be found with key '" + std::string{seg[1]} + "'."}));
    auto& p = projects_[*pidx];
    auto j = project_json(p, c.api);
    j["lead"] = user_json(p.lead, c.api);
    json types = json::array();
    for (auto& t : p.issue_types)
      types.push_back(issuetype_json(p, t.id, c.api));
    j["issueTypes"] = types;
    j["assigneeType"] = p.default_assignee_lead ? "PROJECT_LEAD" : "UNASSIGNED";
    j["description"] = "";
    return reply(200, j);
  }
  if (r == "resolution" && seg.size() == 1) {
    json xs = json::array();
    for (auto& x : resolutions_)
      xs.push_back(resolution_json(x.id, c.api));
    return reply(200, xs);
  }
  if (r == "priority" && seg.size() == 1) {
    json xs = json::array();
    for (auto& x : priorities_)
      xs.push_back(priority_json(x.id, c.api));
    return reply(200, xs);
  }
  if (r == "status" && seg.size() <= 2) {
    json xs = json::array();
    for (auto& s : statuses_) {
      if (seg.size() == 2 && s.id != seg[1] && lower(s.name) != lower(seg[1]))
        continue;
      xs.push_back(status_json(s.id, c.api));
    }
    if (seg.size() == 2)
      return xs.empty() ? reply(404, errors({"The status with id '" + std::string{seg[1]} + "' does not exist"}))
                        : reply(200, xs[0]);
    return reply(200, xs);
  }
  if (r == "statuscategory" && seg.size() == 1) {
    json xs = json::array();
    for (auto* k : {"undefined", "new", "done", "indeterminate"})
      xs.push_back(category_json(k, c.api));
    return reply(200, xs);
  }
  if (r == "issuetype" && seg.size() == 1) {
    json xs = json::array();
    std::set<std::string> seen;
    for (auto& p : projects_)
      for (auto& t : p.issue_types)
        if (seen.insert(t.id).second)
          xs.push_back(issuetype_json(p, t.id, c.api));
    return reply(200, xs);
  }
  return not_found();
}

} // namespace dutydesk::sim
