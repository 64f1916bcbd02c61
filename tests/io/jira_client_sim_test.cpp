// io::jira_client against the real simulator, both flavours (seed sim/seed/demo.json, docs/sim/jira.md): identity,
// createmeta, create (with and without CICD's required Service field), search by request label, comments with a
// property, transitions with a resolution, assign, remote-link upsert, 404 and a wrong token.

#include "io/jira_client.hpp"

#include <memory>
#include <optional>
#include <set>

#include "tests/io/sim_fixture.hpp"

namespace {

using namespace dutydesk;
using io::jira::flavor;
using nlohmann::json;

constexpr const char* bot_token = "jira-bot-token-0000000000000000";
constexpr const char* bot_email = "dutybot@example.com";
constexpr const char* bot_account = "712020:0a1b2c3d-bot0-4000-8000-000000000001";
constexpr const char* bob_account = "712020:0a1b2c3d-bob0-4000-8000-000000000003";
constexpr const char* service = "customfield_10100";

class JiraSimTest : public test::sim_test, public ::testing::WithParamInterface<flavor> {
protected:
  void SetUp() override {
    sim_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    io::http_client_options o;
    o.retry.base_delay = std::chrono::milliseconds(5);
    o.retry.max_delay = std::chrono::milliseconds(20);
    o.retry.max_rate_limit_wait = std::chrono::milliseconds(10);
    http = std::make_unique<io::http_client>(ioc, o);
    client = make_client(bot_token);
  }

  bool cloud() const { return GetParam() == flavor::cloud; }
  std::string site() const { return cloud() ? sim.jira_cloud : sim.jira_dc; }
  std::string control_base() const { return cloud() ? "/control/jira-cloud" : "/control/jira-dc"; }

  std::unique_ptr<io::jira_client> make_client(const std::string& token) {
    auto auth = cloud() ? io::jira::auth::basic(bot_email, token) : io::jira::auth::bearer(token);
    return std::make_unique<io::jira_client>(*http, site(), GetParam(), auth, std::chrono::milliseconds(5000));
  }

