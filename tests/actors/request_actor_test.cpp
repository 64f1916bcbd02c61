#include "actors/request_actor.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/error.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/fakes.hpp"

using namespace std::chrono_literals;
using namespace dutydesk;

namespace {

/// What the fake target channel was asked.
struct channel_log {
  std::vector<actors::adopt_request> adopted;
  std::vector<actors::jira_update> jira;
};

actors::channel_actor::behavior_type fake_channel(actors::channel_actor::pointer, std::shared_ptr<channel_log> log) {
  return {
    [](atom::chat, actors::chat_event&) {},
    [log](atom::adopt, actors::adopt_request& x) {
      log->adopted.push_back(x);
      return true;
    },
    [](atom::restore) { return std::size_t{0}; },
    [](atom::restore, const std::string&) {},
    [](atom::status) { return actors::channel_status{}; },
    [log](atom::jira, actors::jira_update& u) {
      log->jira.push_back(u);
      return true;
    },
    [](atom::open, actors::jira_born&) { return std::string{}; },
    [](atom::rate, actors::feedback_update&) { return true; },
  };
}

domain::lifecycle_params params() {
  domain::lifecycle_params p;
  p.statuses = {{"new", "New", ":new:", false},
                {"in_progress", "In progress", ":eyes:", false},
                {"done", "Done", ":white_check_mark:", true},
                {"rejected", "Rejected", "", true}};
  p.initial_status = "new";
  p.members = {"mia"};
  p.fallback = {"lead"};
  p.remind_after = 4h;
  p.bot_user = "dutydesk";
  // "ops" is configured but has no supervisor in the directory.
  p.channels = {{"support", {"support-svc"}}, {"triage", {"billing-api"}}, {"ops", {"ops-svc"}}};
  return p;
}

domain::created make_created() {
  domain::duty_resolution d;
  d.users = {"alice"};
  return domain::created{"R1", "support", "root1", "carol", "my build is broken",
                         "http://chat.test/channel/support?msg=root1", d};
}

class RequestActor : public test::deterministic_fixture {
protected:
  std::shared_ptr<test::chat_log> chat = std::make_shared<test::chat_log>();
  std::shared_ptr<test::storage_log> store = std::make_shared<test::storage_log>();
  std::shared_ptr<channel_log> triage_log = std::make_shared<channel_log>();
  actors::chat_actor chat_hdl = sys.spawn(test::fake_chat, chat);
  actors::storage_actor storage_hdl = sys.spawn(test::fake_storage, store);
  actors::channel_actor triage_hdl = sys.spawn(fake_channel, triage_log);
  std::vector<actors::request_actor> spawned;
  int replies = 0;

