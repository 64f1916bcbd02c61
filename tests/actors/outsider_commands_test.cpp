// Authorisation at the request-actor level (docs/lifecycle.md, domain/duty_rules.hpp): every `!dd` command, the
// status buttons (a click is the button's `msg` posted as the user), the status reactions and a rating, tried by an
// outsider — neither the requester nor the on-duty nor a member — on an open request and on a resolved one with its
// survey open. Each attempt must leave everything as it was: the record (status, assignee, phase, channel, survey),
// no save (so no Jira outbox row and no event row), no reaction, no repost or adoption in another channel, no wake-up
// of the Jira bridge or the event relays, no metric. What it may do is answer: a refusal DM to the outsider, or the
// help note for `!dd help` and commands it does not know. The requester's own limits (only a final status, no
// assign) are checked the same way.

#include "actors/request_actor.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "actors/error.hpp"
#include "domain/commands.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/fakes.hpp"

using namespace std::chrono_literals;
using namespace dutydesk;

namespace {

struct channel_log {
  std::vector<actors::adopt_request> adopted;
  std::size_t messages = 0; // anything else the channel was sent
};

actors::channel_actor::behavior_type recording_channel(actors::channel_actor::pointer,
                                                       std::shared_ptr<channel_log> log) {
  return {
    [log](atom::chat, actors::chat_event&) { ++log->messages; },
    [log](atom::adopt, actors::adopt_request& x) {
      log->adopted.push_back(x);
      return true;
    },
    [log](atom::restore) {
      ++log->messages;
      return std::size_t{0};
    },
    [log](atom::restore, const std::string&) { ++log->messages; },
    [](atom::status) { return actors::channel_status{}; },
    [log](atom::jira, actors::jira_update&) {
      ++log->messages;
      return true;
    },
    [log](atom::open, actors::jira_born&) {
      ++log->messages;
      return std::string{};
    },
    [log](atom::rate, actors::feedback_update&) {
      ++log->messages;
      return true;
    },
  };
}

actors::jira_bridge_actor::behavior_type counting_bridge(actors::jira_bridge_actor::pointer,
                                                         std::shared_ptr<int> ticks) {
  return {[ticks](atom::tick) { ++*ticks; }};
}

actors::event_relay_actor::behavior_type counting_relay(actors::event_relay_actor::pointer,
                                                        std::shared_ptr<int> ticks) {
  return {[ticks](atom::tick) { ++*ticks; }};
}

domain::lifecycle_params params() {
  domain::lifecycle_params p;
  p.statuses = {{"new", "New", ":new:", false, "To Do"},
                {"in_progress", "In progress", ":eyes:", false, "In Progress"},
                {"done", "Done", ":white_check_mark:", true, "Done"},
                {"rejected", "Rejected", "", true, "Rejected"}};
  p.initial_status = "new";
  p.members = {"mia"};
  p.fallback = {"lead"};
  p.remind_after = 4h;
  p.bot_user = "dutydesk";
  p.channels = {{"support", {"support-svc"}, "support-team"}, {"triage", {"billing-api"}, "triage-team"}};
  p.jira = true;
  p.team = "support-team";
  p.events = true;
  p.feedback.enabled = true;
  return p;
}

domain::created make_created() {
  domain::duty_resolution d;
  d.users = {"alice"};
  return domain::created{"R1", "support", "root1", "carol", "my build is broken",
                         "http://chat.test/channel/support?msg=root1", d};
}

/// Everything an outsider's attempt must not change, taken before and after it.
struct snapshot {
  domain::request_record record;
  std::size_t saves = 0;
  std::size_t reactions = 0;
  std::size_t edits = 0;
  std::size_t adopted = 0;
  std::size_t channel_messages = 0;
  int jira_ticks = 0;
  int relay_ticks = 0;
  std::string metrics;
};

class OutsiderCommands : public test::deterministic_fixture {
protected:
  std::shared_ptr<test::chat_log> chat = std::make_shared<test::chat_log>();
  std::shared_ptr<test::storage_log> store = std::make_shared<test::storage_log>();
  std::shared_ptr<channel_log> triage = std::make_shared<channel_log>();
  std::shared_ptr<int> jira_ticks = std::make_shared<int>(0);
  std::shared_ptr<int> relay_ticks = std::make_shared<int>(0);
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
  actors::chat_actor chat_hdl = sys.spawn(test::fake_chat, chat);
  actors::storage_actor storage_hdl = sys.spawn(test::fake_storage, store);
  actors::channel_actor triage_hdl = sys.spawn(recording_channel, triage);
  actors::jira_bridge_actor bridge_hdl = sys.spawn(counting_bridge, jira_ticks);
  actors::event_relay_actor relay_hdl = sys.spawn(counting_relay, relay_ticks);
  actors::request_actor h;
  int replies = 0;

