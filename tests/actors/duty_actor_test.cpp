#include "tests/support/metrics_text.hpp"
#include "actors/duty_actor.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "actors/error.hpp"
#include "tests/support/deterministic_fixture.hpp"

using namespace std::chrono_literals;
using namespace dutydesk;

namespace {

/// What the fake OnCall adapter was asked and how it answers.
struct oncall_log {
  enum class mode { answer, error, hold };
  mode how = mode::answer;
  actors::duty_lookup answer;
  std::vector<std::string> schedules; // every lookup, in order
  std::vector<caf::typed_response_promise<actors::duty_lookup>> held;
};

/// A fake OnCall adapter. In `hold` mode lookups stay unanswered until a lookup of "!release" arrives (or forever).
actors::oncall_actor::behavior_type fake_oncall(actors::oncall_actor::pointer self, std::shared_ptr<oncall_log> log) {
  return {
    [self, log](atom::lookup, std::string& schedule) -> caf::result<actors::duty_lookup> {
      if (schedule == "!release") {
        for (auto& rp : log->held)
          rp.deliver(log->answer);
        log->held.clear();
        return log->answer;
      }
      log->schedules.push_back(schedule);
      switch (log->how) {
        case oncall_log::mode::answer: return log->answer;
        case oncall_log::mode::error: return make_error(ec::oncall_failed, "connection refused");
        case oncall_log::mode::hold: break;
      }
      auto rp = self->make_response_promise<actors::duty_lookup>();
      log->held.push_back(rp);
      return rp;
    },
  };
}

actors::duty_lookup on_call(std::vector<domain::oncall_user> users, std::vector<domain::chat_user> directory) {
  actors::duty_lookup x;
  x.oncall.on_call_now = std::move(users);
  x.directory = std::move(directory);
  return x;
}

using test::value_of;

class DutyActor : public test::deterministic_fixture {
protected:
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
  std::shared_ptr<oncall_log> oncall = std::make_shared<oncall_log>();
  actors::oncall_actor oncall_hdl = sys.spawn(fake_oncall, oncall);
  actors::duty_actor duty;

  void SetUp() override {
    oncall->answer = on_call({{"U1", "alice", "alice@example.com"}}, {{"alice", "alice@example.com"}});
    actors::duty_args a;
    a.rooms["support"] = actors::duty_channel{"SCHED1", {"lead"}, "cicd"};
    a.rooms["triage"] = actors::duty_channel{"SCHED2", {"boss"}};
    a.metrics = metrics;
    a.oncall = oncall_hdl;
    a.ttl = 60s;
    a.lookup_timeout = 15s;
    duty = actors::spawn_duty(sys, std::move(a));
    run();
  }

