#pragma once
// A GoogleTest fixture on CAF's test_coordinator (STYLE.md §5): messages are delivered by sched.run(), timers fire
// only when the test moves the clock with advance(). Domain wall time is derived from the test clock, starting at
// `wall_start`, so "now" seen by actors and the timers they arm agree.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "actors/atoms.hpp"
#include "actors/request_actor.hpp"

namespace dutydesk::test {

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.inline-output", true);
    set("middleman.network-backend", caf::atom("testing"));
  }
};

class deterministic_fixture : public ::testing::Test {
public:
  /// 2026-12-01T09:00:00Z: wall time when the test clock starts.
  static constexpr std::int64_t wall_start_ms = 1796115600000;

  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys, true};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::actor_clock::time_point clock_start = sched.clock().now();

  /// Wall time on the test clock.
  domain::timestamp wall_now() const {
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(sched.clock().now() - clock_start);
    return domain::timestamp{std::chrono::milliseconds{wall_start_ms} + since};
  }

  /// A wall clock for actors, reading the test clock.
  actors::wall_clock wall() {
    return [this] { return wall_now(); };
  }

  /// Delivers every message (never fires timers).
  void run() { sched.run(); }

  /// Moves the clock by d, fires what expired and delivers the results; returns how many timers fired.
  std::size_t advance(caf::timespan d) {
    auto n = sched.advance_time(d);
    sched.run();
    return n;
  }

  /// Sends a request to `hdl`, runs the scheduler and returns the answer; throws on an error answer.
  template <class T, class Handle, class... Ts>
  T request(const Handle& hdl, Ts&&... xs) {
    auto rp = self->request(hdl, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    T result{};
    bool answered = false;
    std::string failure;
    rp.receive([&](T& x) { result = std::move(x); answered = true; },
               [&](caf::error& err) { failure = sys.render(err); });
    if (!answered)
      throw std::runtime_error("request failed: " + failure);
    return result;
  }

  /// Sends exit to `hdl` and drains the scheduler.
  template <class Handle>
  void stop(const Handle& hdl) {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    drain();
  }

  /// Runs every job and fires every timer until nothing is left (bounded: a re-arming actor that did not exit
  /// would spin forever).
  void drain() {
    for (int i = 0; i < 10000 && (sched.has_job() || sched.has_pending_timeout()); ++i) {
      sched.run();
      sched.trigger_timeouts();
    }
    sched.run();
  }
};

} // namespace dutydesk::test
