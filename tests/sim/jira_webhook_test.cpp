// Outbound webhooks and the control API of the Jira simulator: headers, signatures, retry schedule on a manual
// clock, event filtering and ordering, per-flavour envelopes, and humans acting through /control.
#include <fstream>

#include <gtest/gtest.h>

#include "io/hmac.hpp"
#include "sim/jira.hpp"
#include "seed.hpp"

using namespace dutydesk::sim;
using dutydesk::sim::test::demo_seed;

namespace {

http_request request(std::string method, std::string path, const json& body, std::string bearer_or_basic = {}) {
  http_request r;
  r.method = std::move(method);
  auto q = path.find('?');
  r.target = path;
  r.path = path.substr(0, q);
  if (q != std::string::npos) {
    auto qs = path.substr(q + 1);
    size_t pos = 0;
    while (pos <= qs.size()) {
      auto amp = qs.find('&', pos);
      if (amp == std::string::npos)
        amp = qs.size();
      auto kv = qs.substr(pos, amp - pos);
      auto eq = kv.find('=');
      if (!kv.empty())
        r.query.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
      pos = amp + 1;
    }
  }
  if (!bearer_or_basic.empty())
    r.headers["authorization"] = bearer_or_basic;
  if (!body.is_null()) {
    r.body = body.dump();
    r.headers["content-type"] = "application/json";
  }
  return r;
}

std::string header(const outbound_call& c, const std::string& name) {
  for (auto& [k, v] : c.headers)
    if (k == name)
      return v;
  return "<absent>";
}

struct env {
  manual_clock clock{1732630000000};
  id_source ids{11};
  jira_sim sim;
  std::vector<outbound_call> sent;

