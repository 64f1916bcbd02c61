#pragma once
// The CLI's commands as plain functions over streams, so tests can run them without a process. app/main.cpp only
// parses arguments (CLI11) and calls these.

#include <iosfwd>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/load.hpp"

namespace dutydesk::config {

/// Exit codes of the dutydesk binary.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int invalid_config = 1;  // check-config found problems (or the file cannot be read)
inline constexpr int usage = 2;           // bad command line
inline constexpr int not_implemented = 3; // the command's behaviour is not built yet
inline constexpr int migrations_pending = 4; // migrate --check: the database is behind the binary
inline constexpr int storage_error = 5;      // the store cannot be opened or migrated
inline constexpr int unavailable = 6;        // serve: Rocket.Chat cannot be reached or refuses the login at start
} // namespace exit_code

/// Loads `path` and prints every diagnostic as `FILE:LINE:COL: message` to `err`; the config when there were none.
std::optional<config> load_and_report(const std::string& path, const env_lookup& env, std::ostream& err);

/// `dutydesk check-config`: prints "PATH: ok" and the redacted summary to `out` and returns 0, or prints the
/// diagnostics to `err` and returns 1.
int check_config(const std::string& path, const env_lookup& env, std::ostream& out, std::ostream& err);

} // namespace dutydesk::config
