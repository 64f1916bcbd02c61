// Jira simulator: issue create / get / edit, field validation, changelog diffs, createmeta and the field list.
#include <algorithm>

#include "sim/jira.hpp"

namespace dutydesk::sim {

using namespace jira_detail;

namespace {

std::string cannot_be_set(const std::string& id) {
  return "Field '" + id + "' cannot be set. It is not on the appropriate screen, or unknown.";
}

std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += sep;
    out += x;
  }
  return out;
}

const std::vector<std::string>& system_screen_fields() {
  static const std::vector<std::string> xs = {"summary", "issuetype", "project", "description",
                                              "reporter", "priority", "labels",   "assignee"};
  return xs;
}

bool is_system_editable(const std::string& id) {
  return id == "summary" || id == "description" || id == "reporter" || id == "priority" || id == "labels" ||
         id == "assignee";
}

} // namespace

std::vector<std::string> jira_sim::create_screen_fields(const project& p) const {
  std::vector<std::string> xs = system_screen_fields();
  if (p.screen_fields) {
    for (auto& id : *p.screen_fields)
      if (custom_by_id_.count(id))
        xs.push_back(id);
  } else {
    for (auto& f : custom_fields_)
      xs.push_back(f.id);
  }
  return xs;
}

std::optional<std::optional<size_t>> jira_sim::parse_user_ref(const json& v, const project& p,
                                                              std::string& err) const {
  if (v.is_null())
    return std::optional<size_t>{};
  if (!v.is_object()) {
    err = cloud() ? "Specify a valid value for the user field (an object with 'accountId')."
                  : "Could not find valid 'name' or 'key' in the user object.";
    return std::nullopt;
  }
  const char* id_keys_dc[] = {"name", "key"};
  const char* id_keys_cloud[] = {"accountId", "id"};
  const json* ref = nullptr;
  std::string used;
  for (auto* k : cloud() ? id_keys_cloud : id_keys_dc) {
    if (v.contains(k)) {
      ref = &v[k];
      used = k;
      break;
    }
  }
  if (!ref) {
    if (cloud() && (v.contains("name") || v.contains("key")))
      err = "'accountId' must be the only user identifying parameter in GDPR strict mode.";
    else
      err = cloud() ? "Specify a valid value for the user field (an object with 'accountId')."
                    : "Could not find valid 'name' or 'key' in the user object.";
    return std::nullopt;
  }
  if (ref->is_null())
    return std::optional<size_t>{};
  if (!ref->is_string()) {
    err = "Operation value must be a string";
    return std::nullopt;
  }
  auto s = ref->get<std::string>();
  if (s == "-1")  // "automatic": the project's default assignee
    return std::optional<size_t>{p.lead};
  std::optional<size_t> u;
  if (cloud())
    u = find_user_by_account(s);
  else
    u = used == "key" ? find_user_by_key(s) : find_user_by_name(s);
  if (!u) {
    err = cloud() ? "The user with account ID '" + s + "' does not exist." : "User '" + s + "' does not exist.";
    return std::nullopt;
  }
  return std::optional<size_t>{*u};
}

