// io/jira_webhook against the real captures in tests/data/jira (both flavours), hand-made edge cases, and the
// deliveries the simulator sends to an io::http_server (Data Center and Cloud).

#include "io/jira_webhook.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/hmac.hpp"
#include "io/http_server.hpp"
#include "tests/io/sim_fixture.hpp"

namespace dutydesk::io::jira {
namespace {

std::string load(const std::string& name) {
  std::ifstream in(std::string(DUTYDESK_TEST_DATA) + "/jira/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

webhook parse_ok(std::string_view body) {
  auto r = parse_webhook(body);
  if (auto* e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << "parse failed: " << *e;
    return {};
  }
  return std::get<webhook>(r);
}

webhook parse_file(const std::string& name) {
  auto body = load(name);
  EXPECT_FALSE(body.empty()) << name;
  return parse_ok(body);
}

std::string parse_error(std::string_view body) {
  auto r = parse_webhook(body);
  if (auto* e = std::get_if<std::string>(&r))
    return *e;
  ADD_FAILURE() << "parsed: " << body.substr(0, 80);
  return {};
}

const self_identity nobody{};

// --- every capture ----------------------------------------------------------------------------------------------

TEST(JiraWebhookCaptures, EveryCaptureParses) {
  std::map<std::string, std::string> events;
  for (auto& entry : std::filesystem::directory_iterator(std::string(DUTYDESK_TEST_DATA) + "/jira")) {
    if (entry.path().extension() != ".json")
      continue;
    auto name = entry.path().filename().string();
    auto r = parse_webhook(load(name));
    ASSERT_TRUE(std::holds_alternative<webhook>(r)) << name << ": " << std::get<std::string>(r);
    events[name] = std::get<webhook>(r).event;
  }
  std::map<std::string, std::string> expected{
    {"cloud_comment_created.json", "comment_created"},    {"cloud_comment_deleted.json", "comment_deleted"},
    {"cloud_comment_updated.json", "comment_updated"},    {"cloud_issue_assigned.json", "jira:issue_updated"},
    {"cloud_issue_created.json", "jira:issue_created"},   {"cloud_issue_updated_status.json", "jira:issue_updated"},
    {"dc_comment_created.json", "comment_created"},       {"dc_comment_deleted.json", "comment_deleted"},
    {"dc_comment_updated.json", "comment_updated"},       {"dc_issue_commented.json", "jira:issue_updated"},
    {"dc_issue_resolved.json", "jira:issue_updated"},
  };
  EXPECT_EQ(events, expected);
}

TEST(JiraWebhookCaptures, DcCommentCreatedWithoutIssueTakesIssueIdFromSelf) {
  auto w = parse_file("dc_comment_created.json");
  EXPECT_EQ(w.timestamp, 1559607317234);
  EXPECT_FALSE(w.has_user);
  EXPECT_FALSE(w.issue.has_value());
  ASSERT_TRUE(w.comment.has_value());
  EXPECT_EQ(w.comment->id, "10082");
  EXPECT_EQ(w.comment->issue_id, "10013");
  EXPECT_EQ(w.comment->body, "unik");
  EXPECT_EQ(w.comment->author.name, "levbrouk");
  EXPECT_EQ(w.comment->author.key, "levbrouk");
  EXPECT_EQ(w.comment->author.email, "lev@mattermost.com");
  EXPECT_EQ(w.comment->created, "2019-06-04T00:15:17.234+0000");

  auto cs = interpret(w, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::comment_added);
  EXPECT_EQ(cs[0].issue_id, "10013");
  EXPECT_EQ(cs[0].issue_key, "");
  EXPECT_EQ(cs[0].comment_id, "10082");
  EXPECT_EQ(cs[0].dedupe_key, "comment:10082");
  EXPECT_EQ(cs[0].body, "unik");
  EXPECT_EQ(cs[0].author_display, "Lev Brouk");
  EXPECT_EQ(cs[0].author_id, "levbrouk");
  EXPECT_FALSE(cs[0].issue.has_value());
}

TEST(JiraWebhookCaptures, DcIssueCommented) {
  auto w = parse_file("dc_issue_commented.json");
  EXPECT_EQ(w.type_name, "issue_commented");
  ASSERT_TRUE(w.issue.has_value());
  EXPECT_EQ(w.issue->key, "PRJA-42");
  EXPECT_EQ(w.issue->project_key, "PRJA");
  EXPECT_EQ(w.issue->status_category, "new");
  EXPECT_TRUE(w.issue->has_assignee);
  EXPECT_EQ(w.issue->assignee.name, "dylan");
  EXPECT_TRUE(w.changelog.empty());

  auto cs = interpret(w, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::comment_added);
  EXPECT_EQ(cs[0].issue_id, "10231");
  EXPECT_EQ(cs[0].issue_key, "PRJA-42");
  EXPECT_EQ(cs[0].dedupe_key, "comment:10118");
  EXPECT_EQ(cs[0].author_id, "TestUser");
  EXPECT_EQ(cs[0].body, "This is a test comment. We should act on it right away. cc: [~SomeOtherUser]");
}

TEST(JiraWebhookCaptures, DcCommentCreatedAndIssueCommentedForOneCommentShareTheDedupeKey) {
  // The DC pair for one comment: comment_created carries the comment alone, issue_commented the issue with it.
  auto issue_event = nlohmann::json::parse(load("dc_issue_commented.json"));
  nlohmann::json comment_event{{"timestamp", issue_event["timestamp"]},
                               {"webhookEvent", "comment_created"},
                               {"comment", issue_event["comment"]}};
  auto a = interpret(parse_ok(comment_event.dump()), nobody);
  auto b = interpret(parse_ok(issue_event.dump()), nobody);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].dedupe_key, "comment:10118");
  EXPECT_EQ(a[0].dedupe_key, b[0].dedupe_key);
  EXPECT_EQ(a[0].issue_id, b[0].issue_id);
  EXPECT_EQ(a[0].kind, b[0].kind);
}

TEST(JiraWebhookCaptures, DcCommentUpdatedAndDeleted) {
  auto u = parse_file("dc_comment_updated.json");
  EXPECT_TRUE(u.has_user);
  auto cs = interpret(u, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::comment_edited);
  EXPECT_EQ(cs[0].issue_id, "10013");
  EXPECT_EQ(cs[0].dedupe_key, "comment:10084:edit:2019-06-04T00:53:33.665+0000");
  EXPECT_EQ(cs[0].body, "and higher eeven higher");

  auto d = interpret(parse_file("dc_comment_deleted.json"), nobody);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, change_kind::comment_deleted);
  EXPECT_EQ(d[0].comment_id, "10084");
  EXPECT_EQ(d[0].dedupe_key, "comment:10084:deleted");
  EXPECT_EQ(d[0].author_id, "levbrouk");
}

TEST(JiraWebhookCaptures, DcIssueResolvedIsAStatusChangeToDone) {
  auto w = parse_file("dc_issue_resolved.json");
  EXPECT_EQ(w.changelog_id, "10414");
  ASSERT_EQ(w.changelog.size(), 2u);
  EXPECT_EQ(w.changelog[1].field, "resolution");
  EXPECT_EQ(w.changelog[1].from, "");
  EXPECT_EQ(w.changelog[1].to_string, "Done");
  auto cs = interpret(w, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::status_changed);
  EXPECT_EQ(cs[0].status_name, "Resolved");
  EXPECT_EQ(cs[0].status_category, "done");
  EXPECT_EQ(cs[0].issue_key, "TES-4");
  EXPECT_EQ(cs[0].dedupe_key, "status:10300:10414");
}

TEST(JiraWebhookCaptures, CloudStatusChange) {
  auto cs = interpret(parse_file("cloud_issue_updated_status.json"), nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::status_changed);
  EXPECT_EQ(cs[0].status_name, "In Progress");
  EXPECT_EQ(cs[0].status_category, "indeterminate");
  EXPECT_EQ(cs[0].issue_key, "TEST-1");
  EXPECT_EQ(cs[0].dedupe_key, "status:10000:10000");
}

TEST(JiraWebhookCaptures, CloudAssigneeChange) {
  // The 2019 capture predates tmpToAccountId on updates: the id falls back to `to`.
  auto w = parse_file("cloud_issue_assigned.json");
  EXPECT_EQ(w.type_name, "issue_assigned");
  EXPECT_EQ(w.user.account_id, "5c5f880629be9642ba529340");
  EXPECT_EQ(w.issue->labels, std::vector<std::string>{"test-label"});
  auto cs = interpret(w, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::assignee_changed);
  EXPECT_EQ(cs[0].assignee_id, "admin");
  EXPECT_EQ(cs[0].assignee_display, "Test User");
  EXPECT_EQ(cs[0].dedupe_key, "assignee:10040:10230");

  auto j = nlohmann::json::parse(load("cloud_issue_assigned.json"));
  j["changelog"]["items"][0]["tmpFromAccountId"] = nullptr;
  j["changelog"]["items"][0]["tmpToAccountId"] = "5c5f880629be9642ba529340";
  cs = interpret(parse_ok(j.dump()), nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].assignee_id, "5c5f880629be9642ba529340");
  EXPECT_EQ(cs[0].assignee_display, "Test User");