  void TearDown() override {
    for (auto& h : spawned)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(chat_hdl, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(storage_hdl, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(triage_hdl, caf::exit_reason::user_shutdown);
    drain();
  }

  actors::request_args args(domain::event start) {
    auto dir = std::make_shared<actors::channel_directory>();
    dir->by_room.emplace("triage", triage_hdl);
    return actors::request_args{params(), std::move(start), {}, actors::request_deps{chat_hdl, storage_hdl, dir, wall()}};
  }

  /// Spawns a request actor with `start`, monitored by `self`, and runs the scheduler.
  actors::request_actor start(domain::event e) {
    auto h = actors::spawn_request(sys, args(std::move(e)));
    spawned.push_back(h);
    self->monitor(h);
    run();
    return h;
  }

  actors::request_actor created() { return start(make_created()); }

  bool say(const actors::request_actor& h, std::string author, std::string text) {
    return request<bool>(h, atom::reply_v,
                         domain::thread_reply{"t" + std::to_string(++replies), std::move(author), std::move(text)});
  }

  domain::request_record get(const actors::request_actor& h) { return request<domain::request_record>(h, atom::get_v); }

  /// The exit reason of a monitored actor that went down, if it did.
  std::optional<caf::error> down_reason() {
    std::optional<caf::error> result;
    self->receive([&](caf::down_msg& m) { result = m.reason; }, caf::after(std::chrono::milliseconds{0}) >> [] {});
    return result;
  }

  /// The stored record of R1 (an empty one, and a failure, if nothing was stored).
  domain::request_record stored() const {
    auto r = store->record("R1");
    EXPECT_TRUE(r) << "R1 was never saved";
    return r.value_or(domain::request_record{});
  }

  std::size_t reminder_posts() const {
    std::size_t n = 0;
    for (const auto& p : chat->posts)
      if (p.key.rfind("R1/reminder/", 0) == 0)
        ++n;
    return n;
  }
};

} // namespace

TEST_F(RequestActor, creation_posts_intro_with_buttons_adds_status_reaction_and_persists) {
  auto h = created();
  ASSERT_EQ(chat->calls, (std::vector<std::string>{"react+ :new:", "post R1/intro"}));
  const auto& intro = chat->posts.at(0);
  EXPECT_EQ(intro.room, "support");
  EXPECT_EQ(intro.tmid, "root1");
  EXPECT_NE(intro.text.find("@alice"), std::string::npos) << intro.text;
  ASSERT_EQ(intro.buttons.size(), 4u);
  const char* ids[] = {"new", "in_progress", "done", "rejected"};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(intro.buttons[i].msg, std::string{"!dd status "} + ids[i]);
    EXPECT_TRUE(intro.buttons[i].msg_in_chat_window);
  }
  EXPECT_EQ(intro.buttons[1].text, "In progress");
  const auto& r = chat->reactions.at(0);
  EXPECT_EQ(r.message_id, "root1");
  EXPECT_EQ(r.emoji, ":new:");
  EXPECT_TRUE(r.add);
  ASSERT_EQ(store->saves.size(), 1u);
  ASSERT_TRUE(store->saves[0].change);
  EXPECT_EQ(store->saves[0].change->to, "new");
  EXPECT_EQ(store->saves[0].record.phase, domain::request_phase::active);
  EXPECT_EQ(store->claims, (std::vector<std::string>{"R1/status/0-add", "R1/intro"}));
  ASSERT_EQ(store->dones.size(), 2u);
  EXPECT_EQ(store->dones[1], (std::pair<std::string, std::string>{"R1/intro", chat->ids.at("R1/intro")}));
  EXPECT_EQ(get(h).status, "new");
  EXPECT_FALSE(down_reason());
}

TEST_F(RequestActor, no_reminder_at_3h59m_one_at_4h_and_re_armed_by_a_staff_reply) {
  created();
  EXPECT_EQ(advance(3h + 59min), 0u);
  EXPECT_EQ(reminder_posts(), 0u);
  EXPECT_EQ(advance(1min), 1u);
  ASSERT_EQ(reminder_posts(), 1u);
  const auto& p = chat->posts.back();
  EXPECT_EQ(p.key, "R1/reminder/1");
  EXPECT_EQ(p.tmid, "root1");
  EXPECT_NE(p.text.find("@alice"), std::string::npos) << p.text;
  // The reminder re-armed for 8h; a staff reply at 6h moves it to 10h.
  advance(2h);
  EXPECT_TRUE(say(spawned.front(), "alice", "looking into it"));
  advance(2h); // 8h: the timer of the old epoch fires and is dropped
  EXPECT_EQ(reminder_posts(), 1u);
  advance(1h + 59min);
  EXPECT_EQ(reminder_posts(), 1u);
  advance(1min); // 10h
  EXPECT_EQ(reminder_posts(), 2u);
  EXPECT_EQ(stored().reminders_sent, 2u);
}

TEST_F(RequestActor, status_change_by_reply_swaps_the_reaction_and_persists_the_change) {
  auto h = created();
  auto before = chat->calls.size();
  EXPECT_TRUE(say(h, "alice", "!dd status in_progress"));
  std::vector<std::string> calls(chat->calls.begin() + static_cast<std::ptrdiff_t>(before), chat->calls.end());
  EXPECT_EQ(calls, (std::vector<std::string>{"react- :new:", "react+ :eyes:", "post R1/status/1-note"}));
  EXPECT_EQ(chat->reactions.at(1).message_id, "root1");
  ASSERT_EQ(store->changes.size(), 2u);
  EXPECT_EQ(store->changes[1].from, "new");
  EXPECT_EQ(store->changes[1].to, "in_progress");
  EXPECT_EQ(store->changes[1].by, "alice");
  EXPECT_EQ(store->changes[1].seq, 1u);
  EXPECT_EQ(stored().status, "in_progress");
}

TEST_F(RequestActor, repeated_same_status_click_makes_no_chat_calls) {
  auto h = created();
  EXPECT_TRUE(say(h, "alice", "!dd status in_progress"));
  auto calls = chat->calls.size();
  auto saves = store->saves.size();
  auto claims = store->claims.size();
  EXPECT_TRUE(say(h, "alice", "!dd status in_progress"));
  EXPECT_TRUE(request<bool>(h, atom::reaction_v, domain::reaction_added{"mia", ":eyes:"}));
  EXPECT_EQ(chat->calls.size(), calls);
  EXPECT_EQ(store->saves.size(), saves);
  EXPECT_EQ(store->claims.size(), claims);
}

TEST_F(RequestActor, reaction_by_staff_sets_the_status) {
  auto h = created();
  EXPECT_TRUE(request<bool>(h, atom::reaction_v, domain::reaction_added{"mia", ":eyes:"}));
  EXPECT_EQ(stored().status, "in_progress");
  EXPECT_EQ(chat->calls.back(), "post R1/status/1-note");
}

TEST_F(RequestActor, refusal_sends_a_dm_and_persists_nothing) {
  auto h = created();
  auto saves = store->saves.size();
  auto posts = chat->posts.size();
  EXPECT_TRUE(say(h, "stranger", "!dd status in_progress"));
  ASSERT_EQ(chat->dms.size(), 1u);
  EXPECT_EQ(chat->dms[0].user, "stranger");
  EXPECT_EQ(chat->dms[0].key, "R1/reply/t1-refused");
  EXPECT_EQ(store->saves.size(), saves);
  EXPECT_EQ(chat->posts.size(), posts);
  EXPECT_EQ(chat->reactions.size(), 1u);
  EXPECT_EQ(get(h).status, "new");
}

TEST_F(RequestActor, final_status_stops_reminders) {
  auto h = created();
  advance(1h);
  EXPECT_TRUE(say(h, "alice", "!dd status done"));
  EXPECT_EQ(stored().status, "done");
  EXPECT_FALSE(stored().reminder_deadline);
  advance(10h);
  EXPECT_EQ(reminder_posts(), 0u);
  EXPECT_FALSE(down_reason()); // a final request stays alive (it may be reopened)
}

TEST_F(RequestActor, move_reposts_in_the_target_room_notes_the_thread_and_exits_normally) {
  auto h = created();
  EXPECT_TRUE(say(h, "alice", "!dd move #triage"));
  ASSERT_EQ(chat->posts_with_key("R1/move/repost"), 1u);
  auto repost = *std::find_if(chat->posts.begin(), chat->posts.end(),
                              [](const actors::chat_post& p) { return p.key == "R1/move/repost"; });
  EXPECT_EQ(repost.room, "triage");
  EXPECT_EQ(repost.tmid, "");
  EXPECT_NE(repost.text.find("my build is broken"), std::string::npos) << repost.text;
  auto repost_id = chat->ids.at("R1/move/repost");
  auto link = test::chat_log::permalink("triage", repost_id);
  ASSERT_EQ(triage_log->adopted.size(), 1u);
  const auto& a = triage_log->adopted[0];
  EXPECT_EQ(a.root_message_id, repost_id);
  EXPECT_EQ(a.requester, "carol");
  EXPECT_EQ(a.text, "my build is broken");
  EXPECT_EQ(a.permalink, link);
  EXPECT_EQ(a.from_room, "support");
  ASSERT_EQ(chat->posts_with_key("R1/move/note"), 1u);
  const auto& note = chat->posts.back();
  EXPECT_EQ(note.key, "R1/move/note");
  EXPECT_EQ(note.room, "support");
  EXPECT_EQ(note.tmid, "root1");
  EXPECT_NE(note.text.find(link), std::string::npos) << note.text;
  std::vector<std::string> tail(chat->calls.end() - 4, chat->calls.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"post R1/move/repost", "post R1/move/note", "react- :new:",
                                            "react+ :arrow_right:"}));
  EXPECT_EQ(stored().phase, domain::request_phase::moved);
  EXPECT_EQ(stored().moved_permalink, link);
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_FALSE(*reason) << describe(*reason);
}