void jira_sim::set_field(const std::string& id, const json& value, int api, const project& p, issue_fields& out,
                         json& errs) const {
  auto screen = create_screen_fields(p);
  if (std::find(screen.begin(), screen.end(), id) == screen.end() || id == "project" || id == "issuetype") {
    errs[id] = cannot_be_set(id);
    return;
  }
  if (id == "summary") {
    if (value.is_null() || (value.is_string() && value.get<std::string>().empty())) {
      errs[id] = "You must specify a summary of the issue.";
      return;
    }
    if (!value.is_string()) {
      errs[id] = "Operation value must be a string";
      return;
    }
    auto s = value.get<std::string>();
    if (s.find('\n') != std::string::npos || s.find('\r') != std::string::npos)
      errs[id] = "The summary is invalid because it contains newline characters.";
    else if (s.size() > 255)
      errs[id] = "Summary must be less than 255 characters.";
    else
      out.summary = s;
    return;
  }
  auto set_rich = [&](rich_text& rt) {
    if (value.is_null()) {
      rt = {};
      return;
    }
    if (api == 3) {
      if (!value.is_object() || !valid_adf(value)) {
        errs[id] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
        return;
      }
      rt.present = true;
      rt.adf = value;
      rt.text = adf_to_wiki(value);
      return;
    }
    if (!value.is_string()) {
      errs[id] = "Operation value must be a string";
      return;
    }
    rt.present = !value.get<std::string>().empty();
    rt.text = value.get<std::string>();
    rt.adf = nullptr;
  };
  if (id == "description") {
    set_rich(out.description);
    return;
  }
  auto set_labels = [&](std::vector<std::string>& dst) {
    if (value.is_null()) {
      dst.clear();
      return;
    }
    if (!value.is_array()) {
      errs[id] = "Operation value must be an array";
      return;
    }
    std::vector<std::string> xs;
    for (auto& l : value) {
      if (!l.is_string()) {
        errs[id] = "Operation value must be a string";
        return;
      }
      auto s = l.get<std::string>();
      if (s.find(' ') != std::string::npos) {
        errs[id] = "The label '" + s + "' contains spaces which is invalid.";
        return;
      }
      if (s.size() > 255) {
        errs[id] = "The label '" + s + "' exceeds the maximum length for a single label of 255 characters.";
        return;
      }
      if (!s.empty() && std::find(xs.begin(), xs.end(), s) == xs.end())
        xs.push_back(s);
    }
    dst = std::move(xs);
  };
  if (id == "labels") {
    set_labels(out.labels);
    return;
  }
  if (id == "assignee" || id == "reporter") {
    std::string err;
    auto u = parse_user_ref(value, p, err);
    if (!u) {
      errs[id] = err;
      return;
    }
    if (id == "assignee") {
      out.assignee = *u;
    } else if (!*u) {
      errs[id] = "Reporter is required.";
    } else {
      out.reporter = **u;
    }
    return;
  }
  if (id == "priority") {
    if (!value.is_object()) {
      errs[id] = "Could not find valid 'id' or 'name' in priority object.";
      return;
    }
    for (auto& pr : priorities_)
      if ((value.contains("id") && value["id"] == pr.id) || (value.contains("name") && value["name"] == pr.name)) {
        out.priority = pr.id;
        return;
      }
    errs[id] = "The priority selected is invalid.";
    return;
  }
  auto cf = custom_by_id_.find(id);
  if (cf == custom_by_id_.end()) {
    errs[id] = cannot_be_set(id);
    return;
  }
  auto& f = custom_fields_[cf->second];
  if (value.is_null()) {
    out.custom.erase(id);
    out.custom_rt.erase(id);
    return;
  }
  auto find_option = [&](const json& v, std::string& opt) -> bool {
    if (!v.is_object() || (!v.contains("id") && !v.contains("value"))) {
      errs[id] = "Could not find valid 'id' or 'value' in the Parent Option object.";
      return false;
    }
    for (auto& o : f.options)
      if ((v.contains("id") && v["id"].is_string() && v["id"] == o.id) ||
          (v.contains("id") && v["id"].is_number_integer() && std::to_string(v["id"].get<int64_t>()) == o.id) ||
          (!v.contains("id") && v["value"] == o.value)) {
        opt = o.id;
        return true;
      }
    errs[id] = v.contains("id") ? "Option id '" + (v["id"].is_string() ? v["id"].get<std::string>() : v["id"].dump()) +
                                     "' is not valid"
                                : "Option value '" +
                                    (v["value"].is_string() ? v["value"].get<std::string>() : v["value"].dump()) +
                                    "' is not valid";
    return false;
  };
  if (f.kind == "select") {
    std::string opt;
    if (find_option(value, opt))
      out.custom[id] = opt;
  } else if (f.kind == "multiselect") {
    if (!value.is_array()) {
      errs[id] = "Operation value must be an array";
      return;
    }
    json ids = json::array();
    for (auto& v : value) {
      std::string opt;
      if (!find_option(v, opt))
        return;
      ids.push_back(opt);
    }
    out.custom[id] = ids;
  } else if (f.kind == "labels") {
    std::vector<std::string> xs;
    set_labels(xs);
    out.custom[id] = xs;
  } else if (f.kind == "number") {
    if (!value.is_number())
      errs[id] = "Operation value must be a number";
    else
      out.custom[id] = value;
  } else if (f.kind == "textarea") {
    set_rich(out.custom_rt[id]);
  } else {
    if (!value.is_string())
      errs[id] = "Operation value must be a string";
    else if (value.get<std::string>().size() > 255)
      errs[id] = "The entered text is too long. It exceeds the allowed limit of 255 characters.";
    else
      out.custom[id] = value;
  }
}

change_item jira_sim::make_item(std::string field, std::string field_id, std::string fieldtype, json from,
                                json from_s, json to, json to_s) const {
  change_item c;
  c.field = std::move(field);
  c.field_id = std::move(field_id);
  c.fieldtype = std::move(fieldtype);
  c.from = std::move(from);
  c.from_string = std::move(from_s);
  c.to = std::move(to);
  c.to_string = std::move(to_s);
  return c;
}

change_item jira_sim::user_item(std::string field, const std::optional<size_t>& from,
                                const std::optional<size_t>& to) const {
  auto ref = [&](const std::optional<size_t>& u) { return u ? json(user_ref_string(*u)) : json(nullptr); };
  auto display = [&](const std::optional<size_t>& u) { return u ? json(users_[*u].display_name) : json(nullptr); };
  auto c = make_item(field, field, "jira", ref(from), display(from), ref(to), display(to));
  c.user_field = true;
  c.tmp_from = from ? json(users_[*from].account_id) : json(nullptr);
  c.tmp_to = to ? json(users_[*to].account_id) : json(nullptr);
  return c;
}

