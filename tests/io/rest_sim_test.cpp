// rocketchat_rest, oncall_client and http_client against the real simulator (DUTYDESK_SIM): calls, error shapes,
// keep-alive reuse, 5xx/429/connection-reset faults retried until success.

#include <optional>

#include "io/oncall_client.hpp"
#include "io/rocketchat_rest.hpp"
#include "sim_fixture.hpp"

using namespace dutydesk;
using namespace dutydesk::io;
using dutydesk::test::run_until;
using namespace dutydesk::test::seed;
using std::chrono::milliseconds;

namespace {


class rest_sim : public dutydesk::test::sim_test {
protected:
  void SetUp() override {
    sim_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    http_client_options o;
    o.retry.max_attempts = 8;
    o.retry.base_delay = milliseconds(20);
    o.retry.max_delay = milliseconds(80);
    o.retry.max_rate_limit_wait = milliseconds(100);
    http.emplace(ioc, o);
    rc.emplace(*http, sim.rocketchat, rc_credentials{bot_id, bot_pat});
    oc.emplace(*http, sim.oncall, oncall_token);
  }

  template <class T, class Start>
  api_result<T> wait(Start start) {
    std::optional<api_result<T>> out;
    start([&](api_result<T> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); }));
    if (!out)
      return api_error{api_errc::transport, 0, http_failure::timeout, "test deadline", "", 0};
    return std::move(*out);
  }

  void fault(const nlohmann::json& spec) {
    auto j = control(http_method::post, "/control/faults", spec);
    ASSERT_EQ(j["_status"], 200) << j.dump();
  }

  std::int64_t injected(const std::string& system, const std::string& kind) {
    auto j = control(http_method::get, "/control/faults");
    return j["injected"].contains(system) ? j["injected"][system].value(kind, 0) : 0;
  }

  std::optional<http_client> http;
  std::optional<rocketchat_rest> rc;
  std::optional<oncall_client> oc;
};

} // namespace

TEST_F(rest_sim, me_and_users) {
  auto me = wait<rc_user>([&](auto cb) { rc->me(cb); });
  ASSERT_TRUE(me.ok()) << me.error().error;
  EXPECT_EQ(me->id, bot_id);
  EXPECT_EQ(me->username, "dutydesk");

  auto alice = wait<rc_user>([&](auto cb) { rc->user_info("alice", cb); });
  ASSERT_TRUE(alice.ok()) << alice.error().error;
  EXPECT_EQ(alice->id, "Alic3Alic3Alic3Al");

  auto nobody = wait<rc_user>([&](auto cb) { rc->user_info("nobody", cb); });
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().code, api_errc::rejected);
  EXPECT_EQ(nobody.error().status, 400u);
  EXPECT_EQ(nobody.error().error, "User not found.");

  auto by_mail = wait<rc_user_page>([&](auto cb) { rc->users_by_email("ALICE@example.com", cb); });
  ASSERT_TRUE(by_mail.ok()) << by_mail.error().error;
  ASSERT_EQ(by_mail->users.size(), 1u);
  EXPECT_EQ(by_mail->users[0].username, "alice");
  EXPECT_GE(http->stats().reused, 1u); // keep-alive
  EXPECT_EQ(http->stats().connections, 1u);
}

TEST_F(rest_sim, bad_credentials_are_auth_errors) {
  rocketchat_rest bad(*http, sim.rocketchat, rc_credentials{bot_id, "wrong"});
  auto me = wait<rc_user>([&](auto cb) { bad.me(cb); });
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.error().code, api_errc::auth);
  EXPECT_EQ(me.error().status, 401u);
  EXPECT_EQ(me.error().error, "You must be logged in to do this.");
  EXPECT_EQ(me.error().attempts, 1u);

  oncall_client badoc(*http, sim.oncall, "nope");
  auto s = wait<std::vector<std::string>>([&](auto cb) { badoc.on_call_now("SCHEDCICD", cb); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, api_errc::auth);
  EXPECT_EQ(s.error().error, "Invalid token.");
}

