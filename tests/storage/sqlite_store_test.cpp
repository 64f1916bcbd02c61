#include <sqlite3.h>

#include <climits>
#include <fstream>
#include <random>

#include "storage/open.hpp"
#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

using store_test = backend_test;
using sqlite_file_test = temp_dir_test; // the SQLite file format itself

outbox_event event(const std::string& id, const std::string& request_id, const std::string& subject, millis at) {
  outbox_event e;
  e.id = id;
  e.request_id = request_id;
  e.subject = subject;
  e.payload = R"({"id":")" + id + R"("})";
  e.created_at = at;
  return e;
}

TEST_P(store_test, request_round_trip_with_every_field) {
  auto st = open();
  ASSERT_TRUE(st);
  auto full = sample_request("r1");
  auto bare = minimal_request("r2", 5);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(full));
    DD_ASSERT_OK(t.upsert_request(bare));
  });
  auto got = st->request("r1");
  DD_ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, full);
  auto got2 = st->request("r2");
  DD_ASSERT_OK(got2);
  ASSERT_TRUE(got2->has_value());
  EXPECT_EQ(**got2, bare);
  EXPECT_FALSE((*got2)->assignee.has_value());
  EXPECT_FALSE((*got2)->next_reminder_at.has_value());
  EXPECT_EQ((*got2)->source, request_source::chat);
  EXPECT_FALSE((*got2)->lifecycle.has_value());
  EXPECT_EQ((*got)->lifecycle, full.lifecycle);
  auto none = st->request("nope");
  DD_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(store_test, upsert_replaces_every_field) {
  auto st = open();
  ASSERT_TRUE(st);
  auto r = sample_request("r1");
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(r)); });
  auto changed = minimal_request("r1", 99);
  changed.status = "done";
  changed.closed = true;
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(changed)); });
  EXPECT_EQ(**st->request("r1"), changed);
  EXPECT_EQ(st->counts()->requests, 1);
}

TEST_P(store_test, lookup_by_thread_and_jira_key) {
  auto st = open();
  ASSERT_TRUE(st);
  auto r = sample_request("r1");
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(r));
    DD_ASSERT_OK(t.link_thread({"root-1", "r1", "room-support"}));
    DD_ASSERT_OK(t.link_thread({"root-moved", "r1", "room-other"}));
  });
  EXPECT_EQ(st->request_by_thread("root-1")->value().id, "r1");
  EXPECT_EQ(st->request_by_thread("root-moved")->value().id, "r1");
  EXPECT_FALSE(st->request_by_thread("root-2")->has_value());
  EXPECT_EQ(st->request_by_jira_key("SUP-r1")->value().id, "r1");
  EXPECT_FALSE(st->request_by_jira_key("SUP-0")->has_value());
  auto links = st->thread_links("r1");
  DD_ASSERT_OK(links);
  EXPECT_EQ(*links, (std::vector<thread_link>{{"root-1", "r1", "room-support"}, {"root-moved", "r1", "room-other"}}));
}

TEST_P(store_test, thread_root_maps_to_one_request) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    DD_ASSERT_OK(t.link_thread({"root-1", "r1", "room"}));
  });
  auto txn = st->begin();
  DD_ASSERT_OK(txn);
  auto dup = (*txn)->link_thread({"root-1", "r2", "room"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.err().code, errc::constraint);
  EXPECT_FALSE((*txn)->commit().ok());
  EXPECT_EQ(st->request_by_thread("root-1")->value().id, "r1");
  // A link to an unknown request violates the foreign key.
  auto txn2 = st->begin();
  DD_ASSERT_OK(txn2);
  auto dangling = (*txn2)->link_thread({"root-9", "nobody", "room"});
  ASSERT_FALSE(dangling.ok());
  EXPECT_EQ(dangling.err().code, errc::constraint);
}

TEST_P(store_test, duplicate_jira_key_is_rejected) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(sample_request("r1"))); });
  auto other = sample_request("r2");
  other.jira_key = "SUP-r1";
  auto txn = st->begin();
  DD_ASSERT_OK(txn);
  auto r = (*txn)->upsert_request(other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::constraint);
}