std::vector<change_item> jira_sim::diff(const issue_fields& a, const issue_fields& b) const {
  std::vector<change_item> items;
  auto opt_str = [](const rich_text& t) { return t.present ? json(t.text) : json(nullptr); };
  if (a.summary != b.summary)
    items.push_back(make_item("summary", "summary", "jira", nullptr, a.summary, nullptr, b.summary));
  if (a.description.present != b.description.present || a.description.text != b.description.text)
    items.push_back(make_item("description", "description", "jira", nullptr, opt_str(a.description), nullptr,
                              opt_str(b.description)));
  if (a.labels != b.labels)
    items.push_back(make_item("labels", "labels", "jira", nullptr, join(a.labels, " "), nullptr,
                              join(b.labels, " ")));
  if (a.assignee != b.assignee)
    items.push_back(user_item("assignee", a.assignee, b.assignee));
  if (a.reporter != b.reporter)
    items.push_back(user_item("reporter", a.reporter, b.reporter));
  if (a.priority != b.priority) {
    auto name = [&](const std::string& id) { return priority(id) ? json(priority(id)->name) : json(nullptr); };
    items.push_back(make_item("priority", "priority", "jira", a.priority, name(a.priority), b.priority,
                              name(b.priority)));
  }
  if (a.status != b.status) {
    auto name = [&](const std::string& id) { return status(id) ? json(status(id)->name) : json(nullptr); };
    items.push_back(make_item("status", "status", "jira", a.status, name(a.status), b.status, name(b.status)));
  }
  if (a.resolution != b.resolution) {
    auto id = [](const std::optional<std::string>& r) { return r ? json(*r) : json(nullptr); };
    auto name = [&](const std::optional<std::string>& r) {
      return r && resolution(*r) ? json(resolution(*r)->name) : json(nullptr);
    };
    items.push_back(make_item("resolution", "resolution", "jira", id(a.resolution), name(a.resolution),
                              id(b.resolution), name(b.resolution)));
  }
  for (auto& f : custom_fields_) {
    if (f.kind == "textarea") {
      auto ia = a.custom_rt.find(f.id), ib = b.custom_rt.find(f.id);
      rich_text none;
      auto& ra = ia == a.custom_rt.end() ? none : ia->second;
      auto& rb = ib == b.custom_rt.end() ? none : ib->second;
      if (ra.present != rb.present || ra.text != rb.text)
        items.push_back(make_item(f.name, f.id, "custom", nullptr, opt_str(ra), nullptr, opt_str(rb)));
      continue;
    }
    auto ia = a.custom.find(f.id), ib = b.custom.find(f.id);
    json va = ia == a.custom.end() ? json(nullptr) : ia->second;
    json vb = ib == b.custom.end() ? json(nullptr) : ib->second;
    if (va == vb)
      continue;
    auto option_value = [&](const json& id) -> json {
      for (auto& o : f.options)
        if (id == o.id)
          return o.value;
      return nullptr;
    };
    if (f.kind == "select") {
      items.push_back(make_item(f.name, f.id, "custom", va, va.is_null() ? json(nullptr) : option_value(va), vb,
                                vb.is_null() ? json(nullptr) : option_value(vb)));
    } else if (f.kind == "multiselect" || f.kind == "labels") {
      auto render = [&](const json& v) -> json {
        if (v.is_null() || v.empty())
          return nullptr;
        std::vector<std::string> xs;
        for (auto& x : v)
          xs.push_back(f.kind == "labels" ? x.get<std::string>() : option_value(x).get<std::string>());
        return join(xs, f.kind == "labels" ? " " : ",");
      };
      items.push_back(make_item(f.name, f.id, "custom", nullptr, render(va), nullptr, render(vb)));
    } else {
      auto render = [](const json& v) -> json {
        if (v.is_null())
          return nullptr;
        return v.is_string() ? v.get<std::string>() : v.dump();
      };
      items.push_back(make_item(f.name, f.id, "custom", nullptr, render(va), nullptr, render(vb)));
    }
  }
  return items;
}

history& jira_sim::add_history(issue& i, size_t actor, std::vector<change_item> items) {
  history h;
  h.id = next_history_id_++;
  h.author = actor;
  h.created = clock_.now_ms();
  h.items = std::move(items);
  i.histories.push_back(std::move(h));
  return i.histories.back();
}

