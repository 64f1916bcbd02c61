// Exact request bodies of io/jira_payloads for both flavours (reference jira.md §2–§6).

#include "io/jira_payloads.hpp"

#include <gtest/gtest.h>

namespace {

using namespace dutydesk::io::jira;
using nlohmann::json;

issue_draft draft() {
  issue_draft d;
  d.request_id = "r42";
  d.project_key = "CICD";
  d.issue_type = "Task";
  d.summary = "Pipeline stuck";
  d.text = "Pipeline stuck\nsee https://ci.example.com/job/7";
  d.requester = "alice";
  d.requester_name = "Alice Adams";
  d.room = "cicd-support";
  d.permalink = "https://chat.example.com/channel/cicd-support?msg=m1";
  return d;
}

const json properties = json::parse(R"([{"key":"dutydesk","value":{"requestId":"r42","origin":"chat"}}])");

TEST(JiraPayloads, ApiVersionAndBase) {
  EXPECT_EQ(api_version(flavor::datacenter), 2);
  EXPECT_EQ(api_version(flavor::cloud), 3);
  EXPECT_EQ(api_base(flavor::datacenter, "http://jira.example.com/"), "http://jira.example.com/rest/api/2");
  EXPECT_EQ(api_base(flavor::cloud, "https://x.atlassian.net"), "https://x.atlassian.net/rest/api/3");
}

TEST(JiraPayloads, CreateDataCenterWithServiceField) {
  auto d = draft();
  d.service_field = "customfield_10100";
  d.service_value = "pipeline";
  auto expected = json{
      {"fields",
       {{"project", {{"key", "CICD"}}},
        {"issuetype", {{"name", "Task"}}},
        {"summary", "Pipeline stuck"},
        {"description", "Pipeline stuck\nsee [https://ci.example.com/job/7]\n\nReported by Alice Adams (@alice) in "
                        "\\#cicd\\-support\n[https://chat.example.com/channel/cicd-support?msg=m1]"},
        {"labels", {"dutydesk", "dutydesk-r42"}},
        {"customfield_10100", {{"value", "pipeline"}}}}},
      {"properties", properties}};
  EXPECT_EQ(create_issue_body(flavor::datacenter, d), expected) << create_issue_body(flavor::datacenter, d).dump();
}

TEST(JiraPayloads, CreateCloudWithoutServiceField) {
  auto d = draft();
  d.service_field = "customfield_10100"; // a field without a value is not sent
  d.extra_fields["priority"] = {{"name", "High"}};
  auto link = [](const char* url) {
    return json{{"type", "text"}, {"text", url}, {"marks", {{{"type", "link"}, {"attrs", {{"href", url}}}}}}};
  };
  auto expected = json{
      {"fields",
       {{"project", {{"key", "CICD"}}},
        {"issuetype", {{"name", "Task"}}},
        {"summary", "Pipeline stuck"},
        {"description",
         {{"type", "doc"},
          {"version", 1},
          {"content",
           {{{"type", "paragraph"},
             {"content",
              {{{"type", "text"}, {"text", "Pipeline stuck"}},
               {{"type", "hardBreak"}},
               {{"type", "text"}, {"text", "see "}},
               link("https://ci.example.com/job/7")}}},
            {{"type", "paragraph"},
             {"content",
              {{{"type", "text"}, {"text", "Reported by Alice Adams (@alice) in #cicd-support"}},
               {{"type", "hardBreak"}},
               link("https://chat.example.com/channel/cicd-support?msg=m1")}}}}}}},
        {"labels", {"dutydesk", "dutydesk-r42"}},
        {"priority", {{"name", "High"}}}}},
      {"properties", properties}};
  EXPECT_EQ(create_issue_body(flavor::cloud, d), expected) << create_issue_body(flavor::cloud, d).dump();
}

TEST(JiraPayloads, CreateWithoutNameRoomOrPermalink) {
  issue_draft d;
  d.request_id = "r 1";
  d.requester = "bob";
  auto body = create_issue_body(flavor::datacenter, d);
  EXPECT_EQ(body["fields"]["description"], "Reported by @bob");
  EXPECT_EQ(body["fields"]["labels"], json({"dutydesk", "dutydesk-r-1"}));
}

TEST(JiraPayloads, AdfParagraphsBreaksAndLinks) {
  auto doc = rich_text(flavor::cloud, "first line\r\nsecond (https://a.example/x?y=1).\n\n  \n\nthird\n");
  auto expected = json::parse(R"({"type":"doc","version":1,"content":[
    {"type":"paragraph","content":[{"type":"text","text":"first line"},{"type":"hardBreak"},
      {"type":"text","text":"second ("},
      {"type":"text","text":"https://a.example/x?y=1","marks":[{"type":"link","attrs":{"href":"https://a.example/x?y=1"}}]},
      {"type":"text","text":")."}]},
    {"type":"paragraph","content":[{"type":"text","text":"third"}]}]})");
  EXPECT_EQ(doc, expected) << doc.dump();
  EXPECT_EQ(rich_text(flavor::cloud, ""), json::parse(R"({"type":"doc","version":1,"content":[]})"));
  // A URL that is the whole line leaves no empty text node around it; a bare scheme is text.
  EXPECT_EQ(rich_text(flavor::cloud, "http://x.y\nhttps:// no")["content"][0]["content"],
            json::parse(R"([{"type":"text","text":"http://x.y","marks":[{"type":"link","attrs":{"href":"http://x.y"}}]},
                           {"type":"hardBreak"},{"type":"text","text":"https:// no"}])"));
}

