// The storage actor on the test scheduler over an in-memory SQLite store. The test keeps its own handle on the store
// to check what the actor wrote (the actor is its only user while a message is handled; the test reads only between
// sched.run() calls, so both never touch it at once).

#include <caf/send.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "storage/open.hpp"
#include "tests/support/deterministic_fixture.hpp"

namespace dutydesk::actors {
namespace {

using namespace std::chrono_literals;

std::int64_t ms(domain::timestamp t) {
  return t.time_since_epoch().count();
}

/// An active request in `room` with a reminder armed, as the machine would persist it after `created`.
domain::request_record sample(const std::string& id, const std::string& room, domain::timestamp now) {
  domain::request_record r;
  r.request_id = id;
  r.room = room;
  r.root_message_id = "root-" + id;
  r.requester = "alice";
  r.text = "printer on floor 3 is on fire";
  r.permalink = "https://chat.example/channel/" + room + "?msg=root-" + id;
  r.phase = domain::request_phase::active;
  r.status = "new";
  r.on_duty = domain::duty_resolution{{"carol", "dave"}, domain::duty_source::ok, "", false};
  r.reminder_epoch = 1;
  r.reminder_deadline = now + 4h;
  return r;
}

/// A record with every field away from its default, strings with bytes JSON cannot hold among them.
domain::request_record every_field() {
  domain::request_record r;
  r.request_id = "req-42";
  r.room = "cicd-support";
  r.root_message_id = "root\xff\xfe";
  r.requester = "alice";
  r.handled_replies = {"m1", std::string{"m\xff"} + "2"};
  r.text = std::string{"invalid \xc3\x28 utf-8, a NUL "} + '\0' + " and \xe2\x82\xac \"quotes\" \\ \n";
  r.permalink = "https://chat.example/channel/cicd-support?msg=root";
  r.phase = domain::request_phase::moved;
  r.status = "in_progress";
  r.assignee = "bob";
  r.on_duty = domain::duty_resolution{{"carol", "d\xffve"}, domain::duty_source::unmapped,
                                      "no Rocket.Chat user for OnCall user U1", true};
  r.status_seq = 3;
  r.reminder_epoch = 9;
  r.reminder_deadline = domain::timestamp{std::chrono::milliseconds{1796130000123}};
  r.unanswered_reminders = 2;
  r.reminders_sent = 5;
  r.move_target_room = "infra-support";
  r.moved_by = "erin";
  r.moved_permalink = "https://chat.example/channel/infra-support?msg=repost";
  return r;
}

class StorageActor : public test::deterministic_fixture {
protected:
  void SetUp() override {
    auto opened = storage::open_store("sqlite::memory:");
    ASSERT_TRUE(opened.ok()) << opened.err().message;
    db = std::shared_ptr<storage::store>{std::move(*opened)};
    actor = spawn_storage(sys, db, false, wall());
    run();
  }

  void TearDown() override {
    if (actor)
      stop(actor);
  }

  bool save(const domain::request_record& r, std::optional<domain::status_change> change = std::nullopt) {
    return request<bool>(actor, atom::save_v, persist_request{r, std::move(change)});
  }

  std::optional<domain::request_record> find(const std::string& root) {
    return request<found_request>(actor, atom::find_v, root).record;
  }

  claim_reply claim(const std::string& key) {
    return request<claim_reply>(actor, atom::claim_v, key, ms(wall_now()));
  }

