#pragma once
// The simulator's sockets: one HTTP listener per simulated system plus the control API, the Rocket.Chat
// websocket, and the outbound HTTP client for Jira's webhooks. Everything runs on one io thread.

#include <cstdint>
#include <string>

namespace dutydesk::sim {

struct listen_address {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, reported in the ready line
};

struct server_options {
  std::string seed_path;
  listen_address rocketchat{"127.0.0.1", 3000};
  listen_address jira_dc{"127.0.0.1", 8080};
  listen_address jira_cloud{"127.0.0.1", 8082};
  listen_address oncall{"127.0.0.1", 8081};
  listen_address control{"127.0.0.1", 8099};
  uint64_t random_seed = 42;
};

/// Parses "host:port"; false on a malformed address.
bool parse_listen_address(const std::string& text, listen_address& out);

/// Runs the simulator until SIGINT/SIGTERM. Prints "dutydesk-sim ready {json}" once every port listens.
/// Returns the process exit code.
int run_server(const server_options& options);

} // namespace dutydesk::sim
