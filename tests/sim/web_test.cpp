// The live page (sim/web.cpp): served on the control port at /, /live and /live/<file> from the files embedded at
// build time, next to the control API it polls.
#include "sim/simulator.hpp"
#include "seed.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

using namespace dutydesk::sim;

namespace {

struct web_fixture : ::testing::Test {
  manual_clock clock;
  id_source ids{7};
  simulator sim{clock, ids};

  http_response request(const std::string& method, const std::string& path) {
    http_request req;
    req.method = method;
    req.target = path;
    req.path = path;
    return sim.control(req);
  }

  static std::string header(const http_response& r, const std::string& name) {
    for (auto& [k, v] : r.headers)
      if (k == name)
        return v;
    return "";
  }

  static std::string source(const std::string& file) {
    std::ifstream in(DUTYDESK_SOURCE_DIR "/sim/web/" + file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
};

} // namespace

TEST_F(web_fixture, root_and_live_serve_the_page_as_html) {
  for (auto path : {"/", "/live", "/live/", "/live/live.html"}) {
    auto r = request("GET", path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.body, source("live.html")) << path;
    EXPECT_NE(r.body.find("<script src=\"/live/live.js\""), std::string::npos);
    EXPECT_EQ(header(r, "Cache-Control"), "no-store");
    EXPECT_NE(header(r, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  }
}

TEST_F(web_fixture, script_and_stylesheet_are_the_files_of_sim_web_byte_for_byte) {
  auto js = request("GET", "/live/live.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, source("live.js"));
  EXPECT_GT(js.body.size(), 1000u);
  auto css = request("GET", "/live/live.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(css.body, source("live.css"));
}

TEST_F(web_fixture, unknown_files_are_404_and_other_methods_405) {
  EXPECT_EQ(request("GET", "/live/nope.js").status, 404);
  EXPECT_EQ(request("GET", "/live/../simulator.cpp").status, 404);
  EXPECT_EQ(request("GET", "/livex").status, 404);  // not the page: the control API's 404
  EXPECT_NE(request("GET", "/livex").body.find("no such control endpoint"), std::string::npos);
  // Paths that are neither the page nor under /control/ (a short one threw out of the io thread and aborted).
  for (auto path : {"/x", "/favicon.ico", "/control", "/control/", "/controlx", "/controls/health", ""})
    EXPECT_EQ(request("GET", path).status, 404) << path;
  auto post = request("POST", "/");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET");
}

TEST_F(web_fixture, the_control_api_is_still_answered_beside_the_page) {
  auto r = request("GET", "/control/health");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true})");
  sim.load_seed(json{{"oncall", dutydesk::sim::test::demo_seed("oncall")}});
  auto users = request("GET", "/control/oncall/users");
  ASSERT_EQ(users.status, 200);
  EXPECT_EQ(json::parse(users.body).size(), 4u);
}
