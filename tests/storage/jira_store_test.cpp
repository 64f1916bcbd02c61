// The Jira mirror tables of the SQLite store (schema v3): the Jira outbox, the webhook/poll inbox with dedupe that
// survives pruning, request <-> issue and chat message <-> comment links, the key/value state, and the upgrade of a
// version-2 database.

#include <array>
#include <climits>
#include <string>
#include <vector>

#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

using jira_store_test = backend_test;
using sqlite_file_test = temp_dir_test; // the SQLite file format itself

jira_op op(const std::string& request_id, const std::string& kind, millis at, const std::string& suffix = "") {
  jira_op x;
  x.key = request_id + "/jira/" + kind + suffix;
  x.request_id = request_id;
  x.kind = kind;
  x.payload = R"({"kind":")" + kind + R"("})";
  x.created_at = at;
  x.next_attempt_at = at;
  return x;
}

inbox_delivery delivery(const std::string& id, millis at, const std::string& source = "webhook") {
  inbox_delivery d;
  d.delivery_id = id;
  d.source = source;
  d.body = R"({"webhookEvent":"comment_created","id":")" + id + R"("})";
  d.received_at = at;
  return d;
}

std::vector<std::string> keys(const std::vector<jira_op>& xs) {
  std::vector<std::string> out;
  for (const auto& x : xs)
    out.push_back(x.key);
  return out;
}

std::vector<std::string> delivery_ids(const std::vector<inbox_delivery>& xs) {
  std::vector<std::string> out;
  for (const auto& x : xs)
    out.push_back(x.delivery_id);
  return out;
}

// Opens a transaction, runs `write` on it and checks that the write fails with `code`; the transaction is dropped.
template <class Write>
void expect_write_error(store& st, errc code, Write write) {
  auto txn = st.begin();
  DD_ASSERT_OK(txn);
  auto r = write(**txn);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, code) << r.err().message;
}

TEST_P(jira_store_test, enqueue_assigns_global_order_and_ignores_replays) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    EXPECT_EQ(*t.enqueue_jira_op(op("r1", "create", 30)), true);
    EXPECT_EQ(*t.enqueue_jira_op(op("r2", "create", 10)), true);
  });
  auto replay = op("r1", "create", 99);
  replay.payload = "different";
  replay.kind = "comment";
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.enqueue_jira_op(op("r1", "comment", 20, "/m1")), true);
    EXPECT_EQ(*t.enqueue_jira_op(replay), false); // same key: nothing changes
    EXPECT_EQ(*t.enqueue_jira_op(op("r1", "comment", 20, "/m1")), false);
  });
  auto queued = st->queued_jira_ops(100);
  DD_ASSERT_OK(queued);
  // Enqueue order, whatever created_at says.
  EXPECT_EQ(keys(*queued), (std::vector<std::string>{"r1/jira/create", "r2/jira/create", "r1/jira/comment/m1"}));
  ASSERT_EQ(queued->size(), 3u);
  EXPECT_LT((*queued)[0].id, (*queued)[1].id);
  EXPECT_LT((*queued)[1].id, (*queued)[2].id);
  EXPECT_GT((*queued)[0].id, 0);
  auto expected = op("r1", "create", 30);
  expected.id = (*queued)[0].id;
  EXPECT_EQ((*queued)[0], expected);
  EXPECT_EQ(keys(*st->queued_jira_ops(2)), (std::vector<std::string>{"r1/jira/create", "r2/jira/create"}));
  EXPECT_TRUE(st->queued_jira_ops(0)->empty());

  auto by_key = st->jira_op_by_key("r1/jira/create");
  DD_ASSERT_OK(by_key);
  ASSERT_TRUE(by_key->has_value());
  EXPECT_EQ(**by_key, expected);
  EXPECT_FALSE(st->jira_op_by_key("r9/jira/create")->has_value());
  EXPECT_EQ(keys(*st->jira_ops_of("r1")), (std::vector<std::string>{"r1/jira/create", "r1/jira/comment/m1"}));
  EXPECT_TRUE(st->jira_ops_of("r9")->empty());
  EXPECT_EQ(st->counts()->jira_ops_queued, 3);
}