// Found by the chaos run: Jira still routes to the old request until the bridge has linked the issue to the one the
// move created, and the old request dropped what came meanwhile (a Jira comment never reached the thread, and the
// bridge had recorded it as posted).
TEST_F(RequestActor, a_jira_change_queued_behind_the_move_goes_on_to_the_request_the_move_created) {
  auto h = created();
  auto move = self->request(h, caf::infinite, atom::reply_v, domain::thread_reply{"t1", "alice", "!dd move #triage"});
  auto comment = self->request(h, caf::infinite, atom::jira_v,
                               actors::jira_update{"R1", domain::jira_comment_added{"10020", "Carol Chen", "picked up"}});
  auto link = self->request(h, caf::infinite, atom::jira_v,
                            actors::jira_update{"R1", domain::jira_linked{"SUP-1", "http://jira.test/browse/SUP-1", ""}});
  run();
  bool moved = false, handed_on = false, linked = false;
  move.receive([&](bool x) { moved = x; }, [](caf::error&) {});
  comment.receive([&](bool x) { handed_on = x; }, [](caf::error&) {});
  link.receive([&](bool x) { linked = x; }, [](caf::error&) {});
  EXPECT_TRUE(moved);
  EXPECT_TRUE(handed_on);
  EXPECT_TRUE(linked);
  auto repost_id = chat->ids.at("R1/move/repost");
  ASSERT_EQ(triage_log->jira.size(), 1u); // the comment; the link belongs to this request's own issue row
  EXPECT_EQ(triage_log->jira[0].request_id, repost_id);
  const auto* c = std::get_if<domain::jira_comment_added>(&triage_log->jira[0].change);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->comment_id, "10020");
  EXPECT_EQ(chat->posts_with_key("R1/jira/comment-in/10020"), 0u);
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_FALSE(*reason) << describe(*reason);
}

