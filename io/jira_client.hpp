#pragma once
// Jira REST client for both flavours (reference jira.md §0–§6, §7.7): Data Center on /rest/api/2 with a PAT sent as
// `Authorization: Bearer`, Cloud on /rest/api/3 with Basic email:api-token. Bodies come from jira_payloads; answers
// are parsed into the plain structs below. Every request sends `Accept` and `Content-Type: application/json`.
//
// Retries are http_client's: GET and PUT (and the read-only or upserting POSTs: search, remote link) are retry_safe;
// POST create issue, comment and transition are not, because a repeat after a lost answer could duplicate the
// issue or comment (search by request label or comment property first).
//
// Errors reach the callback as an api_error: auth (401), forbidden (403), not_found (404), rate_limited (429 after
// http_client's retries), server (5xx), rejected (other 4xx), transport, parse. For a Jira ErrorCollection answer
// `error` is its errorMessages joined by "; ", then "field: message" pairs, and `error_type` holds the field ids of
// its `errors` object joined by ',' (read them with rejected_fields()); a body that is not JSON (Data Center's HTML
// 401) leaves them empty, and `error` then names Data Center's `X-Seraph-LoginReason` when it was sent.
//
// The jira_client and its http_client must outlive the calls in flight (paged calls come back to the client for
// the next page); call on the io_context thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/api_result.hpp"
#include "io/http_client.hpp"
#include "io/jira_payloads.hpp"

namespace dutydesk::io {

namespace jira {

/// Credentials: a Data Center PAT (Bearer) or Cloud e-mail + API token (Basic).
struct auth {
  /// `Authorization: Bearer <token>`.
  static auth bearer(std::string token);
  /// `Authorization: Basic base64(user:token)`.
  static auth basic(std::string user, std::string token);
  std::string header; // the Authorization value
};

/// `GET serverInfo`.
struct server_info {
  std::string deployment_type; // "Server" (Data Center) or "Cloud"
  std::vector<int> version_numbers;
  std::string base_url;
  std::string version;
};

/// One field of the create screen (createmeta).
struct meta_field {
  std::string id; // fieldId, e.g. "customfield_10100"
  std::string name;
  bool required = false;
  bool has_default = false;
  std::string schema_type;   // e.g. "option", "string"
  std::string schema_custom; // e.g. "com.atlassian.jira.plugin.system.customfieldtypes:select"; "" for system fields
  std::vector<std::string> allowed_values; // each option's `value` (or `name`)
};

/// An issue type of a project's create screen.
struct meta_issue_type {
  std::string id;
  std::string name;
};

/// What creating an issue of one type in one project takes.
struct create_meta {
  std::string issue_type_id;
  std::vector<meta_field> fields;
};

/// `POST issue` answer.
struct created_issue {
  std::string id;
  std::string key;
  std::string self;
  std::string browse_url; // the client's base URL + "/browse/" + key
};

/// An issue as search and get_issue read it.
struct issue {
  std::string id;
  std::string key;
  std::string summary;
  std::string status;          // status name
  std::string status_category; // "new", "indeterminate", "done", ...
  std::optional<jira_user> assignee;
  std::optional<jira_user> reporter;
  std::vector<std::string> labels;
  std::string updated; // Jira time, e.g. "2024-11-26T14:06:40.000+0000"
  /// The requested extra fields that have a value, as text: an option's value, a user's display name, a number,
  /// array items joined by ','.
  std::map<std::string, std::string> field_values;
};

/// A comment; `body` is plain text (a wiki string on Data Center, the flattened ADF on Cloud).
struct issue_comment {
  std::string id;
  jira_user author;
  std::string body;
  std::string created;
  std::string updated;
};

/// A transition available from an issue's current status.
struct transition {
  std::string id;
  std::string name;
  std::string to_id;
  std::string to_name;
  std::string to_category; // statusCategory key of the target
  bool resolution_required = false;
  std::vector<std::string> resolution_allowed; // resolution names; empty when the screen has no resolution
};

/// The field ids a `rejected` error named (Jira's `errors` object), e.g. {"customfield_10100"}.
std::vector<std::string> rejected_fields(const api_error& e);

/// Flattens an ADF document to plain text: paragraphs and other blocks separated by a blank line, hardBreak as
/// '\n', mentions and emoji by their text.
std::string adf_to_text(const nlohmann::json& doc);

} // namespace jira

class jira_client {
public:
  template <class T>
  using callback = std::function<void(api_result<T>)>;
  /// For logs, metrics and conformance tests: sees every request with its final result.
  using observer = std::function<void(const http_request&, const http_result&)>;

