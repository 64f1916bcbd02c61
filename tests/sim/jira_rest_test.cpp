// REST behaviour of the Jira simulator, both flavours: auth, serverInfo, fields, createmeta, create/get/edit,
// comments, transitions, assignee, remote links, properties, users, search. Seeded from sim/seed/demo.json.
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "sim/jira.hpp"
#include "seed.hpp"

using namespace dutydesk::sim;
using dutydesk::sim::test::demo_seed;

namespace {

std::string b64(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

std::string pct_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+')
      out += ' ';
    else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string{s.substr(i + 1, 2)}, nullptr, 16));
      i += 2;
    } else
      out += s[i];
  }
  return out;
}

http_request make_request(std::string method, std::string target, std::string body, std::string auth) {
  http_request r;
  r.method = std::move(method);
  r.target = target;
  auto q = target.find('?');
  r.path = pct_decode(target.substr(0, q));
  if (q != std::string::npos) {
    auto qs = target.substr(q + 1);
    size_t pos = 0;
    while (pos <= qs.size()) {
      auto amp = qs.find('&', pos);
      if (amp == std::string::npos)
        amp = qs.size();
      auto kv = qs.substr(pos, amp - pos);
      auto eq = kv.find('=');
      if (!kv.empty())
        r.query.emplace(pct_decode(kv.substr(0, eq)), eq == std::string::npos ? "" : pct_decode(kv.substr(eq + 1)));
      pos = amp + 1;
    }
  }
  if (!auth.empty())
    r.headers["authorization"] = auth;
  if (!body.empty() || r.method == "POST" || r.method == "PUT")
    r.headers["content-type"] = "application/json";
  r.body = std::move(body);
  return r;
}

struct env {
  manual_clock clock{1732630000000};  // 2024-11-26T14:06:40Z
  id_source ids{7};
  jira_sim sim;
  std::vector<outbound_call> sent;

  explicit env(jira_flavor f) : sim(f, clock, ids) {
    sim.load_seed(demo_seed("jira"));
    sim.set_outbound([this](outbound_call c) { sent.push_back(std::move(c)); });
  }
  bool cloud() const { return sim.cloud(); }
  std::string auth(const std::string& who) const {
    for (auto& u : demo_seed("jira")["users"])
      if (u["name"] == who)
        return cloud() ? "Basic " + b64(u["email"].get<std::string>() + ":" + u["token"].get<std::string>())
                       : "Bearer " + u["token"].get<std::string>();
    return {};
  }
  std::string account(const std::string& who) const {
    for (auto& u : demo_seed("jira")["users"])
      if (u["name"] == who)
        return u["account_id"];
    return {};
  }
  /// The flavour's user reference: {"name":…} on DC, {"accountId":…} on Cloud.
  json user_ref(const std::string& who) const {
    return cloud() ? json{{"accountId", account(who)}} : json{{"name", who}};
  }
  http_response call(const std::string& method, const std::string& target, const json& body = nullptr,
                     const std::string& who = "alice") {
    return sim.handle(make_request(method, target, body.is_null() ? "" : body.dump(), who.empty() ? "" : auth(who)));
  }
  http_response raw(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& authorization) {
    return sim.handle(make_request(method, target, body, authorization));
  }
  std::string create(const std::string& summary = "Printer on fire", json extra = json::object(),
                     const std::string& who = "alice", int api = 2) {
    json fields = {{"project", {{"key", "DBA"}}}, {"issuetype", {{"id", "10002"}}}, {"summary", summary}};
    for (auto& [k, v] : extra.items())
      fields[k] = v;
    auto r = call("POST", "/rest/api/" + std::to_string(api) + "/issue", {{"fields", fields}}, who);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("key", "");
  }
};

json body(const http_response& r) {
  return json::parse(r.body);
}

std::string flavor_name(const testing::TestParamInfo<jira_flavor>& info) {
  return info.param == jira_flavor::cloud ? "cloud" : "dc";
}

class JiraRest : public testing::TestWithParam<jira_flavor> {
protected:
  env e{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Flavors, JiraRest, testing::Values(jira_flavor::datacenter, jira_flavor::cloud), flavor_name);

const std::regex jira_time_re{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4})"};

// --- serverInfo, auth ----------------------------------------------------------------------------------------

TEST_P(JiraRest, ServerInfoIsAnonymousAndTellsTheFlavor) {
  auto r = e.call("GET", "/rest/api/2/serverInfo", nullptr, "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json;charset=UTF-8");
  auto j = body(r);
  if (e.cloud()) {
    EXPECT_EQ(j["deploymentType"], "Cloud");
  } else {
    EXPECT_EQ(j["deploymentType"], "Server");
    EXPECT_EQ(j["versionNumbers"], json::array({9, 12, 0}));
  }
  EXPECT_EQ(j["baseUrl"], e.cloud() ? "http://127.0.0.1:8082" : "http://127.0.0.1:8080");
  EXPECT_TRUE(std::regex_match(j["serverTime"].get<std::string>(), jira_time_re));
}