  /// The error answer of a request that answers `T` on success; a default error when it succeeded.
  template <class T, class... Ts>
  caf::error error_of(Ts&&... xs) {
    auto rp = self->request(actor, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::error out;
    rp.receive([](T&) {}, [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  std::optional<storage::timer_record> reminder_of(const std::string& id) {
    auto timers = db->due_timers(INT64_MAX);
    EXPECT_TRUE(timers.ok());
    for (const auto& t : *timers)
      if (t.request_id == id && t.kind == "reminder")
        return t;
    return std::nullopt;
  }

  std::shared_ptr<storage::store> db;
  storage_actor actor;
};

TEST_F(StorageActor, save_then_find_by_root_gives_the_same_record) {
  auto r = sample("r1", "cicd-support", wall_now());
  EXPECT_TRUE(save(r));
  auto found = find("root-r1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, r);
  EXPECT_FALSE(find("root-unknown").has_value());
  // The indexed columns agree with the record.
  auto row = db->request("r1");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->room_id, "cicd-support");
  EXPECT_EQ((*row)->on_duty, std::optional<std::string>{"carol"});
  EXPECT_EQ((*row)->created_at, wall_start_ms);
  EXPECT_FALSE((*row)->closed);
  EXPECT_EQ(db->thread_links("r1").value(), (std::vector<storage::thread_link>{{"root-r1", "r1", "cicd-support"}}));
}

TEST_F(StorageActor, saving_again_updates_the_row_and_keeps_created_at_and_the_link) {
  auto r = sample("r1", "cicd-support", wall_now());
  EXPECT_TRUE(save(r));
  advance(10min);
  r.assignee = "bob";
  r.status = "in_progress";
  r.status_seq = 1;
  EXPECT_TRUE(save(r)); // the thread is linked already: no constraint error
  EXPECT_EQ(find("root-r1"), r);
  auto row = db->request("r1");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->created_at, wall_start_ms);
  EXPECT_EQ((*row)->updated_at, wall_start_ms + 600'000);
  EXPECT_EQ((*row)->assignee, std::optional<std::string>{"bob"});
  EXPECT_EQ(db->counts()->thread_links, 1);
}

TEST_F(StorageActor, status_changes_are_appended_to_the_history) {
  auto r = sample("r1", "cicd-support", wall_now());
  auto t0 = wall_now();
  EXPECT_TRUE(save(r, domain::status_change{"", "new", "", t0, 0}));
  advance(1min);
  r.status = "done";
  r.status_seq = 1;
  auto t1 = wall_now();
  EXPECT_TRUE(save(r, domain::status_change{"new", "done", "bob", t1, 1}));
  EXPECT_TRUE(save(r)); // no change: no history row
  auto history = db->status_history("r1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0], (storage::status_change{"r1", std::nullopt, "new", "dutydesk", ms(t0), 1}));
  EXPECT_EQ((*history)[1], (storage::status_change{"r1", std::string{"new"}, "done", "bob", ms(t1), 2}));
}

TEST_F(StorageActor, reminder_timer_is_set_then_removed_when_the_deadline_is_cleared) {
  auto r = sample("r1", "cicd-support", wall_now());
  EXPECT_TRUE(save(r));
  EXPECT_EQ(reminder_of("r1"), (storage::timer_record{"r1", "reminder", ms(*r.reminder_deadline), 1}));
  r.reminder_epoch = 2;
  r.reminder_deadline = wall_now() + 8h;
  EXPECT_TRUE(save(r));
  EXPECT_EQ(reminder_of("r1"), (storage::timer_record{"r1", "reminder", ms(*r.reminder_deadline), 2}));
  r.reminder_epoch = 3;
  r.reminder_deadline.reset();
  EXPECT_TRUE(save(r));
  EXPECT_FALSE(reminder_of("r1").has_value());
  EXPECT_EQ(db->counts()->timers, 0);
  EXPECT_FALSE(db->request("r1")->value().next_reminder_at.has_value());
}

TEST_F(StorageActor, claim_fresh_then_pending_then_done_with_its_result) {
  auto first = claim("r1/intro");
  EXPECT_EQ(first.status, storage::claim_status::fresh);
  EXPECT_EQ(first.result, "");
  auto again = claim("r1/intro");
  EXPECT_EQ(again.status, storage::claim_status::pending);
  caf::anon_send(actor, atom::done_v, std::string{"r1/intro"}, std::string{"msg-77"}, ms(wall_now()));
  run();
  auto done = claim("r1/intro");
  EXPECT_EQ(done.status, storage::claim_status::done);
  EXPECT_EQ(done.result, "msg-77");
  // Committed, not just staged: the store sees it outside the actor.
  auto rec = db->action("r1/intro");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->state, storage::action_state::done);
  EXPECT_EQ(claim("r1/other").status, storage::claim_status::fresh);
}

TEST_F(StorageActor, load_gives_the_open_requests_of_one_room_oldest_first) {
  auto a = sample("a", "cicd-support", wall_now());
  EXPECT_TRUE(save(a));
  advance(1min);
  auto other_room = sample("b", "infra-support", wall_now());
  EXPECT_TRUE(save(other_room));
  advance(1min);
  auto moved = sample("c", "cicd-support", wall_now());
  moved.phase = domain::request_phase::moved;
  moved.move_target_room = "infra-support";
  moved.reminder_deadline.reset();
  EXPECT_TRUE(save(moved));
  advance(1min);
  auto final_status = sample("d", "cicd-support", wall_now());
  final_status.status = "done"; // final, but a final status can be reopened: still open
  final_status.reminder_deadline.reset();
  EXPECT_TRUE(save(final_status));
  advance(1min);
  EXPECT_TRUE(save(a)); // an update does not make it younger

  auto loaded = request<std::vector<domain::request_record>>(actor, atom::load_v, std::string{"cicd-support"});
  EXPECT_EQ(loaded, (std::vector<domain::request_record>{a, final_status}));
  auto row = db->request("c");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_TRUE((*row)->closed);
  EXPECT_EQ((*row)->moved_to, std::optional<std::string>{"infra-support"});
  EXPECT_TRUE(request<std::vector<domain::request_record>>(actor, atom::load_v, std::string{"nowhere"}).empty());
}

TEST_F(StorageActor, load_skips_rows_without_lifecycle_state) {
  auto r = sample("r1", "cicd-support", wall_now());
  EXPECT_TRUE(save(r));
  auto legacy = to_row(sample("old", "cicd-support", wall_now()), 1);
  legacy.lifecycle.reset(); // as a version-1 row reads after the upgrade
  auto txn = db->begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->upsert_request(legacy).ok());
  ASSERT_TRUE((*txn)->link_thread({"root-old", "old", "cicd-support"}).ok());
  ASSERT_TRUE((*txn)->commit().ok());
  auto loaded = request<std::vector<domain::request_record>>(actor, atom::load_v, std::string{"cicd-support"});
  EXPECT_EQ(loaded, (std::vector<domain::request_record>{r}));
  EXPECT_FALSE(find("root-old").has_value());
}

TEST_F(StorageActor, cursor_only_moves_forward) {
  auto cursors = [this] { return request<std::vector<storage::room_cursor>>(actor, atom::cursors_v); };
  EXPECT_TRUE(cursors().empty());
  EXPECT_TRUE(request<bool>(actor, atom::cursor_v, cursor_update{"cicd-support", 1000, "m1"}));
  EXPECT_TRUE(request<bool>(actor, atom::cursor_v, cursor_update{"infra-support", 50, "x1"}));
  EXPECT_TRUE(request<bool>(actor, atom::cursor_v, cursor_update{"cicd-support", 2000, "m2"}));
  EXPECT_TRUE(request<bool>(actor, atom::cursor_v, cursor_update{"cicd-support", 1500, "m-old"}));
  EXPECT_TRUE(request<bool>(actor, atom::cursor_v, cursor_update{"cicd-support", 2000, "m-same-ms"}));
  EXPECT_EQ(cursors(), (std::vector<storage::room_cursor>{{"cicd-support", 2000, "m2"}, {"infra-support", 50, "x1"}}));
  EXPECT_TRUE(request<bool>(actor, atom::cursor_v, cursor_update{"cicd-support", 2001, "m3"}));
  EXPECT_EQ(cursors().front(), (storage::room_cursor{"cicd-support", 2001, "m3"}));
}

TEST_F(StorageActor, save_that_violates_a_constraint_answers_storage_failed_and_writes_nothing) {
  EXPECT_TRUE(save(sample("r1", "cicd-support", wall_now())));
  // Another request claiming the same thread root: the link is refused, so the whole unit of work is.
  auto intruder = sample("r2", "cicd-support", wall_now());
  intruder.root_message_id = "root-r1";
  auto change = domain::status_change{"", "new", "", wall_now(), 0};
  auto err = error_of<bool>(atom::save_v, persist_request{intruder, change});
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), caf::atom("dutydesk"));
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::storage_failed));
  EXPECT_NE(describe(err).find("link thread"), std::string::npos) << describe(err);
  EXPECT_FALSE(db->request("r2")->has_value());
  EXPECT_TRUE(db->status_history("r2")->empty());
  EXPECT_FALSE(reminder_of("r2").has_value());
  EXPECT_EQ(find("root-r1")->request_id, "r1");
  // The actor keeps working after a failure.
  EXPECT_TRUE(save(sample("r3", "cicd-support", wall_now())));
}

TEST_F(StorageActor, store_busy_with_another_transaction_answers_storage_failed) {
  auto held = db->begin(); // one transaction per store at a time
  ASSERT_TRUE(held.ok());
  auto err = error_of<bool>(atom::save_v, persist_request{sample("r1", "cicd-support", wall_now()), std::nullopt});
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::storage_failed));
  auto claim_err = error_of<claim_reply>(atom::claim_v, std::string{"k"}, std::int64_t{1});
  EXPECT_EQ(claim_err.code(), static_cast<std::uint8_t>(ec::storage_failed));
  (*held)->rollback();
  EXPECT_TRUE(save(sample("r1", "cicd-support", wall_now())));
}

