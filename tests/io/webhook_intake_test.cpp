// POST /jira/webhook as `dutydesk serve` wires it: io::http_server (default limits, as serve uses them) routing to
// io::jira_bridge::webhook_handler, with the real storage actor over an in-memory SQLite store, the simulator's Jira
// Data Center and a recording channel. Deliveries that must be refused — unsigned, signed with another secret,
// tampered, not JSON, not an object, not JSON by content type, over the body limit — each get their status and
// change nothing: nothing is stored in the inbox, the bridge calls Jira for none of them, and the channel is never
// handed anything (the bridge processes the inbox in arrival order, so the first change the channel sees after them
// must be the valid delivery's). A replayed delivery id, also with another (validly signed) body, and an identical
// body without an id are answered 200 as duplicates and route nothing.

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <prometheus/text_serializer.h>

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "gateway_fixture.hpp"
#include "io/hmac.hpp"
#include "io/jira_webhook.hpp"
#include "io/http_server.hpp"
#include "io/io_runtime.hpp"
#include "io/jira_bridge.hpp"
#include "storage/open.hpp"
#include "tests/support/metrics_text.hpp"

using namespace dutydesk;
using namespace std::chrono_literals;
using io::http_method;
using nlohmann::json;

namespace {

constexpr const char* secret = "intake-test-webhook-secret-0123456789";

/// Hands every Jira change to `sink` (the test's scoped actor).
actors::channel_actor::behavior_type recording_channel(actors::channel_actor::pointer, caf::actor sink) {
  return {
    [](atom::chat, actors::chat_event) {},
    [](atom::adopt, actors::adopt_request) { return true; },
    [](atom::restore) { return std::size_t{0}; },
    [](atom::restore, const std::string&) {},
    [](atom::status) { return actors::channel_status{}; },
    [sink](atom::jira, actors::jira_update& u) {
      caf::anon_send(sink, atom::jira_v, u);
      return true;
    },
    [](atom::open, actors::jira_born& b) { return "born-" + b.issue_key; },
    [](atom::rate, actors::feedback_update&) { return true; },
  };
}

class webhook_intake : public test::gateway_test {
protected:
  void SetUp() override {
    gateway_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    auto opened = storage::open_store("sqlite::memory:");
    ASSERT_TRUE(opened);
    storage_ = actors::spawn_storage(sys, std::shared_ptr<storage::store>(std::move(*opened)), false);
    auto dir = std::make_shared<actors::channel_directory>();
    dir->by_room.emplace("cicd-support", sys.spawn(recording_channel, caf::actor{self}));
    directory_ = dir;
    io::jira_bridge_config b;
    b.base_url = sim.jira_dc;
    b.flavor = io::jira::flavor::datacenter;
    b.auth = io::jira::auth::bearer("jira-bot-token-0000000000000000");
    b.webhook_secret = secret;
    b.service_field = "customfield_10100";
    b.channels = {io::jira_bridge_channel{"cicd-support", "CICD", "Task", {"pipeline"}}};
    b.metrics = metrics_;
    bridge_ = std::make_unique<io::jira_bridge>(sys, runtime, b, storage_, directory_);
    ASSERT_EQ(bridge_->open(), "");
    bridge_->start();
    server_ = std::make_unique<io::http_server>(runtime.context(), io::http_server_options{});
    std::string listen_error;
    runtime.run_sync([&] {
      server_->on("POST", "/jira/webhook", bridge_->webhook_handler());
      listen_error = server_->listen();
    });
    ASSERT_EQ(listen_error, "");
    url_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/jira/webhook";
  }

  void TearDown() override {
    if (server_)
      runtime.run_sync([&] { server_->stop(); });
    if (bridge_)
      bridge_->stop();
    bridge_.reset();
    if (directory_)
      for (auto& [room, ch] : directory_->by_room)
        caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(storage_, caf::exit_reason::user_shutdown);
    gateway_test::TearDown();
    server_.reset(); // after the I/O thread stopped: nothing of it runs any more
  }

