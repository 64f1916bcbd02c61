#include "config/commands.hpp"

#include <ostream>

namespace dutydesk::config {

std::optional<config> load_and_report(const std::string& path, const env_lookup& env, std::ostream& err) {
  auto result = load_config(path, env);
  for (const auto& d : result.diagnostics)
    err << format(d) << '\n';
  err.flush();
  return std::move(result.value);
}

int check_config(const std::string& path, const env_lookup& env, std::ostream& out, std::ostream& err) {
  auto cfg = load_and_report(path, env, err);
  if (!cfg)
    return exit_code::invalid_config;
  out << path << ": ok\n" << redacted_summary(*cfg) << '\n';
  out.flush();
  return exit_code::ok;
}

} // namespace dutydesk::config
