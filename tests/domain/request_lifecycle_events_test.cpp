// The request events of the request lifecycle (publish_event effects): their kinds, data and stable ids, the first
// response and resolution times they carry, and that every one rides in a persist.
#include "domain/request_lifecycle.hpp"
#include "lifecycle_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace dutydesk::domain;
using namespace dutydesk::domain::test;

namespace {

lifecycle_params params() {
  lifecycle_params p;
  p.statuses = {{"new", "New", ":new:", false, "To Do"},
                {"in_progress", "In progress", ":eyes:", false, "In Progress"},
                {"done", "Done", ":white_check_mark:", true, "Done"},
                {"rejected", "Rejected", "", true}};
  p.initial_status = "new";
  p.members = {"mia"};
  p.bot_user = "dutydesk";
  p.team = "platform";
  p.channels = {{"support", {"support-svc"}, "cicd"}, {"triage", {"billing-api"}, "billing"}};
  p.events = true;
  p.feedback.enabled = true;
  return p;
}

thread_reply reply(std::string id, std::string author, std::string text) {
  thread_reply r;
  r.message_id = std::move(id);
  r.author = std::move(author);
  r.text = std::move(text);
  return r;
}

struct fixture {
  request_lifecycle m;
  std::vector<effect> intro;
  explicit fixture(lifecycle_params p = params()) : m{std::move(p)} { intro = m.step(make_created(), t0); }
};

/// The one event of a step, checked to ride in the persist that ends the step.
publish_event event_of(const std::vector<effect>& xs) {
  EXPECT_FALSE(xs.empty());
  if (!xs.empty()) {
    EXPECT_TRUE(std::holds_alternative<persist>(xs.back())) << "the outbox row is written with the record";
  }
  return only<publish_event>(xs);
}

} // namespace

// -- created ------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_events, created_from_chat) {
  fixture f;
  auto ev = event_of(f.intro);
  EXPECT_EQ(ev.id, "R1/event/created");
  EXPECT_EQ(ev.kind, "created");
  EXPECT_EQ(ev.at, t0);
  EXPECT_EQ(ev.data, (facts{{"requester", "carol"},
                            {"text", "my build is broken"},
                            {"status", "new"},
                            {"source", "chat"},
                            {"on_duty", "alice"},
                            {"permalink", "https://chat.example.com/channel/support?msg=root1"},
                            {"jira_key", ""}}));
  EXPECT_EQ(f.m.record().team, "platform");
}

TEST(request_lifecycle_events, created_from_jira_says_so_and_names_the_issue) {
  request_lifecycle m{params()};
  auto c = make_created();
  c.from_jira = true;
  c.jira_key = "OPS-7";
  c.jira_url = "https://jira.example.com/browse/OPS-7";
  c.jira_status = "To Do";
  c.on_duty = duty_resolution{};
  auto ev = event_of(m.step(c, t0));
  EXPECT_EQ(ev.id, "R1/event/created");
  EXPECT_EQ(ev.data, (facts{{"requester", "carol"},
                            {"text", "my build is broken"},
                            {"status", "new"},
                            {"source", "jira"},
                            {"on_duty", ""},
                            {"permalink", "https://chat.example.com/channel/support?msg=root1"},
                            {"jira_key", "OPS-7"}}));
}

TEST(request_lifecycle_events, a_duplicate_created_publishes_nothing) {
  fixture f;
  EXPECT_TRUE(f.m.step(make_created(), t0 + 1s).empty());
}