  /// Runs one client call to its callback.
  template <class T, class Start>
  io::api_result<T> call(Start start) {
    std::optional<io::api_result<T>> out;
    start([&](io::api_result<T> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(test::run_until(ioc, [&] { return out.has_value(); }));
    if (!out)
      return io::api_result<T>(io::api_error{});
    return std::move(*out);
  }

  io::jira::issue_draft draft(const std::string& request_id, bool with_service) {
    io::jira::issue_draft d;
    d.request_id = request_id;
    d.project_key = "CICD";
    d.issue_type = "Task";
    d.summary = io::jira::summary_from("Pipeline 7 is stuck\nsince this morning");
    d.text = "Pipeline 7 is stuck\nsince this morning";
    d.requester = "alice";
    d.requester_name = "Alice Adams";
    d.room = "cicd-support";
    d.permalink = "https://chat.example.com/channel/cicd-support?msg=m1";
    if (with_service) {
      d.service_field = service;
      d.service_value = "pipeline";
    }
    return d;
  }

  /// Creates an issue with the Service field set; returns its key.
  std::string create(const std::string& request_id) {
    auto body = io::jira::create_issue_body(GetParam(), draft(request_id, true));
    auto r = call<io::jira::created_issue>([&](auto cb) { client->create_issue(body, cb); });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : io::describe(r.error()));
    return r.ok() ? r->key : "";
  }

  json control_issue(const std::string& key) {
    return control(io::http_method::get, control_base() + "/issues/" + key);
  }

  std::unique_ptr<io::http_client> http;
  std::unique_ptr<io::jira_client> client;
};

TEST_P(JiraSimTest, ServerInfoAndMyself) {
  auto info = call<io::jira::server_info>([&](auto cb) { client->server_info(cb); });
  ASSERT_TRUE(info.ok()) << io::describe(info.error());
  EXPECT_EQ(info->deployment_type, cloud() ? "Cloud" : "Server");
  EXPECT_EQ(info->base_url, site());
  if (!cloud()) {
    EXPECT_EQ(info->version, "9.12.0");
    EXPECT_EQ(info->version_numbers, (std::vector<int>{9, 12, 0}));
  }
  auto me = call<io::jira::jira_user>([&](auto cb) { client->myself(cb); });
  ASSERT_TRUE(me.ok()) << io::describe(me.error());
  EXPECT_EQ(me->display_name, "DutyDesk Bot");
  if (cloud()) {
    EXPECT_EQ(me->account_id, bot_account);
    EXPECT_EQ(me->name, "");
  } else {
    EXPECT_EQ(me->name, "dutybot");
    EXPECT_EQ(me->key, "JIRAUSER10000");
  }
}

TEST_P(JiraSimTest, CreateMetaShowsTheRequiredServiceField) {
  auto meta = call<io::jira::create_meta>([&](auto cb) { client->create_meta("CICD", "Task", cb); });
  ASSERT_TRUE(meta.ok()) << io::describe(meta.error());
  EXPECT_EQ(meta->issue_type_id, "10002");
  auto it = std::find_if(meta->fields.begin(), meta->fields.end(), [](const auto& f) { return f.id == service; });
  ASSERT_NE(it, meta->fields.end());
  EXPECT_EQ(it->name, "Service");
  EXPECT_TRUE(it->required);
  EXPECT_FALSE(it->has_default);
  EXPECT_EQ(it->schema_type, "option");
  EXPECT_EQ(it->schema_custom, "com.atlassian.jira.plugin.system.customfieldtypes:select");
  EXPECT_EQ(it->allowed_values, (std::vector<std::string>{"pipeline", "ci", "postgres", "mysql"}));
  auto summary = std::find_if(meta->fields.begin(), meta->fields.end(), [](const auto& f) { return f.id == "summary"; });
  ASSERT_NE(summary, meta->fields.end());
  EXPECT_TRUE(summary->required);

  auto dba = call<io::jira::create_meta>([&](auto cb) { client->create_meta("DBA", "Task", cb); });
  ASSERT_TRUE(dba.ok());
  auto dba_service = std::find_if(dba->fields.begin(), dba->fields.end(), [](const auto& f) { return f.id == service; });
  EXPECT_TRUE(dba_service == dba->fields.end() || !dba_service->required);

  auto epic = call<io::jira::create_meta>([&](auto cb) { client->create_meta("CICD", "Epic", cb); });
  ASSERT_FALSE(epic.ok());
  EXPECT_EQ(epic.error().code, io::api_errc::not_found);
}

TEST_P(JiraSimTest, CreateWithoutTheServiceFieldIsRejectedNamingIt) {
  auto body = io::jira::create_issue_body(GetParam(), draft("req-missing", false));
  auto r = call<io::jira::created_issue>([&](auto cb) { client->create_issue(body, cb); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, io::api_errc::rejected);
  EXPECT_EQ(r.error().status, 400u);
  EXPECT_EQ(r.error().attempts, 1u);
  EXPECT_EQ(io::jira::rejected_fields(r.error()), (std::vector<std::string>{service}));
  EXPECT_EQ(r.error().error, "customfield_10100: Service is required.");
  auto all = control(io::http_method::get, control_base() + "/issues?project=CICD");
  EXPECT_EQ(all["_status"], 200);
}

TEST_P(JiraSimTest, CreateThenFindByRequestLabelExactlyOnce) {
  auto body = io::jira::create_issue_body(GetParam(), draft("req-1", true));
  auto created = call<io::jira::created_issue>([&](auto cb) { client->create_issue(body, cb); });
  ASSERT_TRUE(created.ok()) << io::describe(created.error());
  EXPECT_EQ(created->key.rfind("CICD-", 0), 0u) << created->key;
  EXPECT_EQ(created->browse_url, site() + "/browse/" + created->key);
  EXPECT_FALSE(created->id.empty());
  create("req-2"); // another request's issue must not match

  auto state = control_issue(created->key);
  ASSERT_EQ(state["_status"], 200) << state.dump();
  EXPECT_EQ(state["summary"], "Pipeline 7 is stuck");
  EXPECT_EQ(state["labels"], json({"dutydesk", "dutydesk-req-1"}));
  EXPECT_EQ(state["properties"]["dutydesk"], json({{"requestId", "req-1"}, {"origin", "chat"}}));
  EXPECT_EQ(state["reporter"], "dutybot");

  auto found = call<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search(io::jira::jql_for_request("CICD", "req-1"), {service}, cb); });
  ASSERT_TRUE(found.ok()) << io::describe(found.error());
  ASSERT_EQ(found->size(), 1u);
  const auto& i = found->front();
  EXPECT_EQ(i.key, created->key);
  EXPECT_EQ(i.id, created->id);
  EXPECT_EQ(i.summary, "Pipeline 7 is stuck");
  EXPECT_EQ(i.status, "To Do");
  EXPECT_EQ(i.status_category, "new");
  EXPECT_FALSE(i.assignee.has_value());
  ASSERT_TRUE(i.reporter.has_value());
  EXPECT_EQ(i.reporter->display_name, "DutyDesk Bot");
  EXPECT_EQ(i.labels, (std::vector<std::string>{"dutydesk", "dutydesk-req-1"}));
  EXPECT_FALSE(i.updated.empty());
  EXPECT_EQ(i.field_values, (std::map<std::string, std::string>{{service, "pipeline"}}));

