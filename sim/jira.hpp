#pragma once
// The Jira simulator: one single-threaded object per flavour (Data Center 9.x or Cloud) that answers the REST API
// subset dutydesk uses (REST v2, plus v3 with ADF on Cloud), the admin-webhook registration resource, and the
// control API, and that raises outbound webhooks in the v2 representation real Jira sends (docs/sim/jira.md).
//
// Layout of the implementation (each file compiles on its own):
//   jira.cpp          construction, seed, auth, routing, small helpers
//   jira_render.cpp   JSON representations (users, statuses, issues, comments) per flavour and API version
//   jira_adf.cpp      Atlassian Document Format validation and ADF <-> wiki-string conversion
//   jira_issues.cpp   issue create/get/edit, field validation, changelog diff, createmeta, field list
//   jira_rest.cpp     comments, transitions, assignee, remote links, properties, users, misc resources
//   jira_jql.cpp      the JQL subset (parser + compiler to predicates) and the search endpoints
//   jira_webhooks.cpp webhook registry, payload building, delivery queue with retries
//   jira_control.cpp  the control API (act as a human, read back state)
//
// Everything mutating goes through the op_* members, so REST and control calls share validation and webhooks.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/core.hpp"

namespace dutydesk::sim {

enum class jira_flavor { datacenter, cloud };

namespace jira_detail {

struct user {
  std::string name, key, account_id, display_name, email, token, password, time_zone;
  bool active = true;
};

struct status_def {
  std::string id, name, category;  // category: new / indeterminate / done / undefined
  std::string description;
};

struct transition_def {
  std::string id, name;
  std::vector<std::string> from;  // status ids; empty = global transition (from any status)
  std::string to;                 // status id
  std::vector<std::string> screen_fields, required_fields;
  std::string event;              // issue_event_type_name it fires ("issue_generic" unless the seed says otherwise)
};

struct option {
  std::string id, value;
};

/// A custom field. `kind` is what the simulator validates against: select, multiselect, text, textarea, number, labels.
struct field_def {
  std::string id, name, kind, schema_type, custom;
  std::vector<option> options;
  int64_t custom_id = 0;
};

struct named {
  std::string id, name, description;
};

struct project {
  std::string id, key, name;
  size_t lead = 0;
  std::vector<named> issue_types;
  std::vector<std::string> required_fields;
  std::optional<std::vector<std::string>> screen_fields;  // custom fields on the create/edit screen (default: all)
  bool default_assignee_lead = false;
  int64_t next_number = 1;
};

/// Rich text as stored: the wiki/plain string every v2 reader sees, and the ADF document when it was written in
/// ADF (v3), so a v3 reader gets back exactly what was written.
struct rich_text {
  bool present = false;
  std::string text;
  json adf;  // null unless written as ADF
};

struct comment {
  int64_t id = 0;
  size_t author = 0, update_author = 0;
  rich_text body;
  int64_t created = 0, updated = 0;
  json visibility;  // null or {"type","value"}
  std::map<std::string, json> properties;
};

struct change_item {
  std::string field, field_id, fieldtype;
  json from, from_string, to, to_string;
  bool user_field = false;
  json tmp_from, tmp_to;  // Cloud user fields: accountIds
};

struct history {
  int64_t id = 0;
  size_t author = 0;
  int64_t created = 0;
  std::vector<change_item> items;
};

struct remote_link {
  int64_t id = 0;
  std::string global_id;
  json body;  // application, relationship, object, globalId as last written
};

struct transition_record {
  std::string transition_id, name, from_status, to_status;
  size_t actor = 0;
  int64_t at = 0;
};

/// The editable state of an issue: copied, modified and diffed to produce changelog items.
struct issue_fields {
  std::string summary;
  rich_text description;
  std::vector<std::string> labels;
  std::optional<size_t> assignee;
  size_t reporter = 0;
  std::string priority;
  std::string status;
  std::optional<std::string> resolution;
  std::map<std::string, json> custom;          // select: option id; multiselect/labels: array; text/number: value
  std::map<std::string, rich_text> custom_rt;  // textarea custom fields
};

struct issue {
  int64_t id = 0;
  std::string key;
  size_t project = 0;
  std::string issuetype;
  size_t creator = 0;
  issue_fields f;
  int64_t created = 0, updated = 0, status_changed = 0;
  std::optional<int64_t> resolutiondate;
  std::vector<comment> comments;  // ascending id
  std::map<std::string, json> properties;
  std::vector<remote_link> remote_links;
  std::vector<history> histories;
  std::vector<transition_record> transitions;
};

struct webhook {
  int64_t id = 0;
  std::string name, url, secret, jql;
  std::vector<std::string> events;
  bool exclude_body = false, enabled = true;
  int64_t last_updated = 0;
  std::string last_updated_user;
  std::function<bool(const issue&)> filter;  // compiled `jql`; empty = every issue
};

enum class delivery_state { queued, in_flight, retry_wait, delivered, failed };

struct attempt {
  int retry = 0;  // 0 = first attempt; n = value of X-Atlassian-Webhook-Retry
  int64_t at = 0;
  uint64_t call_id = 0;
  bool done = false;
  int status = 0;  // HTTP status; 0 = connection failure
  std::string error;
};

struct delivery {
  uint64_t id = 0;
  int64_t webhook = 0;
  std::string event, type_name, identifier, url, body, signature, issue_key;
  int64_t created = 0, next_at = 0;
  delivery_state state = delivery_state::queued;
  std::vector<attempt> attempts;
};

/// Result of an operation: an HTTP status and a JSON body (an ErrorCollection for 4xx).
struct op_result {
  int status = 200;
  json body;
  bool ok() const { return status < 400; }
};

struct jql_query;

/// A non-negative decimal number (an id, startAt, maxResults); nullopt for anything else.
std::optional<int64_t> to_int(std::string_view s);

} // namespace jira_detail

class jira_sim final : public simulated_system {
public:
  jira_sim(jira_flavor flavor, const clock_source& clock, id_source& ids);
  ~jira_sim() override;

