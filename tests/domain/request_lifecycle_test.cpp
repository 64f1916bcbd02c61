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

lifecycle_params params() {
  lifecycle_params p;
  p.statuses = {{"new", "New", ":new:", false},
                {"in_progress", "In progress", ":eyes:", false},
                {"done", "Done", ":white_check_mark:", true},
                {"rejected", "Rejected", "", true}};
  p.initial_status = "new";
  p.members = {"mia"};
  p.fallback = {"lead"};
  p.remind_after = 4h;
  p.bot_user = "dutydesk";
  p.channels = {{"support", {"support-svc"}}, {"triage", {"billing-api"}}};
  return p;
}

int msg_counter = 0;

thread_reply reply(std::string author, std::string text) {
  return thread_reply{"m" + std::to_string(++msg_counter), std::move(author), std::move(text)};
}

struct fixture {
  request_lifecycle m{params()};
  std::vector<effect> intro;
  fixture() { intro = m.step(make_created(), t0); }
  std::uint64_t epoch() const { return m.record().reminder_epoch; }
};

} // namespace

TEST(request_lifecycle, created_posts_intro_with_buttons_reaction_and_arms_reminder) {
  fixture f;
  auto& xs = f.intro;
  ASSERT_EQ(xs.size(), 5u);
  auto r = std::get<add_reaction>(xs[0]);
  EXPECT_EQ(r.emoji, ":new:");
  EXPECT_EQ(r.key, "R1/status/0-add");
  auto p = std::get<post_thread>(xs[1]);
  EXPECT_EQ(p.key, "R1/intro");
  EXPECT_EQ(p.tmpl, template_id::thread_intro);
  EXPECT_EQ(p.text, "@alice new request from @carol · Status: New");
  EXPECT_EQ(p.mentions, std::vector<std::string>{"alice"});
  ASSERT_EQ(p.buttons.size(), 4u);
  EXPECT_EQ(p.buttons[0], (button{"New", "!dd status new", true}));
  EXPECT_EQ(p.buttons[1], (button{"In progress", "!dd status in_progress", true}));
  EXPECT_EQ(p.buttons[3], (button{"Rejected", "!dd status rejected", true}));
  auto a = std::get<arm_reminder>(xs[2]);
  EXPECT_EQ(a.deadline, t0 + 4h);
  EXPECT_EQ(a.epoch, f.epoch());
  auto ev = std::get<publish_event>(xs[3]);
  EXPECT_EQ(ev.id, "R1/event/created");
  EXPECT_EQ(ev.kind, "created");
  EXPECT_EQ(ev.at, t0);
  auto s = std::get<persist>(xs[4]);
  EXPECT_EQ(s.record.status, "new");
  EXPECT_EQ(s.record.created_at, t0);
  EXPECT_EQ(s.record.phase, request_phase::active);
  ASSERT_TRUE(s.change);
  EXPECT_EQ(s.change->from, "");
  EXPECT_EQ(s.change->to, "new");
  EXPECT_EQ(s.record, f.m.record());
}

TEST(request_lifecycle, created_with_fallback_says_why) {
  request_lifecycle m{params()};
  auto c = make_created();
  c.on_duty = duty_resolution{{"lead"}, duty_source::empty, "nobody on call", true};
  auto p = only<post_thread>(m.step(c, t0));
  EXPECT_EQ(p.tmpl, template_id::thread_intro_fallback);
  EXPECT_EQ(p.text, "@lead new request from @carol (no on-duty from OnCall: nobody on call) · Status: New");
}

TEST(request_lifecycle, russian_texts) {
  auto p = params();
  p.lang = language::ru;
  request_lifecycle m{p};
  EXPECT_EQ(only<post_thread>(m.step(make_created(), t0)).text, "@alice новый запрос от @carol · Статус: New");
}

TEST(request_lifecycle, duplicate_created_is_ignored) {
  fixture f;
  EXPECT_TRUE(f.m.step(make_created(), t0 + 1s).empty());
}