  explicit env(jira_flavor f, bool connect = true) : sim(f, clock, ids) {
    sim.load_seed(demo_seed("jira"));
    if (connect)
      sim.set_outbound([this](outbound_call c) { sent.push_back(std::move(c)); });
  }
  bool cloud() const { return sim.cloud(); }
  json control(const std::string& method, const std::string& path, const json& body = nullptr, int want = 0) {
    auto r = sim.handle_control(request(method, path, body));
    if (want) {
      EXPECT_EQ(r.status, want) << method << " " << path << " " << r.body;
    }
    return r.body.empty() ? json() : json::parse(r.body);
  }
  http_response rest(const std::string& method, const std::string& path, const json& body = nullptr) {
    // alice acts through REST with her own credentials (Bearer PAT on DC, email:token on Cloud).
    std::string auth = cloud() ? "Basic YWxpY2VAZXhhbXBsZS5jb206amlyYS1hbGljZS10b2tlbi0wMDAwMDAwMDAwMDA="
                               : "Bearer jira-alice-token-000000000000";
    return sim.handle(request(method, path, body, auth));
  }
  std::string create(const std::string& as = "alice", const std::string& project = "DBA") {
    json b = {{"as", as}, {"project", project}, {"summary", "Printer on fire"}};
    if (project == "CICD")
      b["fields"] = {{"customfield_10100", {{"value", "ci"}}}};
    return control("POST", "/issues", b, 201)["key"];
  }
  json payload(size_t k) const { return json::parse(sent.at(k).body); }
  void answer(size_t k, int status) { sim.on_outbound_result({sent.at(k).id, status, status ? "" : "refused"}); }
  std::vector<std::string> events() const {
    std::vector<std::string> xs;
    for (auto& c : sent) {
      auto j = json::parse(c.body);
      xs.push_back(j["webhookEvent"].get<std::string>() +
                   (j.contains("issue_event_type_name") ? "/" + j["issue_event_type_name"].get<std::string>() : ""));
    }
    return xs;
  }
};

using V = std::vector<std::string>;

// --- headers and signature --------------------------------------------------------------------------------------

TEST(JiraWebhooks, FirstAttemptHeadersAndSignature) {
  for (auto f : {jira_flavor::datacenter, jira_flavor::cloud}) {
    env e{f};
    e.create();
    ASSERT_EQ(e.sent.size(), 1u);
    auto& c = e.sent[0];
    EXPECT_EQ(c.method, "POST");
    EXPECT_EQ(c.url, "http://127.0.0.1:8090/jira/webhook");
    EXPECT_EQ(header(c, "Content-Type"), "application/json");
    EXPECT_EQ(header(c, "X-Atlassian-Webhook-Flow"), "Primary");
    EXPECT_EQ(header(c, "X-Atlassian-Webhook-Retry"), "<absent>");
    EXPECT_EQ(header(c, "X-Atlassian-Webhook-Identifier").size(), 36u);
    auto sig = header(c, "X-Hub-Signature");
    EXPECT_EQ(sig.rfind("sha256=", 0), 0u);
    EXPECT_TRUE(dutydesk::io::verify_hub_signature("webhook-secret-0000", c.body, sig));
    EXPECT_FALSE(dutydesk::io::verify_hub_signature("other-secret", c.body, sig));
    EXPECT_EQ(e.payload(0)["webhookEvent"], "jira:issue_created");
  }
}

TEST(JiraWebhooks, UnsignedWithoutSecretAndIdentifiersUniquePerDelivery) {
  env e{jira_flavor::cloud};
  e.control("POST", "/webhooks",
            {{"name", "plain"}, {"url", "http://127.0.0.1:9/in"}, {"events", {"jira:issue_created"}}}, 201);
  e.create();
  ASSERT_EQ(e.sent.size(), 2u);
  EXPECT_EQ(header(e.sent[1], "X-Hub-Signature"), "<absent>");
  EXPECT_EQ(e.sent[0].body, e.sent[1].body);
  EXPECT_NE(header(e.sent[0], "X-Atlassian-Webhook-Identifier"), header(e.sent[1], "X-Atlassian-Webhook-Identifier"));
}

// --- retries ----------------------------------------------------------------------------------------------------

TEST(JiraWebhooks, RetryScheduleOnManualClock) {
  env e{jira_flavor::cloud};
  e.create();
  ASSERT_EQ(e.sent.size(), 1u);
  auto identifier = header(e.sent[0], "X-Atlassian-Webhook-Identifier");
  auto body = e.sent[0].body;
  // Attempt n fails; the next one is due after 1, 2, 4, 8, 16 s; never earlier.
  const int64_t delays[] = {1000, 2000, 4000, 8000, 16000};
  for (int retry = 1; retry <= 5; ++retry) {
    e.answer(e.sent.size() - 1, retry % 2 ? 503 : 0);
    e.clock.advance_ms(delays[retry - 1] - 1);
    e.sim.tick();
    EXPECT_EQ(e.sent.size(), static_cast<size_t>(retry)) << "retry " << retry << " came early";
    e.clock.advance_ms(1);
    e.sim.tick();
    ASSERT_EQ(e.sent.size(), static_cast<size_t>(retry + 1)) << "retry " << retry << " missing";
    auto& c = e.sent.back();
    EXPECT_EQ(header(c, "X-Atlassian-Webhook-Retry"), std::to_string(retry));
    EXPECT_EQ(header(c, "X-Atlassian-Webhook-Identifier"), identifier);
    EXPECT_EQ(c.body, body);
    EXPECT_TRUE(dutydesk::io::verify_hub_signature("webhook-secret-0000", c.body, header(c, "X-Hub-Signature")));
  }
  e.answer(5, 500);
  e.clock.advance_ms(3600000);
  e.sim.tick();
  EXPECT_EQ(e.sent.size(), 6u);  // 1 attempt + 5 retries, then given up
  auto ds = e.control("GET", "/deliveries", nullptr, 200);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0]["state"], "failed");
  ASSERT_EQ(ds[0]["attempts"].size(), 6u);
  EXPECT_EQ(ds[0]["attempts"][1]["status"], 0);
  EXPECT_EQ(ds[0]["attempts"][1]["error"], "refused");
  EXPECT_EQ(ds[0]["attempts"][5]["retry"], 5);
  EXPECT_EQ(ds[0]["attempts"][5]["at"].get<int64_t>() - ds[0]["attempts"][0]["at"].get<int64_t>(), 31000);
}

TEST(JiraWebhooks, WhichStatusesAreRetried) {
  for (int status : {408, 409, 425, 429, 500, 502, 503, 504, 0}) {
    env e{jira_flavor::datacenter};
    e.create();
    e.answer(0, status);
    e.clock.advance_ms(1000);
    e.sim.tick();
    EXPECT_EQ(e.sent.size(), 2u) << status;
  }
  for (int status : {200, 202, 204, 301, 400, 401, 403, 404, 410}) {
    env e{jira_flavor::datacenter};
    e.create();
    e.answer(0, status);
    e.clock.advance_ms(100000);
    e.sim.tick();
    EXPECT_EQ(e.sent.size(), 1u) << status;
    auto d = e.control("GET", "/deliveries", nullptr, 200)[0];
    EXPECT_EQ(d["state"], status < 300 ? "delivered" : "failed") << status;
  }
}

