#include "sim/oncall.hpp"

#include <algorithm>

namespace dutydesk::sim {

namespace {

http_response detail(int status, const std::string& text) {
  return json_response(status, json{{"detail", text}});
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// final_shifts accepts %Y-%m-%d and %Y-%m-%dT%H:%M (FinalShiftQueryParamsSerializer).
std::optional<int64_t> parse_shift_date(const std::string& s) {
  if (s.size() == 10 || s.size() == 16)
    return parse_iso8601(s.size() == 10 ? s + "T00:00Z" : s + "Z");
  return std::nullopt;
}

} // namespace

oncall_sim::oncall_sim(const clock_source& clock, id_source& ids) : clock_(clock), ids_(ids) {}

void oncall_sim::load_seed(const json& section) {
  for (auto& t : section.value("tokens", json::array()))
    tokens_.push_back(t.get<std::string>());
  for (auto& u : section.value("users", json::array()))
    users_.push_back(user{u.at("id").get<std::string>(), u.value("username", ""), u.value("email", ""),
                          u.value("name", ""), u.value("timezone", "UTC"), u.value("role", "user")});
  for (auto& s : section.value("schedules", json::array())) {
    schedule sch;
    sch.id = s.at("id").get<std::string>();
    sch.name = s.value("name", sch.id);
    sch.type = s.value("type", "web");
    sch.time_zone = s.value("time_zone", "UTC");
    sch.team_id = s.contains("team_id") ? s["team_id"] : json(nullptr);
    for (auto& u : s.value("on_call_now", json::array()))
      sch.on_call_now.push_back(u.get<std::string>());
    for (auto& sh : s.value("shifts", json::array()))
      sch.shifts.push_back(shift{sh.at("user").get<std::string>(),
                                 parse_iso8601(sh.at("start").get<std::string>()).value_or(0),
                                 parse_iso8601(sh.at("end").get<std::string>()).value_or(0)});
    schedules_.push_back(std::move(sch));
  }
}

oncall_sim::schedule* oncall_sim::find_schedule(const std::string& id) {
  for (auto& s : schedules_)
    if (s.id == id)
      return &s;
  return nullptr;
}

const oncall_sim::user* oncall_sim::find_user(const std::string& id) const {
  for (auto& u : users_)
    if (u.id == id)
      return &u;
  return nullptr;
}

json oncall_sim::user_json(const user& u, bool short_form) const {
  if (short_form)
    return json{{"id", u.id}, {"email", u.email}, {"username", u.username}, {"role", u.role},
                {"is_phone_number_verified", false}, {"timezone", u.timezone}, {"teams", json::array()}};
  // `slack` is an object or null (the serializer, not the docs' list), oncall.md §5.
  return json{{"id", u.id},
              {"grafana_id", 1000 + static_cast<int>(&u - users_.data())},
              {"email", u.email},
              {"slack", nullptr},
              {"username", u.username},
              {"role", u.role},
              {"is_phone_number_verified", false},
              {"timezone", u.timezone},
              {"teams", json::array()}};
}

json oncall_sim::schedule_json(const schedule& s) const {
  json j{{"id", s.id},
         {"team_id", s.team_id},
         {"name", s.name},
         {"type", s.type},
         {"on_call_now", s.on_call_now},
         {"slack", {{"channel_id", nullptr}, {"user_group_id", nullptr}}}};
  if (s.type == "web" || s.type == "calendar")
    j["time_zone"] = s.time_zone;
  if (s.type == "calendar")
    j["shifts"] = json::array();
  if (s.type == "ical") {
    j["ical_url_primary"] = nullptr;
    j["ical_url_overrides"] = nullptr;
  }
  return j;
}

http_response oncall_sim::page(const http_request& req, const std::string& path, json items,
                               size_t default_size) const {
  size_t per_page = default_size;
  if (auto p = req.param("perpage")) {
    try {
      per_page = std::max<size_t>(1, std::stoul(*p));
    } catch (...) {
      per_page = default_size;
    }
  }
  size_t total = items.size();
  size_t total_pages = std::max<size_t>(1, (total + per_page - 1) / per_page);
  size_t page_no = 1;
  if (auto p = req.param("page")) {
    try {
      page_no = std::stoul(*p);
    } catch (...) {
      return detail(404, "Invalid page.");
    }
    if (page_no == 0)
      return detail(404, "Invalid page.");
  }
  // A page past the end returns the last page again, not 404 (oncall.md §4).
  page_no = std::min(page_no, total_pages);
  json results = json::array();
  for (size_t i = (page_no - 1) * per_page; i < std::min(total, page_no * per_page); ++i)
    results.push_back(items[i]);
  auto link = [&](size_t n) -> json {
    return base_url_ + path + "?page=" + std::to_string(n) +
           (req.param("perpage") ? "&perpage=" + std::to_string(per_page) : "");
  };
  return json_response(200, json{{"count", total},
                                 {"next", page_no < total_pages ? link(page_no + 1) : json(nullptr)},
                                 {"previous", page_no > 1 ? link(page_no - 1) : json(nullptr)},
                                 {"results", results},
                                 {"current_page_number", page_no},
                                 {"page_size", per_page},
                                 {"total_pages", total_pages}});
}

http_response oncall_sim::handle(const http_request& req) {
  auto parts = split_path(req.path);
  if (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1")
    return detail(404, "Not found.");
  // Raw token, no "Bearer" (oncall.md §2). DRF turns the 401 into 403 without WWW-Authenticate.
  auto auth = req.header("authorization");
  if (std::find(tokens_.begin(), tokens_.end(), auth) == tokens_.end())
    return detail(403, "Invalid token.");
  if (throttle_remaining_ > 0) {
    --throttle_remaining_;
    return detail(429, "Request was throttled. Expected available in " + std::to_string(throttle_reset_s_) +
                           " seconds.")
        .with_header("RateLimit-Reset", std::to_string(throttle_reset_s_));
  }
  if (req.method != "GET")
    return detail(405, "Method \"" + req.method + "\" not allowed.");
  if (parts.size() >= 3 && parts[2] == "schedules") {
    if (parts.size() == 3)
      return list_schedules(req);
    auto* s = find_schedule(parts[3]);
    if (!s)
      return detail(404, "Not found.");
    if (parts.size() == 4)
      return schedule_detail(*s);
    if (parts.size() == 5 && parts[4] == "final_shifts")
      return final_shifts(req, *s);
    return detail(404, "Not found.");
  }
  if (parts.size() >= 3 && parts[2] == "users") {
    if (parts.size() == 3)
      return list_users(req);
    if (parts.size() == 4) {
      const user* u = parts[3] == "current" && !users_.empty() ? &users_.front() : find_user(parts[3]);
      if (!u)
        return detail(404, "Not found.");
      return json_response(200, user_json(*u, req.param("short") == "true"));
    }
  }
  return detail(404, "Not found.");
}

http_response oncall_sim::list_schedules(const http_request& req) {
  json items = json::array();
  auto name = req.param("name");
  auto team = req.param("team_id");
  for (auto& s : schedules_) {
    if (name && s.name != *name)
      continue;
    if (team && (!s.team_id.is_string() || s.team_id.get<std::string>() != *team))
      continue;
    items.push_back(schedule_json(s));
  }
  return page(req, "/api/v1/schedules/", std::move(items), 50);
}

http_response oncall_sim::schedule_detail(const schedule& s) const {
  return json_response(200, schedule_json(s));
}

http_response oncall_sim::final_shifts(const http_request& req, const schedule& s) const {
  json errors = json::object();
  auto start_s = req.param("start_date"), end_s = req.param("end_date");
  std::optional<int64_t> start, end;
  if (!start_s)
    errors["start_date"] = json::array({"This field is required."});
  else if (!(start = parse_shift_date(*start_s)))
    errors["start_date"] = json::array({"Invalid date format, should be YYYY-mm-dd or YYYY-mm-ddTHH:mm."});
  if (!end_s)
    errors["end_date"] = json::array({"This field is required."});
  else if (!(end = parse_shift_date(*end_s)))
    errors["end_date"] = json::array({"Invalid date format, should be YYYY-mm-dd or YYYY-mm-ddTHH:mm."});
  if (!errors.empty())
    return json_response(400, errors);
  if (*end < *start)
    return json_response(400, json{{"non_field_errors", json::array({"start_date must be less than or equal to end_date"})}});
  if (*end - *start > 365LL * 86400 * 1000)
    return json_response(400, json{{"non_field_errors", json::array({"The difference between start_date and end_date must be less than one year (365 days)"})}});
  // A date-only end means the whole of that day.
  int64_t window_end = end_s->size() == 10 ? *end + 86400 * 1000 : *end;
  json results = json::array();
  for (auto& sh : s.shifts) {
    if (sh.end_ms <= *start || sh.start_ms >= window_end)
      continue;
    auto* u = find_user(sh.user_id);
    // Shifts are clipped to the requested window (oncall.md §3).
    results.push_back(json{{"user_pk", sh.user_id},
                           {"user_email", u ? u->email : ""},
                           {"user_username", u ? u->username : ""},
                           {"shift_start", iso8601_utc(std::max(sh.start_ms, *start)).substr(0, 19) + "Z"},
                           {"shift_end", iso8601_utc(std::min(sh.end_ms, window_end)).substr(0, 19) + "Z"}});
  }
  // Not really paginated: all rows at once, next always null.
  return json_response(200, json{{"count", results.size()},
                                 {"next", nullptr},
                                 {"previous", nullptr},
                                 {"results", results},
                                 {"current_page_number", 1},
                                 {"page_size", 50},
                                 {"total_pages", 1}});
}

http_response oncall_sim::list_users(const http_request& req) {
  json items = json::array();
  auto email = req.param("email");
  auto username = req.param("username");
  bool short_form = req.param("short") == "true";
  for (auto& u : users_) {
    // Both filters are case-insensitive exact matches (UserFilter).
    if (email && !iequals(u.email, *email))
      continue;
    if (username && !iequals(u.username, *username))
      continue;
    items.push_back(user_json(u, short_form));
  }
  return page(req, "/api/v1/users/", std::move(items), 100);
}

http_response oncall_sim::handle_control(const http_request& req) {
  auto body = req.body.empty() ? std::optional<json>(json::object()) : parse_json(req.body);
  if (!body)
    return json_response(400, json{{"error", "body is not valid JSON"}});
  auto parts = split_path(req.path);
  try {
    if (req.method == "GET" && parts.size() == 1 && parts[0] == "schedules") {
      json out = json::array();
      for (auto& s : schedules_) {
        auto j = schedule_json(s);
        json shifts = json::array();
        for (auto& sh : s.shifts)
          shifts.push_back({{"user", sh.user_id}, {"start", iso8601_utc(sh.start_ms)}, {"end", iso8601_utc(sh.end_ms)}});
        j["final_shifts"] = shifts;
        out.push_back(j);
      }
      return json_response(200, out);
    }
    // GET /users: every user with the name OnCall's API does not show (the live page names who is on call).
    if (req.method == "GET" && parts.size() == 1 && parts[0] == "users") {
      json out = json::array();
      for (auto& u : users_)
        out.push_back({{"id", u.id}, {"username", u.username}, {"email", u.email}, {"name", u.name}});
      return json_response(200, out);
    }
    // PUT /schedules/{id}/on_call_now {"users": ["U…"]} or {"usernames": ["alice"]}: change who is on call.
    if (req.method == "PUT" && parts.size() == 3 && parts[0] == "schedules" && parts[2] == "on_call_now") {
      auto* s = find_schedule(parts[1]);
      if (!s)
        return json_response(404, json{{"error", "no such schedule"}});
      std::vector<std::string> ids;
      for (auto& u : body->value("users", json::array()))
        ids.push_back(u.get<std::string>());
      for (auto& name : body->value("usernames", json::array())) {
        auto it = std::find_if(users_.begin(), users_.end(), [&](const user& u) { return u.username == name; });
        if (it == users_.end())
          return json_response(400, json{{"error", "no such user: " + name.get<std::string>()}});
        ids.push_back(it->id);
      }
      for (auto& id : ids)
        if (!find_user(id))
          return json_response(400, json{{"error", "no such user id: " + id}});
      s->on_call_now = ids;
      return json_response(200, schedule_json(*s));
    }
    // POST /schedules/{id}/shifts {"user": "U…", "start": ISO, "end": ISO}
    if (req.method == "POST" && parts.size() == 3 && parts[0] == "schedules" && parts[2] == "shifts") {
      auto* s = find_schedule(parts[1]);
      if (!s)
        return json_response(404, json{{"error", "no such schedule"}});
      auto start = parse_iso8601(body->at("start").get<std::string>());
      auto end = parse_iso8601(body->at("end").get<std::string>());
      if (!start || !end || *end <= *start)
        return json_response(400, json{{"error", "start and end must be ISO 8601 instants, start < end"}});
      s->shifts.push_back(shift{body->at("user").get<std::string>(), *start, *end});
      return json_response(201, json{{"ok", true}});
    }
    // POST /schedules {"id", "name", "on_call_now": [...]}
    if (req.method == "POST" && parts.size() == 1 && parts[0] == "schedules") {
      schedule s;
      s.id = body->value("id", "S" + ids_.meteor_id(12));
      if (find_schedule(s.id))
        return json_response(409, json{{"error", "schedule exists"}});
      s.name = body->value("name", s.id);
      s.team_id = nullptr;
      for (auto& u : body->value("on_call_now", json::array()))
        s.on_call_now.push_back(u.get<std::string>());
      schedules_.push_back(s);
      return json_response(201, schedule_json(schedules_.back()));
    }
    // POST /users {"id"?, "username", "email", "name"}
    if (req.method == "POST" && parts.size() == 1 && parts[0] == "users") {
      user u{body->value("id", "U" + ids_.meteor_id(12)), body->at("username").get<std::string>(),
             body->value("email", ""), body->value("name", ""), "UTC", "user"};
      users_.push_back(u);
      return json_response(201, user_json(users_.back(), false));
    }
    // POST /throttle {"count": N, "reset_seconds": S}: the next N API calls answer 429 with RateLimit-Reset.
    if (req.method == "POST" && parts.size() == 1 && parts[0] == "throttle") {
      throttle_remaining_ = body->value("count", 1);
      throttle_reset_s_ = body->value("reset_seconds", 350);
      return json_response(200, json{{"ok", true}});
    }
  } catch (const json::exception& e) {
    return json_response(400, json{{"error", std::string{"bad control body: "} + e.what()}});
  }
  return json_response(404, json{{"error", "no such control endpoint"}});
}

} // namespace dutydesk::sim