TEST(request_lifecycle, on_duty_changes_status_swaps_the_reaction) {
  fixture f;
  auto xs = f.m.step(reply("alice", "!dd status in_progress"), t0 + 1h);
  auto removed = only<remove_reaction>(xs);
  auto added = only<add_reaction>(xs);
  EXPECT_EQ(removed.emoji, ":new:");
  EXPECT_EQ(added.emoji, ":eyes:");
  EXPECT_EQ(removed.key, "R1/status/1-remove");
  EXPECT_EQ(added.key, "R1/status/1-add");
  auto note = only<post_thread>(xs);
  EXPECT_EQ(note.text, "@alice changed the status: New → In progress.");
  EXPECT_EQ(note.key, "R1/status/1-note");
  auto m = only<mirror_status_change>(xs);
  EXPECT_EQ(m.change.from, "new");
  EXPECT_EQ(m.change.to, "in_progress");
  EXPECT_EQ(m.change.by, "alice");
  EXPECT_EQ(m.change.at, t0 + 1h);
  EXPECT_EQ(only<arm_reminder>(xs).deadline, t0 + 5h);
  auto s = only<persist>(xs);
  EXPECT_EQ(s.record.status, "in_progress");
  ASSERT_TRUE(s.change);
  EXPECT_EQ(s.change->seq, 1u);
  EXPECT_TRUE(std::holds_alternative<persist>(xs.back())); // storage is written last
  EXPECT_TRUE(all<request_final>(xs).empty());
}

TEST(request_lifecycle, status_ids_are_case_insensitive) {
  fixture f;
  f.m.step(reply("mia", "!DD STATUS In_Progress"), t0 + 1h);
  EXPECT_EQ(f.m.record().status, "in_progress");
}

TEST(request_lifecycle, member_may_change_status) {
  fixture f;
  f.m.step(reply("mia", "!dd status done"), t0 + 1h);
  EXPECT_EQ(f.m.record().status, "done");
}

TEST(request_lifecycle, same_status_again_has_no_effects) {
  fixture f;
  f.m.step(reply("alice", "!dd status in_progress"), t0 + 1h);
  auto before = f.m.record();
  EXPECT_TRUE(f.m.step(reply("alice", "!dd status in_progress"), t0 + 2h).empty());
  EXPECT_TRUE(f.m.step(reply("carol", "!dd status in_progress"), t0 + 2h).empty());
  EXPECT_TRUE(f.m.step(reaction_added{"mia", ":eyes:"}, t0 + 2h).empty());
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle, stranger_is_refused_by_dm_and_nothing_changes) {
  fixture f;
  auto before = f.m.record();
  auto e = reply("eve", "!dd status done");
  auto xs = f.m.step(e, t0 + 1h);
  ASSERT_EQ(xs.size(), 1u);
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.user, "eve");
  EXPECT_EQ(dm.tmpl, template_id::refused_status);
  EXPECT_EQ(dm.key, "R1/reply/" + e.message_id + "-refused");
  EXPECT_NE(dm.text.find("R1"), std::string::npos);
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle, requester_may_only_set_a_final_status) {
  fixture f;
  auto before = f.m.record();
  auto xs = f.m.step(reply("carol", "!dd status in_progress"), t0 + 1h);
  ASSERT_EQ(xs.size(), 1u);
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.user, "carol");
  EXPECT_EQ(dm.tmpl, template_id::refused_requester);
  EXPECT_EQ(dm.text, "On your own request R1 you may only set a final status: done, rejected.");
  EXPECT_EQ(f.m.record(), before);

  xs = f.m.step(reply("carol", "!dd status done"), t0 + 2h);
  EXPECT_EQ(f.m.record().status, "done");
  EXPECT_EQ(only<request_final>(xs).status, "done");
}