TEST_F(rest_sim, post_thread_reply_with_buttons_update_react_get) {
  auto root_id = post_as("alice", "cicd-support", "db is down");
  ASSERT_FALSE(root_id.empty());
  post_message_args a;
  a.room_id = cicd;
  a.tmid = root_id;
  a.text = "DD-42 opened";
  a.attachments = {rc_attachment{"Pick one", "#d00", "", {rc_button{"Take DD-42", "!dd take DD-42", "", "sendMessage"},
                                                          rc_button{"Runbook", "", "https://wiki.example.com/rb", ""}}}};
  auto posted = wait<chat_message>([&](auto cb) { rc->post_message(a, cb); });
  ASSERT_TRUE(posted.ok()) << posted.error().error;
  EXPECT_EQ(posted->tmid, root_id);
  EXPECT_TRUE(posted->has_attachments);
  EXPECT_EQ(posted->u.id, bot_id);
  EXPECT_GT(posted->ts_ms, 0);

  // The button is clickable the way the web client renders it.
  auto click = control(http_method::post, "/control/rocketchat/click",
                       {{"as", "bob"}, {"message_id", posted->id}, {"button", "Take DD-42"}});
  EXPECT_EQ(click["_status"], 200) << click.dump();
  EXPECT_EQ(click["posted"], true) << click.dump();

  auto upd = wait<chat_message>([&](auto cb) { rc->update_message(cicd, posted->id, "DD-42 taken", cb); });
  ASSERT_TRUE(upd.ok()) << upd.error().error;
  EXPECT_EQ(upd->msg, "DD-42 taken");
  EXPECT_TRUE(upd->edited_at_ms.has_value());

  auto react = wait<std::monostate>([&](auto cb) { rc->react(root_id, ":eyes:", true, cb); });
  ASSERT_TRUE(react.ok()) << react.error().error;
  auto again = wait<std::monostate>([&](auto cb) { rc->react(root_id, "eyes", true, cb); }); // no toggle-off
  ASSERT_TRUE(again.ok());
  auto got = wait<chat_message>([&](auto cb) { rc->get_message(root_id, cb); });
  ASSERT_TRUE(got.ok()) << got.error().error;
  EXPECT_EQ(got->reactions.at(":eyes:"), (std::vector<std::string>{"dutydesk"}));
  EXPECT_EQ(got->tcount, 2); // our reply + bob's click in the thread

  auto bad_emoji = wait<std::monostate>([&](auto cb) { rc->react(root_id, ":no-such-emoji:", true, cb); });
  ASSERT_FALSE(bad_emoji.ok());
  EXPECT_EQ(bad_emoji.error().error_type, "error-not-allowed");

  auto missing = wait<chat_message>([&](auto cb) { rc->get_message("NoSuchMessage1234", cb); });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, api_errc::not_found);

  post_message_args nowhere;
  nowhere.room_id = "NoSuchRoom";
  nowhere.text = "x";
  auto inv = wait<chat_message>([&](auto cb) { rc->post_message(nowhere, cb); });
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().error_type, "invalid-channel");
}

TEST_F(rest_sim, send_message_with_client_id_is_idempotent) {
  send_message_args a;
  a.id = "DutyDeskClient001";
  a.rid = cicd;
  a.msg = "hello once";
  auto first = wait<chat_message>([&](auto cb) { rc->send_message(a, cb); });
  ASSERT_TRUE(first.ok()) << first.error().error;
  EXPECT_EQ(first->id, a.id);
  auto second = wait<chat_message>([&](auto cb) { rc->send_message(a, cb); });
  ASSERT_TRUE(second.ok()) << second.error().error;
  EXPECT_EQ(second->id, a.id);
  EXPECT_EQ(second->msg, "hello once");
  auto msgs = control(http_method::get, std::string("/control/rocketchat/rooms/") + cicd + "/messages");
  int n = 0;
  for (auto& m : msgs["messages"])
    n += m.value("_id", "") == a.id;
  EXPECT_EQ(n, 1);
}