  /// Stores request REQ1 with its Jira create queued, lets the bridge create the issue, and returns its key.
  std::string linked_request() {
    domain::request_record r;
    r.request_id = "REQ1";
    r.room = "cicd-support";
    r.root_message_id = "REQ1";
    r.requester = "carol";
    r.text = "The runner is out of disk";
    r.permalink = sim.rocketchat + "/channel/cicd-support?msg=REQ1";
    r.phase = domain::request_phase::active;
    r.status = "open";
    domain::jira_action create;
    create.key = "REQ1/jira/create";
    create.kind = domain::jira_kind::create;
    bool saved = false;
    self->request(storage_, 10s, atom::save_v, actors::persist_request{r, std::nullopt, {create}})
      .receive([&](bool ok) { saved = ok; }, [&](caf::error& e) { ADD_FAILURE() << dutydesk::describe(e); });
    EXPECT_TRUE(saved);
    caf::anon_send(bridge_->actor(), atom::tick_v);
    auto u = next_update();
    if (!u || !std::holds_alternative<domain::jira_linked>(u->change)) {
      ADD_FAILURE() << "the issue was not created";
      return {};
    }
    return std::get<domain::jira_linked>(u->change).key;
  }

  /// A Data Center comment_created delivery for `key` (with its issue, as issue_commented has it).
  static std::string comment_body(const std::string& key, const std::string& comment_id, const std::string& text) {
    return json{{"timestamp", 1732630000123},
                {"webhookEvent", "comment_created"},
                {"comment",
                 {{"id", comment_id},
                  {"self", "http://jira.test/rest/api/2/issue/10000/comment/" + comment_id},
                  {"body", text},
                  {"author", {{"name", "carol"}, {"key", "JIRAUSER10003"}, {"displayName", "Carol Chen"}}},
                  {"updateAuthor", {{"name", "carol"}, {"key", "JIRAUSER10003"}, {"displayName", "Carol Chen"}}},
                  {"created", "2024-11-26T14:06:40.123+0000"},
                  {"updated", "2024-11-26T14:06:40.123+0000"}}},
                {"issue", {{"id", "10000"}, {"key", key}, {"fields", {{"summary", "The runner is out of disk"}}}}}}
      .dump();
  }

  struct answer {
    unsigned status = 0;
    json body;
  };

  /// POSTs `body` as Jira would; `signature` "" sends none, `identifier` "" sends no X-Atlassian-Webhook-Identifier.
  answer post(const std::string& body, const std::string& signature, const std::string& identifier = "",
              const std::string& content_type = "application/json") {
    io::http_client_options o;
    o.retry.max_attempts = 1;
    io::http_client c(ioc, o);
    io::http_request r;
    r.method = http_method::post;
    r.url = url_;
    r.body = body;
    r.headers = {{"Content-Type", content_type}};
    if (!signature.empty())
      r.headers.emplace_back("X-Hub-Signature", signature);
    if (!identifier.empty())
      r.headers.emplace_back("X-Atlassian-Webhook-Identifier", identifier);
    std::optional<io::http_result> out;
    c.request(r, [&](io::http_result x) { out = std::move(x); });
    EXPECT_TRUE(test::run_until(ioc, [&] { return out.has_value(); }));
    if (!out || !out->ok()) {
      ADD_FAILURE() << "no answer: " << (out ? out->error_text : "timeout");
      return {};
    }
    return {out->response.status, json::parse(out->response.body, nullptr, false)};
  }

  /// The next change the bridge handed to the channel, within `limit`.
  std::optional<actors::jira_update> next_update(std::chrono::milliseconds limit = 10s) {
    std::optional<actors::jira_update> result;
    self->receive([&](atom::jira, actors::jira_update& u) { result = std::move(u); }, caf::after(limit) >> [] {});
    return result;
  }

  /// The comment id of the next change, which must be a comment.
  std::string next_comment() {
    auto u = next_update();
    if (!u)
      return "(nothing)";
    auto* c = std::get_if<domain::jira_comment_added>(&u->change);
    return c != nullptr ? c->comment_id : "(another change)";
  }