  void TearDown() override {
    caf::anon_send_exit(duty, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(oncall_hdl, caf::exit_reason::user_shutdown);
    drain();
  }

  domain::duty_resolution ask(const std::string& room) {
    return request<domain::duty_resolution>(duty, atom::duty_v, room);
  }

  std::string lookups(const std::string& team, const std::string& result) {
    return value_of(*metrics, "dutydesk_oncall_lookups_total{result=\"" + result + "\",team=\"" + team + "\"}");
  }

  static domain::duty_resolution alice() {
    domain::duty_resolution r;
    r.users = {"alice"};
    return r;
  }
};

} // namespace

TEST_F(DutyActor, answer_is_cached_for_the_ttl_and_looked_up_again_after_it) {
  EXPECT_EQ(ask("support"), alice());
  EXPECT_EQ(oncall->schedules, (std::vector<std::string>{"SCHED1"}));
  advance(30s);
  EXPECT_EQ(ask("support"), alice());
  EXPECT_EQ(oncall->schedules.size(), 1u);
  advance(31s);
  oncall->answer = on_call({{"U2", "bob", "bob@example.com"}}, {{"bob", "bob@example.com"}});
  auto r = ask("support");
  EXPECT_EQ(oncall->schedules.size(), 2u);
  EXPECT_EQ(r.users, (std::vector<std::string>{"bob"}));
  EXPECT_EQ(r.source, domain::duty_source::ok);
}

TEST_F(DutyActor, rooms_are_cached_separately) {
  ask("support");
  auto r = ask("triage");
  EXPECT_EQ(oncall->schedules, (std::vector<std::string>{"SCHED1", "SCHED2"}));
  EXPECT_EQ(r, alice());
}

TEST_F(DutyActor, concurrent_asks_share_one_lookup) {
  oncall->how = oncall_log::mode::hold;
  auto first = self->request(duty, caf::infinite, atom::duty_v, std::string{"support"});
  auto second = self->request(duty, caf::infinite, atom::duty_v, std::string{"support"});
  run();
  EXPECT_EQ(oncall->schedules.size(), 1u);
  ASSERT_EQ(oncall->held.size(), 1u);
  caf::anon_send(oncall_hdl, atom::lookup_v, std::string{"!release"});
  run();
  int answered = 0;
  for (auto* rp : {&first, &second})
    rp->receive(
      [&](domain::duty_resolution& r) {
        EXPECT_EQ(r, alice());
        ++answered;
      },
      [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(oncall->schedules.size(), 1u);
}

TEST_F(DutyActor, oncall_failure_tags_the_fallback_and_is_retried_after_5s) {
  oncall->answer.oncall.failed = true;
  oncall->answer.oncall.error = "HTTP 503";
  auto r = ask("support");
  EXPECT_EQ(r.source, domain::duty_source::error);
  EXPECT_EQ(r.users, (std::vector<std::string>{"lead"}));
  EXPECT_TRUE(r.fallback_used);
  EXPECT_NE(r.reason.find("HTTP 503"), std::string::npos) << r.reason;
  advance(4s);
  ask("support");
  EXPECT_EQ(oncall->schedules.size(), 1u); // not hammered
  advance(1s);
  oncall->answer = on_call({{"U1", "alice", "alice@example.com"}}, {{"alice", "alice@example.com"}});
  EXPECT_EQ(ask("support"), alice());
  EXPECT_EQ(oncall->schedules.size(), 2u); // recovered; cached for the full ttl again
  advance(59s);
  EXPECT_EQ(ask("support"), alice());
  EXPECT_EQ(oncall->schedules.size(), 2u);
}

TEST_F(DutyActor, lookup_error_tags_the_fallback_and_is_retried_after_5s) {
  oncall->how = oncall_log::mode::error;
  auto r = ask("support");
  EXPECT_EQ(r.source, domain::duty_source::error);
  EXPECT_EQ(r.users, (std::vector<std::string>{"lead"}));
  EXPECT_TRUE(r.fallback_used);
  EXPECT_NE(r.reason.find("connection refused"), std::string::npos) << r.reason;
  advance(4s);
  ask("support");
  EXPECT_EQ(oncall->schedules.size(), 1u);
  advance(1s);
  ask("support");
  EXPECT_EQ(oncall->schedules.size(), 2u);
}

TEST_F(DutyActor, lookup_timeout_tags_the_fallback) {
  oncall->how = oncall_log::mode::hold;
  auto rp = self->request(duty, caf::infinite, atom::duty_v, std::string{"support"});
  run();
  ASSERT_EQ(oncall->held.size(), 1u);
  EXPECT_EQ(advance(14s), 0u);
  ASSERT_GE(advance(1s), 1u); // the lookup timeout fired; the answer is in the mailbox
  domain::duty_resolution r;
  rp.receive([&](domain::duty_resolution& x) { r = x; }, [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  EXPECT_EQ(r.source, domain::duty_source::error);
  EXPECT_EQ(r.users, (std::vector<std::string>{"lead"}));
}

TEST_F(DutyActor, unmapped_user_tags_the_mapped_ones_and_the_fallback_and_logs_the_miss) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
    std::make_shared<spdlog::logger>("duty-test", std::make_shared<spdlog::sinks::ostream_sink_st>(out)));
  oncall->answer = on_call({{"U1", "alice", "alice@example.com"}, {"U7", "ghost", "ghost@example.com"}},
                           {{"alice", "alice@example.com"}});
  auto r = ask("support");
  spdlog::set_default_logger(previous);
  EXPECT_EQ(r.source, domain::duty_source::unmapped);
  EXPECT_EQ(r.users, (std::vector<std::string>{"alice", "lead"}));
  EXPECT_TRUE(r.fallback_used);
  EXPECT_NE(r.reason.find("ghost"), std::string::npos) << r.reason;
  EXPECT_NE(out.str().find("channel support tags fallback: " + r.reason), std::string::npos) << out.str();
}

TEST_F(DutyActor, unknown_room_resolves_as_an_error_without_fallback) {
  auto r = ask("nowhere");
  EXPECT_EQ(r.source, domain::duty_source::error);
  EXPECT_TRUE(r.users.empty());
  EXPECT_NE(r.reason.find("room not configured"), std::string::npos) << r.reason;
  EXPECT_TRUE(oncall->schedules.empty());
}

TEST_F(DutyActor, every_oncall_lookup_is_recorded_by_team_and_result) {
  ask("support");
  ask("support"); // cached: no lookup
  EXPECT_EQ(lookups("cicd", "ok"), "1");
  ask("triage"); // no team configured: the room name
  EXPECT_EQ(lookups("triage", "ok"), "1");

  advance(61s);
  oncall->answer = on_call({}, {});
  EXPECT_EQ(ask("support").source, domain::duty_source::empty);
  EXPECT_EQ(lookups("cicd", "empty"), "1");

  advance(61s);
  oncall->answer = on_call({{"U7", "ghost", "ghost@example.com"}}, {});
  EXPECT_EQ(ask("support").source, domain::duty_source::unmapped);
  EXPECT_EQ(lookups("cicd", "unmapped"), "1");

  advance(61s);
  oncall->how = oncall_log::mode::error;
  EXPECT_EQ(ask("support").source, domain::duty_source::error);
  EXPECT_EQ(lookups("cicd", "error"), "1");

  // A timed-out lookup is an error too.
  advance(6s);
  oncall->how = oncall_log::mode::hold;
  auto rp = self->request(duty, caf::infinite, atom::duty_v, std::string{"support"});
  run();
  ASSERT_GE(advance(15s), 1u);
  rp.receive([](domain::duty_resolution&) {}, [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  EXPECT_EQ(lookups("cicd", "error"), "2");

  // An unconfigured room asks nobody and records nothing.
  ask("nowhere");
  EXPECT_EQ(lookups("nowhere", "error"), "absent");
  EXPECT_EQ(lookups("cicd", "ok"), "1");
  EXPECT_EQ(lookups("support", "ok"), "absent");
}