TEST_F(rest_sim, sync_history_rooms_dm) {
  auto before = wait<chat_message>([&](auto cb) {
    send_message_args a;
    a.rid = cicd;
    a.msg = "marker";
    rc->send_message(a, cb);
  });
  ASSERT_TRUE(before.ok()) << before.error().error;
  auto id1 = post_as("alice", "cicd-support", "one");
  auto id2 = post_as("bob", "cicd-support", "two");
  auto sync = wait<sync_result>([&](auto cb) { rc->sync_messages(cicd, before->updated_at_ms, cb); });
  ASSERT_TRUE(sync.ok()) << sync.error().error;
  std::vector<std::string> ids;
  for (auto& m : sync->updated)
    ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{id2, id1})); // ts descending, the marker excluded (> lastUpdate)

  auto hist = wait<std::vector<chat_message>>([&](auto cb) { rc->channels_history(cicd, std::nullopt, 2, cb); });
  ASSERT_TRUE(hist.ok()) << hist.error().error;
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ(hist.value()[0].id, id2);

  auto room = wait<rc_room>([&](auto cb) { rc->room_info(cicd, cb); });
  ASSERT_TRUE(room.ok()) << room.error().error;
  EXPECT_EQ(room->name, "cicd-support");
  EXPECT_EQ(room->type, "c");

  auto dm = wait<rc_room>([&](auto cb) { rc->im_create("alice", cb); });
  ASSERT_TRUE(dm.ok()) << dm.error().error;
  EXPECT_EQ(dm->id, "Alic3Alic3Alic3AlB0tB0tB0tB0tB0tB0");
  EXPECT_EQ(dm->type, "d");
  auto bad = wait<rc_room>([&](auto cb) { rc->im_create("nobody", cb); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().error_type, "error-invalid-user");

  auto bad_sync = wait<sync_result>([&](auto cb) { rc->sync_messages("NoSuchRoom", 0, cb); });
  ASSERT_FALSE(bad_sync.ok());
  EXPECT_EQ(bad_sync.error().error_type, "error-not-allowed");
}

TEST_F(rest_sim, server_errors_are_retried_until_success) {
  fault({{"system", "rocketchat"}, {"rate_5xx", 1.0}, {"status_5xx", 503}, {"for_ms", 150}});
  auto me = wait<rc_user>([&](auto cb) { rc->me(cb); });
  ASSERT_TRUE(me.ok()) << me.error().error;
  EXPECT_GE(injected("rocketchat", "5xx"), 1);
  EXPECT_GE(http->stats().retries, 1u);
}

TEST_F(rest_sim, server_errors_exhaust_attempts_and_unsafe_posts_are_not_repeated) {
  fault({{"system", "rocketchat"}, {"rate_5xx", 1.0}, {"status_5xx", 502}});
  auto me = wait<rc_user>([&](auto cb) { rc->me(cb); });
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.error().code, api_errc::server);
  EXPECT_EQ(me.error().status, 502u);
  EXPECT_EQ(me.error().attempts, 8u);

  post_message_args a;
  a.room_id = cicd;
  a.text = "not twice";
  auto p = wait<chat_message>([&](auto cb) { rc->post_message(a, cb); });
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().attempts, 1u);
}

TEST_F(rest_sim, rate_limits_are_waited_out) {
  fault({{"system", "rocketchat"}, {"rate_429", 1.0}, {"retry_after_s", 1}, {"for_ms", 200}});
  auto me = wait<rc_user>([&](auto cb) { rc->me(cb); });
  ASSERT_TRUE(me.ok()) << me.error().error;
  EXPECT_GE(http->stats().rate_limited, 1u);
  EXPECT_GE(injected("rocketchat", "429"), 1);

  // The wait comes from X-RateLimit-Reset (epoch ms, about 1 s ahead) when the cap allows it.
  http_client_options o;
  o.retry.max_attempts = 3;
  o.retry.max_rate_limit_wait = milliseconds(5000);
  http_client patient(ioc, o);
  rocketchat_rest rc2(patient, sim.rocketchat, rc_credentials{bot_id, bot_pat});
  fault({{"system", "rocketchat"}, {"rate_429", 1.0}, {"retry_after_s", 1}, {"for_ms", 100}});
  auto t0 = std::chrono::steady_clock::now();
  auto me2 = wait<rc_user>([&](auto cb) { rc2.me(cb); });
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(me2.ok()) << me2.error().error;
  EXPECT_EQ(patient.stats().attempts, 2u);
  EXPECT_GE(took, milliseconds(700));
}

TEST_F(rest_sim, connection_resets_are_retried) {
  fault({{"system", "rocketchat"}, {"rate_reset", 1.0}, {"for_ms", 150}});
  auto me = wait<rc_user>([&](auto cb) { rc->me(cb); });
  ASSERT_TRUE(me.ok()) << me.error().error;
  EXPECT_GE(injected("rocketchat", "reset"), 1);
}