TEST(request_lifecycle, another_users_final_status_is_refused) {
  fixture f;
  auto xs = f.m.step(reply("dave", "!dd status done"), t0 + 1h);
  EXPECT_EQ(only<dm_user>(xs).tmpl, template_id::refused_status);
  EXPECT_EQ(f.m.record().status, "new");
}

TEST(request_lifecycle, final_status_fires_hooks_and_stops_reminders) {
  fixture f;
  auto epoch = f.epoch();
  auto xs = f.m.step(reply("alice", "!dd status done"), t0 + 1h);
  EXPECT_EQ(only<request_final>(xs).requester, "carol");
  auto c = only<cancel_reminders>(xs);
  EXPECT_GT(c.epoch, epoch);
  EXPECT_TRUE(all<arm_reminder>(xs).empty());
  EXPECT_FALSE(f.m.record().reminder_deadline);
  EXPECT_TRUE(f.m.step(reminder_due{epoch}, t0 + 4h).empty());
  EXPECT_TRUE(f.m.step(reminder_due{c.epoch}, t0 + 4h).empty());
  // Staff chatting on a closed request does not re-arm.
  EXPECT_TRUE(all<arm_reminder>(f.m.step(reply("alice", "thanks"), t0 + 5h)).empty());
}

TEST(request_lifecycle, status_without_emoji_removes_the_old_reaction_only) {
  fixture f;
  auto xs = f.m.step(reply("alice", "!dd status rejected"), t0 + 1h);
  EXPECT_EQ(only<remove_reaction>(xs).emoji, ":new:");
  EXPECT_TRUE(all<add_reaction>(xs).empty());
}

TEST(request_lifecycle, reopening_from_final_rearms) {
  fixture f;
  f.m.step(reply("alice", "!dd status done"), t0 + 1h);
  auto xs = f.m.step(reply("mia", "!dd status in_progress"), t0 + 2h);
  EXPECT_EQ(only<remove_reaction>(xs).emoji, ":white_check_mark:");
  EXPECT_EQ(only<add_reaction>(xs).emoji, ":eyes:");
  auto a = only<arm_reminder>(xs);
  EXPECT_EQ(a.deadline, t0 + 6h);
  EXPECT_EQ(only<post_thread>(f.m.step(reminder_due{a.epoch}, t0 + 6h)).tmpl, template_id::reminder);
}

TEST(request_lifecycle, unknown_status_gets_a_note) {
  fixture f;
  auto p = only<post_thread>(f.m.step(reply("alice", "!dd status bogus"), t0 + 1h));
  EXPECT_EQ(p.tmpl, template_id::unknown_status);
  EXPECT_EQ(p.text, "Unknown status \"bogus\". Statuses: new, in_progress, done, rejected.");
  EXPECT_EQ(f.m.record().status, "new");
}

TEST(request_lifecycle, unknown_command_and_help_get_the_help_text) {
  fixture f;
  for (auto text : {"!dd frobnicate", "!dd help", "!dd"}) {
    auto xs = f.m.step(reply("eve", text), t0 + 1h);
    ASSERT_EQ(xs.size(), 1u) << text;
    auto p = std::get<post_thread>(xs[0]);
    EXPECT_EQ(p.tmpl, template_id::help);
    EXPECT_NE(p.text.find("!dd status <id>"), std::string::npos);
    EXPECT_NE(p.text.find("!dd move"), std::string::npos);
    EXPECT_NE(p.text.find("!dd assign"), std::string::npos);
    EXPECT_NE(p.text.find("new, in_progress, done, rejected"), std::string::npos);
  }
}

TEST(request_lifecycle, a_rating_in_the_thread_without_a_survey_is_answered_in_a_dm) {
  fixture f;
  auto xs = f.m.step(reply("carol", "!dd rate R1 5"), t0 + 1h);
  auto dm = only<dm_user>(xs);
  EXPECT_EQ(dm.tmpl, template_id::rating_closed);
  EXPECT_EQ(dm.user, "carol");
  EXPECT_TRUE(f.m.step(reply("carol", "!dd rate OTHER 5"), t0 + 1h).empty()); // another request's: not ours
}