// --- filtering and ordering -------------------------------------------------------------------------------------

TEST(JiraWebhooks, FilteredByEventsAndJql) {
  env e{jira_flavor::datacenter};
  e.control("DELETE", "/webhooks/1", nullptr, 200);
  auto w = e.control("POST", "/webhooks",
                     {{"name", "comments-only"}, {"url", "http://127.0.0.1:9/c"}, {"events", {"comment_created"}},
                      {"jql", "project = CICD"}}, 201);
  auto dba = e.create();
  auto cicd = e.create("alice", "CICD");
  EXPECT_TRUE(e.sent.empty());
  e.control("POST", "/issues/" + dba + "/comments", {{"as", "bob"}, {"body", "not for this hook"}}, 201);
  EXPECT_TRUE(e.sent.empty());
  e.control("POST", "/issues/" + cicd + "/comments", {{"as", "bob"}, {"body", "hello"}}, 201);
  ASSERT_EQ(e.sent.size(), 1u);
  EXPECT_EQ(e.payload(0)["webhookEvent"], "comment_created");
  EXPECT_EQ(e.sent[0].url, "http://127.0.0.1:9/c");
}

TEST(JiraWebhooks, EventOrderPreservedWhenOutboundConnectsLater) {
  env e{jira_flavor::cloud, false};
  auto key = e.create();
  e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "one"}}, 201);
  e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "In Progress"}}, 200);
  EXPECT_EQ(e.control("GET", "/deliveries?state=queued")[0]["state"], "queued");
  e.sim.set_outbound([&](outbound_call c) { e.sent.push_back(std::move(c)); });
  EXPECT_EQ(e.events(), (V{"jira:issue_created/issue_created", "comment_created", "jira:issue_updated/issue_commented",
                           "jira:issue_updated/issue_work_started"}));
}

TEST(JiraWebhooks, UrlVariablesAndExcludeBody) {
  env e{jira_flavor::datacenter};
  e.control("POST", "/webhooks",
            {{"name", "vars"}, {"url", "http://127.0.0.1:9/j/${issue.key}/${modifiedUser.name}"},
             {"events", {"jira:issue_created"}}, {"excludeBody", true}}, 201);
  e.create("carol");
  ASSERT_EQ(e.sent.size(), 2u);
  EXPECT_EQ(e.sent[1].url, "http://127.0.0.1:9/j/DBA-1/carol");
  EXPECT_TRUE(e.sent[1].body.empty());
}

// --- per-flavour envelopes --------------------------------------------------------------------------------------

TEST(JiraWebhooks, DataCenterCommentEnvelopes) {
  env e{jira_flavor::datacenter};
  auto key = e.create();
  e.sent.clear();
  auto c = e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "*bold* chat text"}}, 201);
  ASSERT_EQ(e.events(), (V{"comment_created", "jira:issue_updated/issue_commented"}));
  auto created = e.payload(0);
  EXPECT_FALSE(created.contains("issue"));
  EXPECT_FALSE(created.contains("user"));
  EXPECT_EQ(created["comment"]["body"], "*bold* chat text");
  EXPECT_EQ(created["comment"]["author"]["name"], "bob");
  EXPECT_EQ(created["comment"]["self"], "http://127.0.0.1:8080/rest/api/2/issue/10000/comment/" +
                                            c["id"].get<std::string>());
  auto commented = e.payload(1);
  EXPECT_FALSE(commented.contains("changelog"));
  EXPECT_EQ(commented["issue"]["key"], key);
  EXPECT_EQ(commented["user"]["name"], "bob");
  EXPECT_EQ(commented["comment"]["id"], c["id"]);
  EXPECT_EQ(commented["issue"]["fields"]["comment"]["total"], 1);
  e.sent.clear();
  e.control("PUT", "/issues/" + key + "/comments/" + c["id"].get<std::string>(), {{"as", "carol"}, {"body", "edited"}},
            200);
  ASSERT_EQ(e.events(), (V{"comment_updated", "jira:issue_updated/issue_comment_edited"}));
  EXPECT_EQ(e.payload(0)["user"]["name"], "carol");
  EXPECT_EQ(e.payload(0)["comment"]["updateAuthor"]["name"], "carol");
  EXPECT_EQ(e.payload(0)["comment"]["author"]["name"], "bob");
  e.sent.clear();
  e.control("DELETE", "/issues/" + key + "/comments/" + c["id"].get<std::string>() + "?as=carol", nullptr, 200);
  ASSERT_EQ(e.events(), (V{"comment_deleted", "jira:issue_updated/issue_comment_deleted"}));
  EXPECT_EQ(e.payload(0)["comment"]["id"], c["id"]);
}

