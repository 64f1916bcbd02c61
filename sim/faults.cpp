#include "sim/faults.hpp"

namespace dutydesk::sim {

fault_decision fault_injector::decide(const std::string& system, const std::string& request_line) {
  fault_decision d;
  auto i = specs_.find(system);
  if (i == specs_.end())
    return d;
  auto& spec = i->second;
  if (spec.until_ms != 0 && clock_.now_ms() >= spec.until_ms) {
    specs_.erase(i);
    return d;
  }
  if (!spec.match.empty() && request_line.find(spec.match) == std::string::npos)
    return d;
  if (spec.skip > 0) {
    --spec.skip;
    return d;
  }
  d.latency_ms = spec.latency_ms;
  if (spec.latency_ms > 0)
    ++counts_[system]["latency"];
  // One draw decides among the kinds, so the rates add up as the caller expects.
  auto x = ids_.uniform();
  if (x < spec.rate_reset) {
    http_response r;
    r.reset = true;
    d.response = r;
    ++counts_[system]["reset"];
  } else if (x < spec.rate_reset + spec.rate_429) {
    d.response = too_many_requests(system, spec);
    ++counts_[system]["429"];
  } else if (x < spec.rate_reset + spec.rate_429 + spec.rate_5xx) {
    d.response = server_error(system, spec);
    ++counts_[system]["5xx"];
  }
  if (d.response && spec.count > 0 && --spec.count == 0)
    specs_.erase(i);
  return d;
}

http_response fault_injector::too_many_requests(const std::string& system, const fault_spec& spec) const {
  auto wait = std::to_string(spec.retry_after_s);
  if (system == "rocketchat") {
    // Rocket.Chat sets X-RateLimit-* (Reset in epoch ms) and no Retry-After (rocketchat.md §4).
    return json_response(429, json{{"success", false},
                                   {"error", "Error, too many requests. Please slow down. You must wait " + wait +
                                                 " seconds before trying this endpoint again. [error-too-many-requests]"}})
        .with_header("X-RateLimit-Limit", "10")
        .with_header("X-RateLimit-Remaining", "0")
        .with_header("X-RateLimit-Reset", std::to_string(clock_.now_ms() + spec.retry_after_s * 1000LL));
  }
  if (system == "oncall") {
    return json_response(429, json{{"detail", "Request was throttled. Expected available in " + wait + " seconds."}})
        .with_header("RateLimit-Reset", wait);
  }
  // Jira: Retry-After in seconds and X-RateLimit-Reset as an ISO instant (jira.md §1.5).
  auto r = json_response(429, json{{"errorMessages", json::array({"Rate limit exceeded."})}, {"errors", json::object()}});
  r.content_type = "application/json;charset=UTF-8";
  return r.with_header("Retry-After", wait)
      .with_header("X-RateLimit-Reset", iso8601_utc(clock_.now_ms() + spec.retry_after_s * 1000LL).substr(0, 16) + "Z")
      .with_header("X-RateLimit-Limit", "100")
      .with_header("X-RateLimit-Remaining", "0")
      .with_header("RateLimit-Reason", "jira-burst-based");
}

http_response fault_injector::server_error(const std::string& system, const fault_spec& spec) const {
  if (system == "rocketchat")
    return json_response(spec.status_5xx, json{{"success", false}, {"error", "Internal server error"}});
  if (system == "oncall")
    return json_response(spec.status_5xx, json{{"detail", "A server error occurred."}});
  auto r = json_response(spec.status_5xx, json{{"errorMessages", json::array({"Internal server error"})},
                                               {"errors", json::object()}});
  r.content_type = "application/json;charset=UTF-8";
  return r;
}

json fault_injector::describe() const {
  json out = json::object();
  for (auto& [system, spec] : specs_)
    out["active"][system] = json{{"latency_ms", spec.latency_ms}, {"rate_429", spec.rate_429},
                                 {"rate_5xx", spec.rate_5xx},     {"rate_reset", spec.rate_reset},
                                 {"status_5xx", spec.status_5xx}, {"retry_after_s", spec.retry_after_s},
                                 {"until_ms", spec.until_ms},     {"match", spec.match},
                                 {"skip", spec.skip},             {"count", spec.count}};
  out["injected"] = json::object();
  for (auto& [system, kinds] : counts_)
    for (auto& [kind, n] : kinds)
      out["injected"][system][kind] = n;
  return out;
}

std::optional<fault_spec> fault_injector::parse(const json& body, std::string& error) const {
  fault_spec s;
  try {
    s.latency_ms = body.value("latency_ms", 0);
    s.rate_429 = body.value("rate_429", 0.0);
    s.rate_5xx = body.value("rate_5xx", 0.0);
    s.rate_reset = body.value("rate_reset", 0.0);
    s.status_5xx = body.value("status_5xx", 503);
    s.retry_after_s = body.value("retry_after_s", 1);
    if (auto f = body.value("for_ms", int64_t{0}); f > 0)
      s.until_ms = clock_.now_ms() + f;
    s.match = body.value("match", std::string{});
    s.skip = body.value("skip", 0);
    s.count = body.value("count", 0);
  } catch (const json::exception& e) {
    error = e.what();
    return std::nullopt;
  }
  auto rate_ok = [](double r) { return r >= 0 && r <= 1; };
  if (!rate_ok(s.rate_429) || !rate_ok(s.rate_5xx) || !rate_ok(s.rate_reset) ||
      s.rate_429 + s.rate_5xx + s.rate_reset > 1.0) {
    error = "rates must be within [0, 1] and add up to at most 1";
    return std::nullopt;
  }
  if (s.latency_ms < 0 || s.status_5xx < 500 || s.status_5xx > 599 || s.retry_after_s < 0 || s.skip < 0 ||
      s.count < 0) {
    error = "latency_ms >= 0, status_5xx in 500..599, retry_after_s >= 0, skip >= 0, count >= 0";
    return std::nullopt;
  }
  return s;
}

} // namespace dutydesk::sim