TEST_F(RequestActor, moved_on_names_the_request_the_move_created_for_comments_statuses_and_assignees_only) {
  domain::request_record r;
  r.request_id = "R1";
  r.phase = domain::request_phase::active;
  r.move_target_room = "triage";
  r.moved_permalink = "http://chat.test/channel/triage?msg=m9";
  actors::jira_change comment = domain::jira_comment_added{"1", "Carol Chen", "x"};
  EXPECT_FALSE(actors::moved_on(r, comment)); // not moved
  r.phase = domain::request_phase::moved;
  auto m = actors::moved_on(r, comment);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->room, "triage");
  EXPECT_EQ(m->update.request_id, "m9");
  EXPECT_TRUE(actors::moved_on(r, actors::jira_change{domain::jira_status_changed{}}));
  EXPECT_TRUE(actors::moved_on(r, actors::jira_change{domain::jira_assignee_changed{}}));
  EXPECT_FALSE(actors::moved_on(r, actors::jira_change{domain::jira_linked{}}));
  EXPECT_FALSE(actors::moved_on(r, actors::jira_change{domain::jira_problem{}}));
  r.moved_permalink.clear();
  EXPECT_FALSE(actors::moved_on(r, comment));
}

TEST_F(RequestActor, move_to_a_channel_without_supervisor_fails_with_unknown_room) {
  auto h = created();
  auto rp = self->request(h, caf::infinite, atom::reply_v, domain::thread_reply{"t1", "alice", "!dd move #ops"});
  run();
  ASSERT_EQ(self->mailbox().size(), 2u); // the answer and the down message
  std::optional<caf::error> answer;
  rp.receive([&](bool) {}, [&](caf::error& err) { answer = err; });
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, make_error(ec::unknown_room)) << describe(*answer);
  EXPECT_EQ(chat->posts_with_key("R1/move/repost"), 0u);
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, make_error(ec::unknown_room)) << describe(*reason);
}

TEST_F(RequestActor, restored_start_re_arms_the_reminder_from_the_stored_deadline) {
  domain::request_record r;
  r.request_id = "R1";
  r.room = "support";
  r.root_message_id = "root1";
  r.requester = "carol";
  r.text = "my build is broken";
  r.phase = domain::request_phase::active;
  r.status = "new";
  r.on_duty.users = {"alice"};
  r.reminder_epoch = 3;
  r.reminder_deadline = wall_now() + 1h;
  start(domain::restored{r});
  EXPECT_TRUE(chat->calls.empty());
  advance(59min);
  EXPECT_EQ(reminder_posts(), 0u);
  advance(1min);
  ASSERT_EQ(reminder_posts(), 1u);
  EXPECT_EQ(chat->posts.back().key, "R1/reminder/1");
}

