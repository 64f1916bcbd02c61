// Kill -9 a writer process and check that the database keeps every acknowledged commit and nothing else.
// A child process writes one "message handled" unit of work per iteration and reports each successful commit on a
// pipe; the parent kills it with SIGKILL and reopens the file. No sleeps: the pipe tells the parent how far the child
// got, and the child blocks on a pipe where it must be caught mid-transaction.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <set>

#include "support.hpp"

namespace dutydesk::storage::test {
namespace {

constexpr std::uint32_t staged_marker = 0xffffffffu;

std::string rid(std::uint32_t i) {
  return "r" + std::to_string(i);
}

// One unit of work as the request actor would write it for a new message; `text` makes it as big as wanted.
result<void> stage_message(transaction& t, std::uint32_t i, const std::string& text) {
  auto r = sample_request(rid(i), i);
  r.text = text;
  r.jira_key.reset();
  if (auto ok = t.upsert_request(r); !ok)
    return ok;
  if (auto ok = t.append_status_change({rid(i), std::nullopt, "new", "dutydesk", i, 0}); !ok)
    return ok.err();
  if (auto ok = t.link_thread({"root-" + rid(i), rid(i), "room"}); !ok)
    return ok;
  if (auto ok = t.set_timer({rid(i), "reminder", 1000 + i, 1}); !ok)
    return ok;
  if (auto ok = t.set_room_cursor({"room", i, "m" + std::to_string(i)}); !ok)
    return ok;
  if (auto ok = t.enqueue_event({"e" + std::to_string(i), rid(i), "request.created", "{}", i, std::nullopt, 0, 0}); !ok)
    return ok.err();
  auto c = t.claim(rid(i) + "/ack", i);
  if (!c)
    return c.err();
  return {};
}

bool write_all(int fd, std::uint32_t x) {
  return write(fd, &x, sizeof x) == static_cast<ssize_t>(sizeof x);
}

// Body of the child: never returns.
[[noreturn]] void writer(const std::string& path, std::uint32_t from, std::uint32_t count, bool stall_in_txn,
                         int ack_fd, int block_fd) {
  auto st = open_sqlite(path);
  if (!st)
    _exit(2);
  for (std::uint32_t i = from; i < from + count; ++i) {
    auto txn = (*st)->begin();
    if (!txn || !stage_message(**txn, i, "text " + std::to_string(i)) || !(*txn)->commit())
      _exit(3);
    if (!write_all(ack_fd, i))
      _exit(4);
  }
  if (stall_in_txn) {
    // 8 MB of staged text exceeds SQLite's page cache, so uncommitted pages spill into the WAL before the kill.
    auto txn = (*st)->begin();
    if (!txn || !stage_message(**txn, from + count, std::string(8 << 20, 'x')))
      _exit(5);
    if (!write_all(ack_fd, staged_marker))
      _exit(6);
    char c;
    [[maybe_unused]] auto n = read(block_fd, &c, 1); // blocks until SIGKILL
  }
  _exit(0);
}

struct round_result {
  std::set<std::uint32_t> acked;
  bool staged = false;
  bool killed = false;
};

// Forks a writer of `count` units starting at `from`; kills it after `kill_after` acks (or once it stalls inside a
// transaction), then collects every ack written before it died.
round_result run_round(const std::string& path, std::uint32_t from, std::uint32_t count, std::uint32_t kill_after,
                       bool stall_in_txn) {
  int acks[2];
  int block[2];
  round_result out;
  if (pipe(acks) != 0 || pipe(block) != 0) {
    ADD_FAILURE() << "pipe failed";
    return out;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(acks[0]);
    close(block[1]);
    writer(path, from, count, stall_in_txn, acks[1], block[0]);
  }
  close(acks[1]);
  close(block[0]);
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return out;
  }
  std::uint32_t x = 0;
  bool sent_kill = false;
  // Reads until EOF: the child's end closes when it dies, so acks written before the kill are all collected.
  while (read(acks[0], &x, sizeof x) == static_cast<ssize_t>(sizeof x)) {
    if (x == staged_marker)
      out.staged = true;
    else
      out.acked.insert(x);
    if (!sent_kill && (out.acked.size() >= kill_after || out.staged)) {
      kill(pid, SIGKILL);
      sent_kill = true;
    }
  }
  if (!sent_kill)
    kill(pid, SIGKILL); // the child died or finished early; make sure it is gone
  int status = 0;
  waitpid(pid, &status, 0);
  out.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  close(acks[0]);
  close(block[1]);
  return out;
}

// Every acknowledged unit is there in full, nothing half-written is, and the file is sound.
void check_consistent(store& st, const std::set<std::uint32_t>& acked, std::int64_t& committed) {
  DD_ASSERT_OK(st.check_integrity());
  auto c = st.counts();
  DD_ASSERT_OK(c);
  // All-or-nothing per unit: each committed unit wrote exactly one row of each kind.
  EXPECT_EQ(c->status_changes, c->requests);
  EXPECT_EQ(c->thread_links, c->requests);
  EXPECT_EQ(c->timers, c->requests);
  EXPECT_EQ(c->events_pending, c->requests);
  EXPECT_EQ(c->actions_pending, c->requests);
  // At most one unit committed without its ack reaching the pipe.
  EXPECT_GE(c->requests, static_cast<std::int64_t>(acked.size()));
  EXPECT_LE(c->requests, static_cast<std::int64_t>(acked.size()) + 1);
  for (auto i : acked) {
    auto r = st.request(rid(i));
    DD_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value()) << "acknowledged commit " << i << " lost";
    EXPECT_EQ((*r)->text, "text " + std::to_string(i));
    EXPECT_EQ(st.status_history(rid(i))->size(), 1u);
  }
  auto cursors = st.room_cursors();
  DD_ASSERT_OK(cursors);
  ASSERT_EQ(cursors->size(), 1u);
  EXPECT_EQ((*cursors)[0].last_ts, c->requests - 1);
  committed = c->requests;
}