TEST_P(jira_store_test, update_records_attempts_and_outcomes) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    ASSERT_TRUE(*t.enqueue_jira_op(op("r1", "create", 10)));
    ASSERT_TRUE(*t.enqueue_jira_op(op("r1", "assign", 11)));
    ASSERT_TRUE(*t.enqueue_jira_op(op("r1", "transition", 12)));
  });
  auto create = **st->jira_op_by_key("r1/jira/create");
  auto assign = **st->jira_op_by_key("r1/jira/assign");
  // Attempt 1 is committed before the call; it fails and is retried later.
  create.attempts = 1;
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.update_jira_op(create)); });
  create.next_attempt_at = 5000;
  create.last_error = "http 503";
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.update_jira_op(create)); });
  EXPECT_EQ(**st->jira_op_by_key("r1/jira/create"), create);
  // Attempt 2 succeeds.
  create.attempts = 2;
  create.state = jira_op_state::done;
  create.result = "SUP-42";
  create.finished_at = 5100;
  assign.attempts = 1;
  assign.state = jira_op_state::failed;
  assign.last_error = "http 400: user not found";
  assign.finished_at = 5200;
  // Only the mutable fields change: a different key, payload or kind on update is ignored.
  auto sneaky = assign;
  sneaky.key = "other";
  sneaky.payload = "other";
  sneaky.kind = "other";
  sneaky.request_id = "other";
  sneaky.created_at = 1;
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.update_jira_op(create));
    DD_ASSERT_OK(t.update_jira_op(sneaky));
  });
  EXPECT_EQ(**st->jira_op_by_key("r1/jira/create"), create);
  EXPECT_EQ(**st->jira_op_by_key("r1/jira/assign"), assign);
  EXPECT_FALSE(st->jira_op_by_key("other")->has_value());
  EXPECT_EQ(keys(*st->queued_jira_ops(10)), (std::vector<std::string>{"r1/jira/transition"}));
  auto all = st->jira_ops_of("r1");
  DD_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], create);
  EXPECT_EQ((*all)[1], assign);
  EXPECT_EQ((*all)[2].state, jira_op_state::queued);
  auto c = st->counts();
  DD_ASSERT_OK(c);
  EXPECT_EQ(c->jira_ops_queued, 1);
  EXPECT_EQ(c->jira_ops_done, 1);
  EXPECT_EQ(c->jira_ops_failed, 1);
  // A done op can be enqueued again by a replay: still a no-op, the result stays.
  in_txn(*st, [&](transaction& t) { EXPECT_EQ(*t.enqueue_jira_op(op("r1", "create", 99)), false); });
  EXPECT_EQ(st->jira_op_by_key("r1/jira/create")->value().result, "SUP-42");

  auto unknown = create;
  unknown.id = 999'999;
  expect_write_error(*st, errc::not_found, [&](transaction& t) { return t.update_jira_op(unknown); });
  // An op of an unknown request violates the foreign key.
  expect_write_error(*st, errc::constraint, [&](transaction& t) { return t.enqueue_jira_op(op("nobody", "create", 1)); });
}