// -- status -------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_events, status_changes_carry_from_to_first_response_resolution_and_reopen) {
  fixture f;
  auto first = event_of(f.m.step(reply("m1", "alice", "!dd status in_progress"), t0 + 1h));
  EXPECT_EQ(first.id, "R1/event/status/1");
  EXPECT_EQ(first.kind, "status_changed");
  EXPECT_EQ(first.at, t0 + 1h);
  EXPECT_EQ(first.data, (facts{{"from", "new"},
                               {"to", "in_progress"},
                               {"by", "alice"},
                               {"source", "chat"},
                               {"final", 0},
                               {"first_response_seconds", 3600}}));
  EXPECT_EQ(f.m.record().first_response_at, t0 + 1h);

  auto done = event_of(f.m.step(reply("m2", "alice", "!dd status done"), t0 + 3h));
  EXPECT_EQ(done.id, "R1/event/status/2");
  EXPECT_EQ(done.data, (facts{{"from", "in_progress"},
                              {"to", "done"},
                              {"by", "alice"},
                              {"source", "chat"},
                              {"final", 1},
                              {"resolution_seconds", 3 * 3600}}));
  EXPECT_EQ(f.m.record().resolved_at, t0 + 3h);

  auto reopen = event_of(f.m.step(reply("m3", "mia", "!dd status in_progress"), t0 + 4h));
  EXPECT_EQ(reopen.id, "R1/event/status/3");
  EXPECT_EQ(reopen.data, (facts{{"from", "done"},
                                {"to", "in_progress"},
                                {"by", "mia"},
                                {"source", "chat"},
                                {"final", 0},
                                {"reopened", 1}}));
  EXPECT_EQ(f.m.record().reopens, 1u);
  EXPECT_FALSE(f.m.record().resolved_at);

  auto again = event_of(f.m.step(reply("m4", "mia", "!dd status done"), t0 + 6h));
  EXPECT_EQ(again.id, "R1/event/status/4");
  EXPECT_EQ(again.data, (facts{{"from", "in_progress"},
                               {"to", "done"},
                               {"by", "mia"},
                               {"source", "chat"},
                               {"final", 1},
                               {"resolution_seconds", 6 * 3600}}));

  // Final to final: neither a resolution nor a reopen.
  auto other = event_of(f.m.step(reply("m5", "mia", "!dd status rejected"), t0 + 7h));
  EXPECT_EQ(other.id, "R1/event/status/5");
  EXPECT_EQ(other.data, (facts{{"from", "done"}, {"to", "rejected"}, {"by", "mia"}, {"source", "chat"}, {"final", 1}}));
  EXPECT_EQ(f.m.record().resolved_at, t0 + 6h);
}

TEST(request_lifecycle_events, the_requester_closing_is_no_first_response) {
  fixture f;
  auto ev = event_of(f.m.step(reply("m1", "carol", "!dd status done"), t0 + 2h));
  EXPECT_EQ(ev.data, (facts{{"from", "new"},
                            {"to", "done"},
                            {"by", "carol"},
                            {"source", "chat"},
                            {"final", 1},
                            {"resolution_seconds", 7200}}));
  EXPECT_FALSE(f.m.record().first_response_at);
}

TEST(request_lifecycle_events, a_status_from_jira_says_source_jira) {
  fixture f;
  auto ev = event_of(f.m.step(jira_status_changed{"c1", "In Progress", "Bob Builder"}, t0 + 30min));
  EXPECT_EQ(ev.id, "R1/event/status/1");
  EXPECT_EQ(ev.data, (facts{{"from", "new"},
                            {"to", "in_progress"},
                            {"by", "Bob Builder"},
                            {"source", "jira"},
                            {"final", 0},
                            {"first_response_seconds", 1800}}));
  EXPECT_EQ(only<persist>(f.m.step(jira_status_changed{"c2", "Done", "Bob Builder"}, t0 + 1h)).change->by,
            "jira:Bob Builder");
}

TEST(request_lifecycle_events, refusals_and_repeats_publish_nothing) {
  fixture f;
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m1", "eve", "!dd status done"), t0 + 1h)).empty());
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m2", "carol", "!dd status in_progress"), t0 + 1h)).empty());
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m3", "eve", "!dd assign @eve"), t0 + 1h)).empty());
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m4", "alice", "!dd help"), t0 + 1h)).empty());
  f.m.step(reply("m5", "alice", "!dd status in_progress"), t0 + 2h);
  EXPECT_TRUE(f.m.step(reply("m6", "alice", "!dd status in_progress"), t0 + 3h).empty());
  EXPECT_TRUE(f.m.step(reaction_added{"alice", ":eyes:"}, t0 + 3h).empty());
}

// -- comments -----------------------------------------------------------------------------------------------------

TEST(request_lifecycle_events, a_chat_comment_is_published_with_the_first_response_once) {
  fixture f;
  auto ev = event_of(f.m.step(reply("m1", "alice", "looking"), t0 + 10min));
  EXPECT_EQ(ev.id, "R1/event/comment/m1");
  EXPECT_EQ(ev.kind, "comment_added");
  EXPECT_EQ(ev.at, t0 + 10min);
  EXPECT_EQ(ev.data, (facts{{"side", "chat"},
                            {"author", "alice"},
                            {"message_id", "m1"},
                            {"text", "looking"},
                            {"first_response_seconds", 600}}));
  auto second = event_of(f.m.step(reply("m2", "mia", "me too"), t0 + 20min));
  EXPECT_EQ(second.id, "R1/event/comment/m2");
  EXPECT_EQ(second.data,
            (facts{{"side", "chat"}, {"author", "mia"}, {"message_id", "m2"}, {"text", "me too"}}));
  EXPECT_EQ(f.m.record().first_response_at, t0 + 10min);
}

