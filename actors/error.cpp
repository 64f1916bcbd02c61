#include "actors/error.hpp"

namespace dutydesk {

const char* to_string(ec x) {
  switch (x) {
    case ec::storage_failed: return "storage_failed";
    case ec::chat_failed: return "chat_failed";
    case ec::oncall_failed: return "oncall_failed";
    case ec::unknown_room: return "unknown_room";
    case ec::not_found: return "not_found";
    case ec::unavailable: return "unavailable";
    case ec::storage_unavailable: return "storage_unavailable";
    case ec::chat_rejected: return "chat_rejected";
  }
  return "unknown";
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string result;
  if (err.category() == caf::atom("dutydesk")) {
    result = to_string(static_cast<ec>(err.code()));
    if (err.context().match_elements<std::string>() && !err.context().get_as<std::string>(0).empty())
      result += ": " + err.context().get_as<std::string>(0);
    return result;
  }
  return caf::to_string(err);
}

} // namespace dutydesk
