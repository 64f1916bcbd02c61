// Schema v4 of the SQLite store: survey rows per (request, round), the report queries over periods, the request
// columns of reports, event deliveries per webhook sink, the metrics gauges, and that all of it is transactional.

#include <climits>
#include <string>
#include <vector>

#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

using feedback_test = backend_test;

outbox_event event(const std::string& id, const std::string& request_id, millis at) {
  outbox_event e;
  e.id = id;
  e.request_id = request_id;
  e.subject = "request.status";
  e.payload = R"({"id":")" + id + R"("})";
  e.created_at = at;
  return e;
}

/// An open survey with every field set except the rating's.
feedback_record survey(const std::string& request_id, std::int64_t round, millis sent_at) {
  feedback_record f;
  f.request_id = request_id;
  f.round = round;
  f.team = "cicd";
  f.room_id = "room-support";
  f.on_duty = "carol";
  f.requester = "alice";
  f.created_at = sent_at - 5000;
  f.first_response_at = sent_at - 4000;
  f.resolved_at = sent_at - 10;
  f.sent_at = sent_at;
  f.expires_at = sent_at + 7 * 24 * 3600 * 1000LL;
  f.state = "open";
  return f;
}

/// The survey `f` answered with `rating` at `at`.
feedback_record rated(feedback_record f, std::int32_t rating, millis at) {
  f.state = "rated";
  f.rating = rating;
  f.rated_at = at;
  return f;
}

std::vector<std::string> ids(const std::vector<outbox_event>& xs) {
  std::vector<std::string> out;
  for (const auto& x : xs)
    out.push_back(x.id);
  return out;
}

std::vector<std::string> ids(const std::vector<request_record>& xs) {
  std::vector<std::string> out;
  for (const auto& x : xs)
    out.push_back(x.id);
  return out;
}

// (request id, round) of each row.
std::vector<std::pair<std::string, std::int64_t>> keys(const std::vector<feedback_record>& xs) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& x : xs)
    out.emplace_back(x.request_id, x.round);
  return out;
}

TEST_P(feedback_test, upsert_inserts_per_round_and_replaces_every_field_of_one_round) {
  auto st = open();
  ASSERT_TRUE(st);
  auto one = survey("r1", 1, 1000);
  auto two = survey("r1", 2, 9000);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 1)));
    DD_ASSERT_OK(t.upsert_feedback(two)); // stored before round 1: feedback_of still orders by round
    DD_ASSERT_OK(t.upsert_feedback(one));
  });
  auto both = st->feedback_of("r1");
  DD_ASSERT_OK(both);
  EXPECT_EQ(*both, (std::vector<feedback_record>{one, two}));
  EXPECT_TRUE(st->feedback_of("r2")->empty());

  // Rating round 1 replaces that row only, every field of it.
  auto answered = rated(one, 4, 2000);
  answered.comment = "quick, thanks";
  answered.on_duty = "bob";
  answered.team = "infra";
  answered.room_id = "room-infra";
  answered.requester.reset();
  answered.first_response_at.reset();
  answered.expires_at = 3000;
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_feedback(answered)); });
  EXPECT_EQ(*st->feedback_of("r1"), (std::vector<feedback_record>{answered, two}));

  // And back: unsetting rating, rated_at and comment clears them.
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_feedback(one)); });
  EXPECT_EQ(*st->feedback_of("r1"), (std::vector<feedback_record>{one, two}));
  EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM feedback"), "2");
}

TEST_P(feedback_test, every_survey_state_round_trips) {
  auto st = open();
  ASSERT_TRUE(st);
  std::vector<feedback_record> rows;
  for (const char* state : {"open", "rated", "withdrawn", "expired"}) {
    auto f = survey("r1", static_cast<std::int64_t>(rows.size()) + 1, 1000 * (static_cast<millis>(rows.size()) + 1));
    f.state = state;
    if (f.state == "rated") {
      f.rating = 1;
      f.rated_at = f.sent_at + 1;
    }
    rows.push_back(f);
  }
  rows.back().rating = 5; // an expired survey keeps no rating in practice, but storage does not judge
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    for (const auto& f : rows)
      DD_ASSERT_OK(t.upsert_feedback(f));
  });
  EXPECT_EQ(*st->feedback_of("r1"), rows);
}