TEST_P(jira_store_test, jira_link_upsert_and_lookup_by_key_or_id) {
  auto st = open();
  ASSERT_TRUE(st);
  jira_link a{"r1", "SUP-1", "10001", "https://jira.example/browse/SUP-1", "SUP", 100};
  jira_link b{"r2", "SUP-2", "10002", "https://jira.example/browse/SUP-2", "SUP", 200};
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r3", 3)));
    DD_ASSERT_OK(t.set_jira_link(a));
    DD_ASSERT_OK(t.set_jira_link(b));
  });
  EXPECT_EQ(st->jira_link_of("r1")->value(), a);
  EXPECT_FALSE(st->jira_link_of("r3")->has_value());
  EXPECT_EQ(st->jira_link_by_issue("SUP-2")->value(), b);
  EXPECT_EQ(st->jira_link_by_issue("10001")->value(), a);
  EXPECT_FALSE(st->jira_link_by_issue("SUP-3")->has_value());
  EXPECT_EQ(st->counts()->jira_links, 2);

  // The issue moved to another project: same id, new key. The upsert replaces the request's link.
  jira_link moved{"r1", "OPS-7", "10001", "https://jira.example/browse/OPS-7", "OPS", 300};
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.set_jira_link(moved)); });
  EXPECT_EQ(st->jira_link_of("r1")->value(), moved);
  EXPECT_FALSE(st->jira_link_by_issue("SUP-1")->has_value());
  EXPECT_EQ(st->jira_link_by_issue("10001")->value(), moved);
  EXPECT_EQ(st->counts()->jira_links, 2);

  // An issue belongs to one request at a time: linking it to another request moves the link there (a request moved
  // to another channel keeps its issue).
  jira_link taken{"r3", "SUP-2", "10002", "u", "SUP", 400};
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.set_jira_link(taken)); });
  EXPECT_EQ(st->jira_link_by_issue("SUP-2")->value(), taken);
  EXPECT_EQ(st->jira_link_of("r3")->value(), taken);
  EXPECT_FALSE(st->jira_link_of("r2")->has_value());
  EXPECT_EQ(st->counts()->jira_links, 2);
  jira_link dangling{"nobody", "SUP-9", "10009", "u", "SUP", 1};
  expect_write_error(*st, errc::constraint, [&](transaction& t) { return t.set_jira_link(dangling); });

  // A key match wins over an id match of another link.
  jira_link odd{"r3", "10002", "20000", "u", "X", 500};
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.set_jira_link(odd)); });
  EXPECT_EQ(st->jira_link_by_issue("10002")->value(), odd);
}

TEST_P(jira_store_test, comment_links_are_unique_both_ways) {
  auto st = open();
  ASSERT_TRUE(st);
  jira_comment_link out{"r1", "m1", "c100", "to_jira", 10};
  jira_comment_link in{"r1", "m2", "c200", "from_jira", 20};
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    EXPECT_EQ(*t.link_jira_comment(out), true);
    EXPECT_EQ(*t.link_jira_comment(in), true);
    // The same chat message id in another request is a different message.
    EXPECT_EQ(*t.link_jira_comment({"r2", "m1", "c300", "to_jira", 30}), true);
  });
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.link_jira_comment(out), false);                                // replay
    EXPECT_EQ(*t.link_jira_comment({"r1", "m1", "c999", "to_jira", 40}), false); // message already linked
    EXPECT_EQ(*t.link_jira_comment({"r1", "m9", "c200", "to_jira", 50}), false); // comment already linked
  });
  EXPECT_EQ(st->jira_comment_by_chat("r1", "m1")->value(), out);
  EXPECT_EQ(st->jira_comment_by_chat("r1", "m2")->value(), in);
  EXPECT_EQ(st->jira_comment_by_chat("r2", "m1")->value().comment_id, "c300");
  EXPECT_FALSE(st->jira_comment_by_chat("r1", "m9")->has_value());
  EXPECT_EQ(st->jira_comment_by_id("c200")->value(), in);
  EXPECT_FALSE(st->jira_comment_by_id("c999")->has_value());
  EXPECT_EQ(st->counts()->jira_comment_links, 3);
  expect_write_error(*st, errc::constraint,
                     [&](transaction& t) { return t.link_jira_comment({"r1", "m5", "c5", "sideways", 1}); });
  expect_write_error(*st, errc::constraint,
                     [&](transaction& t) { return t.link_jira_comment({"nobody", "m5", "c5", "to_jira", 1}); });
}

