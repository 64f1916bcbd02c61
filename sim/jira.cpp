// Jira simulator: construction, seed loading, authentication and request routing.
#include "sim/jira.hpp"

#include <algorithm>
#include <charconv>

namespace dutydesk::sim {

using namespace jira_detail;

std::optional<int64_t> jira_detail::to_int(std::string_view s) {
  if (s.empty())
    return std::nullopt;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9')
      return std::nullopt;
    v = v * 10 + (ch - '0');
  }
  return v;
}

namespace {

std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+' || c == '-')
      return 62;
    if (c == '/' || c == '_')
      return 63;
    return -1;
  };
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=')
      break;
    int v = value(c);
    if (v < 0)
      return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xffu);
    }
  }
  return out;
}

std::string str(const json& j, const char* key, std::string fallback = {}) {
  auto i = j.find(key);
  if (i == j.end() || !i->is_string())
    return fallback;
  return i->get<std::string>();
}

std::vector<std::string> str_list(const json& j, const char* key) {
  std::vector<std::string> result;
  auto i = j.find(key);
  if (i == j.end() || !i->is_array())
    return result;
  for (auto& x : *i)
    if (x.is_string())
      result.push_back(x.get<std::string>());
  return result;
}

} // namespace

jira_sim::jira_sim(jira_flavor flavor, const clock_source& clock, id_source& ids)
  : flavor_(flavor), clock_(clock), ids_(ids) {
  base_url_ = cloud() ? "http://127.0.0.1:8082" : "http://127.0.0.1:8080";
}

jira_sim::~jira_sim() = default;

std::string jira_sim::name() const {
  return cloud() ? "jira-cloud" : "jira-dc";
}

void jira_sim::set_base_url(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  base_url_ = std::move(url);
  base_url_overridden_ = true;
}

void jira_sim::set_outbound(std::function<void(outbound_call)> send) {
  send_ = std::move(send);
  flush_queued();
}

void jira_sim::reset_state() {
  users_.clear();
  user_by_name_.clear();
  user_by_key_.clear();
  user_by_account_.clear();
  user_by_email_.clear();
  user_by_token_.clear();
  bot_.reset();
  statuses_.clear();
  transitions_.clear();
  custom_fields_.clear();
  custom_by_id_.clear();
  resolutions_.clear();
  priorities_.clear();
  projects_.clear();
  project_by_key_.clear();
  project_by_id_.clear();
  issues_.clear();
  issue_by_key_.clear();
  issue_by_id_.clear();
  comment_issue_.clear();
  webhooks_.clear();
  deliveries_.clear();
  queued_.clear();
  retry_at_.clear();
  call_to_delivery_.clear();
  next_issue_id_ = next_comment_id_ = next_history_id_ = next_link_id_ = 10000;
  next_webhook_id_ = 1;
}