TEST(request_lifecycle_events, the_requesters_comment_is_published_without_a_first_response) {
  fixture f;
  auto xs = f.m.step(reply("m1", "carol", "any news?"), t0 + 1h);
  ASSERT_EQ(xs.size(), 2u); // the record did not change, yet the event needs its transaction
  auto ev = std::get<publish_event>(xs[0]);
  EXPECT_EQ(ev.data, (facts{{"side", "chat"}, {"author", "carol"}, {"message_id", "m1"}, {"text", "any news?"}}));
  EXPECT_EQ(std::get<persist>(xs[1]).record, f.m.record());
}

TEST(request_lifecycle_events, commands_edits_and_the_bot_are_no_comments) {
  fixture f;
  EXPECT_TRUE(f.m.step(reply("m1", "dutydesk", "hello"), t0 + 1h).empty());
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m2", "alice", "!dd help"), t0 + 1h)).empty());
  auto edit = reply("m3", "alice", "typo fixed");
  edit.edited = true;
  EXPECT_TRUE(f.m.step(edit, t0 + 1h).empty());
}

TEST(request_lifecycle_events, a_jira_comment_is_published_with_side_jira) {
  fixture f;
  auto ev = event_of(f.m.step(jira_comment_added{"10001", "Bob Builder", "on it"}, t0 + 5min));
  EXPECT_EQ(ev.id, "R1/event/jira-comment/10001");
  EXPECT_EQ(ev.kind, "comment_added");
  EXPECT_EQ(ev.data, (facts{{"side", "jira"},
                            {"author", "Bob Builder"},
                            {"comment_id", "10001"},
                            {"text", "on it"},
                            {"first_response_seconds", 300}}));
  // A chat comment with the same id is another event.
  EXPECT_EQ(event_of(f.m.step(reply("10001", "alice", "ok"), t0 + 6min)).id, "R1/event/comment/10001");
}

// -- assign and move ----------------------------------------------------------------------------------------------

TEST(request_lifecycle_events, an_assignment_in_chat_and_in_jira) {
  fixture f;
  auto ev = event_of(f.m.step(reply("m1", "alice", "!dd assign @bob"), t0 + 15min));
  EXPECT_EQ(ev.id, "R1/event/assign/m1");
  EXPECT_EQ(ev.kind, "assigned");
  EXPECT_EQ(ev.data, (facts{{"side", "chat"}, {"assignee", "bob"}, {"by", "alice"}, {"first_response_seconds", 900}}));
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m2", "alice", "!dd assign @bob"), t0 + 20min)).empty());

  auto jira = event_of(f.m.step(jira_assignee_changed{"a7", "Bob Builder"}, t0 + 1h));
  EXPECT_EQ(jira.id, "R1/event/jira-assign/a7");
  EXPECT_EQ(jira.kind, "assigned");
  EXPECT_EQ(jira.data, (facts{{"side", "jira"}, {"assignee", "Bob Builder"}, {"by", "jira"}}));
  auto none = event_of(f.m.step(jira_assignee_changed{"a8", ""}, t0 + 2h));
  EXPECT_EQ(none.id, "R1/event/jira-assign/a8");
  EXPECT_EQ(none.data, (facts{{"side", "jira"}, {"assignee", ""}, {"by", "jira"}}));
}

TEST(request_lifecycle_events, a_move_is_published_when_the_repost_exists_and_the_thread_then_goes_quiet) {
  fixture f;
  auto start = f.m.step(reply("m1", "alice", "!dd move #triage"), t0 + 1h);
  EXPECT_TRUE(all<publish_event>(start).empty());
  auto ev = event_of(f.m.step(moved{"https://chat.example.com/channel/triage?msg=x9"}, t0 + 1h + 1s));
  EXPECT_EQ(ev.id, "R1/event/moved");
  EXPECT_EQ(ev.kind, "moved");
  EXPECT_EQ(ev.at, t0 + 1h + 1s);
  EXPECT_EQ(ev.data, (facts{{"to", "triage"},
                            {"to_team", "billing"},
                            {"by", "alice"},
                            {"permalink", "https://chat.example.com/channel/triage?msg=x9"}}));
  EXPECT_TRUE(f.m.step(moved{"again"}, t0 + 2h).empty());
  EXPECT_TRUE(all<publish_event>(f.m.step(reply("m2", "alice", "still there?"), t0 + 2h)).empty());
  EXPECT_TRUE(f.m.step(jira_comment_added{"10002", "Bob", "hi"}, t0 + 2h).empty());
  EXPECT_TRUE(f.m.step(jira_assignee_changed{"a9", "Bob"}, t0 + 2h).empty());
}