TEST(JiraPayloads, WikiEscaping) {
  EXPECT_EQ(rich_text(flavor::datacenter, "*bold* _it_ {code} [link|x] -del- +ins+ ^sup^ ~sub~ ??cite?? !img.png!"),
            "\\*bold\\* \\_it\\_ \\{code\\} \\[link\\|x\\] \\-del\\- \\+ins\\+ \\^sup\\^ \\~sub\\~ \\?\\?cite\\?\\? "
            "\\!img.png\\!");
  EXPECT_EQ(rich_text(flavor::datacenter, "# one\n* two\n- three\n----\nh1. Title\n  bq. quote\nh7. no"),
            "\\# one\n\\* two\n\\- three\n\\-\\-\\-\\-\nh1\\. Title\n  bq\\. quote\nh7. no");
  EXPECT_EQ(rich_text(flavor::datacenter, "C:\\build\\out || a"), "C:&#92;build&#92;out \\|\\| a");
  EXPECT_EQ(rich_text(flavor::datacenter, "see https://x.example/a_b-c|d[1], ok\n\npara"),
            "see [https://x.example/a_b-c%7Cd%5B1%5D], ok\n\npara");
}

TEST(JiraPayloads, SummaryTrimming) {
  EXPECT_EQ(summary_from("\n  \t\n   Build is red  \nmore"), "Build is red");
  EXPECT_EQ(summary_from(""), "(no text)");
  EXPECT_EQ(summary_from(" \n\r\n "), "(no text)");
  EXPECT_EQ(summary_from(std::string(255, 'a')), std::string(255, 'a'));
  EXPECT_EQ(summary_from(std::string(300, 'a')), std::string(252, 'a') + "…");
  // 251 ASCII bytes, then "é" (2 bytes) would end at byte 253 > 252: cut before it.
  auto s = std::string(251, 'a') + "\xC3\xA9" + std::string(10, 'b');
  auto cut = summary_from(s);
  EXPECT_EQ(cut, std::string(251, 'a') + "…");
  EXPECT_LE(cut.size(), 255u);
  // A 3-byte character straddling the limit.
  auto t = std::string(250, 'a') + "\xE2\x82\xAC" + std::string(10, 'b'); // "€" at bytes 250..252
  EXPECT_EQ(summary_from(t), std::string(250, 'a') + "…");
  auto u = std::string(249, 'a') + "\xE2\x82\xAC" + std::string(10, 'b'); // "€" at bytes 249..251: kept
  EXPECT_EQ(summary_from(u), std::string(249, 'a') + "\xE2\x82\xAC" + "…");
}

TEST(JiraPayloads, LabelsAndJql) {
  EXPECT_EQ(request_label("abc123"), "dutydesk-abc123");
  EXPECT_EQ(jql_for_request("CICD", "abc123"), "project = \"CICD\" AND labels = \"dutydesk-abc123\"");
  EXPECT_EQ(jql_updated_since("CICD", "2026-11-26 14:00"),
            "project = \"CICD\" AND updated >= \"2026-11-26 14:00\" ORDER BY updated ASC");
  EXPECT_EQ(jql_for_request("A\"B", "x"), "project = \"A\\\"B\" AND labels = \"dutydesk-x\"");
}

TEST(JiraPayloads, Comments) {
  EXPECT_EQ(comment_body(flavor::datacenter, "a *b*", "m-1"),
            json::parse(R"({"body":"a \\*b\\*",
                            "properties":[{"key":"dutydesk","value":{"chatMessageId":"m-1","origin":"chat"}}]})"));
  EXPECT_EQ(comment_body(flavor::cloud, "hi", "m-2"),
            json::parse(R"({"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[
                              {"type":"text","text":"hi"}]}]},
                            "properties":[{"key":"dutydesk","value":{"chatMessageId":"m-2","origin":"chat"}}]})"));
  EXPECT_EQ(comment_edit_body(flavor::datacenter, "x"), json::parse(R"({"body":"x"})"));
  EXPECT_EQ(comment_edit_body(flavor::cloud, "x"),
            json::parse(R"({"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[
                              {"type":"text","text":"x"}]}]}})"));
  EXPECT_EQ(attributed_comment("Bob Smith", "bob", "it works"), "Bob Smith (@bob) in Rocket.Chat: it works");
  EXPECT_EQ(attributed_comment("", "bob", "it works"), "@bob in Rocket.Chat: it works");
}

TEST(JiraPayloads, Transitions) {
  EXPECT_EQ(transition_body("11", std::nullopt), json::parse(R"({"transition":{"id":"11"}})"));
  EXPECT_EQ(transition_body("31", "Done"),
            json::parse(R"({"transition":{"id":"31"},"fields":{"resolution":{"name":"Done"}}})"));
}

TEST(JiraPayloads, UserRefs) {
  jira_user bob{"bob", "JIRAUSER10002", "712020:bob", "Bob Smith", "bob@example.com", true};
  EXPECT_EQ(user_ref(flavor::datacenter, bob), json::parse(R"({"name":"bob"})"));
  EXPECT_EQ(user_ref(flavor::cloud, bob), json::parse(R"({"accountId":"712020:bob"})"));
}

TEST(JiraPayloads, RemoteLink) {
  EXPECT_EQ(remote_link_body("r42", "https://chat.example.com/x", "#cicd-support thread", "Pipeline stuck", false),
            json::parse(R"({"globalId":"dutydesk:request:r42",
                            "application":{"type":"org.dutydesk","name":"dutydesk"},
                            "relationship":"chat thread",
                            "object":{"url":"https://chat.example.com/x","title":"#cicd-support thread",
                                      "summary":"Pipeline stuck","status":{"resolved":false}}})"));
  EXPECT_EQ(remote_link_body("r42", "u", "t", "s", true)["object"]["status"]["resolved"], true);
}

} // namespace