TEST(JiraWebhooks, CloudCommentEnvelopeHasReducedIssueAndStringBody) {
  env e{jira_flavor::cloud};
  auto key = e.create();
  e.sent.clear();
  json doc = {{"type", "doc"}, {"version", 1},
              {"content", {{{"type", "paragraph"}, {"content", {{{"type", "text"}, {"text", "via v3"}}}}}}}};
  ASSERT_EQ(e.rest("POST", "/rest/api/3/issue/" + key + "/comment", {{"body", doc}}).status, 201);
  ASSERT_EQ(e.events(), (V{"comment_created", "jira:issue_updated/issue_commented"}));
  auto p = e.payload(0);
  EXPECT_FALSE(p.contains("user"));
  EXPECT_EQ(p["comment"]["body"], "via v3");  // webhooks carry the v2 string even for ADF comments
  EXPECT_EQ(p["comment"]["author"]["accountId"], "712020:0a1b2c3d-alic-4000-8000-000000000002");
  std::set<std::string> keys;
  for (auto& [k, v] : p["issue"]["fields"].items())
    keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"summary", "issuetype", "project", "assignee", "priority", "status"}));
  EXPECT_EQ(p["issue"]["self"], "http://127.0.0.1:8082/rest/api/2/issue/10000");
}

TEST(JiraWebhooks, StatusResolutionAndAssigneeChangelogs) {
  for (auto f : {jira_flavor::datacenter, jira_flavor::cloud}) {
    env e{f};
    auto key = e.create();
    e.sent.clear();
    e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "In Progress"}}, 200);
    e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "Done"}, {"resolution", "Done"}}, 200);
    e.control("POST", "/issues/" + key + "/assign", {{"as", "bob"}, {"assignee", "carol"}}, 200);
    ASSERT_EQ(e.events(), (V{"jira:issue_updated/issue_work_started", "jira:issue_updated/issue_resolved",
                             "jira:issue_updated/issue_assigned"}));
    auto start = e.payload(0)["changelog"]["items"];
    ASSERT_EQ(start.size(), 1u);
    EXPECT_EQ(start[0]["field"], "status");
    EXPECT_EQ(start[0]["from"], "10000");
    EXPECT_EQ(start[0]["fromString"], "To Do");
    EXPECT_EQ(start[0]["to"], "3");
    EXPECT_EQ(start[0]["toString"], "In Progress");
    EXPECT_EQ(start[0].contains("fieldId"), e.cloud());
    auto resolved = e.payload(1);
    auto items = resolved["changelog"]["items"];
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[1]["field"], "resolution");
    EXPECT_TRUE(items[1]["from"].is_null());
    EXPECT_EQ(items[1]["to"], "10000");
    EXPECT_EQ(resolved["issue"]["fields"]["resolution"]["name"], "Done");
    EXPECT_EQ(resolved["issue"]["fields"]["status"]["statusCategory"]["key"], "done");
    auto assign = e.payload(2)["changelog"]["items"][0];
    EXPECT_EQ(assign["field"], "assignee");
    EXPECT_EQ(assign["toString"], "Carol Chen");
    if (e.cloud()) {
      EXPECT_EQ(assign["to"], "712020:0a1b2c3d-caro-4000-8000-000000000004");
      EXPECT_EQ(assign["tmpToAccountId"], "712020:0a1b2c3d-caro-4000-8000-000000000004");
      EXPECT_TRUE(assign["tmpFromAccountId"].is_null());
      EXPECT_EQ(e.payload(2)["user"]["accountId"], "712020:0a1b2c3d-bob0-4000-8000-000000000003");
    } else {
      EXPECT_EQ(assign["to"], "carol");
      EXPECT_FALSE(assign.contains("tmpToAccountId"));
      EXPECT_EQ(e.payload(2)["user"]["name"], "bob");
    }
    EXPECT_EQ(e.payload(2)["changelog"]["id"].get<std::string>().size(), 5u);
  }
}

