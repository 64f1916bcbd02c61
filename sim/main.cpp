#include <iostream>

#include <CLI/CLI.hpp>

#include "sim/server.hpp"

int main(int argc, char** argv) {
  using namespace dutydesk::sim;
  server_options opts;
  std::string rc = "127.0.0.1:3000", dc = "127.0.0.1:8080", cloud = "127.0.0.1:8082", oncall = "127.0.0.1:8081",
              control = "127.0.0.1:8099";
  CLI::App app{"dutydesk-sim: a Rocket.Chat, Jira (Data Center and Cloud) and Grafana OnCall simulator"};
  app.add_option("--seed", opts.seed_path, "seed file (JSON): users, rooms, projects, schedules")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--rc-listen", rc, "Rocket.Chat REST + /websocket (host:port)")->capture_default_str();
  app.add_option("--jira-dc-listen", dc, "Jira Data Center flavour (host:port)")->capture_default_str();
  app.add_option("--jira-cloud-listen", cloud, "Jira Cloud flavour (host:port)")->capture_default_str();
  app.add_option("--oncall-listen", oncall, "Grafana OnCall (host:port)")->capture_default_str();
  app.add_option("--control-listen", control, "control API (host:port)")->capture_default_str();
  app.add_option("--random-seed", opts.random_seed, "seed of ids and fault decisions")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (auto [text, addr] : {std::pair{&rc, &opts.rocketchat}, std::pair{&dc, &opts.jira_dc},
                            std::pair{&cloud, &opts.jira_cloud}, std::pair{&oncall, &opts.oncall},
                            std::pair{&control, &opts.control}}) {
    if (!parse_listen_address(*text, *addr)) {
      std::cerr << "dutydesk-sim: bad listen address '" << *text << "' (want host:port)\n";
      return 2;
    }
  }
  return run_server(opts);
}