TEST_P(feedback_test, unknown_state_bad_rating_and_unknown_request_are_constraint_errors) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1))); });
  auto bad_state = survey("r1", 1, 1000);
  bad_state.state = "none";
  auto too_high = rated(survey("r1", 1, 1000), 6, 1001);
  auto too_low = rated(survey("r1", 1, 1000), 0, 1001);
  auto orphan = survey("ghost", 1, 1000);
  for (const auto& f : {bad_state, too_high, too_low, orphan}) {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    auto r = (*txn)->upsert_feedback(f);
    ASSERT_FALSE(r.ok()) << f.request_id << " " << f.state;
    EXPECT_EQ(r.err().code, errc::constraint) << r.err().message;
    EXPECT_NE(r.err().message.find("store feedback"), std::string::npos) << r.err().message;
    (*txn)->rollback();
  }
  EXPECT_TRUE(st->feedback_of("r1")->empty());
  EXPECT_TRUE(st->feedback_of("ghost")->empty());
}

TEST_P(feedback_test, anonymous_survey_stores_null_requester_and_unset_optionals_stay_unset) {
  auto st = open();
  ASSERT_TRUE(st);
  auto anon = survey("r1", 1, 1000);
  anon.requester.reset();
  anon.first_response_at.reset();
  auto named = survey("r2", 1, 1000);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 1)));
    DD_ASSERT_OK(t.upsert_feedback(anon));
    DD_ASSERT_OK(t.upsert_feedback(named));
  });
  auto got = st->feedback_of("r1");
  DD_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0], anon);
  EXPECT_FALSE((*got)[0].requester.has_value());
  EXPECT_FALSE((*got)[0].first_response_at.has_value());
  EXPECT_FALSE((*got)[0].rating.has_value());
  EXPECT_FALSE((*got)[0].rated_at.has_value());
  EXPECT_FALSE((*got)[0].comment.has_value());
  // NULL in the column itself, not an empty string.
  EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM feedback WHERE request_id = 'r1' AND requester IS NULL"), "1");
  EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM feedback WHERE request_id = 'r1' AND comment IS NULL"), "1");
  EXPECT_EQ(raw_scalar("SELECT requester FROM feedback WHERE request_id = 'r2'"), "alice");
  EXPECT_EQ(st->feedback_of("r2")->at(0).requester, std::optional<std::string>{"alice"});
}

TEST_P(feedback_test, comment_is_a_blob_and_any_bytes_survive) {
  auto st = open();
  ASSERT_TRUE(st);
  auto f = rated(survey("r1", 1, 1000), 3, 1500);
  f.comment = std::string{"bad \xc3\x28 utf-8, \xff\xfe, a NUL "} + '\0' + " and \xe2\x82\xac";
  ASSERT_EQ(f.comment->size(), 33u);
  auto empty = rated(survey("r1", 2, 2000), 5, 2500);
  empty.comment = ""; // an empty comment is not the same as none
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_feedback(f));
    DD_ASSERT_OK(t.upsert_feedback(empty));
  });
  auto type = postgres() ? "SELECT pg_typeof(comment)::text FROM feedback WHERE round = 1"
                         : "SELECT typeof(comment) FROM feedback WHERE round = 1";
  EXPECT_EQ(raw_scalar(type), postgres() ? "bytea" : "blob");
  EXPECT_EQ(raw_scalar("SELECT length(comment) FROM feedback WHERE round = 1"), "33");
  auto check = [&](store& s) {
    auto got = s.feedback_of("r1");
    DD_ASSERT_OK(got);
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].comment, f.comment);
    EXPECT_EQ((*got)[0], f);
    EXPECT_EQ((*got)[1].comment, std::optional<std::string>{""});
  };
  check(*st);
  st.reset();
  auto reopened = open();
  ASSERT_TRUE(reopened);
  check(*reopened);
}