TEST_P(jira_store_test, inbox_dedupes_and_keeps_arrival_order) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.add_inbox(delivery("d1", 30)), true);
    EXPECT_EQ(*t.add_inbox(delivery("d2", 10, "poll")), true);
    EXPECT_EQ(*t.add_inbox(delivery("d1", 40)), false); // the webhook retried
  });
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.add_inbox(delivery("d3", 20)), true);
    EXPECT_EQ(*t.add_inbox(delivery("d2", 50)), false);
  });
  auto pending = st->pending_inbox(100);
  DD_ASSERT_OK(pending);
  EXPECT_EQ(delivery_ids(*pending), (std::vector<std::string>{"d1", "d2", "d3"}));
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_LT((*pending)[0].seq, (*pending)[1].seq);
  EXPECT_LT((*pending)[1].seq, (*pending)[2].seq);
  auto first = delivery("d1", 30);
  first.seq = (*pending)[0].seq;
  EXPECT_EQ((*pending)[0], first);
  EXPECT_EQ((*pending)[1].source, "poll");
  EXPECT_EQ(delivery_ids(*st->pending_inbox(1)), (std::vector<std::string>{"d1"}));

  auto seq1 = (*pending)[0].seq;
  auto seq3 = (*pending)[2].seq;
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.mark_inbox_processed(seq1, 100, "applied"));
    DD_ASSERT_OK(t.mark_inbox_processed(seq3, 101, "ignored: unknown issue"));
    DD_ASSERT_OK(t.mark_inbox_processed(seq1, 200, "again")); // keeps the first time and outcome
  });
  EXPECT_EQ(delivery_ids(*st->pending_inbox(100)), (std::vector<std::string>{"d2"}));
  auto done = st->inbox_by_delivery("d1");
  DD_ASSERT_OK(done);
  ASSERT_TRUE(done->has_value());
  first.processed_at = 100;
  first.outcome = "applied";
  EXPECT_EQ(**done, first);
  EXPECT_EQ(st->inbox_by_delivery("d3")->value().outcome, "ignored: unknown issue");
  EXPECT_EQ(st->inbox_by_delivery("d2")->value().processed_at, std::nullopt);
  EXPECT_FALSE(st->inbox_by_delivery("d9")->has_value());
  auto c = st->counts();
  DD_ASSERT_OK(c);
  EXPECT_EQ(c->inbox_pending, 1);
  EXPECT_EQ(c->inbox_processed, 2);
  // Processed rows are kept: their ids still dedupe.
  in_txn(*st, [&](transaction& t) { EXPECT_EQ(*t.add_inbox(delivery("d1", 300)), false); });

  expect_write_error(*st, errc::not_found, [&](transaction& t) { return t.mark_inbox_processed(999'999, 1, "x"); });
  expect_write_error(*st, errc::constraint, [&](transaction& t) { return t.add_inbox(delivery("d9", 1, "email")); });
}

TEST_P(jira_store_test, prune_drops_processed_rows_but_remembers_their_ids) {
  std::int64_t last_seq = 0;
  {
    auto st = open();
    ASSERT_TRUE(st);
    in_txn(*st, [&](transaction& t) {
      for (auto id : {"d1", "d2", "d3", "d4"})
        ASSERT_TRUE(*t.add_inbox(delivery(id, 1)));
    });
    auto rows = *st->pending_inbox(10);
    ASSERT_EQ(rows.size(), 4u);
    last_seq = rows[3].seq;
    in_txn(*st, [&](transaction& t) {
      DD_ASSERT_OK(t.mark_inbox_processed(rows[0].seq, 100, "applied"));
      DD_ASSERT_OK(t.mark_inbox_processed(rows[1].seq, 200, "applied")); // exactly at the bound: kept
      DD_ASSERT_OK(t.mark_inbox_processed(rows[2].seq, 300, "applied"));
    });
    in_txn(*st, [&](transaction& t) {
      auto n = t.prune_inbox(200);
      DD_ASSERT_OK(n);
      EXPECT_EQ(*n, 1u);
      EXPECT_EQ(*t.prune_inbox(200), 0u);
    });
    auto c = st->counts();
    DD_ASSERT_OK(c);
    EXPECT_EQ(c->inbox_processed, 2);
    EXPECT_EQ(c->inbox_pending, 1);
    EXPECT_EQ(c->seen_deliveries, 1);
    // The pruned row is gone: reading or marking it finds nothing. Its id is still refused.
    EXPECT_FALSE(st->inbox_by_delivery("d1")->has_value());
    EXPECT_EQ(st->inbox_by_delivery("d2")->value().processed_at, 200);
    expect_write_error(*st, errc::not_found,
                       [&](transaction& t) { return t.mark_inbox_processed(rows[0].seq, 400, "late"); });
    in_txn(*st, [&](transaction& t) { EXPECT_EQ(*t.add_inbox(delivery("d1", 500)), false); });
    // Pending rows are never pruned, whatever the bound.
    in_txn(*st, [&](transaction& t) { EXPECT_EQ(*t.prune_inbox(INT64_MAX), 2u); });
    EXPECT_EQ(delivery_ids(*st->pending_inbox(10)), (std::vector<std::string>{"d4"}));
    EXPECT_EQ(st->counts()->seen_deliveries, 3);
    EXPECT_EQ(st->counts()->inbox_processed, 0);
  }
  // Also after a restart.
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    for (auto id : {"d1", "d2", "d3", "d4"})
      EXPECT_EQ(*t.add_inbox(delivery(id, 600)), false) << id;
    EXPECT_EQ(*t.add_inbox(delivery("d5", 600)), true);
  });
  auto rows = st->pending_inbox(10);
  DD_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  // seq is never reused, also after deletes.
  EXPECT_EQ((*rows)[1].delivery_id, "d5");
  EXPECT_GT((*rows)[1].seq, last_seq);
}

