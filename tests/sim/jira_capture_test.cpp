// Capture replay: drive the simulator to produce the same event as a real captured Jira webhook
// (tests/data/jira/, provenance in its README) and compare the payloads field by field: the same keys at every
// level, the same value types, the same conventions. Values (ids, names, times) naturally differ.
//
// Differences that are expected are listed per flavour with the reason; everything else fails the test.
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "sim/jira.hpp"
#include "seed.hpp"

using namespace dutydesk::sim;
using dutydesk::sim::test::demo_seed;

namespace {

json load(const std::string& name) {
  std::ifstream in(std::string{DUTYDESK_TEST_DATA} + "/jira/" + name);
  EXPECT_TRUE(in.good()) << name;
  return json::parse(in);
}

// Allowed differences, keyed "<context>.<key>" where the context is the parent key ("fields", "status", "items[]",
// ...) or "user" for any user object. "<context>.*" allows every key under that context.
struct rules {
  std::map<std::string, std::string> missing_ok;  // in the capture, not produced by the simulator -> why
  std::map<std::string, std::string> extra_ok;    // produced by the simulator, not in this capture -> why
};

rules rules_for(jira_flavor f) {
  rules r;
  // Time tracking values appear only once work was logged; the simulator logs no work.
  r.missing_ok["timetracking.*"] = "no work logged";
  r.missing_ok["aggregateprogress.percent"] = "no work logged";
  r.missing_ok["progress.percent"] = "no work logged";
  if (f == jira_flavor::cloud) {
    r.missing_ok["user.name"] = "GDPR migration (2019): Cloud users are identified by accountId only";
    r.missing_ok["user.key"] = "GDPR migration (2019): Cloud users are identified by accountId only";
    r.missing_ok["fields.comment"] = "absent from Cloud issue payloads since 2019 (both 2019 captures)";
    r.missing_ok["fields.worklog"] = "absent from Cloud issue payloads since 2019 (both 2019 captures)";
    r.extra_ok["user.accountType"] = "present in the 2019-08 Cloud capture, absent from older ones";
    r.extra_ok["user.emailAddress"] = "Cloud hides e-mail depending on profile visibility; seed users show it";
    r.extra_ok["fields.statuscategorychangedate"] = "present in the 2019-08 Cloud capture, absent from 2017";
    r.extra_ok["fields.security"] = "present in the 2019 Cloud captures, absent from 2017";
    r.extra_ok["items[].fieldId"] = "present in the 2019 Cloud captures, absent from 2017";
    r.extra_ok["items[].tmpFromAccountId"] = "user fields: present in the 2019-08 Cloud capture";
    r.extra_ok["items[].tmpToAccountId"] = "user fields: present in the 2019-08 Cloud capture";
    r.extra_ok["issuetype.hierarchyLevel"] = "current Cloud issue types carry hierarchyLevel";
    r.extra_ok["project.simplified"] = "present in the 2019-08 Cloud capture, absent from older ones";
    r.extra_ok["project.projectTypeKey"] = "present in the 2019 Cloud captures, absent from 2017";
  }
  return r;
}

bool looks_like_user(const json& j) {
  return j.is_object() && j.contains("displayName") && j.contains("avatarUrls") && j.contains("self") &&
         j["self"].is_string() && j["self"].get<std::string>().find("/user?") != std::string::npos;
}

std::string kind(const json& j) {
  if (j.is_null())
    return "null";
  if (j.is_number())
    return "number";
  return j.type_name();
}

bool allowed(const std::map<std::string, std::string>& xs, const std::string& context, const std::string& key) {
  return xs.count(context + "." + key) || xs.count(context + ".*");
}

struct comparer {
  const rules& r;
  std::vector<std::string> problems;
  int matched_items = 0;

  void object(const json& real, const json& sim, const std::string& path, const std::string& context) {
    auto ctx = looks_like_user(real) || looks_like_user(sim) ? std::string{"user"} : context;
    for (auto& [k, v] : real.items()) {
      if (ctx == "fields" && k.rfind("customfield_", 0) == 0)
        continue;  // custom fields differ per instance; their value shapes are checked separately
      if (!sim.contains(k)) {
        if (!allowed(r.missing_ok, ctx, k))
          problems.push_back("missing " + path + "." + k);
        continue;
      }
      value(v, sim[k], path + "." + k, k);
    }
    for (auto& [k, v] : sim.items()) {
      if (ctx == "fields" && k.rfind("customfield_", 0) == 0)
        continue;
      if (!real.contains(k) && !allowed(r.extra_ok, ctx, k))
        problems.push_back("extra " + path + "." + k);
    }
  }

  void value(const json& real, const json& sim, const std::string& path, const std::string& key) {
    if (real.is_null() || sim.is_null())
      return;  // e.g. assignee null in one, an object in the other: values differ, not structure
    if (kind(real) != kind(sim)) {
      problems.push_back("type " + path + ": capture " + kind(real) + ", simulator " + kind(sim));
      return;
    }
    if (real.is_object()) {
      object(real, sim, path, key);
    } else if (real.is_array() && !real.empty() && !sim.empty()) {
      if (key == "items") {
        changelog_items(real, sim, path);
      } else {
        value(real[0], sim[0], path + "[0]", key + "[]");
      }
    }
  }