  std::string name() const override;  // "jira-dc" or "jira-cloud"
  http_response handle(const http_request& req) override;
  http_response handle_control(const http_request& req) override;
  void load_seed(const json& section) override;
  void set_base_url(std::string url) override;
  void tick() override;

  /// Outbound webhook deliveries: the server performs each call and reports each attempt's outcome.
  void set_outbound(std::function<void(outbound_call)> send);
  /// Records the outcome of one attempt; schedules a retry for 408/409/425/429/5xx/connection failures.
  void on_outbound_result(const outbound_result& result);

  /// Backoff before retry n (1-based): 1 s, 2 s, 4 s, 8 s, 16 s; there are at most max_retries retries.
  static int64_t retry_delay_ms(int retry);
  static constexpr int max_retries = 5;

  jira_flavor flavor() const { return flavor_; }
  bool cloud() const { return flavor_ == jira_flavor::cloud; }

private:
  using user = jira_detail::user;
  using issue = jira_detail::issue;
  using comment = jira_detail::comment;
  using op_result = jira_detail::op_result;
  using rich_text = jira_detail::rich_text;
  using change_item = jira_detail::change_item;

  /// One REST request after authentication.
  struct ctx {
    const http_request& req;
    int api = 2;                 // 2 or 3
    std::optional<size_t> user;  // nullopt = anonymous
  };

  // --- jira.cpp: seed, auth, routing, helpers
  void reset_state();
  http_response route(const http_request& req, std::vector<std::string_view> seg, ctx& c);
  http_response route_issue(std::vector<std::string_view> seg, ctx& c);
  http_response route_webhooks(std::vector<std::string_view> seg, ctx& c);
  std::optional<http_response> authenticate(const http_request& req, ctx& c);
  std::optional<http_response> check_content_type(const http_request& req) const;
  http_response reply(const op_result& r) const;
  http_response reply(int status, const json& body) const;
  http_response no_content() const;
  static json errors(std::vector<std::string> messages, json field_errors = json::object());
  op_result not_authenticated() const;
  op_result issue_not_found() const;
  std::optional<size_t> find_user_by_name(std::string_view name) const;
  std::optional<size_t> find_user_by_account(std::string_view account_id) const;
  std::optional<size_t> find_user_by_key(std::string_view key) const;
  issue* find_issue(std::string_view id_or_key);
  const issue* find_issue(std::string_view id_or_key) const;
  std::optional<size_t> find_project(std::string_view id_or_key) const;
  const jira_detail::status_def* status(std::string_view id) const;
  const jira_detail::status_def* status_by_name(std::string_view name) const;
  const jira_detail::transition_def* transition(std::string_view id) const;
  const jira_detail::named* resolution(std::string_view id) const;
  const jira_detail::named* priority(std::string_view id) const;
  std::string api_base(int api) const;  // base_url_ + "/rest/api/N"
  std::string user_ref_string(size_t u) const;  // name on DC, accountId on Cloud
  std::string now_jira() const;
  /// Integer query parameter, or `fallback` when absent or not a number.
  static int64_t int_param(const http_request& req, const char* name, int64_t fallback);