TEST_F(RequestActor, restored_moved_request_exits_normally_at_once) {
  domain::request_record r;
  r.request_id = "R1";
  r.room = "support";
  r.root_message_id = "root1";
  r.phase = domain::request_phase::moved;
  r.status = "new";
  start(domain::restored{r});
  EXPECT_TRUE(chat->calls.empty());
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_FALSE(*reason) << describe(*reason);
}

TEST_F(RequestActor, restored_moved_request_answers_a_queued_command_with_the_moved_note_then_exits) {
  domain::request_record r;
  r.request_id = "R1";
  r.room = "support";
  r.root_message_id = "root1";
  r.phase = domain::request_phase::moved;
  r.status = "new";
  r.move_target_room = "triage";
  r.moved_permalink = "http://chat.test/channel/triage?msg=m9";
  auto a = args(domain::restored{r});
  a.then.emplace_back(domain::thread_reply{"t9", "alice", "!dd status done"});
  auto h = actors::spawn_request(sys, std::move(a));
  spawned.push_back(h);
  self->monitor(h);
  run();
  ASSERT_EQ(chat->posts.size(), 1u);
  EXPECT_EQ(chat->posts[0].tmid, "root1");
  EXPECT_NE(chat->posts[0].text.find("http://chat.test/channel/triage?msg=m9"), std::string::npos)
    << chat->posts[0].text;
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_FALSE(*reason) << describe(*reason);
}

TEST_F(RequestActor, restored_moving_request_with_repost_done_finishes_the_move_without_reposting) {
  domain::request_record r;
  r.request_id = "R1";
  r.room = "support";
  r.root_message_id = "root1";
  r.requester = "carol";
  r.text = "my build is broken";
  r.phase = domain::request_phase::moving;
  r.status = "new";
  r.move_target_room = "triage";
  r.moved_by = "alice";
  store->mark_done("R1/move/repost", test::chat_log::permalink("triage", "old7"));
  start(domain::restored{r});
  EXPECT_EQ(chat->posts_with_key("R1/move/repost"), 0u);
  ASSERT_EQ(triage_log->adopted.size(), 1u);
  EXPECT_EQ(triage_log->adopted[0].root_message_id, "old7");
  EXPECT_EQ(chat->posts_with_key("R1/move/note"), 1u);
  EXPECT_EQ(stored().phase, domain::request_phase::moved);
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_FALSE(*reason) << describe(*reason);
}

TEST_F(RequestActor, replay_after_a_crash_does_not_post_the_intro_twice) {
  store->mark_done("R1/intro", "m-old");
  created();
  EXPECT_EQ(chat->posts_with_key("R1/intro"), 0u);
  EXPECT_EQ(chat->posts.size(), 0u);
  EXPECT_EQ(chat->reactions.size(), 1u); // not claimed before: done now
  EXPECT_EQ(store->saves.size(), 1u);
}

TEST_F(RequestActor, replay_redoes_a_pending_claim) {
  store->actions["R1/intro"] = {};
  created();
  EXPECT_EQ(chat->posts_with_key("R1/intro"), 1u);
  EXPECT_EQ(store->actions.at("R1/intro").status, storage::claim_status::done);
}

TEST_F(RequestActor, get_answers_after_the_queued_events) {
  auto h = created();
  // The first reply is stepped at once and waits for chat; the second waits in the queue, and so does the get.
  auto r1 = self->request(h, caf::infinite, atom::reply_v, domain::thread_reply{"t1", "alice", "!dd status in_progress"});
  auto r2 = self->request(h, caf::infinite, atom::reply_v, domain::thread_reply{"t2", "alice", "!dd status done"});
  auto r3 = self->request(h, caf::infinite, atom::get_v);
  run();
  ASSERT_EQ(self->mailbox().size(), 3u);
  int answered = 0;
  r1.receive([&](bool x) { answered += x ? 1 : 0; }, [&](caf::error& err) { FAIL() << describe(err); });
  r2.receive([&](bool x) { answered += x ? 1 : 0; }, [&](caf::error& err) { FAIL() << describe(err); });
  EXPECT_EQ(answered, 2);
  domain::request_record rec;
  r3.receive([&](domain::request_record& x) { rec = std::move(x); }, [&](caf::error& err) { FAIL() << describe(err); });
  EXPECT_EQ(rec.status, "done");
  EXPECT_EQ(rec.status_seq, 2u);
  EXPECT_EQ(stored().status, "done"); // persisted before the get was answered
}

