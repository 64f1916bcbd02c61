#include "config/to_domain.hpp"

namespace dutydesk::config {

domain::lifecycle_params lifecycle_for(const config& cfg, const channel_config& channel, const std::string& bot_user) {
  domain::lifecycle_params result;
  for (const auto& s : cfg.statuses)
    result.statuses.push_back(domain::status_def{s.id, s.label, s.emoji, s.final, s.jira_status.value_or("")});
  result.initial_status = channel.default_status.empty() ? cfg.initial_status : channel.default_status;
  result.members = channel.members;
  result.fallback = channel.oncall.fallback;
  result.remind_after = channel.remind_after;
  result.bot_user = bot_user;
  result.lang = cfg.language == ui_language::ru ? domain::language::ru : domain::language::en;
  for (const auto& c : cfg.channels)
    result.channels.push_back(domain::move_target{c.room, c.services, c.team});
  result.jira = !cfg.jira.url.empty() && !channel.jira.project.empty();
  result.team = channel.team;
  result.events = cfg.events.has_value();
  result.feedback.enabled = cfg.feedback.enabled;
  result.feedback.expire_after = cfg.feedback.expire_after;
  result.feedback.anonymous = cfg.feedback.anonymous;
  return result;
}

domain::filter_rules filter_for(const config& cfg, const std::string& bot_user) {
  domain::filter_rules result;
  result.bot_user = bot_user;
  for (const auto& c : cfg.channels)
    result.channels.push_back(domain::filter_channel{c.room, c.members, c.member_requests});
  return result;
}

std::vector<domain::duty_override> duty_overrides(const config& cfg) {
  std::vector<domain::duty_override> result;
  for (const auto& u : cfg.users)
    result.push_back(domain::duty_override{u.rocketchat, u.oncall.value_or(""), u.email.value_or("")});
  return result;
}

} // namespace dutydesk::config