void jira_sim::load_seed(const json& section) {
  seed_ = section;
  reset_state();
  if (!base_url_overridden_) {
    auto url = str(section, cloud() ? "base_url_cloud" : "base_url_dc");
    if (!url.empty())
      base_url_ = url;
  }
  for (auto& u : section.value("users", json::array())) {
    user x;
    x.name = str(u, "name");
    x.key = str(u, "key", x.name);
    x.account_id = str(u, "account_id");
    x.display_name = str(u, "display_name", x.name);
    x.email = str(u, "email");
    x.token = str(u, "token");
    x.password = str(u, "password");
    x.time_zone = str(u, "time_zone", "Etc/UTC");
    x.active = u.value("active", true);
    auto idx = users_.size();
    users_.push_back(x);
    user_by_name_[x.name] = idx;
    user_by_key_[x.key] = idx;
    if (!x.account_id.empty())
      user_by_account_[x.account_id] = idx;
    if (!x.email.empty())
      user_by_email_[x.email] = idx;
    if (!x.token.empty())
      user_by_token_[x.token] = idx;
  }
  bot_ = find_user_by_name(str(section, "bot"));

  for (auto& s : section.value("statuses", json::array()))
    statuses_.push_back({str(s, "id"), str(s, "name"), str(s, "category", "undefined"), str(s, "description")});
  auto wf = section.value("workflow", json::object());
  if (auto* s = status_by_name(str(wf, "initial")))
    initial_status_ = s->id;
  else if (!statuses_.empty())
    initial_status_ = statuses_.front().id;
  for (auto& t : wf.value("transitions", json::array())) {
    transition_def d;
    d.id = str(t, "id");
    d.name = str(t, "name");
    for (auto& from : str_list(t, "from"))
      if (auto* s = status_by_name(from))
        d.from.push_back(s->id);
    if (auto* s = status_by_name(str(t, "to")))
      d.to = s->id;
    d.screen_fields = str_list(t, "screen_fields");
    d.required_fields = str_list(t, "required_fields");
    d.event = str(t, "event", "issue_generic");
    transitions_.push_back(std::move(d));
  }

  int64_t next_option = 10000;
  for (auto& f : section.value("fields", json::array())) {
    field_def d;
    d.id = str(f, "id");
    d.name = str(f, "name", d.id);
    d.schema_type = str(f, "type", "string");
    d.custom = str(f, "custom");
    if (auto pos = d.id.rfind('_'); pos != std::string::npos)
      std::from_chars(d.id.data() + pos + 1, d.id.data() + d.id.size(), d.custom_id);
    auto ends = [&](std::string_view s) {
      return d.custom.size() >= s.size() && d.custom.compare(d.custom.size() - s.size(), s.size(), s) == 0;
    };
    if (d.schema_type == "option")
      d.kind = "select";
    else if (d.schema_type == "array" && ends(":labels"))
      d.kind = "labels";
    else if (d.schema_type == "array")
      d.kind = "multiselect";
    else if (d.schema_type == "number")
      d.kind = "number";
    else if (ends(":textarea"))
      d.kind = "textarea";
    else
      d.kind = "text";
    for (auto& o : f.value("options", json::array())) {
      if (o.is_string())
        d.options.push_back({std::to_string(next_option++), o.get<std::string>()});
      else if (o.is_object())
        d.options.push_back({str(o, "id", std::to_string(next_option++)), str(o, "value")});
    }
    custom_by_id_[d.id] = custom_fields_.size();
    custom_fields_.push_back(std::move(d));
  }

  for (auto& r : section.value("resolutions", json::array()))
    resolutions_.push_back({str(r, "id"), str(r, "name"), str(r, "description")});
  if (section.contains("priorities")) {
    for (auto& p : section["priorities"])
      priorities_.push_back({str(p, "id"), str(p, "name"), str(p, "description")});
  } else {
    // Jira's default priority scheme.
    priorities_ = {{"1", "Highest", "This problem will block progress."},
                   {"2", "High", "Serious problem that could block progress."},
                   {"3", "Medium", "Has the potential to affect progress."},
                   {"4", "Low", "Minor problem or easily worked around."},
                   {"5", "Lowest", "Trivial problem with little or no impact on progress."}};
  }
  default_priority_ = str(section, "default_priority", priorities_.size() > 2 ? priorities_[2].id : "");

  for (auto& p : section.value("projects", json::array())) {
    project d;
    d.id = str(p, "id");
    d.key = str(p, "key");
    d.name = str(p, "name", d.key);
    d.lead = find_user_by_name(str(p, "lead")).value_or(0);
    for (auto& t : p.value("issue_types", json::array()))
      d.issue_types.push_back({str(t, "id"), str(t, "name"), str(t, "description")});
    d.required_fields = str_list(p, "required_fields");
    if (p.contains("screen_fields"))
      d.screen_fields = str_list(p, "screen_fields");
    d.default_assignee_lead = str(p, "default_assignee") == "lead";
    project_by_key_[d.key] = projects_.size();
    project_by_id_[d.id] = projects_.size();
    projects_.push_back(std::move(d));
  }

  for (auto& w : section.value("webhooks", json::array())) {
    json body = w;
    if (w.contains("jql") && !w.contains("filters"))
      body["filters"] = {{"issue-related-events-section", w["jql"]}};
    op_register_webhook(body, bot_, true);
  }
}

// ------------------------------------------------------------------------------------------------------------
// Helpers

json jira_sim::errors(std::vector<std::string> messages, json field_errors) {
  return json{{"errorMessages", std::move(messages)}, {"errors", std::move(field_errors)}};
}

http_response jira_sim::reply(int status, const json& body) const {
  http_response r;
  r.status = status;
  r.content_type = "application/json;charset=UTF-8";
  if (status != 204)
    r.body = body.dump();
  else
    r.content_type.clear();
  return r;
}

http_response jira_sim::reply(const op_result& r) const {
  return reply(r.status, r.body);
}

http_response jira_sim::no_content() const {
  return reply(204, json());
}

op_result jira_sim::not_authenticated() const {
  return {401, errors({"You are not authenticated. Authentication required to perform this operation."})};
}