op_result jira_sim::op_create_issue(size_t actor, const json& body, int api) {
  if (!body.is_object())
    return {400, errors({"Can not deserialize instance of IssueUpdateBean out of START_ARRAY token"})};
  json fields = body.value("fields", json::object());
  if (!fields.is_object())
    return {400, errors({"Can not deserialize instance of java.util.HashMap out of VALUE_STRING token"})};
  json errs = json::object();
  std::optional<size_t> pidx;
  if (!fields.contains("project") || fields["project"].is_null()) {
    errs["project"] = "project is required";
  } else {
    auto& pj = fields["project"];
    if (pj.is_object() && pj.contains("key") && pj["key"].is_string())
      pidx = find_project(pj["key"].get<std::string>());
    else if (pj.is_object() && pj.contains("id"))
      pidx = find_project(pj["id"].is_string() ? pj["id"].get<std::string>() : pj["id"].dump());
    if (!pidx)
      errs["project"] = "valid project is required";
  }
  std::string type_id;
  if (!fields.contains("issuetype") || fields["issuetype"].is_null()) {
    errs["issuetype"] = "issue type is required";
  } else if (pidx) {
    auto& it = fields["issuetype"];
    for (auto& t : projects_[*pidx].issue_types)
      if (it.is_object() && ((it.contains("id") && (it["id"] == t.id || it["id"].dump() == t.id)) ||
                             (!it.contains("id") && it.contains("name") && it["name"] == t.name)))
        type_id = t.id;
    if (type_id.empty())
      errs["issuetype"] = "valid issue type is required";
  }
  if (!pidx)
    return {400, errors({}, errs)};
  auto& p = projects_[*pidx];
  issue_fields f;
  f.reporter = actor;
  f.priority = default_priority_;
  f.status = initial_status_;
  if (p.default_assignee_lead)
    f.assignee = p.lead;
  for (auto& [id, value] : fields.items()) {
    if (id == "project" || id == "issuetype")
      continue;
    set_field(id, value, api, p, f, errs);
  }
  if (!fields.contains("summary") && !errs.contains("summary"))
    errs["summary"] = "You must specify a summary of the issue.";
  for (auto& req : p.required_fields) {
    if (errs.contains(req))
      continue;
    bool has = false;
    if (req == "description")
      has = f.description.present;
    else if (req == "labels")
      has = !f.labels.empty();
    else if (req == "assignee")
      has = f.assignee.has_value();
    else if (auto it = f.custom.find(req); it != f.custom.end())
      has = !it->second.is_null() && !(it->second.is_array() && it->second.empty()) &&
            !(it->second.is_string() && it->second.get<std::string>().empty());
    else if (auto rt = f.custom_rt.find(req); rt != f.custom_rt.end())
      has = rt->second.present;
    else if (req == "summary" || req == "reporter" || req == "priority")
      has = true;
    if (!has) {
      auto cf = custom_by_id_.find(req);
      std::string label = cf != custom_by_id_.end() ? custom_fields_[cf->second].name : req;
      if (cf == custom_by_id_.end() && !label.empty())
        label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
      errs[req] = label + " is required.";
    }
  }
  if (!errs.empty())
    return {400, errors({}, errs)};
  std::map<std::string, json> props;
  if (body.contains("properties")) {
    auto& ps = body["properties"];
    if (!ps.is_array())
      return {400, errors({"Can not deserialize instance of java.util.ArrayList out of START_OBJECT token"})};
    for (auto& pr : ps) {
      if (!pr.is_object() || !pr.contains("key") || !pr["key"].is_string() || pr["key"].get<std::string>().empty())
        return {400, errors({"Property key is required."})};
      if (!pr.contains("value") || pr["value"].is_null())
        return {400, errors({"The property value cannot be null."})};
      props[pr["key"].get<std::string>()] = pr["value"];
    }
  }

  issue i;
  i.id = next_issue_id_++;
  i.key = p.key + "-" + std::to_string(p.next_number++);
  i.project = *pidx;
  i.issuetype = type_id;
  i.creator = actor;
  i.f = std::move(f);
  i.created = i.updated = i.status_changed = clock_.now_ms();
  i.properties = std::move(props);
  auto idx = issues_.size();
  issues_.push_back(std::move(i));
  auto& stored = issues_.back();
  issue_by_key_[stored.key] = idx;
  issue_by_id_[std::to_string(stored.id)] = idx;

  // Cloud's issue_created webhook lists the initial values as a changelog (webhook-cloud-issue-created-many-fields).
  std::vector<change_item> initial;
  if (cloud()) {
    issue_fields empty;
    empty.reporter = stored.f.reporter;
    empty.priority = stored.f.priority;
    empty.status = stored.f.status;
    empty.summary = stored.f.summary;
    if (stored.f.assignee)
      initial.push_back(user_item("assignee", std::nullopt, stored.f.assignee));
    issue_fields only_custom = empty;
    only_custom.custom = stored.f.custom;
    only_custom.custom_rt = stored.f.custom_rt;
    for (auto& c : diff(empty, only_custom))
      initial.push_back(c);
    if (stored.f.description.present)
      initial.push_back(make_item("description", "description", "jira", nullptr, nullptr, nullptr,
                                  stored.f.description.text));
    initial.push_back(make_item("priority", "priority", "jira", nullptr, nullptr, stored.f.priority,
                                priority(stored.f.priority) ? json(priority(stored.f.priority)->name) : json()));
    initial.push_back(user_item("reporter", std::nullopt, stored.f.reporter));
    initial.push_back(make_item("Status", "status", "jira", nullptr, nullptr, stored.f.status,
                                status(stored.f.status) ? json(status(stored.f.status)->name) : json()));
    initial.push_back(make_item("summary", "summary", "jira", nullptr, nullptr, nullptr, stored.f.summary));
  }
  emit_issue_event("jira:issue_created", "issue_created", actor, stored, nullptr, nullptr,
                   cloud() ? &initial : nullptr);
  return {201, {{"id", std::to_string(stored.id)}, {"key", stored.key},
                {"self", api_base(api) + "/issue/" + std::to_string(stored.id)}}};
}