TEST_P(jira_store_test, state_is_set_replaced_and_durable) {
  {
    auto st = open();
    ASSERT_TRUE(st);
    EXPECT_FALSE(st->state("jira.poll.SUP")->has_value());
    in_txn(*st, [&](transaction& t) {
      DD_ASSERT_OK(t.set_state("jira.poll.SUP", "2024-01-01 10:00"));
      DD_ASSERT_OK(t.set_state("jira.poll.OPS", "2024-01-01 09:00"));
    });
    in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.set_state("jira.poll.SUP", "2024-01-01 11:30")); });
    EXPECT_EQ(st->state("jira.poll.SUP")->value(), "2024-01-01 11:30");
  }
  auto st = open();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state("jira.poll.SUP")->value(), "2024-01-01 11:30");
  EXPECT_EQ(st->state("jira.poll.OPS")->value(), "2024-01-01 09:00");
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.set_state("empty", "")); });
  EXPECT_EQ(*st->state("empty"), std::optional<std::string>{""});
}

// Every Jira write of one unit of work, then a failing one: nothing of it remains, also after reopen.
TEST_P(jira_store_test, failing_write_leaves_no_jira_rows) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    DD_ASSERT_OK(t.set_jira_link({"r2", "SUP-2", "10002", "u", "SUP", 1}));
  });
  auto before = st->counts();
  DD_ASSERT_OK(before);
  {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    auto& t = **txn;
    ASSERT_TRUE(*t.enqueue_jira_op(op("r1", "create", 1)));
    DD_ASSERT_OK(t.set_jira_link({"r1", "SUP-1", "10001", "u", "SUP", 1}));
    ASSERT_TRUE(*t.link_jira_comment({"r1", "m1", "c1", "to_jira", 1}));
    ASSERT_TRUE(*t.add_inbox(delivery("d1", 1)));
    DD_ASSERT_OK(t.set_state("jira.poll.SUP", "w1"));
    // Visible inside the transaction: the replay is refused already.
    EXPECT_EQ(*t.enqueue_jira_op(op("r1", "create", 2)), false);
    auto clash = t.set_jira_link({"nobody", "SUP-9", "10009", "u", "SUP", 2}); // injected failure: no such request
    ASSERT_FALSE(clash.ok());
    EXPECT_EQ(clash.err().code, errc::constraint);
    // Poisoned: later writes report the first failure without running.
    auto later = t.add_inbox(delivery("d2", 1));
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.err().code, errc::constraint);
    EXPECT_EQ(t.prune_inbox(1).err().code, errc::constraint);
    auto committed = t.commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.err().code, errc::constraint);
    EXPECT_EQ(t.set_state("k", "v").err().code, errc::invalid_state);
  }
  auto check = [&](store& s) {
    EXPECT_EQ(*s.counts(), *before);
    EXPECT_FALSE(s.jira_op_by_key("r1/jira/create")->has_value());
    EXPECT_FALSE(s.jira_link_of("r1")->has_value());
    EXPECT_FALSE(s.jira_comment_by_id("c1")->has_value());
    EXPECT_TRUE(s.pending_inbox(10)->empty());
    EXPECT_FALSE(s.state("jira.poll.SUP")->has_value());
  };
  check(*st);
  st.reset();
  st = open();
  ASSERT_TRUE(st);
  check(*st);
  // The rolled-back key and delivery are fresh again.
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.enqueue_jira_op(op("r1", "create", 3)), true);
    EXPECT_EQ(*t.add_inbox(delivery("d1", 3)), true);
  });
}

