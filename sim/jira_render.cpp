// Jira simulator: JSON representations. Shapes follow the real captures in tests/data/jira/ (v2) and the Cloud v3
// spec; `api` only changes `self` links and rich-text encoding (ADF on v3).
#include <algorithm>

#include "sim/jira.hpp"

namespace dutydesk::sim {

using namespace jira_detail;

namespace {

struct category_info {
  int id;
  const char* key;
  const char* color;
  const char* name;
};

category_info category_of(std::string_view key) {
  if (key == "new")
    return {2, "new", "blue-gray", "To Do"};
  if (key == "indeterminate")
    return {4, "indeterminate", "yellow", "In Progress"};
  if (key == "done")
    return {3, "done", "green", "Done"};
  return {1, "undefined", "medium-gray", "No Category"};
}

// Fields that are always part of the issue representation (the system fields seen in the real captures).
const std::vector<std::string>& system_fields() {
  static const std::vector<std::string> xs = {
    "issuetype", "timespent", "project", "fixVersions", "aggregatetimespent", "resolution", "resolutiondate",
    "workratio", "lastViewed", "watches", "created", "priority", "labels", "timeestimate",
    "aggregatetimeoriginalestimate", "versions", "issuelinks", "assignee", "updated", "status", "components",
    "timeoriginalestimate", "description", "timetracking", "attachment", "aggregatetimeestimate", "summary",
    "creator", "subtasks", "reporter", "aggregateprogress", "environment", "duedate", "progress", "votes",
    "comment", "worklog"};
  return xs;
}

} // namespace

json jira_sim::avatar_urls(std::string_view kind, std::string_view id) const {
  auto base = base_url_ + "/secure/" + std::string{kind} + "?";
  auto tail = "avatarId=" + std::string{id};
  return {{"48x48", base + tail},
          {"24x24", base + "size=small&" + tail},
          {"16x16", base + "size=xsmall&" + tail},
          {"32x32", base + "size=medium&" + tail}};
}

json jira_sim::user_json(size_t u, int api) const {
  auto& x = users_[u];
  json j;
  if (cloud()) {
    j["self"] = api_base(api) + "/user?accountId=" + x.account_id;
    j["accountId"] = x.account_id;
    j["accountType"] = "atlassian";
  } else {
    j["self"] = api_base(api) + "/user?username=" + x.name;
    j["name"] = x.name;
    j["key"] = x.key;
  }
  j["emailAddress"] = x.email;
  j["avatarUrls"] = avatar_urls("useravatar", "10122");
  j["displayName"] = x.display_name;
  j["active"] = x.active;
  j["timeZone"] = x.time_zone;
  return j;
}

json jira_sim::user_json(const std::optional<size_t>& u, int api) const {
  return u ? user_json(*u, api) : json(nullptr);
}

json jira_sim::category_json(std::string_view category, int api) const {
  auto c = category_of(category);
  return {{"self", api_base(api) + "/statuscategory/" + std::to_string(c.id)},
          {"id", c.id},
          {"key", c.key},
          {"colorName", c.color},
          {"name", c.name}};
}

json jira_sim::status_json(std::string_view status_id, int api) const {
  auto* s = status(status_id);
  if (!s)
    return nullptr;
  return {{"self", api_base(api) + "/status/" + s->id},
          {"description", s->description},
          {"iconUrl", base_url_ + "/"},
          {"name", s->name},
          {"id", s->id},
          {"statusCategory", category_json(s->category, api)}};
}

json jira_sim::issuetype_json(const project& p, std::string_view type_id, int api) const {
  for (auto& t : p.issue_types) {
    if (t.id != type_id)
      continue;
    json j = {{"self", api_base(api) + "/issuetype/" + t.id},
              {"id", t.id},
              {"description", t.description},
              {"iconUrl", base_url_ + "/secure/viewavatar?size=xsmall&avatarId=10318&avatarType=issuetype"},
              {"name", t.name},
              {"subtask", false},
              {"avatarId", 10318}};
    if (cloud())
      j["hierarchyLevel"] = 0;
    return j;
  }
  return nullptr;
}

json jira_sim::project_json(const project& p, int api) const {
  json j = {{"self", api_base(api) + "/project/" + p.id},
            {"id", p.id},
            {"key", p.key},
            {"name", p.name},
            {"avatarUrls", avatar_urls("projectavatar", "10324")}};
  // DC's issue payloads carry no projectTypeKey (dc_issue_*.json); Cloud's do (cloud_*.json).
  if (cloud()) {
    j["projectTypeKey"] = "software";
    j["simplified"] = false;
  }
  return j;
}

json jira_sim::priority_json(std::string_view id, int api) const {
  auto* p = priority(id);
  if (!p)
    return nullptr;
  std::string icon = p->name;
  std::transform(icon.begin(), icon.end(), icon.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return {{"self", api_base(api) + "/priority/" + p->id},
          {"iconUrl", base_url_ + "/images/icons/priorities/" + icon + ".svg"},
          {"name", p->name},
          {"id", p->id}};
}

json jira_sim::resolution_json(std::string_view id, int api) const {
  auto* r = resolution(id);
  if (!r)
    return nullptr;
  return {{"self", api_base(api) + "/resolution/" + r->id}, {"id", r->id}, {"description", r->description},
          {"name", r->name}};
}

json jira_sim::option_json(const field_def& f, std::string_view option_id, int api) const {
  for (auto& o : f.options)
    if (o.id == option_id)
      return {{"self", api_base(api) + "/customFieldOption/" + o.id}, {"value", o.value}, {"id", o.id}};
  return nullptr;
}

json jira_sim::rich_json(const rich_text& t, int api) const {
  if (!t.present)
    return nullptr;
  if (api == 3)
    return t.adf.is_null() ? text_to_adf(t.text) : t.adf;
  return t.text;
}

json jira_sim::custom_value_json(const field_def& f, const issue& i, int api) const {
  if (f.kind == "textarea") {
    auto it = i.f.custom_rt.find(f.id);
    return it == i.f.custom_rt.end() ? json(nullptr) : rich_json(it->second, api);
  }
  auto it = i.f.custom.find(f.id);
  if (it == i.f.custom.end() || it->second.is_null())
    return nullptr;
  if (f.kind == "select")
    return option_json(f, it->second.get<std::string>(), api);
  if (f.kind == "multiselect") {
    json xs = json::array();
    for (auto& id : it->second)
      xs.push_back(option_json(f, id.get<std::string>(), api));
    return xs;
  }
  return it->second;
}

json jira_sim::comment_json(const issue& i, const comment& c, int api) const {
  json j = {{"self", api_base(api) + "/issue/" + std::to_string(i.id) + "/comment/" + std::to_string(c.id)},
            {"id", std::to_string(c.id)},
            {"author", user_json(c.author, api)},
            {"body", rich_json(c.body, api)},
            {"updateAuthor", user_json(c.update_author, api)},
            {"created", jira_time(c.created)},
            {"updated", jira_time(c.updated)}};
  if (!c.visibility.is_null())
    j["visibility"] = c.visibility;
  if (cloud())
    j["jsdPublic"] = true;
  return j;
}

json jira_sim::comments_field_json(const issue& i, int api) const {
  json xs = json::array();
  for (auto& c : i.comments)
    xs.push_back(comment_json(i, c, api));
  json j = {{"comments", xs}, {"maxResults", xs.size()}, {"total", xs.size()}, {"startAt", 0}};
  if (cloud())
    j["self"] = api_base(api) + "/issue/" + std::to_string(i.id) + "/comment";
  return j;
}

std::set<std::string> jira_sim::all_field_ids() const {
  std::set<std::string> xs{system_fields().begin(), system_fields().end()};
  if (cloud()) {
    xs.insert("statuscategorychangedate");
    xs.insert("security");
  }
  for (auto& f : custom_fields_)
    xs.insert(f.id);
  return xs;
}

json jira_sim::fields_json(const issue& i, int api, const std::optional<std::set<std::string>>& only) const {
  auto& p = projects_[i.project];
  auto want = [&](const char* id) { return !only || only->count(id) > 0; };
  json f = json::object();
  auto put = [&](const char* id, auto&& make) {
    if (want(id))
      f[id] = make();
  };
  auto key_url = api_base(api) + "/issue/" + i.key;
  put("issuetype", [&] { return issuetype_json(p, i.issuetype, api); });
  put("timespent", [] { return json(nullptr); });
  put("project", [&] { return project_json(p, api); });
  put("fixVersions", [] { return json::array(); });
  put("aggregatetimespent", [] { return json(nullptr); });
  put("resolution", [&] { return i.f.resolution ? resolution_json(*i.f.resolution, api) : json(nullptr); });
  put("resolutiondate", [&] { return i.resolutiondate ? json(jira_time(*i.resolutiondate)) : json(nullptr); });
  put("workratio", [] { return -1; });
  put("lastViewed", [] { return json(nullptr); });
  put("watches", [&] {
    return json{{"self", key_url + "/watchers"}, {"watchCount", 1}, {"isWatching", false}};
  });
  put("created", [&] { return jira_time(i.created); });
  put("priority", [&] { return priority_json(i.f.priority, api); });
  put("labels", [&] { return i.f.labels; });
  put("timeestimate", [] { return json(nullptr); });
  put("aggregatetimeoriginalestimate", [] { return json(nullptr); });
  put("versions", [] { return json::array(); });
  put("issuelinks", [] { return json::array(); });
  put("assignee", [&] { return user_json(i.f.assignee, api); });
  put("updated", [&] { return jira_time(i.updated); });
  put("status", [&] { return status_json(i.f.status, api); });
  put("components", [] { return json::array(); });
  put("timeoriginalestimate", [] { return json(nullptr); });
  put("description", [&] { return rich_json(i.f.description, api); });
  put("timetracking", [] { return json::object(); });
  put("attachment", [] { return json::array(); });
  put("aggregatetimeestimate", [] { return json(nullptr); });
  put("summary", [&] { return i.f.summary; });
  put("creator", [&] { return user_json(i.creator, api); });
  put("subtasks", [] { return json::array(); });
  put("reporter", [&] { return user_json(i.f.reporter, api); });
  put("aggregateprogress", [] { return json{{"progress", 0}, {"total", 0}}; });
  put("environment", [] { return json(nullptr); });
  put("duedate", [] { return json(nullptr); });
  put("progress", [] { return json{{"progress", 0}, {"total", 0}}; });
  put("votes", [&] { return json{{"self", key_url + "/votes"}, {"votes", 0}, {"hasVoted", false}}; });
  put("comment", [&] { return comments_field_json(i, api); });
  put("worklog", [] {
    return json{{"startAt", 0}, {"maxResults", 20}, {"total", 0}, {"worklogs", json::array()}};
  });
  if (cloud()) {
    put("statuscategorychangedate", [&] { return jira_time(i.status_changed); });
    put("security", [] { return json(nullptr); });
  }
  for (auto& cf : custom_fields_)
    if (want(cf.id.c_str()))
      f[cf.id] = custom_value_json(cf, i, api);
  return f;
}

json jira_sim::issue_json(const issue& i, int api, const std::optional<std::set<std::string>>& only,
                          const std::set<std::string>& expand) const {
  json j = {{"expand", "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"},
            {"id", std::to_string(i.id)},
            {"self", api_base(api) + "/issue/" + std::to_string(i.id)},
            {"key", i.key},
            {"fields", fields_json(i, api, only)}};
  if (expand.count("changelog"))
    j["changelog"] = changelog_json(i, api);
  if (expand.count("names"))
    j["names"] = field_names_json();
  return j;
}

json jira_sim::change_item_json(const change_item& c) const {
  json j = {{"field", c.field}, {"fieldtype", c.fieldtype}, {"from", c.from}, {"fromString", c.from_string},
            {"to", c.to}, {"toString", c.to_string}};
  if (cloud()) {
    j["fieldId"] = c.field_id;
    if (c.user_field) {
      j["tmpFromAccountId"] = c.tmp_from;
      j["tmpToAccountId"] = c.tmp_to;
    }
  }
  return j;
}

json jira_sim::changelog_json(const issue& i, int api) const {
  json hs = json::array();
  for (auto& h : i.histories) {
    json items = json::array();
    for (auto& c : h.items)
      items.push_back(change_item_json(c));
    hs.push_back({{"id", std::to_string(h.id)},
                  {"author", user_json(h.author, api)},
                  {"created", jira_time(h.created)},
                  {"items", items}});
  }
  return {{"startAt", 0}, {"maxResults", hs.size()}, {"total", hs.size()}, {"histories", hs}};
}

json jira_sim::field_names_json() const {
  static const std::map<std::string, std::string> names = {
    {"issuetype", "Issue Type"}, {"timespent", "Time Spent"}, {"project", "Project"},
    {"fixVersions", "Fix Version/s"}, {"aggregatetimespent", "\u03a3 Time Spent"}, {"resolution", "Resolution"},
    {"resolutiondate", "Resolved"}, {"workratio", "Work Ratio"}, {"lastViewed", "Last Viewed"},
    {"watches", "Watchers"}, {"created", "Created"}, {"priority", "Priority"}, {"labels", "Labels"},
    {"timeestimate", "Remaining Estimate"}, {"aggregatetimeoriginalestimate", "\u03a3 Original Estimate"},
    {"versions", "Affects Version/s"}, {"issuelinks", "Linked Issues"}, {"assignee", "Assignee"},
    {"updated", "Updated"}, {"status", "Status"}, {"components", "Component/s"},
    {"timeoriginalestimate", "Original Estimate"}, {"description", "Description"},
    {"timetracking", "Time tracking"}, {"attachment", "Attachment"},
    {"aggregatetimeestimate", "\u03a3 Remaining Estimate"}, {"summary", "Summary"}, {"creator", "Creator"},
    {"subtasks", "Sub-Tasks"}, {"reporter", "Reporter"}, {"aggregateprogress", "\u03a3 Progress"},
    {"environment", "Environment"}, {"duedate", "Due Date"}, {"progress", "Progress"}, {"votes", "Votes"},
    {"comment", "Comment"}, {"worklog", "Log Work"}, {"statuscategorychangedate", "Status Category Changed"},
    {"security", "Security Level"}};
  json j = json::object();
  for (auto& id : all_field_ids()) {
    auto n = names.find(id);
    if (n != names.end())
      j[id] = n->second;
  }
  for (auto& f : custom_fields_)
    j[f.id] = f.name;
  return j;
}

std::optional<std::set<std::string>> jira_sim::parse_field_selection(const std::vector<std::string>& xs,
                                                                     std::set<std::string> all_ids) {
  std::vector<std::string> tokens;
  for (auto& x : xs) {
    size_t pos = 0;
    while (pos <= x.size()) {
      auto next = x.find(',', pos);
      if (next == std::string::npos)
        next = x.size();
      auto t = x.substr(pos, next - pos);
      while (!t.empty() && t.front() == ' ')
        t.erase(t.begin());
      while (!t.empty() && t.back() == ' ')
        t.pop_back();
      if (!t.empty())
        tokens.push_back(t);
      pos = next + 1;
    }
  }
  if (tokens.empty())
    return std::nullopt;
  std::set<std::string> result;
  bool positive = false;
  for (auto& t : tokens) {
    if (t == "*all") {
      result.insert(all_ids.begin(), all_ids.end());
      positive = true;
    } else if (t == "*navigable") {
      // Fields with navigable=false in GET /field are left out of *navigable (the search default).
      for (auto& id : all_ids)
        if (id != "comment" && id != "worklog" && id != "timetracking" && id != "attachment")
          result.insert(id);
      positive = true;
    } else if (t[0] != '-') {
      result.insert(t);
      positive = true;
    }
  }
  if (!positive)
    result = all_ids;
  for (auto& t : tokens)
    if (t[0] == '-')
      result.erase(t.substr(1));
  return result;
}

} // namespace dutydesk::sim
