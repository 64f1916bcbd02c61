// The feedback router over the real chain: a real storage actor (SQLite in memory), a real channel supervisor with
// real request actors, a fake chat adapter (it records DMs) and a fake duty actor, on CAF's test coordinator. A
// request is opened and closed in the channel; the requester answers the survey in the DM through the router.

#include "actors/feedback_router.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "actors/channel_supervisor.hpp"
#include "actors/storage_actor.hpp"
#include "storage/open.hpp"
#include "tests/support/deterministic_fixture.hpp"
#include "tests/support/fakes.hpp"

using namespace std::chrono_literals;
using namespace dutydesk;

namespace {

actors::duty_actor::behavior_type duty_of_alice(actors::duty_actor::pointer, std::string) {
  return {
    [](atom::duty, std::string&) {
      domain::duty_resolution d;
      d.users = {"alice"};
      return d;
    },
  };
}

/// An English template with its arguments.
std::string text(domain::template_id id, std::vector<domain::template_arg> args = {}) {
  return domain::render(id, domain::language::en, args);
}

class FeedbackRouter : public test::deterministic_fixture {
protected:
  std::shared_ptr<test::chat_log> chat = std::make_shared<test::chat_log>();
  std::shared_ptr<storage::store> db;
  actors::chat_actor chat_hdl;
  actors::storage_actor storage_hdl;
  actors::duty_actor duty_hdl;
  std::shared_ptr<actors::channel_directory> dir = std::make_shared<actors::channel_directory>();
  actors::channel_actor sup;
  actors::feedback_router_actor router;
  int next_msg = 0;

  void SetUp() override {
    auto opened = storage::open_store("sqlite::memory:");
    ASSERT_TRUE(opened);
    db = std::shared_ptr<storage::store>(std::move(*opened));
    chat_hdl = sys.spawn(test::fake_chat, chat);
    storage_hdl = actors::spawn_storage(sys, db, false, wall());
    duty_hdl = sys.spawn(duty_of_alice, std::string{"duty"});
    actors::channel_args a;
    a.room = "support";
    a.params.statuses = {{"new", "New", ":new:", false}, {"done", "Done", ":white_check_mark:", true}};
    a.params.initial_status = "new";
    a.params.members = {"mia"};
    a.params.bot_user = "dutydesk";
    a.params.channels = {{"support", {}}};
    a.params.team = "cicd";
    a.params.feedback.enabled = true;
    a.params.feedback.expire_after = 24h;
    a.params.feedback.anonymous = false;
    a.filter.bot_user = "dutydesk";
    a.filter.channels = {{"support", {"mia"}, true}};
    a.chat = chat_hdl;
    a.storage = storage_hdl;
    a.duty = duty_hdl;
    a.channels = dir;
    a.now = wall();
    sup = actors::spawn_channel(sys, std::move(a));
    dir->by_room.emplace("support", sup);
    actors::feedback_router_args r;
    r.storage = storage_hdl;
    r.chat = chat_hdl;
    r.channels = dir;
    router = actors::spawn_feedback_router(sys, std::move(r));
    run();
  }

  void TearDown() override {
    for (auto hdl : {caf::actor_cast<caf::actor>(router), caf::actor_cast<caf::actor>(sup),
                     caf::actor_cast<caf::actor>(chat_hdl), caf::actor_cast<caf::actor>(storage_hdl),
                     caf::actor_cast<caf::actor>(duty_hdl)})
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    run();
  }

  /// A message in the channel: top level, or a reply in `thread`.
  void channel(const std::string& id, const std::string& user, const std::string& text,
               std::optional<std::string> thread = std::nullopt) {
    actors::chat_event ev;
    ev.msg.id = id;
    ev.msg.room = "support";
    ev.msg.author = user;
    ev.msg.text = text;
    ev.msg.thread_id = std::move(thread);
    ev.ts_ms = ev.updated_ms = wall_now().time_since_epoch().count();
    ev.permalink = "http://chat.test/channel/support?msg=" + id;
    self->send(sup, atom::chat_v, std::move(ev));
    run();
  }

  /// A message `user` writes in the DM with the bot; answers its id.
  std::string dm(const std::string& user, const std::string& text, bool edited = false) {
    actors::chat_event ev;
    ev.direct = true;
    ev.msg.id = "dm-" + std::to_string(++next_msg);
    ev.msg.room = "dm-room-" + user;
    ev.msg.author = user;
    ev.msg.text = text;
    ev.msg.edited = edited;
    auto id = ev.msg.id;
    self->send(router, atom::chat_v, std::move(ev));
    run();
    return id;
  }

  /// Opens request "r1" by dave and closes it by mia: the survey DM goes out.
  void resolve() {
    channel("r1", "dave", "the build is red");
    channel("t1", "mia", "!dd status done", "r1");
  }

  /// Texts of the DMs to `user`, in order.
  std::vector<std::string> dms_to(const std::string& user) const {
    std::vector<std::string> out;
    for (const auto& d : chat->dms)
      if (d.user == user)
        out.push_back(d.text);
    return out;
  }

  storage::feedback_record feedback() {
    auto rows = db->feedback_of("r1");
    EXPECT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 1u);
    return rows->empty() ? storage::feedback_record{} : rows->front();
  }

  actors::feedback_router_stats stats() { return request<actors::feedback_router_stats>(router, atom::status_v); }
};

} // namespace

