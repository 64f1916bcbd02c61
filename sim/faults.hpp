#pragma once
// Fault injection per simulated system: latency, 429s, 5xx and connection resets at given rates, optionally for a
// limited period. Decisions draw from the seeded id_source, so a run with the same seed injects the same faults.

#include <map>
#include <optional>
#include <string>

#include "sim/core.hpp"

namespace dutydesk::sim {

struct fault_spec {
  int latency_ms = 0;       // added before every answer
  double rate_429 = 0;      // share of requests answered 429 in the product's own shape
  double rate_5xx = 0;      // share answered with `status_5xx`
  double rate_reset = 0;    // share whose connection is dropped without an answer
  int status_5xx = 503;
  int retry_after_s = 1;    // the wait a 429 asks for
  int64_t until_ms = 0;     // 0: until cleared; otherwise the clock time at which the spec lapses
  std::string match;        // only requests whose "METHOD target" contains this (empty: every request)
  int skip = 0;             // this many matching requests pass untouched first
  int count = 0;            // the spec lapses after this many faults (0: no limit)
};

/// What to do with one request.
struct fault_decision {
  int latency_ms = 0;
  std::optional<http_response> response;  // set when the request must not reach the system
};

class fault_injector {
public:
  fault_injector(const clock_source& clock, id_source& ids) : clock_(clock), ids_(ids) {}

  void set(const std::string& system, const fault_spec& spec) { specs_[system] = spec; }
  void clear(const std::string& system) { specs_.erase(system); }
  void clear_all() { specs_.clear(); }

  /// Decides the fate of one request to `system` (`request_line`: "METHOD target", for a spec's `match`).
  fault_decision decide(const std::string& system, const std::string& request_line = {});

  /// The active specs and the counts of injected faults, for the control API.
  json describe() const;

  /// Parses a control body into a spec; nullopt (with `error`) on a bad body.
  std::optional<fault_spec> parse(const json& body, std::string& error) const;

private:
  http_response too_many_requests(const std::string& system, const fault_spec& spec) const;
  http_response server_error(const std::string& system, const fault_spec& spec) const;

  const clock_source& clock_;
  id_source& ids_;
  std::map<std::string, fault_spec> specs_;
  std::map<std::string, std::map<std::string, uint64_t>> counts_;  // system -> kind -> n
};

} // namespace dutydesk::sim