TEST(StorageRows, to_row_and_from_row_round_trip_every_field) {
  auto r = every_field();
  auto row = to_row(r, 1796115600000);
  EXPECT_EQ(row.id, "req-42");
  EXPECT_EQ(row.room_id, "cicd-support");
  EXPECT_EQ(row.root_message_id, r.root_message_id);
  EXPECT_EQ(row.requester_id, "alice");
  EXPECT_EQ(row.requester_username, "alice");
  EXPECT_EQ(row.text, r.text);
  EXPECT_EQ(row.status, "in_progress");
  EXPECT_EQ(row.assignee, std::optional<std::string>{"bob"});
  EXPECT_EQ(row.on_duty, std::optional<std::string>{"carol"});
  EXPECT_EQ(row.created_at, 1796115600000);
  EXPECT_EQ(row.updated_at, 1796115600000);
  EXPECT_EQ(row.last_activity_at, 1796115600000);
  EXPECT_EQ(row.reminders_sent, 5);
  EXPECT_EQ(row.next_reminder_at, std::optional<std::int64_t>{1796130000123});
  EXPECT_EQ(row.reminder_epoch, 9);
  EXPECT_TRUE(row.closed);
  EXPECT_EQ(row.moved_to, std::optional<std::string>{"infra-support"});
  EXPECT_EQ(row.source, storage::request_source::chat);
  EXPECT_FALSE(row.jira_key.has_value());
  ASSERT_TRUE(row.lifecycle.has_value());
  EXPECT_NE(row.lifecycle->find(R"("phase":"moved")"), std::string::npos) << *row.lifecycle;
  EXPECT_NE(row.lifecycle->find(R"("source":"unmapped")"), std::string::npos) << *row.lifecycle;
  EXPECT_NE(row.lifecycle->find(R"("reminder_deadline":1796130000123)"), std::string::npos) << *row.lifecycle;
  auto back = from_row(row);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, r);
  EXPECT_EQ(back->text, r.text); // byte for byte (operator== says so too; this prints the difference)
}