TEST(parse_dm_rating, takes_the_button_text_and_tolerates_case_and_spacing) {
  using actors::dm_rating;
  using actors::parse_dm_rating;
  EXPECT_EQ(parse_dm_rating("!dd rate r1 5"), (dm_rating{"r1", 5}));
  EXPECT_EQ(parse_dm_rating("  !DD   Rate\tr1\n 3 "), (dm_rating{"r1", 3}));
  EXPECT_EQ(parse_dm_rating("!dd rate r1 five"), (dm_rating{"r1", 0}));
  EXPECT_EQ(parse_dm_rating("!dd rate r1 9999"), (dm_rating{"r1", 0}));
  EXPECT_EQ(parse_dm_rating("!dd rate r1 12"), (dm_rating{"r1", 12})); // the request refuses it
  EXPECT_FALSE(parse_dm_rating("!dd rate r1"));
  EXPECT_FALSE(parse_dm_rating("!dd rate r1 5 extra"));
  EXPECT_FALSE(parse_dm_rating("!dd help"));
  EXPECT_FALSE(parse_dm_rating("rate r1 5"));
  EXPECT_FALSE(parse_dm_rating(""));
}

TEST_F(FeedbackRouter, the_requester_rates_once_then_comments_and_both_are_stored) {
  resolve();
  ASSERT_EQ(dms_to("dave").size(), 1u);
  EXPECT_EQ(feedback().state, "open");

  dm("dave", "!dd rate r1 5");
  auto texts = dms_to("dave");
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[1], text(domain::template_id::rating_thanks, {{"rating", "5"}}));
  auto f = feedback();
  EXPECT_EQ(f.state, "rated");
  EXPECT_EQ(f.rating, 5);
  EXPECT_EQ(f.team, "cicd");
  EXPECT_EQ(f.requester, std::optional<std::string>{"dave"});
  EXPECT_EQ(f.rated_at, std::optional<std::int64_t>{wall_now().time_since_epoch().count()});

  dm("dave", "quick and kind, thanks");
  EXPECT_EQ(feedback().comment, std::optional<std::string>{"quick and kind, thanks"});
  EXPECT_EQ(dms_to("dave").back(), text(domain::template_id::comment_saved));

  dm("dave", "!dd rate r1 2");
  EXPECT_EQ(dms_to("dave").back(), text(domain::template_id::rating_again, {{"rating", "5"}}));
  EXPECT_EQ(feedback().rating, 5);
  auto s = stats();
  EXPECT_EQ(s.ratings, 2u);
  EXPECT_EQ(s.comments, 1u);
  EXPECT_EQ(s.helped, 0u);
}

TEST_F(FeedbackRouter, a_comment_before_the_rating_gets_the_rate_first_hint) {
  resolve();
  dm("dave", "it works again");
  EXPECT_EQ(dms_to("dave").back(), text(domain::template_id::rate_first));
  EXPECT_EQ(feedback().state, "open");
  EXPECT_EQ(feedback().comment, std::nullopt);
}

TEST_F(FeedbackRouter, somebody_elses_rating_is_refused_and_does_not_become_their_survey) {
  resolve();
  dm("eve", "!dd rate r1 1");
  EXPECT_EQ(dms_to("eve").back(), text(domain::template_id::rating_not_requester, {{"request", "r1"}}));
  EXPECT_EQ(feedback().state, "open");
  // eve's next text is no comment on dave's request: eve has no survey, so she gets the help.
  dm("eve", "hello?");
  EXPECT_EQ(dms_to("eve").back(), std::string{domain::template_text(domain::template_id::dm_help,
                                                                     domain::language::en)});
  EXPECT_EQ(feedback().comment, std::nullopt);
}

TEST_F(FeedbackRouter, unknown_requests_other_commands_and_strangers_get_the_help_once_per_message) {
  resolve();
  auto help = std::string{domain::template_text(domain::template_id::dm_help, domain::language::en)};
  auto id1 = dm("dave", "!dd rate nope 4");
  auto id2 = dm("dave", "!dd help");
  auto id3 = dm("zoe", "hi bot");
  EXPECT_EQ(dms_to("zoe"), (std::vector<std::string>{help}));
  auto dave = dms_to("dave");
  ASSERT_EQ(dave.size(), 3u); // the survey, then two help answers
  EXPECT_EQ(dave[1], help);
  EXPECT_EQ(dave[2], help);
  std::vector<std::string> keys;
  for (const auto& d : chat->dms)
    keys.push_back(d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"r1/survey/1", "dm/help/" + id1, "dm/help/" + id2, "dm/help/" + id3}));
  EXPECT_EQ(stats().helped, 3u);
  EXPECT_EQ(feedback().state, "open");
}

TEST_F(FeedbackRouter, edits_are_ignored_and_an_out_of_range_rating_is_refused_by_the_request) {
  resolve();
  dm("dave", "!dd rate r1 4", true);
  EXPECT_EQ(dms_to("dave").size(), 1u);
  EXPECT_EQ(stats().ignored, 1u);
  dm("dave", "!dd rate r1 7");
  EXPECT_EQ(dms_to("dave").back(), text(domain::template_id::rating_invalid));
  EXPECT_EQ(feedback().state, "open");
  dm("dave", "!dd rate r1 4");
  EXPECT_EQ(feedback().rating, 4);
}

TEST_F(FeedbackRouter, after_a_reopen_and_a_second_resolution_the_comment_goes_to_the_new_round) {
  resolve();
  dm("dave", "!dd rate r1 3");
  channel("t2", "mia", "!dd status new", "r1");
  channel("t3", "mia", "!dd status done", "r1");
  auto rows = db->feedback_of("r1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  dm("dave", "!dd rate r1 5");
  dm("dave", "better this time");
  rows = db->feedback_of("r1");
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].round, 1);
  EXPECT_EQ((*rows)[0].rating, 3);
  EXPECT_EQ((*rows)[0].comment, std::nullopt);
  EXPECT_EQ((*rows)[1].round, 2);
  EXPECT_EQ((*rows)[1].rating, 5);
  EXPECT_EQ((*rows)[1].comment, std::optional<std::string>{"better this time"});
}
