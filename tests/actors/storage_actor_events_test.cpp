// The storage actor's schema v4 side on the test scheduler over an in-memory SQLite store: a save writes the step's
// outbox events and the survey row in the request's transaction, the event relays read and mark their sinks' rows,
// and the metrics sampler reads the gauges. The test reads the store only between sched.run() calls.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "storage/open.hpp"
#include "tests/support/deterministic_fixture.hpp"

namespace dutydesk::actors {
namespace {

using namespace std::chrono_literals;

domain::timestamp at_ms(std::int64_t x) {
  return domain::timestamp{std::chrono::milliseconds{x}};
}

/// A request of team "cicd" resolved ("done") at `t0` + 1 h, its survey (round 1) sent then; `requester` empty
/// stands for anonymous feedback.
domain::request_record resolved(const std::string& id, std::int64_t t0, const std::string& survey_requester) {
  domain::request_record r;
  r.request_id = id;
  r.room = "cicd-support";
  r.root_message_id = "root-" + id;
  r.requester = "alice";
  r.text = "the build is red";
  r.permalink = "https://chat.example/channel/cicd-support?msg=root-" + id;
  r.phase = domain::request_phase::active;
  r.status = "done";
  r.assignee = "bob";
  r.on_duty = domain::duty_resolution{{"carol"}, domain::duty_source::ok, "", false};
  r.status_seq = 2;
  r.team = "cicd";
  r.created_at = at_ms(t0);
  r.first_response_at = at_ms(t0 + 60'000);
  r.resolved_at = at_ms(t0 + 3'600'000);
  r.survey.round = 1;
  r.survey.phase = domain::survey_phase::open;
  r.survey.sent_at = at_ms(t0 + 3'600'500);
  r.survey.expires_at = at_ms(t0 + 3'600'500 + 7 * 24 * 3'600'000LL);
  r.survey.resolved_at = at_ms(t0 + 3'600'000);
  r.survey.on_duty = "bob";
  r.survey.requester = survey_requester;
  return r;
}

/// An active request of `room` (team `team`, "" for none) in `status`, no survey.
domain::request_record active(const std::string& id, const std::string& room, const std::string& team,
                              const std::string& status) {
  domain::request_record r;
  r.request_id = id;
  r.room = room;
  r.root_message_id = "root-" + id;
  r.requester = "alice";
  r.text = "help";
  r.phase = domain::request_phase::active;
  r.status = status;
  r.team = team;
  return r;
}

storage::outbox_event event(const std::string& id, const std::string& request_id, std::int64_t created_at) {
  storage::outbox_event e;
  e.id = id;
  e.request_id = request_id;
  e.subject = "dutydesk.request.status_changed";
  e.payload = R"({"id":")" + id + R"("})";
  e.created_at = created_at;
  return e;
}

std::vector<std::string> ids(const std::vector<storage::outbox_event>& xs) {
  std::vector<std::string> out;
  for (const auto& x : xs)
    out.push_back(x.id);
  return out;
}

using names = std::vector<std::string>;

class StorageActorEvents : public test::deterministic_fixture {
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

  bool save(persist_request req) { return request<bool>(actor, atom::save_v, std::move(req)); }

  names pending(const std::string& sink, std::size_t limit = 100) {
    return ids(request<std::vector<storage::outbox_event>>(actor, atom::events_v, events_query{sink, limit}));
  }

  bool sent(const std::string& sink, std::vector<std::string> xs, std::int64_t at) {
    return request<bool>(actor, atom::events_v, events_sent{sink, std::move(xs), at});
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

  std::vector<storage::feedback_record> feedback(const std::string& id) {
    auto xs = db->feedback_of(id);
    EXPECT_TRUE(xs.ok());
    return xs.ok() ? *xs : std::vector<storage::feedback_record>{};
  }

  std::shared_ptr<storage::store> db;
  storage_actor actor;
};

constexpr std::int64_t t0 = test::deterministic_fixture::wall_start_ms;

TEST_F(StorageActorEvents, save_writes_the_events_and_an_anonymous_survey_row_with_the_request) {
  auto r = resolved("r1", t0, "");
  EXPECT_TRUE(save({r, domain::status_change{"new", "done", "bob", at_ms(t0 + 3'600'000), 2}, {},
                    {event("e1", "r1", t0 + 1), event("e2", "r1", t0 + 2)}}));
  auto outbox = db->pending_events_of("r1");
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 2u);
  EXPECT_EQ((*outbox)[0], (storage::outbox_event{"e1", "r1", "dutydesk.request.status_changed", R"({"id":"e1"})",
                                                 t0 + 1, std::nullopt, 1, (*outbox)[0].position}));
  EXPECT_EQ((*outbox)[1].id, "e2");
  EXPECT_EQ((*outbox)[1].seq, 2);

  storage::feedback_record want;
  want.request_id = "r1";
  want.round = 1;
  want.team = "cicd";
  want.room_id = "cicd-support";
  want.on_duty = "bob";
  want.requester = std::nullopt; // anonymous: no identity with the rating
  want.created_at = t0;
  want.first_response_at = t0 + 60'000;
  want.resolved_at = t0 + 3'600'000;
  want.sent_at = t0 + 3'600'500;
  want.expires_at = t0 + 3'600'500 + 7 * 24 * 3'600'000LL;
  want.state = "open";
  EXPECT_EQ(feedback("r1"), (std::vector<storage::feedback_record>{want}));

  // The request row carries the v4 columns; the requester's latest survey points at it.
  auto row = db->request("r1");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->team, "cicd");
  EXPECT_EQ((*row)->created_at, t0);
  EXPECT_EQ((*row)->first_response_at, std::optional<std::int64_t>{t0 + 60'000});
  EXPECT_EQ((*row)->resolved_at, std::optional<std::int64_t>{t0 + 3'600'000});
  EXPECT_EQ((*row)->reopens, 0);
  EXPECT_EQ(db->state(survey_key("alice"))->value_or(""), "r1");
}

TEST_F(StorageActorEvents, named_survey_keeps_the_requester_and_later_saves_update_or_add_rounds) {
  auto r = resolved("r1", t0, "alice");
  EXPECT_TRUE(save({r, std::nullopt}));
  auto rows = feedback("r1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].requester, std::optional<std::string>{"alice"});
  EXPECT_EQ(rows[0].state, "open");

  // Rated with a comment that is not UTF-8: the same row, every byte of the comment kept.
  r.survey.phase = domain::survey_phase::rated;
  r.survey.rating = 4;
  r.survey.rated_at = at_ms(t0 + 3'700'000);
  r.survey.comment = std::string{"ok \xff\xfe "} + '\0' + " \xc3\x28";
  EXPECT_TRUE(save({r, std::nullopt}));
  rows = feedback("r1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "rated");
  EXPECT_EQ(rows[0].rating, std::optional<std::int32_t>{4});
  EXPECT_EQ(rows[0].rated_at, std::optional<std::int64_t>{t0 + 3'700'000});
  EXPECT_EQ(rows[0].comment, std::optional<std::string>{r.survey.comment});
  EXPECT_EQ(rows[0].requester, std::optional<std::string>{"alice"});

  // Reopened and resolved again: round 2 is a new row, round 1 stays rated.
  auto second = resolved("r1", t0, "alice");
  second.reopens = 1;
  second.resolved_at = at_ms(t0 + 9'000'000);
  second.survey.round = 2;
  second.survey.resolved_at = at_ms(t0 + 9'000'000);
  second.survey.sent_at = at_ms(t0 + 9'000'100);
  EXPECT_TRUE(save({second, std::nullopt}));
  rows = feedback("r1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].state, "rated");
  EXPECT_EQ(rows[0].rating, std::optional<std::int32_t>{4});
  EXPECT_EQ(rows[1].round, 2);
  EXPECT_EQ(rows[1].state, "open");
  EXPECT_EQ(rows[1].resolved_at, t0 + 9'000'000);
  EXPECT_EQ(rows[1].sent_at, t0 + 9'000'100);
  EXPECT_FALSE(rows[1].rating.has_value());
  EXPECT_EQ(db->request("r1")->value().reopens, 1);

  // Withdrawn (reopened before an answer): the state follows the survey phase.
  second.survey.phase = domain::survey_phase::withdrawn;
  EXPECT_TRUE(save({second, std::nullopt}));
  EXPECT_EQ(feedback("r1").at(1).state, "withdrawn");
  second.survey.phase = domain::survey_phase::expired;
  EXPECT_TRUE(save({second, std::nullopt}));
  EXPECT_EQ(feedback("r1").at(1).state, "expired");
}

TEST_F(StorageActorEvents, save_without_a_survey_writes_no_feedback_and_a_replayed_save_no_second_event) {
  auto r = active("r1", "cicd-support", "cicd", "new");
  persist_request req{r, std::nullopt, {}, {event("e1", "r1", 10), event("e2", "r1", 20)}};
  EXPECT_TRUE(save(req));
  EXPECT_TRUE(save(req)); // the same step again (a restart before the reply)
  EXPECT_TRUE(feedback("r1").empty());
  auto outbox = db->pending_events_of("r1");
  ASSERT_TRUE(outbox.ok());
  EXPECT_EQ(ids(*outbox), (names{"e1", "e2"}));
  EXPECT_EQ((*outbox)[1].seq, 2);
  EXPECT_EQ(db->counts()->events_pending, 2);
  EXPECT_FALSE(db->state(survey_key("alice"))->has_value());
}

TEST_F(StorageActorEvents, failing_save_writes_neither_the_request_nor_its_events_nor_its_survey) {
  auto r = resolved("r1", t0, "");
  r.survey.phase = domain::survey_phase::none; // injected failure: round 1 in phase none violates the state check
  auto err = error_of<bool>(atom::save_v, persist_request{r, domain::status_change{"new", "done", "bob", at_ms(t0), 2},
                                                          {}, {event("e1", "r1", 1)}});
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), caf::atom("dutydesk"));
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::storage_failed));
  EXPECT_NE(describe(err).find("store feedback"), std::string::npos) << describe(err);
  EXPECT_FALSE(db->request("r1")->has_value());
  EXPECT_TRUE(db->pending_events(100)->empty());
  EXPECT_TRUE(db->status_history("r1")->empty());
  EXPECT_TRUE(feedback("r1").empty());
  EXPECT_EQ(db->counts()->requests, 0);
  // The actor keeps working.
  EXPECT_TRUE(save({resolved("r1", t0, ""), std::nullopt, {}, {event("e1", "r1", 1)}}));
  EXPECT_EQ(feedback("r1").size(), 1u);
  EXPECT_EQ(pending("nats"), (names{"e1"}));
}

TEST_F(StorageActorEvents, each_sink_gets_its_pending_events_and_marks_only_its_own) {
  EXPECT_TRUE(save({active("r1", "cicd-support", "cicd", "new"), std::nullopt, {},
                    {event("e1", "r1", 10), event("e2", "r1", 20), event("e3", "r1", 30)}}));
  EXPECT_EQ(pending("nats"), (names{"e1", "e2", "e3"}));
  EXPECT_EQ(pending("nats", 2), (names{"e1", "e2"}));
  EXPECT_EQ(pending("webhook:0"), (names{"e1", "e2", "e3"}));
  EXPECT_EQ(pending("webhook:0", 1), (names{"e1"}));

  EXPECT_TRUE(sent("nats", {"e1"}, 1000));
  EXPECT_EQ(pending("nats"), (names{"e2", "e3"}));
  auto w0 = request<std::vector<storage::outbox_event>>(actor, atom::events_v, events_query{"webhook:0", 100});
  ASSERT_EQ(ids(w0), (names{"e1", "e2", "e3"}));
  EXPECT_EQ(w0[0].sent_at, std::optional<std::int64_t>{1000});

  EXPECT_TRUE(sent("webhook:0", {"e1", "e3"}, 2000));
  EXPECT_EQ(pending("webhook:0"), (names{"e2"}));
  EXPECT_EQ(pending("webhook:1"), (names{"e1", "e2", "e3"}));
  EXPECT_EQ(pending("nats"), (names{"e2", "e3"}));
  EXPECT_FALSE(db->pending_events_of("r1")->back().sent_at.has_value()); // e3 went to webhook:0 only
  EXPECT_TRUE(sent("webhook:0", {"e1"}, 3000)); // again: no error, nothing changes
  EXPECT_TRUE(sent("nats", {}, 3000));          // an empty batch is fine
  EXPECT_EQ(pending("webhook:0"), (names{"e2"}));

  // A batch with an unknown id fails as a whole: nothing of it is marked.
  auto err = error_of<bool>(atom::events_v, events_sent{"webhook:1", {"e2", "nope"}, 4000});
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::storage_failed));
  EXPECT_EQ(pending("webhook:1"), (names{"e1", "e2", "e3"}));
  auto nats_err = error_of<bool>(atom::events_v, events_sent{"nats", {"e2", "nope"}, 4000});
  EXPECT_EQ(nats_err.code(), static_cast<std::uint8_t>(ec::storage_failed));
  EXPECT_EQ(pending("nats"), (names{"e2", "e3"}));
}

TEST_F(StorageActorEvents, gauges_count_open_requests_by_team_and_status_and_measure_the_outboxes) {
  auto empty = request<storage_gauges>(actor, atom::gauges_v, std::string{"nats"});
  EXPECT_TRUE(empty.open.empty());
  EXPECT_EQ(empty.events_pending, 0);
  EXPECT_EQ(empty.events_oldest_at, 0);
  EXPECT_EQ(empty.jira_queued, 0);
  EXPECT_EQ(empty.jira_oldest_at, 0);

  domain::jira_action create;
  create.key = "r1/jira/create";
  create.kind = domain::jira_kind::create;
  create.text = "help";
  EXPECT_TRUE(save({active("r1", "cicd-support", "cicd", "new"), std::nullopt, {create}, {event("e1", "r1", 500)}}));
  advance(5s); // the second Jira op is queued later by the wall clock
  domain::jira_action comment;
  comment.key = "r2/jira/comment/m1";
  comment.kind = domain::jira_kind::comment;
  comment.message_id = "m1";
  EXPECT_TRUE(save({active("r2", "cicd-support", "cicd", "new"), std::nullopt, {comment}, {event("e2", "r2", 300)}}));
  // The same team in another room is summed with it; a room without a team is labelled by its room.
  EXPECT_TRUE(save({active("r3", "cicd-support-2", "cicd", "new"), std::nullopt, {}, {event("e3", "r3", 100)}}));
  EXPECT_TRUE(save({active("r4", "cicd-support", "cicd", "in_progress"), std::nullopt}));
  EXPECT_TRUE(save({active("r5", "infra-support", "", "new"), std::nullopt}));
  auto moved = active("r6", "cicd-support", "cicd", "new");
  moved.phase = domain::request_phase::moved; // closed: not counted
  moved.move_target_room = "infra-support";
  EXPECT_TRUE(save({moved, std::nullopt}));
  EXPECT_TRUE(sent("nats", {"e3"}, 1000));      // the oldest by created_at is sent
  EXPECT_TRUE(sent("webhook:0", {"e2"}, 1000)); // a webhook delivery leaves it pending for NATS

  auto g = request<storage_gauges>(actor, atom::gauges_v, std::string{"nats"});
  using row = std::tuple<std::string, std::string, std::int64_t>;
  EXPECT_EQ(g.open, (std::vector<row>{{"cicd", "in_progress", 1}, {"cicd", "new", 3}, {"infra-support", "new", 1}}));
  EXPECT_EQ(g.events_pending, 2);
  EXPECT_EQ(g.events_oldest_at, 300);
  auto hook = request<storage_gauges>(actor, atom::gauges_v, std::string{"webhook:0"});
  EXPECT_EQ(hook.events_pending, 2); // e1, e3
  EXPECT_EQ(hook.events_oldest_at, 100);
  EXPECT_EQ(g.jira_queued, 2);
  EXPECT_EQ(g.jira_oldest_at, t0);

  // The first Jira op done: the oldest queued one is the later one.
  auto first = db->jira_op_by_key("r1/jira/create");
  ASSERT_TRUE(first.ok() && first->has_value());
  jira_op_update done;
  done.op = **first;
  done.op.state = storage::jira_op_state::done;
  EXPECT_TRUE(request<bool>(actor, atom::jira_v, done));
  g = request<storage_gauges>(actor, atom::gauges_v, std::string{"nats"});
  EXPECT_EQ(g.jira_queued, 1);
  EXPECT_EQ(g.jira_oldest_at, t0 + 5000);
}

} // namespace
} // namespace dutydesk::actors