  // --- jira_render.cpp
  json avatar_urls(std::string_view kind, std::string_view id) const;
  json user_json(size_t u, int api) const;
  json user_json(const std::optional<size_t>& u, int api) const;
  json status_json(std::string_view status_id, int api) const;
  json category_json(std::string_view category, int api) const;
  json issuetype_json(const jira_detail::project& p, std::string_view type_id, int api) const;
  json project_json(const jira_detail::project& p, int api) const;
  json priority_json(std::string_view id, int api) const;
  json resolution_json(std::string_view id, int api) const;
  json option_json(const jira_detail::field_def& f, std::string_view option_id, int api) const;
  json custom_value_json(const jira_detail::field_def& f, const issue& i, int api) const;
  json rich_json(const rich_text& t, int api) const;
  json comment_json(const issue& i, const comment& c, int api) const;
  json comments_field_json(const issue& i, int api) const;
  /// All fields of `i`; `only` restricts to the given ids (nullopt = all).
  json fields_json(const issue& i, int api, const std::optional<std::set<std::string>>& only) const;
  json issue_json(const issue& i, int api, const std::optional<std::set<std::string>>& only,
                  const std::set<std::string>& expand) const;
  json changelog_json(const issue& i, int api) const;
  json change_item_json(const change_item& c) const;
  json field_names_json() const;
  /// Parses a `fields=` selection ("*all", "*navigable", ids, "-id"); nullopt = all fields.
  static std::optional<std::set<std::string>> parse_field_selection(const std::vector<std::string>& xs,
                                                                    std::set<std::string> all_ids);
  std::set<std::string> all_field_ids() const;

  // --- jira_adf.cpp (free functions declared in the .cpp are used through these)
  static bool valid_adf(const json& doc);
  static std::string adf_to_wiki(const json& doc);
  static json text_to_adf(std::string_view text);

  // --- jira_issues.cpp
  op_result op_create_issue(size_t actor, const json& body, int api);
  op_result op_edit_issue(size_t actor, issue& i, const json& body, int api);
  /// Validates one field value for create/edit; writes into `out` or adds a message to `errs`.
  void set_field(const std::string& id, const json& value, int api, const jira_detail::project& p,
                 jira_detail::issue_fields& out, json& errs) const;
  std::optional<std::optional<size_t>> parse_user_ref(const json& v, const jira_detail::project& p, std::string& err) const;
  std::vector<change_item> diff(const jira_detail::issue_fields& a, const jira_detail::issue_fields& b) const;
  jira_detail::history& add_history(issue& i, size_t actor, std::vector<change_item> items);
  change_item make_item(std::string field, std::string field_id, std::string fieldtype, json from, json from_s,
                        json to, json to_s) const;
  change_item user_item(std::string field, const std::optional<size_t>& from, const std::optional<size_t>& to) const;
  std::vector<std::string> create_screen_fields(const jira_detail::project& p) const;
  http_response get_issue(ctx& c, issue& i);
  http_response get_createmeta_types(ctx& c, std::string_view project);
  http_response get_createmeta_fields(ctx& c, std::string_view project, std::string_view type_id);
  http_response get_createmeta_old(ctx& c);
  json createmeta_field_items(const jira_detail::project& p, int api) const;
  http_response get_fields(ctx& c);

  // --- jira_rest.cpp
  op_result op_add_comment(size_t actor, issue& i, const json& body, int api);
  op_result op_update_comment(size_t actor, issue& i, int64_t comment_id, const json& body, int api);
  op_result op_delete_comment(size_t actor, issue& i, int64_t comment_id);
  op_result op_transition(size_t actor, issue& i, const json& body, int api);
  op_result op_assign(size_t actor, issue& i, std::optional<size_t> assignee);
  op_result parse_comment_body(const json& body, int api, rich_text& out) const;
  std::vector<const jira_detail::transition_def*> available_transitions(const issue& i) const;
  json transition_json(const jira_detail::transition_def& t, bool with_fields, int api) const;
  http_response comments(ctx& c, issue& i, std::vector<std::string_view> rest);
  http_response transitions(ctx& c, issue& i);
  http_response assignee(ctx& c, issue& i);
  http_response remotelinks(ctx& c, issue& i, std::vector<std::string_view> rest);
  http_response properties(ctx& c, std::map<std::string, json>& props, std::string self_base,
                           std::vector<std::string_view> rest);
  http_response comment_properties(ctx& c, std::vector<std::string_view> rest);
  http_response users(ctx& c, std::vector<std::string_view> rest);
  http_response myself(ctx& c);
  http_response server_info(ctx& c);
  http_response misc_resource(ctx& c, std::vector<std::string_view> seg);
  comment* find_comment(issue& i, int64_t id);

