#include "actors/channel_supervisor.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/error.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/storage_behavior.hpp"

using namespace std::chrono_literals;
using namespace dutydesk;

namespace {

// -- fakes --------------------------------------------------------------------------------------------------------

/// One request actor the supervisor spawned (through the injected spawner) and what it received.
struct child {
  actors::request_args args;
  actors::request_actor handle;
  std::vector<domain::thread_reply> replies;
  std::vector<domain::reaction_added> reactions;
  std::vector<actors::jira_update> jira;
  std::vector<actors::feedback_update> feedback;
  std::vector<caf::typed_response_promise<bool>> held;
  std::vector<caf::typed_response_promise<domain::request_record>> held_gets; // a "slow start": get waits for remind

  bool created() const { return std::holds_alternative<domain::created>(args.start); }
  bool restored() const { return std::holds_alternative<domain::restored>(args.start); }
};

struct children_log {
  std::vector<std::shared_ptr<child>> all;
};

/// A fake request actor. Thread replies steer it: "hold" is answered only when a `remind` arrives; "close" is
/// answered, then the actor exits normally (as a moved request does); "fail" kills a `created` actor without an
/// answer (as a failed chat call does; a restored one answers it normally).
actors::request_actor::behavior_type fake_request(actors::request_actor::pointer self, std::shared_ptr<child> c) {
  return {
    [self, c](atom::reply, domain::thread_reply& r) -> caf::result<bool> {
      c->replies.push_back(r);
      auto rp = self->make_response_promise<bool>();
      if (r.text == "hold") {
        c->held.push_back(rp);
      } else if (r.text == "close") {
        rp.deliver(true);
        self->quit(caf::exit_reason::normal);
      } else if (r.text == "fail" && c->created()) {
        self->quit(make_error(ec::chat_failed, "post failed"));
      } else if (r.text == "error" && c->created()) {
        // As the real request actor fails: the pending reply gets the error, then the actor quits with it.
        auto err = make_error(ec::chat_failed, "react failed");
        rp.deliver(err);
        self->quit(err);
      } else {
        rp.deliver(true);
      }
      return rp;
    },
    [c](atom::reaction, domain::reaction_added& r) {
      c->reactions.push_back(r);
      return true;
    },
    [c](atom::remind, std::uint64_t) {
      for (auto& rp : c->held)
        rp.deliver(true);
      c->held.clear();
      for (auto& rp : c->held_gets)
        rp.deliver(domain::request_record{});
      c->held_gets.clear();
    },
    [self, c](atom::get) -> caf::result<domain::request_record> {
      if (auto* r = std::get_if<domain::restored>(&c->args.start))
        return r->record;
      // A created request whose text says "slow start" is still carrying out its first step (its save included):
      // a get, queued behind it, is answered when that step ends (here: on `remind`).
      if (auto* e = std::get_if<domain::created>(&c->args.start); e && e->text.find("slow start") != std::string::npos) {
        auto rp = self->make_response_promise<domain::request_record>();
        c->held_gets.push_back(rp);
        return rp;
      }
      return domain::request_record{};
    },
    [c](atom::jira, actors::jira_update& u) {
      c->jira.push_back(u);
      return true;
    },
    [c](atom::rate, actors::feedback_update& f) {
      c->feedback.push_back(f);
      return true;
    },
    [](atom::expire, std::uint64_t) {},
  };
}

struct storage_log {
  std::map<std::string, domain::request_record> records; // by root
  std::vector<std::string> finds;
  std::vector<actors::cursor_update> cursors;
};

actors::storage_actor::behavior_type fake_storage(actors::storage_actor::pointer, std::shared_ptr<storage_log> log) {
  return test::storage_behavior(
    [log](atom::save, actors::persist_request& p) {
      log->records[p.record.root_message_id] = p.record;
      return true;
    },
    [](atom::claim, std::string&, std::int64_t) { return actors::claim_reply{}; },
    [](atom::done, std::string&, std::string&, std::int64_t) {},
    [log](atom::find, std::string& root) {
      log->finds.push_back(root);
      actors::found_request f;
      if (auto it = log->records.find(root); it != log->records.end())
        f.record = it->second;
      return f;
    },
    [log](atom::load, std::string& room) {
      std::vector<domain::request_record> xs;
      for (const auto& [root, r] : log->records)
        if (r.room == room && r.phase != domain::request_phase::moved)
          xs.push_back(r);
      return xs;
    },
    [log](atom::cursor, actors::cursor_update& c) {
      log->cursors.push_back(c);
      return true;
    },
    [](atom::cursors) { return std::vector<storage::room_cursor>{}; });
}

struct duty_log {
  int asks = 0;
  domain::duty_resolution answer;
};

actors::duty_actor::behavior_type fake_duty(actors::duty_actor::pointer, std::shared_ptr<duty_log> log) {
  return {
    [log](atom::duty, std::string&) {
      ++log->asks;
      return log->answer;
    },
  };
}

// Takes a (unused) name: CAF 0.17 spawns an argument-less function through a null std::tuple<> pointer, which
// UBSan's null check reports inside CAF's headers.
actors::chat_actor::behavior_type fake_chat(actors::chat_actor::pointer, std::string) {
  return {
    [](atom::post, actors::chat_post& p) {
      // A message id derived from the key, as the real adapter derives one.
      auto id = p.key;
      std::replace(id.begin(), id.end(), '/', '-');
      return actors::posted{id, "http://chat.test/channel/" + p.room + "?msg=" + id};
    },
    [](atom::react, actors::chat_reaction&) { return true; },
    [](atom::dm, actors::chat_dm&) { return actors::posted{}; },
    [](atom::edit, actors::chat_edit&) { return true; },
  };
}

// -- helpers ------------------------------------------------------------------------------------------------------

using reactions_t = std::vector<std::pair<std::string, std::vector<std::string>>>;

actors::chat_event top(std::string id, std::string author, std::string text, std::int64_t ts,
                       reactions_t reactions = {}, std::int64_t updated = 0) {
  actors::chat_event ev;
  ev.msg.id = id;
  ev.msg.room = "support";
  ev.msg.author = std::move(author);
  ev.msg.text = std::move(text);
  ev.ts_ms = ts;
  ev.updated_ms = updated == 0 ? ts : updated;
  ev.reactions = std::move(reactions);
  ev.permalink = "http://chat.test/channel/support?msg=" + id;
  return ev;
}

actors::chat_event in_thread(std::string id, std::string root, std::string author, std::string text,
                             std::int64_t ts) {
  auto ev = top(std::move(id), std::move(author), std::move(text), ts);
  ev.msg.thread_id = std::move(root);
  return ev;
}

domain::request_record stored(std::string root, domain::request_phase phase = domain::request_phase::active,
                              std::string room = "support") {
  domain::request_record r;
  r.request_id = root;
  r.room = std::move(room);
  r.root_message_id = root;
  r.requester = "carol";
  r.text = "stored request " + root;
  r.phase = phase;
  r.status = "new";
  return r;
}

class ChannelSupervisor : public test::deterministic_fixture {
protected:
  std::shared_ptr<children_log> kids = std::make_shared<children_log>();
  std::shared_ptr<storage_log> store = std::make_shared<storage_log>();
  std::shared_ptr<duty_log> duty = std::make_shared<duty_log>();
  actors::chat_actor chat_hdl = sys.spawn(fake_chat, std::string{"chat"});
  actors::storage_actor storage_hdl = sys.spawn(fake_storage, store);
  actors::duty_actor duty_hdl = sys.spawn(fake_duty, duty);
  actors::channel_actor sup;