TEST_P(store_test, open_requests_skip_closed_oldest_first) {
  auto st = open();
  ASSERT_TRUE(st);
  auto closed = minimal_request("a", 1);
  closed.closed = true;
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("late", 30)));
    DD_ASSERT_OK(t.upsert_request(closed));
    DD_ASSERT_OK(t.upsert_request(minimal_request("early", 10)));
  });
  auto open_rs = st->open_requests();
  DD_ASSERT_OK(open_rs);
  ASSERT_EQ(open_rs->size(), 2u);
  EXPECT_EQ((*open_rs)[0].id, "early");
  EXPECT_EQ((*open_rs)[1].id, "late");
  auto c = st->counts();
  DD_ASSERT_OK(c);
  EXPECT_EQ(c->requests, 3);
  EXPECT_EQ(c->open_requests, 2);
}

TEST_P(store_test, status_history_in_sequence_per_request) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    auto s1 = t.append_status_change({"r1", std::nullopt, "new", "dutydesk", 10, 0});
    DD_ASSERT_OK(s1);
    EXPECT_EQ(*s1, 1);
    auto other = t.append_status_change({"r2", std::nullopt, "new", "dutydesk", 11, 0});
    DD_ASSERT_OK(other);
    EXPECT_EQ(*other, 1);
    EXPECT_EQ(*t.append_status_change({"r1", "new", "in_progress", "bob", 20, 0}), 2);
  });
  in_txn(*st, [&](transaction& t) { EXPECT_EQ(*t.append_status_change({"r1", "in_progress", "done", "bob", 30, 99}), 3); });
  auto h = st->status_history("r1");
  DD_ASSERT_OK(h);
  EXPECT_EQ(*h, (std::vector<status_change>{{"r1", std::nullopt, "new", "dutydesk", 10, 1},
                                            {"r1", "new", "in_progress", "bob", 20, 2},
                                            {"r1", "in_progress", "done", "bob", 30, 3}}));
  EXPECT_EQ(st->status_history("r2")->size(), 1u);
  EXPECT_TRUE(st->status_history("none")->empty());
  EXPECT_EQ(st->counts()->status_changes, 4);
}

TEST_P(store_test, room_cursors_only_move_forward) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.set_room_cursor({"room-b", 100, "m1"}));
    DD_ASSERT_OK(t.set_room_cursor({"room-a", 50, "m0"}));
  });
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.set_room_cursor({"room-b", 200, "m2"}));
    DD_ASSERT_OK(t.set_room_cursor({"room-a", 40, "older"}));
  });
  auto cs = st->room_cursors();
  DD_ASSERT_OK(cs);
  EXPECT_EQ(*cs, (std::vector<room_cursor>{{"room-a", 50, "m0"}, {"room-b", 200, "m2"}}));
}

TEST_P(store_test, timers_set_replace_remove_and_due) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    DD_ASSERT_OK(t.set_timer({"r1", "reminder", 300, 1}));
    DD_ASSERT_OK(t.set_timer({"r1", "idle", 100, 1}));
    DD_ASSERT_OK(t.set_timer({"r2", "reminder", 100, 4}));
  });
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.set_timer({"r1", "reminder", 200, 2})); // re-armed: replaces due time and epoch
    DD_ASSERT_OK(t.remove_timer("r2", "reminder"));
    DD_ASSERT_OK(t.remove_timer("r2", "never-set"));
  });
  auto due = st->due_timers(200);
  DD_ASSERT_OK(due);
  EXPECT_EQ(*due, (std::vector<timer_record>{{"r1", "idle", 100, 1}, {"r1", "reminder", 200, 2}}));
  EXPECT_EQ(st->due_timers(199)->size(), 1u);
  EXPECT_TRUE(st->due_timers(99)->empty());
  EXPECT_EQ(st->counts()->timers, 2);
  auto txn = st->begin();
  DD_ASSERT_OK(txn);
  auto dangling = (*txn)->set_timer({"nobody", "idle", 1, 1});
  ASSERT_FALSE(dangling.ok());
  EXPECT_EQ(dangling.err().code, errc::constraint);
}