  auto& item = j["changelog"]["items"][0];
  item["from"] = "admin";
  item["fromString"] = "Test User";
  item["to"] = nullptr;
  item["toString"] = nullptr;
  item["tmpFromAccountId"] = "5c5f880629be9642ba529340";
  item["tmpToAccountId"] = nullptr;
  cs = interpret(parse_ok(j.dump()), nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::assignee_changed);
  EXPECT_EQ(cs[0].assignee_id, "");
  EXPECT_EQ(cs[0].assignee_display, "");
}

TEST(JiraWebhookCaptures, CloudIssueCreated) {
  auto w = parse_file("cloud_issue_created.json");
  ASSERT_TRUE(w.issue.has_value());
  auto& i = *w.issue;
  EXPECT_EQ(i.id, "10509");
  EXPECT_EQ(i.key, "KT-22");
  EXPECT_EQ(i.project_key, "KT");
  EXPECT_EQ(i.summary, "Lots of fields selected");
  EXPECT_EQ(i.status_name, "To Do");
  EXPECT_EQ(i.status_category, "new");
  EXPECT_EQ(i.assignee.account_id, "5cedcb4355a88a0fc86388ba");
  EXPECT_EQ(i.reporter.display_name, "Michael Kochell");
  EXPECT_EQ(i.labels, (std::vector<std::string>{"Label1", "Label2"}));
  EXPECT_EQ(i.custom.at("customfield_10073"), "1"); // radio buttons: an option
  EXPECT_EQ(i.custom.at("customfield_10074"), "A");
  EXPECT_EQ(i.custom.at("customfield_10072"), "23"); // a number
  EXPECT_EQ(i.custom.count("customfield_10071"), 0u); // an array: left out
  ASSERT_FALSE(w.changelog.empty());
  EXPECT_EQ(w.changelog[0].field_id, "assignee");
  EXPECT_EQ(w.changelog[0].tmp_to_account_id, "5cedcb4355a88a0fc86388ba");

  // The initial-values changelog of a create is not a status or assignee change.
  auto cs = interpret(w, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::issue_created);
  EXPECT_EQ(cs[0].issue_key, "KT-22");
  EXPECT_EQ(cs[0].dedupe_key, "created:10509");
  ASSERT_TRUE(cs[0].issue.has_value());
  EXPECT_EQ(cs[0].issue->project_key, "KT");
  EXPECT_EQ(cs[0].issue->custom.at("customfield_10073"), "1");
}