  // Changelog items are matched by field (case-insensitively); a custom-field item matches any custom item.
  void changelog_items(const json& real, const json& sim, const std::string& path) {
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      return s;
    };
    for (auto& item : real) {
      const json* match = nullptr;
      for (auto& s : sim) {
        bool custom = item.value("fieldtype", "") == "custom" && s.value("fieldtype", "") == "custom";
        if (custom || lower(s.value("field", "")) == lower(item.value("field", "")))
          match = &s;
      }
      if (!match)
        continue;  // e.g. "Fix Version": the simulator has no versions
      ++matched_items;
      object(item, *match, path + "[" + item.value("field", "") + "]", "items[]");
    }
  }
};

// Conventions every payload follows: v2 self links, Jira time format, statusCategory objects, string bodies.
void check_conventions(const json& j, const std::string& path, std::vector<std::string>& problems) {
  static const std::regex jira_time{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4})"};
  static const std::set<std::string> times = {"created", "updated", "resolutiondate", "lastViewed",
                                              "statuscategorychangedate"};
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      auto p = path + "." + k;
      if (k == "self" && v.is_string() && v.get<std::string>().find("/rest/api/2/") == std::string::npos)
        problems.push_back("self is not a v2 URL: " + p + " = " + v.get<std::string>());
      if (times.count(k) && v.is_string() && !std::regex_match(v.get<std::string>(), jira_time))
        problems.push_back("not Jira time format: " + p + " = " + v.get<std::string>());
      if (k == "statusCategory" &&
          !(v.is_object() && v["id"].is_number_integer() && v["key"].is_string() && v["colorName"].is_string() &&
            v["name"].is_string()))
        problems.push_back("bad statusCategory at " + p);
      if ((k == "body" || k == "description") && !v.is_null() && !v.is_string())
        problems.push_back("rich text is not a string at " + p);
      check_conventions(v, p, problems);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i)
      check_conventions(j[i], path + "[" + std::to_string(i) + "]", problems);
  }
}

struct env {
  manual_clock clock{1732630000000};
  id_source ids{3};
  jira_sim sim;
  std::vector<outbound_call> sent;

  explicit env(jira_flavor f) : sim(f, clock, ids) {
    sim.load_seed(demo_seed("jira"));
    sim.set_outbound([this](outbound_call c) { sent.push_back(std::move(c)); });
  }
  json control(const std::string& method, const std::string& path, const json& body) {
    http_request r;
    r.method = method;
    r.path = r.target = path;
    r.body = body.dump();
    auto res = sim.handle_control(r);
    EXPECT_LT(res.status, 300) << path << " " << res.body;
    return json::parse(res.body);
  }
  /// An issue with an assignee, a description and a custom select value, so object-valued fields are present.
  std::string issue() {
    clock.advance_ms(1000);
    return control("POST", "/issues",
                   {{"as", "alice"}, {"project", "CICD"}, {"summary", "Pipeline stuck"}, {"description", "It hangs"},
                    {"assignee", "bob"}, {"labels", {"ci"}},
                    {"fields", {{"customfield_10100", {{"value", "pipeline"}}}}}})["key"];
  }
  /// The last delivered payload with this webhookEvent (and issue_event_type_name, if given).
  json last(const std::string& event, const std::string& type = "") {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      auto j = json::parse(it->body);
      if (j["webhookEvent"] == event && (type.empty() || j.value("issue_event_type_name", "") == type))
        return j;
    }
    ADD_FAILURE() << "no " << event << " " << type << " delivered";
    return json::object();
  }
};

void expect_same_structure(jira_flavor f, const std::string& fixture, const json& sim_payload,
                           int min_matched_items = 0) {
  auto real = load(fixture);
  auto r = rules_for(f);
  comparer c{r, {}, 0};
  c.object(real, sim_payload, "$", "envelope");
  std::vector<std::string> conv_real, conv_sim;
  check_conventions(real, "$", conv_real);
  check_conventions(sim_payload, "$", conv_sim);
  EXPECT_TRUE(conv_real.empty()) << fixture << " (capture) breaks a convention: " << conv_real[0];
  for (auto& p : conv_sim)
    ADD_FAILURE() << fixture << " (simulator): " << p;
  for (auto& p : c.problems)
    ADD_FAILURE() << fixture << ": " << p;
  EXPECT_GE(c.matched_items, min_matched_items) << fixture << ": changelog items not matched";
  EXPECT_EQ(kind(real["timestamp"]), kind(sim_payload["timestamp"]));
}

// --- Data Center ------------------------------------------------------------------------------------------------

TEST(JiraCapture, DcCommentCreated) {
  env e{jira_flavor::datacenter};
  auto key = e.issue();
  e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "unik"}});
  expect_same_structure(jira_flavor::datacenter, "dc_comment_created.json", e.last("comment_created"));
}