TEST_F(RequestActor, chat_failure_exits_with_the_error) {
  chat->fail_next = 1;
  created();
  EXPECT_EQ(chat->failed, 1);
  EXPECT_TRUE(store->saves.empty());
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, make_error(ec::chat_failed)) << describe(*reason);
}

TEST_F(RequestActor, a_reaction_rocketchat_refuses_for_good_is_skipped_and_the_request_goes_on) {
  chat->rejected_emoji = {":new:"};
  auto h = created();
  EXPECT_EQ(chat->calls, (std::vector<std::string>{"react+ :new:", "post R1/intro"})); // the intro is still posted
  EXPECT_FALSE(down_reason());
  ASSERT_EQ(store->saves.size(), 1u);
  EXPECT_NE(std::find(store->dones.begin(), store->dones.end(), std::make_pair(std::string{"R1/status/0-add"},
                                                                                 std::string{"rejected"})),
            store->dones.end());
  EXPECT_TRUE(say(h, "mia", "!dd status in_progress")); // and it keeps working
  EXPECT_EQ(stored().status, "in_progress");
}

TEST_F(RequestActor, chat_failure_answers_the_pending_reply_with_the_error) {
  auto h = created();
  chat->fail_next = 1;
  auto rp = self->request(h, caf::infinite, atom::reply_v, domain::thread_reply{"t1", "alice", "!dd status done"});
  run();
  // The answer and the down message; without the answer, receive below would block for good.
  ASSERT_EQ(self->mailbox().size(), 2u);
  std::optional<caf::error> answer;
  rp.receive([&](bool) {}, [&](caf::error& err) { answer = err; });
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, make_error(ec::chat_failed)) << describe(*answer);
  EXPECT_EQ(stored().status, "new");
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, make_error(ec::chat_failed));
}

TEST_F(RequestActor, storage_failure_exits_with_the_error) {
  store->fail_next = 1;
  created();
  EXPECT_TRUE(chat->calls.empty());
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, make_error(ec::storage_failed)) << describe(*reason);
}

namespace {

/// Counts the bridge's wake-ups.
actors::jira_bridge_actor::behavior_type fake_bridge(actors::jira_bridge_actor::pointer, std::shared_ptr<int> ticks) {
  return {
    [ticks](atom::tick) { ++*ticks; },
  };
}

} // namespace

TEST_F(RequestActor, jira_actions_ride_in_the_steps_persist_and_wake_the_bridge_after_it) {
  auto ticks = std::make_shared<int>(0);
  auto bridge = sys.spawn(fake_bridge, ticks);
  auto a = args(make_created());
  a.params.jira = true;
  a.params.statuses[1].jira_status = "In Progress";
  a.deps.jira = bridge;
  auto h = actors::spawn_request(sys, std::move(a));
  spawned.push_back(h);
  run();
  ASSERT_EQ(store->saves.size(), 1u);
  const auto& first = store->saves[0].jira;
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].key, "R1/jira/create");
  EXPECT_EQ(first[1].key, "R1/jira/assign/0");
  EXPECT_EQ(first[1].author, "alice");
  EXPECT_EQ(*ticks, 1);
  // A plain reply is one comment row, written although the request's own state did not change.
  ASSERT_TRUE(say(h, "carol", "still broken"));
  ASSERT_EQ(store->saves.size(), 2u);
  ASSERT_EQ(store->saves[1].jira.size(), 1u);
  EXPECT_EQ(store->saves[1].jira[0].kind, domain::jira_kind::comment);
  EXPECT_EQ(store->saves[1].jira[0].text, "still broken");
  ASSERT_TRUE(say(h, "alice", "!dd status in_progress"));
  ASSERT_EQ(store->saves.size(), 3u);
  ASSERT_EQ(store->saves[2].jira.size(), 1u);
  EXPECT_EQ(store->saves[2].jira[0].jira_status, "In Progress");
  EXPECT_EQ(*ticks, 3);
  // A step without Jira actions saves none and wakes nobody.
  ASSERT_TRUE(say(h, "alice", "!dd help"));
  EXPECT_EQ(*ticks, 3);
  caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
}
