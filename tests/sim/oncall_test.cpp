#include "sim/oncall.hpp"
#include "seed.hpp"

#include <fstream>

#include <gtest/gtest.h>

using namespace dutydesk::sim;

namespace {

struct oncall_fixture : ::testing::Test {
  manual_clock clock;
  id_source ids{7};
  oncall_sim sim{clock, ids};
  const std::string token = "oncall-token-000000000000000000";

  void SetUp() override { sim.load_seed(dutydesk::sim::test::demo_seed("oncall")); }

  http_response get(const std::string& path, std::multimap<std::string, std::string> query = {},
                    std::string auth = "") {
    http_request req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    req.headers["authorization"] = auth.empty() ? token : auth;
    return sim.handle(req);
  }
  http_response control(const std::string& method, const std::string& path, const json& body) {
    http_request req;
    req.method = method;
    req.path = path;
    req.body = body.dump();
    return sim.handle_control(req);
  }
};

} // namespace

TEST_F(oncall_fixture, schedule_detail_lists_on_call_now_with_or_without_slash) {
  for (auto path : {"/api/v1/schedules/SCHEDCICD/", "/api/v1/schedules/SCHEDCICD"}) {
    auto r = get(path);
    ASSERT_EQ(r.status, 200) << path;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["id"], "SCHEDCICD");
    EXPECT_EQ(j["on_call_now"], json::array({"UBOBBOBBOBBOB"}));
    EXPECT_EQ(j["type"], "web");
    EXPECT_EQ(j["time_zone"], "UTC");
    EXPECT_TRUE(j["team_id"].is_null());
  }
}

TEST_F(oncall_fixture, bad_or_missing_token_is_403_with_drf_detail) {
  auto r = get("/api/v1/schedules/SCHEDCICD/", {}, "Bearer oncall-token-000000000000000000");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(json::parse(r.body), (json{{"detail", "Invalid token."}}));
  http_request req;
  req.method = "GET";
  req.path = "/api/v1/users/";
  EXPECT_EQ(sim.handle(req).status, 403);
}