TEST(request_lifecycle, bot_messages_in_thread_are_ignored) {
  fixture f;
  EXPECT_TRUE(f.m.step(reply("dutydesk", "!dd status done"), t0 + 1h).empty());
  EXPECT_EQ(f.m.record().status, "new");
}

// -- reactions ----------------------------------------------------------------------------------------------------

TEST(request_lifecycle, on_duty_reaction_sets_status) {
  fixture f;
  auto xs = f.m.step(reaction_added{"alice", ":eyes:"}, t0 + 1h);
  EXPECT_EQ(f.m.record().status, "in_progress");
  EXPECT_EQ(only<remove_reaction>(xs).emoji, ":new:");
  EXPECT_EQ(only<add_reaction>(xs).emoji, ":eyes:");
  EXPECT_EQ(only<mirror_status_change>(xs).change.by, "alice");
}

TEST(request_lifecycle, member_reaction_sets_status_and_config_emoji_without_colons_matches) {
  auto p = params();
  p.statuses[2].emoji = "white_check_mark";
  request_lifecycle m{p};
  m.step(make_created(), t0);
  m.step(reaction_added{"mia", ":white_check_mark:"}, t0 + 1h);
  EXPECT_EQ(m.record().status, "done");
}

TEST(request_lifecycle, reactions_from_others_or_unknown_emojis_are_ignored) {
  fixture f;
  auto before = f.m.record();
  EXPECT_TRUE(f.m.step(reaction_added{"carol", ":white_check_mark:"}, t0 + 1h).empty()); // requester
  EXPECT_TRUE(f.m.step(reaction_added{"eve", ":eyes:"}, t0 + 1h).empty());
  EXPECT_TRUE(f.m.step(reaction_added{"dutydesk", ":eyes:"}, t0 + 1h).empty()); // the bot's own
  EXPECT_TRUE(f.m.step(reaction_added{"alice", ":tada:"}, t0 + 1h).empty());
  EXPECT_TRUE(f.m.step(reaction_removed{"alice", ":new:"}, t0 + 1h).empty());
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle, bot_user_is_a_parameter) {
  auto p = params();
  p.bot_user = "helper";
  p.members.push_back("dutydesk");
  request_lifecycle m{p};
  m.step(make_created(), t0);
  EXPECT_TRUE(m.step(reaction_added{"helper", ":eyes:"}, t0 + 1h).empty());
  EXPECT_FALSE(m.step(reaction_added{"dutydesk", ":eyes:"}, t0 + 1h).empty());
}

// -- reminders ----------------------------------------------------------------------------------------------------

TEST(request_lifecycle, no_reminder_at_3h59m_one_at_4h) {
  fixture f;
  auto a = only<arm_reminder>(f.intro);
  auto early = f.m.step(reminder_due{a.epoch}, t0 + 3h + 59min);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(std::get<arm_reminder>(early[0]).deadline, t0 + 4h); // the same timer, kept alive
  EXPECT_EQ(std::get<arm_reminder>(early[0]).epoch, a.epoch);

  auto xs = f.m.step(reminder_due{a.epoch}, t0 + 4h);
  auto p = only<post_thread>(xs);
  EXPECT_EQ(p.tmpl, template_id::reminder);
  EXPECT_EQ(p.key, "R1/reminder/1");
  EXPECT_EQ(p.mentions, std::vector<std::string>{"alice"});
  EXPECT_EQ(p.text, "@alice reminder: this request has had no answer for 4h. Status: New.");
  EXPECT_EQ(p.buttons, status_buttons(params().statuses));
  auto next = only<arm_reminder>(xs);
  EXPECT_EQ(next.deadline, t0 + 8h);
  EXPECT_GT(next.epoch, a.epoch);
  EXPECT_EQ(only<persist>(xs).record.reminders_sent, 1u);
  // The fired timer again (a duplicate delivery) is stale now.
  EXPECT_TRUE(f.m.step(reminder_due{a.epoch}, t0 + 4h).empty());
}