op_result jira_sim::op_edit_issue(size_t actor, issue& i, const json& body, int api) {
  if (!body.is_object())
    return {400, errors({"Can not deserialize instance of IssueUpdateBean out of START_ARRAY token"})};
  auto& p = projects_[i.project];
  issue_fields f = i.f;
  json errs = json::object();
  auto fields = body.value("fields", json::object());
  auto update = body.value("update", json::object());
  if (!fields.is_object() || !update.is_object())
    return {400, errors({"Can not deserialize instance of java.util.HashMap"})};
  for (auto& [id, value] : fields.items()) {
    if (update.contains(id)) {
      errs[id] = "Field '" + id + "' cannot be set in both 'fields' and 'update'.";
      continue;
    }
    if (id == "summary" || is_system_editable(id) || custom_by_id_.count(id))
      set_field(id, value, api, p, f, errs);
    else
      errs[id] = cannot_be_set(id);
  }
  for (auto& [id, ops] : update.items()) {
    if (!ops.is_array()) {
      errs[id] = "Operation value must be an array";
      continue;
    }
    if (!(is_system_editable(id) || custom_by_id_.count(id))) {
      errs[id] = cannot_be_set(id);
      continue;
    }
    bool is_labels = id == "labels" || (custom_by_id_.count(id) && custom_fields_[custom_by_id_.at(id)].kind == "labels");
    for (auto& op : ops) {
      if (!op.is_object() || op.size() != 1) {
        errs[id] = "Operation must be one of 'set', 'add', 'remove', 'edit'.";
        break;
      }
      auto verb = op.begin().key();
      auto& arg = op.begin().value();
      if (verb == "set") {
        set_field(id, arg, api, p, f, errs);
      } else if (is_labels && (verb == "add" || verb == "remove")) {
        if (!arg.is_string()) {
          errs[id] = "Operation value must be a string";
          break;
        }
        auto label = arg.get<std::string>();
        if (verb == "add" && label.find(' ') != std::string::npos) {
          errs[id] = "The label '" + label + "' contains spaces which is invalid.";
          break;
        }
        std::vector<std::string> xs;
        if (id == "labels") {
          xs = f.labels;
        } else if (auto it = f.custom.find(id); it != f.custom.end()) {
          for (auto& x : it->second)
            xs.push_back(x.get<std::string>());
        }
        auto pos = std::find(xs.begin(), xs.end(), label);
        if (verb == "add" && pos == xs.end())
          xs.push_back(label);
        if (verb == "remove" && pos != xs.end())
          xs.erase(pos);
        if (id == "labels")
          f.labels = xs;
        else
          f.custom[id] = xs;
      } else {
        errs[id] = "Operation '" + verb + "' is not supported for field '" + id + "'.";
        break;
      }
    }
  }
  if (!errs.empty())
    return {400, errors({}, errs)};
  auto items = diff(i.f, f);
  if (items.empty())
    return {204, nullptr};
  i.f = std::move(f);
  i.updated = clock_.now_ms();
  auto& h = add_history(i, actor, std::move(items));
  bool only_assignee = h.items.size() == 1 && h.items[0].field == "assignee";
  emit_issue_event("jira:issue_updated", only_assignee ? "issue_assigned" : "issue_updated", actor, i, &h, nullptr);
  return {204, nullptr};
}

http_response jira_sim::get_issue(ctx& c, issue& i) {
  std::vector<std::string> fields, expand_xs;
  for (auto [b, e] = c.req.query.equal_range("fields"); b != e; ++b)
    fields.push_back(b->second);
  std::set<std::string> expand;
  for (auto [b, e] = c.req.query.equal_range("expand"); b != e; ++b) {
    size_t pos = 0;
    auto& s = b->second;
    while (pos <= s.size()) {
      auto next = s.find(',', pos);
      if (next == std::string::npos)
        next = s.size();
      expand.insert(s.substr(pos, next - pos));
      pos = next + 1;
    }
  }
  auto j = issue_json(i, c.api, parse_field_selection(fields, all_field_ids()), expand);
  if (auto props = c.req.param("properties")) {
    json pj = json::object();
    for (auto& [k, v] : i.properties)
      if (*props == "*all" || props->find(k) != std::string::npos)
        pj[k] = v;
    j["properties"] = pj;
  }
  return reply(200, j);
}