TEST_F(oncall_fixture, unknown_schedule_or_user_is_404_not_found) {
  auto r = get("/api/v1/schedules/NOPE/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["detail"], "Not found.");
  EXPECT_EQ(get("/api/v1/users/UNOPE/").status, 404);
}

TEST_F(oncall_fixture, user_detail_has_object_or_null_slack_and_username) {
  auto j = json::parse(get("/api/v1/users/UBOBBOBBOBBOB/").body);
  EXPECT_EQ(j["username"], "bob");
  EXPECT_EQ(j["email"], "bob@example.com");
  EXPECT_TRUE(j["slack"].is_null());
  EXPECT_TRUE(j.contains("grafana_id"));
}

TEST_F(oncall_fixture, users_filter_by_email_case_insensitively) {
  auto j = json::parse(get("/api/v1/users/", {{"email", "DAVE@example.com"}}).body);
  ASSERT_EQ(j["count"], 1);
  EXPECT_EQ(j["results"][0]["username"], "dave.d");
  EXPECT_TRUE(j["next"].is_null());
}

TEST_F(oncall_fixture, pagination_repeats_the_last_page_past_the_end) {
  auto first = json::parse(get("/api/v1/users/", {{"perpage", "3"}}).body);
  EXPECT_EQ(first["count"], 4);
  EXPECT_EQ(first["total_pages"], 2);
  EXPECT_EQ(first["results"].size(), 3u);
  EXPECT_EQ(first["next"], "http://127.0.0.1:8081/api/v1/users/?page=2&perpage=3");
  auto past = json::parse(get("/api/v1/users/", {{"perpage", "3"}, {"page", "9"}}).body);
  EXPECT_EQ(past["current_page_number"], 2);
  EXPECT_EQ(past["results"].size(), 1u);
  EXPECT_TRUE(past["next"].is_null());
}

TEST_F(oncall_fixture, control_changes_who_is_on_call) {
  auto r = control("PUT", "/schedules/SCHEDCICD/on_call_now", json{{"usernames", {"alice"}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(get("/api/v1/schedules/SCHEDCICD/").body)["on_call_now"], json::array({"U4DNY931HHJS5"}));
  EXPECT_EQ(control("PUT", "/schedules/SCHEDCICD/on_call_now", json{{"users", json::array()}}).status, 200);
  EXPECT_EQ(json::parse(get("/api/v1/schedules/SCHEDCICD/").body)["on_call_now"], json::array());
  EXPECT_EQ(control("PUT", "/schedules/SCHEDCICD/on_call_now", json{{"usernames", {"zed"}}}).status, 400);
}

TEST_F(oncall_fixture, throttle_answers_429_with_ratelimit_reset_then_recovers) {
  ASSERT_EQ(control("POST", "/throttle", json{{"count", 2}, {"reset_seconds", 7}}).status, 200);
  for (int i = 0; i < 2; ++i) {
    auto r = get("/api/v1/schedules/SCHEDCICD/");
    ASSERT_EQ(r.status, 429);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "RateLimit-Reset");
    EXPECT_EQ(r.headers[0].second, "7");
  }
  EXPECT_EQ(get("/api/v1/schedules/SCHEDCICD/").status, 200);
}

TEST_F(oncall_fixture, final_shifts_validates_dates_and_clips_to_the_window) {
  auto missing = get("/api/v1/schedules/SCHEDCICD/final_shifts");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json::parse(missing.body)["start_date"][0], "This field is required.");
  EXPECT_EQ(get("/api/v1/schedules/SCHEDCICD/final_shifts", {{"start_date", "2026-12-02"}, {"end_date", "2026-12-01"}}).status,
            400);
  ASSERT_EQ(control("POST", "/schedules/SCHEDCICD/shifts",
                    json{{"user", "UBOBBOBBOBBOB"}, {"start", "2026-12-01T20:00:00Z"}, {"end", "2026-12-02T08:00:00Z"}})
                .status,
            201);
  auto r = get("/api/v1/schedules/SCHEDCICD/final_shifts", {{"start_date", "2026-12-02"}, {"end_date", "2026-12-02"}});
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  ASSERT_EQ(j["count"], 1);
  EXPECT_EQ(j["results"][0]["user_username"], "bob");
  EXPECT_EQ(j["results"][0]["shift_start"], "2026-12-02T00:00:00Z");
  EXPECT_EQ(j["results"][0]["shift_end"], "2026-12-02T08:00:00Z");
  auto none = json::parse(get("/api/v1/schedules/SCHEDCICD/final_shifts", {{"start_date", "2026-12-03"}, {"end_date", "2026-12-04"}}).body);
  EXPECT_EQ(none["count"], 0);
}

TEST_F(oncall_fixture, schedules_list_filters_by_exact_name) {
  auto j = json::parse(get("/api/v1/schedules/", {{"name", "DBA duty"}}).body);
  ASSERT_EQ(j["count"], 1);
  EXPECT_EQ(j["results"][0]["id"], "SCHEDDBA");
  EXPECT_EQ(json::parse(get("/api/v1/schedules/", {{"name", "dba duty"}}).body)["count"], 0);
}

TEST_F(oncall_fixture, control_lists_users_with_their_names_including_added_ones) {
  auto r = control("GET", "/users", json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  auto users = json::parse(r.body);
  ASSERT_EQ(users.size(), 4u);
  EXPECT_EQ(users[1], (json{{"id", "UBOBBOBBOBBOB"}, {"username", "bob"}, {"email", "bob@example.com"},
                            {"name", "Bob Smith"}}));
  EXPECT_EQ(users[3]["username"], "dave.d");
  ASSERT_EQ(control("POST", "/users", json{{"id", "UZED"}, {"username", "zed"}, {"name", "Zed Z"}}).status, 201);
  users = json::parse(control("GET", "/users", json::object()).body);
  ASSERT_EQ(users.size(), 5u);
  EXPECT_EQ(users[4]["name"], "Zed Z");
  EXPECT_EQ(control("POST", "/users/UZED", json::object()).status, 404);
}