TEST_P(jira_store_test, everything_survives_reopen) {
  jira_op done_op = op("r1", "create", 10);
  jira_link link{"r1", "SUP-1", "10001", "https://jira.example/browse/SUP-1", "SUP", 11};
  jira_comment_link comment{"r1", "m1", "c1", "from_jira", 12};
  {
    auto st = open();
    ASSERT_TRUE(st);
    in_txn(*st, [&](transaction& t) {
      DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
      ASSERT_TRUE(*t.enqueue_jira_op(done_op));
      ASSERT_TRUE(*t.enqueue_jira_op(op("r1", "comment", 13, "/m2")));
      DD_ASSERT_OK(t.set_jira_link(link));
      ASSERT_TRUE(*t.link_jira_comment(comment));
      ASSERT_TRUE(*t.add_inbox(delivery("d1", 14)));
      ASSERT_TRUE(*t.add_inbox(delivery("d2", 15)));
    });
    done_op.id = st->jira_op_by_key(done_op.key)->value().id;
    done_op.attempts = 1;
    done_op.state = jira_op_state::done;
    done_op.result = "SUP-1";
    done_op.finished_at = 16;
    auto first = st->pending_inbox(1)->at(0).seq;
    in_txn(*st, [&](transaction& t) {
      DD_ASSERT_OK(t.update_jira_op(done_op));
      DD_ASSERT_OK(t.mark_inbox_processed(first, 17, "applied"));
    });
  }
  auto st = open();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->jira_op_by_key(done_op.key)->value(), done_op);
  EXPECT_EQ(keys(*st->queued_jira_ops(10)), (std::vector<std::string>{"r1/jira/comment/m2"}));
  EXPECT_EQ(st->jira_link_by_issue("SUP-1")->value(), link);
  EXPECT_EQ(st->jira_comment_by_chat("r1", "m1")->value(), comment);
  EXPECT_EQ(delivery_ids(*st->pending_inbox(10)), (std::vector<std::string>{"d2"}));
  in_txn(*st, [&](transaction& t) { EXPECT_EQ(*t.add_inbox(delivery("d1", 18)), false); });
  auto c = st->counts();
  DD_ASSERT_OK(c);
  EXPECT_EQ(c->jira_ops_done, 1);
  EXPECT_EQ(c->jira_ops_queued, 1);
  EXPECT_EQ(c->inbox_processed, 1);
  DD_ASSERT_OK(st->check_integrity());
}

