#pragma once
// Grafana OnCall public API v1, the part dutydesk reads (reference/oncall.md): schedules with `on_call_now`,
// final_shifts, users; raw-token auth, DRF error bodies, page-number pagination, 429 + RateLimit-Reset on demand.

#include <string>
#include <vector>

#include "sim/core.hpp"

namespace dutydesk::sim {

class oncall_sim final : public simulated_system {
public:
  oncall_sim(const clock_source& clock, id_source& ids);
  std::string name() const override { return "oncall"; }
  http_response handle(const http_request& req) override;
  http_response handle_control(const http_request& req) override;
  void load_seed(const json& section) override;
  void set_base_url(std::string url) override { base_url_ = std::move(url); }

private:
  struct user {
    std::string id, username, email, name, timezone = "UTC", role = "user";
  };
  struct shift {
    std::string user_id;
    int64_t start_ms = 0, end_ms = 0;
  };
  struct schedule {
    std::string id, name, type = "web", time_zone = "UTC";
    json team_id;  // string or null
    std::vector<std::string> on_call_now;
    std::vector<shift> shifts;
  };

  http_response list_schedules(const http_request& req);
  http_response schedule_detail(const schedule& s) const;
  http_response final_shifts(const http_request& req, const schedule& s) const;
  http_response list_users(const http_request& req);
  json user_json(const user& u, bool short_form) const;
  json schedule_json(const schedule& s) const;
  http_response page(const http_request& req, const std::string& path, json items, size_t default_size) const;
  schedule* find_schedule(const std::string& id);
  const user* find_user(const std::string& id) const;

  const clock_source& clock_;
  id_source& ids_;
  std::string base_url_ = "http://127.0.0.1:8081";
  std::vector<std::string> tokens_;
  std::vector<user> users_;
  std::vector<schedule> schedules_;
  int throttle_remaining_ = 0;   // next N authenticated requests answer 429
  int throttle_reset_s_ = 350;
};

} // namespace dutydesk::sim