  // --- jira_jql.cpp
  /// Parses and compiles `jql` for `viewer`; on error returns nullptr and sets `error` (Jira's message).
  std::shared_ptr<jira_detail::jql_query> compile_jql(std::string_view jql, std::optional<size_t> viewer,
                                                      std::string& error) const;
  bool jql_matches(const jira_detail::jql_query& q, const issue& i) const;
  std::vector<const issue*> run_jql(const jira_detail::jql_query& q) const;
  static bool jql_bounded(const jira_detail::jql_query& q);
  http_response search_dc(ctx& c);
  http_response search_jql(ctx& c);

  // --- jira_webhooks.cpp
  json webhook_json(const jira_detail::webhook& w) const;
  op_result op_register_webhook(const json& body, std::optional<size_t> actor, bool allow_secret);
  std::optional<std::set<std::string>> webhook_fields() const;
  void emit_issue_event(std::string_view webhook_event, std::string_view type_name, size_t actor, const issue& i,
                        const jira_detail::history* changelog, const comment* c,
                        const std::vector<change_item>* create_items = nullptr);
  void emit_comment_event(std::string_view webhook_event, size_t actor, const issue& i, const comment& c);
  bool has_subscriber(std::string_view webhook_event, const issue& i) const;
  void enqueue(std::string_view webhook_event, std::string_view type_name, const issue& i, json payload,
               size_t actor);
  void dispatch(jira_detail::delivery& d);
  void flush_queued();
  json delivery_json(const jira_detail::delivery& d, bool with_body) const;
  std::string expand_url(const std::string& url, const issue& i, size_t actor) const;

  // --- jira_control.cpp
  http_response control(const http_request& req);
  json control_issue_json(const issue& i) const;
  std::optional<size_t> control_actor(const json& body, const http_request& req, std::string& err) const;

  jira_flavor flavor_;
  const clock_source& clock_;
  id_source& ids_;
  std::string base_url_;
  json seed_;
  bool base_url_overridden_ = false;

  std::vector<user> users_;
  std::unordered_map<std::string, size_t> user_by_name_, user_by_key_, user_by_account_, user_by_email_;
  std::unordered_map<std::string, size_t> user_by_token_;
  std::optional<size_t> bot_;

  std::vector<jira_detail::status_def> statuses_;
  std::string initial_status_;
  std::vector<jira_detail::transition_def> transitions_;
  std::vector<jira_detail::field_def> custom_fields_;
  std::unordered_map<std::string, size_t> custom_by_id_;
  std::vector<jira_detail::named> resolutions_, priorities_;
  std::string default_priority_;
  std::vector<jira_detail::project> projects_;
  std::unordered_map<std::string, size_t> project_by_key_, project_by_id_;

  std::deque<issue> issues_;  // deque: references stay valid while issues are appended
  std::unordered_map<std::string, size_t> issue_by_key_, issue_by_id_;
  std::unordered_map<int64_t, size_t> comment_issue_;  // comment id -> index in issues_

  int64_t next_issue_id_ = 10000, next_comment_id_ = 10000, next_history_id_ = 10000;
  int64_t next_link_id_ = 10000, next_webhook_id_ = 1;

  std::map<int64_t, jira_detail::webhook> webhooks_;
  std::map<uint64_t, jira_detail::delivery> deliveries_;
  std::deque<uint64_t> queued_;                    // deliveries waiting for their first attempt, in event order
  std::multimap<int64_t, uint64_t> retry_at_;      // due time -> delivery id
  std::unordered_map<uint64_t, uint64_t> call_to_delivery_;
  std::function<void(outbound_call)> send_;
  uint64_t next_delivery_id_ = 1, next_call_id_ = 1;
  static constexpr size_t max_kept_deliveries = 20000;
};

} // namespace dutydesk::sim