  std::size_t unprocessed_inbox() {
    std::size_t n = 999;
    self->request(storage_, 10s, atom::inbox_v, std::size_t{100})
      .receive([&](std::vector<storage::inbox_delivery>& xs) { n = xs.size(); },
               [&](caf::error& e) { ADD_FAILURE() << dutydesk::describe(e); });
    return n;
  }

  std::size_t jira_requests() {
    auto j = control(http_method::get, "/control/requests?system=jira-dc&since=0&limit=100000");
    return j.contains("requests") ? j["requests"].size() : 0;
  }

  std::vector<storage::jira_op> ops() {
    std::vector<storage::jira_op> result;
    self->request(storage_, 10s, atom::jira_v, actors::jira_ops_query{100})
      .receive([&](std::vector<storage::jira_op>& xs) { result = std::move(xs); },
               [&](caf::error& e) { ADD_FAILURE() << dutydesk::describe(e); });
    return result;
  }

  std::string deliveries(const std::string& result) {
    return test::value_of(*metrics_, "dutydesk_webhook_deliveries_total{result=\"" + result + "\"}");
  }

  std::shared_ptr<metrics::registry> metrics_ = std::make_shared<metrics::registry>();
  actors::storage_actor storage_;
  std::shared_ptr<actors::channel_directory> directory_;
  std::unique_ptr<io::jira_bridge> bridge_;
  std::unique_ptr<io::http_server> server_;
  std::string url_;
};

} // namespace

