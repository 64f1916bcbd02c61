#pragma once
// Who is on duty for a request, and who may do what to it.
//
// On-duty resolution maps Grafana OnCall's `on_call_now` for the channel's schedule onto Rocket.Chat users. Each
// OnCall user is mapped by, in order: a `users` override with that OnCall id, an override with that email, a
// Rocket.Chat user with the same username, a Rocket.Chat user with the same email (emails compare
// case-insensitively). Outcomes:
//   ok       everyone on call mapped; they are tagged
//   empty    nobody on call; the fallback is tagged
//   unmapped someone on call has no Rocket.Chat user; the mapped ones AND the fallback are tagged, so the shift the
//            unmapped person covers is not silently dropped
//   error    OnCall could not be asked; the fallback is tagged
// Anything but ok is a miss the caller counts and logs with `reason`.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dutydesk::domain {

/// One user in OnCall's `on_call_now`.
struct oncall_user {
  std::string id;
  std::string username;
  std::string email;
};

/// What the OnCall client returned for a schedule.
struct oncall_result {
  bool failed = false;
  std::string error; // why, when failed
  std::vector<oncall_user> on_call_now;
};

/// A config `users` entry (only the parts resolution needs).
struct duty_override {
  std::string rocketchat;
  std::string oncall_id; // "" when not set
  std::string email;     // "" when not set
};

/// A Rocket.Chat user the bot knows (from the directory or the room's members).
struct chat_user {
  std::string username;
  std::string email;
};

enum class duty_source { ok, empty, unmapped, error };

/// "ok", "empty", "unmapped", "error".
std::string_view to_string(duty_source x);

/// The users to tag and where they came from.
struct duty_resolution {
  std::vector<std::string> users;    // Rocket.Chat usernames to tag, no duplicates, in OnCall order then fallback
  duty_source source = duty_source::ok;
  std::string reason;                // "" for ok; e.g. "nobody on call", "no Rocket.Chat user for OnCall user U1"
  bool fallback_used = false;
  friend bool operator==(const duty_resolution&, const duty_resolution&) = default;
};

/// Resolves the on-duty for one channel; see the header comment for the rules.
duty_resolution resolve_on_duty(const oncall_result& oncall, std::span<const duty_override> overrides,
                                std::span<const chat_user> directory, std::span<const std::string> fallback);

/// How a user stands towards one request.
struct request_roles {
  std::string requester;
  std::vector<std::string> on_duty; // of the moment, including an assignee
  std::vector<std::string> members; // the channel's members
  std::string bot_user;
};

/// The on-duty of the moment or a channel member (never the bot).
bool is_staff(const request_roles& roles, std::string_view user);

enum class status_permission { allowed, refused, requester_not_final };

/// Whether `user` may set a status that is (or is not) final: staff always; the requester only a final status on
/// their own request; anyone else (including the bot) never.
status_permission may_set_status(const request_roles& roles, std::string_view user, bool target_is_final);

/// Whether `user` may move the request: staff or the requester.
bool may_move(const request_roles& roles, std::string_view user);

/// Whether `user` may assign the request: staff.
bool may_assign(const request_roles& roles, std::string_view user);

/// Whether a reaction by `user` counts as a status input: staff only.
bool may_react(const request_roles& roles, std::string_view user);

/// Whether a post by `user` answers the request (re-arms the idle reminder): staff only; the requester's own
/// follow-ups do not.
bool counts_as_activity(const request_roles& roles, std::string_view user);

} // namespace dutydesk::domain
