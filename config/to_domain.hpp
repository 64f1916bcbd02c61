#pragma once
// What the domain machines take from the config: per-channel lifecycle parameters and the message filter's rules.
// The bot's username comes from Rocket.Chat at start (GET me), so the caller passes it in.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "domain/duty_rules.hpp"
#include "domain/message_filter.hpp"
#include "domain/request_lifecycle.hpp"

namespace dutydesk::config {

/// The lifecycle parameters of `channel`: the global statuses in order, the channel's initial status, members,
/// fallback, idle reminder, language, and every channel as a move target.
domain::lifecycle_params lifecycle_for(const config& cfg, const channel_config& channel, const std::string& bot_user);

/// The filter rules: every configured channel with its members.
domain::filter_rules filter_for(const config& cfg, const std::string& bot_user);

/// The `users` overrides as on-duty resolution takes them.
std::vector<domain::duty_override> duty_overrides(const config& cfg);

} // namespace dutydesk::config
