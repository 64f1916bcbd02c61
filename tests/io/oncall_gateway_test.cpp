// The OnCall gateway against the real simulator, beyond gateway_test.cpp: an empty rota is an answer (not a
// failure), the e-mail fallback maps an OnCall user whose username Rocket.Chat does not know, and an unknown
// schedule is a failed answer, never a caf::error.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>

#include "actors/error.hpp"
#include "io/chat_gateway.hpp"
#include "io/io_runtime.hpp"
#include "io/oncall_gateway.hpp"
#include "gateway_fixture.hpp"

namespace dutydesk::test {
namespace {

using namespace std::chrono_literals;

class OncallGateway : public gateway_test {
protected:
  /// The lookup's answer; a caf::error (or no answer in 10 s) fails the test.
  std::optional<actors::duty_lookup> lookup(io::oncall_gateway& gw, const std::string& schedule) {
    std::optional<actors::duty_lookup> result;
    self->request(gw.actor(), 10s, atom::lookup_v, schedule)
      .receive([&](actors::duty_lookup& x) { result = std::move(x); },
               [&](caf::error& e) { ADD_FAILURE() << "lookup answered an error: " << dutydesk::describe(e); });
    return result;
  }

  // The user lookups go to Rocket.Chat with the bot's settings.
  const io::chat_gateway_config& chat = cfg;

  static std::set<std::string> usernames(const actors::duty_lookup& r) {
    std::set<std::string> result;
    for (const auto& u : r.directory)
      result.insert(u.username);
    return result;
  }

};

TEST_F(OncallGateway, AnEmptyRotaIsAnAnswerWithNobody) {
  auto put = control(io::http_method::put, "/control/oncall/schedules/SCHEDDBA/on_call_now",
                     {{"users", nlohmann::json::array()}});
  ASSERT_EQ(put["_status"], 200) << put.dump();
  io::oncall_gateway gw{sys, runtime, {sim.oncall, seed::oncall_token, ""}, chat};
  auto r = lookup(gw, "SCHEDDBA");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->oncall.failed) << r->oncall.error;
  EXPECT_TRUE(r->oncall.on_call_now.empty());
  EXPECT_TRUE(r->directory.empty());
  gw.stop();
}

TEST_F(OncallGateway, AUsernameRocketChatDoesNotKnowIsMappedByEmail) {
  // OnCall calls Dave "dave.d"; in Rocket.Chat he is "dave" with the same e-mail address.
  auto put = control(io::http_method::put, "/control/oncall/schedules/SCHEDDBA/on_call_now",
                     {{"users", {"UDAVEDAVEDAVE"}}});
  ASSERT_EQ(put["_status"], 200) << put.dump();
  io::oncall_gateway gw{sys, runtime, {sim.oncall, seed::oncall_token, ""}, chat};
  auto r = lookup(gw, "SCHEDDBA");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->oncall.failed) << r->oncall.error;
  ASSERT_EQ(r->oncall.on_call_now.size(), 1u);
  EXPECT_EQ(r->oncall.on_call_now[0].id, "UDAVEDAVEDAVE");
  EXPECT_EQ(r->oncall.on_call_now[0].username, "dave.d");
  EXPECT_EQ(r->oncall.on_call_now[0].email, "dave@example.com");
  EXPECT_EQ(usernames(*r), (std::set<std::string>{"dave"}));
  gw.stop();
}

TEST_F(OncallGateway, AnUnknownScheduleIsAFailedAnswer) {
  io::oncall_gateway gw{sys, runtime, {sim.oncall, seed::oncall_token, ""}, chat};
  auto r = lookup(gw, "SCHEDNOPE");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->oncall.failed);
  EXPECT_NE(r->oncall.error.find("SCHEDNOPE"), std::string::npos) << r->oncall.error;
  gw.stop();
}

TEST_F(OncallGateway, ABadTokenIsAFailedAnswer) {
  io::oncall_gateway gw{sys, runtime, {sim.oncall, "wrong-token", ""}, chat};
  auto r = lookup(gw, "SCHEDCICD");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->oncall.failed);
  EXPECT_FALSE(r->oncall.error.empty());
  gw.stop();
}

} // namespace
} // namespace dutydesk::test