TEST(JiraWebhooks, RestActionsByTheBotRaiseEventsToo) {
  env e{jira_flavor::datacenter};
  auto key = e.create();
  e.sent.clear();
  // A no-op edit changes nothing and raises nothing.
  EXPECT_EQ(e.rest("PUT", "/rest/api/2/issue/" + key, {{"fields", {{"summary", "Printer on fire"}}}}).status, 204);
  EXPECT_TRUE(e.sent.empty());
  EXPECT_EQ(e.rest("PUT", "/rest/api/2/issue/" + key, {{"fields", {{"summary", "Printer is on fire"}}}}).status, 204);
  ASSERT_EQ(e.events(), (V{"jira:issue_updated/issue_updated"}));
  auto item = e.payload(0)["changelog"]["items"][0];
  EXPECT_EQ(item["field"], "summary");
  EXPECT_EQ(item["fromString"], "Printer on fire");
  EXPECT_EQ(item["toString"], "Printer is on fire");
  EXPECT_EQ(e.payload(0)["user"]["name"], "alice");
}

TEST(JiraWebhooks, CloudCreateCarriesInitialValuesChangelog) {
  env e{jira_flavor::cloud};
  e.control("POST", "/issues", {{"as", "alice"}, {"project", "CICD"}, {"summary", "x"}, {"assignee", "bob"},
                                {"fields", {{"customfield_10100", {{"value", "postgres"}}}}}}, 201);
  auto items = e.payload(0)["changelog"]["items"];
  std::map<std::string, json> by_field;
  for (auto& i : items)
    by_field[i["fieldId"]] = i;
  EXPECT_EQ(by_field["assignee"]["tmpToAccountId"], "712020:0a1b2c3d-bob0-4000-8000-000000000003");
  EXPECT_EQ(by_field["customfield_10100"]["field"], "Service");
  EXPECT_EQ(by_field["customfield_10100"]["fieldtype"], "custom");
  EXPECT_EQ(by_field["customfield_10100"]["toString"], "postgres");
  EXPECT_EQ(by_field["status"]["toString"], "To Do");
  env dc{jira_flavor::datacenter};
  dc.create();
  EXPECT_FALSE(dc.payload(0).contains("changelog"));
}

// --- control API ------------------------------------------------------------------------------------------------

TEST(JiraControl, ActAsHumanAndReadBack) {
  env e{jira_flavor::datacenter};
  auto issue = e.control("POST", "/issues",
                         {{"as", "alice"}, {"project", "CICD"}, {"summary", "Pipeline stuck"}, {"labels", {"ci"}},
                          {"fields", {{"customfield_10100", {{"value", "pipeline"}}}}}}, 201);
  auto key = issue["key"].get<std::string>();
  EXPECT_EQ(issue["reporter"], "alice");
  EXPECT_EQ(issue["status"]["name"], "To Do");
  EXPECT_EQ(issue["customFields"]["customfield_10100"]["value"], "pipeline");
  EXPECT_EQ(e.payload(0)["user"]["name"], "alice");
  e.control("POST", "/issues/" + key + "/assign", {{"as", "dave"}, {"assignee", "bob"}}, 200);
  e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "looking"}}, 201);
  e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"transition", "11"}}, 200);
  // "Done" requires a resolution; the control API preselects the first one like the UI does.
  auto done = e.control("POST", "/issues/" + key + "/transitions",
                        {{"as", "bob"}, {"to", "Done"}, {"comment", "fixed by restarting the runner"}}, 200);
  EXPECT_EQ(done["status"]["name"], "Done");
  EXPECT_EQ(done["resolution"], "Done");
  EXPECT_EQ(done["assignee"], "bob");
  ASSERT_EQ(done["comments"].size(), 2u);
  EXPECT_EQ(done["comments"][1]["body"], "fixed by restarting the runner");
  ASSERT_EQ(done["transitions"].size(), 2u);
  EXPECT_EQ(done["transitions"][1]["from"], "In Progress");
  EXPECT_EQ(done["transitions"][1]["to"], "Done");
  EXPECT_EQ(done["transitions"][1]["by"], "bob");
  EXPECT_EQ(done["history"].size(), 3u);
  // Invalid moves are refused with the available targets or Jira's own error.
  auto bad = e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "In Progress"}}, 400);
  EXPECT_EQ(bad["available"], json::array({"To Do"}));
  e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"transition", "21"}}, 400);
  e.control("POST", "/issues/" + key + "/comments", {{"body", "who am i"}}, 400);
  e.control("POST", "/issues/" + key + "/comments", {{"as", "mallory"}, {"body", "x"}}, 400);
  // The REST view agrees.
  auto rest = json::parse(e.rest("GET", "/rest/api/2/issue/" + key).body);
  EXPECT_EQ(rest["fields"]["status"]["name"], "Done");
  EXPECT_EQ(rest["fields"]["comment"]["total"], 2);
  auto all = e.control("GET", "/issues", nullptr, 200);
  EXPECT_EQ(all.size(), 1u);
}