TEST(request_lifecycle, second_unanswered_reminder_tags_the_fallback) {
  fixture f;
  auto first = only<arm_reminder>(f.m.step(reminder_due{f.epoch()}, t0 + 4h));
  auto xs = f.m.step(reminder_due{first.epoch}, t0 + 8h);
  auto p = only<post_thread>(xs);
  EXPECT_EQ(p.tmpl, template_id::reminder_escalated);
  EXPECT_EQ(p.key, "R1/reminder/2");
  EXPECT_EQ(p.mentions, (std::vector<std::string>{"alice", "lead"}));
  EXPECT_NE(p.text.find("@alice @lead"), std::string::npos);
  EXPECT_FALSE(p.buttons.empty());
}

TEST(request_lifecycle, staff_activity_rearms_and_resets_the_escalation) {
  fixture f;
  f.m.step(reminder_due{f.epoch()}, t0 + 4h);
  auto old_epoch = f.epoch();
  auto xs = f.m.step(reply("alice", "looking into it"), t0 + 5h);
  ASSERT_EQ(xs.size(), 3u); // the comment event, the re-arm, the persist
  EXPECT_EQ(std::get<publish_event>(xs[0]).kind, "comment_added");
  auto a = std::get<arm_reminder>(xs[1]);
  EXPECT_EQ(a.deadline, t0 + 9h);
  EXPECT_TRUE(std::holds_alternative<persist>(xs[2]));
  EXPECT_TRUE(f.m.step(reminder_due{old_epoch}, t0 + 8h).empty()); // the old timer is stale
  EXPECT_TRUE(f.m.step(reminder_due{a.epoch}, t0 + 8h + 59min).size() == 1u); // just re-armed
  EXPECT_EQ(only<post_thread>(f.m.step(reminder_due{a.epoch}, t0 + 9h)).tmpl, template_id::reminder);
}

TEST(request_lifecycle, member_activity_rearms) {
  fixture f;
  auto a = only<arm_reminder>(f.m.step(reply("mia", "I'll take it"), t0 + 2h));
  EXPECT_EQ(a.deadline, t0 + 6h);
}

TEST(request_lifecycle, requester_replies_do_not_answer_the_reminder) {
  fixture f;
  auto epoch = f.epoch();
  for (auto [who, text] : {std::pair{"carol", "any news?"}, std::pair{"eve", "+1"}}) {
    auto xs = f.m.step(reply(who, text), t0 + 2h);
    ASSERT_EQ(xs.size(), 2u) << who; // only the comment event and its persist: no re-arm, no post
    EXPECT_EQ(std::get<publish_event>(xs[0]).kind, "comment_added");
    EXPECT_TRUE(std::holds_alternative<persist>(xs[1]));
  }
  EXPECT_FALSE(f.m.record().first_response_at); // neither the requester nor an outsider is a response
  EXPECT_EQ(only<post_thread>(f.m.step(reminder_due{epoch}, t0 + 4h)).tmpl, template_id::reminder);
  auto e2 = f.epoch();
  f.m.step(reply("carol", "hello?"), t0 + 5h);
  EXPECT_EQ(only<post_thread>(f.m.step(reminder_due{e2}, t0 + 8h)).tmpl, template_id::reminder_escalated);
}

TEST(request_lifecycle, status_change_rearms) {
  fixture f;
  auto a = only<arm_reminder>(f.m.step(reaction_added{"alice", ":eyes:"}, t0 + 3h));
  EXPECT_EQ(a.deadline, t0 + 7h);
  EXPECT_EQ(f.m.step(reminder_due{a.epoch}, t0 + 4h).size(), 1u); // only the keep-alive re-arm
}