op_result jira_sim::issue_not_found() const {
  return {404, errors({cloud() ? "Issue does not exist or you do not have permission to see it."
                               : "Issue Does Not Exist"})};
}

std::optional<size_t> jira_sim::find_user_by_name(std::string_view name) const {
  auto i = user_by_name_.find(std::string{name});
  if (i == user_by_name_.end())
    return std::nullopt;
  return i->second;
}

std::optional<size_t> jira_sim::find_user_by_account(std::string_view account_id) const {
  auto i = user_by_account_.find(std::string{account_id});
  if (i == user_by_account_.end())
    return std::nullopt;
  return i->second;
}

std::optional<size_t> jira_sim::find_user_by_key(std::string_view key) const {
  auto i = user_by_key_.find(std::string{key});
  if (i == user_by_key_.end())
    return std::nullopt;
  return i->second;
}

issue* jira_sim::find_issue(std::string_view id_or_key) {
  std::string k{id_or_key};
  if (auto i = issue_by_key_.find(k); i != issue_by_key_.end())
    return &issues_[i->second];
  if (auto i = issue_by_id_.find(k); i != issue_by_id_.end())
    return &issues_[i->second];
  // Issue keys are case-insensitive in Jira ("cicd-1" finds CICD-1).
  std::string upper = k;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
  if (auto i = issue_by_key_.find(upper); i != issue_by_key_.end())
    return &issues_[i->second];
  return nullptr;
}

const issue* jira_sim::find_issue(std::string_view id_or_key) const {
  return const_cast<jira_sim*>(this)->find_issue(id_or_key);
}

std::optional<size_t> jira_sim::find_project(std::string_view id_or_key) const {
  std::string k{id_or_key};
  if (auto i = project_by_key_.find(k); i != project_by_key_.end())
    return i->second;
  if (auto i = project_by_id_.find(k); i != project_by_id_.end())
    return i->second;
  std::string upper = k;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
  if (auto i = project_by_key_.find(upper); i != project_by_key_.end())
    return i->second;
  return std::nullopt;
}

const status_def* jira_sim::status(std::string_view id) const {
  for (auto& s : statuses_)
    if (s.id == id)
      return &s;
  return nullptr;
}

const status_def* jira_sim::status_by_name(std::string_view name) const {
  auto lower = [](std::string_view s) {
    std::string r{s};
    std::transform(r.begin(), r.end(), r.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return r;
  };
  auto want = lower(name);
  for (auto& s : statuses_)
    if (lower(s.name) == want)
      return &s;
  return nullptr;
}

const transition_def* jira_sim::transition(std::string_view id) const {
  for (auto& t : transitions_)
    if (t.id == id)
      return &t;
  return nullptr;
}

const named* jira_sim::resolution(std::string_view id) const {
  for (auto& r : resolutions_)
    if (r.id == id)
      return &r;
  return nullptr;
}

const named* jira_sim::priority(std::string_view id) const {
  for (auto& p : priorities_)
    if (p.id == id)
      return &p;
  return nullptr;
}

std::string jira_sim::api_base(int api) const {
  return base_url_ + "/rest/api/" + std::to_string(api);
}

std::string jira_sim::user_ref_string(size_t u) const {
  return cloud() ? users_[u].account_id : users_[u].name;
}

int64_t jira_sim::int_param(const http_request& req, const char* name, int64_t fallback) {
  auto v = req.param(name);
  if (!v || v->empty())
    return fallback;
  int64_t result = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), result);
  if (ec != std::errc{} || ptr != v->data() + v->size())
    return fallback;
  return result;
}

std::string jira_sim::now_jira() const {
  return jira_time(clock_.now_ms());
}

// ------------------------------------------------------------------------------------------------------------
// Authentication (jira.md §1): missing credentials = anonymous; wrong credentials = 401.