TEST_P(store_test, claim_fresh_pending_done) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    auto c = t.claim("r1/ack", 10);
    DD_ASSERT_OK(c);
    EXPECT_EQ(c->status, claim_status::fresh);
    EXPECT_EQ(c->record, (action_record{"r1/ack", action_state::pending, 10, std::nullopt, std::nullopt}));
    // Within the same transaction the claim is already visible.
    EXPECT_EQ(t.claim("r1/ack", 11)->status, claim_status::pending);
  });
  in_txn(*st, [&](transaction& t) {
    auto c = t.claim("r1/ack", 20);
    DD_ASSERT_OK(c);
    EXPECT_EQ(c->status, claim_status::pending);
    EXPECT_EQ(c->record.created_at, 10);
    DD_ASSERT_OK(t.complete("r1/ack", "posted-msg-1", 30));
  });
  in_txn(*st, [&](transaction& t) {
    auto c = t.claim("r1/ack", 40);
    DD_ASSERT_OK(c);
    EXPECT_EQ(c->status, claim_status::done);
    EXPECT_EQ(c->record, (action_record{"r1/ack", action_state::done, 10, 30, "posted-msg-1"}));
    DD_ASSERT_OK(t.complete("r1/ack", "second-result", 50)); // completing again keeps the first result
  });
  EXPECT_EQ(st->action("r1/ack")->value().result, "posted-msg-1");
  EXPECT_FALSE(st->action("other")->has_value());
}

TEST_P(store_test, claim_rolled_back_is_fresh_again) {
  auto st = open();
  ASSERT_TRUE(st);
  {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    EXPECT_EQ((*txn)->claim("k", 1)->status, claim_status::fresh);
    (*txn)->rollback();
  }
  {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    EXPECT_EQ((*txn)->claim("k", 2)->status, claim_status::fresh);
    // Destroyed without commit: rolled back as well.
  }
  in_txn(*st, [&](transaction& t) { EXPECT_EQ(t.claim("k", 3)->status, claim_status::fresh); });
  EXPECT_EQ(st->action("k")->value().created_at, 3);
}

TEST_P(store_test, release_and_complete_errors) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    ASSERT_EQ(t.claim("a", 1)->status, claim_status::fresh);
    ASSERT_EQ(t.claim("b", 2)->status, claim_status::fresh);
    DD_ASSERT_OK(t.complete("b", "m-b", 3));
  });
  auto pending = st->pending_actions();
  DD_ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key, "a");
  in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.release("a")); });
  EXPECT_FALSE(st->action("a")->has_value());
  struct bad_case {
    std::string op;
    std::string key;
    errc code;
  };
  for (const auto& c : {bad_case{"release", "b", errc::invalid_state}, bad_case{"release", "zzz", errc::not_found},
                        bad_case{"complete", "zzz", errc::not_found}}) {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    auto r = c.op == "release" ? (*txn)->release(c.key) : (*txn)->complete(c.key, "x", 9);
    ASSERT_FALSE(r.ok()) << c.op << " " << c.key;
    EXPECT_EQ(r.err().code, c.code) << c.op << " " << c.key;
  }
  EXPECT_EQ(st->action("b")->value().state, action_state::done);
  auto counts = st->counts();
  EXPECT_EQ(counts->actions_done, 1);
  EXPECT_EQ(counts->actions_pending, 0);
}