// feedback_between is [since, until) by sent_at, ordered by sent_at, then request id, then round.
TEST_P(feedback_test, feedback_between_is_half_open_on_sent_at) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    for (const char* id : {"a", "b", "c"})
      DD_ASSERT_OK(t.upsert_request(minimal_request(id, 1)));
    DD_ASSERT_OK(t.upsert_feedback(survey("c", 1, 99)));
    DD_ASSERT_OK(t.upsert_feedback(survey("c", 2, 100)));
    DD_ASSERT_OK(t.upsert_feedback(survey("b", 1, 200)));
    DD_ASSERT_OK(t.upsert_feedback(survey("a", 2, 200)));
    DD_ASSERT_OK(t.upsert_feedback(survey("a", 1, 150)));
    DD_ASSERT_OK(t.upsert_feedback(survey("b", 2, 300)));
  });
  using keyed = std::vector<std::pair<std::string, std::int64_t>>;
  auto between = [&](millis since, millis until) {
    auto xs = st->feedback_between(since, until);
    EXPECT_TRUE(xs.ok());
    return xs.ok() ? keys(*xs) : keyed{};
  };
  EXPECT_EQ(between(100, 300), (keyed{{"c", 2}, {"a", 1}, {"a", 2}, {"b", 1}}));
  EXPECT_EQ(between(101, 301), (keyed{{"a", 1}, {"a", 2}, {"b", 1}, {"b", 2}}));
  EXPECT_EQ(between(0, 100), (keyed{{"c", 1}}));
  EXPECT_EQ(between(200, 200), keyed{});
  EXPECT_EQ(between(200, 201), (keyed{{"a", 2}, {"b", 1}}));
  EXPECT_EQ(between(301, INT64_MAX), keyed{});
  EXPECT_EQ(between(INT64_MIN, INT64_MAX).size(), 6u);
  // The rows come back whole.
  EXPECT_EQ(st->feedback_between(99, 100)->at(0), survey("c", 1, 99));
}

// requests_between: created in [since, until) or resolved in [since, until), ordered by created_at, then id.
TEST_P(feedback_test, requests_between_takes_created_or_resolved_in_the_half_open_period) {
  auto st = open();
  ASSERT_TRUE(st);
  auto req = [](const std::string& id, millis created, std::optional<millis> resolved) {
    auto r = minimal_request(id, created);
    r.resolved_at = resolved;
    return r;
  };
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(req("before-open", 10, std::nullopt)));     // out
    DD_ASSERT_OK(t.upsert_request(req("before-resolved-at-start", 20, 100))); // in: resolved at since
    DD_ASSERT_OK(t.upsert_request(req("before-resolved-in", 30, 150)));       // in
    DD_ASSERT_OK(t.upsert_request(req("before-resolved-at-end", 40, 200)));   // out: until is exclusive
    DD_ASSERT_OK(t.upsert_request(req("before-resolved-before", 50, 99)));    // out
    DD_ASSERT_OK(t.upsert_request(req("created-at-start", 100, std::nullopt))); // in
    DD_ASSERT_OK(t.upsert_request(req("b-created-in", 150, 500)));            // in (resolved later)
    DD_ASSERT_OK(t.upsert_request(req("a-created-in", 150, std::nullopt)));   // in, before b by id
    DD_ASSERT_OK(t.upsert_request(req("created-last-ms", 199, std::nullopt))); // in
    DD_ASSERT_OK(t.upsert_request(req("created-at-end", 200, 210)));         // out
  });
  auto got = st->requests_between(100, 200);
  DD_ASSERT_OK(got);
  EXPECT_EQ(ids(*got), (std::vector<std::string>{"before-resolved-at-start", "before-resolved-in", "created-at-start",
                                                 "a-created-in", "b-created-in", "created-last-ms"}));
  EXPECT_EQ((*got)[1], req("before-resolved-in", 30, 150));
  EXPECT_TRUE(st->requests_between(100, 100)->empty());
  EXPECT_EQ(ids(*st->requests_between(200, 211)),
            (std::vector<std::string>{"before-resolved-at-end", "created-at-end"}));
}