std::optional<http_response> jira_sim::authenticate(const http_request& req, ctx& c) {
  auto auth = req.header("authorization");
  if (auth.empty())
    return std::nullopt;
  auto fail = [&] {
    http_response r;
    r.status = 401;
    if (cloud()) {
      r.content_type = "text/plain;charset=UTF-8";
      r.body = "Client must be authenticated to access this resource.";
      r.with_header("WWW-Authenticate", "OAuth realm=\"" + base_url_ + "\"");
    } else {
      r.content_type = "text/html;charset=UTF-8";
      r.body = "<html><body>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</body></html>";
      r.with_header("X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
      r.with_header("X-AUSERNAME", "anonymous");
    }
    return r;
  };
  auto space = auth.find(' ');
  if (space == std::string::npos)
    return fail();
  std::string scheme = auth.substr(0, space);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char ch) { return std::tolower(ch); });
  auto cred = std::string_view{auth}.substr(space + 1);
  while (!cred.empty() && cred.front() == ' ')
    cred.remove_prefix(1);
  if (scheme == "bearer") {
    // DC personal access tokens. On Cloud, Bearer is for OAuth 2.0 access tokens only (JRACLOUD-72405).
    if (cloud())
      return fail();
    auto i = user_by_token_.find(std::string{cred});
    if (i == user_by_token_.end())
      return fail();
    c.user = i->second;
    return std::nullopt;
  }
  if (scheme != "basic")
    return fail();
  auto decoded = base64_decode(cred);
  if (!decoded)
    return fail();
  auto colon = decoded->find(':');
  if (colon == std::string::npos)
    return fail();
  auto who = decoded->substr(0, colon), secret = decoded->substr(colon + 1);
  if (cloud()) {
    auto i = user_by_email_.find(who);
    if (i == user_by_email_.end() || users_[i->second].token.empty() || users_[i->second].token != secret)
      return fail();
    c.user = i->second;
  } else {
    auto u = find_user_by_name(who);
    if (!u || users_[*u].password.empty() || users_[*u].password != secret)
      return fail();
    c.user = *u;
  }
  return std::nullopt;
}