TEST(JiraControl, RemoteLinksAndPropertiesVisible) {
  env e{jira_flavor::cloud};
  auto key = e.create();
  e.rest("POST", "/rest/api/2/issue/" + key + "/remotelink",
         {{"globalId", "g1"}, {"object", {{"url", "https://chat/t/1"}, {"title", "thread"}}}});
  e.rest("PUT", "/rest/api/2/issue/" + key + "/properties/dutydesk", {{"origin", "chat"}});
  auto i = e.control("GET", "/issues/" + key, nullptr, 200);
  ASSERT_EQ(i["remoteLinks"].size(), 1u);
  EXPECT_EQ(i["remoteLinks"][0]["globalId"], "g1");
  EXPECT_EQ(i["properties"]["dutydesk"]["origin"], "chat");
  EXPECT_EQ(e.events().back(), "jira:issue_updated/issue_updated");  // the remote link is in the history
}

TEST(JiraControl, WebhooksDeliveriesAndRequiredFields) {
  env e{jira_flavor::datacenter};
  auto hooks = e.control("GET", "/webhooks", nullptr, 200);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0]["hasSecret"], true);
  auto extra = e.control("POST", "/webhooks",
                         {{"name", "x"}, {"url", "http://127.0.0.1:9/x"}, {"events", {"jira:issue_created"}},
                          {"secret", "s2"}}, 201);
  e.create();
  ASSERT_EQ(e.sent.size(), 2u);
  EXPECT_TRUE(dutydesk::io::verify_hub_signature("s2", e.sent[1].body, header(e.sent[1], "X-Hub-Signature")));
  e.answer(0, 200);
  auto ds = e.control("GET", "/deliveries?webhook=1&body=true", nullptr, 200);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0]["state"], "delivered");
  EXPECT_EQ(ds[0]["body"]["webhookEvent"], "jira:issue_created");
  EXPECT_EQ(ds[0]["attempts"][0]["status"], 200);
  EXPECT_EQ(e.control("GET", "/deliveries/" + std::to_string(ds[0]["id"].get<int>()), nullptr, 200)["issueKey"],
            "DBA-1");
  e.control("DELETE", "/webhooks/" + std::to_string(extra["id"].get<int>()), nullptr, 200);
  e.create();
  EXPECT_EQ(e.sent.size(), 3u);
  // Required fields changed at run time apply to REST creates at once.
  e.control("PUT", "/projects/DBA/required_fields", {{"fields", {"description"}}}, 200);
  auto r = e.rest("POST", "/rest/api/2/issue",
                  {{"fields", {{"project", {{"key", "DBA"}}}, {"issuetype", {{"id", "10002"}}}, {"summary", "x"}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["errors"]["description"], "Description is required.");
  e.control("PUT", "/projects/DBA/required_fields", {{"fields", {"customfield_424242"}}}, 400);
  e.control("POST", "/reset", json::object(), 200);
  EXPECT_TRUE(e.control("GET", "/issues", nullptr, 200).empty());
}

// The DC REST registration ignores `secret` (Jira 9.x has none); Cloud admin webhooks honour it.
TEST(JiraWebhooks, RestRegisteredSecretOnlyOnCloud) {
  for (auto f : {jira_flavor::datacenter, jira_flavor::cloud}) {
    env e{f};
    e.control("DELETE", "/webhooks/1", nullptr, 200);
    auto r = e.rest("POST", "/rest/webhooks/1.0/webhook",
                    {{"name", "n"}, {"url", "http://127.0.0.1:9/n"}, {"events", {"jira:issue_created"}},
                     {"secret", "abc"}});
    ASSERT_EQ(r.status, 201);
    e.create();
    ASSERT_EQ(e.sent.size(), 1u);
    EXPECT_EQ(header(e.sent[0], "X-Hub-Signature") != "<absent>", e.cloud());
  }
}

} // namespace
