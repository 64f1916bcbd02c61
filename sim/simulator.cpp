#include "sim/simulator.hpp"

#include <algorithm>

#include "sim/web.hpp"

namespace dutydesk::sim {

simulator::simulator(const clock_source& clock, id_source& ids)
  : clock_(clock),
    ids_(ids),
    rocketchat_(clock, ids),
    jira_dc_(jira_flavor::datacenter, clock, ids),
    jira_cloud_(jira_flavor::cloud, clock, ids),
    oncall_(clock, ids),
    faults_(clock, ids) {}

void simulator::load_seed(const json& seed) {
  if (seed.contains("rocketchat"))
    rocketchat_.load_seed(seed["rocketchat"]);
  if (seed.contains("jira")) {
    jira_dc_.load_seed(seed["jira"]);
    jira_cloud_.load_seed(seed["jira"]);
  }
  if (seed.contains("oncall"))
    oncall_.load_seed(seed["oncall"]);
}

simulated_system* simulator::find(const std::string& name) {
  for (simulated_system* s : std::initializer_list<simulated_system*>{&rocketchat_, &jira_dc_, &jira_cloud_, &oncall_})
    if (s->name() == name)
      return s;
  return nullptr;
}

fault_decision simulator::product(simulated_system& system, const http_request& req) {
  auto name = system.name();
  auto decision = faults_.decide(name, req.method + " " + req.target);
  std::string fault;
  if (decision.response) {
    fault = decision.response->reset ? "reset" : decision.response->status == 429 ? "429" : "5xx";
  } else {
    decision.response = system.handle(req);
  }
  log(logged_request{0, clock_.now_ms(), name, req.method, req.target,
                     decision.response->reset ? 0 : decision.response->status, fault,
                     req.body.substr(0, max_logged_body)});
  return decision;
}

void simulator::log_frame(const std::string& system, std::string_view text) {
  log(logged_request{0, clock_.now_ms(), system, "WS", "/websocket", 0, "",
                     std::string{text.substr(0, max_logged_body)}});
}

void simulator::log(logged_request entry) {
  entry.seq = next_seq_++;
  log_.push_back(std::move(entry));
  if (log_.size() > max_log_entries)
    log_.pop_front();
}

void simulator::tick() {
  rocketchat_.tick();
  jira_dc_.tick();
  jira_cloud_.tick();
  oncall_.tick();
}

http_response simulator::list_requests(const http_request& req) const {
  auto system = req.param("system");
  uint64_t since = 0;
  size_t limit = 1000;
  try {
    if (auto s = req.param("since"))
      since = std::stoull(*s);
    if (auto l = req.param("limit"))
      limit = std::stoul(*l);
  } catch (...) {
    return json_response(400, json{{"error", "since and limit must be numbers"}});
  }
  json items = json::array();
  auto first = std::lower_bound(log_.begin(), log_.end(), since + 1,
                                [](const logged_request& e, uint64_t s) { return e.seq < s; });
  for (auto i = first; i != log_.end() && items.size() < limit; ++i) {
    if (system && i->system != *system)
      continue;
    items.push_back(json{{"seq", i->seq},
                         {"ts", iso8601_utc(i->ts_ms)},
                         {"system", i->system},
                         {"method", i->method},
                         {"target", i->target},
                         {"status", i->status},
                         {"fault", i->fault},
                         {"body", i->body}});
  }
  return json_response(200, json{{"requests", items}, {"next_seq", next_seq_}});
}

http_response simulator::control(const http_request& req) {
  if (auto page = web_page(req))
    return std::move(*page);
  constexpr std::string_view prefix = "/control";
  // Only /control/<something>: a shorter path ("/x", "/control") threw out_of_range below, out of the io thread,
  // and aborted the simulator.
  if (req.path.size() <= prefix.size() + 1 || req.path.compare(0, prefix.size(), prefix) != 0 ||
      req.path[prefix.size()] != '/')
    return json_response(404, json{{"error", "no such control endpoint: " + req.path}});
  std::string rest = req.path.substr(prefix.size());
  if (rest == "/health" || rest == "/health/")
    return json_response(200, json{{"ok", true}});
  if (rest == "/faults") {
    if (req.method == "GET")
      return json_response(200, faults_.describe());
    if (req.method == "DELETE") {
      if (auto s = req.param("system"))
        faults_.clear(*s);
      else
        faults_.clear_all();
      return json_response(200, faults_.describe());
    }
    if (req.method == "POST") {
      auto body = parse_json(req.body);
      if (!body || !body->is_object() || !(*body)["system"].is_string())
        return json_response(400, json{{"error", "body must be a JSON object with \"system\""}});
      auto system = (*body)["system"].get<std::string>();
      if (!find(system))
        return json_response(400, json{{"error", "unknown system: " + system}});
      std::string error;
      auto spec = faults_.parse(*body, error);
      if (!spec)
        return json_response(400, json{{"error", error}});
      faults_.set(system, *spec);
      return json_response(200, faults_.describe());
    }
  }
  if (rest == "/requests") {
    if (req.method == "GET")
      return list_requests(req);
    if (req.method == "DELETE") {
      log_.clear();
      return json_response(200, json{{"next_seq", next_seq_}});
    }
  }
  // /control/<system>/... goes to the system itself.
  auto slash = rest.find('/', 1);
  auto name = rest.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  if (auto* s = find(name)) {
    http_request sub = req;
    sub.path = slash == std::string::npos ? "/" : rest.substr(slash);
    return s->handle_control(sub);
  }
  return json_response(404, json{{"error", "no such control endpoint: " + req.path}});
}

} // namespace dutydesk::sim