TEST_F(sqlite_file_test, version_2_database_upgrades_to_the_jira_tables) {
  const std::array<migration, 2> v2_only{{sqlite_migrations()[0], sqlite_migrations()[1]}};
  auto old_request = minimal_request("old", 5);
  old_request.lifecycle = R"({"phase":"active"})";
  {
    sqlite_options old;
    old.migrations = v2_only;
    auto st = open(old);
    ASSERT_TRUE(st);
    EXPECT_EQ(*st->schema_version(), 2);
    // The row as a version-2 binary wrote it (the v2 store cannot write through the v4 statements).
    raw_exec(db_path(), "INSERT INTO requests (id, room_id, root_message_id, requester_id, requester_username, body, "
                        "status, created_at, updated_at, last_activity_at, source, lifecycle) "
                        "VALUES ('old', 'room-support', 'msg-old', 'u-dave', 'dave', X'6869', 'new', 5, 5, 5, 'chat', "
                        "'{\"phase\":\"active\"}');"
                        "INSERT INTO thread_map VALUES ('msg-old', 'old', 'room-support');");
    // The v2 schema has no Jira tables.
    auto missing = st->jira_link_of("old");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.err().code, errc::database);
  }
  {
    sqlite_options check;
    check.apply_migrations = false;
    auto st = open(check);
    ASSERT_TRUE(st);
    auto pending = st->pending_migrations();
    DD_ASSERT_OK(pending);
    EXPECT_EQ(*pending,
              (std::vector<migration_info>{{3, "jira mirror"}, {4, "feedback, reports and event sinks"}}));
  }
  auto st = open();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->schema_version(), 4);
  EXPECT_EQ(st->request("old")->value(), old_request);
  EXPECT_EQ(st->request_by_thread("msg-old")->value().id, "old");
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.enqueue_jira_op(op("old", "create", 10)), true);
    DD_ASSERT_OK(t.set_jira_link({"old", "SUP-1", "10001", "u", "SUP", 11}));
    EXPECT_EQ(*t.link_jira_comment({"old", "m1", "c1", "to_jira", 12}), true);
    EXPECT_EQ(*t.add_inbox(delivery("d1", 13)), true);
    DD_ASSERT_OK(t.set_state("jira.poll.SUP", "w"));
  });
  EXPECT_EQ(keys(*st->queued_jira_ops(10)), (std::vector<std::string>{"old/jira/create"}));
  EXPECT_EQ(st->jira_link_by_issue("10001")->value().request_id, "old");
  EXPECT_EQ(st->jira_comment_by_id("c1")->value().chat_message_id, "m1");
  EXPECT_EQ(delivery_ids(*st->pending_inbox(10)), (std::vector<std::string>{"d1"}));
  EXPECT_EQ(st->state("jira.poll.SUP")->value(), "w");
  auto c = st->counts();
  DD_ASSERT_OK(c);
  EXPECT_EQ(c->requests, 1);
  EXPECT_EQ(c->thread_links, 1);
  DD_ASSERT_OK(st->check_integrity());
}

TEST_P(jira_store_test, arbitrary_bytes_round_trip) {
  std::string bytes = std::string{"\xff\xfe\xc3\x28 nul "} + '\0' + std::string{" surrogate \xed\xa0\x80 end\x80"};
  std::int64_t seq = 0;
  {
    auto st = open();
    ASSERT_TRUE(st);
    auto x = op("r1", "comment", 1, "/m1");
    x.payload = bytes;
    x.last_error = bytes;
    auto empty = op("r1", "edit_comment", 2);
    empty.payload.clear();
    auto d = delivery("d1", 3);
    d.body = bytes;
    in_txn(*st, [&](transaction& t) {
      DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
      ASSERT_TRUE(*t.enqueue_jira_op(x));
      ASSERT_TRUE(*t.enqueue_jira_op(empty));
      ASSERT_TRUE(*t.add_inbox(d));
      ASSERT_TRUE(*t.add_inbox(delivery("d2", 4)));
      DD_ASSERT_OK(t.set_state("k", bytes));
    });
    auto rows = *st->pending_inbox(10);
    ASSERT_EQ(rows.size(), 2u);
    seq = rows[0].seq;
    in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.mark_inbox_processed(rows[1].seq, 5, bytes)); });
  }
  auto st = open();
  ASSERT_TRUE(st);
  auto x = st->jira_op_by_key("r1/jira/comment/m1");
  DD_ASSERT_OK(x);
  ASSERT_TRUE(x->has_value());
  EXPECT_EQ((*x)->payload.size(), bytes.size());
  EXPECT_EQ((*x)->payload, bytes);
  EXPECT_EQ((*x)->last_error, bytes);
  EXPECT_EQ(st->jira_op_by_key("r1/jira/edit_comment")->value().payload, "");
  auto pending = st->pending_inbox(10);
  DD_ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].seq, seq);
  EXPECT_EQ((*pending)[0].body, bytes);
  EXPECT_EQ(st->state("k")->value(), bytes);
  EXPECT_EQ(st->inbox_by_delivery("d2")->value().outcome, bytes);
  DD_ASSERT_OK(st->check_integrity());
}

INSTANTIATE_BACKENDS(jira_store_test);

} // namespace
} // namespace dutydesk::storage::test