TEST(JiraWebhookCaptures, CloudCommentEvents) {
  auto cs = interpret(parse_file("cloud_comment_created.json"), nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::comment_added);
  EXPECT_EQ(cs[0].issue_key, "ZUL-1");
  EXPECT_EQ(cs[0].issue_id, "10000");
  EXPECT_EQ(cs[0].author_id, "5a1b0e47748e770ed11f338c");
  EXPECT_EQ(cs[0].author_display, "Eeshan Garg");
  EXPECT_EQ(cs[0].body, "Leaving a comment here! :)");
  EXPECT_EQ(cs[0].dedupe_key, "comment:10000");
  ASSERT_TRUE(cs[0].issue.has_value());
  EXPECT_EQ(cs[0].issue->status_name, "Backlog");

  cs = interpret(parse_file("cloud_comment_updated.json"), nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::comment_edited);
  EXPECT_EQ(cs[0].issue_key, "TES-41");
  EXPECT_EQ(cs[0].dedupe_key, "comment:10019:edit:2019-02-15T19:12:08.432-0800");

  cs = interpret(parse_file("cloud_comment_deleted.json"), nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].kind, change_kind::comment_deleted);
  EXPECT_EQ(cs[0].dedupe_key, "comment:10019:deleted");
}

// --- echo suppression -------------------------------------------------------------------------------------------

