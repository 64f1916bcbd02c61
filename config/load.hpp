#pragma once
// Loading the YAML config: parse, expand ${ENV}, check every key and value, and collect ALL problems as
// diagnostics `FILE:LINE:COL: message` (1-based). No message ever quotes a secret: values of auth_token, password,
// token and webhook_secret, anything that came from ${ENV}, and URL passwords are never shown.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dutydesk::config {

/// One problem in a config file, at a 1-based line and column.
struct diagnostic {
  std::string file;
  int line = 1;
  int col = 1;
  std::string message;
  friend bool operator==(const diagnostic&, const diagnostic&) = default;
};

/// "FILE:LINE:COL: message".
std::string format(const diagnostic& d);

/// Looks up an environment variable; nullopt when unset.
using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment (getenv).
env_lookup process_env();

/// A fixed environment, for tests.
env_lookup map_env(std::map<std::string, std::string> vars);

/// The loaded config, or the diagnostics explaining why there is none. Diagnostics are sorted by position.
struct load_result {
  std::optional<config> value;
  std::vector<diagnostic> diagnostics;

  bool ok() const { return value.has_value(); }
};

/// Reads, parses and validates the config file at `path`. A missing or unreadable file gives one diagnostic
/// `PATH:1:1: cannot read file: <strerror>`.
load_result load_config(const std::string& path, const env_lookup& env);

/// Like load_config, but from `text`; `display_name` is the FILE of the diagnostics.
load_result load_config_text(std::string_view text, const std::string& display_name, const env_lookup& env);

} // namespace dutydesk::config