TEST_F(rest_sim, oncall_on_call_now_user_and_empty_rota) {
  auto now = wait<std::vector<std::string>>([&](auto cb) { oc->on_call_now("SCHEDCICD", cb); });
  ASSERT_TRUE(now.ok()) << now.error().error;
  EXPECT_EQ(now.value(), (std::vector<std::string>{"UBOBBOBBOBBOB"}));
  auto bob = wait<oncall_user>([&](auto cb) { oc->user("UBOBBOBBOBBOB", cb); });
  ASSERT_TRUE(bob.ok()) << bob.error().error;
  EXPECT_EQ(bob->username, "bob");
  EXPECT_EQ(bob->email, "bob@example.com");

  auto missing = wait<oncall_user>([&](auto cb) { oc->user("UNOPE", cb); });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, api_errc::not_found);
  EXPECT_EQ(missing.error().error, "Not found.");

  auto put = control(http_method::put, "/control/oncall/schedules/SCHEDCICD/on_call_now",
                     {{"users", nlohmann::json::array()}});
  ASSERT_EQ(put["_status"], 200) << put.dump();
  auto gap = wait<std::vector<std::string>>([&](auto cb) { oc->on_call_now("SCHEDCICD", cb); });
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code, api_errc::empty_rota);
}

TEST_F(rest_sim, oncall_429_then_success_and_exhausted) {
  auto t = control(http_method::post, "/control/oncall/throttle", {{"count", 2}, {"reset_seconds", 1}});
  ASSERT_EQ(t["_status"], 200) << t.dump();
  auto now = wait<std::vector<std::string>>([&](auto cb) { oc->on_call_now("SCHEDDBA", cb); });
  ASSERT_TRUE(now.ok()) << now.error().error;
  EXPECT_EQ(now.value(), (std::vector<std::string>{"UCAROLCAROLCA"}));
  EXPECT_EQ(http->stats().rate_limited, 2u);
  EXPECT_EQ(http->stats().attempts, 3u);

  auto t2 = control(http_method::post, "/control/oncall/throttle", {{"count", 20}, {"reset_seconds", 1}});
  ASSERT_EQ(t2["_status"], 200);
  auto limited = wait<std::vector<std::string>>([&](auto cb) { oc->on_call_now("SCHEDDBA", cb); });
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, api_errc::rate_limited);
  EXPECT_EQ(limited.error().status, 429u);
}

TEST_F(rest_sim, unreachable_host_is_a_transport_error) {
  http_client_options o;
  o.retry.max_attempts = 2;
  o.retry.base_delay = milliseconds(1);
  http_client c(ioc, o);
  rocketchat_rest dead(c, "http://127.0.0.1:1", rc_credentials{bot_id, bot_pat});
  auto me = wait<rc_user>([&](auto cb) { dead.me(cb); });
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.error().code, api_errc::transport);
  EXPECT_EQ(me.error().failure, http_failure::connect);
  EXPECT_EQ(me.error().attempts, 2u);
}

TEST_F(rest_sim, slow_answers_time_out_and_are_retried) {
  http_client_options o;
  o.retry.max_attempts = 1;
  http_client once(ioc, o);
  rocketchat_rest slow(once, sim.rocketchat, rc_credentials{bot_id, bot_pat}, milliseconds(100));
  fault({{"system", "rocketchat"}, {"latency_ms", 400}});
  auto me = wait<rc_user>([&](auto cb) { slow.me(cb); });
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.error().code, api_errc::transport);
  EXPECT_EQ(me.error().failure, http_failure::timeout);

  // With retries, attempts after the latency fault lapses succeed.
  auto clear = control(http_method::del, "/control/faults");
  ASSERT_EQ(clear["_status"], 200);
  fault({{"system", "rocketchat"}, {"latency_ms", 400}, {"for_ms", 150}});
  rocketchat_rest patient(*http, sim.rocketchat, rc_credentials{bot_id, bot_pat}, milliseconds(100));
  auto me2 = wait<rc_user>([&](auto cb) { patient.me(cb); });
  ASSERT_TRUE(me2.ok()) << me2.error().error;
  EXPECT_EQ(me2->username, "dutydesk");
  EXPECT_GE(http->stats().retries, 1u);
}

TEST_F(rest_sim, tls_to_a_plain_port_is_a_tls_failure) {
  http_client_options o;
  o.retry.max_attempts = 1;
  http_client c(ioc, o);
  auto https = "https" + sim.rocketchat.substr(4); // same port, but it speaks plain HTTP
  rocketchat_rest tls(c, https, rc_credentials{bot_id, bot_pat});
  auto me = wait<rc_user>([&](auto cb) { tls.me(cb); });
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.error().code, api_errc::transport);
  EXPECT_EQ(me.error().failure, http_failure::tls);
}