TEST(StorageRows, defaults_round_trip_and_map_to_empty_columns) {
  domain::request_record r;
  r.request_id = "r0";
  auto row = to_row(r, 5);
  EXPECT_FALSE(row.assignee.has_value());
  EXPECT_FALSE(row.on_duty.has_value());
  EXPECT_FALSE(row.next_reminder_at.has_value());
  EXPECT_FALSE(row.closed);
  EXPECT_FALSE(row.moved_to.has_value());
  EXPECT_EQ(from_row(row), r);
  // Moving is not moved: the request is still open here until the repost is confirmed.
  r.phase = domain::request_phase::moving;
  r.move_target_room = "infra-support";
  auto moving = to_row(r, 5);
  EXPECT_FALSE(moving.closed);
  EXPECT_FALSE(moving.moved_to.has_value());
  EXPECT_EQ(from_row(moving), r);
}

TEST(StorageRows, from_row_refuses_missing_or_malformed_lifecycle) {
  auto good = to_row(every_field(), 1);
  auto with = [&](std::optional<std::string> lifecycle) {
    auto row = good;
    row.lifecycle = std::move(lifecycle);
    return from_row(row);
  };
  ASSERT_TRUE(with(good.lifecycle).has_value());
  EXPECT_FALSE(with(std::nullopt).has_value());
  EXPECT_FALSE(with("").has_value());
  EXPECT_FALSE(with("{not json").has_value());
  EXPECT_FALSE(with(good.lifecycle->substr(0, good.lifecycle->size() / 2)).has_value());
  EXPECT_FALSE(with("[1, 2, 3]").has_value());
  EXPECT_FALSE(with("{}").has_value());
  auto edited = [&](const std::string& from, const std::string& to) {
    auto text = *good.lifecycle;
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
      text.replace(at, from.size(), to);
    return with(text);
  };
  EXPECT_FALSE(edited(R"("phase":"moved")", R"("phase":"gone")").has_value());
  EXPECT_FALSE(edited(R"("phase":"moved")", R"("phase":3)").has_value());
  EXPECT_FALSE(edited(R"("source":"unmapped")", R"("source":"maybe")").has_value());
  EXPECT_FALSE(edited(R"("status_seq":3)", R"("status_seq":-3)").has_value());
  EXPECT_FALSE(edited(R"("status_seq":3)", R"("status_seq":"3")").has_value());
  EXPECT_FALSE(edited(R"("reminder_deadline":1796130000123)", R"("reminder_deadline":"soon")").has_value());
  EXPECT_FALSE(edited(R"("fallback_used":true)", R"("fallback_used":1)").has_value());
  EXPECT_FALSE(edited(R"("v":1)", R"("v":2)").has_value());
  EXPECT_FALSE(edited(R"("moved_by":"erin")", R"("moved_byx":"erin")").has_value());
  EXPECT_FALSE(edited(R"("request_id":"req-42")", R"("request_id":"req-43")").has_value());
  // A reminder that is not armed reads back as such.
  auto unarmed = edited(R"("reminder_deadline":1796130000123)", R"("reminder_deadline":null)");
  ASSERT_TRUE(unarmed.has_value());
  EXPECT_FALSE(unarmed->reminder_deadline.has_value());
}

