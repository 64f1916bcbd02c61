#include "config/commands.hpp"

#include <ostream>

#include "domain/date.hpp"

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

domain::parsed<report_window> parse_report_window(const std::string& since, const std::string& until) {
  report_window w;
  if (!since.empty()) {
    auto d = domain::parse_date(since);
    if (!d)
      return domain::parse_error{"--since: " + d.error()};
    w.since = *d;
  }
  if (!until.empty()) {
    auto d = domain::parse_date(until);
    if (!d)
      return domain::parse_error{"--until: " + d.error()};
    w.until = *d;
  }
  if (w.since && w.until && *w.since > *w.until)
    return domain::parse_error{"--since " + since + " is after --until " + until};
  return w;
}

} // namespace dutydesk::config