  auto both = call<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search("project = CICD AND labels = dutydesk ORDER BY key ASC", {}, cb); });
  ASSERT_TRUE(both.ok()) << io::describe(both.error());
  EXPECT_EQ(both->size(), 2u);
  auto one = call<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search("project = CICD AND labels = dutydesk", {}, cb, 1); });
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);

  auto got = call<io::jira::issue>([&](auto cb) { client->get_issue(created->key, {service}, cb); });
  ASSERT_TRUE(got.ok()) << io::describe(got.error());
  EXPECT_EQ(got->key, created->key);
  EXPECT_EQ(got->field_values.at(service), "pipeline");
}

TEST_P(JiraSimTest, SearchPagesThroughAllResults) {
  // One more issue than a page holds (Data Center pages of 50 by startAt, Cloud pages of 100 by nextPageToken).
  std::size_t n = cloud() ? 101 : 51;
  std::size_t created = 0;
  std::function<void()> next = [&] {
    io::jira::issue_draft d;
    d.request_id = "bulk-" + std::to_string(created);
    d.project_key = "DBA";
    d.issue_type = "Task";
    d.summary = "bulk " + std::to_string(created);
    d.requester = "alice";
    d.extra_fields["labels"] = {"bulk"};
    client->create_issue(io::jira::create_issue_body(GetParam(), d), [&](auto r) {
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : io::describe(r.error()));
      if (++created < n)
        next();
    });
  };
  next();
  ASSERT_TRUE(test::run_until(ioc, [&] { return created == n; }, std::chrono::milliseconds(30000)));
  auto all = call<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search("project = DBA AND labels = bulk ORDER BY key ASC", {}, cb); });
  ASSERT_TRUE(all.ok()) << io::describe(all.error());
  ASSERT_EQ(all->size(), n);
  std::set<std::string> summaries, expected;
  for (std::size_t i = 0; i < n; ++i) {
    summaries.insert(all.value()[i].summary);
    expected.insert("bulk " + std::to_string(i));
  }
  EXPECT_EQ(summaries, expected); // every issue once: no page skipped or repeated
  auto some = call<std::vector<io::jira::issue>>(
      [&](auto cb) { client->search("project = DBA AND labels = bulk ORDER BY key ASC", {}, cb, n - 1); });
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->size(), n - 1);
}

TEST_P(JiraSimTest, CommentWithPropertyListedAndEdited) {
  auto key = create("req-c");
  ASSERT_FALSE(key.empty());
  auto text = io::jira::attributed_comment("Alice Adams", "alice", "the runner is back");
  auto body = io::jira::comment_body(GetParam(), text, "msg-1");
  auto id = call<std::string>([&](auto cb) { client->add_comment(key, body, cb); });
  ASSERT_TRUE(id.ok()) << io::describe(id.error());

  auto prop = call<std::optional<json>>([&](auto cb) { client->comment_property(id.value(), "dutydesk", cb); });
  ASSERT_TRUE(prop.ok()) << io::describe(prop.error());
  ASSERT_TRUE(prop->has_value());
  EXPECT_EQ(*prop.value(), json({{"chatMessageId", "msg-1"}, {"origin", "chat"}}));
  auto none = call<std::optional<json>>([&](auto cb) { client->comment_property(id.value(), "other", cb); });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto list = call<std::vector<io::jira::issue_comment>>([&](auto cb) { client->comments(key, cb); });
  ASSERT_TRUE(list.ok()) << io::describe(list.error());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().id, id.value());
  EXPECT_EQ(list->front().body, "Alice Adams (@alice) in Rocket.Chat: the runner is back");
  EXPECT_EQ(list->front().author.display_name, "DutyDesk Bot");
  EXPECT_FALSE(list->front().created.empty());

  auto edit = io::jira::comment_edit_body(GetParam(), "edited\n\nsecond paragraph");
  auto updated = call<std::monostate>([&](auto cb) { client->update_comment(key, id.value(), edit, cb); });
  ASSERT_TRUE(updated.ok()) << io::describe(updated.error());
  list = call<std::vector<io::jira::issue_comment>>([&](auto cb) { client->comments(key, cb); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().body, "edited\n\nsecond paragraph");

  auto state = control_issue(key);
  ASSERT_EQ(state["comments"].size(), 1u);
  EXPECT_EQ(state["comments"][0]["body"], "edited\n\nsecond paragraph");
  EXPECT_EQ(state["comments"][0]["author"], "dutybot");
}

