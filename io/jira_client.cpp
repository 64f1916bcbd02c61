#include "io/jira_client.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <openssl/evp.h>

namespace dutydesk::io {

using nlohmann::json;
using jira::jira_user;

namespace {

const json null_json;

/// `j[k]` when `j` is an object that has `k`, else null. Never throws.
const json& at(const json& j, const char* k) {
  if (!j.is_object())
    return null_json;
  auto it = j.find(k);
  return it == j.end() ? null_json : *it;
}

/// A string or integer member as text ("" otherwise): Jira sends ids as strings, remote-link ids as numbers.
std::string str(const json& j, const char* k) {
  const auto& v = at(j, k);
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_number_integer())
    return std::to_string(v.get<std::int64_t>());
  return {};
}

bool boolean(const json& j, const char* k, bool fallback) {
  const auto& v = at(j, k);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

std::vector<std::string> strings(const json& j, const char* k) {
  std::vector<std::string> result;
  for (const auto& v : at(j, k).is_array() ? at(j, k) : json::array())
    if (v.is_string())
      result.push_back(v.get<std::string>());
  return result;
}

std::string base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string join(const std::vector<std::string>& xs, std::string_view sep) {
  std::string result;
  for (const auto& x : xs) {
    if (!result.empty())
      result += sep;
    result += x;
  }
  return result;
}

/// Fills `e.error` / `e.error_type` from a Jira ErrorCollection; leaves them empty for other bodies.
void read_error_collection(const http_response& r, api_error& e) {
  auto doc = json::parse(r.body, nullptr, false);
  std::vector<std::string> parts = strings(doc, "errorMessages");
  std::vector<std::string> ids;
  if (const auto& errors = at(doc, "errors"); errors.is_object()) {
    for (const auto& [id, message] : errors.items()) {
      ids.push_back(id);
      parts.push_back(id + ": " + (message.is_string() ? message.get<std::string>() : message.dump()));
    }
  }
  e.error = join(parts, "; ");
  e.error_type = join(ids, ",");
  if (e.error.empty())
    if (auto reason = r.header("x-seraph-loginreason"))
      e.error = "X-Seraph-LoginReason: " + *reason;
}

jira_user read_user(const json& j) {
  jira_user u;
  u.name = str(j, "name");
  u.key = str(j, "key");
  u.account_id = str(j, "accountId");
  u.display_name = str(j, "displayName");
  u.email = str(j, "emailAddress");
  u.active = boolean(j, "active", true);
  return u;
}

std::optional<jira_user> opt_user(const json& j) {
  if (!j.is_object())
    return std::nullopt;
  return read_user(j);
}

bool is_block(const std::string& type) {
  static const std::vector<std::string> blocks = {"paragraph", "heading", "blockquote", "codeBlock", "bulletList",
                                                  "orderedList", "listItem", "rule", "panel", "table", "tableRow",
                                                  "tableHeader", "tableCell", "mediaSingle", "mediaGroup"};
  return std::find(blocks.begin(), blocks.end(), type) != blocks.end();
}

void flatten(const json& node, std::string& out, int depth) {
  auto type = str(node, "type");
  const auto& attrs = at(node, "attrs");
  if (type == "text") {
    out += str(node, "text");
  } else if (type == "hardBreak") {
    out += '\n';
  } else if (type == "mention" || type == "emoji") {
    auto text = str(attrs, "text");
    out += text.empty() ? str(attrs, "shortName") : text;
  } else if (type == "inlineCard") {
    out += str(attrs, "url");
  }
  const auto& content = at(node, "content");
  if (!content.is_array())
    return;
  bool first = true;
  for (const auto& child : content) {
    if (!first && is_block(str(child, "type")))
      out += depth == 0 ? "\n\n" : "\n";
    flatten(child, out, depth + 1);
    first = false;
  }
}

/// A field value as text (see jira::issue::field_values); nullopt for null.
std::optional<std::string> value_text(const json& v) {
  if (v.is_null())
    return std::nullopt;
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_boolean() || v.is_number())
    return v.dump();
  if (v.is_array()) {
    std::vector<std::string> xs;
    for (const auto& x : v)
      if (auto t = value_text(x))
        xs.push_back(*t);
    return join(xs, ",");
  }
  if (str(v, "type") == "doc")
    return jira::adf_to_text(v);
  for (const char* k : {"value", "displayName", "name", "key", "id"})
    if (auto s = str(v, k); !s.empty())
      return s;
  return v.dump();
}

const std::vector<std::string> issue_fields = {"summary", "status", "assignee", "reporter", "labels", "updated"};

std::vector<std::string> with_issue_fields(const std::vector<std::string>& extra) {
  auto result = issue_fields;
  for (const auto& f : extra)
    if (std::find(result.begin(), result.end(), f) == result.end())
      result.push_back(f);
  return result;
}

jira::issue read_issue(const json& j, const std::vector<std::string>& extra) {
  jira::issue i;
  i.id = str(j, "id");
  i.key = str(j, "key");
  const auto& f = at(j, "fields");
  i.summary = str(f, "summary");
  i.status = str(at(f, "status"), "name");
  i.status_category = str(at(at(f, "status"), "statusCategory"), "key");
  i.assignee = opt_user(at(f, "assignee"));
  i.reporter = opt_user(at(f, "reporter"));
  i.labels = strings(f, "labels");
  i.updated = str(f, "updated");
  for (const auto& id : extra)
    if (std::find(issue_fields.begin(), issue_fields.end(), id) == issue_fields.end())
      if (auto t = value_text(at(f, id.c_str())))
        i.field_values[id] = *t;
  return i;
}

/// One page of a list endpoint and where the next one starts.
template <class Item>
struct page {
  std::vector<Item> items;
  bool last = true;
  std::size_t next_start = 0;
  std::string next_token;
};

/// Reads the paging keys of a startAt page (`total`, `isLast`) holding `n` items.
template <class Item>
void read_start_paging(const json& doc, page<Item>& p) {
  auto start = at(doc, "startAt").is_number_unsigned() ? at(doc, "startAt").get<std::size_t>() : 0;
  p.next_start = start + p.items.size();
  if (at(doc, "isLast").is_boolean())
    p.last = at(doc, "isLast").get<bool>();
  else if (at(doc, "total").is_number_unsigned())
    p.last = p.next_start >= at(doc, "total").get<std::size_t>();
  else
    p.last = true;
  if (p.items.empty())
    p.last = true;
}

/// Fetches pages with `request(start, token, on_page)` until the last one or `max` items; one page in flight.
template <class Item, class Request>
void collect(Request request, std::size_t max, std::function<void(api_result<std::vector<Item>>)> cb) {
  struct state {
    Request request;
    std::size_t max;
    std::function<void(api_result<std::vector<Item>>)> cb;
    std::vector<Item> items;
    // Takes the state as an argument so that the in-flight callback, not the state itself, owns it.
    std::function<void(std::shared_ptr<state>, std::size_t, std::string)> step;
  };
  auto st = std::make_shared<state>(state{std::move(request), max, std::move(cb), {}, {}});
  st->step = [](std::shared_ptr<state> self, std::size_t start, std::string token) {
    auto* raw = self.get();
    raw->request(start, token, [self = std::move(self)](api_result<page<Item>> r) mutable {
      if (!r.ok())
        return self->cb(api_result<std::vector<Item>>(r.error()));
      auto& p = r.value();
      for (auto& x : p.items)
        if (self->items.size() < self->max)
          self->items.push_back(std::move(x));
      if (p.last || self->items.size() >= self->max || (p.next_start == 0 && p.next_token.empty())) {
        auto cb = std::move(self->cb);
        return cb(api_result<std::vector<Item>>(std::move(self->items)));
      }
      auto* s = self.get();
      s->step(std::move(self), p.next_start, p.next_token);
    });
  };
  st->step(st, 0, {});
}

/// "?k=v&…" with url-encoded values.
std::string query(std::initializer_list<std::pair<std::string, std::string>> params) {
  std::string result;
  for (const auto& [k, v] : params)
    result += (result.empty() ? "?" : "&") + k + "=" + url_encode(v);
  return result;
}

} // namespace

