#pragma once
// `dutydesk serve`: opens the store, logs in to Rocket.Chat, spawns the actors (storage, OnCall gateway, duty, one
// supervisor per channel, the chat gateway) and runs until SIGINT/SIGTERM. Open requests are restored (timers
// re-armed) before the realtime connection starts, and the connection backfills from the stored room cursors.
//
// Once everything runs it prints one line to stdout, for scripts and tests to wait on:
//   dutydesk ready {"bot":"dutydesk","channels":["cicd-support",...],"restored":N,"live":true,...}
// (printed once the realtime connection is live, or after 30 s with "live":false; it keeps retrying).

#include <ostream>

#include "config/config.hpp"

namespace dutydesk::app {

/// Runs the service; returns a config::exit_code value (storage_error, unavailable) or ok after a signal.
int serve(const config::config& cfg, std::ostream& out, std::ostream& err);

} // namespace dutydesk::app
