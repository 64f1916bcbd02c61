// The Jira side of the request lifecycle: which jira_action effects a step asks for, and what Jira's own changes do
// to the request.
#include "domain/request_lifecycle.hpp"
#include "lifecycle_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace dutydesk::domain;
using namespace dutydesk::domain::test;

namespace {

lifecycle_params jira_params() {
  lifecycle_params p;
  p.statuses = {{"new", "New", ":new:", false, "To Do"},
                {"in_progress", "In progress", ":eyes:", false, "In Progress"},
                {"waiting", "Waiting", ":hourglass:", false, ""},
                {"done", "Done", ":white_check_mark:", true, "Done"}};
  p.initial_status = "new";
  p.members = {"mia"};
  p.bot_user = "dutydesk";
  p.jira = true;
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
  request_lifecycle m{jira_params()};
  std::vector<effect> intro;
  fixture() { intro = m.step(make_created(), t0); }
  void link() { m.step(jira_linked{"CICD-7", "https://jira.example.com/browse/CICD-7", "To Do"}, t0); }
};

} // namespace

TEST(request_lifecycle_jira, created_asks_for_the_issue_and_the_on_duty_as_assignee_before_the_persist) {
  fixture f;
  auto actions = all<jira_action>(f.intro);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].key, "R1/jira/create");
  EXPECT_EQ(actions[0].kind, jira_kind::create);
  EXPECT_EQ(actions[0].text, "my build is broken");
  EXPECT_EQ(actions[0].author, "carol");
  EXPECT_EQ(actions[0].issue_key, "");
  EXPECT_EQ(actions[1].key, "R1/jira/assign/0");
  EXPECT_EQ(actions[1].kind, jira_kind::assign);
  EXPECT_EQ(actions[1].author, "alice");
  EXPECT_TRUE(std::holds_alternative<persist>(f.intro.back())); // the outbox rows ride in this persist
}

TEST(request_lifecycle_jira, without_the_mirror_no_action_and_the_same_effects_as_before) {
  auto p = jira_params();
  p.jira = false;
  request_lifecycle m{p};
  auto xs = m.step(make_created(), t0);
  EXPECT_TRUE(all<jira_action>(xs).empty());
  EXPECT_EQ(xs.size(), 5u); // reaction, intro, arm, the created event, persist
  auto st = m.step(reply("m1", "alice", "!dd status in_progress"), t0 + 1s);
  EXPECT_TRUE(all<jira_action>(st).empty());
  EXPECT_EQ(m.record().jira_status, "");
}

TEST(request_lifecycle_jira, linked_posts_the_link_once) {
  fixture f;
  auto xs = f.m.step(jira_linked{"CICD-7", "https://jira.example.com/browse/CICD-7", "To Do"}, t0);
  auto posts = all<post_thread>(xs);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].key, "R1/jira/link");
  EXPECT_EQ(posts[0].text, "Jira: [CICD-7](https://jira.example.com/browse/CICD-7)");
  EXPECT_EQ(f.m.record().jira_key, "CICD-7");
  EXPECT_EQ(f.m.record().jira_status, "To Do");
  ASSERT_EQ(all<persist>(xs).size(), 1u);
  EXPECT_TRUE(f.m.step(jira_linked{"CICD-7", "u", "To Do"}, t0).empty()); // a replayed answer changes nothing
}

TEST(request_lifecycle_jira, every_plain_reply_by_a_person_is_one_comment_commands_and_the_bot_are_not) {
  fixture f;
  auto r = reply("m1", "carol", "it fails at step 3");
  r.author_name = "Carol Chen";
  auto xs = f.m.step(r, t0 + 1s);
  auto actions = all<jira_action>(xs);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].key, "R1/jira/comment/m1");
  EXPECT_EQ(actions[0].kind, jira_kind::comment);
  EXPECT_EQ(actions[0].message_id, "m1");
  EXPECT_EQ(actions[0].author, "carol");
  EXPECT_EQ(actions[0].author_name, "Carol Chen");
  EXPECT_EQ(actions[0].text, "it fails at step 3");
  EXPECT_EQ(all<persist>(xs).size(), 1u); // the requester's reply changes no state, but the outbox row is written
  EXPECT_TRUE(all<jira_action>(f.m.step(reply("m2", "dutydesk", "bot text"), t0 + 2s)).empty());
  EXPECT_TRUE(all<jira_action>(f.m.step(reply("m3", "alice", "!dd help"), t0 + 3s)).empty());
}