namespace jira {

auth auth::bearer(std::string token) {
  return auth{"Bearer " + token};
}

auth auth::basic(std::string user, std::string token) {
  return auth{"Basic " + base64(user + ":" + token)};
}

std::vector<std::string> rejected_fields(const api_error& e) {
  std::vector<std::string> result;
  if (e.code != api_errc::rejected)
    return result;
  std::size_t start = 0;
  while (start < e.error_type.size()) {
    auto end = e.error_type.find(',', start);
    if (end == std::string::npos)
      end = e.error_type.size();
    result.push_back(e.error_type.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

std::string adf_to_text(const json& doc) {
  std::string result;
  flatten(doc, result, 0);
  return result;
}

} // namespace jira

jira_client::jira_client(http_client& http, std::string base_url, jira::flavor flavor, jira::auth auth,
                         std::chrono::milliseconds timeout)
    : http_(http), site_(std::move(base_url)), flavor_(flavor), auth_(std::move(auth.header)), timeout_(timeout) {
  while (!site_.empty() && site_.back() == '/')
    site_.pop_back();
  api_ = jira::api_base(flavor_, site_);
}

template <class T, class Parse>
void jira_client::call(http_method method, const std::string& path, const json* body, bool retry_safe, Parse parse,
                       callback<T> cb) {
  http_request req;
  req.system = "jira";
  req.method = method;
  req.url = api_ + path;
  req.headers = {{"Authorization", auth_}, {"Accept", "application/json"}};
  if (body) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  req.retry_safe = retry_safe;
  req.timeout = timeout_;
  auto seen = observer_ ? std::make_shared<http_request>(req) : nullptr;
  http_.request(std::move(req), [parse = std::move(parse), cb = std::move(cb), seen, obs = observer_](http_result r) {
    if (seen)
      obs(*seen, r);
    api_error e;
    if (classify_http_failure(r, e)) {
      if (r.ok())
        read_error_collection(r.response, e);
      return cb(api_result<T>(std::move(e)));
    }
    auto doc = r.response.body.empty() ? json() : json::parse(r.response.body, nullptr, false);
    std::string why;
    std::optional<T> value;
    if (doc.is_discarded())
      why = "body is not JSON";
    else
      value = parse(doc, why);
    if (!value) {
      e.code = api_errc::parse;
      e.status = r.response.status;
      e.error = why;
      return cb(api_result<T>(std::move(e)));
    }
    cb(api_result<T>(std::move(*value)));
  });
}

void jira_client::server_info(callback<jira::server_info> cb) {
  call<jira::server_info>(
      http_method::get, "/serverInfo", nullptr, true,
      [](const json& doc, std::string& why) -> std::optional<jira::server_info> {
        jira::server_info s;
        s.deployment_type = str(doc, "deploymentType");
        s.base_url = str(doc, "baseUrl");
        s.version = str(doc, "version");
        for (const auto& v : at(doc, "versionNumbers").is_array() ? at(doc, "versionNumbers") : json::array())
          if (v.is_number_integer())
            s.version_numbers.push_back(v.get<int>());
        if (s.version.empty()) {
          why = "serverInfo without version";
          return std::nullopt;
        }
        return s;
      },
      std::move(cb));
}

void jira_client::myself(callback<jira_user> cb) {
  call<jira_user>(
      http_method::get, "/myself", nullptr, true,
      [](const json& doc, std::string& why) -> std::optional<jira_user> {
        auto u = read_user(doc);
        if (u.name.empty() && u.account_id.empty()) {
          why = "myself without name or accountId";
          return std::nullopt;
        }
        return u;
      },
      std::move(cb));
}

void jira_client::create_meta_issue_types(const std::string& project,
                                          callback<std::vector<jira::meta_issue_type>> cb) {
  auto path = "/issue/createmeta/" + url_encode(project) + "/issuetypes";
  auto list_key = flavor_ == jira::flavor::cloud ? "issueTypes" : "values";
  auto request = [this, path, list_key](std::size_t start, const std::string&,
                                        callback<page<jira::meta_issue_type>> on_page) {
    call<page<jira::meta_issue_type>>(
        http_method::get, path + query({{"startAt", std::to_string(start)}, {"maxResults", "50"}}), nullptr, true,
        [list_key](const json& doc, std::string& why) -> std::optional<page<jira::meta_issue_type>> {
          if (!at(doc, list_key).is_array()) {
            why = std::string("createmeta issue types without ") + list_key;
            return std::nullopt;
          }
          page<jira::meta_issue_type> p;
          for (const auto& t : at(doc, list_key))
            p.items.push_back({str(t, "id"), str(t, "name")});
          read_start_paging(doc, p);
          return p;
        },
        std::move(on_page));
  };
  collect<jira::meta_issue_type>(std::move(request), 10000, std::move(cb));
}

void jira_client::create_meta_fields(const std::string& project, const std::string& issue_type_id,
                                     callback<std::vector<jira::meta_field>> cb) {
  auto path = "/issue/createmeta/" + url_encode(project) + "/issuetypes/" + url_encode(issue_type_id);
  auto list_key = flavor_ == jira::flavor::cloud ? "fields" : "values";
  auto request = [this, path, list_key](std::size_t start, const std::string&,
                                        callback<page<jira::meta_field>> on_page) {
    call<page<jira::meta_field>>(
        http_method::get, path + query({{"startAt", std::to_string(start)}, {"maxResults", "50"}}), nullptr, true,
        [list_key](const json& doc, std::string& why) -> std::optional<page<jira::meta_field>> {
          if (!at(doc, list_key).is_array()) {
            why = std::string("createmeta fields without ") + list_key;
            return std::nullopt;
          }
          page<jira::meta_field> p;
          for (const auto& x : at(doc, list_key)) {
            jira::meta_field f;
            f.id = str(x, "fieldId");
            if (f.id.empty())
              f.id = str(x, "key");
            f.name = str(x, "name");
            f.required = boolean(x, "required", false);
            f.has_default = boolean(x, "hasDefaultValue", false);
            f.schema_type = str(at(x, "schema"), "type");
            f.schema_custom = str(at(x, "schema"), "custom");
            for (const auto& v : at(x, "allowedValues").is_array() ? at(x, "allowedValues") : json::array()) {
              auto s = str(v, "value");
              f.allowed_values.push_back(s.empty() ? str(v, "name") : s);
            }
            p.items.push_back(std::move(f));
          }
          read_start_paging(doc, p);
          return p;
        },
        std::move(on_page));
  };
  collect<jira::meta_field>(std::move(request), 10000, std::move(cb));
}

void jira_client::create_meta(const std::string& project, const std::string& issue_type,
                              callback<jira::create_meta> cb) {
  create_meta_issue_types(project, [this, project, issue_type, cb = std::move(cb)](
                                       api_result<std::vector<jira::meta_issue_type>> r) mutable {
    if (!r.ok())
      return cb(api_result<jira::create_meta>(r.error()));
    auto it = std::find_if(r->begin(), r->end(), [&](const auto& t) { return t.name == issue_type; });
    if (it == r->end()) {
      api_error e;
      e.code = api_errc::not_found;
      e.status = 200;
      e.error = "issue type '" + issue_type + "' is not on the create screen of project " + project;
      return cb(api_result<jira::create_meta>(std::move(e)));
    }
    create_meta_fields(project, it->id,
                       [id = it->id, cb = std::move(cb)](api_result<std::vector<jira::meta_field>> f) {
                         if (!f.ok())
                           return cb(api_result<jira::create_meta>(f.error()));
                         cb(api_result<jira::create_meta>(jira::create_meta{id, f.value()}));
                       });
  });
}

void jira_client::create_issue(const json& body, callback<jira::created_issue> cb) {
  call<jira::created_issue>(
      http_method::post, "/issue", &body, false,
      [site = site_](const json& doc, std::string& why) -> std::optional<jira::created_issue> {
        jira::created_issue c{str(doc, "id"), str(doc, "key"), str(doc, "self"), {}};
        if (c.key.empty()) {
          why = "created issue without key";
          return std::nullopt;
        }
        c.browse_url = site + "/browse/" + c.key;
        return c;
      },
      std::move(cb));
}

void jira_client::search(const std::string& jql, const std::vector<std::string>& fields,
                         callback<std::vector<jira::issue>> cb, std::size_t max_results) {
  auto all = with_issue_fields(fields);
  bool cloud = flavor_ == jira::flavor::cloud;
  // Cloud allows at most 100 issues per page when fields are requested.
  auto page_size = std::min<std::size_t>(cloud ? 100 : 50, std::max<std::size_t>(max_results, 1));
  auto request = [this, jql, all, cloud, page_size](std::size_t start, const std::string& token,
                                                    callback<page<jira::issue>> on_page) {
    json body{{"jql", jql}, {"maxResults", page_size}, {"fields", all}};
    if (cloud && !token.empty())
      body["nextPageToken"] = token;
    if (!cloud)
      body["startAt"] = start;
    call<page<jira::issue>>(
        http_method::post, cloud ? "/search/jql" : "/search", &body, true,
        [all, cloud](const json& doc, std::string& why) -> std::optional<page<jira::issue>> {
          if (!at(doc, "issues").is_array()) {
            why = "search answer without issues";
            return std::nullopt;
          }
          page<jira::issue> p;
          for (const auto& i : at(doc, "issues"))
            p.items.push_back(read_issue(i, all));
          if (cloud) {
            p.next_token = str(doc, "nextPageToken");
            p.last = boolean(doc, "isLast", true) || p.next_token.empty() || p.items.empty();
          } else {
            read_start_paging(doc, p);
          }
          return p;
        },
        std::move(on_page));
  };
  collect<jira::issue>(std::move(request), max_results, std::move(cb));
}

void jira_client::get_issue(const std::string& key, const std::vector<std::string>& fields, callback<jira::issue> cb) {
  auto all = with_issue_fields(fields);
  call<jira::issue>(
      http_method::get, "/issue/" + url_encode(key) + query({{"fields", join(all, ",")}}), nullptr, true,
      [all](const json& doc, std::string& why) -> std::optional<jira::issue> {
        auto i = read_issue(doc, all);
        if (i.key.empty()) {
          why = "issue without key";
          return std::nullopt;
        }
        return i;
      },
      std::move(cb));
}

void jira_client::add_comment(const std::string& key, const json& body, callback<std::string> cb) {
  call<std::string>(
      http_method::post, "/issue/" + url_encode(key) + "/comment", &body, false,
      [](const json& doc, std::string& why) -> std::optional<std::string> {
        auto id = str(doc, "id");
        if (id.empty()) {
          why = "comment without id";
          return std::nullopt;
        }
        return id;
      },
      std::move(cb));
}

void jira_client::update_comment(const std::string& key, const std::string& id, const json& body,
                                 callback<std::monostate> cb) {
  call<std::monostate>(
      http_method::put, "/issue/" + url_encode(key) + "/comment/" + url_encode(id), &body, true,
      [](const json&, std::string&) -> std::optional<std::monostate> { return std::monostate{}; }, std::move(cb));
}

void jira_client::comments(const std::string& key, callback<std::vector<jira::issue_comment>> cb) {
  auto path = "/issue/" + url_encode(key) + "/comment";
  auto request = [this, path](std::size_t start, const std::string&, callback<page<jira::issue_comment>> on_page) {
    call<page<jira::issue_comment>>(
        http_method::get,
        path + query({{"startAt", std::to_string(start)}, {"maxResults", "100"}, {"orderBy", "created"}}), nullptr,
        true,
        [](const json& doc, std::string& why) -> std::optional<page<jira::issue_comment>> {
          if (!at(doc, "comments").is_array()) {
            why = "comment page without comments";
            return std::nullopt;
          }
          page<jira::issue_comment> p;
          for (const auto& c : at(doc, "comments")) {
            const auto& body = at(c, "body");
            p.items.push_back({str(c, "id"), read_user(at(c, "author")),
                               body.is_string() ? body.get<std::string>() : jira::adf_to_text(body),
                               str(c, "created"), str(c, "updated")});
          }
          read_start_paging(doc, p);
          return p;
        },
        std::move(on_page));
  };
  collect<jira::issue_comment>(std::move(request), 100000, std::move(cb));
}

void jira_client::comment_property(const std::string& comment_id, const std::string& property,
                                   callback<std::optional<json>> cb) {
  call<std::optional<json>>(
      http_method::get, "/comment/" + url_encode(comment_id) + "/properties/" + url_encode(property), nullptr, true,
      [](const json& doc, std::string& why) -> std::optional<std::optional<json>> {
        if (!doc.is_object() || !doc.contains("value")) {
          why = "property without value";
          return std::nullopt;
        }
        return std::optional<json>(doc["value"]);
      },
      [cb = std::move(cb)](api_result<std::optional<json>> r) {
        if (!r.ok() && r.error().code == api_errc::not_found)
          return cb(api_result<std::optional<json>>(std::optional<json>()));
        cb(std::move(r));
      });
}

void jira_client::transitions(const std::string& key, callback<std::vector<jira::transition>> cb) {
  call<std::vector<jira::transition>>(
      http_method::get, "/issue/" + url_encode(key) + "/transitions?expand=transitions.fields", nullptr, true,
      [](const json& doc, std::string& why) -> std::optional<std::vector<jira::transition>> {
        if (!at(doc, "transitions").is_array()) {
          why = "answer without transitions";
          return std::nullopt;
        }
        std::vector<jira::transition> result;
        for (const auto& t : at(doc, "transitions")) {
          jira::transition x;
          x.id = str(t, "id");
          x.name = str(t, "name");
          x.to_id = str(at(t, "to"), "id");
          x.to_name = str(at(t, "to"), "name");
          x.to_category = str(at(at(t, "to"), "statusCategory"), "key");
          const auto& resolution = at(at(t, "fields"), "resolution");
          x.resolution_required = boolean(resolution, "required", false);
          for (const auto& v : at(resolution, "allowedValues").is_array() ? at(resolution, "allowedValues")
                                                                           : json::array())
            x.resolution_allowed.push_back(str(v, "name"));
          result.push_back(std::move(x));
        }
        return result;
      },
      std::move(cb));
}

void jira_client::do_transition(const std::string& key, const json& body, callback<std::monostate> cb) {
  call<std::monostate>(
      http_method::post, "/issue/" + url_encode(key) + "/transitions", &body, false,
      [](const json&, std::string&) -> std::optional<std::monostate> { return std::monostate{}; }, std::move(cb));
}

void jira_client::assign(const std::string& key, const json& body, callback<std::monostate> cb) {
  call<std::monostate>(
      http_method::put, "/issue/" + url_encode(key) + "/assignee", &body, true,
      [](const json&, std::string&) -> std::optional<std::monostate> { return std::monostate{}; }, std::move(cb));
}

void jira_client::find_users(const std::string& q, callback<std::vector<jira_user>> cb) {
  auto param = flavor_ == jira::flavor::cloud ? "query" : "username";
  call<std::vector<jira_user>>(
      http_method::get, "/user/search" + query({{param, q}, {"maxResults", "50"}}), nullptr, true,
      [](const json& doc, std::string& why) -> std::optional<std::vector<jira_user>> {
        if (!doc.is_array()) {
          why = "user search answer is not an array";
          return std::nullopt;
        }
        std::vector<jira_user> result;
        for (const auto& u : doc)
          result.push_back(read_user(u));
        return result;
      },
      std::move(cb));
}

void jira_client::put_remote_link(const std::string& key, const json& body, callback<std::string> cb) {
  call<std::string>(
      http_method::post, "/issue/" + url_encode(key) + "/remotelink", &body, true,
      [](const json& doc, std::string& why) -> std::optional<std::string> {
        auto id = str(doc, "id");
        if (id.empty()) {
          why = "remote link without id";
          return std::nullopt;
        }
        return id;
      },
      std::move(cb));
}

} // namespace dutydesk::io