TEST_F(StorageActor, find_of_a_row_with_malformed_lifecycle_is_empty) {
  auto row = to_row(sample("r1", "cicd-support", wall_now()), 1);
  row.lifecycle = R"({"v":1,"request_id":"r1"})";
  auto txn = db->begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->upsert_request(row).ok());
  ASSERT_TRUE((*txn)->link_thread({"root-r1", "r1", "cicd-support"}).ok());
  ASSERT_TRUE((*txn)->commit().ok());
  EXPECT_FALSE(find("root-r1").has_value());
  EXPECT_TRUE(request<std::vector<domain::request_record>>(actor, atom::load_v, std::string{"cicd-support"}).empty());
}

TEST_F(StorageActor, the_jira_inbox_dedupes_marks_and_prunes_and_a_pruned_delivery_stays_refused) {
  storage::inbox_delivery d;
  d.delivery_id = "d-1";
  d.source = "webhook";
  d.body = R"({"webhookEvent":"comment_created"})";
  d.received_at = 1000;
  EXPECT_TRUE(request<bool>(actor, atom::inbox_v, d));
  EXPECT_FALSE(request<bool>(actor, atom::inbox_v, d)); // the same delivery again
  auto pending = request<std::vector<storage::inbox_delivery>>(actor, atom::inbox_v, std::size_t{10});
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].body, d.body);
  EXPECT_TRUE(request<bool>(actor, atom::inbox_v, inbox_done{pending[0].seq, "routed"}));
  EXPECT_TRUE(request<std::vector<storage::inbox_delivery>>(actor, atom::inbox_v, std::size_t{10}).empty());
  // Processed now (the wall clock): pruning older rows keeps it, pruning up to the future removes it.
  EXPECT_EQ(request<std::size_t>(actor, atom::inbox_v, inbox_prune{1}), 0u);
  EXPECT_EQ(request<std::size_t>(actor, atom::inbox_v, inbox_prune{ms(wall_now()) + 1}), 1u);
  EXPECT_FALSE(request<bool>(actor, atom::inbox_v, d)); // still refused after the prune
}

} // namespace
} // namespace dutydesk::actors