TEST(request_lifecycle_jira, an_edit_updates_the_comment_once_per_version_and_does_nothing_else) {
  fixture f;
  f.m.step(reply("m1", "alice", "looking"), t0 + 1s);
  auto before = f.m.record();
  auto e = reply("m1", "alice", "looking into it");
  e.edited = true;
  auto xs = f.m.step(e, t0 + 2s);
  auto actions = all<jira_action>(xs);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, jira_kind::edit_comment);
  EXPECT_EQ(actions[0].text, "looking into it");
  EXPECT_EQ(actions[0].key.rfind("R1/jira/edit/m1/", 0), 0u);
  EXPECT_TRUE(all<arm_reminder>(xs).empty()); // no second count as activity
  auto again = f.m.step(e, t0 + 3s);
  EXPECT_EQ(all<jira_action>(again).at(0).key, actions[0].key); // same version, same key: the outbox ignores it
  auto other = e;
  other.text = "fixed";
  EXPECT_NE(all<jira_action>(f.m.step(other, t0 + 4s)).at(0).key, actions[0].key);
  auto cmd = reply("m9", "alice", "!dd status done");
  cmd.edited = true;
  EXPECT_TRUE(f.m.step(cmd, t0 + 5s).empty()); // an edited command is not run again
  EXPECT_EQ(f.m.record().status, before.status);
}

TEST(request_lifecycle_jira, a_chat_status_change_asks_for_the_transition_to_its_jira_status) {
  fixture f;
  f.link();
  auto xs = f.m.step(reply("m1", "alice", "!dd status in_progress"), t0 + 1s);
  auto actions = all<jira_action>(xs);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].key, "R1/jira/transition/1");
  EXPECT_EQ(actions[0].kind, jira_kind::transition);
  EXPECT_EQ(actions[0].jira_status, "In Progress");
  EXPECT_EQ(f.m.record().jira_status, "In Progress");
  // A status without a Jira mapping transitions nothing.
  EXPECT_TRUE(all<jira_action>(f.m.step(reply("m2", "alice", "!dd status waiting"), t0 + 2s)).empty());
  auto done = all<jira_action>(f.m.step(reply("m3", "alice", "!dd status done"), t0 + 3s));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].key, "R1/jira/transition/3");
  EXPECT_EQ(done[0].jira_status, "Done");
}

TEST(request_lifecycle_jira, a_jira_transition_takes_the_mapped_status_without_a_transition_back) {
  fixture f;
  f.link();
  auto xs = f.m.step(jira_status_changed{"h1", "In Progress", "Carol Chen"}, t0 + 1s);
  EXPECT_TRUE(all<jira_action>(xs).empty());
  EXPECT_EQ(f.m.record().status, "in_progress");
  EXPECT_EQ(f.m.record().jira_status, "In Progress");
  auto posts = all<post_thread>(xs);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].text, "Carol Chen changed the status in Jira (CICD-7): New → In progress.");
  auto reactions = all<add_reaction>(xs);
  ASSERT_EQ(reactions.size(), 1u);
  EXPECT_EQ(reactions[0].emoji, ":eyes:");
  ASSERT_EQ(all<remove_reaction>(xs).size(), 1u);
  auto saved = all<persist>(xs);
  ASSERT_EQ(saved.size(), 1u);
  ASSERT_TRUE(saved[0].change);
  EXPECT_EQ(saved[0].change->by, "jira:Carol Chen");
  // The echo of our own transition (the status we asked for) changes nothing.
  f.m.step(reply("m1", "alice", "!dd status done"), t0 + 2s);
  EXPECT_TRUE(f.m.step(jira_status_changed{"h2", "Done", "DutyDesk Bot"}, t0 + 3s).empty());
  EXPECT_EQ(f.m.record().status, "done");
}