TEST(request_lifecycle, reminder_mentions_the_assignee) {
  fixture f;
  f.m.step(reply("mia", "!dd assign @bob"), t0 + 1h);
  auto p = only<post_thread>(f.m.step(reminder_due{f.epoch()}, t0 + 5h));
  EXPECT_EQ(p.mentions, std::vector<std::string>{"bob"});
}

// -- restore ------------------------------------------------------------------------------------------------------

TEST(request_lifecycle, restore_rearms_once_at_the_stored_deadline) {
  fixture f;
  f.m.step(reminder_due{f.epoch()}, t0 + 4h); // one reminder sent, next due at 8h
  auto stored = f.m.record();

  request_lifecycle restarted{params()};
  auto xs = restarted.step(restored{stored}, t0 + 6h);
  ASSERT_EQ(xs.size(), 2u);
  auto a = std::get<arm_reminder>(xs[0]);
  EXPECT_EQ(a.deadline, t0 + 8h);
  EXPECT_GT(a.epoch, stored.reminder_epoch);
  EXPECT_TRUE(std::holds_alternative<persist>(xs[1]));
  // A timer of the previous incarnation is dropped; the new one reminds exactly once, and escalates (count kept).
  EXPECT_TRUE(restarted.step(reminder_due{stored.reminder_epoch}, t0 + 8h).empty());
  auto p = only<post_thread>(restarted.step(reminder_due{a.epoch}, t0 + 8h));
  EXPECT_EQ(p.key, "R1/reminder/2");
  EXPECT_EQ(p.tmpl, template_id::reminder_escalated);
  EXPECT_TRUE(restarted.step(reminder_due{a.epoch}, t0 + 8h).empty());
}

TEST(request_lifecycle, restore_of_a_final_request_arms_nothing) {
  fixture f;
  f.m.step(reply("alice", "!dd status done"), t0 + 1h);
  request_lifecycle restarted{params()};
  EXPECT_TRUE(restarted.step(restored{f.m.record()}, t0 + 2h).empty());
  EXPECT_EQ(restarted.record(), f.m.record());
}

TEST(request_lifecycle, replayed_step_after_restore_yields_the_same_keys) {
  fixture f;
  auto stored = f.m.record();
  auto first = only<post_thread>(f.m.step(reply("alice", "!dd status in_progress"), t0 + 1h));
  request_lifecycle restarted{params()};
  restarted.step(restored{stored}, t0 + 1h);
  auto again = only<post_thread>(restarted.step(reply("alice", "!dd status in_progress"), t0 + 1h));
  EXPECT_EQ(first.key, again.key);
}

// -- on-duty ------------------------------------------------------------------------------------------------------

TEST(request_lifecycle, on_duty_of_the_moment_may_act) {
  fixture f;
  f.m.step(on_duty_changed{duty_resolution{{"zoe"}, duty_source::ok, "", false}}, t0 + 1h);
  EXPECT_EQ(f.m.record().on_duty.users, std::vector<std::string>{"zoe"});
  EXPECT_EQ(only<dm_user>(f.m.step(reply("alice", "!dd status in_progress"), t0 + 2h)).user, "alice");
  f.m.step(reply("zoe", "!dd status in_progress"), t0 + 2h);
  EXPECT_EQ(f.m.record().status, "in_progress");
}

// -- assign -------------------------------------------------------------------------------------------------------

TEST(request_lifecycle, assign_sets_the_assignee) {
  fixture f;
  auto xs = f.m.step(reply("alice", "!dd assign @bob"), t0 + 1h);
  EXPECT_EQ(f.m.record().assignee, "bob");
  EXPECT_EQ(f.m.on_duty_now(), std::vector<std::string>{"bob"});
  auto p = only<post_thread>(xs);
  EXPECT_EQ(p.tmpl, template_id::assigned);
  EXPECT_EQ(p.text, "@alice assigned this request to @bob");
  EXPECT_EQ(p.mentions, std::vector<std::string>{"bob"});
  EXPECT_EQ(only<arm_reminder>(xs).deadline, t0 + 5h);
  // The assignee may now act as on-duty.
  f.m.step(reply("bob", "!dd status in_progress"), t0 + 2h);
  EXPECT_EQ(f.m.record().status, "in_progress");
  // Assigning the same user again changes nothing.
  EXPECT_TRUE(f.m.step(reply("alice", "!dd assign bob"), t0 + 3h).empty());
}