TEST(JiraAuth, DataCenterAcceptsBearerPatAndBasicPassword) {
  env e{jira_flavor::datacenter};
  auto r = e.raw("GET", "/rest/api/2/myself", "", "Bearer jira-bot-token-0000000000000000");
  ASSERT_EQ(r.status, 200);
  auto j = body(r);
  EXPECT_EQ(j["name"], "dutybot");
  EXPECT_EQ(j["key"], "JIRAUSER10000");
  EXPECT_FALSE(j.contains("accountId"));
  r = e.raw("GET", "/rest/api/2/myself", "", "Basic " + b64("alice:alice-pass"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["name"], "alice");
  // The PAT is not a password (jira.md §1.1).
  EXPECT_EQ(e.raw("GET", "/rest/api/2/myself", "", "Basic " + b64("dutybot:jira-bot-token-0000000000000000")).status,
            401);
}

TEST(JiraAuth, DataCenterRejectsWrongCredentialsWithSeraphHeader) {
  env e{jira_flavor::datacenter};
  for (auto auth : {std::string{"Bearer nope"}, "Basic " + b64("alice:wrong")}) {
    auto r = e.raw("GET", "/rest/api/2/serverInfo", "", auth);
    EXPECT_EQ(r.status, 401);
    bool seraph = false;
    for (auto& [k, v] : r.headers)
      seraph = seraph || (k == "X-Seraph-LoginReason" && v == "AUTHENTICATED_FAILED");
    EXPECT_TRUE(seraph);
  }
}

TEST(JiraAuth, CloudAcceptsEmailTokenOnlyAndRejectsBearer) {
  env e{jira_flavor::cloud};
  auto r = e.raw("GET", "/rest/api/3/myself", "", "Basic " + b64("alice@example.com:jira-alice-token-000000000000"));
  ASSERT_EQ(r.status, 200);
  auto j = body(r);
  EXPECT_EQ(j["accountId"], e.account("alice"));
  EXPECT_FALSE(j.contains("name"));
  EXPECT_FALSE(j.contains("key"));
  EXPECT_EQ(e.raw("GET", "/rest/api/3/myself", "", "Bearer jira-alice-token-000000000000").status, 401);
  EXPECT_EQ(e.raw("GET", "/rest/api/3/myself", "", "Basic " + b64("alice:alice-pass")).status, 401);
  EXPECT_EQ(e.raw("GET", "/rest/api/3/myself", "", "Basic " + b64("alice@example.com:bad")).status, 401);
}

TEST_P(JiraRest, MissingCredentialsAreAnonymousNot401ForReads) {
  auto key = e.create();
  EXPECT_EQ(e.call("GET", "/rest/api/2/myself", nullptr, "").status, 401);
  auto r = e.call("GET", "/rest/api/2/issue/" + key, nullptr, "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["errorMessages"].size(), 1u);
  EXPECT_EQ(e.call("POST", "/rest/api/2/issue", {{"fields", json::object()}}, "").status, 401);
  if (!e.cloud()) {
    auto s = e.call("POST", "/rest/api/2/search", {{"jql", "order by created"}}, "");
    ASSERT_EQ(s.status, 200);
    EXPECT_EQ(body(s)["total"], 0);
    // Projects are invisible to anonymous users, so naming one is an error, as on Jira.
    s = e.call("POST", "/rest/api/2/search", {{"jql", "project = DBA"}}, "");
    EXPECT_EQ(s.status, 400);
    EXPECT_EQ(body(s)["errorMessages"][0], "The value 'DBA' does not exist for the field 'project'.");
  }
}

TEST(JiraAuth, DataCenterServesNoV3) {
  env e{jira_flavor::datacenter};
  EXPECT_EQ(e.call("GET", "/rest/api/3/myself").status, 404);
  EXPECT_EQ(e.call("GET", "/rest/api/latest/myself").status, 200);
}

// --- fields, createmeta ----------------------------------------------------------------------------------------

TEST_P(JiraRest, FieldListHasSystemAndCustomFields) {
  auto r = e.call("GET", "/rest/api/2/field");
  ASSERT_EQ(r.status, 200);
  bool summary = false, service = false;
  for (auto& f : body(r)) {
    if (f["id"] == "summary")
      summary = f["custom"] == false && f["schema"]["system"] == "summary";
    if (f["id"] == "customfield_10100") {
      service = f["custom"] == true && f["name"] == "Service" && f["schema"]["type"] == "option" &&
                f["schema"]["customId"] == 10100 && f["clauseNames"][0] == "cf[10100]";
      EXPECT_EQ(f.contains("key"), e.cloud());
    }
  }
  EXPECT_TRUE(summary);
  EXPECT_TRUE(service);
}

TEST_P(JiraRest, CreatemetaIssueTypesPageShapePerFlavor) {
  auto r = e.call("GET", "/rest/api/2/issue/createmeta/CICD/issuetypes");
  ASSERT_EQ(r.status, 200);
  auto j = body(r);
  auto& page = e.cloud() ? j["issueTypes"] : j["values"];
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0]["name"], "Task");
  EXPECT_EQ(j["total"], 2);
  EXPECT_EQ(j.contains("isLast"), !e.cloud());
  j = body(e.call("GET", "/rest/api/2/issue/createmeta/CICD/issuetypes?startAt=1&maxResults=1"));
  auto& page2 = e.cloud() ? j["issueTypes"] : j["values"];
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0]["name"], "Bug");
  EXPECT_EQ(e.call("GET", "/rest/api/2/issue/createmeta/NOPE/issuetypes").status, 404);
}

TEST_P(JiraRest, CreatemetaFieldsShowProjectRequiredFields) {
  auto fields_of = [&](const std::string& project) {
    auto j = body(e.call("GET", "/rest/api/2/issue/createmeta/" + project + "/issuetypes/10002"));
    return e.cloud() ? j["fields"] : j["values"];
  };
  auto find = [](const json& xs, const std::string& id) {
    for (auto& f : xs)
      if (f["fieldId"] == id)
        return f;
    return json();
  };
  auto cicd = fields_of("CICD");
  auto service = find(cicd, "customfield_10100");
  ASSERT_FALSE(service.is_null());
  EXPECT_EQ(service["required"], true);
  EXPECT_EQ(service["allowedValues"].size(), 4u);
  EXPECT_EQ(service["allowedValues"][0]["value"], "pipeline");
  EXPECT_EQ(find(cicd, "summary")["required"], true);
  EXPECT_EQ(find(fields_of("DBA"), "customfield_10100")["required"], false);
  auto paged = body(e.call("GET", "/rest/api/2/issue/createmeta/CICD/issuetypes/10002?maxResults=3"));
  EXPECT_EQ((e.cloud() ? paged["fields"] : paged["values"]).size(), 3u);
  EXPECT_GT(paged["total"].get<int>(), 3);
  EXPECT_EQ(e.call("GET", "/rest/api/2/issue/createmeta/DBA/issuetypes/10004").status, 404);
}

TEST(JiraCreatemeta, CloudLimitsMaxResultsTo200) {
  env e{jira_flavor::cloud};
  auto r = e.call("GET", "/rest/api/3/issue/createmeta/CICD/issuetypes?maxResults=201");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errorMessages"][0], "Parameter 'maxResults' must not exceed the limit '200'");
}

TEST(JiraCreatemeta, OldEndpointRemovedOnDcDeprecatedButWorkingOnCloud) {
  env dc{jira_flavor::datacenter};
  EXPECT_EQ(dc.call("GET", "/rest/api/2/issue/createmeta?projectKeys=CICD").status, 404);
  env cloud{jira_flavor::cloud};
  auto r = cloud.call("GET", "/rest/api/3/issue/createmeta?projectKeys=CICD&expand=projects.issuetypes.fields");
  ASSERT_EQ(r.status, 200);
  auto j = body(r);
  ASSERT_EQ(j["projects"].size(), 1u);
  EXPECT_EQ(j["projects"][0]["key"], "CICD");
  EXPECT_EQ(j["projects"][0]["issuetypes"][0]["fields"]["customfield_10100"]["required"], true);
}