json jira_sim::createmeta_field_items(const project& p, int api) const {
  json xs = json::array();
  auto required = [&](const std::string& id) {
    return std::find(p.required_fields.begin(), p.required_fields.end(), id) != p.required_fields.end();
  };
  auto item = [&](const std::string& id, const std::string& name, bool req, json schema, json ops) {
    json j = {{"required", req || required(id)}, {"schema", schema}, {"name", name}, {"fieldId", id},
              {"hasDefaultValue", false}, {"operations", ops}};
    if (cloud())
      j["key"] = id;
    return j;
  };
  auto user_search = cloud() ? api_base(api) + "/user/search?query=" : api_base(api) + "/user/search?username=";
  for (auto& id : create_screen_fields(p)) {
    if (id == "summary") {
      xs.push_back(item(id, "Summary", true, {{"type", "string"}, {"system", "summary"}}, {"set"}));
    } else if (id == "issuetype") {
      xs.push_back(item(id, "Issue Type", true, {{"type", "issuetype"}, {"system", "issuetype"}}, json::array()));
    } else if (id == "project") {
      auto j = item(id, "Project", true, {{"type", "project"}, {"system", "project"}}, {"set"});
      j["allowedValues"] = json::array({project_json(p, api)});
      xs.push_back(j);
    } else if (id == "description") {
      xs.push_back(item(id, "Description", false, {{"type", "string"}, {"system", "description"}}, {"set"}));
    } else if (id == "reporter") {
      auto j = item(id, "Reporter", true, {{"type", "user"}, {"system", "reporter"}}, {"set"});
      j["hasDefaultValue"] = true;
      j["autoCompleteUrl"] = user_search;
      xs.push_back(j);
    } else if (id == "priority") {
      auto j = item(id, "Priority", false, {{"type", "priority"}, {"system", "priority"}}, {"set"});
      j["hasDefaultValue"] = true;
      json allowed = json::array();
      for (auto& pr : priorities_)
        allowed.push_back(priority_json(pr.id, api));
      j["allowedValues"] = allowed;
      j["defaultValue"] = priority_json(default_priority_, api);
      xs.push_back(j);
    } else if (id == "labels") {
      auto j = item(id, "Labels", false, {{"type", "array"}, {"items", "string"}, {"system", "labels"}},
                    {"add", "set", "remove"});
      j["autoCompleteUrl"] = base_url_ + "/rest/api/1.0/labels/suggest?query=";
      xs.push_back(j);
    } else if (id == "assignee") {
      auto j = item(id, "Assignee", false, {{"type", "user"}, {"system", "assignee"}}, {"set"});
      j["autoCompleteUrl"] = api_base(api) + "/user/assignable/search?project=" + p.key +
                             (cloud() ? "&query=" : "&username=");
      xs.push_back(j);
    } else if (auto cf = custom_by_id_.find(id); cf != custom_by_id_.end()) {
      auto& f = custom_fields_[cf->second];
      json schema = {{"type", f.schema_type}, {"custom", f.custom}, {"customId", f.custom_id}};
      if (f.kind == "multiselect")
        schema["items"] = "option";
      if (f.kind == "labels")
        schema["items"] = "string";
      bool multi = f.kind == "multiselect" || f.kind == "labels";
      auto j = item(id, f.name, false, schema, multi ? json{"add", "set", "remove"} : json{"set"});
      if (f.kind == "select" || f.kind == "multiselect") {
        json allowed = json::array();
        for (auto& o : f.options)
          allowed.push_back(option_json(f, o.id, api));
        j["allowedValues"] = allowed;
      }
      xs.push_back(j);
    }
  }
  return xs;
}

namespace {

op_result page_params(const http_request& req, bool cloud, int64_t& start, int64_t& max) {
  auto parse = [&](const char* name, int64_t fallback, int64_t& out) -> bool {
    auto v = req.param(name);
    if (!v || v->empty()) {
      out = fallback;
      return true;
    }
    try {
      size_t used = 0;
      out = std::stoll(*v, &used);
      return used == v->size();
    } catch (...) {
      return false;
    }
  };
  if (!parse("startAt", 0, start) || !parse("maxResults", 50, max))
    return {400, {{"errorMessages", {"Invalid pagination parameters."}}, {"errors", json::object()}}};
  if (start < 0)
    start = 0;
  if (cloud && max > 200)
    return {400, {{"errorMessages", {"Parameter 'maxResults' must not exceed the limit '200'"}},
                  {"errors", json::object()}}};
  if (max < 0)
    max = 50;
  return {200, nullptr};
}

json page_slice(const json& xs, int64_t start, int64_t max) {
  json out = json::array();
  for (int64_t k = start; k < static_cast<int64_t>(xs.size()) && k < start + max; ++k)
    out.push_back(xs[static_cast<size_t>(k)]);
  return out;
}

} // namespace