TEST_P(store_test, claim_survives_restart) {
  {
    auto st = open();
    ASSERT_TRUE(st);
    in_txn(*st, [&](transaction& t) {
      ASSERT_EQ(t.claim("posted", 1)->status, claim_status::fresh);
      ASSERT_EQ(t.claim("crashed", 2)->status, claim_status::fresh);
    });
    // "posted" was confirmed before the restart; "crashed" was claimed and never completed.
    in_txn(*st, [&](transaction& t) { DD_ASSERT_OK(t.complete("posted", "m-1", 3)); });
  }
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    auto posted = t.claim("posted", 10);
    DD_ASSERT_OK(posted);
    EXPECT_EQ(posted->status, claim_status::done);
    EXPECT_EQ(posted->record.result, "m-1");
    auto crashed = t.claim("crashed", 10);
    DD_ASSERT_OK(crashed);
    EXPECT_EQ(crashed->status, claim_status::pending);
    EXPECT_EQ(crashed->record.created_at, 2);
    EXPECT_EQ(t.claim("new", 10)->status, claim_status::fresh);
  });
}

TEST_P(store_test, outbox_order_global_and_per_request) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1)));
    DD_ASSERT_OK(t.upsert_request(minimal_request("r2", 2)));
    EXPECT_EQ(*t.enqueue_event(event("e1", "r1", "request.created", 10)), 1);
    EXPECT_EQ(*t.enqueue_event(event("e2", "r2", "request.created", 5)), 1);
  });
  in_txn(*st, [&](transaction& t) {
    EXPECT_EQ(*t.enqueue_event(event("e3", "r1", "request.status", 3)), 2);
    EXPECT_EQ(*t.enqueue_event(event("e4", "r2", "request.status", 1)), 2);
    EXPECT_EQ(*t.enqueue_event(event("e5", "r1", "request.closed", 2)), 3);
  });
  auto ids = [](const std::vector<outbox_event>& xs) {
    std::vector<std::string> out;
    for (const auto& x : xs)
      out.push_back(x.id);
    return out;
  };
  // Global order is insertion order, whatever the created_at times say.
  auto all = st->pending_events(100);
  DD_ASSERT_OK(all);
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"}));
  for (std::size_t i = 1; i < all->size(); ++i)
    EXPECT_LT((*all)[i - 1].position, (*all)[i].position);
  EXPECT_EQ((*all)[0], (outbox_event{"e1", "r1", "request.created", R"({"id":"e1"})", 10, std::nullopt, 1,
                                     (*all)[0].position}));
  EXPECT_EQ(ids(*st->pending_events(2)), (std::vector<std::string>{"e1", "e2"}));
  auto r1 = st->pending_events_of("r1");
  DD_ASSERT_OK(r1);
  EXPECT_EQ(ids(*r1), (std::vector<std::string>{"e1", "e3", "e5"}));
  EXPECT_EQ((*r1)[2].seq, 3);

  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.mark_event_sent("e1", 100));
    DD_ASSERT_OK(t.mark_event_sent("e4", 101));
    DD_ASSERT_OK(t.mark_event_sent("e1", 200)); // again: keeps the first time, no error
  });
  EXPECT_EQ(ids(*st->pending_events(100)), (std::vector<std::string>{"e2", "e3", "e5"}));
  EXPECT_EQ(ids(*st->pending_events_of("r1")), (std::vector<std::string>{"e3", "e5"}));
  auto c = st->counts();
  EXPECT_EQ(c->events_pending, 3);
  EXPECT_EQ(c->events_sent, 2);

  auto txn = st->begin();
  DD_ASSERT_OK(txn);
  auto unknown = (*txn)->mark_event_sent("nope", 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.err().code, errc::not_found);
  (*txn)->rollback();
  // A replayed step enqueues the same id again: the first row stays as it was, with its sequence number.
  in_txn(*st, [&](transaction& t) {
    auto again = t.enqueue_event(event("e3", "r1", "again", 1));
    DD_ASSERT_OK(again);
    EXPECT_EQ(*again, 2);
  });
  auto r1_after = st->pending_events_of("r1");
  DD_ASSERT_OK(r1_after);
  EXPECT_EQ(ids(*r1_after), (std::vector<std::string>{"e3", "e5"}));
  EXPECT_EQ((*r1_after)[0].subject, "request.status");
  EXPECT_EQ(st->counts()->events_pending, 3);
}