TEST(JiraWebhookSelf, DcOwnEventsAreDroppedByNameOrKey) {
  EXPECT_TRUE(interpret(parse_file("dc_comment_created.json"), {"levbrouk", "", ""}).empty());
  EXPECT_TRUE(interpret(parse_file("dc_issue_commented.json"), {"", "testUser", ""}).empty());
  EXPECT_TRUE(interpret(parse_file("dc_issue_resolved.json"), {"admin", "admin", ""}).empty());
  EXPECT_TRUE(interpret(parse_file("dc_comment_updated.json"), {"levbrouk", "", ""}).empty());
  EXPECT_TRUE(interpret(parse_file("dc_comment_deleted.json"), {"", "levbrouk", ""}).empty());
  // Somebody else is not dropped.
  EXPECT_EQ(interpret(parse_file("dc_comment_created.json"), {"dutybot", "JIRAUSER10000", ""}).size(), 1u);
}

TEST(JiraWebhookSelf, CloudOwnEventsAreDroppedByAccountId) {
  EXPECT_TRUE(interpret(parse_file("cloud_comment_created.json"), {"", "", "5a1b0e47748e770ed11f338c"}).empty());
  EXPECT_TRUE(interpret(parse_file("cloud_comment_updated.json"), {"", "", "5c5f880629be9642ba529340"}).empty());
  EXPECT_TRUE(
    interpret(parse_file("cloud_issue_updated_status.json"), {"", "", "99:b8d8a054-2e12-4839-bd5f-5f2b7c5f5e3a"}).empty());
  EXPECT_TRUE(interpret(parse_file("cloud_issue_created.json"), {"", "", "5cedcb4355a88a0fc86388ba"}).empty());
  EXPECT_EQ(interpret(parse_file("cloud_issue_assigned.json"), {"", "", "someone-else"}).size(), 1u);
}

TEST(JiraWebhookSelf, EmptyValuesNeverMatch) {
  // A current Cloud actor has no name/key; an identity with empty name/key must not match it.
  auto body = R"({"webhookEvent":"comment_created","comment":{"id":"7","self":"https://x/rest/api/2/issue/5/comment/7",
    "body":"hi","author":{"accountId":"acc-1","displayName":"Ann","name":"","key":""}}})";
  auto cs = interpret(parse_ok(body), {"", "", "acc-bot"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].author_id, "acc-1");
  EXPECT_EQ(cs[0].issue_id, "5");
  EXPECT_EQ(interpret(parse_ok(body), {}).size(), 1u);
  // An edit is judged by its updateAuthor, not by the original author.
  auto edit = R"({"webhookEvent":"comment_updated","comment":{"id":"7","updated":"u1",
    "author":{"accountId":"acc-bot"},"updateAuthor":{"accountId":"acc-1"}}})";
  EXPECT_EQ(interpret(parse_ok(edit), {"", "", "acc-bot"}).size(), 1u);
  EXPECT_TRUE(interpret(parse_ok(edit), {"", "", "acc-1"}).empty());
}

// --- interpretation rules ---------------------------------------------------------------------------------------

TEST(JiraWebhookInterpret, StatusAndAssigneeInOneUpdateYieldBoth) {
  auto body = R"({"timestamp":1,"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_updated",
    "user":{"name":"alice","key":"JIRAUSER10001"},
    "issue":{"id":"42","key":"SUP-9","fields":{"status":{"name":"In Progress","statusCategory":{"key":"indeterminate"}}}},
    "changelog":{"id":"700","items":[
      {"field":"status","fieldtype":"jira","from":"1","fromString":"To Do","to":"3","toString":"In Progress"},
      {"field":"assignee","fieldtype":"jira","from":null,"fromString":null,"to":"bob","toString":"Bob Smith"}]}})";
  auto cs = interpret(parse_ok(body), {"dutybot", "JIRAUSER10000", ""});
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].kind, change_kind::status_changed);
  EXPECT_EQ(cs[0].status_name, "In Progress");
  EXPECT_EQ(cs[0].dedupe_key, "status:42:700");
  EXPECT_EQ(cs[1].kind, change_kind::assignee_changed);
  EXPECT_EQ(cs[1].assignee_id, "bob");
  EXPECT_EQ(cs[1].assignee_display, "Bob Smith");
  EXPECT_EQ(cs[1].dedupe_key, "assignee:42:700");
  EXPECT_EQ(cs[1].issue_key, "SUP-9");
}