  /// `base_url` is the site, e.g. "https://jira.example.com" (without "/rest/api/…").
  jira_client(http_client& http, std::string base_url, jira::flavor flavor, jira::auth auth,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  jira::flavor flavor() const { return flavor_; }

  /// Installs an observer (replacing any earlier one).
  void observe(observer o) { observer_ = std::move(o); }

  /// GET serverInfo.
  void server_info(callback<jira::server_info> cb);
  /// GET myself: the bridge's own identity.
  void myself(callback<jira::jira_user> cb);
  /// GET issue/createmeta/{project}/issuetypes, all pages.
  void create_meta_issue_types(const std::string& project, callback<std::vector<jira::meta_issue_type>> cb);
  /// GET issue/createmeta/{project}/issuetypes/{id}, all pages.
  void create_meta_fields(const std::string& project, const std::string& issue_type_id,
                          callback<std::vector<jira::meta_field>> cb);
  /// The issue type named `issue_type` (exact name) of `project` and its fields; not_found without that type.
  void create_meta(const std::string& project, const std::string& issue_type, callback<jira::create_meta> cb);
  /// POST issue (not retried), `body` from jira::create_issue_body.
  void create_issue(const nlohmann::json& body, callback<jira::created_issue> cb);
  /// JQL search, all pages up to `max_results` issues: Data Center POST search (startAt/total), Cloud POST
  /// search/jql (nextPageToken/isLast). Reads summary, status, assignee, reporter, labels, updated and `fields`.
  void search(const std::string& jql, const std::vector<std::string>& fields, callback<std::vector<jira::issue>> cb,
              std::size_t max_results = 1000);
  /// GET issue/{key} with the fields search reads plus `fields`.
  void get_issue(const std::string& key, const std::vector<std::string>& fields, callback<jira::issue> cb);
  /// POST issue/{key}/comment (not retried) → the comment id; `body` from jira::comment_body.
  void add_comment(const std::string& key, const nlohmann::json& body, callback<std::string> cb);
  /// PUT issue/{key}/comment/{id}; `body` from jira::comment_edit_body.
  void update_comment(const std::string& key, const std::string& id, const nlohmann::json& body,
                      callback<std::monostate> cb);
  /// GET issue/{key}/comment, all pages, oldest first.
  void comments(const std::string& key, callback<std::vector<jira::issue_comment>> cb);
  /// GET comment/{id}/properties/{property}: its value; nullopt when the comment has no such property (404).
  void comment_property(const std::string& comment_id, const std::string& property,
                        callback<std::optional<nlohmann::json>> cb);
  /// GET issue/{key}/transitions?expand=transitions.fields.
  void transitions(const std::string& key, callback<std::vector<jira::transition>> cb);
  /// POST issue/{key}/transitions (not retried); `body` from jira::transition_body.
  void do_transition(const std::string& key, const nlohmann::json& body, callback<std::monostate> cb);
  /// PUT issue/{key}/assignee; `body` from jira::user_ref (or null to unassign).
  void assign(const std::string& key, const nlohmann::json& body, callback<std::monostate> cb);
  /// GET user/search (Data Center ?username=, Cloud ?query=): name, display-name or e-mail matches.
  void find_users(const std::string& query, callback<std::vector<jira::jira_user>> cb);
  /// POST issue/{key}/remotelink (an upsert by globalId, so retried) → the link id.
  void put_remote_link(const std::string& key, const nlohmann::json& body, callback<std::string> cb);

private:
  /// Sends one request; `parse` turns a 2xx body into a T or a reason it could not.
  template <class T, class Parse>
  void call(http_method method, const std::string& path, const nlohmann::json* body, bool retry_safe, Parse parse,
            callback<T> cb);

  http_client& http_;
  std::string site_;
  std::string api_;
  jira::flavor flavor_;
  std::string auth_;
  std::chrono::milliseconds timeout_;
  observer observer_;
};

} // namespace dutydesk::io
