#include "config/config.hpp"

#include "domain/duration.hpp"

namespace dutydesk::config {

const status_config* config::find_status(std::string_view id) const {
  for (const auto& s : statuses)
    if (s.id == id)
      return &s;
  return nullptr;
}

const channel_config* config::find_channel(std::string_view room) const {
  for (const auto& c : channels)
    if (c.room == room)
      return &c;
  return nullptr;
}

const channel_config* config::channel_for_service(std::string_view service) const {
  for (const auto& c : channels)
    for (const auto& s : c.services)
      if (s == service)
        return &c;
  return nullptr;
}

std::string_view to_string(jira_flavor x) { return x == jira_flavor::cloud ? "cloud" : "datacenter"; }
std::string_view to_string(jira_auth_type x) { return x == jira_auth_type::basic ? "basic" : "bearer"; }
std::string_view to_string(rocketchat_auth x) { return x == rocketchat_auth::password ? "password" : "token"; }
std::string_view to_string(storage_kind x) { return x == storage_kind::postgresql ? "postgresql" : "sqlite"; }
std::string_view to_string(ui_language x) { return x == ui_language::ru ? "ru" : "en"; }

namespace {

/// `value`, or "***" when the value at `path` came from the environment.
std::string show(const config& cfg, const std::string& path, const std::string& value) {
  return cfg.from_env.count(path) != 0 ? "***" : value;
}

/// A status id; "***" when that status's id came from the environment.
std::string show_status(const config& cfg, const std::string& id) {
  for (std::size_t i = 0; i < cfg.statuses.size(); ++i)
    if (cfg.statuses[i].id == id)
      return show(cfg, "statuses[" + std::to_string(i) + "].id", id);
  return id;
}

std::string show_url(const config& cfg, const std::string& path, const std::string& value) {
  return cfg.from_env.count(path) != 0 ? "***" : domain::redact_url_text(value);
}

std::string show_listen(const config& cfg, const std::string& path, const domain::host_port& value) {
  return cfg.from_env.count(path) != 0 ? "***" : domain::to_string(value);
}

} // namespace

std::string redacted_summary(const config& cfg) {
  std::string out = "statuses: ";
  for (std::size_t i = 0; i < cfg.statuses.size(); ++i) {
    const auto& s = cfg.statuses[i];
    if (i > 0)
      out += ", ";
    out += show(cfg, "statuses[" + std::to_string(i) + "].id", s.id);
    if (s.final)
      out += " (final)";
  }
  out += "; initial: " + show_status(cfg, cfg.initial_status);
  out += "; channels: ";
  for (std::size_t i = 0; i < cfg.channels.size(); ++i) {
    const auto& c = cfg.channels[i];
    auto path = "channels[" + std::to_string(i) + "]";
    if (i > 0)
      out += ", ";
    out += show(cfg, path + ".room", c.room);
    out += " (team " + show(cfg, path + ".team", c.team);
    out += ", jira " + show(cfg, path + ".jira.project", c.jira.project) + "/" +
           show(cfg, path + ".jira.issue_type", c.jira.issue_type);
    out += ", remind " + show(cfg, path + ".remind_after", domain::format_duration(c.remind_after));
    out += ", default " + show_status(cfg, c.default_status) + ")";
  }
  out += "; rocketchat: " + show_url(cfg, "rocketchat.url", cfg.rocketchat.url) + " (" +
         std::string{to_string(cfg.rocketchat.auth)} + " auth)";
  out += "; jira: " + show_url(cfg, "jira.url", cfg.jira.url) + " (" + std::string{to_string(cfg.jira.flavor)} + ", " +
         std::string{to_string(cfg.jira.auth.type)} + " auth";
  if (cfg.jira.poll_interval)
    out += ", poll " + show(cfg, "jira.poll_interval", domain::format_duration(*cfg.jira.poll_interval));
  out += ")";
  out += "; oncall: " + show_url(cfg, "oncall.url", cfg.oncall.url);
  out += "; storage: " + show_url(cfg, "storage.url", cfg.storage.url);
  if (cfg.events)
    out += "; events: " +
           (cfg.events->nats_url.empty() ? std::string{"no NATS"}
                                         : show_url(cfg, "events.nats_url", cfg.events->nats_url)) +
           " (prefix " + show(cfg, "events.subject_prefix", cfg.events->subject_prefix) + ", stream " +
           show(cfg, "events.stream", cfg.events->stream) + ", " + std::to_string(cfg.events->webhooks.size()) +
           (cfg.events->webhooks.size() == 1 ? " webhook)" : " webhooks)");
  else
    out += "; events: off";
  out += "; http: " + show_listen(cfg, "http.listen", cfg.http.listen);
  out += "; metrics: " + show_listen(cfg, "metrics.listen", cfg.metrics.listen);
  if (cfg.feedback.enabled)
    out += "; feedback: on (expire " +
           show(cfg, "feedback.expire_after", domain::format_duration(cfg.feedback.expire_after)) +
           (cfg.feedback.anonymous ? ", anonymous)" : ", not anonymous)");
  else
    out += "; feedback: off";
  out += "; users: " + std::to_string(cfg.users.size());
  out += "; language: " + std::string{to_string(cfg.language)};
  return out;
}

} // namespace dutydesk::config