TEST(JiraWebhookInterpret, StatusOnlyFromTheChangelog) {
  // A workflow type name without a status item is not a status change.
  auto body = R"({"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_resolved",
    "issue":{"id":"1","key":"A-1","fields":{"status":{"name":"Done","statusCategory":{"key":"done"}}}},
    "changelog":{"id":"2","items":[{"field":"labels","fieldtype":"jira","from":null,"to":null,"toString":"x"}]}})";
  EXPECT_TRUE(interpret(parse_ok(body), nobody).empty());
}

TEST(JiraWebhookInterpret, UnknownEventsYieldNothing) {
  for (auto event : {"jira:issue_deleted", "worklog_created", "issuelink_created", "something_new"}) {
    auto body = nlohmann::json{{"webhookEvent", event},
                               {"issue", {{"id", "1"}, {"key", "A-1"}, {"fields", nlohmann::json::object()}}},
                               {"comment", {{"id", "3"}, {"body", "x"}}}}
                  .dump();
    EXPECT_TRUE(interpret(parse_ok(body), nobody).empty()) << event;
  }
}

TEST(JiraWebhookInterpret, NullsAndUnknownFieldsAreTolerated) {
  auto w = parse_ok(R"({"webhookEvent":"jira:issue_updated","timestamp":null,"user":null,"brandNew":{"a":[1,2]},
    "issue":{"id":10001,"key":"A-2","fields":{"assignee":null,"status":null,"labels":null,"description":{"type":"doc"},
      "customfield_1":null,"customfield_2":{"value":"x","id":"5"},"customfield_3":"y"}},
    "changelog":{"id":77,"items":[{"field":"status","from":null,"to":"3","toString":"In Progress","extra":true}]}})");
  EXPECT_EQ(w.timestamp, 0);
  EXPECT_FALSE(w.has_user);
  ASSERT_TRUE(w.issue.has_value());
  EXPECT_EQ(w.issue->id, "10001");
  EXPECT_FALSE(w.issue->has_assignee);
  EXPECT_EQ(w.issue->description, "");
  EXPECT_EQ(w.issue->custom, (std::map<std::string, std::string>{{"customfield_2", "x"}, {"customfield_3", "y"}}));
  EXPECT_EQ(w.changelog_id, "77");
  auto cs = interpret(w, nobody);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].dedupe_key, "status:10001:77");
  EXPECT_EQ(cs[0].status_category, "");
}

// --- malformed input --------------------------------------------------------------------------------------------

TEST(JiraWebhookParse, MalformedInputIsAnError) {
  EXPECT_NE(parse_error(""), "");
  EXPECT_NE(parse_error("{"), "");
  EXPECT_NE(parse_error("not json"), "");
  EXPECT_EQ(parse_error("[]"), "webhook body is not a JSON object");
  EXPECT_EQ(parse_error("{}"), "webhookEvent is missing");
  auto full = load("dc_issue_commented.json");
  EXPECT_NE(parse_error(std::string_view(full).substr(0, full.size() / 2)), "");
  EXPECT_NE(parse_error(std::string_view(full).substr(0, full.size() - 2)), "");
}

TEST(JiraWebhookParse, DeepNestingIsAnError) {
  std::string deep = R"({"webhookEvent":"comment_created","x":)";
  deep += std::string(100000, '[');
  deep += std::string(100000, ']');
  deep += "}";
  EXPECT_NE(parse_error(deep), "");
}

TEST(JiraWebhookParse, WrongTypesAreAnError) {
  EXPECT_EQ(parse_error(R"({"webhookEvent":5})"), "webhookEvent is not a string");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"comment_created","comment":"x"})"), "comment is not an object");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"comment_created","comment":{"author":[]}})"),
            "comment.author is not an object");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"jira:issue_updated","timestamp":"x"})"), "timestamp is not an integer");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"jira:issue_updated","changelog":{"items":{}}})"),
            "changelog.items is not an array");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"jira:issue_updated","changelog":{"items":[1]}})"),
            "changelog.items[] is not an object");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"jira:issue_updated","issue":{"fields":{"labels":[1]}}})"),
            "issue.fields.labels[] is not a string");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"jira:issue_updated","issue":{"key":{"a":1}}})"),
            "issue.key is not a string");
  EXPECT_EQ(parse_error(R"({"webhookEvent":"jira:issue_updated","user":{"accountId":true}})"),
            "user.accountId is not a string");
}