TEST_P(JiraSimTest, TransitionsDoneNeedsAResolutionAfterInProgress) {
  auto key = create("req-t");
  ASSERT_FALSE(key.empty());
  auto from_todo = call<std::vector<io::jira::transition>>([&](auto cb) { client->transitions(key, cb); });
  ASSERT_TRUE(from_todo.ok()) << io::describe(from_todo.error());
  ASSERT_EQ(from_todo->size(), 1u);
  EXPECT_EQ(from_todo->front().id, "11");
  EXPECT_EQ(from_todo->front().name, "Start progress");
  EXPECT_EQ(from_todo->front().to_name, "In Progress");
  EXPECT_EQ(from_todo->front().to_id, "3");
  EXPECT_EQ(from_todo->front().to_category, "indeterminate");
  EXPECT_FALSE(from_todo->front().resolution_required);

  auto direct = call<std::monostate>(
      [&](auto cb) { client->do_transition(key, io::jira::transition_body("31", "Done"), cb); });
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.error().code, io::api_errc::rejected);

  auto start = call<std::monostate>(
      [&](auto cb) { client->do_transition(key, io::jira::transition_body("11", std::nullopt), cb); });
  ASSERT_TRUE(start.ok()) << io::describe(start.error());
  auto in_progress = call<std::vector<io::jira::transition>>([&](auto cb) { client->transitions(key, cb); });
  ASSERT_TRUE(in_progress.ok());
  auto done = std::find_if(in_progress->begin(), in_progress->end(), [](const auto& t) { return t.id == "31"; });
  ASSERT_NE(done, in_progress->end());
  EXPECT_EQ(done->to_category, "done");
  EXPECT_TRUE(done->resolution_required);
  EXPECT_EQ(done->resolution_allowed, (std::vector<std::string>{"Done", "Won't Do"}));

  auto without = call<std::monostate>(
      [&](auto cb) { client->do_transition(key, io::jira::transition_body("31", std::nullopt), cb); });
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.error().code, io::api_errc::rejected);
  auto resolved = call<std::monostate>(
      [&](auto cb) { client->do_transition(key, io::jira::transition_body("31", "Won't Do"), cb); });
  ASSERT_TRUE(resolved.ok()) << io::describe(resolved.error());

  auto got = call<io::jira::issue>([&](auto cb) { client->get_issue(key, {}, cb); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "Done");
  EXPECT_EQ(got->status_category, "done");
  auto state = control_issue(key);
  EXPECT_EQ(state["resolution"], "Won't Do") << state.dump();
}

TEST_P(JiraSimTest, AssignBob) {
  auto key = create("req-a");
  ASSERT_FALSE(key.empty());
  io::jira::jira_user bob;
  if (cloud()) {
    auto users = call<std::vector<io::jira::jira_user>>([&](auto cb) { client->find_users("bob@example.com", cb); });
    ASSERT_TRUE(users.ok()) << io::describe(users.error());
    ASSERT_EQ(users->size(), 1u);
    EXPECT_EQ(users->front().account_id, bob_account);
    EXPECT_EQ(users->front().display_name, "Bob Smith");
    bob = users->front();
  } else {
    auto users = call<std::vector<io::jira::jira_user>>([&](auto cb) { client->find_users("bob", cb); });
    ASSERT_TRUE(users.ok()) << io::describe(users.error());
    ASSERT_EQ(users->size(), 1u);
    EXPECT_EQ(users->front().key, "JIRAUSER10002");
    bob.name = "bob";
  }
  auto r = call<std::monostate>([&](auto cb) { client->assign(key, io::jira::user_ref(GetParam(), bob), cb); });
  ASSERT_TRUE(r.ok()) << io::describe(r.error());
  EXPECT_EQ(control_issue(key)["assignee"], "bob");
  auto got = call<io::jira::issue>([&](auto cb) { client->get_issue(key, {}, cb); });
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->assignee.has_value());
  EXPECT_EQ(got->assignee->display_name, "Bob Smith");
  EXPECT_EQ(cloud() ? got->assignee->account_id : got->assignee->name, cloud() ? bob_account : "bob");

  io::jira::jira_user nobody{"nobody", "", "712020:nobody", "", "", true};
  auto bad = call<std::monostate>([&](auto cb) { client->assign(key, io::jira::user_ref(GetParam(), nobody), cb); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, io::api_errc::rejected);
}

