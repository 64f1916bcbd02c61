// The storage actor over a real PostgreSQL that goes away: requests that arrive while it is down wait (the actor
// retries with backoff, in order), health says "down" meanwhile, and once the server is back every one of them is
// written exactly once. The waiting is the injected sleep: the test restarts the server from inside it, so the run is
// deterministic (no timing), on the test scheduler.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "storage/open.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/pg_server.hpp"

namespace dutydesk::actors {
namespace {

using namespace std::chrono_literals;

domain::request_record sample(const std::string& id) {
  domain::request_record r;
  r.request_id = id;
  r.room = "cicd-support";
  r.root_message_id = "root-" + id;
  r.requester = "alice";
  r.text = "the build is red";
  r.phase = domain::request_phase::active;
  r.status = "new";
  return r;
}

class StoragePostgres : public test::deterministic_fixture {
protected:
  void SetUp() override {
    ASSERT_TRUE(pg.sh("start"));
    auto opened = storage::open_store(pg.url());
    ASSERT_TRUE(opened.ok()) << opened.err().message;
    db = std::shared_ptr<storage::store>{std::move(*opened)};
    storage_retry retry;
    retry.health = health;
    retry.sleep = [this](std::chrono::milliseconds d) {
      waits.push_back(d);
      down_while_waiting.push_back(!health->up.load());
      if (waits.size() == restart_after)
        restarted = pg.sh("start");
    };
    retry.on_health = [this](bool up) { changes.push_back(up); };
    actor = spawn_storage(sys, db, false, wall(), std::move(retry));
    run();
  }

  void TearDown() override {
    if (actor)
      stop(actor);
  }

  test::pg_server pg;
  std::shared_ptr<storage::store> db;
  std::shared_ptr<storage_health> health = std::make_shared<storage_health>();
  storage_actor actor;
  std::vector<std::chrono::milliseconds> waits;
  std::vector<bool> down_while_waiting;
  std::vector<bool> changes;
  std::size_t restart_after = 3;
  bool restarted = false;
};

TEST_F(StoragePostgres, saves_sent_while_the_database_is_down_wait_and_are_written_once_it_is_back) {
  ASSERT_TRUE(request<bool>(actor, atom::save_v, persist_request{sample("r1"), std::nullopt}));
  ASSERT_TRUE(pg.sh("stop"));

  // Three saves queue up while the server is down; the first one finds it gone and waits.
  for (auto id : {"r2", "r3", "r4"})
    self->send(actor, atom::save_v, persist_request{sample(id), std::nullopt});
  run();

  EXPECT_TRUE(restarted);
  ASSERT_EQ(waits.size(), restart_after);
  EXPECT_EQ(waits[0], 50ms);
  EXPECT_EQ(waits[1], 100ms);
  EXPECT_EQ(waits[2], 200ms);
  for (bool down : down_while_waiting)
    EXPECT_TRUE(down) << "health reads down while the actor waits";
  EXPECT_TRUE(health->up.load());
  EXPECT_EQ(changes, (std::vector<bool>{false, true}));
  EXPECT_EQ(health->retries.load(), static_cast<std::int64_t>(restart_after));

  // Every save landed once, none was answered with an error.
  for (int i = 0; i < 3; ++i) {
    bool answered = false;
    self->receive([&](bool ok) { answered = ok; }, [&](caf::error& e) { ADD_FAILURE() << describe(e); });
    EXPECT_TRUE(answered);
  }
  auto counts = db->counts();
  ASSERT_TRUE(counts.ok()) << counts.err().message;
  EXPECT_EQ(counts->requests, 4);
  for (auto id : {"r1", "r2", "r3", "r4"}) {
    auto row = db->request(id);
    ASSERT_TRUE(row.ok()) << row.err().message;
    EXPECT_TRUE(row->has_value()) << id;
  }
}

TEST_F(StoragePostgres, a_stopping_process_stops_the_waiting_with_storage_unavailable) {
  ASSERT_TRUE(pg.sh("stop"));
  restart_after = 1000; // never within this test
  health->stopping = true;
  auto rp = self->request(actor, caf::infinite, atom::save_v, persist_request{sample("r1"), std::nullopt});
  run();
  caf::error err;
  rp.receive([](bool) { ADD_FAILURE() << "saved without a database"; }, [&](caf::error& e) { err = std::move(e); });
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(ec::storage_unavailable)) << describe(err);
  EXPECT_FALSE(health->up.load());
  EXPECT_TRUE(waits.empty());
}

} // namespace
} // namespace dutydesk::actors