// Found by the chaos run: the bridge read the issue (To Do) and compared it with the request's jira_status, then the
// request took "in progress" in chat and asked for the transition, then the read arrived: it flipped the chat status
// back ("Jira changed the status in Jira: In progress → New") and a later poll flipped it forth again.
TEST(request_lifecycle_jira, a_status_read_before_a_transition_the_request_asked_for_since_is_dropped) {
  fixture f;
  f.link();
  ASSERT_EQ(f.m.record().jira_status, "To Do");
  f.m.step(reply("m1", "alice", "!dd status in_progress"), t0 + 1s);
  ASSERT_EQ(f.m.record().jira_status, "In Progress");
  EXPECT_TRUE(f.m.step(jira_status_changed{"p1", "To Do", "Jira", std::string{"To Do"}}, t0 + 2s).empty());
  EXPECT_EQ(f.m.record().status, "in_progress");
  EXPECT_EQ(f.m.record().jira_status, "In Progress");
  // A read made knowing the request's current ask is news: someone moved the issue on in Jira.
  auto xs = f.m.step(jira_status_changed{"p2", "Done", "Jira", std::string{"In Progress"}}, t0 + 3s);
  EXPECT_EQ(f.m.record().status, "done");
  ASSERT_EQ(all<post_thread>(xs).size(), 1u);
  EXPECT_EQ(all<post_thread>(xs)[0].text, "Jira changed the status in Jira (CICD-7): In progress → Done.");
  // Without `seen` (a caller that did not compare) the read is taken as it is.
  f.m.step(jira_status_changed{"p3", "To Do", "Carol Chen"}, t0 + 4s);
  EXPECT_EQ(f.m.record().status, "new");
}

TEST(request_lifecycle_jira, an_unmapped_jira_status_is_noted_and_the_status_stays) {
  fixture f;
  f.link();
  auto xs = f.m.step(jira_status_changed{"h1", "Blocked", "Carol Chen"}, t0 + 1s);
  auto posts = all<post_thread>(xs);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].key, "R1/jira/status/h1");
  EXPECT_EQ(posts[0].text,
            "CICD-7 moved to \"Blocked\" in Jira; no chat status maps to it, so the status here stays.");
  EXPECT_EQ(f.m.record().status, "new");
  EXPECT_EQ(f.m.record().jira_status, "Blocked");
  // Back to a mapped status from there: the request follows.
  f.m.step(jira_status_changed{"h2", "Done", "Carol Chen"}, t0 + 2s);
  EXPECT_EQ(f.m.record().status, "done");
}

TEST(request_lifecycle_jira, jira_comments_assignees_and_problems_become_keyed_notes) {
  fixture f;
  f.link();
  auto c = all<post_thread>(f.m.step(jira_comment_added{"10042", "Carol Chen", "try again now"}, t0 + 1s));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].key, "R1/jira/comment-in/10042");
  EXPECT_EQ(c[0].text, "Carol Chen (Jira): try again now");
  auto a = all<post_thread>(f.m.step(jira_assignee_changed{"h5", "Bob Smith"}, t0 + 2s));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].key, "R1/jira/assignee/h5");
  EXPECT_EQ(a[0].text, "CICD-7 was assigned to Bob Smith in Jira.");
  auto u = all<post_thread>(f.m.step(jira_assignee_changed{"h6", ""}, t0 + 3s));
  EXPECT_EQ(u.at(0).text, "CICD-7 is unassigned in Jira now.");
  auto p = all<post_thread>(f.m.step(jira_problem{"create", "required field Service (customfield_10100)"}, t0));
  EXPECT_EQ(p.at(0).key, "R1/jira/problem/create");
  EXPECT_EQ(p.at(0).text, "Jira: required field Service (customfield_10100)");
}

TEST(request_lifecycle_jira, assign_command_reassigns_in_jira) {
  fixture f;
  auto actions = all<jira_action>(f.m.step(reply("m4", "mia", "!dd assign @bob"), t0 + 1s));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].key, "R1/jira/assign/m4");
  EXPECT_EQ(actions[0].author, "bob");
}

TEST(request_lifecycle_jira, a_request_born_in_jira_links_its_issue_at_once) {
  request_lifecycle m{jira_params()};
  auto c = make_created();
  c.jira_key = "CICD-42";
  c.jira_url = "https://jira.example.com/browse/CICD-42";
  c.jira_status = "To Do";
  auto xs = m.step(c, t0);
  EXPECT_EQ(m.record().jira_key, "CICD-42");
  auto actions = all<jira_action>(xs);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].kind, jira_kind::create);
  EXPECT_EQ(actions[0].issue_key, "CICD-42"); // the bridge links the existing issue instead of creating one
  bool link_posted = false;
  for (const auto& p : all<post_thread>(xs))
    link_posted = link_posted || p.key == "R1/jira/link";
  EXPECT_TRUE(link_posted);
}