TEST_P(feedback_test, v4_request_columns_round_trip_and_default_for_a_bare_request) {
  auto st = open();
  ASSERT_TRUE(st);
  auto full = sample_request("r1");
  full.team = "cicd";
  full.first_response_at = full.created_at + 60'000;
  full.resolved_at = full.created_at + 3'600'000;
  full.reopens = 3;
  auto bare = minimal_request("r2", 5);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(full));
    DD_ASSERT_OK(t.upsert_request(bare));
  });
  auto got = st->request("r1");
  DD_ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, full);
  EXPECT_EQ((*got)->team, "cicd");
  EXPECT_EQ((*got)->first_response_at, full.created_at + 60'000);
  EXPECT_EQ((*got)->resolved_at, full.created_at + 3'600'000);
  EXPECT_EQ((*got)->reopens, 3);
  auto got2 = st->request("r2");
  DD_ASSERT_OK(got2);
  EXPECT_EQ((*got2)->team, "");
  EXPECT_FALSE((*got2)->first_response_at.has_value());
  EXPECT_FALSE((*got2)->resolved_at.has_value());
  EXPECT_EQ((*got2)->reopens, 0);
  EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM requests WHERE id = 'r2' AND resolved_at IS NULL"), "1");

  // A reopen clears the resolution and counts; the other listings carry the columns too.
  auto reopened = full;
  reopened.resolved_at.reset();
  reopened.reopens = 4;
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(reopened)); });
  EXPECT_EQ(**st->request("r1"), reopened);
  EXPECT_EQ(**st->request_by_jira_key("SUP-r1"), reopened);
  EXPECT_EQ(st->open_requests()->at(1), reopened); // r2 (created at 5) first
}

TEST_P(feedback_test, webhook_deliveries_are_per_sink_and_independent_of_sent_at) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 1)));
    DD_ASSERT_OK(t.enqueue_event(event("e1", "r1", 10)));
    DD_ASSERT_OK(t.enqueue_event(event("e2", "r2", 20)));
    DD_ASSERT_OK(t.enqueue_event(event("e3", "r1", 30)));
  });
  using names = std::vector<std::string>;
  auto pending_for = [&](const std::string& sink, std::size_t limit = 100) {
    auto xs = st->pending_events_for(sink, limit);
    EXPECT_TRUE(xs.ok());
    return xs.ok() ? ids(*xs) : names{};
  };
  EXPECT_EQ(pending_for("webhook:0"), (names{"e1", "e2", "e3"}));
  EXPECT_EQ(pending_for("webhook:0", 2), (names{"e1", "e2"}));

  // NATS sent e1: the webhook sinks still have it, with its sent_at in the row.
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.mark_event_sent("e1", 111)); });
  auto w0 = st->pending_events_for("webhook:0", 100);
  DD_ASSERT_OK(w0);
  EXPECT_EQ(ids(*w0), (names{"e1", "e2", "e3"}));
  EXPECT_EQ((*w0)[0].sent_at, std::optional<millis>{111});
  EXPECT_EQ((*w0)[1], (outbox_event{"e2", "r2", "request.status", R"({"id":"e2"})", 20, std::nullopt, 1,
                                    (*w0)[1].position}));

  // webhook:0 got e2 and e3, webhook:1 got e3: NATS and the other sink are not affected.
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.mark_event_delivered("e2", "webhook:0", 200));
    DD_ASSERT_OK(t.mark_event_delivered("e3", "webhook:0", 201));
    DD_ASSERT_OK(t.mark_event_delivered("e3", "webhook:1", 202));
  });
  EXPECT_EQ(pending_for("webhook:0"), (names{"e1"}));
  EXPECT_EQ(pending_for("webhook:1"), (names{"e1", "e2"}));
  EXPECT_EQ(pending_for("webhook:2"), (names{"e1", "e2", "e3"}));
  EXPECT_EQ(ids(*st->pending_events(100)), (names{"e2", "e3"}));
  EXPECT_FALSE(st->pending_events_of("r1")->back().sent_at.has_value()); // e3: delivered to webhooks, not sent
  auto c = st->counts();
  EXPECT_EQ(c->events_pending, 2);
  EXPECT_EQ(c->events_sent, 1);

  // Twice keeps the first time (also in a later transaction).
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.mark_event_delivered("e2", "webhook:0", 900));
    DD_ASSERT_OK(t.mark_event_delivered("e2", "webhook:0", 901));
  });
  EXPECT_EQ(raw_scalar("SELECT delivered_at FROM event_deliveries WHERE event_id = 'e2'"), "200");
  EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM event_deliveries"), "3");
  EXPECT_EQ(pending_for("webhook:0"), (names{"e1"}));

  // An unknown id is not_found and, like any failing write, poisons the transaction.
  {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    DD_ASSERT_OK((*txn)->mark_event_delivered("e1", "webhook:0", 300));
    auto unknown = (*txn)->mark_event_delivered("nope", "webhook:0", 301);
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.err().code, errc::not_found) << unknown.err().message;
    auto committed = (*txn)->commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.err().code, errc::not_found);
  }
  EXPECT_EQ(pending_for("webhook:0"), (names{"e1"}));
  EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM event_deliveries"), "3");
}