TEST_F(webhook_intake, refused_deliveries_get_their_status_and_change_nothing_replays_are_duplicates) {
  auto key = linked_request();
  ASSERT_FALSE(key.empty());
  // The remote link follows the create; after it the bridge has nothing left to do with Jira.
  ASSERT_TRUE(test::run_until(ioc, [&] { return ops().empty(); }));
  auto jira_before = jira_requests();
  ASSERT_GT(jira_before, 0u);

  struct refused {
    const char* what;
    std::string body, signature, content_type;
    unsigned status;
  };
  auto body = [&](const char* id) { return comment_body(key, id, std::string{"refused delivery "} + id); };
  auto sign = [](const std::string& b) { return io::hub_signature(secret, b); };
  std::string oversized = body("c-big");
  oversized.insert(oversized.size() - 1, std::string(1024 * 1024 + 1 - oversized.size(), ' '));
  ASSERT_EQ(oversized.size(), 1024u * 1024u + 1u);
  std::vector<refused> cases{
    {"unsigned", body("c-unsigned"), "", "application/json", 401},
    {"signed with another secret", body("c-other"), io::hub_signature("another-secret", body("c-other")),
     "application/json", 401},
    {"tampered after signing", body("c-tampered"), sign(body("c-original")), "application/json", 401},
    {"garbage signature", body("c-garbage"), "sha256=zz", "application/json", 401},
    {"malformed JSON", body("c-malformed").substr(0, 60), sign(body("c-malformed").substr(0, 60)), "application/json",
     400},
    {"not an object", "[" + body("c-array") + "]", sign("[" + body("c-array") + "]"), "application/json", 400},
    {"not JSON by its content type", body("c-text"), sign(body("c-text")), "text/plain", 415},
    {"over the body limit (1 MiB)", oversized, sign(oversized), "application/json", 413},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto a = post(c.body, c.signature, std::string{"id-"} + c.what, c.content_type);
    EXPECT_EQ(a.status, c.status) << a.body.dump();
    if (c.status != 413) {
      ASSERT_TRUE(a.body.is_object()) << a.body.dump();
      EXPECT_TRUE(a.body.contains("error")) << a.body.dump();
      EXPECT_EQ(a.body.dump().find(secret), std::string::npos);
    }
  }
  auto s = bridge_->stats();
  EXPECT_EQ(s.webhooks_accepted, 0u);
  EXPECT_EQ(s.webhooks_duplicate, 0u);
  EXPECT_EQ(s.webhooks_rejected, cases.size() - 1); // the 413 is the server's own answer: no handler ran
  EXPECT_EQ(s.inbox_processed, 0u);
  EXPECT_EQ(unprocessed_inbox(), 0u);
  EXPECT_EQ(jira_requests(), jira_before) << "the bridge called Jira for a refused delivery";
  EXPECT_EQ(deliveries("unauthorized"), "4");
  EXPECT_EQ(deliveries("bad_request"), "2");
  EXPECT_EQ(deliveries("unsupported"), "1");
  EXPECT_EQ(deliveries("accepted"), "absent");
  runtime.run_sync([&] { EXPECT_EQ(server_->stats().rejected_oversize, 1u); });

  // A valid delivery: stored, answered, and the first (and only) change the channel gets.
  auto good = body("c-good");
  auto a = post(good, sign(good), "id-good");
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, (json{{"accepted", true}, {"duplicate", false}}));
  EXPECT_EQ(next_comment(), "c-good");

  // Replays of its id: the same body, and another body signed with the right secret. Both are duplicates.
  auto evil = body("c-replayed-id");
  for (const auto& b : {good, evil}) {
    auto r = post(b, sign(b), "id-good");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, (json{{"accepted", true}, {"duplicate", true}}));
  }
  // Without an id the body's hash is the id: an identical body is a duplicate too. Exactly at the limit it passes.
  std::string at_limit = json{{"webhookEvent", "jira:worklog_updated"}, {"worklog", {{"id", "1"}}}}.dump();
  at_limit.insert(at_limit.size() - 1, std::string(1024 * 1024 - at_limit.size(), ' '));
  ASSERT_EQ(at_limit.size(), 1024u * 1024u);
  EXPECT_EQ(post(at_limit, sign(at_limit)).body, (json{{"accepted", true}, {"duplicate", false}}));
  EXPECT_EQ(post(at_limit, sign(at_limit)).body, (json{{"accepted", true}, {"duplicate", true}}));

  // The next change is the next new delivery's: neither replay was routed.
  auto last = body("c-last");
  EXPECT_EQ(post(last, sign(last), "id-last").status, 200u);
  EXPECT_EQ(next_comment(), "c-last");
  ASSERT_TRUE(test::run_until(ioc, [&] { return bridge_->stats().inbox_processed == 3u; }));
  s = bridge_->stats();
  EXPECT_EQ(s.webhooks_accepted, 3u);
  EXPECT_EQ(s.webhooks_duplicate, 3u);
  EXPECT_EQ(s.changes_routed, 2u);
  EXPECT_EQ(deliveries("accepted"), "3");
  EXPECT_EQ(deliveries("duplicate"), "3");
}

TEST_F(webhook_intake, without_a_configured_secret_nothing_else_is_relaxed) {
  // Jira DC <= 9 cannot sign; the other checks still hold. (A bridge of its own, on the same server route.)
  io::jira_bridge_config b;
  b.base_url = sim.jira_dc;
  b.auth = io::jira::auth::bearer("jira-bot-token-0000000000000000");
  b.channels = {io::jira_bridge_channel{"cicd-support", "CICD", "Task", {"pipeline"}}};
  auto unsigned_bridge = std::make_unique<io::jira_bridge>(sys, runtime, b, storage_, directory_);
  runtime.run_sync([&] { server_->on("POST", "/jira/webhook", unsigned_bridge->webhook_handler()); });
  EXPECT_EQ(post("{\"webhookEvent\":", "").status, 400u);
  EXPECT_EQ(post("[]", "").status, 400u);
  EXPECT_EQ(post("{\"webhookEvent\":\"comment_created\"}", "", "", "text/html").status, 415u);
  EXPECT_EQ(post(std::string(1024 * 1024 + 1, ' '), "").status, 413u);
  EXPECT_EQ(unprocessed_inbox(), 0u);
  EXPECT_EQ(unsigned_bridge->stats().webhooks_accepted, 0u);
  EXPECT_EQ(unsigned_bridge->stats().webhooks_rejected, 3u);
  unsigned_bridge->stop();
}
