#pragma once
// The simulator's hub: owns the simulated systems, the fault injector and the request log, and answers the
// control API's own endpoints. Pure logic (no sockets): the Beast layer feeds it parsed requests on one thread.

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "sim/core.hpp"
#include "sim/faults.hpp"
#include "sim/jira.hpp"
#include "sim/oncall.hpp"
#include "sim/rocketchat.hpp"

namespace dutydesk::sim {

/// One entry of the log of every request received (control: GET /control/requests).
struct logged_request {
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  std::string system, method, target;
  int status = 0;           // 0 for websocket frames and reset connections
  std::string fault;        // "", "429", "5xx", "reset"
  std::string body;         // the first `max_logged_body` bytes
};

class simulator {
public:
  static constexpr size_t max_logged_body = 4096;
  static constexpr size_t max_log_entries = 200000;

  simulator(const clock_source& clock, id_source& ids);

  /// Loads every system's section of the seed document.
  void load_seed(const json& seed);

  rocketchat_sim& rocketchat() { return rocketchat_; }
  jira_sim& jira_dc() { return jira_dc_; }
  jira_sim& jira_cloud() { return jira_cloud_; }
  oncall_sim& oncall() { return oncall_; }
  /// The system by its name ("rocketchat", "jira-dc", "jira-cloud", "oncall"), or nullptr.
  simulated_system* find(const std::string& name);

  /// Handles one product request: fault injection, then the system, then the log. The response is always set.
  fault_decision product(simulated_system& system, const http_request& req);
  /// Records one websocket frame received from a client.
  void log_frame(const std::string& system, std::string_view text);
  /// Handles one request on the control port: the control API (/control/...) or the live page (/, /live/...).
  http_response control(const http_request& req);
  /// Drives every system's timers; called about once a second.
  void tick();

private:
  void log(logged_request entry);
  http_response list_requests(const http_request& req) const;

  const clock_source& clock_;
  id_source& ids_;
  rocketchat_sim rocketchat_;
  jira_sim jira_dc_;
  jira_sim jira_cloud_;
  oncall_sim oncall_;
  fault_injector faults_;
  std::deque<logged_request> log_;
  uint64_t next_seq_ = 1;
};

} // namespace dutydesk::sim