http_response jira_sim::get_createmeta_types(ctx& c, std::string_view project_ref) {
  auto pidx = c.user ? find_project(project_ref) : std::nullopt;
  if (!pidx)
    return reply(404, errors({"No project could be found with key '" + std::string{project_ref} + "'."}));
  int64_t start = 0, max = 50;
  if (auto r = page_params(c.req, cloud(), start, max); !r.ok())
    return reply(r);
  auto& p = projects_[*pidx];
  json types = json::array();
  for (auto& t : p.issue_types)
    types.push_back(issuetype_json(p, t.id, c.api));
  auto page = page_slice(types, start, max);
  json j = {{"maxResults", max}, {"startAt", start}, {"total", types.size()}};
  if (cloud()) {
    j["issueTypes"] = page;
  } else {
    j["isLast"] = start + max >= static_cast<int64_t>(types.size());
    j["values"] = page;
  }
  return reply(200, j);
}

http_response jira_sim::get_createmeta_fields(ctx& c, std::string_view project_ref, std::string_view type_id) {
  auto pidx = c.user ? find_project(project_ref) : std::nullopt;
  if (!pidx)
    return reply(404, errors({"No project could be found with key '" + std::string{project_ref} + "'."}));
  auto& p = projects_[*pidx];
  bool known = std::any_of(p.issue_types.begin(), p.issue_types.end(), [&](auto& t) { return t.id == type_id; });
  if (!known)
    return reply(404, errors({"Issue type with id '" + std::string{type_id} + "' does not exist in project '" +
                              p.key + "'."}));
  int64_t start = 0, max = 50;
  if (auto r = page_params(c.req, cloud(), start, max); !r.ok())
    return reply(r);
  auto xs = createmeta_field_items(p, c.api);
  auto page = page_slice(xs, start, max);
  json j = {{"maxResults", max}, {"startAt", start}, {"total", xs.size()}};
  if (cloud()) {
    j["fields"] = page;
  } else {
    j["isLast"] = start + max >= static_cast<int64_t>(xs.size());
    j["values"] = page;
  }
  return reply(200, j);
}

http_response jira_sim::get_createmeta_old(ctx& c) {
  // Removed in Jira DC 9.0 (jira.md §2.5); deprecated but still served on Cloud.
  if (!cloud())
    return reply(404, errors({"null for uri: " + base_url_ + c.req.target}));
  auto list = [&](const char* name) {
    std::vector<std::string> xs;
    for (auto [b, e] = c.req.query.equal_range(name); b != e; ++b) {
      size_t pos = 0;
      auto& s = b->second;
      while (pos <= s.size()) {
        auto next = s.find(',', pos);
        if (next == std::string::npos)
          next = s.size();
        if (next > pos)
          xs.push_back(s.substr(pos, next - pos));
        pos = next + 1;
      }
    }
    return xs;
  };
  auto keys = list("projectKeys"), pids = list("projectIds"), tids = list("issuetypeIds"),
       tnames = list("issuetypeNames");
  bool with_fields = c.req.param("expand").value_or("").find("projects.issuetypes.fields") != std::string::npos;
  json projects = json::array();
  if (c.user) {
    for (auto& p : projects_) {
      if (!keys.empty() && std::find(keys.begin(), keys.end(), p.key) == keys.end() &&
          std::find(pids.begin(), pids.end(), p.id) == pids.end())
        continue;
      if (keys.empty() && !pids.empty() && std::find(pids.begin(), pids.end(), p.id) == pids.end())
        continue;
      auto pj = project_json(p, c.api);
      json types = json::array();
      for (auto& t : p.issue_types) {
        if (!tids.empty() && std::find(tids.begin(), tids.end(), t.id) == tids.end())
          continue;
        if (!tnames.empty() && std::find(tnames.begin(), tnames.end(), t.name) == tnames.end())
          continue;
        auto tj = issuetype_json(p, t.id, c.api);
        tj["expand"] = "fields";
        if (with_fields) {
          json fs = json::object();
          for (auto& item : createmeta_field_items(p, c.api)) {
            auto id = item["fieldId"].get<std::string>();
            item.erase("fieldId");
            fs[id] = item;
          }
          tj["fields"] = fs;
        }
        types.push_back(tj);
      }
      pj["issuetypes"] = types;
      projects.push_back(pj);
    }
  }
  return reply(200, {{"expand", "projects"}, {"projects", projects}});
}