TEST(request_lifecycle, assign_by_requester_or_stranger_is_refused) {
  fixture f;
  for (auto who : {"carol", "eve"}) {
    auto xs = f.m.step(reply(who, "!dd assign @eve"), t0 + 1h);
    ASSERT_EQ(xs.size(), 1u);
    EXPECT_EQ(std::get<dm_user>(xs[0]).tmpl, template_id::refused_assign);
  }
  EXPECT_EQ(f.m.record().assignee, "");
}

// -- move ---------------------------------------------------------------------------------------------------------

TEST(request_lifecycle, move_reposts_then_closes_with_note_and_moved_reaction) {
  fixture f;
  auto xs = f.m.step(reply("carol", "!dd move #triage"), t0 + 1h);
  auto r = only<repost>(xs);
  EXPECT_EQ(r.key, "R1/move/repost");
  EXPECT_EQ(r.target_room, "triage");
  EXPECT_EQ(r.text, "[ ](https://chat.example.com/channel/support?msg=root1) Moved from #support by @carol. "
                    "Request from @carol:\nmy build is broken");
  EXPECT_EQ(f.m.record().phase, request_phase::moving);
  EXPECT_TRUE(all<close_request>(xs).empty());

  xs = f.m.step(moved{"https://chat.example.com/channel/triage?msg=new1"}, t0 + 1h);
  auto note = only<post_thread>(xs);
  EXPECT_EQ(note.tmpl, template_id::moved_note);
  EXPECT_EQ(note.text, "Moved to #triage by @carol: https://chat.example.com/channel/triage?msg=new1");
  EXPECT_EQ(only<remove_reaction>(xs).emoji, ":new:");
  EXPECT_EQ(only<add_reaction>(xs).emoji, ":arrow_right:");
  EXPECT_EQ(all<cancel_reminders>(xs).size(), 1u);
  EXPECT_EQ(all<close_request>(xs).size(), 1u);
  EXPECT_EQ(only<persist>(xs).record.phase, request_phase::moved);
}

TEST(request_lifecycle, move_by_service_name_and_custom_moved_emoji) {
  auto p = params();
  p.moved_emoji = ":truck:";
  request_lifecycle m{p};
  m.step(make_created(), t0);
  EXPECT_EQ(only<repost>(m.step(reply("alice", "!dd move Billing-API"), t0 + 1h)).target_room, "triage");
  EXPECT_EQ(only<add_reaction>(m.step(moved{"link"}, t0 + 1h)).emoji, ":truck:");
}

TEST(request_lifecycle, move_refusals_and_bad_targets) {
  fixture f;
  EXPECT_EQ(only<dm_user>(f.m.step(reply("eve", "!dd move #triage"), t0 + 1h)).tmpl, template_id::refused_move);
  EXPECT_EQ(only<post_thread>(f.m.step(reply("mia", "!dd move #nowhere"), t0 + 1h)).tmpl,
            template_id::move_unknown_target);
  EXPECT_EQ(only<post_thread>(f.m.step(reply("mia", "!dd move #billing-api"), t0 + 1h)).tmpl,
            template_id::move_unknown_target); // "#" means a room, not a service
  EXPECT_EQ(only<post_thread>(f.m.step(reply("mia", "!dd move #support"), t0 + 1h)).tmpl,
            template_id::move_same_room);
  EXPECT_EQ(f.m.record().phase, request_phase::active);
}

