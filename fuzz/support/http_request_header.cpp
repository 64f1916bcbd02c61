// The fuzz build's definition of http_server_request::header(): the real one sits in io/http_server.cpp, a Beast
// translation unit the fuzz build leaves out (fuzz/CMakeLists.txt). Same contract as the header documents: the
// first header with this name, compared case-insensitively (names are stored lower-cased).
#include "io/http_server.hpp"

#include <cctype>

namespace dutydesk::io {

std::optional<std::string> http_server_request::header(std::string_view name) const {
  std::string wanted(name);
  for (auto& c : wanted)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [n, v] : headers)
    if (n == wanted)
      return v;
  return std::nullopt;
}

} // namespace dutydesk::io