// The unit of work of "a new message arrived": every row of it, then one write that fails.
TEST_P(store_test, failing_write_leaves_nothing) {
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(minimal_request("old", 1)));
    DD_ASSERT_OK(t.link_thread({"root-old", "old", "room"}));
  });
  auto before = st->counts();
  DD_ASSERT_OK(before);
  {
    auto txn = st->begin();
    DD_ASSERT_OK(txn);
    auto& t = **txn;
    DD_ASSERT_OK(t.upsert_request(sample_request("r1")));
    DD_ASSERT_OK(t.append_status_change({"r1", std::nullopt, "new", "dutydesk", 1, 0}));
    DD_ASSERT_OK(t.set_timer({"r1", "reminder", 5, 1}));
    DD_ASSERT_OK(t.set_room_cursor({"room", 9, "m9"}));
    DD_ASSERT_OK(t.enqueue_event(event("e1", "r1", "request.created", 1)));
    ASSERT_EQ(t.claim("r1/ack", 1)->status, claim_status::fresh);
    auto dup = t.link_thread({"root-old", "r1", "room"}); // injected failure: the root is already mapped
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.err().code, errc::constraint);
    // The transaction is poisoned: later writes do not run and report the first failure.
    auto later = t.set_timer({"r1", "idle", 6, 1});
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.err().code, errc::constraint);
    auto committed = t.commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.err().code, errc::constraint);
    EXPECT_EQ(t.commit().err().code, errc::invalid_state);
    EXPECT_EQ(t.set_timer({"r1", "idle", 6, 1}).err().code, errc::invalid_state);
  }
  auto check = [&](store& s) {
    EXPECT_FALSE(s.request("r1")->has_value());
    EXPECT_FALSE(s.action("r1/ack")->has_value());
    EXPECT_TRUE(s.room_cursors()->empty());
    EXPECT_EQ(*s.counts(), *before);
  };
  check(*st);
  st.reset();
  auto reopened = open();
  ASSERT_TRUE(reopened);
  check(*reopened);
}

TEST_P(store_test, one_transaction_at_a_time) {
  auto st = open();
  ASSERT_TRUE(st);
  auto first = st->begin();
  DD_ASSERT_OK(first);
  auto second = st->begin();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.err().code, errc::invalid_state);
  DD_ASSERT_OK((*first)->commit());
  auto third = st->begin();
  DD_ASSERT_OK(third);
}

TEST_P(store_test, restore_open_requests_and_timers_after_reopen) {
  {
    auto st = open();
    ASSERT_TRUE(st);
    auto done = sample_request("closed", 3);
    done.closed = true;
    in_txn(*st, [&](transaction& t) {
      DD_ASSERT_OK(t.upsert_request(sample_request("a", 1)));
      DD_ASSERT_OK(t.upsert_request(sample_request("b", 2)));
      DD_ASSERT_OK(t.upsert_request(done));
      DD_ASSERT_OK(t.set_timer({"a", "reminder", 1000, 3}));
      DD_ASSERT_OK(t.set_timer({"b", "idle", 500, 1}));
      DD_ASSERT_OK(t.set_room_cursor({"room-support", 77, "m77"}));
    });
  }
  auto st = open();
  ASSERT_TRUE(st);
  auto open_rs = st->open_requests();
  DD_ASSERT_OK(open_rs);
  EXPECT_EQ(*open_rs, (std::vector<request_record>{sample_request("a", 1), sample_request("b", 2)}));
  auto timers = st->due_timers(INT64_MAX);
  DD_ASSERT_OK(timers);
  EXPECT_EQ(*timers, (std::vector<timer_record>{{"b", "idle", 500, 1}, {"a", "reminder", 1000, 3}}));
  EXPECT_EQ(*st->room_cursors(), (std::vector<room_cursor>{{"room-support", 77, "m77"}}));
  DD_ASSERT_OK(st->check_integrity());
}

