#pragma once
// The one error enum of the actor layer, registered with CAF under the category "dutydesk" so that
// sys.render(err) prints the code's name (see actors/system.hpp for the registration).

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace dutydesk {

enum class ec : std::uint8_t {
  /// The storage backend failed (the context says which call and why).
  storage_failed = 1,
  /// Rocket.Chat refused a call or could not be reached after every retry.
  chat_failed,
  /// Grafana OnCall could not be asked.
  oncall_failed,
  /// A room name that is not configured or does not exist in Rocket.Chat.
  unknown_room,
  /// A request, user or message that does not exist.
  not_found,
  /// The actor is shutting down or not ready yet.
  unavailable,
  /// The database could not be reached (the storage actor retries these itself; callers see one only when it gave
  /// up because the process is stopping).
  storage_unavailable,
  /// Rocket.Chat refused this call for good (a 4xx other than 401/429, e.g. an emoji the server does not know):
  /// repeating it cannot help.
  chat_rejected,
};

/// "storage_failed", "chat_failed", ...
const char* to_string(ec x);

/// An error of category "dutydesk" with a context text.
inline caf::error make_error(ec x, std::string context = {}) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("dutydesk"), caf::make_message(std::move(context))};
}

/// The context text of an error made by make_error, or CAF's rendering of any other error.
std::string describe(const caf::error& err);

} // namespace dutydesk