TEST_P(JiraSimTest, RemoteLinkUpsertKeepsItsId) {
  auto key = create("req-l");
  ASSERT_FALSE(key.empty());
  auto url = "https://chat.example.com/channel/cicd-support?msg=m1";
  auto first = call<std::string>([&](auto cb) {
    client->put_remote_link(key, io::jira::remote_link_body("req-l", url, "#cicd-support thread", "open", false), cb);
  });
  ASSERT_TRUE(first.ok()) << io::describe(first.error());
  auto second = call<std::string>([&](auto cb) {
    client->put_remote_link(key, io::jira::remote_link_body("req-l", url, "#cicd-support thread", "done", true), cb);
  });
  ASSERT_TRUE(second.ok()) << io::describe(second.error());
  EXPECT_EQ(first.value(), second.value());
  auto links = control_issue(key)["remoteLinks"];
  ASSERT_EQ(links.size(), 1u) << links.dump();
  EXPECT_EQ(links[0]["globalId"], "dutydesk:request:req-l") << links.dump();
}

TEST_P(JiraSimTest, UnknownIssueIsNotFound) {
  auto got = call<io::jira::issue>([&](auto cb) { client->get_issue("CICD-9999", {}, cb); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, io::api_errc::not_found);
  EXPECT_EQ(got.error().status, 404u);
  EXPECT_EQ(got.error().error, cloud() ? "Issue does not exist or you do not have permission to see it."
                                       : "Issue Does Not Exist");
  auto body = io::jira::comment_body(GetParam(), "x", "m");
  auto comment = call<std::string>([&](auto cb) { client->add_comment("CICD-9999", body, cb); });
  ASSERT_FALSE(comment.ok());
  EXPECT_EQ(comment.error().code, io::api_errc::not_found);
}

TEST_P(JiraSimTest, WrongTokenIsAuth) {
  auto wrong = make_client("not-the-token");
  auto me = call<io::jira::jira_user>([&](auto cb) { wrong->myself(cb); });
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.error().code, io::api_errc::auth);
  EXPECT_EQ(me.error().status, 401u);
  EXPECT_TRUE(io::jira::rejected_fields(me.error()).empty());
  if (!cloud()) {
    EXPECT_EQ(me.error().error, "X-Seraph-LoginReason: AUTHENTICATED_FAILED");
  }
}

TEST_P(JiraSimTest, RateLimitAndServerErrors) {
  auto system = cloud() ? "jira-cloud" : "jira-dc";
  auto set = control(io::http_method::post, "/control/faults", {{"system", system}, {"rate_429", 1.0}});
  ASSERT_EQ(set["_status"], 200) << set.dump();
  auto limited = call<io::jira::jira_user>([&](auto cb) { client->myself(cb); });
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, io::api_errc::rate_limited);
  EXPECT_EQ(limited.error().attempts, 4u);
  ASSERT_TRUE(limited.error().retry_after.has_value());
  EXPECT_EQ(*limited.error().retry_after, std::chrono::milliseconds(1000));

  set = control(io::http_method::post, "/control/faults", {{"system", system}, {"rate_5xx", 1.0}});
  ASSERT_EQ(set["_status"], 200) << set.dump();
  auto get = call<io::jira::jira_user>([&](auto cb) { client->myself(cb); });
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, io::api_errc::server);
  EXPECT_EQ(get.error().status, 503u);
  EXPECT_EQ(get.error().attempts, 4u); // GET is retried
  auto body = io::jira::create_issue_body(GetParam(), draft("req-5xx", true));
  auto create = call<io::jira::created_issue>([&](auto cb) { client->create_issue(body, cb); });
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.error().code, io::api_errc::server);
  EXPECT_EQ(create.error().attempts, 1u); // a repeated create could duplicate the issue
}

INSTANTIATE_TEST_SUITE_P(JiraBothFlavours, JiraSimTest, ::testing::Values(flavor::datacenter, flavor::cloud),
                         [](const auto& info) { return info.param == flavor::cloud ? "cloud" : "datacenter"; });

} // namespace