// -- rated --------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_events, a_rating_is_published_per_round) {
  fixture f;
  f.m.step(reply("m1", "alice", "!dd status done"), t0 + 2h);
  auto ev = event_of(f.m.step(survey_answer{"d1", "carol", 5}, t0 + 3h));
  EXPECT_EQ(ev.id, "R1/event/rated/1");
  EXPECT_EQ(ev.kind, "rated");
  EXPECT_EQ(ev.at, t0 + 3h);
  EXPECT_EQ(ev.data, (facts{{"rating", 5}, {"round", 1}, {"on_duty", "alice"}, {"resolution_seconds", 7200}}));
  f.m.step(reply("m2", "alice", "!dd status in_progress"), t0 + 4h);
  f.m.step(reply("m3", "alice", "!dd status done"), t0 + 5h);
  EXPECT_EQ(event_of(f.m.step(survey_answer{"d2", "carol", 3}, t0 + 6h)).id, "R1/event/rated/2");
}

// -- ids and the events switch ------------------------------------------------------------------------------------

namespace {

/// One life of R1 touching every kind of event.
std::vector<std::string> event_ids(lifecycle_params p) {
  request_lifecycle m{std::move(p)};
  std::vector<effect> xs;
  auto run = [&](const event& e, timestamp at) {
    auto step = m.step(e, at);
    xs.insert(xs.end(), step.begin(), step.end());
  };
  run(make_created(), t0);
  run(reply("m1", "alice", "looking"), t0 + 1min);
  run(jira_comment_added{"10001", "Bob", "from jira"}, t0 + 2min);
  run(reply("m2", "alice", "!dd assign @bob"), t0 + 3min);
  run(jira_assignee_changed{"a1", "Bob"}, t0 + 4min);
  run(reply("m3", "bob", "!dd status in_progress"), t0 + 5min);
  run(reply("m4", "bob", "!dd status done"), t0 + 6min);
  run(survey_answer{"d1", "carol", 4}, t0 + 7min);
  run(reply("m5", "bob", "!dd status in_progress"), t0 + 8min);
  run(reply("m6", "bob", "!dd status done"), t0 + 9min);
  run(survey_answer{"d2", "carol", 5}, t0 + 10min);
  run(reply("m7", "bob", "!dd move #triage"), t0 + 11min);
  run(moved{"https://chat.example.com/channel/triage?msg=x9"}, t0 + 12min);
  std::vector<std::string> ids;
  for (const auto& e : all<publish_event>(xs))
    ids.push_back(e.id);
  return ids;
}

} // namespace

TEST(request_lifecycle_events, ids_are_stable_and_unique) {
  auto ids = event_ids(params());
  EXPECT_EQ(ids, (std::vector<std::string>{"R1/event/created",
                                           "R1/event/comment/m1",
                                           "R1/event/jira-comment/10001",
                                           "R1/event/assign/m2",
                                           "R1/event/jira-assign/a1",
                                           "R1/event/status/1",
                                           "R1/event/status/2",
                                           "R1/event/rated/1",
                                           "R1/event/status/3",
                                           "R1/event/status/4",
                                           "R1/event/rated/2",
                                           "R1/event/moved"}));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(event_ids(params()), ids); // the same life yields the same ids
}

TEST(request_lifecycle_events, a_restored_request_continues_the_status_ids) {
  fixture f;
  f.m.step(reply("m1", "alice", "!dd status in_progress"), t0 + 1h);
  request_lifecycle m{params()};
  m.step(restored{f.m.record()}, t0 + 2h);
  EXPECT_EQ(event_of(m.step(reply("m2", "alice", "!dd status done"), t0 + 3h)).id, "R1/event/status/2");
}

TEST(request_lifecycle_events, events_are_published_whatever_params_events_says) {
  // The effect is also the metrics hook: the actor decides whether an outbox row is written, the machine always
  // publishes.
  auto off = params();
  off.events = false;
  EXPECT_EQ(event_ids(off), event_ids(params()));
  fixture f{off};
  auto ev = event_of(f.m.step(reply("m1", "alice", "!dd status done"), t0 + 1h));
  EXPECT_EQ(ev.id, "R1/event/status/1");
  EXPECT_EQ(ev.data, (facts{{"from", "new"},
                            {"to", "done"},
                            {"by", "alice"},
                            {"source", "chat"},
                            {"final", 1},
                            {"first_response_seconds", 3600},
                            {"resolution_seconds", 3600}}));
}
