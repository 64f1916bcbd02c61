#include "domain/message_filter.hpp"

#include <algorithm>

namespace dutydesk::domain {

std::string_view to_string(ignore_reason x) {
  switch (x) {
    case ignore_reason::none: return "none";
    case ignore_reason::unknown_room: return "unknown-room";
    case ignore_reason::system_message: return "system-message";
    case ignore_reason::edited: return "edited";
    case ignore_reason::own_message: return "own-message";
    case ignore_reason::member_chat: return "member-chat";
  }
  return "unknown";
}

message_class classify(const incoming_message& msg, const filter_rules& rules) {
  auto ignore = [](ignore_reason r) { return message_class{message_kind::ignore, r}; };
  auto channel = std::find_if(rules.channels.begin(), rules.channels.end(),
                              [&](const filter_channel& c) { return c.room == msg.room; });
  if (channel == rules.channels.end())
    return ignore(ignore_reason::unknown_room);
  if (msg.type && !msg.type->empty())
    return ignore(ignore_reason::system_message);
  if (msg.edited) {
    if (msg.thread_id && !msg.thread_id->empty() && !msg.author.empty() && msg.author != rules.bot_user)
      return {message_kind::thread_edit, ignore_reason::none};
    return ignore(ignore_reason::edited);
  }
  if (msg.author.empty())
    return ignore(ignore_reason::system_message);
  if (msg.author == rules.bot_user)
    return ignore(ignore_reason::own_message);
  if (msg.thread_id && !msg.thread_id->empty())
    return {message_kind::thread_reply, ignore_reason::none};
  if (!channel->members_open_requests
      && std::find(channel->members.begin(), channel->members.end(), msg.author) != channel->members.end())
    return ignore(ignore_reason::member_chat);
  return {message_kind::new_request, ignore_reason::none};
}

} // namespace dutydesk::domain