  void SetUp() override {
    auto dir = std::make_shared<actors::channel_directory>();
    dir->by_room.emplace("triage", triage_hdl);
    actors::request_deps deps{chat_hdl, storage_hdl, dir, wall()};
    deps.jira = bridge_hdl;
    deps.events = std::make_shared<actors::event_context>();
    deps.relay = relay_hdl;
    deps.metrics = metrics;
    h = actors::spawn_request(sys, actors::request_args{params(), make_created(), {}, deps});
    self->monitor(h);
    run();
    ASSERT_EQ(store->saves.size(), 1u) << "the request was not created";
    // The creation itself queued Jira rows and events: the attempts below must add none.
    ASSERT_FALSE(store->saves[0].jira.empty());
    ASSERT_FALSE(store->saves[0].events.empty());
  }

  void TearDown() override {
    for (auto hdl : {caf::actor_cast<caf::actor>(h), caf::actor_cast<caf::actor>(chat_hdl),
                     caf::actor_cast<caf::actor>(storage_hdl), caf::actor_cast<caf::actor>(triage_hdl),
                     caf::actor_cast<caf::actor>(bridge_hdl), caf::actor_cast<caf::actor>(relay_hdl)})
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    drain();
  }

  std::string metrics_text() const {
    std::ostringstream out;
    prometheus::TextSerializer{}.Serialize(out, metrics->prometheus()->Collect());
    return out.str();
  }

  snapshot take() {
    return snapshot{request<domain::request_record>(h, atom::get_v),
                    store->saves.size(),
                    chat->reactions.size(),
                    chat->edits.size(),
                    triage->adopted.size(),
                    triage->messages,
                    *jira_ticks,
                    *relay_ticks,
                    metrics_text()};
  }

  /// Posts `text` in the thread as `author`; returns the reply's message id.
  std::string say(const std::string& author, const std::string& text) {
    auto id = "t" + std::to_string(++replies);
    EXPECT_TRUE(request<bool>(h, atom::reply_v, domain::thread_reply{id, author, text})) << text;
    return id;
  }

  /// True while the request actor runs (no down message for it).
  bool alive() {
    bool result = true;
    self->receive([&](caf::down_msg&) { result = false; }, caf::after(std::chrono::milliseconds{0}) >> [] {});
    return result;
  }

  /// Everything `before` holds is as it was, and the actor is still running.
  void expect_unchanged(const snapshot& before, const std::string& what) {
    auto after = take();
    EXPECT_EQ(after.record, before.record) << what << ": the record changed";
    EXPECT_EQ(after.record.status, before.record.status) << what;
    EXPECT_EQ(after.record.assignee, before.record.assignee) << what;
    EXPECT_EQ(after.record.phase, before.record.phase) << what;
    EXPECT_EQ(after.record.room, before.record.room) << what;
    EXPECT_EQ(after.saves, before.saves) << what << ": a save (Jira outbox rows and events ride in saves)";
    EXPECT_EQ(after.reactions, before.reactions) << what << ": a reaction was changed";
    EXPECT_EQ(after.edits, before.edits) << what << ": a DM was edited";
    EXPECT_EQ(after.adopted, before.adopted) << what << ": another channel adopted the request";
    EXPECT_EQ(after.channel_messages, before.channel_messages) << what;
    EXPECT_EQ(after.jira_ticks, before.jira_ticks) << what << ": the Jira bridge was woken";
    EXPECT_EQ(after.relay_ticks, before.relay_ticks) << what << ": the event relays were woken";
    EXPECT_EQ(after.metrics, before.metrics) << what << ": a metric moved";
    EXPECT_TRUE(alive()) << what << ": the request actor went down";
  }

