#include "app/report.hpp"

#include <chrono>

#include "config/commands.hpp"
#include "domain/url.hpp"
#include "report/format.hpp"
#include "report/load.hpp"
#include "report/period.hpp"
#include "report/report.hpp"

namespace dutydesk::app {

namespace rp = dutydesk::report;

void add_report_options(CLI::App& cmd, report_options& opts) {
  cmd.add_option("--since", opts.since, "Start (included): YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC");
  cmd.add_option("--until", opts.until, "End (excluded): YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC; default now");
  opts.days_option = cmd.add_option("--days", opts.days, "Without --since: the period is the N days before --until "
                                                         "(default 30)");
  cmd.add_option("--team", opts.team, "Only this team");
  cmd.add_option("--format", opts.format, "Output format (default table)")
      ->check(CLI::IsMember({"csv", "json", "table"}));
}

int report(const std::string& config_path, const config::env_lookup& env, const report_options& opts,
           std::ostream& out, std::ostream& err) {
  namespace ec = config::exit_code;
  rp::period_options given{opts.since, opts.until, std::nullopt};
  if (opts.days_option != nullptr && opts.days_option->count() > 0)
    given.days = opts.days;
  // A default end is the current second, so that the printed period reads cleanly.
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  auto period = rp::resolve_period(given, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  if (!period) {
    err << period.error() << "\nRun with --help for more information.\n";
    return ec::usage;
  }
  auto cfg = config::load_and_report(config_path, env, err);
  if (!cfg)
    return ec::invalid_config;

  // The URL may carry a password: it is only ever printed redacted, and storage errors never quote it.
  auto where = domain::redact_url_text(cfg->storage.url);
  auto rows = rp::load(cfg->storage.url, period->since, period->until);
  if (!rows.ok()) {
    err << "dutydesk report: cannot read " << where << ": " << rows.err().message << '\n';
    return rows.err().code == storage::errc::schema_pending ? ec::migrations_pending : ec::storage_error;
  }
  std::vector<std::string> teams;
  for (const auto& c : cfg->channels)
    teams.push_back(c.team);
  std::optional<std::string> only_team;
  if (!opts.team.empty())
    only_team = opts.team;
  auto result = rp::compute(rows->requests, rows->feedback, period->since, period->until, teams, only_team);
  if (opts.format == "json")
    out << rp::to_json(result);
  else if (opts.format == "csv")
    out << rp::to_csv(result);
  else
    out << rp::to_table(result);
  out.flush();
  return ec::ok;
}

} // namespace dutydesk::app