TEST_P(feedback_test, gauges_count_open_requests_and_measure_both_outboxes) {
  auto st = open();
  ASSERT_TRUE(st);
  auto empty = st->gauges("nats");
  DD_ASSERT_OK(empty);
  EXPECT_EQ(*empty, gauge_counts{});

  auto req = [](const std::string& id, const std::string& room, const std::string& team, const std::string& status) {
    auto r = minimal_request(id, 1);
    r.room_id = room;
    r.root_message_id = "root-" + id;
    r.team = team;
    r.status = status;
    return r;
  };
  auto closed = req("r6", "room-a", "cicd", "new");
  closed.closed = true;
  auto resolved = req("r7", "room-a", "cicd", "done"); // resolved: not open any more
  resolved.resolved_at = 5;
  auto op = [](const std::string& key, millis at) {
    jira_op o;
    o.key = key;
    o.request_id = "r1";
    o.kind = "comment";
    o.payload = "{}";
    o.created_at = o.next_attempt_at = at;
    return o;
  };
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(req("r1", "room-b", "infra", "new")));
    DD_ASSERT_OK(t.upsert_request(req("r2", "room-a", "cicd", "new")));
    DD_ASSERT_OK(t.upsert_request(req("r3", "room-a", "cicd", "in_progress")));
    DD_ASSERT_OK(t.upsert_request(req("r4", "room-a", "cicd", "new")));
    DD_ASSERT_OK(t.upsert_request(req("r5", "room-c", "", "done")));
    DD_ASSERT_OK(t.upsert_request(closed));
    DD_ASSERT_OK(t.upsert_request(resolved));
    DD_ASSERT_OK(t.enqueue_event(event("e1", "r1", 500)));
    DD_ASSERT_OK(t.enqueue_event(event("e2", "r1", 300))); // later in the outbox, older by created_at
    DD_ASSERT_OK(t.enqueue_event(event("e3", "r2", 100)));
    DD_ASSERT_OK(t.enqueue_event(event("e4", "r2", 50)));
    DD_ASSERT_OK(t.enqueue_jira_op(op("k1", 900)));
    DD_ASSERT_OK(t.enqueue_jira_op(op("k2", 700)));
    DD_ASSERT_OK(t.enqueue_jira_op(op("k3", 100)));
    DD_ASSERT_OK(t.enqueue_jira_op(op("k4", 200)));
  });
  auto finished = [&](const std::string& key, jira_op_state state) {
    auto k = st->jira_op_by_key(key);
    EXPECT_TRUE(k.ok() && k->has_value()) << key;
    auto o = k.ok() && k->has_value() ? **k : jira_op{};
    o.state = state;
    o.finished_at = 1000;
    return o;
  };
  auto k3 = finished("k3", jira_op_state::done);
  auto k4 = finished("k4", jira_op_state::failed);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.mark_event_sent("e3", 1000));
    DD_ASSERT_OK(t.mark_event_sent("e4", 1000));
    DD_ASSERT_OK(t.mark_event_delivered("e2", "webhook:0", 1000)); // a webhook delivery is not a NATS send
    DD_ASSERT_OK(t.update_jira_op(k3));
    DD_ASSERT_OK(t.update_jira_op(k4));
  });
  gauge_counts want;
  want.open = {{"room-a", "cicd", "in_progress", 1},
               {"room-a", "cicd", "new", 2},
               {"room-b", "infra", "new", 1},
               {"room-c", "", "done", 1}};
  want.events_pending = 2;
  want.events_oldest = 300;
  want.jira_queued = 2;
  want.jira_oldest = 700;
  auto got = st->gauges("nats");
  DD_ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  // Measured for a webhook sink (no NATS): what that sink has not got yet, whatever NATS has.
  auto hook = st->gauges("webhook:0");
  DD_ASSERT_OK(hook);
  EXPECT_EQ(hook->events_pending, 3); // e1, e3, e4 (e2 was delivered to it)
  EXPECT_EQ(hook->events_oldest, std::optional<std::int64_t>{50});
  EXPECT_EQ(hook->open, want.open);

  // Everything sent and done: the ages are unset again.
  auto k1 = finished("k1", jira_op_state::done);
  auto k2 = finished("k2", jira_op_state::done);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.mark_event_sent("e1", 2000));
    DD_ASSERT_OK(t.mark_event_sent("e2", 2000));
    DD_ASSERT_OK(t.update_jira_op(k1));
    DD_ASSERT_OK(t.update_jira_op(k2));
  });
  want.events_pending = 0;
  want.events_oldest.reset();
  want.jira_queued = 0;
  want.jira_oldest.reset();
  EXPECT_EQ(*st->gauges("nats"), want);
}