// --- create ----------------------------------------------------------------------------------------------------

TEST_P(JiraRest, CreateReturnsIdKeySelf) {
  auto r = e.call("POST", "/rest/api/2/issue",
                  {{"fields", {{"project", {{"key", "CICD"}}}, {"issuetype", {{"name", "Bug"}}},
                               {"summary", "Pipeline stuck"}, {"customfield_10100", {{"value", "ci"}}}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = body(r);
  EXPECT_EQ(j["key"], "CICD-1");
  EXPECT_EQ(j["id"], "10000");
  EXPECT_EQ(j["self"], std::string{e.cloud() ? "http://127.0.0.1:8082" : "http://127.0.0.1:8080"} +
                           "/rest/api/2/issue/10000");
  EXPECT_EQ(e.create(), "DBA-1");
  EXPECT_EQ(e.create(), "DBA-2");
}

TEST_P(JiraRest, CreateRequiresProjectIssuetypeSummary) {
  auto r = e.call("POST", "/rest/api/2/issue", {{"fields", json::object()}});
  ASSERT_EQ(r.status, 400);
  auto j = body(r);
  EXPECT_TRUE(j["errors"].contains("project"));
  r = e.call("POST", "/rest/api/2/issue", {{"fields", {{"project", {{"key", "DBA"}}}}}});
  j = body(r);
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(j["errors"]["issuetype"], "issue type is required");
  EXPECT_EQ(j["errors"]["summary"], "You must specify a summary of the issue.");
  r = e.call("POST", "/rest/api/2/issue", {{"fields", {{"project", {{"key", "NOPE"}}}, {"summary", "x"}}}});
  EXPECT_EQ(body(r)["errors"]["project"], "valid project is required");
  r = e.call("POST", "/rest/api/2/issue",
             {{"fields", {{"project", {{"key", "DBA"}}}, {"issuetype", {{"id", "10004"}}}, {"summary", "x"}}}});
  EXPECT_EQ(body(r)["errors"]["issuetype"], "valid issue type is required");
}

TEST_P(JiraRest, CreateEnforcesProjectRequiredFields) {
  auto r = e.call("POST", "/rest/api/2/issue",
                  {{"fields", {{"project", {{"key", "CICD"}}}, {"issuetype", {{"id", "10002"}}}, {"summary", "x"}}}});
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errors"]["customfield_10100"], "Service is required.");
  EXPECT_EQ(body(r)["errorMessages"], json::array());
}

TEST_P(JiraRest, CreateFieldValidation) {
  auto bad = [&](json extra) {
    json fields = {{"project", {{"key", "DBA"}}}, {"issuetype", {{"id", "10002"}}}, {"summary", "ok"}};
    for (auto& [k, v] : extra.items())
      fields[k] = v;
    auto r = e.call("POST", "/rest/api/2/issue", {{"fields", fields}});
    EXPECT_EQ(r.status, 400) << extra.dump();
    return body(r)["errors"];
  };
  EXPECT_EQ(bad({{"customfield_99999", "x"}})["customfield_99999"],
            "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown.");
  EXPECT_EQ(bad({{"status", {{"name", "Done"}}}})["status"],
            "Field 'status' cannot be set. It is not on the appropriate screen, or unknown.");
  EXPECT_EQ(bad({{"summary", std::string(256, 'x')}})["summary"], "Summary must be less than 255 characters.");
  EXPECT_EQ(bad({{"summary", "two\nlines"}})["summary"],
            "The summary is invalid because it contains newline characters.");
  EXPECT_EQ(bad({{"labels", {"ok", "has space"}}})["labels"], "The label 'has space' contains spaces which is invalid.");
  EXPECT_EQ(bad({{"customfield_10100", {{"value", "oracle"}}}})["customfield_10100"], "Option value 'oracle' is not valid");
  EXPECT_EQ(bad({{"customfield_10100", "ci"}})["customfield_10100"],
            "Could not find valid 'id' or 'value' in the Parent Option object.");
  EXPECT_EQ(bad({{"description", {{"type", "doc"}, {"version", 1}, {"content", json::array()}}}})["description"],
            "Operation value must be a string");
  EXPECT_TRUE(bad({{"assignee", e.user_ref("nobody")}}).contains("assignee"));
  EXPECT_EQ(e.create(std::string(255, 'y')).empty(), false);
}

TEST_P(JiraRest, CreateSelectOptionByIdAndAssigneeAndProperties) {
  // Option ids come from the field list's allowedValues.
  auto meta = body(e.call("GET", "/rest/api/2/issue/createmeta/CICD/issuetypes/10002"));
  std::string postgres;
  for (auto& f : e.cloud() ? meta["fields"] : meta["values"])
    if (f["fieldId"] == "customfield_10100")
      postgres = f["allowedValues"][2]["id"];
  auto r = e.call("POST", "/rest/api/2/issue",
                  {{"fields", {{"project", {{"key", "CICD"}}}, {"issuetype", {{"id", "10002"}}}, {"summary", "x"},
                               {"customfield_10100", {{"id", postgres}}}, {"assignee", e.user_ref("bob")},
                               {"labels", {"dutydesk", "from-chat"}}}},
                   {"properties", {{{"key", "dutydesk"}, {"value", {{"threadId", "abc"}}}}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto key = body(r)["key"].get<std::string>();
  auto issue = body(e.call("GET", "/rest/api/2/issue/" + key));
  EXPECT_EQ(issue["fields"]["customfield_10100"]["value"], "postgres");
  EXPECT_EQ(issue["fields"]["customfield_10100"]["id"], postgres);
  EXPECT_EQ(issue["fields"]["assignee"]["displayName"], "Bob Smith");
  EXPECT_EQ(issue["fields"]["labels"], json::array({"dutydesk", "from-chat"}));
  auto p = e.call("GET", "/rest/api/2/issue/" + key + "/properties/dutydesk");
  ASSERT_EQ(p.status, 200);
  EXPECT_EQ(body(p)["value"]["threadId"], "abc");
}

TEST(JiraAdf, CloudV3WantsAdfAndV2WantsStrings) {
  env e{jira_flavor::cloud};
  json fields = {{"project", {{"key", "DBA"}}}, {"issuetype", {{"id", "10002"}}}, {"summary", "adf"},
                 {"description", "plain"}};
  auto r = e.call("POST", "/rest/api/3/issue", {{"fields", fields}});
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errors"]["description"],
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)");
  json doc = {{"type", "doc"}, {"version", 1},
              {"content", {{{"type", "paragraph"},
                            {"content", {{{"type", "text"}, {"text", "Reported by "}},
                                         {{"type", "text"}, {"text", "Alice"}, {"marks", {{{"type", "strong"}}}}}}}}}}};
  fields["description"] = doc;
  r = e.call("POST", "/rest/api/3/issue", {{"fields", fields}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto key = body(r)["key"].get<std::string>();
  EXPECT_EQ(body(e.call("GET", "/rest/api/3/issue/" + key))["fields"]["description"], doc);
  EXPECT_EQ(body(e.call("GET", "/rest/api/2/issue/" + key))["fields"]["description"], "Reported by *Alice*");
  // A string written through v2 reads back as ADF paragraphs on v3.
  auto k2 = e.create("v2 text", {{"description", "line one\nline two\n\nsecond paragraph"}});
  auto adf = body(e.call("GET", "/rest/api/3/issue/" + k2))["fields"]["description"];
  EXPECT_EQ(adf["type"], "doc");
  ASSERT_EQ(adf["content"].size(), 2u);
  EXPECT_EQ(adf["content"][0]["content"][1]["type"], "hardBreak");
  // Malformed ADF: an empty text node is invalid.
  fields["description"] = {{"type", "doc"}, {"version", 1},
                           {"content", {{{"type", "paragraph"}, {"content", {{{"type", "text"}, {"text", ""}}}}}}}};
  EXPECT_EQ(e.call("POST", "/rest/api/3/issue", {{"fields", fields}}).status, 400);
}

// --- get, edit --------------------------------------------------------------------------------------------------

TEST_P(JiraRest, GetIssueHasFieldsInFlavorFormat) {
  auto key = e.create("Printer on fire", {{"description", "It smokes"}, {"labels", {"hw"}}});
  auto r = e.call("GET", "/rest/api/2/issue/" + key);
  ASSERT_EQ(r.status, 200);
  auto j = body(r);
  auto& f = j["fields"];
  EXPECT_EQ(j["key"], key);
  EXPECT_EQ(f["summary"], "Printer on fire");
  EXPECT_EQ(f["description"], "It smokes");
  EXPECT_EQ(f["status"]["name"], "To Do");
  EXPECT_EQ(f["status"]["statusCategory"],
            json({{"self", f["status"]["statusCategory"]["self"]}, {"id", 2}, {"key", "new"},
                  {"colorName", "blue-gray"}, {"name", "To Do"}}));
  EXPECT_TRUE(std::regex_match(f["created"].get<std::string>(), jira_time_re));
  EXPECT_EQ(f["created"], "2024-11-26T14:06:40.000+0000");
  EXPECT_TRUE(f["assignee"].is_null());
  EXPECT_EQ(f["reporter"]["displayName"], "Alice Adams");
  if (e.cloud()) {
    EXPECT_EQ(f["reporter"]["accountId"], e.account("alice"));
    EXPECT_FALSE(f["reporter"].contains("name"));
  } else {
    EXPECT_EQ(f["reporter"]["name"], "alice");
    EXPECT_EQ(f["reporter"]["key"], "JIRAUSER10001");
  }
  EXPECT_TRUE(f.contains("customfield_10100"));
  EXPECT_TRUE(f["customfield_10100"].is_null());
  EXPECT_EQ(f["priority"]["name"], "Medium");
  // fields= filter and case-insensitive keys; 404 for unknown issues.
  auto only = body(e.call("GET", "/rest/api/2/issue/" + key + "?fields=summary,status"))["fields"];
  EXPECT_EQ(only.size(), 2u);
  EXPECT_EQ(e.call("GET", "/rest/api/2/issue/dba-1").status, 200);
  EXPECT_EQ(e.call("GET", "/rest/api/2/issue/10000").status, 200);
  EXPECT_EQ(e.call("GET", "/rest/api/2/issue/DBA-99").status, 404);
}

TEST_P(JiraRest, EditFieldsAndLabelsButNotStatus) {
  auto key = e.create("old", {{"labels", {"a", "b"}}});
  e.clock.advance_ms(60000);
  auto r = e.call("PUT", "/rest/api/2/issue/" + key,
                  {{"fields", {{"summary", "new"}}}, {"update", {{"labels", {{{"add", "c"}}, {{"remove", "a"}}}}}}});
  ASSERT_EQ(r.status, 204) << r.body;
  auto f = body(e.call("GET", "/rest/api/2/issue/" + key + "?expand=changelog"));
  EXPECT_EQ(f["fields"]["summary"], "new");
  EXPECT_EQ(f["fields"]["labels"], json::array({"b", "c"}));
  EXPECT_EQ(f["fields"]["updated"], "2024-11-26T14:07:40.000+0000");
  ASSERT_EQ(f["changelog"]["histories"].size(), 1u);
  EXPECT_EQ(f["changelog"]["histories"][0]["items"].size(), 2u);
  r = e.call("PUT", "/rest/api/2/issue/" + key, {{"fields", {{"status", {{"name", "Done"}}}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errors"]["status"], "Field 'status' cannot be set. It is not on the appropriate screen, or unknown.");
}

// --- comments ---------------------------------------------------------------------------------------------------

TEST_P(JiraRest, CommentCrudAndPaging) {
  auto key = e.create();
  auto base = "/rest/api/2/issue/" + key + "/comment";
  auto r = e.call("POST", base, {{"body", "first"}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto c1 = body(r);
  EXPECT_EQ(c1["body"], "first");
  EXPECT_EQ(c1["author"]["displayName"], "Alice Adams");
  EXPECT_EQ(c1["author"].contains("accountId"), e.cloud());
  EXPECT_EQ(c1["author"].contains("name"), !e.cloud());
  e.clock.advance_ms(1000);
  e.call("POST", base, {{"body", "second"}}, "bob");
  e.clock.advance_ms(1000);
  e.call("POST", base, {{"body", "third"}});
  auto list = body(e.call("GET", base + "?orderBy=-created&startAt=0&maxResults=2"));
  EXPECT_EQ(list["total"], 3);
  ASSERT_EQ(list["comments"].size(), 2u);
  EXPECT_EQ(list["comments"][0]["body"], "third");
  EXPECT_EQ(list["comments"][1]["body"], "second");
  list = body(e.call("GET", base + "?orderBy=created&startAt=2"));
  ASSERT_EQ(list["comments"].size(), 1u);
  EXPECT_EQ(list["comments"][0]["body"], "third");
  auto id = c1["id"].get<std::string>();
  r = e.call("PUT", base + "/" + id, {{"body", "first, edited"}}, "bob");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["updateAuthor"]["displayName"], "Bob Smith");
  EXPECT_EQ(body(e.call("GET", base + "/" + id))["body"], "first, edited");
  EXPECT_EQ(e.call("DELETE", base + "/" + id).status, 204);
  r = e.call("GET", base + "/" + id);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["errorMessages"][0], "Can not find a comment for the id: " + id + ".");
  EXPECT_EQ(body(e.call("GET", base))["total"], 2);
  EXPECT_EQ(e.call("POST", base, {{"body", ""}}).status, 400);
}

TEST(JiraAdf, CommentBodiesPerApiVersion) {
  env e{jira_flavor::cloud};
  auto key = e.create();
  auto r = e.call("POST", "/rest/api/3/issue/" + key + "/comment", {{"body", "plain"}});
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errors"]["comment"], "Comment body is not valid!");
  json doc = {{"type", "doc"}, {"version", 1},
              {"content", {{{"type", "paragraph"}, {"content", {{{"type", "text"}, {"text", "the printer smokes"}}}}}}}};
  r = e.call("POST", "/rest/api/3/issue/" + key + "/comment", {{"body", doc}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r)["body"], doc);
  auto id = body(r)["id"].get<std::string>();
  EXPECT_EQ(body(e.call("GET", "/rest/api/2/issue/" + key + "/comment/" + id))["body"], "the printer smokes");
  // ADF sent to v2 is rejected (the v2 body is a string).
  EXPECT_EQ(e.call("POST", "/rest/api/2/issue/" + key + "/comment", {{"body", doc}}).status, 400);
  env dc{jira_flavor::datacenter};
  auto dkey = dc.create();
  EXPECT_EQ(dc.call("POST", "/rest/api/2/issue/" + dkey + "/comment", {{"body", doc}}).status, 400);
}

// --- transitions ------------------------------------------------------------------------------------------------

TEST_P(JiraRest, TransitionsOnlyFromCurrentStatus) {
  auto key = e.create();
  auto base = "/rest/api/2/issue/" + key + "/transitions";
  auto ts = body(e.call("GET", base))["transitions"];
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0]["id"], "11");
  EXPECT_EQ(ts[0]["to"]["name"], "In Progress");
  EXPECT_EQ(ts[0]["to"]["statusCategory"]["key"], "indeterminate");
  EXPECT_FALSE(ts[0].contains("fields"));
  EXPECT_EQ(e.call("POST", base, {{"transition", {{"id", "11"}}}}).status, 204);
  ts = body(e.call("GET", base + "?expand=transitions.fields"))["transitions"];
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[1]["id"], "31");
  auto& res = ts[1]["fields"]["resolution"];
  EXPECT_EQ(res["required"], true);
  EXPECT_EQ(res["allowedValues"].size(), 2u);
  EXPECT_EQ(res["allowedValues"][1]["name"], "Won't Do");
  EXPECT_TRUE(ts[0]["fields"].empty());
  // Reopen is not available from In Progress.
  auto r = e.call("POST", base, {{"transition", {{"id", "41"}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errorMessages"][0], "Transition id '41' is not valid for this issue.");
  EXPECT_EQ(e.call("POST", base, json::object()).status, 400);
  // A numeric id works too (pycontribs sends an int).
  EXPECT_EQ(e.call("POST", base, {{"transition", {{"id", 21}}}}).status, 204);
  EXPECT_EQ(body(e.call("GET", "/rest/api/2/issue/" + key))["fields"]["status"]["name"], "Waiting for customer");
}

TEST_P(JiraRest, ResolutionRules) {
  auto key = e.create();
  auto base = "/rest/api/2/issue/" + key + "/transitions";
  ASSERT_EQ(e.call("POST", base, {{"transition", {{"id", "11"}}}}).status, 204);
  auto r = e.call("POST", base, {{"transition", {{"id", "31"}}}});
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errors"]["resolution"], "Resolution is required.");
  r = e.call("POST", base, {{"transition", {{"id", "21"}}}, {"fields", {{"resolution", {{"name", "Done"}}}}}});
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["errors"]["resolution"],
            "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown.");
  e.clock.advance_ms(5000);
  r = e.call("POST", base, {{"transition", {{"id", "31"}}}, {"fields", {{"resolution", {{"name", "Won't Do"}}}}}});
  ASSERT_EQ(r.status, 204) << r.body;
  auto f = body(e.call("GET", "/rest/api/2/issue/" + key))["fields"];
  EXPECT_EQ(f["status"]["name"], "Done");
  EXPECT_EQ(f["status"]["statusCategory"]["key"], "done");
  EXPECT_EQ(f["resolution"]["name"], "Won't Do");
  EXPECT_EQ(f["resolutiondate"], "2024-11-26T14:06:45.000+0000");
  // Reopen clears the resolution.
  ASSERT_EQ(e.call("POST", base, {{"transition", {{"id", "41"}}}}).status, 204);
  f = body(e.call("GET", "/rest/api/2/issue/" + key))["fields"];
  EXPECT_TRUE(f["resolution"].is_null());
  EXPECT_TRUE(f["resolutiondate"].is_null());
}

// --- assignee ---------------------------------------------------------------------------------------------------

TEST_P(JiraRest, AssigneeForms) {
  auto key = e.create();
  auto base = "/rest/api/2/issue/" + key + "/assignee";
  auto assignee = [&] { return body(e.call("GET", "/rest/api/2/issue/" + key))["fields"]["assignee"]; };
  EXPECT_EQ(e.call("PUT", base, e.user_ref("bob")).status, 204);
  EXPECT_EQ(assignee()["displayName"], "Bob Smith");
  auto automatic = e.cloud() ? json{{"accountId", "-1"}} : json{{"name", "-1"}};
  EXPECT_EQ(e.call("PUT", base, automatic).status, 204);
  EXPECT_EQ(assignee()["displayName"], "Carol Chen");  // DBA's lead
  auto unassign = e.cloud() ? json{{"accountId", nullptr}} : json{{"name", nullptr}};
  EXPECT_EQ(e.call("PUT", base, unassign).status, 204);
  EXPECT_TRUE(assignee().is_null());
  auto r = e.call("PUT", base, e.user_ref("nobody"));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(body(r)["errors"].contains("assignee"));
  // The other flavour's form is refused.
  auto other = e.cloud() ? json{{"name", "bob"}} : json{{"accountId", e.account("bob")}};
  EXPECT_EQ(e.call("PUT", base, other).status, 400);
}

// --- remote links, properties ------------------------------------------------------------------------------------

TEST_P(JiraRest, RemoteLinkUpsertByGlobalId) {
  auto key = e.create();
  auto base = "/rest/api/2/issue/" + key + "/remotelink";
  json link = {{"globalId", "dutydesk:thread:abc"},
               {"application", {{"type", "com.example.dutydesk"}, {"name", "DutyDesk"}}},
               {"object", {{"url", "https://chat.example.com/t/abc"}, {"title", "#support thread"}}}};
  auto r = e.call("POST", base, link);
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = body(r)["id"];
  EXPECT_TRUE(id.is_number());
  link["object"]["title"] = "renamed";
  r = e.call("POST", base, link);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["id"], id);
  auto list = body(e.call("GET", base));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["object"]["title"], "renamed");
  EXPECT_EQ(body(e.call("GET", base + "?globalId=dutydesk:thread:abc"))["globalId"], "dutydesk:thread:abc");
  r = e.call("POST", base, {{"object", {{"url", "https://x"}}}});
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r), json({{"errorMessages", json::array()}, {"errors", {{"title", "'title' is required."}}}}));
  EXPECT_EQ(e.call("DELETE", base + "?globalId=dutydesk:thread:abc").status, 204);
  EXPECT_TRUE(body(e.call("GET", base)).empty());
}

TEST_P(JiraRest, IssueAndCommentProperties) {
  auto key = e.create();
  auto p = "/rest/api/2/issue/" + key + "/properties/dutydesk";
  EXPECT_EQ(e.call("GET", p).status, 404);
  EXPECT_EQ(e.call("PUT", p, {{"origin", "chat"}}).status, 201);
  EXPECT_EQ(e.call("PUT", p, {{"origin", "chat"}, {"n", 2}}).status, 200);
  EXPECT_EQ(body(e.call("GET", p))["value"]["n"], 2);
  EXPECT_EQ(body(e.call("GET", "/rest/api/2/issue/" + key + "/properties"))["keys"][0]["key"], "dutydesk");
  auto c = body(e.call("POST", "/rest/api/2/issue/" + key + "/comment", {{"body", "hi"}}));
  auto cp = "/rest/api/2/comment/" + c["id"].get<std::string>() + "/properties/dutydesk";
  EXPECT_EQ(e.call("PUT", cp, {{"chatMessageId", "m-1"}}).status, 201);
  EXPECT_EQ(body(e.call("GET", cp))["value"]["chatMessageId"], "m-1");
  EXPECT_EQ(e.call("DELETE", cp).status, 204);
  EXPECT_EQ(e.call("GET", cp).status, 404);
  EXPECT_EQ(e.call("GET", "/rest/api/2/comment/99999/properties/x").status, 404);
}

// --- users ------------------------------------------------------------------------------------------------------

TEST(JiraUsers, DataCenterSearchesByUsername) {
  env e{jira_flavor::datacenter};
  auto r = e.call("GET", "/rest/api/2/user/search?username=ali");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(body(r).size(), 1u);
  EXPECT_EQ(body(r)[0]["name"], "alice");
  EXPECT_EQ(body(e.call("GET", "/rest/api/2/user/search?username=Smith"))[0]["name"], "bob");
  EXPECT_EQ(e.call("GET", "/rest/api/2/user/search?query=alice").status, 400);
  r = e.call("GET", "/rest/api/2/user/assignable/search?project=CICD&username=car");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)[0]["key"], "JIRAUSER10003");
  EXPECT_EQ(e.call("GET", "/rest/api/2/user?username=dave").status, 200);
  EXPECT_EQ(e.call("GET", "/rest/api/2/user?username=zed").status, 404);
}

TEST(JiraUsers, CloudSearchesByQueryAndRefusesUsername) {
  env e{jira_flavor::cloud};
  auto r = e.call("GET", "/rest/api/3/user/search?query=alice@example.com");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(body(r).size(), 1u);
  EXPECT_EQ(body(r)[0]["accountId"], e.account("alice"));
  EXPECT_EQ(body(e.call("GET", "/rest/api/3/user/search?query=Bob"))[0]["displayName"], "Bob Smith");
  EXPECT_TRUE(body(e.call("GET", "/rest/api/3/user/search?query=bob.zzz")).empty());
  EXPECT_EQ(e.call("GET", "/rest/api/3/user/search?username=alice").status, 400);
  r = e.call("GET", "/rest/api/3/user/assignable/search?issueKey=" + e.create() + "&query=dave");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)[0]["accountId"], e.account("dave"));
  EXPECT_EQ(e.call("GET", "/rest/api/3/user/assignable/search?query=dave").status, 400);
}

// --- search -----------------------------------------------------------------------------------------------------

class JiraSearch : public JiraRest {
protected:
  void SetUp() override {
    // Created DBA-1 at 14:06:40, DBA-2 at 14:10:40, DBA-3 at 14:20:40 (2024-11-26 UTC); DBA-2 is updated
    // again at 14:21:40; the clock then stands at 14:22:40.
    e.create("one", {{"labels", {"db"}}});
    e.clock.advance_ms(4 * 60000);
    e.create("two");
    e.clock.advance_ms(10 * 60000);
    e.create("three", {{"labels", {"db", "urgent"}}});
    e.clock.advance_ms(60000);
    EXPECT_EQ(e.call("POST", "/rest/api/2/issue/DBA-2/transitions", {{"transition", {{"id", "11"}}}}).status, 204);
    e.clock.advance_ms(60000);
  }
  std::vector<std::string> keys(const json& page) {
    std::vector<std::string> xs;
    for (auto& i : page["issues"])
      xs.push_back(i.contains("key") ? i["key"].get<std::string>() : "id:" + i["id"].get<std::string>());
    return xs;
  }
  json search(const std::string& jql, json extra = json::object()) {
    json b = {{"jql", jql}};
    for (auto& [k, v] : extra.items())
      b[k] = v;
    if (!e.cloud())
      return body(e.call("POST", "/rest/api/2/search", b));
    if (!b.contains("fields"))
      b["fields"] = {"summary"};
    return body(e.call("POST", "/rest/api/3/search/jql", b));
  }
  using V = std::vector<std::string>;
};

INSTANTIATE_TEST_SUITE_P(Flavors, JiraSearch, testing::Values(jira_flavor::datacenter, jira_flavor::cloud), flavor_name);

TEST_P(JiraSearch, JqlSubset) {
  EXPECT_EQ(keys(search("project = DBA ORDER BY updated ASC")), (V{"DBA-1", "DBA-3", "DBA-2"}));
  EXPECT_EQ(keys(search("project = DBA ORDER BY updated DESC")), (V{"DBA-2", "DBA-3", "DBA-1"}));
  EXPECT_EQ(keys(search("project = DBA AND updated >= \"2024-11-26 14:10\" ORDER BY updated ASC")),
            (V{"DBA-3", "DBA-2"}));
  EXPECT_EQ(keys(search("project = DBA AND updated >= \"2024/11/26 14:11\" ORDER BY key ASC")), (V{"DBA-2", "DBA-3"}));
  EXPECT_EQ(keys(search("project = DBA AND created < \"2024-11-26 14:10\"")), (V{"DBA-1"}));
  EXPECT_EQ(keys(search("labels = db ORDER BY key ASC")), (V{"DBA-1", "DBA-3"}));
  EXPECT_EQ(keys(search("key = DBA-2")), (V{"DBA-2"}));
  EXPECT_EQ(keys(search("issuekey in (DBA-1, DBA-3) ORDER BY key DESC")), (V{"DBA-3", "DBA-1"}));
  EXPECT_EQ(keys(search("status = \"In Progress\"")), (V{"DBA-2"}));
  EXPECT_EQ(keys(search("project = DBA AND status != \"In Progress\" ORDER BY key")), (V{"DBA-1", "DBA-3"}));
  EXPECT_EQ(keys(search("project = DBA AND statusCategory = \"To Do\" ORDER BY key")), (V{"DBA-1", "DBA-3"}));
  EXPECT_EQ(keys(search("project = DBA AND updated >= -1m ORDER BY key")), (V{"DBA-2"}));
  EXPECT_EQ(keys(search("project = DBA AND (labels = urgent OR status = \"In Progress\") ORDER BY key")),
            (V{"DBA-2", "DBA-3"}));
  EXPECT_EQ(keys(search("project = CICD")), V{});
}

TEST_P(JiraSearch, UnsupportedOrInvalidJqlIs400) {
  auto bad = [&](const std::string& jql) {
    auto r = e.cloud() ? e.call("POST", "/rest/api/3/search/jql", {{"jql", jql}})
                       : e.call("POST", "/rest/api/2/search", {{"jql", jql}});
    EXPECT_EQ(r.status, 400) << jql;
    auto j = body(r);
    EXPECT_EQ(j["errorMessages"].size(), 1u) << jql;
    return j["errorMessages"][0].get<std::string>();
  };
  EXPECT_EQ(bad("project = NOPE"), "The value 'NOPE' does not exist for the field 'project'.");
  EXPECT_EQ(bad("watchers = alice"), "Field 'watchers' does not exist or you do not have permission to view it.");
  EXPECT_NE(bad("project = DBA AND").find("Error in the JQL Query"), std::string::npos);
  EXPECT_NE(bad("updated >= \"26.11.2024\"").find("Date value '26.11.2024'"), std::string::npos);
  EXPECT_NE(bad("project = DBA ORDER BY watchers").find("Not able to sort"), std::string::npos);
  EXPECT_NE(bad("status = Nonsense").find("does not exist for the field 'status'"), std::string::npos);
  EXPECT_NE(bad("project in membersOf(x)").size(), 0u);
}

TEST(JiraSearchDc, StartAtTotalPagingAndGet) {
  env e{jira_flavor::datacenter};
  for (int k = 0; k < 5; ++k)
    e.create("issue " + std::to_string(k));
  auto j = body(e.call("POST", "/rest/api/2/search",
                       {{"jql", "project = DBA ORDER BY key ASC"}, {"startAt", 3}, {"maxResults", 2},
                        {"fields", {"summary", "status"}}}));
  EXPECT_EQ(j["total"], 5);
  EXPECT_EQ(j["startAt"], 3);
  ASSERT_EQ(j["issues"].size(), 2u);
  EXPECT_EQ(j["issues"][0]["key"], "DBA-4");
  EXPECT_EQ(j["issues"][0]["fields"].size(), 2u);
  auto r = e.call("GET", "/rest/api/2/search?jql=project%20%3D%20DBA%20ORDER%20BY%20key%20DESC&maxResults=1");
  ASSERT_EQ(r.status, 200);
  j = body(r);
  EXPECT_EQ(j["total"], 5);
  EXPECT_EQ(j["issues"][0]["key"], "DBA-5");
  EXPECT_FALSE(j["issues"][0]["fields"].contains("comment"));  // not navigable
  EXPECT_EQ(e.call("POST", "/rest/api/2/search/jql", {{"jql", "project = DBA"}}).status, 404);
}

TEST(JiraSearchCloud, OldSearchIsGoneWithChange2046) {
  env e{jira_flavor::cloud};
  for (auto* path : {"/rest/api/3/search", "/rest/api/2/search"}) {
    auto r = e.call("POST", path, {{"jql", "project = DBA"}});
    EXPECT_EQ(r.status, 410);
    EXPECT_NE(body(r)["errorMessages"][0].get<std::string>().find("CHANGE-2046"), std::string::npos);
    EXPECT_EQ(e.call("GET", std::string{path} + "?jql=project%3DDBA").status, 410);
  }
}

TEST(JiraSearchCloud, NextPageTokenPaging) {
  env e{jira_flavor::cloud};
  for (int k = 0; k < 5; ++k)
    e.create("issue " + std::to_string(k));
  json req = {{"jql", "project = DBA ORDER BY key ASC"}, {"maxResults", 2}, {"fields", {"summary"}}};
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto r = e.call("POST", "/rest/api/3/search/jql", req);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = body(r);
    EXPECT_FALSE(j.contains("total"));
    for (auto& i : j["issues"])
      seen.push_back(i["key"]);
    if (j["isLast"] == true) {
      EXPECT_FALSE(j.contains("nextPageToken"));
      break;
    }
    req["nextPageToken"] = j["nextPageToken"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"DBA-1", "DBA-2", "DBA-3", "DBA-4", "DBA-5"}));
  // Without `fields`, only ids come back; v2 has the endpoint too.
  auto j = body(e.call("POST", "/rest/api/2/search/jql", {{"jql", "project = DBA"}}));
  ASSERT_EQ(j["issues"].size(), 5u);
  EXPECT_EQ(j["issues"][0], json({{"id", "10004"}}));
  EXPECT_EQ(e.call("POST", "/rest/api/3/search/jql", {{"jql", "project = DBA"}, {"startAt", 0}}).status, 400);
  EXPECT_EQ(e.call("POST", "/rest/api/3/search/jql", {{"jql", "project = DBA"}, {"expand", {"changelog"}}}).status, 400);
  EXPECT_EQ(e.call("POST", "/rest/api/3/search/jql", {{"jql", "ORDER BY created"}}).status, 400);
  EXPECT_EQ(e.call("POST", "/rest/api/3/search/jql", {{"jql", "project = DBA"}, {"nextPageToken", "garbage!"}}).status,
            400);
  auto g = e.call("GET", "/rest/api/3/search/jql?jql=project%20%3D%20DBA&fields=summary,status&maxResults=1");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(body(g)["issues"][0]["fields"].size(), 2u);
}

// --- webhook registration ---------------------------------------------------------------------------------------

TEST_P(JiraRest, WebhookRegistrationResource) {
  auto list = body(e.call("GET", "/rest/webhooks/1.0/webhook"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "dutydesk");
  auto r = e.call("POST", "/rest/webhooks/1.0/webhook",
                  {{"name", "second"}, {"url", "http://127.0.0.1:9/hook"}, {"events", {"comment_created"}},
                   {"filters", {{"issue-related-events-section", "project = DBA"}}}, {"excludeBody", false}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto self = body(r)["self"].get<std::string>();
  auto id = self.substr(self.rfind('/') + 1);
  EXPECT_EQ(body(e.call("GET", "/rest/webhooks/1.0/webhook/" + id))["filters"]["issue-related-events-section"],
            "project = DBA");
  EXPECT_EQ(e.call("POST", "/rest/webhooks/1.0/webhook",
                   {{"name", "bad"}, {"url", "http://x/"}, {"events", {"comment_liked"}}}).status, 400);
  EXPECT_EQ(e.call("POST", "/rest/webhooks/1.0/webhook",
                   {{"name", "bad"}, {"url", "http://x/"}, {"events", {"comment_created"}},
                    {"filters", {{"issue-related-events-section", "project = NOPE"}}}}).status, 400);
  EXPECT_EQ(e.call("DELETE", "/rest/webhooks/1.0/webhook/" + id).status, 204);
  EXPECT_EQ(e.call("GET", "/rest/webhooks/1.0/webhook/" + id).status, 404);
  EXPECT_EQ(e.call("GET", "/rest/webhooks/1.0/webhook", nullptr, "").status, 401);
}

} // namespace

namespace {

// Malformed bodies get Jira-style 4xx answers; nothing escapes handle() as an exception.
TEST_P(JiraRest, MalformedBodiesAreClientErrors) {
  auto key = e.create();
  auto raw = [&](const std::string& method, const std::string& path, const std::string& b) {
    auto r = e.raw(method, path, b, e.auth("alice"));
    EXPECT_GE(r.status, 400) << method << " " << path << " " << b;
    EXPECT_LT(r.status, 500) << method << " " << path << " " << b << " -> " << r.body;
    return r;
  };
  raw("POST", "/rest/api/2/issue", "[1,2]");
  raw("POST", "/rest/api/2/issue", "{\"fields\":");
  raw("POST", "/rest/api/2/issue", R"({"fields":{"project":"DBA","issuetype":"Task","summary":"x"}})");
  raw("POST", "/rest/api/2/issue", R"({"fields":{"project":{"key":"DBA"},"issuetype":{"id":"10002"},"summary":7}})");
  raw("POST", "/rest/api/2/issue/" + key + "/transitions", R"({"transition":"11"})");
  raw("POST", "/rest/api/2/issue/" + key + "/transitions", R"({"transition":{"id":"11"},"fields":[]})");
  raw("PUT", "/rest/api/2/issue/" + key + "/assignee", R"({"name":5,"accountId":5})");
  raw("PUT", "/rest/api/2/issue/" + key, R"({"update":{"labels":[{"add":1}]}})");
  raw("PUT", "/rest/api/2/issue/" + key, R"({"update":{"labels":"x"}})");
  raw("POST", "/rest/api/2/issue/" + key + "/comment", R"(["body"])");
  raw("POST", "/rest/api/2/issue/" + key + "/remotelink", R"({"object":"x"})");
  raw("POST", "/rest/webhooks/1.0/webhook", R"({"name":1,"url":[],"events":"x"})");
  auto c = e.sim.handle_control(make_request("POST", "/issues", "[]", ""));
  EXPECT_EQ(c.status, 400);
  c = e.sim.handle_control(make_request("POST", "/issues", R"({"as":"alice","project":"DBA","summary":"x","assignee":3})", ""));
  EXPECT_EQ(c.status, 400);
  EXPECT_EQ(e.sim.handle_control(make_request("GET", "/nope", "", "")).status, 404);
}

} // namespace

namespace {

TEST_P(JiraRest, XsrfFilterAndJsonOnly) {
  auto req = make_request("POST", "/rest/api/2/issue", R"({"fields":{}})", e.auth("alice"));
  req.headers["content-type"] = "text/plain";
  auto r = e.sim.handle(req);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "XSRF check failed");
  req.headers["x-atlassian-token"] = "no-check";
  EXPECT_EQ(e.sim.handle(req).status, 415);
  req.headers["content-type"] = "application/xml";
  req.headers.erase("x-atlassian-token");
  EXPECT_EQ(e.sim.handle(req).status, 415);
  req.headers.erase("content-type");
  EXPECT_EQ(e.sim.handle(req).status, 415);
  req.headers["content-type"] = "application/json; charset=UTF-8";
  EXPECT_EQ(e.sim.handle(req).status, 400);  // reaches the resource: missing project etc.
  auto get = make_request("GET", "/rest/api/2/serverInfo", "", "");
  EXPECT_EQ(e.sim.handle(get).status, 200);
}

} // namespace

namespace {

TEST_P(JiraRest, ControlListsTheSeededStatusesInOrder) {
  auto r = e.sim.handle_control(make_request("GET", "/statuses", "", ""));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), json::parse(R"([{"id":"10000","name":"To Do","category":"new"},
    {"id":"3","name":"In Progress","category":"indeterminate"},
    {"id":"10001","name":"Waiting for customer","category":"indeterminate"},
    {"id":"10002","name":"Done","category":"done"}])"));
  EXPECT_EQ(e.sim.handle_control(make_request("POST", "/statuses", "{}", "")).status, 404);
}

} // namespace