TEST_P(store_test, arbitrary_bytes_and_large_texts_round_trip) {
  auto st = open();
  ASSERT_TRUE(st);
  std::string invalid_utf8 = std::string{"\xff\xfe\xc3\x28 lone continuation \x80 overlong \xc0\xaf nul "} + '\0'
                             + std::string{" surrogate \xed\xa0\x80 end"};
  std::string big(1 << 20, '\0');
  std::mt19937 rng{42};
  for (auto& ch : big)
    ch = static_cast<char>(rng() & 0xff);
  auto r = minimal_request("bytes", 1);
  r.text = invalid_utf8;
  // Identifiers are TEXT: SQLite keeps any bytes, PostgreSQL only UTF-8 (they come from JSON, which is UTF-8).
  const std::string root = postgres() ? "root-\xc3\xa9" : "root\xff\xfe";
  const std::string thread = postgres() ? "thread-\xe2\x82\xac" : "thread\xc3\x28";
  r.root_message_id = root;
  auto large = minimal_request("large", 2);
  large.text = big;
  r.lifecycle = invalid_utf8; // opaque bytes to storage, whatever the actor puts there
  auto empty = minimal_request("empty", 3);
  empty.text.clear();
  empty.lifecycle = ""; // empty, not NULL
  large.lifecycle = big;
  in_txn(*st, [&](transaction& t) {
    DD_ASSERT_OK(t.upsert_request(r));
    DD_ASSERT_OK(t.upsert_request(large));
    DD_ASSERT_OK(t.upsert_request(empty));
    DD_ASSERT_OK(t.link_thread({thread, "bytes", "room"}));
    auto e = event("e1", "large", "request.created", 1);
    e.payload = big;
    DD_ASSERT_OK(t.enqueue_event(e));
  });
  st.reset();
  st = open();
  ASSERT_TRUE(st);
  auto got = st->request("bytes");
  DD_ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->text.size(), invalid_utf8.size());
  EXPECT_EQ((*got)->text, invalid_utf8);
  EXPECT_EQ((*got)->root_message_id, root);
  EXPECT_EQ(st->request_by_thread(thread)->value().id, "bytes");
  auto got_large = st->request("large");
  DD_ASSERT_OK(got_large);
  EXPECT_TRUE((*got_large)->text == big) << "1 MB text differs";
  EXPECT_EQ((*got)->lifecycle, invalid_utf8);
  EXPECT_TRUE(st->request("large")->value().lifecycle == big) << "1 MB lifecycle differs";
  EXPECT_EQ(st->request("empty")->value().text, "");
  EXPECT_EQ(st->request("empty")->value().lifecycle, std::optional<std::string>{""});
  auto events = st->pending_events(10);
  DD_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_TRUE((*events)[0].payload == big) << "1 MB payload differs";
  DD_ASSERT_OK(st->check_integrity());
}

TEST_F(sqlite_file_test, memory_mode_is_private_and_works) {
  auto a = open_store("sqlite::memory:");
  DD_ASSERT_OK(a);
  auto b = open_store("sqlite://:memory:");
  DD_ASSERT_OK(b);
  in_txn(**a, [&](transaction& t) { DD_ASSERT_OK(t.upsert_request(minimal_request("r1", 1))); });
  EXPECT_EQ((*a)->request("r1")->value().id, "r1");
  EXPECT_FALSE((*b)->request("r1")->has_value());
  EXPECT_EQ(*(*a)->schema_version(), static_cast<int>(sqlite_migrations().size()));
}

TEST_F(sqlite_file_test, not_a_database_is_corrupt) {
  {
    std::ofstream junk{db_path(), std::ios::binary};
    junk << std::string(8192, 'x');
  }
  auto st = open_sqlite(db_path());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().code, errc::corrupt) << st.err().message;
}

TEST_F(sqlite_file_test, database_file_is_in_wal_mode) {
  auto st = open();
  ASSERT_TRUE(st);
  // journal_mode=WAL is stored in the file, so a second, independent connection sees it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

INSTANTIATE_BACKENDS(store_test);

} // namespace
} // namespace dutydesk::storage::test
