#include "domain/duty_rules.hpp"

#include <algorithm>
#include <cctype>

#include "domain/commands.hpp"

namespace dutydesk::domain {

namespace {

bool contains(const std::vector<std::string>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

void add_unique(std::vector<std::string>& xs, const std::string& x) {
  if (!x.empty() && !contains(xs, x))
    xs.push_back(x);
}

std::string map_user(const oncall_user& u, std::span<const duty_override> overrides,
                     std::span<const chat_user> directory) {
  if (!u.id.empty())
    for (const auto& o : overrides)
      if (o.oncall_id == u.id)
        return o.rocketchat;
  if (!u.email.empty())
    for (const auto& o : overrides)
      if (!o.email.empty() && iequals(o.email, u.email))
        return o.rocketchat;
  if (!u.username.empty())
    for (const auto& c : directory)
      if (c.username == u.username)
        return c.username;
  if (!u.email.empty())
    for (const auto& c : directory)
      if (!c.email.empty() && iequals(c.email, u.email))
        return c.username;
  return {};
}

} // namespace

std::string_view to_string(duty_source x) {
  switch (x) {
    case duty_source::ok: return "ok";
    case duty_source::empty: return "empty";
    case duty_source::unmapped: return "unmapped";
    case duty_source::error: return "error";
  }
  return "unknown";
}

duty_resolution resolve_on_duty(const oncall_result& oncall, std::span<const duty_override> overrides,
                                std::span<const chat_user> directory, std::span<const std::string> fallback) {
  duty_resolution result;
  auto add_fallback = [&] {
    for (const auto& f : fallback)
      add_unique(result.users, f);
    result.fallback_used = true;
  };
  if (oncall.failed) {
    result.source = duty_source::error;
    result.reason = oncall.error.empty() ? "OnCall error" : "OnCall error: " + oncall.error;
    add_fallback();
    return result;
  }
  if (oncall.on_call_now.empty()) {
    result.source = duty_source::empty;
    result.reason = "nobody on call";
    add_fallback();
    return result;
  }
  std::vector<std::string> unmapped;
  for (const auto& u : oncall.on_call_now) {
    auto name = map_user(u, overrides, directory);
    if (name.empty())
      unmapped.push_back(!u.username.empty() ? u.username : !u.id.empty() ? u.id : u.email);
    else
      add_unique(result.users, name);
  }
  if (!unmapped.empty()) {
    result.source = duty_source::unmapped;
    result.reason = "no Rocket.Chat user for OnCall user";
    for (std::size_t i = 0; i < unmapped.size(); ++i)
      result.reason += (i == 0 ? " " : ", ") + unmapped[i];
    add_fallback();
  }
  return result;
}

bool is_staff(const request_roles& roles, std::string_view user) {
  if (user.empty() || user == roles.bot_user)
    return false;
  return contains(roles.on_duty, user) || contains(roles.members, user);
}

status_permission may_set_status(const request_roles& roles, std::string_view user, bool target_is_final) {
  if (is_staff(roles, user))
    return status_permission::allowed;
  if (!user.empty() && user != roles.bot_user && user == roles.requester)
    return target_is_final ? status_permission::allowed : status_permission::requester_not_final;
  return status_permission::refused;
}

bool may_move(const request_roles& roles, std::string_view user) {
  return is_staff(roles, user) || (!user.empty() && user != roles.bot_user && user == roles.requester);
}

bool may_assign(const request_roles& roles, std::string_view user) {
  return is_staff(roles, user);
}

bool may_react(const request_roles& roles, std::string_view user) {
  return is_staff(roles, user);
}

bool counts_as_activity(const request_roles& roles, std::string_view user) {
  return is_staff(roles, user);
}

} // namespace dutydesk::domain
