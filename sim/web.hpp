#pragma once
// The simulator's live page (docs/simulator.md, "The live page"): plain HTML, CSS and JavaScript from sim/web/,
// embedded in the binary at build time (sim/web/embed.cmake), served on the control port next to /control/...,
// which the page polls.

#include <optional>

#include "sim/core.hpp"

namespace dutydesk::sim {

/// The page or one of its assets for a request to `/`, `/live` or `/live/<file>`; nullopt for any other path.
std::optional<http_response> web_page(const http_request& req);

} // namespace dutydesk::sim