  /// Tries `text` as `user`: nothing changes, and the only answer is one refusal DM to `user`, keyed by the reply
  /// (a rating's refusal is keyed as a survey answer).
  void expect_refused(const std::string& user, const std::string& text) {
    auto before = take();
    auto dms = chat->dms.size();
    auto posts = chat->posts.size();
    auto id = say(user, text);
    expect_unchanged(before, user + ": " + text);
    EXPECT_EQ(chat->posts.size(), posts) << text << ": posted " << chat->posts.back().key;
    ASSERT_EQ(chat->dms.size(), dms + 1) << text << ": no refusal DM";
    auto cmd = domain::parse_command(text);
    bool rate = cmd && std::holds_alternative<domain::rate_command>(*cmd);
    EXPECT_EQ(chat->dms.back().user, user) << text;
    EXPECT_EQ(chat->dms.back().key, rate ? "R1/survey/answer/" + id : "R1/reply/" + id + "-refused") << text;
    EXPECT_TRUE(chat->dms.back().buttons.empty()) << text;
  }

  /// Tries `text` as `user`: nothing changes, and the only answer is the help note in the thread.
  void expect_help(const std::string& user, const std::string& text) {
    auto before = take();
    auto dms = chat->dms.size();
    auto posts = chat->posts.size();
    auto id = say(user, text);
    expect_unchanged(before, user + ": " + text);
    EXPECT_EQ(chat->dms.size(), dms) << text;
    ASSERT_EQ(chat->posts.size(), posts + 1) << text;
    EXPECT_EQ(chat->posts.back().key, "R1/reply/" + id + "-help") << text;
    EXPECT_TRUE(chat->posts.back().buttons.empty()) << text;
  }

  /// Tries `text` as `user`: nothing at all happens (no answer either).
  void expect_nothing(const std::string& user, const std::string& text) {
    auto before = take();
    auto dms = chat->dms.size();
    auto posts = chat->posts.size();
    say(user, text);
    expect_unchanged(before, user + ": " + text);
    EXPECT_EQ(chat->dms.size(), dms) << text;
    EXPECT_EQ(chat->posts.size(), posts) << text;
  }

  /// Tries a status command: setting the current status again is no change for anybody (not even a refusal).
  void expect_status_refused(const std::string& user, const std::string& text) {
    auto cmd = domain::parse_command(text);
    const auto* s = cmd ? std::get_if<domain::status_command>(&*cmd) : nullptr;
    if (s != nullptr && domain::iequals(s->status_id, take().record.status))
      expect_nothing(user, text);
    else
      expect_refused(user, text);
  }

  /// Every command an outsider might type or click on a request.
  void outsider_tries_everything(const std::string& user) {
    for (const char* text : {"!dd status in_progress", "!dd status new", "!dd status done", "!dd status rejected",
                             "!DD  Status\tDONE", "!dd move #triage", "!dd move billing-api", "!dd move triage",
                             "!dd move #nowhere", "!dd move #support", "!dd assign @eve", "!dd assign @alice",
                             "!dd assign mia", "!dd rate R1 5", "!dd rate R1 0"}) {
      SCOPED_TRACE(text);
      expect_status_refused(user, text);
    }
    // The status buttons of the intro are the same commands, clicked.
    ASSERT_FALSE(chat->posts.empty());
    ASSERT_EQ(chat->posts.front().key, "R1/intro");
    ASSERT_EQ(chat->posts.front().buttons.size(), 4u);
    for (const auto& b : chat->posts.front().buttons) {
      SCOPED_TRACE("button " + b.msg);
      expect_status_refused(user, b.msg);
    }
    for (const char* text : {"!dd help", "!dd", "!dd frobnicate", "!dd status", "!dd status done now", "!dd move",
                             "!dd assign", "!dd assign @a @b"}) {
      SCOPED_TRACE(text);
      expect_help(user, text);
    }
    // An unknown status is answered in the thread (it names the statuses), also for an outsider; nothing else.
    {
      auto before = take();
      auto posts = chat->posts.size();
      say(user, "!dd status nonsense");
      expect_unchanged(before, "!dd status nonsense");
      ASSERT_EQ(chat->posts.size(), posts + 1);
      EXPECT_NE(chat->posts.back().key.find("-unknown-status"), std::string::npos) << chat->posts.back().key;
    }
    // A rating of another request typed here is not this request's business.
    expect_nothing(user, "!dd rate R2 5");
    // Reactions with a status emoji are a shortcut for staff only: an outsider's do nothing at all.
    for (const char* emoji : {":eyes:", ":white_check_mark:", "white_check_mark", ":new:"}) {
      SCOPED_TRACE(emoji);
      auto before = take();
      auto dms = chat->dms.size();
      auto posts = chat->posts.size();
      EXPECT_TRUE(request<bool>(h, atom::reaction_v, domain::reaction_added{user, emoji}));
      expect_unchanged(before, std::string{"reaction "} + emoji);
      EXPECT_EQ(chat->dms.size(), dms);
      EXPECT_EQ(chat->posts.size(), posts);
    }
  }
};

} // namespace