http_response jira_sim::get_fields(ctx& c) {
  struct sys {
    const char* id;
    const char* name;
    bool orderable, navigable, searchable;
    std::vector<std::string> clauses;
    json schema;
  };
  const std::vector<sys> xs = {
    {"summary", "Summary", true, true, true, {"summary"}, {{"type", "string"}, {"system", "summary"}}},
    {"description", "Description", true, true, true, {"description"},
     {{"type", "string"}, {"system", "description"}}},
    {"issuekey", "Key", false, true, false, {"id", "issue", "issuekey", "key"}, nullptr},
    {"project", "Project", false, true, true, {"project"}, {{"type", "project"}, {"system", "project"}}},
    {"issuetype", "Issue Type", true, true, true, {"issuetype", "type"},
     {{"type", "issuetype"}, {"system", "issuetype"}}},
    {"status", "Status", false, true, true, {"status"}, {{"type", "status"}, {"system", "status"}}},
    {"resolution", "Resolution", true, true, true, {"resolution"},
     {{"type", "resolution"}, {"system", "resolution"}}},
    {"resolutiondate", "Resolved", false, true, true, {"resolutiondate", "resolved"},
     {{"type", "datetime"}, {"system", "resolutiondate"}}},
    {"priority", "Priority", true, true, true, {"priority"}, {{"type", "priority"}, {"system", "priority"}}},
    {"labels", "Labels", true, true, true, {"labels"},
     {{"type", "array"}, {"items", "string"}, {"system", "labels"}}},
    {"assignee", "Assignee", true, true, true, {"assignee"}, {{"type", "user"}, {"system", "assignee"}}},
    {"reporter", "Reporter", true, true, true, {"reporter"}, {{"type", "user"}, {"system", "reporter"}}},
    {"creator", "Creator", false, true, true, {"creator"}, {{"type", "user"}, {"system", "creator"}}},
    {"created", "Created", false, true, true, {"created", "createdDate"},
     {{"type", "datetime"}, {"system", "created"}}},
    {"updated", "Updated", false, true, true, {"updated", "updatedDate"},
     {{"type", "datetime"}, {"system", "updated"}}},
    {"comment", "Comment", true, false, true, {"comment"}, {{"type", "comments-page"}, {"system", "comment"}}},
    {"duedate", "Due Date", true, true, true, {"due", "duedate"}, {{"type", "date"}, {"system", "duedate"}}},
    {"environment", "Environment", true, true, true, {"environment"},
     {{"type", "string"}, {"system", "environment"}}},
    {"components", "Component/s", true, true, true, {"component"},
     {{"type", "array"}, {"items", "component"}, {"system", "components"}}},
    {"fixVersions", "Fix Version/s", true, true, true, {"fixVersion"},
     {{"type", "array"}, {"items", "version"}, {"system", "fixVersions"}}},
    {"versions", "Affects Version/s", true, true, true, {"affectedVersion"},
     {{"type", "array"}, {"items", "version"}, {"system", "versions"}}},
    {"attachment", "Attachment", true, false, true, {"attachments"},
     {{"type", "array"}, {"items", "attachment"}, {"system", "attachment"}}},
    {"issuelinks", "Linked Issues", true, true, false, {"issueLink"},
     {{"type", "array"}, {"items", "issuelinks"}, {"system", "issuelinks"}}},
    {"subtasks", "Sub-Tasks", false, true, false, {"subtasks"},
     {{"type", "array"}, {"items", "issuelinks"}, {"system", "subtasks"}}},
    {"watches", "Watchers", false, true, true, {"watchers"}, {{"type", "watches"}, {"system", "watches"}}},
    {"votes", "Votes", false, true, true, {"votes"}, {{"type", "votes"}, {"system", "votes"}}},
    {"worklog", "Log Work", true, false, true, {},
     {{"type", "array"}, {"items", "worklog"}, {"system", "worklog"}}},
    {"timetracking", "Time tracking", true, false, true, {},
     {{"type", "timetracking"}, {"system", "timetracking"}}},
  };
  json out = json::array();
  for (auto& x : xs) {
    json j = {{"id", x.id}, {"name", x.name}, {"custom", false}, {"orderable", x.orderable},
              {"navigable", x.navigable}, {"searchable", x.searchable}, {"clauseNames", x.clauses}};
    if (!x.schema.is_null())
      j["schema"] = x.schema;
    if (cloud())
      j["key"] = x.id;
    out.push_back(j);
  }
  for (auto& f : custom_fields_) {
    json schema = {{"type", f.schema_type}, {"custom", f.custom}, {"customId", f.custom_id}};
    if (f.kind == "multiselect")
      schema["items"] = "option";
    if (f.kind == "labels")
      schema["items"] = "string";
    json j = {{"id", f.id}, {"name", f.name}, {"custom", true}, {"orderable", true}, {"navigable", true},
              {"searchable", true}, {"clauseNames", {"cf[" + std::to_string(f.custom_id) + "]", f.name}},
              {"schema", schema}};
    if (cloud()) {
      j["key"] = f.id;
      j["untranslatedName"] = f.name;
    }
    out.push_back(j);
  }
  (void)c;
  return reply(200, out);
}

} // namespace dutydesk::sim
