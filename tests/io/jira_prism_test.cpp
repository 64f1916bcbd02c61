// Every Cloud (v3) request io::jira_client sends, checked by Stoplight Prism against Atlassian's Cloud v3 OpenAPI file
// (reference prism.md): each must get a 2xx without an `sl-violations` header. Prism has no state and answers with
// generated data, so only the requests are judged here, not what the client makes of the answers; round trips are
// the simulator tests' job. Needs DUTYDESK_PRISM_V3 (e.g. http://127.0.0.1:14010, as conformance/run.sh sets it);
// skipped without it.

#include "io/jira_client.hpp"

#include <cstdlib>
#include <optional>

#include "tests/io/sim_fixture.hpp"

namespace {

using namespace dutydesk;
using io::jira::flavor;
using nlohmann::json;

struct seen_request {
  std::string what; // "POST http://…"
  unsigned status = 0;
  std::optional<std::string> violations;
};

class JiraPrismTest : public ::testing::Test {
protected:
  void SetUp() override {
    const char* url = std::getenv("DUTYDESK_PRISM_V3");
    if (!url || !*url)
      GTEST_SKIP() << "DUTYDESK_PRISM_V3 is not set: start Prism on the Jira Cloud v3 spec and point it there, e.g. "
                      "DUTYDESK_PRISM_V3=http://127.0.0.1:14010, or run conformance/run.sh <dutydesk-sim> <io_tests>";
    io::http_client_options o;
    o.retry.max_attempts = 1; // a Prism 5xx must show, not be retried away
    http = std::make_unique<io::http_client>(ioc, o);
    client = std::make_unique<io::jira_client>(*http, url, flavor::cloud,
                                               io::jira::auth::basic("dutybot@example.com", "token"),
                                               std::chrono::milliseconds(10000));
    client->observe([this](const io::http_request& req, const io::http_result& r) {
      static const char* verbs[] = {"GET", "POST", "PUT", "DELETE"};
      seen.push_back({std::string(verbs[static_cast<int>(req.method)]) + " " + req.url, r.response.status,
                      r.ok() ? r.response.header("sl-violations") : std::nullopt});
    });
  }

  /// Runs one client call to its callback.
  template <class T, class Start>
  void run(Start start) {
    bool done = false;
    start([&](io::api_result<T>) { done = true; });
    ASSERT_TRUE(test::run_until(ioc, [&] { return done; }, std::chrono::milliseconds(30000)));
  }

  /// Every request seen so far got a 2xx without violations; `n` were sent (one page per list call: more would be
  /// the client paging through generated data).
  void expect_conforming(std::size_t n) {
    ASSERT_EQ(seen.size(), n);
    for (const auto& s : seen) {
      EXPECT_GE(s.status, 200u) << s.what;
      EXPECT_LT(s.status, 300u) << s.what;
      EXPECT_FALSE(s.violations.has_value()) << s.what << ": " << s.violations.value_or("");
    }
  }

  boost::asio::io_context ioc;
  std::unique_ptr<io::http_client> http;
  std::unique_ptr<io::jira_client> client;
  std::vector<seen_request> seen;
};

io::jira::issue_draft draft() {
  io::jira::issue_draft d;
  d.request_id = "r42";
  d.project_key = "CICD";
  d.issue_type = "Task";
  d.summary = "Pipeline stuck";
  d.text = "Pipeline *stuck*\nsee https://ci.example.com/job/7\n\nsince 9:00";
  d.requester = "alice";
  d.requester_name = "Alice Adams";
  d.room = "cicd-support";
  d.permalink = "https://chat.example.com/channel/cicd-support?msg=m1";
  d.service_field = "customfield_10100";
  d.service_value = "pipeline";
  return d;
}

TEST_F(JiraPrismTest, ServerInfoAndMyself) {
  run<io::jira::server_info>([&](auto cb) { client->server_info(cb); });
  run<io::jira::jira_user>([&](auto cb) { client->myself(cb); });
  expect_conforming(2);
}

TEST_F(JiraPrismTest, CreateMeta) {
  run<std::vector<io::jira::meta_issue_type>>([&](auto cb) { client->create_meta_issue_types("CICD", cb); });
  run<std::vector<io::jira::meta_field>>([&](auto cb) { client->create_meta_fields("CICD", "10002", cb); });
  expect_conforming(2);
}

TEST_F(JiraPrismTest, CreateIssue) {
  auto body = io::jira::create_issue_body(flavor::cloud, draft());
  run<io::jira::created_issue>([&](auto cb) { client->create_issue(body, cb); });
  expect_conforming(1);
}

TEST_F(JiraPrismTest, CommentsAndTheirProperty) {
  auto body = io::jira::comment_body(flavor::cloud, io::jira::attributed_comment("Bob Smith", "bob", "on it"), "m-1");
  run<std::string>([&](auto cb) { client->add_comment("CICD-1", body, cb); });
  auto edit = io::jira::comment_edit_body(flavor::cloud, "on it, https://ci.example.com/job/7");
  run<std::monostate>([&](auto cb) { client->update_comment("CICD-1", "10000", edit, cb); });
  run<std::vector<io::jira::issue_comment>>([&](auto cb) { client->comments("CICD-1", cb); });
  run<std::optional<json>>([&](auto cb) { client->comment_property("10000", "dutydesk", cb); });
  expect_conforming(4);
}

TEST_F(JiraPrismTest, Transitions) {
  run<std::vector<io::jira::transition>>([&](auto cb) { client->transitions("CICD-1", cb); });
  run<std::monostate>([&](auto cb) { client->do_transition("CICD-1", io::jira::transition_body("11", {}), cb); });
  run<std::monostate>([&](auto cb) { client->do_transition("CICD-1", io::jira::transition_body("31", "Done"), cb); });
  expect_conforming(3);
}

TEST_F(JiraPrismTest, UsersAndAssign) {
  run<std::vector<io::jira::jira_user>>([&](auto cb) { client->find_users("bob@example.com", cb); });
  io::jira::jira_user bob;
  bob.account_id = "712020:0a1b2c3d-bob0-4000-8000-000000000003";
  run<std::monostate>([&](auto cb) { client->assign("CICD-1", io::jira::user_ref(flavor::cloud, bob), cb); });
  expect_conforming(2);
}

TEST_F(JiraPrismTest, RemoteLink) {
  auto body = io::jira::remote_link_body("r42", "https://chat.example.com/channel/cicd-support?msg=m1",
                                         "#cicd-support thread", "Pipeline stuck", false);
  run<std::string>([&](auto cb) { client->put_remote_link("CICD-1", body, cb); });
  expect_conforming(1);
}

TEST_F(JiraPrismTest, SearchAndGetIssue) {
  // One page: Prism's generated answers carry random nextPageToken/isLast values.
  run<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search(io::jira::jql_for_request("CICD", "r42"), {"customfield_10100"}, cb, 1); });
  run<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search(io::jira::jql_updated_since("CICD", "2026-11-26 14:00"), {}, cb, 1); });
  run<io::jira::issue>([&](auto cb) { client->get_issue("CICD-1", {"customfield_10100"}, cb); });
  expect_conforming(3);
}

TEST_F(JiraPrismTest, ValidationIsOn) {
  // The spec types transition.id as a string; a number must be flagged, or the checks above prove nothing.
  run<std::monostate>([&](auto cb) { client->do_transition("CICD-1", {{"transition", {{"id", 31}}}}, cb); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_GE(seen[0].status, 400u);
  EXPECT_LT(seen[0].status, 500u);
  EXPECT_TRUE(seen[0].violations.has_value());
}

} // namespace