TEST(JiraCapture, DcCommentUpdatedAndDeleted) {
  env e{jira_flavor::datacenter};
  auto key = e.issue();
  auto c = e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "and higher"}});
  auto path = "/issues/" + key + "/comments/" + c["id"].get<std::string>();
  e.control("PUT", path, {{"as", "bob"}, {"body", "and higher eeven higher"}});
  expect_same_structure(jira_flavor::datacenter, "dc_comment_updated.json", e.last("comment_updated"));
  e.control("DELETE", path, {{"as", "bob"}});
  expect_same_structure(jira_flavor::datacenter, "dc_comment_deleted.json", e.last("comment_deleted"));
}

TEST(JiraCapture, DcIssueCommented) {
  env e{jira_flavor::datacenter};
  auto key = e.issue();
  e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "first"}});
  e.control("POST", "/issues/" + key + "/comments", {{"as", "alice"}, {"body", "second"}});
  expect_same_structure(jira_flavor::datacenter, "dc_issue_commented.json",
                        e.last("jira:issue_updated", "issue_commented"));
}

TEST(JiraCapture, DcResolveTransition) {
  env e{jira_flavor::datacenter};
  auto key = e.issue();
  e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "In Progress"}});
  e.control("POST", "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "Done"}, {"resolution", "Done"}});
  expect_same_structure(jira_flavor::datacenter, "dc_issue_resolved.json",
                        e.last("jira:issue_updated", "issue_resolved"), 2);
}

// --- Cloud ------------------------------------------------------------------------------------------------------

TEST(JiraCapture, CloudStatusChange) {
  env e{jira_flavor::cloud};
  auto key = e.issue();
  e.control("POST", "/issues/" + key + "/transitions", {{"as", "alice"}, {"to", "In Progress"}});
  expect_same_structure(jira_flavor::cloud, "cloud_issue_updated_status.json", e.last("jira:issue_updated"), 1);
}

TEST(JiraCapture, CloudCommentCreatedUpdatedDeleted) {
  env e{jira_flavor::cloud};
  auto key = e.issue();
  auto c = e.control("POST", "/issues/" + key + "/comments", {{"as", "bob"}, {"body", "Leaving a comment here! :)"}});
  expect_same_structure(jira_flavor::cloud, "cloud_comment_created.json", e.last("comment_created"));
  auto path = "/issues/" + key + "/comments/" + c["id"].get<std::string>();
  e.control("PUT", path, {{"as", "bob"}, {"body", "Added a comment, then edited it"}});
  expect_same_structure(jira_flavor::cloud, "cloud_comment_updated.json", e.last("comment_updated"));
  e.control("DELETE", path, {{"as", "bob"}});
  expect_same_structure(jira_flavor::cloud, "cloud_comment_deleted.json", e.last("comment_deleted"));
}

TEST(JiraCapture, CloudAssigneeChange) {
  env e{jira_flavor::cloud};
  auto key = e.issue();
  e.control("POST", "/issues/" + key + "/assign", {{"as", "alice"}, {"assignee", "carol"}});
  expect_same_structure(jira_flavor::cloud, "cloud_issue_assigned.json",
                        e.last("jira:issue_updated", "issue_assigned"), 1);
}

TEST(JiraCapture, CloudIssueCreatedWithInitialChangelog) {
  env e{jira_flavor::cloud};
  e.issue();
  auto sim = e.last("jira:issue_created");
  // assignee, a custom select, description, priority, reporter, Status, summary.
  expect_same_structure(jira_flavor::cloud, "cloud_issue_created.json", sim, 7);
  // A select custom field has the captured option shape {self, value, id}.
  auto real_option = load("cloud_issue_created.json")["issue"]["fields"]["customfield_10073"];
  auto sim_option = sim["issue"]["fields"]["customfield_10100"];
  std::set<std::string> rk, sk;
  for (auto& [k, v] : real_option.items())
    rk.insert(k);
  for (auto& [k, v] : sim_option.items())
    sk.insert(k);
  EXPECT_EQ(rk, sk);
  EXPECT_NE(sim_option["self"].get<std::string>().find("/rest/api/2/customFieldOption/"), std::string::npos);
}

// The comparison itself must be able to fail: a payload with a renamed key, a wrong type and a v3 self link.
TEST(JiraCapture, ComparerDetectsStructuralDrift) {
  auto real = load("dc_comment_created.json");
  auto broken = real;
  broken["comment"]["authorName"] = broken["comment"]["author"];
  broken["comment"].erase("author");
  broken["comment"]["id"] = 10082;
  broken["comment"]["self"] = "http://x/rest/api/3/issue/1/comment/2";
  auto r = rules_for(jira_flavor::datacenter);
  comparer c{r, {}, 0};
  c.object(real, broken, "$", "envelope");
  std::vector<std::string> conv;
  check_conventions(broken, "$", conv);
  EXPECT_EQ(c.problems.size(), 3u);  // missing author, extra authorName, id type
  EXPECT_EQ(conv.size(), 1u);
}

} // namespace