  void SetUp() override {
    duty->answer.users = {"alice"};
    sup = actors::spawn_channel(sys, args());
    run();
  }

  void TearDown() override {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    for (auto& c : kids->all)
      caf::anon_send_exit(c->handle, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(chat_hdl, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(storage_hdl, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(duty_hdl, caf::exit_reason::user_shutdown);
    drain();
  }

  actors::channel_args args() {
    actors::channel_args a;
    a.room = "support";
    a.params.statuses = {{"new", "New", ":new:", false}, {"done", "Done", ":white_check_mark:", true}};
    a.params.initial_status = "new";
    a.params.members = {"mia"};
    a.params.fallback = {"lead"};
    a.params.bot_user = "dutydesk";
    a.params.channels = {{"support", {}}, {"triage", {}}};
    a.filter.bot_user = "dutydesk";
    a.filter.channels = {{"support", {"mia"}, true}, {"triage", {}, true}};
    a.chat = chat_hdl;
    a.storage = storage_hdl;
    a.duty = duty_hdl;
    a.channels = std::make_shared<actors::channel_directory>();
    a.now = wall();
    auto log = kids;
    a.spawn = [log](caf::actor_system& sys, actors::request_args ra) {
      auto c = std::make_shared<child>();
      c->args = std::move(ra);
      actors::request_actor h = sys.spawn(fake_request, c);
      c->handle = h;
      log->all.push_back(c);
      return h;
    };
    return a;
  }

  void chat(actors::chat_event ev) {
    self->send(sup, atom::chat_v, std::move(ev));
    run();
  }

  actors::channel_status status() { return request<actors::channel_status>(sup, atom::status_v); }

  /// The exit reason of a monitored actor that went down, if it did.
  std::optional<caf::error> down_reason() {
    std::optional<caf::error> result;
    self->receive([&](caf::down_msg& m) { result = m.reason; }, caf::after(std::chrono::milliseconds{0}) >> [] {});
    return result;
  }
};

} // namespace

TEST_F(ChannelSupervisor, top_level_message_spawns_one_created_request_with_the_duty_resolution) {
  chat(top("root1", "carol", "my build is broken", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  const auto& c = *kids->all[0];
  ASSERT_TRUE(c.created());
  const auto& e = std::get<domain::created>(c.args.start);
  EXPECT_EQ(e.request_id, "root1");
  EXPECT_EQ(e.room, "support");
  EXPECT_EQ(e.root_message_id, "root1");
  EXPECT_EQ(e.requester, "carol");
  EXPECT_EQ(e.text, "my build is broken");
  EXPECT_EQ(e.permalink, "http://chat.test/channel/support?msg=root1");
  EXPECT_EQ(e.on_duty, duty->answer);
  EXPECT_EQ(c.args.deps.storage, storage_hdl);
  EXPECT_EQ(duty->asks, 1);
  EXPECT_EQ(store->finds, (std::vector<std::string>{"root1"}));
  auto s = status();
  EXPECT_EQ(s.live_requests, 1u);
  EXPECT_EQ(s.requests_created, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.ignored, 0u);
}

TEST_F(ChannelSupervisor, re_delivered_versions_spawn_nothing_even_while_the_first_is_being_created) {
  // Two versions before the supervisor gets to run: the second arrives while the lookups of the first are running.
  self->send(sup, atom::chat_v, top("root1", "carol", "help", 100));
  self->send(sup, atom::chat_v, top("root1", "carol", "help", 100, {}, 150));
  run();
  chat(top("root1", "carol", "help", 100, {{":eyes:", {"dutydesk"}}}, 200));
  EXPECT_EQ(kids->all.size(), 1u);
  EXPECT_EQ(duty->asks, 1);
  auto s = status();
  EXPECT_EQ(s.requests_created, 1u);
  EXPECT_EQ(s.live_requests, 1u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST_F(ChannelSupervisor, system_edited_own_and_other_room_messages_are_ignored) {
  auto sys_msg = top("m1", "carol", "carol joined", 100);
  sys_msg.msg.type = "uj";
  auto edited = top("m2", "carol", "fixed typo", 110);
  edited.msg.edited = true;
  auto own = top("m3", "dutydesk", "a repost", 120);
  auto elsewhere = top("m4", "carol", "wrong room", 130);
  elsewhere.msg.room = "triage";
  for (auto& ev : {sys_msg, edited, own, elsewhere})
    chat(ev);
  EXPECT_TRUE(kids->all.empty());
  EXPECT_EQ(duty->asks, 0);
  auto s = status();
  EXPECT_EQ(s.ignored, 4u);
  EXPECT_EQ(s.live_requests, 0u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST_F(ChannelSupervisor, bad_input_spawns_a_request_only_for_a_plain_top_level_message_of_its_room) {
  // System messages of types the filter has never heard of, an rm tombstone of a thread root, a message of a room
  // this supervisor does not own, and a 1 MiB message with replacement characters (what the parser makes of
  // invalid UTF-8): only the last one is a request, with its whole text.
  std::vector<actors::chat_event> ignored;
  for (const char* t : {"rm", "ul", "au", "room_changed_topic", "a-type-from-the-future"}) {
    auto ev = top(std::string{"sys-"} + t, "carol", std::string{t} == "rm" ? "" : "carol", 100);
    ev.msg.type = t;
    ignored.push_back(ev);
  }
  auto tombstone_reply = in_thread("sys-rm-reply", "sys-rm", "carol", "", 110);
  tombstone_reply.msg.type = "rm";
  ignored.push_back(tombstone_reply);
  auto general = top("elsewhere", "carol", "lunch?", 120);
  general.msg.room = "general";
  ignored.push_back(general);
  auto no_author = top("anonymous", "", "who wrote this?", 130);
  ignored.push_back(no_author);
  for (auto& ev : ignored)
    chat(ev);
  EXPECT_TRUE(kids->all.empty());
  EXPECT_EQ(duty->asks, 0);
  EXPECT_EQ(status().ignored, ignored.size());

  std::string text;
  while (text.size() < 1024 * 1024)
    text += "runner-7 \xEF\xBF\xBD ENOSPC\n";
  chat(top("big", "carol", text, 200));
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(kids->all[0]->created());
  EXPECT_EQ(std::get<domain::created>(kids->all[0]->args.start).text, text);
  auto s = status();
  EXPECT_EQ(s.requests_created, 1u);
  EXPECT_EQ(s.ignored, ignored.size());
}

TEST_F(ChannelSupervisor, thread_reply_goes_to_the_request_of_its_thread) {
  chat(top("root1", "carol", "first", 100));
  chat(top("root2", "dave", "second", 200));
  ASSERT_EQ(kids->all.size(), 2u);
  chat(in_thread("r1", "root2", "mia", "!dd status done", 300));
  EXPECT_TRUE(kids->all[0]->replies.empty());
  ASSERT_EQ(kids->all[1]->replies.size(), 1u);
  const auto& r = kids->all[1]->replies[0];
  EXPECT_EQ(r.message_id, "r1");
  EXPECT_EQ(r.author, "mia");
  EXPECT_EQ(r.text, "!dd status done");
  EXPECT_EQ(kids->all.size(), 2u);
  EXPECT_EQ(status().in_flight, 0u);
}

TEST_F(ChannelSupervisor, reply_to_an_unknown_thread_is_ignored) {
  chat(in_thread("r1", "nowhere", "mia", "hello?", 300));
  EXPECT_TRUE(kids->all.empty());
  EXPECT_EQ(store->finds, (std::vector<std::string>{"nowhere"}));
  auto s = status();
  EXPECT_EQ(s.ignored, 1u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST_F(ChannelSupervisor, reply_to_a_stored_open_request_restores_it_and_forwards_the_reply) {
  store->records["root9"] = stored("root9");
  chat(in_thread("r1", "root9", "mia", "on it", 300));
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(kids->all[0]->restored());
  EXPECT_EQ(std::get<domain::restored>(kids->all[0]->args.start).record, store->records["root9"]);
  ASSERT_EQ(kids->all[0]->replies.size(), 1u);
  EXPECT_EQ(kids->all[0]->replies[0].text, "on it");
  EXPECT_EQ(status().requests_created, 0u);
}

TEST_F(ChannelSupervisor, top_level_replay_of_a_stored_request_restores_it_or_ignores_it_when_closed) {
  store->records["open1"] = stored("open1");
  store->records["gone1"] = stored("gone1", domain::request_phase::moved);
  chat(top("open1", "carol", "stored request open1", 100));
  chat(top("gone1", "carol", "stored request gone1", 110));
  ASSERT_EQ(kids->all.size(), 1u);
  EXPECT_TRUE(kids->all[0]->restored());
  EXPECT_EQ(duty->asks, 0);
  auto s = status();
  EXPECT_EQ(s.requests_created, 0u);
  EXPECT_EQ(s.live_requests, 1u);
}

TEST_F(ChannelSupervisor, new_reaction_after_the_baseline_becomes_reaction_added_but_not_the_bots_own) {
  chat(top("root1", "carol", "help", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  auto& c = *kids->all[0];
  chat(top("root1", "carol", "help", 100, {{":eyes:", {"dutydesk", "mia"}}}, 200));
  ASSERT_EQ(c.reactions.size(), 1u);
  EXPECT_EQ(c.reactions[0].user, "mia");
  EXPECT_EQ(c.reactions[0].emoji, ":eyes:");
  chat(top("root1", "carol", "help", 100, {{":eyes:", {"dutydesk", "mia"}}, {":white_check_mark:", {"carol"}}}, 300));
  ASSERT_EQ(c.reactions.size(), 2u);
  EXPECT_EQ(c.reactions[1].user, "carol");
  EXPECT_EQ(c.reactions[1].emoji, ":white_check_mark:");
  // An older version delivered late (backfill) changes nothing.
  chat(top("root1", "carol", "help", 100, {{":new:", {"mia"}}}, 150));
  EXPECT_EQ(c.reactions.size(), 2u);
  // The bot's own reaction alone never counts.
  chat(top("root1", "carol", "help", 100,
           {{":eyes:", {"dutydesk", "mia"}}, {":new:", {"dutydesk"}}, {":white_check_mark:", {"carol"}}}, 400));
  EXPECT_EQ(c.reactions.size(), 2u);
  EXPECT_EQ(kids->all.size(), 1u);
  EXPECT_EQ(status().in_flight, 0u);
}

TEST_F(ChannelSupervisor, first_version_seen_after_a_restore_only_sets_the_baseline) {
  store->records["root1"] = stored("root1");
  EXPECT_EQ(request<std::size_t>(sup, atom::restore_v), 1u);
  ASSERT_EQ(kids->all.size(), 1u);
  auto& c = *kids->all[0];
  chat(top("root1", "carol", "help", 100, {{":eyes:", {"mia"}}}, 200));
  EXPECT_TRUE(c.reactions.empty());
  chat(top("root1", "carol", "help", 100, {{":eyes:", {"mia"}}, {":white_check_mark:", {"mia"}}}, 300));
  ASSERT_EQ(c.reactions.size(), 1u);
  EXPECT_EQ(c.reactions[0].emoji, ":white_check_mark:");
}

TEST_F(ChannelSupervisor, request_exiting_with_an_error_is_respawned_with_restored_from_storage) {
  chat(top("root1", "carol", "help", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  auto rec = stored("root1");
  rec.status = "in_progress";
  store->records["root1"] = rec;
  self->send_exit(kids->all[0]->handle, make_error(ec::storage_failed, "db gone"));
  run();
  // Not at once: the restart waits out its backoff.
  EXPECT_EQ(kids->all.size(), 1u);
  advance(std::chrono::milliseconds(499));
  EXPECT_EQ(kids->all.size(), 1u);
  advance(std::chrono::milliseconds(1));
  ASSERT_EQ(kids->all.size(), 2u);
  ASSERT_TRUE(kids->all[1]->restored());
  EXPECT_EQ(std::get<domain::restored>(kids->all[1]->args.start).record, rec);
  auto s = status();
  EXPECT_EQ(s.restarts, 1u);
  EXPECT_EQ(s.live_requests, 1u);
  // Traffic goes to the new actor.
  chat(in_thread("r1", "root1", "mia", "thanks", 200));
  EXPECT_TRUE(kids->all[0]->replies.empty());
  ASSERT_EQ(kids->all[1]->replies.size(), 1u);
}

TEST_F(ChannelSupervisor, reply_whose_handling_killed_the_actor_is_replayed_to_the_restarted_one) {
  chat(top("root1", "carol", "help", 100));
  store->records["root1"] = stored("root1");
  chat(in_thread("r1", "root1", "mia", "fail", 200));
  advance(std::chrono::milliseconds(500));
  ASSERT_EQ(kids->all.size(), 2u);
  EXPECT_EQ(kids->all[0]->replies.size(), 1u);
  ASSERT_EQ(kids->all[1]->replies.size(), 1u);
  EXPECT_EQ(kids->all[1]->replies[0].message_id, "r1");
  auto s = status();
  EXPECT_EQ(s.restarts, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  ASSERT_FALSE(store->cursors.empty());
  EXPECT_EQ(store->cursors.back().message_id, "r1");
}

TEST_F(ChannelSupervisor, reply_answered_with_an_error_by_a_failing_actor_is_replayed_to_the_restarted_one) {
  chat(top("root1", "carol", "help", 100));
  store->records["root1"] = stored("root1");
  chat(in_thread("r1", "root1", "bob", "error", 200));
  EXPECT_EQ(status().in_flight, 1u); // not finished: it waits for the restarted actor
  advance(std::chrono::milliseconds(500));
  ASSERT_EQ(kids->all.size(), 2u);
  ASSERT_EQ(kids->all[1]->replies.size(), 1u);
  EXPECT_EQ(kids->all[1]->replies[0].message_id, "r1");
  EXPECT_EQ(status().in_flight, 0u);
  ASSERT_FALSE(store->cursors.empty());
  EXPECT_EQ(store->cursors.back().message_id, "r1");
}

TEST_F(ChannelSupervisor, restarts_are_bounded_to_five_per_root) {
  chat(top("root1", "carol", "help", 100));
  store->records["root1"] = stored("root1");
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(kids->all.size(), static_cast<std::size_t>(i + 1));
    self->send_exit(kids->all.back()->handle, make_error(ec::chat_failed, "again"));
    run();
    advance(std::chrono::milliseconds(500) * (1 << i)); // 0.5 s, doubling
  }
  EXPECT_EQ(kids->all.size(), 6u); // the first plus five restarts
  auto s = status();
  EXPECT_EQ(s.restarts, 5u);
  EXPECT_EQ(s.live_requests, 0u);
}

TEST_F(ChannelSupervisor, request_failing_before_its_first_save_is_respawned_with_its_created_event) {
  chat(top("root1", "carol", "help", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(store->records.find("root1") == store->records.end());
  self->send_exit(kids->all[0]->handle, make_error(ec::chat_failed, "503"));
  run();
  advance(std::chrono::milliseconds(500));
  ASSERT_EQ(kids->all.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<domain::created>(kids->all[1]->args.start));
  const auto& c = std::get<domain::created>(kids->all[1]->args.start);
  EXPECT_EQ(c.request_id, "root1");
  EXPECT_EQ(c.requester, "carol");
  EXPECT_EQ(status().live_requests, 1u);
}

TEST_F(ChannelSupervisor, normal_exit_forgets_the_request_and_a_later_reply_finds_it_closed) {
  chat(top("root1", "carol", "help", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  store->records["root1"] = stored("root1", domain::request_phase::moved);
  chat(in_thread("r1", "root1", "mia", "close", 200));
  auto s = status();
  EXPECT_EQ(s.live_requests, 0u);
  EXPECT_EQ(s.restarts, 0u);
  auto finds = store->finds.size();
  chat(in_thread("r2", "root1", "mia", "anyone?", 300));
  EXPECT_EQ(store->finds.size(), finds + 1);
  EXPECT_EQ(store->finds.back(), "root1");
  EXPECT_EQ(kids->all.size(), 1u);
  EXPECT_EQ(kids->all[0]->replies.size(), 1u);
  s = status();
  EXPECT_EQ(s.ignored, 1u);
  EXPECT_EQ(s.live_requests, 0u);
}

TEST_F(ChannelSupervisor, command_in_the_thread_of_a_moved_request_gets_a_short_lived_actor_for_its_note) {
  store->records["root1"] = stored("root1", domain::request_phase::moved);
  chat(in_thread("r1", "root1", "mia", "!dd status done", 200));
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(kids->all[0]->restored());
  ASSERT_EQ(kids->all[0]->args.then.size(), 1u);
  const auto& tr = std::get<domain::thread_reply>(kids->all[0]->args.then[0]);
  EXPECT_EQ(tr.message_id, "r1");
  EXPECT_EQ(tr.text, "!dd status done");
  // Plain chat in that thread wakes nothing.
  chat(in_thread("r2", "root1", "mia", "thanks!", 300));
  EXPECT_EQ(kids->all.size(), 1u);
}

TEST_F(ChannelSupervisor, command_arriving_while_a_root_version_of_a_moved_request_is_looked_up_still_gets_its_note) {
  // Seen end to end under ASan: the bot's reaction swap re-delivers the root just as the moved request quits, its
  // lookup makes the root pending, and a command sent meanwhile waited for it, found nothing running and vanished.
  store->records["root1"] = stored("root1", domain::request_phase::moved);
  self->send(sup, atom::chat_v, top("root1", "carol", "help", 100, {{":arrow_right:", {"dutydesk"}}}, 150));
  self->send(sup, atom::chat_v, in_thread("r1", "root1", "bob", "!dd status done", 200));
  run();
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(kids->all[0]->restored());
  ASSERT_EQ(kids->all[0]->args.then.size(), 1u);
  EXPECT_EQ(std::get<domain::thread_reply>(kids->all[0]->args.then[0]).message_id, "r1");
  EXPECT_EQ(status().ignored, 0u);
}

TEST_F(ChannelSupervisor, restore_spawns_one_request_per_stored_open_request) {
  store->records["a"] = stored("a");
  store->records["b"] = stored("b", domain::request_phase::fresh);
  store->records["c"] = stored("c", domain::request_phase::moved);
  store->records["d"] = stored("d", domain::request_phase::active, "triage");
  EXPECT_EQ(request<std::size_t>(sup, atom::restore_v), 2u);
  ASSERT_EQ(kids->all.size(), 2u);
  std::vector<std::string> roots;
  for (auto& c : kids->all) {
    ASSERT_TRUE(c->restored());
    roots.push_back(std::get<domain::restored>(c->args.start).record.root_message_id);
  }
  EXPECT_EQ(roots, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(status().live_requests, 2u);
  // A second restore finds them running.
  EXPECT_EQ(request<std::size_t>(sup, atom::restore_v), 0u);
  EXPECT_EQ(kids->all.size(), 2u);
}

TEST_F(ChannelSupervisor, adopt_creates_the_moved_request_once) {
  actors::adopt_request x{"repost1", "carol", "moved: my build is broken",
                          "http://chat.test/channel/support?msg=repost1", "triage"};
  EXPECT_TRUE(request<bool>(sup, atom::adopt_v, x));
  EXPECT_TRUE(request<bool>(sup, atom::adopt_v, x));
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(kids->all[0]->created());
  const auto& e = std::get<domain::created>(kids->all[0]->args.start);
  EXPECT_EQ(e.request_id, "repost1");
  EXPECT_EQ(e.room, "support");
  EXPECT_EQ(e.root_message_id, "repost1");
  EXPECT_EQ(e.requester, "carol");
  EXPECT_EQ(e.text, "moved: my build is broken");
  EXPECT_EQ(e.permalink, "http://chat.test/channel/support?msg=repost1");
  EXPECT_EQ(e.on_duty, duty->answer);
  EXPECT_EQ(duty->asks, 1);
  // The bot's repost arriving from the stream spawns nothing either.
  chat(top("repost1", "dutydesk", "moved: my build is broken", 500));
  EXPECT_EQ(kids->all.size(), 1u);
  EXPECT_EQ(status().requests_created, 1u);
}

/// Sends `x` to `sup` as adopt and keeps the answer (a spawned actor, so the test can look before it comes).
caf::behavior adopt_asker(caf::event_based_actor* self, actors::channel_actor sup, actors::adopt_request x,
                          std::shared_ptr<std::optional<bool>> out) {
  self->request(sup, caf::infinite, atom::adopt_v, std::move(x))
    .then([self, out](bool b) { *out = b; self->quit(); }, [self](caf::error&) { self->quit(); });
  return {};
}

TEST_F(ChannelSupervisor, adopt_is_answered_only_once_the_adopted_request_has_carried_out_its_first_step) {
  // Chaos seed 15: the moving request closed on the answer, a kill -9 came before the adopted request had saved its
  // record, and the repost (a bot message, which no backfill makes a request of) was never a request again.
  actors::adopt_request x{"repost2", "carol", "moved: slow start", "http://chat.test/channel/support?msg=repost2",
                          "triage"};
  auto out = std::make_shared<std::optional<bool>>();
  sys.spawn(adopt_asker, sup, x, out);
  run();
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_TRUE(kids->all[0]->created());
  EXPECT_FALSE(out->has_value()) << "answered before the adopted request's first step was done";
  caf::anon_send(kids->all[0]->handle, atom::remind_v, std::uint64_t{0});
  run();
  ASSERT_TRUE(out->has_value());
  EXPECT_TRUE(**out);
}

TEST_F(ChannelSupervisor, cursor_stays_before_an_older_message_in_flight_then_moves_past_both) {
  chat(top("R", "carol", "help", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  ASSERT_EQ(store->cursors.size(), 1u);
  EXPECT_EQ(store->cursors[0].room, "support");
  EXPECT_EQ(store->cursors[0].ts_ms, 100);
  EXPECT_EQ(store->cursors[0].message_id, "R");
  chat(in_thread("A", "R", "mia", "hold", 1000)); // answered only on `remind`
  chat(in_thread("B", "R", "mia", "ok", 2000));   // answered at once
  ASSERT_EQ(kids->all[0]->replies.size(), 2u);
  EXPECT_EQ(store->cursors.size(), 1u) << "moved to " << store->cursors.back().message_id;
  EXPECT_EQ(status().in_flight, 1u);
  caf::anon_send(kids->all[0]->handle, atom::remind_v, std::uint64_t{0});
  run();
  ASSERT_EQ(store->cursors.size(), 2u);
  EXPECT_EQ(store->cursors[1].ts_ms, 2000);
  EXPECT_EQ(store->cursors[1].message_id, "B");
  EXPECT_EQ(status().in_flight, 0u);
}

TEST_F(ChannelSupervisor, exit_stops_every_child) {
  chat(top("root1", "carol", "one", 100));
  chat(top("root2", "carol", "two", 200));
  ASSERT_EQ(kids->all.size(), 2u);
  for (auto& c : kids->all)
    self->monitor(c->handle);
  self->monitor(sup);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown); // a duplicate EXIT is harmless
  run();
  int downs = 0;
  while (auto reason = down_reason()) {
    EXPECT_EQ(*reason, caf::exit_reason::user_shutdown);
    ++downs;
  }
  EXPECT_EQ(downs, 3);
}

TEST_F(ChannelSupervisor, a_jira_change_goes_to_the_request_and_one_for_an_unknown_request_is_answered_and_dropped) {
  chat(top("root1", "carol", "my build is broken", 100));
  ASSERT_EQ(kids->all.size(), 1u);
  EXPECT_TRUE(request<bool>(sup, atom::jira_v,
                            actors::jira_update{"root1", domain::jira_comment_added{"10042", "Carol Chen", "retry"}}));
  ASSERT_EQ(kids->all[0]->jira.size(), 1u);
  auto* c = std::get_if<domain::jira_comment_added>(&kids->all[0]->jira[0].change);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->comment_id, "10042");
  auto before = status().ignored;
  EXPECT_TRUE(request<bool>(sup, atom::jira_v,
                            actors::jira_update{"nope", domain::jira_assignee_changed{"h1", "Bob Smith"}}));
  EXPECT_EQ(kids->all.size(), 1u);
  EXPECT_EQ(status().ignored, before + 1);
}

TEST_F(ChannelSupervisor, an_edited_thread_reply_is_handed_on_as_an_edit) {
  chat(top("root1", "carol", "my build is broken", 100));
  auto ev = in_thread("r1", "root1", "carol", "it is the runner", 200);
  ev.msg.edited = true;
  ev.msg.author_name = "Carol Chen";
  chat(ev);
  ASSERT_EQ(kids->all[0]->replies.size(), 1u);
  EXPECT_TRUE(kids->all[0]->replies[0].edited);
  EXPECT_EQ(kids->all[0]->replies[0].author_name, "Carol Chen");
  EXPECT_EQ(kids->all[0]->replies[0].text, "it is the runner");
}

TEST_F(ChannelSupervisor, a_task_born_in_jira_is_posted_once_and_becomes_a_request_linked_to_its_issue) {
  actors::jira_born b{"CICD-42", "http://jira.test/browse/CICD-42", "To Do", "Carol Chen", "", "Runner disk full",
                      "runner-7 has no space"};
  auto id = request<std::string>(sup, atom::open_v, b);
  EXPECT_EQ(id, "jira-CICD-42-post");
  ASSERT_EQ(kids->all.size(), 1u);
  const auto& c = *kids->all[0];
  ASSERT_TRUE(c.created());
  const auto& created = std::get<domain::created>(c.args.start);
  EXPECT_EQ(created.request_id, id);
  EXPECT_EQ(created.jira_key, "CICD-42");
  EXPECT_EQ(created.jira_url, "http://jira.test/browse/CICD-42");
  EXPECT_EQ(created.requester, "dutydesk"); // the reporter is no known chat user
  EXPECT_EQ(created.text, "Runner disk full\nrunner-7 has no space");
  EXPECT_EQ(created.on_duty.users, std::vector<std::string>{"alice"});
  // Again (a replayed delivery): the same request, nothing new.
  EXPECT_EQ(request<std::string>(sup, atom::open_v, b), id);
  EXPECT_EQ(kids->all.size(), 1u);
}

// -- restored requests and their stored Jira link -------------------------------------------------------------------

namespace {

struct link_log {
  std::map<std::string, storage::jira_link> links; // by request id
  std::vector<std::string> queries;                // request ids looked up
};

/// fake_storage plus Jira links by request id (storage_behavior answers every link query empty).
actors::storage_actor::behavior_type fake_link_storage(actors::storage_actor::pointer, std::shared_ptr<storage_log> log,
                                                       std::shared_ptr<link_log> links) {
  return {
    [log](atom::save, actors::persist_request& p) {
      log->records[p.record.root_message_id] = p.record;
      return true;
    },
    [](atom::claim, std::string&, std::int64_t) { return actors::claim_reply{}; },
    [](atom::done, std::string&, std::string&, std::int64_t) {},
    [log](atom::find, std::string& root) {
      actors::found_request f;
      if (auto it = log->records.find(root); it != log->records.end())
        f.record = it->second;
      return f;
    },
    [log](atom::load, std::string& room) {
      std::vector<domain::request_record> xs;
      for (const auto& [root, r] : log->records)
        if (r.room == room && r.phase != domain::request_phase::moved)
          xs.push_back(r);
      return xs;
    },
    [](atom::cursor, actors::cursor_update&) { return true; },
    [](atom::cursors) { return std::vector<storage::room_cursor>{}; },
    [links](atom::jira, actors::jira_link_query& q) {
      links->queries.push_back(q.request_id);
      actors::jira_link_answer a;
      if (auto it = links->links.find(q.request_id); it != links->links.end())
        a.link = it->second;
      return a;
    },
    [](atom::jira, actors::jira_ops_query&) { return std::vector<storage::jira_op>{}; },
    [](atom::jira, actors::jira_op_update&) { return true; },
    [](atom::jira, storage::jira_link&) { return true; },
    [](atom::jira, storage::jira_comment_link&) { return true; },
    [](atom::jira, actors::jira_comment_query&) { return actors::jira_comment_answer{}; },
    [](atom::inbox, storage::inbox_delivery&) { return true; },
    [](atom::inbox, std::size_t) { return std::vector<storage::inbox_delivery>{}; },
    [](atom::inbox, actors::inbox_done&) { return true; },
    [](atom::inbox, actors::inbox_prune&) { return std::size_t{0}; },
    [](atom::get, std::string&) { return std::string{}; },
    [](atom::save, std::string&, std::string&) { return true; },
    [](atom::events, actors::events_query&) { return std::vector<storage::outbox_event>{}; },
    [](atom::events, actors::events_sent&) { return true; },
    [](atom::gauges, const std::string&) { return actors::storage_gauges{}; },
  };
}

/// Another channel's supervisor: records the Jira changes handed to it.
actors::channel_actor::behavior_type fake_target(actors::channel_actor::pointer,
                                                 std::shared_ptr<std::vector<actors::jira_update>> got) {
  return {
    [](atom::chat, actors::chat_event&) {},
    [](atom::adopt, actors::adopt_request&) { return true; },
    [](atom::restore) { return std::size_t{0}; },
    [](atom::restore, const std::string&) {},
    [](atom::status) { return actors::channel_status{}; },
    [got](atom::jira, actors::jira_update& u) {
      got->push_back(u);
      return true;
    },
    [](atom::open, actors::jira_born&) { return std::string{}; },
    [](atom::rate, actors::feedback_update&) { return true; },
  };
}

/// The supervisor of a channel mirrored to Jira, over a store that holds Jira links; "triage" is a channel too.
class ChannelSupervisorJiraLinks : public ChannelSupervisor {
protected:
  std::shared_ptr<link_log> links = std::make_shared<link_log>();
  std::shared_ptr<std::vector<actors::jira_update>> triage_got = std::make_shared<std::vector<actors::jira_update>>();
  actors::storage_actor plain_storage;
  actors::channel_actor triage;

  void SetUp() override {
    ChannelSupervisor::SetUp();
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    run();
    plain_storage = storage_hdl;
    storage_hdl = sys.spawn(fake_link_storage, store, links);
    triage = sys.spawn(fake_target, triage_got);
    auto a = args();
    a.params.jira = true;
    auto dir = std::make_shared<actors::channel_directory>();
    dir->by_room.emplace("triage", triage);
    a.channels = dir;
    sup = actors::spawn_channel(sys, std::move(a));
    run();
  }

  void TearDown() override {
    caf::anon_send_exit(plain_storage, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(triage, caf::exit_reason::user_shutdown);
    ChannelSupervisor::TearDown();
  }

  std::shared_ptr<child> kid(const std::string& root) {
    for (auto& c : kids->all)
      if (auto* r = std::get_if<domain::restored>(&c->args.start); r != nullptr && r->record.root_message_id == root)
        return c;
    return nullptr;
  }
};

} // namespace

// Found by the chaos run: dutydesk killed after the Jira bridge stored "issue created, linked" and before the request
// took jira_linked. The restarted request had no key and its thread never got the "Jira: [KEY](url)" post (a later
// move would have given the target channel a second issue).
TEST_F(ChannelSupervisorJiraLinks, a_restored_request_without_its_issue_key_gets_the_stored_link_again) {
  store->records["a"] = stored("a");
  auto b = stored("b");
  b.jira_key = "SUP-2";
  b.jira_url = "http://jira.test/browse/SUP-2";
  store->records["b"] = b;
  store->records["c"] = stored("c");
  links->links["a"] = storage::jira_link{"a", "SUP-7", "10007", "http://jira.test/browse/SUP-7", "SUP", 1};
  links->links["b"] = storage::jira_link{"b", "SUP-2", "10002", "http://jira.test/browse/SUP-2", "SUP", 1};
  EXPECT_EQ(request<std::size_t>(sup, atom::restore_v), 3u);
  run();
  ASSERT_EQ(kids->all.size(), 3u);
  auto a = kid("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->jira.size(), 1u);
  EXPECT_EQ(a->jira[0].request_id, "a");
  const auto* linked = std::get_if<domain::jira_linked>(&a->jira[0].change);
  ASSERT_NE(linked, nullptr);
  EXPECT_EQ(linked->key, "SUP-7");
  EXPECT_EQ(linked->url, "http://jira.test/browse/SUP-7");
  ASSERT_NE(kid("b"), nullptr);
  EXPECT_TRUE(kid("b")->jira.empty()); // it has its key: nothing to hand over
  ASSERT_NE(kid("c"), nullptr);
  EXPECT_TRUE(kid("c")->jira.empty()); // no link stored (the issue is not created yet)
  EXPECT_EQ(links->queries, (std::vector<std::string>{"a", "c"}));
}

TEST_F(ChannelSupervisorJiraLinks, a_request_restored_for_a_thread_reply_gets_its_stored_link_too) {
  store->records["a"] = stored("a");
  links->links["a"] = storage::jira_link{"a", "SUP-7", "10007", "http://jira.test/browse/SUP-7", "SUP", 1};
  chat(in_thread("r1", "a", "mia", "any news", 200));
  ASSERT_EQ(kids->all.size(), 1u);
  auto a = kid("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->jira.size(), 1u);
  EXPECT_EQ(std::get<domain::jira_linked>(a->jira[0].change).key, "SUP-7");
  ASSERT_EQ(a->args.then.size() + a->replies.size(), 1u);
}

// Found by the chaos run: a Jira comment routed to a request that had moved and closed was dropped (and recorded by
// the bridge as posted); it goes on to the request the move created.
TEST_F(ChannelSupervisorJiraLinks, a_jira_change_for_a_moved_closed_request_goes_on_to_the_request_the_move_created) {
  auto r = stored("a", domain::request_phase::moved);
  r.move_target_room = "triage";
  r.moved_permalink = "http://chat.test/channel/triage?msg=rp1";
  store->records["a"] = r;
  EXPECT_TRUE(request<bool>(sup, atom::jira_v,
                            actors::jira_update{"a", domain::jira_comment_added{"10020", "Carol Chen", "picked up"}}));
  EXPECT_TRUE(request<bool>(sup, atom::jira_v,
                            actors::jira_update{"a", domain::jira_linked{"SUP-7", "http://jira.test/browse/SUP-7", ""}}));
  EXPECT_TRUE(kids->all.empty()); // nothing woken here
  ASSERT_EQ(triage_got->size(), 1u); // the comment; a link is not handed on
  EXPECT_EQ((*triage_got)[0].request_id, "rp1");
  EXPECT_EQ(std::get<domain::jira_comment_added>((*triage_got)[0].change).comment_id, "10020");
  EXPECT_EQ(status().ignored, 1u);
}