// Atlassian's REST XSRF filter refuses browser-"simple" content types unless `X-Atlassian-Token: no-check` is
// sent (403 "XSRF check failed", jira.md §1.4); past it, the JSON-only resources answer 415 for anything else.
std::optional<http_response> jira_sim::check_content_type(const http_request& req) const {
  if (req.method != "POST" && req.method != "PUT")
    return std::nullopt;
  auto type = req.header("content-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
  auto base = type.substr(0, type.find(';'));
  while (!base.empty() && base.back() == ' ')
    base.pop_back();
  if (base == "application/json")
    return std::nullopt;
  bool simple = base == "text/plain" || base == "application/x-www-form-urlencoded" || base == "multipart/form-data";
  auto token = req.header("x-atlassian-token");
  std::transform(token.begin(), token.end(), token.begin(), [](unsigned char ch) { return std::tolower(ch); });
  http_response r;
  if (simple && token != "no-check") {
    r.status = 403;
    r.content_type = "text/plain;charset=UTF-8";
    r.body = "XSRF check failed";
    return r;
  }
  r.status = 415;
  r.content_type = "text/html;charset=UTF-8";
  r.body = "<html><body>Unsupported Media Type</body></html>";
  return r;
}

// ------------------------------------------------------------------------------------------------------------
// Routing

http_response jira_sim::handle(const http_request& req) {
  ctx c{req, 2, std::nullopt};
  auto parts = split_path(req.path);
  std::vector<std::string_view> seg{parts.begin(), parts.end()};
  http_response r;
  if (auto denied = authenticate(req, c))
    return *denied;
  if (auto refused = check_content_type(req))
    return *refused;
  // A malformed body must never take the simulator down: JSON type errors become Jira-style 400s.
  try {
    r = route(req, seg, c);
  } catch (const json::exception& e) {
    r = reply(400, errors({std::string{"Invalid request payload: "} + e.what()}));
  } catch (const std::exception& e) {
    r = reply(500, errors({std::string{"Internal server error: "} + e.what()}));
  }
  if (!cloud())
    r.with_header("X-AUSERNAME", c.user ? users_[*c.user].name : "anonymous");
  else if (c.user)
    r.with_header("X-AACCOUNTID", users_[*c.user].account_id);
  return r;
}

http_response jira_sim::route(const http_request& req, std::vector<std::string_view> seg, ctx& c) {
  auto not_found = [&] { return reply(404, errors({"null for uri: " + base_url_ + req.target})); };
  if (seg.size() < 2 || seg[0] != "rest")
    return not_found();
  if (seg[1] == "webhooks" && seg.size() >= 4 && seg[2] == "1.0" && seg[3] == "webhook")
    return route_webhooks({seg.begin() + 4, seg.end()}, c);
  if (seg[1] != "api" || seg.size() < 4)
    return not_found();
  if (seg[2] == "2" || seg[2] == "latest")
    c.api = 2;
  else if (seg[2] == "3" && cloud())
    c.api = 3;
  else
    return not_found();
  std::vector<std::string_view> rest{seg.begin() + 3, seg.end()};
  auto& m = req.method;
  auto resource = rest[0];
  if (resource == "serverInfo" && rest.size() == 1)
    return m == "GET" ? server_info(c) : reply(405, errors({"Method not allowed"}));
  if (resource == "myself" && rest.size() == 1)
    return m == "GET" ? myself(c) : reply(405, errors({"Method not allowed"}));
  if (resource == "field" && rest.size() == 1)
    return m == "GET" ? get_fields(c) : reply(405, errors({"Method not allowed"}));
  if (resource == "issue")
    return route_issue({rest.begin() + 1, rest.end()}, c);
  if (resource == "comment")
    return comment_properties(c, {rest.begin() + 1, rest.end()});
  if (resource == "search") {
    if (rest.size() == 2 && rest[1] == "jql") {
      if (!cloud())
        return not_found();
      return search_jql(c);
    }
    if (rest.size() != 1)
      return not_found();
    if (cloud())
      return reply(410, errors({"The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                                "API. A full migration guideline is available at "
                                "https://developer.atlassian.com/changelog/#CHANGE-2046"}));
    return search_dc(c);
  }
  if (resource == "user")
    return users(c, {rest.begin() + 1, rest.end()});
  if (resource == "webhook") {
    if (!cloud())
      return not_found();
    return reply(403, errors({"Only Connect and OAuth 2.0 apps can use this operation."}));
  }
  return misc_resource(c, rest);
}

http_response jira_sim::route_issue(std::vector<std::string_view> seg, ctx& c) {
  auto& m = c.req.method;
  auto bad_method = [&] { return reply(405, errors({"Method not allowed"})); };
  if (seg.empty()) {
    if (m != "POST")
      return bad_method();
    if (!c.user)
      return reply(not_authenticated());
    auto body = parse_json(c.req.body);
    if (!body)
      return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
    return reply(op_create_issue(*c.user, *body, c.api));
  }
  if (seg[0] == "createmeta") {
    if (m != "GET")
      return bad_method();
    if (seg.size() == 1)
      return get_createmeta_old(c);
    if (seg.size() == 3 && seg[2] == "issuetypes")
      return get_createmeta_types(c, seg[1]);
    if (seg.size() == 4 && seg[2] == "issuetypes")
      return get_createmeta_fields(c, seg[1], seg[3]);
    return reply(404, errors({"null for uri: " + base_url_ + c.req.target}));
  }
  // Anonymous users cannot browse any project here, so every issue is invisible to them (jira.md §1.2).
  issue* i = c.user ? find_issue(seg[0]) : nullptr;
  if (!i)
    return reply(issue_not_found());
  if (seg.size() == 1) {
    if (m == "GET")
      return get_issue(c, *i);
    if (m == "PUT") {
      auto body = parse_json(c.req.body);
      if (!body)
        return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
      auto r = op_edit_issue(*c.user, *i, *body, c.api);
      if (r.ok() && cloud() && c.req.param("returnIssue").value_or("false") == "true")
        return reply(200, issue_json(*i, c.api, std::nullopt, {}));
      return reply(r);
    }
    return bad_method();
  }
  std::vector<std::string_view> rest{seg.begin() + 2, seg.end()};
  auto sub = seg[1];
  if (sub == "comment")
    return comments(c, *i, rest);
  if (sub == "transitions" && rest.empty())
    return transitions(c, *i);
  if (sub == "assignee" && rest.empty())
    return assignee(c, *i);
  if (sub == "remotelink")
    return remotelinks(c, *i, rest);
  if (sub == "properties")
    return properties(c, i->properties, api_base(c.api) + "/issue/" + std::to_string(i->id) + "/properties/", rest);
  if (sub == "changelog" && rest.empty() && cloud()) {
    auto all = changelog_json(*i, c.api);
    int64_t start = std::max<int64_t>(0, int_param(c.req, "startAt", 0));
    int64_t max = std::max<int64_t>(0, int_param(c.req, "maxResults", 100));
    json values = json::array();
    auto& h = all["histories"];
    for (int64_t k = start; k < static_cast<int64_t>(h.size()) && k < start + max; ++k)
      values.push_back(h[static_cast<size_t>(k)]);
    return reply(200, {{"self", base_url_ + c.req.target}, {"maxResults", max}, {"startAt", start},
                       {"total", h.size()}, {"isLast", start + max >= static_cast<int64_t>(h.size())},
                       {"values", values}});
  }
  return reply(404, errors({"null for uri: " + base_url_ + c.req.target}));
}

} // namespace dutydesk::sim