TEST_F(OutsiderCommands, on_an_open_request_every_command_button_and_reaction_is_refused_and_changes_nothing) {
  outsider_tries_everything("eve");
  // Only now does staff act, and it works: the refusals left the request fully operable.
  say("alice", "!dd status in_progress");
  EXPECT_EQ(take().record.status, "in_progress");
}

TEST_F(OutsiderCommands, the_bot_and_an_empty_author_are_ignored_entirely) {
  for (const std::string user : {"dutydesk", ""}) {
    auto before = take();
    auto dms = chat->dms.size();
    auto posts = chat->posts.size();
    for (const char* text : {"!dd status done", "!dd move #triage", "!dd assign @eve", "!dd help"})
      say(user, text);
    EXPECT_TRUE(request<bool>(h, atom::reaction_v, domain::reaction_added{user, ":white_check_mark:"}));
    expect_unchanged(before, "user '" + user + "'");
    EXPECT_EQ(chat->dms.size(), dms);
    EXPECT_EQ(chat->posts.size(), posts);
  }
}

TEST_F(OutsiderCommands, on_a_resolved_request_an_outsider_can_neither_reopen_it_nor_rate_it) {
  say("alice", "!dd status done");
  auto resolved = take();
  ASSERT_EQ(resolved.record.status, "done");
  ASSERT_EQ(resolved.record.survey.phase, domain::survey_phase::open);
  outsider_tries_everything("eve");
  // Through the DM router (what a click on a forwarded survey DM, or a typed DM, would send).
  auto before = take();
  auto dms = chat->dms.size();
  EXPECT_TRUE(request<bool>(h, atom::rate_v, actors::feedback_update{"R1", domain::survey_answer{"dm1", "eve", 5}}));
  EXPECT_TRUE(request<bool>(h, atom::rate_v,
                            actors::feedback_update{"R1", domain::survey_comment{"dm2", "eve", "great service"}}));
  expect_unchanged(before, "DM rating and comment by an outsider");
  ASSERT_EQ(chat->dms.size(), dms + 1); // the rating is refused; a stranger's DM text is not answered
  EXPECT_EQ(chat->dms.back().user, "eve");
  EXPECT_EQ(chat->dms.back().key, "R1/survey/answer/dm1");
  // The requester still can.
  EXPECT_TRUE(request<bool>(h, atom::rate_v, actors::feedback_update{"R1", domain::survey_answer{"dm3", "carol", 4}}));
  EXPECT_EQ(take().record.survey.rating, 4);
}

TEST_F(OutsiderCommands, the_requester_may_close_or_move_but_not_set_a_non_final_status_or_assign) {
  for (const char* text : {"!dd status in_progress", "!dd assign @carol", "!dd assign @alice"})
    expect_refused("carol", text);
  auto before = take();
  say("carol", "!dd status done");
  EXPECT_EQ(take().record.status, "done");
  EXPECT_GT(take().saves, before.saves);
  // Closed by the requester: reopening is staff's.
  expect_refused("carol", "!dd status in_progress");
}
