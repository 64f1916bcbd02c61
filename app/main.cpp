// dutydesk's command line. Argument parsing only: the commands live in config/commands.hpp and app/*.hpp.

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "app/migrate.hpp"
#include "app/report.hpp"
#include "app/serve.hpp"
#include "config/commands.hpp"

#ifndef DUTYDESK_VERSION
#error "DUTYDESK_VERSION must be defined (app/CMakeLists.txt)"
#endif

namespace cfg = dutydesk::config;

int main(int argc, char** argv) {
  spdlog::cfg::load_env_levels(); // SPDLOG_LEVEL=debug (or warn, …) sets the log level; info by default
  CLI::App app{"dutydesk: turns Rocket.Chat support-channel messages into tracked requests", "dutydesk"};
  app.require_subcommand(1);

  std::string config_path;
  auto add_config = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", config_path, "YAML configuration file")->required();
  };
  auto* serve = app.add_subcommand("serve", "Run the service");
  add_config(serve);
  auto* check = app.add_subcommand("check-config", "Validate a configuration file and exit");
  add_config(check);
  auto* report = app.add_subcommand("report", "Print request and survey figures per team for a period");
  add_config(report);
  dutydesk::app::report_options report_opts;
  dutydesk::app::add_report_options(*report, report_opts);
  auto* migrate = app.add_subcommand("migrate", "Apply pending schema migrations to the configured store");
  add_config(migrate);
  bool check_only = false;
  migrate->add_flag("--check", check_only, "Only list pending migrations; exit 4 when there are any");
  auto* version = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes are 100+; usage errors are 2, as for most Unix tools.
    return app.exit(e) == 0 ? cfg::exit_code::ok : cfg::exit_code::usage;
  }

  auto env = cfg::process_env();
  if (*version) {
    std::cout << "dutydesk " << DUTYDESK_VERSION << '\n';
    return cfg::exit_code::ok;
  }
  if (*check)
    return cfg::check_config(config_path, env, std::cout, std::cerr);
  if (*report)
    return dutydesk::app::report(config_path, env, report_opts, std::cout, std::cerr);
  if (*migrate) {
    auto loaded = cfg::load_and_report(config_path, env, std::cerr);
    if (!loaded)
      return cfg::exit_code::invalid_config;
    return dutydesk::app::migrate(*loaded, check_only, std::cout, std::cerr);
  }
  if (*serve) {
    auto loaded = cfg::load_and_report(config_path, env, std::cerr);
    if (!loaded)
      return cfg::exit_code::invalid_config;
    spdlog::info("dutydesk loads {}: {}", config_path, cfg::redacted_summary(*loaded));
    return dutydesk::app::serve(*loaded, std::cout, std::cerr);
  }
  return cfg::exit_code::usage;
}
