#pragma once
// dutydesk's configuration as plain structs. config/load.hpp fills and validates them from YAML; everything here is
// already checked (URLs parse, durations are positive, status references resolve), so the rest of the program reads
// fields without re-validating. Defaults are the ones documented in docs/configuration.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "domain/url.hpp"

namespace dutydesk::config {

using milliseconds = std::chrono::milliseconds;

/// Jira deployment: Data Center / Server (REST v2, users by name) or Cloud (REST v3 + ADF, users by accountId).
enum class jira_flavor { datacenter, cloud };

/// How dutydesk authenticates to Jira.
enum class jira_auth_type { bearer, basic };

/// How dutydesk logs in to Rocket.Chat.
enum class rocketchat_auth { token, password };

/// Where requests are stored.
enum class storage_kind { sqlite, postgresql };

/// Language of the messages dutydesk posts.
enum class ui_language { en, ru };

struct rocketchat_config {
  std::string url;          // REST base without trailing '/', e.g. "http://127.0.0.1:3000"
  std::string realtime_url; // derived: ws(s)://same host[/same path]/websocket
  rocketchat_auth auth = rocketchat_auth::token;
  std::string user_id;    // auth == token
  std::string auth_token; // auth == token (secret): a personal access token
  std::string username;   // auth == password
  std::string password;   // auth == password (secret)
};

struct jira_auth_config {
  jira_auth_type type = jira_auth_type::bearer;
  std::string token; // secret: a personal access token (bearer) or API token / password (basic)
  std::string user;  // basic only: user name (Data Center) or e-mail (Cloud)
};

struct jira_config {
  std::string url; // without trailing '/'
  jira_flavor flavor = jira_flavor::datacenter;
  jira_auth_config auth;
  std::string webhook_secret;                // secret: verifies X-Hub-Signature on POST /jira/webhook
  std::optional<std::string> service_field;  // e.g. "customfield_10100"; unset: Jira-created tasks are not routed
  std::optional<milliseconds> poll_interval; // set: also poll Jira with JQL at this interval (webhook fallback)
};

struct oncall_config {
  std::string url;                         // Grafana OnCall API base, without trailing '/'
  std::string token;                       // secret
  std::optional<std::string> grafana_url;  // sent as X-Grafana-URL (Grafana Cloud OnCall needs it)
};

inline constexpr std::string_view default_storage_url = "sqlite:///var/lib/dutydesk/dutydesk.db";

struct storage_config {
  std::string url{default_storage_url}; // as written; may hold a password: log it only via domain::redact_url_text
  storage_kind kind = storage_kind::sqlite;
  std::string path;     // sqlite: absolute file path
  std::string conninfo; // postgresql: the URL, which libpq takes as a connection string (may hold a password)
};

/// An HTTP endpoint that gets every event too, signed with HMAC-SHA256 of the body.
struct event_webhook {
  std::string url;
  std::string secret; // secret
};

struct events_config {
  std::string nats_url;                 // may hold credentials; "" = no NATS (webhook sinks only)
  std::string subject_prefix = "dutydesk";
  std::string stream = "DUTYDESK_EVENTS"; // JetStream stream over "<subject_prefix>.>", created at start if missing
  milliseconds duplicate_window = std::chrono::minutes{10}; // the stream's dedup window (Nats-Msg-Id)
  std::string source = "/dutydesk";    // CloudEvents source
  std::vector<event_webhook> webhooks;
};

struct http_config {
  domain::host_port listen{"127.0.0.1", 8090}; // POST /jira/webhook, GET /healthz, GET /readyz
};

/// Outbound TLS (https:// and wss:// to Rocket.Chat, Jira, OnCall, webhook sinks). Certificates are always verified.
struct tls_config {
  std::string ca_file; // extra trust anchors (PEM) besides the system store, e.g. a company CA; "" = none
};

struct metrics_config {
  domain::host_port listen{"127.0.0.1", 9464}; // GET /metrics
};

struct status_config {
  std::string id;                          // what commands and buttons use, e.g. "in_progress"
  std::string label;                       // defaults to the id
  std::string emoji;                       // e.g. ":new:"; "" for none
  std::optional<std::string> jira_status;  // Jira status to transition to; unset: no transition
  bool final = false;                      // closes the request
};

struct channel_jira_config {
  std::string project;             // project key, e.g. "CICD"
  std::string issue_type = "Task";
};

struct channel_oncall_config {
  std::string schedule_id;
  std::vector<std::string> fallback; // Rocket.Chat users tagged when OnCall has nobody (or is unreachable)
};

struct channel_config {
  std::string room;                 // Rocket.Chat room name
  std::string team;                 // unique: a team owns one channel
  std::vector<std::string> members; // may change any request's status
  bool member_requests = true;      // false: a member's top-level message is chat, not a request
  channel_jira_config jira;
  std::vector<std::string> services; // unique across channels
  channel_oncall_config oncall;
  milliseconds remind_after = std::chrono::hours{4};
  std::string default_status; // resolved: the channel's default_status, else the top-level initial_status
};

struct feedback_config {
  bool enabled = false;
  milliseconds expire_after = std::chrono::hours{24 * 7};
  bool anonymous = true;
};

struct user_override {
  std::string rocketchat;
  std::optional<std::string> oncall; // Grafana OnCall user id
  std::optional<std::string> jira;   // Jira user name (Data Center) or accountId (Cloud)
  std::optional<std::string> email;
};

struct config {
  rocketchat_config rocketchat;
  jira_config jira;
  oncall_config oncall;
  storage_config storage;
  std::optional<events_config> events; // unset: no NATS publishing
  http_config http;
  tls_config tls;
  metrics_config metrics;
  std::vector<status_config> statuses; // in the configured order
  std::string initial_status;          // resolved: initial_status, else the first status
  std::vector<channel_config> channels;
  feedback_config feedback;
  std::vector<user_override> users;
  ui_language language = ui_language::en;

  /// Key paths (e.g. "rocketchat.url", "channels[0].room") whose value came from ${ENV}. They are secrets:
  /// redacted_summary prints "***" for them.
  std::set<std::string> from_env;

  /// The status with this id, or nullptr.
  const status_config* find_status(std::string_view id) const;
  /// The channel for this Rocket.Chat room, or nullptr.
  const channel_config* find_channel(std::string_view room) const;
  /// The channel a Jira service-field value routes to, or nullptr.
  const channel_config* channel_for_service(std::string_view service) const;
};

std::string_view to_string(jira_flavor x);
std::string_view to_string(jira_auth_type x);
std::string_view to_string(rocketchat_auth x);
std::string_view to_string(storage_kind x);
std::string_view to_string(ui_language x);

/// One line describing `cfg` for logs and `check-config`: URLs (passwords masked), listen addresses, statuses,
/// channels, feedback. Secrets and values that came from ${ENV} appear as "***".
std::string redacted_summary(const config& cfg);

} // namespace dutydesk::config