TEST(request_lifecycle, commands_on_a_moving_or_moved_request_get_a_polite_note) {
  fixture f;
  f.m.step(reply("mia", "!dd move #triage"), t0 + 1h);
  auto xs = f.m.step(reply("alice", "!dd status done"), t0 + 1h);
  EXPECT_EQ(only<post_thread>(xs).tmpl, template_id::moving_note);
  f.m.step(moved{"https://x/triage?msg=n"}, t0 + 1h);
  auto before = f.m.record();
  xs = f.m.step(reply("alice", "!dd status done"), t0 + 2h);
  auto p = only<post_thread>(xs);
  EXPECT_EQ(p.tmpl, template_id::closed_note);
  EXPECT_EQ(p.text, "This request was moved to #triage; please continue there: https://x/triage?msg=n");
  EXPECT_TRUE(f.m.step(reaction_added{"alice", ":eyes:"}, t0 + 2h).empty());
  EXPECT_TRUE(f.m.step(reply("alice", "hi"), t0 + 2h).empty());
  EXPECT_TRUE(f.m.step(reminder_due{f.epoch()}, t0 + 9h).empty());
  EXPECT_TRUE(f.m.step(moved{"again"}, t0 + 2h).empty());
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle, restore_while_moving_repeats_the_repost_with_the_same_key) {
  fixture f;
  auto first = only<repost>(f.m.step(reply("mia", "!dd move #triage"), t0 + 1h));
  request_lifecycle restarted{params()};
  auto again = only<repost>(restarted.step(restored{f.m.record()}, t0 + 2h));
  EXPECT_EQ(again.key, first.key);
  EXPECT_EQ(again.text, first.text);
  request_lifecycle after_move{params()};
  f.m.step(moved{"l"}, t0 + 2h);
  EXPECT_EQ(all<close_request>(after_move.step(restored{f.m.record()}, t0 + 3h)).size(), 1u);
}

TEST(request_lifecycle, a_reply_delivered_again_after_a_restart_is_not_handled_twice) {
  // A backfill after a restart re-reads the last seconds: the clicks "in progress" then "done" come again.
  fixture f;
  auto progress = reply("mia", "!dd status in_progress");
  auto done = reply("mia", "!dd status done");
  auto chat = reply("mia", "looking");
  f.m.step(progress, t0 + 1h);
  f.m.step(chat, t0 + 1h);
  f.m.step(done, t0 + 2h);
  ASSERT_EQ(f.m.record().status, "done");
  EXPECT_EQ(f.m.record().handled_replies, (std::vector<std::string>{progress.message_id, chat.message_id,
                                                                     done.message_id}));
  request_lifecycle restarted{params()};
  restarted.step(restored{f.m.record()}, t0 + 3h);
  EXPECT_TRUE(restarted.step(progress, t0 + 3h).empty());
  EXPECT_TRUE(restarted.step(chat, t0 + 3h).empty());
  EXPECT_TRUE(restarted.step(done, t0 + 3h).empty());
  EXPECT_EQ(restarted.record().status, "done");
  EXPECT_EQ(restarted.record().status_seq, f.m.record().status_seq);
  // A new reply is handled.
  restarted.step(reply("mia", "!dd status new"), t0 + 3h);
  EXPECT_EQ(restarted.record().status, "new");
}

TEST(request_lifecycle, only_the_latest_handled_replies_are_kept) {
  fixture f;
  std::string first;
  for (std::size_t i = 0; i < handled_replies_kept + 10; ++i) {
    auto r = reply("mia", "comment " + std::to_string(i));
    if (i == 0)
      first = r.message_id;
    f.m.step(r, t0 + 1h);
  }
  const auto& kept = f.m.record().handled_replies;
  ASSERT_EQ(kept.size(), handled_replies_kept);
  EXPECT_EQ(std::find(kept.begin(), kept.end(), first), kept.end());
  EXPECT_EQ(kept.back(), "m" + std::to_string(msg_counter));
}