TEST_P(feedback_test, enqueue_event_twice_in_one_transaction_keeps_the_first_row) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    EXPECT_EQ(*t.enqueue_event(event("e1", "r1", 10)), 1);
    auto replay = event("e1", "r1", 99);
    replay.subject = "request.closed";
    replay.payload = "other";
    EXPECT_EQ(*t.enqueue_event(replay), 1);
    EXPECT_EQ(*t.enqueue_event(event("e2", "r1", 20)), 2);
    EXPECT_EQ(*t.enqueue_event(event("e1", "r1", 10)), 1);
    EXPECT_EQ(*t.enqueue_event(event("e2", "r1", 20)), 2);
  });
  auto got = st->pending_events_of("r1");
  DD_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0], (outbox_event{"e1", "r1", "request.status", R"({"id":"e1"})", 10, std::nullopt, 1,
                                     (*got)[0].position}));
  EXPECT_EQ((*got)[1].id, "e2");
  EXPECT_EQ((*got)[1].seq, 2);
  EXPECT_LT((*got)[0].position, (*got)[1].position);
  EXPECT_EQ(st->counts()->events_pending, 2);
}

// One unit of work touching every v4 table, then a write that fails: nothing of it remains, also after reopening.
TEST_P(feedback_test, failing_write_rolls_back_feedback_events_and_deliveries) {
  auto st = open();
  ASSERT_TRUE(st);
  auto old_survey = survey("r0", 1, 1000);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r0", 1)));
    DD_ASSERT_OK(t.enqueue_event(event("e0", "r0", 5)));
    DD_ASSERT_OK(t.upsert_feedback(old_survey));
  });
  auto counts_before = st->counts();
  DD_ASSERT_OK(counts_before);
  auto gauges_before = st->gauges("nats");
  DD_ASSERT_OK(gauges_before);
  {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    auto& t = **txn;
    auto r1 = minimal_request("r1", 2);
    r1.team = "cicd";
    r1.resolved_at = 3;
    DD_ASSERT_OK(t.upsert_request(r1));
    DD_ASSERT_OK(t.enqueue_event(event("e1", "r1", 6)));
    DD_ASSERT_OK(t.upsert_feedback(survey("r1", 1, 1100)));
    DD_ASSERT_OK(t.upsert_feedback(rated(old_survey, 5, 1200)));
    DD_ASSERT_OK(t.mark_event_delivered("e0", "webhook:0", 1300));
    DD_ASSERT_OK(t.mark_event_sent("e0", 1300));
    auto bad = survey("r1", 2, 1400);
    bad.state = "pending"; // injected failure: not a survey state
    auto failed = t.upsert_feedback(bad);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.err().code, errc::constraint);
    auto later = t.enqueue_event(event("e2", "r1", 7));
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.err().code, errc::constraint);
    auto committed = t.commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.err().code, errc::constraint);
  }
  auto check = [&](store& s) {
    EXPECT_FALSE(s.request("r1")->has_value());
    EXPECT_TRUE(s.feedback_of("r1")->empty());
    EXPECT_EQ(*s.feedback_of("r0"), (std::vector<feedback_record>{old_survey}));
    EXPECT_EQ(ids(*s.pending_events(100)), (std::vector<std::string>{"e0"}));
    EXPECT_EQ(ids(*s.pending_events_for("webhook:0", 100)), (std::vector<std::string>{"e0"}));
    EXPECT_TRUE(s.requests_between(2, 4)->empty());
    EXPECT_EQ(s.feedback_between(0, INT64_MAX)->size(), 1u);
    EXPECT_EQ(*s.counts(), *counts_before);
    EXPECT_EQ(*s.gauges("nats"), *gauges_before);
  };
  check(*st);
  st.reset();
  auto reopened = open();
  ASSERT_TRUE(reopened);
  check(*reopened);
}

INSTANTIATE_BACKENDS(feedback_test);

} // namespace
} // namespace dutydesk::storage::test