using crash_test = temp_dir_test;

TEST_F(crash_test, kill_9_keeps_every_acknowledged_commit) {
  std::int64_t committed = 0;
  std::set<std::uint32_t> all_acked;
  // Three kills in the middle of the write loop, each run continuing the same file after the previous crash.
  for (int round = 0; round < 3; ++round) {
    auto from = static_cast<std::uint32_t>(committed);
    auto res = run_round(db_path(), from, 100'000, 25, false);
    ASSERT_TRUE(res.killed) << "round " << round << ": the writer exited before the kill";
    ASSERT_GE(res.acked.size(), 25u) << "round " << round;
    all_acked.insert(res.acked.begin(), res.acked.end());
    auto st = open();
    ASSERT_TRUE(st);
    check_consistent(*st, all_acked, committed);
    if (HasFatalFailure())
      return;
  }
  // Nothing acknowledged is claimable as fresh again: a restarted run would not post it twice.
  auto st = open();
  ASSERT_TRUE(st);
  in_txn(*st, [&](transaction& t) {
    for (auto i : all_acked)
      ASSERT_EQ(t.claim(rid(i) + "/ack", 0)->status, claim_status::pending) << i;
  });
}

TEST_F(crash_test, kill_9_inside_a_spilled_transaction_leaves_nothing_of_it) {
  auto res = run_round(db_path(), 0, 5, 1'000, true);
  ASSERT_TRUE(res.staged) << "the writer never reached the stalled transaction";
  ASSERT_TRUE(res.killed);
  ASSERT_EQ(res.acked.size(), 5u);
  // The uncommitted pages did reach the WAL file, so recovery had something to discard.
  EXPECT_GT(std::filesystem::file_size(db_path() + "-wal"), std::uintmax_t{4} << 20);
  auto st = open();
  ASSERT_TRUE(st);
  std::int64_t committed = 0;
  check_consistent(*st, res.acked, committed);
  EXPECT_EQ(committed, 5);
  EXPECT_FALSE(st->request(rid(5))->has_value());
  EXPECT_FALSE(st->action(rid(5) + "/ack")->has_value());
}

} // namespace
} // namespace dutydesk::storage::test
