#pragma once
// `dutydesk report`: request and survey figures per team and overall for a period, as a table, CSV or JSON
// (report/report.hpp has the definitions, docs/report.md the user's description).

#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "config/load.hpp"

namespace dutydesk::app {

/// The command line of `dutydesk report` besides --config.
struct report_options {
  std::string since;
  std::string until;
  int days = 0;                   // meaningful when days_option->count() > 0
  CLI::Option* days_option = nullptr;
  std::string team;               // "" = every team
  std::string format = "table";
};

/// Declares --since, --until, --days, --team and --format on `cmd`, filling `opts` when parsed.
void add_report_options(CLI::App& cmd, report_options& opts);

/// Prints the report of the configured store to `out`. Returns a config::exit_code value: ok; usage for a bad or
/// empty period (checked before the config is read); invalid_config (diagnostics as FILE:LINE:COL); storage_error
/// when the store cannot be opened or read; migrations_pending when its schema is behind the binary.
int report(const std::string& config_path, const config::env_lookup& env, const report_options& opts,
           std::ostream& out, std::ostream& err);

} // namespace dutydesk::app