// --- check_delivery ---------------------------------------------------------------------------------------------

constexpr const char* websub_secret = "It's a Secret to Everybody";
constexpr const char* websub_signature = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9";

http_server_request delivery(std::string body, std::optional<std::string> signature,
                             std::string content_type = "application/json") {
  http_server_request r;
  r.method = "POST";
  r.target = r.path = "/jira/webhook";
  r.body = std::move(body);
  if (!content_type.empty())
    r.headers.emplace_back("content-type", content_type);
  if (signature)
    r.headers.emplace_back("x-hub-signature", *signature);
  return r;
}

TEST(JiraWebhookDelivery, WebSubVectorPassesTheSignatureCheck) {
  EXPECT_EQ(hub_signature(websub_secret, "Hello World!"), websub_signature);
  // The signature is right, so what is left is that "Hello World!" is not JSON.
  auto v = check_delivery(delivery("Hello World!", websub_signature), websub_secret);
  EXPECT_EQ(v.status, 400u);
  EXPECT_EQ(v.reason.rfind("body is not valid JSON", 0), 0u) << v.reason;
  auto wrong = check_delivery(delivery("Hello World?", websub_signature), websub_secret);
  EXPECT_EQ(wrong.status, 401u);
}

TEST(JiraWebhookDelivery, SignedJsonIsAcceptedWithABodyHashId) {
  auto v = check_delivery(delivery("{}", hub_signature(websub_secret, "{}")), websub_secret);
  EXPECT_EQ(v.status, 200u);
  EXPECT_EQ(v.delivery_id, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_EQ(v.reason, "");
  // An identical repeat gets the same id, so it dedupes.
  EXPECT_EQ(check_delivery(delivery("{}", hub_signature(websub_secret, "{}")), websub_secret).delivery_id,
            v.delivery_id);
}

TEST(JiraWebhookDelivery, WebhookIdentifierIsTheDeliveryId) {
  auto r = delivery("{}", hub_signature(websub_secret, "{}"), "application/json;charset=UTF-8");
  r.headers.emplace_back("x-atlassian-webhook-identifier", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
  auto v = check_delivery(r, websub_secret);
  EXPECT_EQ(v.status, 200u);
  EXPECT_EQ(v.delivery_id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
}

TEST(JiraWebhookDelivery, BadSignaturesAre401) {
  std::string body = R"({"webhookEvent":"comment_created"})";
  auto good = hub_signature(websub_secret, body);
  auto upper = good;
  std::transform(upper.begin() + 7, upper.end(), upper.begin() + 7, [](unsigned char c) { return std::toupper(c); });
  ASSERT_NE(upper, good);
  struct bad_case {
    std::optional<std::string> header;
    std::string reason;
  };
  std::vector<bad_case> cases{
    {std::nullopt, "missing X-Hub-Signature"},
    {"", "missing X-Hub-Signature"},
    {hub_signature("another secret", body), "X-Hub-Signature does not match the body"},
    {upper, "X-Hub-Signature does not match the body"},
    {good.substr(0, good.size() - 1), "X-Hub-Signature does not match the body"},
    {good.substr(7), "X-Hub-Signature does not match the body"},
    {"sha1=" + good.substr(7), "X-Hub-Signature does not match the body"},
  };
  for (auto& c : cases) {
    auto v = check_delivery(delivery(body, c.header), websub_secret);
    EXPECT_EQ(v.status, 401u) << c.header.value_or("(none)");
    EXPECT_EQ(v.reason, c.reason);
    EXPECT_EQ(v.delivery_id, "");
    EXPECT_EQ(v.reason.find(websub_secret), std::string::npos);
  }
  EXPECT_EQ(check_delivery(delivery(body, good), websub_secret).status, 200u);
}

TEST(JiraWebhookDelivery, ContentTypeAndJson) {
  std::string body = R"({"webhookEvent":"comment_created"})";
  auto sig = hub_signature("s", body);
  EXPECT_EQ(check_delivery(delivery(body, sig, ""), "s").status, 415u);
  EXPECT_EQ(check_delivery(delivery(body, sig, "text/plain"), "s").status, 415u);
  EXPECT_EQ(check_delivery(delivery(body, sig, "application/jsonp"), "s").status, 415u);
  EXPECT_EQ(check_delivery(delivery(body, sig, "Application/JSON; charset=utf-8"), "s").status, 200u);
  EXPECT_EQ(check_delivery(delivery(body, sig, "application/vnd.atlassian+json"), "s").status, 200u);
  EXPECT_EQ(check_delivery(delivery("[1]", hub_signature("s", "[1]")), "s").reason, "body is not a JSON object");
  EXPECT_EQ(check_delivery(delivery("{", hub_signature("s", "{")), "s").status, 400u);
  // Without a secret (Jira DC <= 9 cannot sign) the signature is not required.
  EXPECT_EQ(check_delivery(delivery(body, std::nullopt), "").status, 200u);
}

// --- what the simulator sends -----------------------------------------------------------------------------------

struct flavour {
  std::string name;      // control path segment
  bool cloud;
};

class JiraWebhookSim : public test::sim_test {
protected:
  static constexpr const char* secret = "sim-webhook-secret-1";

  void SetUp() override {
    test::sim_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    server = std::make_unique<http_server>(ioc);
    server->on("POST", "/jira/webhook", [this](http_server_request req, http_server::respond answer) {
      auto v = check_delivery(req, secret);
      received.push_back(std::move(req));
      http_server_response res;
      res.status = v.status == 200 ? 204 : v.status;
      res.body = v.reason;
      answer(std::move(res));
    });
    ASSERT_EQ(server->listen(), "");
  }

  void TearDown() override {
    if (server)
      server->stop();
  }

  // Drives the story and returns the changes of every delivery, after asserting each passed check_delivery.
  void run_story(const flavour& f) {
    const std::string base = "/control/" + f.name;
    auto hook = control(io::http_method::post, base + "/webhooks",
                        {{"name", "test"},
                         {"url", "http://127.0.0.1:" + std::to_string(server->port()) + "/jira/webhook"},
                         {"events", {"jira:issue_created", "jira:issue_updated", "comment_created"}},
                         {"secret", secret}});
    ASSERT_EQ(hook["_status"], 201) << hook.dump();

    auto issue = control(io::http_method::post, base + "/issues",
                         {{"as", "alice"},
                          {"project", "CICD"},
                          {"summary", "Pipeline stuck"},
                          {"fields", {{"customfield_10100", {{"value", "postgres"}}}}}});
    ASSERT_EQ(issue["_status"], 201) << issue.dump();
    key = issue.value("key", "");
    issue_id = issue.value("id", "");
    ASSERT_FALSE(key.empty());
    auto c = control(io::http_method::post, base + "/issues/" + key + "/comments", {{"as", "alice"}, {"body", "hello"}});
    ASSERT_EQ(c["_status"], 201) << c.dump();
    comment_id = c.value("id", "");
    auto own = control(io::http_method::post, base + "/issues/" + key + "/comments",
                       {{"as", "dutybot"}, {"body", "posted by the bridge"}});
    ASSERT_EQ(own["_status"], 201) << own.dump();
    own_comment_id = own.value("id", "");
    auto t = control(io::http_method::post, base + "/issues/" + key + "/transitions", {{"as", "bob"}, {"to", "In Progress"}});
    ASSERT_EQ(t["_status"], 200) << t.dump();
    auto a = control(io::http_method::post, base + "/issues/" + key + "/assign", {{"as", "alice"}, {"assignee", "bob"}});
    ASSERT_EQ(a["_status"], 200) << a.dump();

    // created, 2 × comment pair, transition, assign
    constexpr std::size_t expected_deliveries = 7;
    ASSERT_TRUE(test::run_until(ioc, [&] { return received.size() >= expected_deliveries; }))
      << "deliveries received: " << received.size();
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(50)); // let a surplus delivery show up
    ASSERT_EQ(received.size(), expected_deliveries);

    std::set<std::string> identifiers;
    for (auto& req : received) {
      auto v = check_delivery(req, secret);
      EXPECT_EQ(v.status, 200u) << v.reason;
      auto identifier = req.header("x-atlassian-webhook-identifier");
      ASSERT_TRUE(identifier.has_value());
      EXPECT_EQ(identifier->size(), 36u);
      EXPECT_EQ(v.delivery_id, *identifier);
      identifiers.insert(*identifier);
      auto parsed = parse_webhook(req.body);
      ASSERT_TRUE(std::holds_alternative<webhook>(parsed)) << std::get<std::string>(parsed);
      events.push_back(std::get<webhook>(parsed).event);
      for (auto& ch : interpret(std::get<webhook>(parsed), bot))
        changes.push_back(std::move(ch));
    }
    EXPECT_EQ(identifiers.size(), expected_deliveries);
    EXPECT_EQ(server->stats().status_2xx, expected_deliveries);
  }

  // The changes with this dedupe key.
  std::vector<const change*> with_key(const std::string& k) const {
    std::vector<const change*> xs;
    for (auto& c : changes)
      if (c.dedupe_key == k)
        xs.push_back(&c);
    return xs;
  }

  void check_story(const flavour& f) {
    std::multiset<std::string> ev(events.begin(), events.end());
    EXPECT_EQ(ev.count("jira:issue_created"), 1u);
    EXPECT_EQ(ev.count("comment_created"), 2u);
    EXPECT_EQ(ev.count("jira:issue_updated"), 4u);

    // 1 created + 2 comment_added (one pair) + status + assignee; the bridge's own comment pair is dropped.
    EXPECT_EQ(changes.size(), 5u);
    auto created = with_key("created:" + issue_id);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0]->kind, change_kind::issue_created);
    EXPECT_EQ(created[0]->issue_key, key);
    ASSERT_TRUE(created[0]->issue.has_value());
    EXPECT_EQ(created[0]->issue->project_key, "CICD");
    EXPECT_EQ(created[0]->issue->summary, "Pipeline stuck");
    EXPECT_EQ(created[0]->issue->status_category, "new");
    EXPECT_EQ(created[0]->issue->custom.at("customfield_10100"), "postgres");
    if (f.cloud)
      EXPECT_EQ(created[0]->issue->reporter.account_id, "712020:0a1b2c3d-alic-4000-8000-000000000002");
    else
      EXPECT_EQ(created[0]->issue->reporter.name, "alice");

    auto comments = with_key("comment:" + comment_id);
    ASSERT_EQ(comments.size(), 2u); // comment_created + issue_commented: one thread post after dedupe
    for (auto* c : comments) {
      EXPECT_EQ(c->kind, change_kind::comment_added);
      EXPECT_EQ(c->body, "hello");
      EXPECT_EQ(c->issue_id, issue_id);
      EXPECT_EQ(c->author_display, "Alice Adams");
      EXPECT_EQ(c->author_id, f.cloud ? "712020:0a1b2c3d-alic-4000-8000-000000000002" : "alice");
    }
    EXPECT_TRUE(with_key("comment:" + own_comment_id).empty());

    std::vector<const change*> status, assignee;
    for (auto& c : changes) {
      if (c.kind == change_kind::status_changed)
        status.push_back(&c);
      if (c.kind == change_kind::assignee_changed)
        assignee.push_back(&c);
    }
    ASSERT_EQ(status.size(), 1u);
    EXPECT_EQ(status[0]->status_name, "In Progress");
    EXPECT_EQ(status[0]->status_category, "indeterminate");
    EXPECT_EQ(status[0]->issue_key, key);
    EXPECT_EQ(status[0]->dedupe_key.rfind("status:" + issue_id + ":", 0), 0u) << status[0]->dedupe_key;
    ASSERT_EQ(assignee.size(), 1u);
    EXPECT_EQ(assignee[0]->assignee_display, "Bob Smith");
    EXPECT_EQ(assignee[0]->assignee_id, f.cloud ? "712020:0a1b2c3d-bob0-4000-8000-000000000003" : "bob");
  }

  std::unique_ptr<http_server> server;
  std::vector<http_server_request> received;
  std::vector<std::string> events;
  std::vector<change> changes;
  std::string key, issue_id, comment_id, own_comment_id;
  const self_identity bot{"dutybot", "JIRAUSER10000", "712020:0a1b2c3d-bot0-4000-8000-000000000001"};
};

TEST_F(JiraWebhookSim, DataCenterDeliveriesParseAndInterpret) {
  flavour f{"jira-dc", false};
  run_story(f);
  if (HasFatalFailure())
    return;
  check_story(f);
}

TEST_F(JiraWebhookSim, CloudDeliveriesParseAndInterpret) {
  flavour f{"jira-cloud", true};
  run_story(f);
  if (HasFatalFailure())
    return;
  check_story(f);
}

} // namespace
} // namespace dutydesk::io::jira
