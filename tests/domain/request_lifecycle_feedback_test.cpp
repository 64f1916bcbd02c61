// The rating survey of the request lifecycle: one survey per resolution sent to the requester, a single rating by
// the requester only, withdrawal on reopen, expiry, the comment after the rating, restore.
#include "domain/request_lifecycle.hpp"
#include "lifecycle_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace dutydesk::domain;
using namespace dutydesk::domain::test;

namespace {

constexpr auto expire = 48h;

lifecycle_params params(bool enabled = true, bool anonymous = true) {
  lifecycle_params p;
  p.statuses = {{"new", "New", ":new:", false},
                {"in_progress", "In progress", ":eyes:", false},
                {"done", "Done", ":white_check_mark:", true},
                {"rejected", "Rejected", "", true}};
  p.initial_status = "new";
  p.members = {"mia"};
  p.bot_user = "dutydesk";
  p.team = "platform";
  p.feedback.enabled = enabled;
  p.feedback.expire_after = expire;
  p.feedback.anonymous = anonymous;
  return p;
}

int msg_counter = 0;

std::string next_id(const char* prefix) {
  return prefix + std::to_string(++msg_counter);
}

thread_reply reply(std::string author, std::string text) {
  return thread_reply{next_id("m"), std::move(author), std::move(text)};
}

survey_answer answer(std::string user, int rating) {
  return survey_answer{next_id("d"), std::move(user), rating};
}

survey_comment comment(std::string user, std::string text) {
  return survey_comment{next_id("d"), std::move(user), std::move(text)};
}

const std::string survey_text =
  "Your request in #support is resolved: “my build is broken”\nHow did we do? Rate us from 1 (poor) to 5 (great) "
  "with a button below. After rating you can write a comment here.";
const std::string withdrawn_text = "Your request in #support (“my build is broken”) was reopened, so this survey is "
                                   "withdrawn. You will get a new one when it is resolved again.";
const std::string expired_text = "This survey about your request in #support (“my build is broken”) has expired.";
const std::string closed_text = "There is no open survey for request R1: it was withdrawn or has expired.";

struct fixture {
  request_lifecycle m;
  explicit fixture(lifecycle_params p = params()) : m{std::move(p)} { m.step(make_created(), t0); }
  std::vector<effect> resolve(timestamp at, const char* status = "done") {
    return m.step(reply("alice", std::string{"!dd status "} + status), at);
  }
  std::vector<effect> reopen(timestamp at) { return m.step(reply("alice", "!dd status in_progress"), at); }
  const survey_state& survey() const { return m.record().survey; }
};

/// The index of the first effect of type T in xs (xs.size() when there is none).
template <class T>
std::size_t index_of(const std::vector<effect>& xs) {
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::holds_alternative<T>(xs[i]))
      return i;
  return xs.size();
}

} // namespace

// -- sending ------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_feedback, a_resolution_sends_the_requester_a_survey_with_five_buttons_and_arms_its_expiry) {
  fixture f;
  auto xs = f.resolve(t0 + 2h);
  auto dm = only<dm_user>(xs);
  EXPECT_EQ(dm.key, "R1/survey/1");
  EXPECT_EQ(dm.user, "carol");
  EXPECT_EQ(dm.tmpl, template_id::survey);
  EXPECT_EQ(dm.text, survey_text);
  ASSERT_EQ(dm.buttons.size(), 5u);
  for (int n = 1; n <= 5; ++n)
    EXPECT_EQ(dm.buttons[static_cast<std::size_t>(n - 1)],
              (button{std::to_string(n), "!dd rate R1 " + std::to_string(n), true}));
  auto arm = only<arm_survey>(xs);
  EXPECT_EQ(arm.deadline, t0 + 2h + expire);
  EXPECT_EQ(arm.round, 1u);
  // The hook comes first, then the DM and its timer; storage is written last.
  EXPECT_LT(index_of<request_final>(xs), index_of<dm_user>(xs));
  EXPECT_LT(index_of<dm_user>(xs), index_of<arm_survey>(xs));
  EXPECT_TRUE(std::holds_alternative<persist>(xs.back()));

  survey_state want;
  want.round = 1;
  want.phase = survey_phase::open;
  want.sent_at = t0 + 2h;
  want.expires_at = t0 + 2h + expire;
  want.resolved_at = t0 + 2h;
  want.on_duty = "alice";
  want.requester = ""; // anonymous by default
  EXPECT_EQ(f.survey(), want);
  EXPECT_EQ(std::get<persist>(xs.back()).record.survey, want);
}

TEST(request_lifecycle_feedback, the_survey_names_the_assignee_as_on_duty_at_the_close) {
  fixture f;
  f.m.step(reply("alice", "!dd assign @bob"), t0 + 1h);
  f.resolve(t0 + 2h);
  EXPECT_EQ(f.survey().on_duty, "bob");
}

TEST(request_lifecycle_feedback, a_requester_closing_the_request_gets_the_survey_too) {
  fixture f;
  auto xs = f.m.step(reply("carol", "!dd status rejected"), t0 + 1h);
  EXPECT_EQ(only<dm_user>(xs).key, "R1/survey/1");
  EXPECT_EQ(f.survey().phase, survey_phase::open);
}

TEST(request_lifecycle_feedback, no_survey_when_feedback_is_disabled) {
  fixture f{params(false)};
  auto xs = f.resolve(t0 + 2h);
  EXPECT_TRUE(all<dm_user>(xs).empty());
  EXPECT_TRUE(all<arm_survey>(xs).empty());
  EXPECT_EQ(only<request_final>(xs).status, "done");
  EXPECT_EQ(f.survey(), survey_state{});
  // Without a survey a rating is answered as closed and changes nothing.
  auto before = f.m.record();
  auto rate = f.m.step(answer("carol", 5), t0 + 3h);
  ASSERT_EQ(rate.size(), 1u);
  EXPECT_EQ(std::get<dm_user>(rate[0]).tmpl, template_id::rating_closed);
  EXPECT_EQ(std::get<dm_user>(rate[0]).text, closed_text);
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle_feedback, no_second_survey_on_a_change_from_one_final_status_to_another) {
  fixture f;
  f.resolve(t0 + 1h);
  auto before = f.survey();
  auto xs = f.resolve(t0 + 2h, "rejected");
  EXPECT_EQ(f.m.record().status, "rejected");
  EXPECT_EQ(only<request_final>(xs).status, "rejected");
  EXPECT_TRUE(all<dm_user>(xs).empty());
  EXPECT_TRUE(all<edit_dm>(xs).empty());
  EXPECT_TRUE(all<arm_survey>(xs).empty());
  EXPECT_EQ(f.survey(), before); // round 1 stays open
}

TEST(request_lifecycle_feedback, no_survey_for_a_request_of_the_bot) {
  request_lifecycle m{params()};
  auto c = make_created();
  c.requester = "dutydesk";
  m.step(c, t0);
  auto xs = m.step(reply("alice", "!dd status done"), t0 + 1h);
  EXPECT_TRUE(all<dm_user>(xs).empty());
  EXPECT_EQ(m.record().survey.round, 0u);
}

TEST(request_lifecycle_feedback, russian_survey_text) {
  auto p = params();
  p.lang = language::ru;
  fixture f{p};
  auto dm = only<dm_user>(f.resolve(t0 + 1h));
  EXPECT_EQ(dm.text, "Ваш запрос в #support решён: «my build is broken»\nКак мы справились? Оцените от 1 (плохо) до 5 "
                     "(отлично) кнопкой ниже. После оценки можно написать здесь комментарий.");
}

// -- rating -------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_feedback, the_requesters_rating_is_thanked_published_and_stored) {
  fixture f;
  f.resolve(t0 + 2h);
  auto a = answer("carol", 4);
  auto xs = f.m.step(a, t0 + 3h);
  ASSERT_EQ(xs.size(), 3u);
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.key, "R1/survey/answer/" + a.message_id);
  EXPECT_EQ(dm.user, "carol");
  EXPECT_EQ(dm.tmpl, template_id::rating_thanks);
  EXPECT_EQ(dm.text,
            "Thank you! You rated us 4 of 5. If you like, write a comment here and it is kept with your rating.");
  EXPECT_TRUE(dm.buttons.empty());
  auto ev = std::get<publish_event>(xs[1]);
  EXPECT_EQ(ev.id, "R1/event/rated/1");
  EXPECT_EQ(ev.kind, "rated");
  EXPECT_EQ(ev.at, t0 + 3h);
  EXPECT_EQ(ev.data, (facts{{"rating", 4}, {"round", 1}, {"on_duty", "alice"}, {"resolution_seconds", 7200}}));
  auto s = std::get<persist>(xs[2]);
  EXPECT_EQ(s.record.survey.phase, survey_phase::rated);
  EXPECT_EQ(s.record.survey.rating, 4);
  EXPECT_EQ(s.record.survey.rated_at, t0 + 3h);
  EXPECT_EQ(s.record.survey.resolved_at, t0 + 2h);
  EXPECT_FALSE(s.change);
  EXPECT_EQ(s.record, f.m.record());
}

TEST(request_lifecycle_feedback, a_second_rating_is_refused_politely_and_changes_nothing) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 4), t0 + 2h);
  auto before = f.m.record();
  auto a = answer("carol", 1);
  auto xs = f.m.step(a, t0 + 3h);
  ASSERT_EQ(xs.size(), 1u); // no event, no persist
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.key, "R1/survey/answer/" + a.message_id);
  EXPECT_EQ(dm.tmpl, template_id::rating_again);
  EXPECT_EQ(dm.text, "You have rated this request already (4 of 5); a rating can be given once. Thank you!");
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle_feedback, someone_elses_rating_is_refused_and_changes_nothing) {
  fixture f;
  f.resolve(t0 + 1h);
  auto before = f.m.record();
  for (const char* who : {"eve", "alice", "mia"}) {
    auto xs = f.m.step(answer(who, 5), t0 + 2h);
    ASSERT_EQ(xs.size(), 1u) << who;
    auto dm = std::get<dm_user>(xs[0]);
    EXPECT_EQ(dm.user, who);
    EXPECT_EQ(dm.tmpl, template_id::rating_not_requester);
    EXPECT_EQ(dm.text, "Only the person who opened request R1 can rate it.");
  }
  EXPECT_EQ(f.m.record(), before);
  // Refused even after the requester rated: a stranger learns nothing about the rating.
  f.m.step(answer("carol", 5), t0 + 3h);
  EXPECT_EQ(only<dm_user>(f.m.step(answer("eve", 1), t0 + 4h)).tmpl, template_id::rating_not_requester);
  // The bot's own "answers" are not answered at all.
  EXPECT_TRUE(f.m.step(answer("dutydesk", 3), t0 + 4h).empty());
}

TEST(request_lifecycle_feedback, ratings_out_of_range_are_refused_and_the_survey_stays_open) {
  fixture f;
  f.resolve(t0 + 1h);
  auto before = f.m.record();
  for (int n : {0, 6, 100, -1}) {
    auto xs = f.m.step(answer("carol", n), t0 + 2h);
    ASSERT_EQ(xs.size(), 1u) << n;
    auto dm = std::get<dm_user>(xs[0]);
    EXPECT_EQ(dm.tmpl, template_id::rating_invalid);
    EXPECT_EQ(dm.text, "Please rate with a whole number from 1 to 5.");
  }
  EXPECT_EQ(f.m.record(), before);
  f.m.step(answer("carol", 1), t0 + 3h);
  EXPECT_EQ(f.survey().rating, 1);
  EXPECT_EQ(f.survey().phase, survey_phase::rated);
}

TEST(request_lifecycle_feedback, a_rating_typed_in_the_thread_counts_like_a_button) {
  fixture f;
  f.resolve(t0 + 1h);
  auto r = reply("carol", "!dd rate R1 5");
  auto xs = f.m.step(r, t0 + 2h);
  ASSERT_EQ(xs.size(), 3u); // thanks, rated event, persist: no comment event, no Jira comment
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.key, "R1/survey/answer/" + r.message_id);
  EXPECT_EQ(dm.tmpl, template_id::rating_thanks);
  EXPECT_EQ(std::get<publish_event>(xs[1]).id, "R1/event/rated/1");
  EXPECT_EQ(f.survey().rating, 5);
  // Another user's rating in the thread is refused by DM like one in the DM.
  EXPECT_EQ(only<dm_user>(f.m.step(reply("alice", "!dd rate R1 1"), t0 + 3h)).tmpl,
            template_id::rating_not_requester);
  EXPECT_EQ(only<dm_user>(f.m.step(reply("carol", "!dd rate R1 2"), t0 + 3h)).tmpl, template_id::rating_again);
  EXPECT_TRUE(f.m.step(reply("carol", "!dd rate r1 2"), t0 + 3h).empty()); // ids are case-sensitive
}

TEST(request_lifecycle_feedback, a_non_number_rating_in_the_thread_gets_the_help_and_rates_nothing) {
  fixture f;
  f.resolve(t0 + 1h);
  auto before = f.survey();
  for (const char* text : {"!dd rate R1 five", "!dd rate R1 4.5", "!dd rate R1", "!dd rate R1 -2"}) {
    auto xs = f.m.step(reply("carol", text), t0 + 2h);
    ASSERT_EQ(xs.size(), 1u) << text;
    EXPECT_EQ(std::get<post_thread>(xs[0]).tmpl, template_id::help) << text;
  }
  EXPECT_EQ(f.survey(), before);
  // A number out of range is a rate command and is refused by DM.
  EXPECT_EQ(only<dm_user>(f.m.step(reply("carol", "!dd rate R1 7"), t0 + 2h)).tmpl, template_id::rating_invalid);
}

// -- expiry -------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_feedback, the_expiry_timer_closes_the_survey_and_a_later_rating_is_refused) {
  fixture f;
  f.resolve(t0 + 1h);
  auto deadline = t0 + 1h + expire;
  auto xs = f.m.step(survey_due{1}, deadline);
  ASSERT_EQ(xs.size(), 2u);
  auto ed = std::get<edit_dm>(xs[0]);
  EXPECT_EQ(ed.dm_key, "R1/survey/1");
  EXPECT_EQ(ed.user, "carol");
  EXPECT_EQ(ed.tmpl, template_id::survey_expired);
  EXPECT_EQ(ed.text, expired_text);
  EXPECT_EQ(std::get<persist>(xs[1]).record.survey.phase, survey_phase::expired);
  EXPECT_TRUE(f.m.step(survey_due{1}, deadline + 1s).empty()); // a second firing
  auto before = f.m.record();
  auto rate = f.m.step(answer("carol", 5), deadline + 1h);
  ASSERT_EQ(rate.size(), 1u);
  EXPECT_EQ(std::get<dm_user>(rate[0]).tmpl, template_id::rating_closed);
  EXPECT_EQ(std::get<dm_user>(rate[0]).text, closed_text);
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle_feedback, a_rating_after_the_deadline_expires_the_survey_before_the_timer_does) {
  fixture f;
  f.resolve(t0 + 1h);
  auto deadline = t0 + 1h + expire;
  auto xs = f.m.step(answer("carol", 5), deadline);
  ASSERT_EQ(xs.size(), 3u);
  EXPECT_EQ(std::get<edit_dm>(xs[0]).tmpl, template_id::survey_expired);
  EXPECT_EQ(std::get<edit_dm>(xs[0]).dm_key, "R1/survey/1");
  EXPECT_EQ(std::get<dm_user>(xs[1]).tmpl, template_id::rating_closed);
  EXPECT_EQ(std::get<persist>(xs[2]).record.survey.phase, survey_phase::expired);
  EXPECT_EQ(f.survey().rating, 0);
  EXPECT_FALSE(f.survey().rated_at);
  EXPECT_TRUE(f.m.step(survey_due{1}, deadline + 1s).empty()); // the timer finds it closed
}

TEST(request_lifecycle_feedback, a_rating_a_millisecond_before_the_deadline_counts) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 3), t0 + 1h + expire - 1ms);
  EXPECT_EQ(f.survey().phase, survey_phase::rated);
  EXPECT_EQ(f.survey().rating, 3);
  EXPECT_TRUE(f.m.step(survey_due{1}, t0 + 1h + expire).empty()); // rated: the timer does nothing
}

TEST(request_lifecycle_feedback, an_early_timer_is_rearmed_and_other_rounds_are_dropped) {
  fixture f;
  f.resolve(t0 + 1h);
  auto deadline = t0 + 1h + expire;
  auto xs = f.m.step(survey_due{1}, deadline - 1s);
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(std::get<arm_survey>(xs[0]).deadline, deadline);
  EXPECT_EQ(std::get<arm_survey>(xs[0]).round, 1u);
  EXPECT_TRUE(f.m.step(survey_due{0}, deadline).empty());
  EXPECT_TRUE(f.m.step(survey_due{2}, deadline).empty());
  EXPECT_EQ(f.survey().phase, survey_phase::open);
}

// -- reopen -------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_feedback, a_reopen_withdraws_the_open_survey_and_the_next_resolution_opens_round_two) {
  fixture f;
  f.resolve(t0 + 1h);
  auto xs = f.reopen(t0 + 2h);
  auto ed = only<edit_dm>(xs);
  EXPECT_EQ(ed.dm_key, "R1/survey/1");
  EXPECT_EQ(ed.user, "carol");
  EXPECT_EQ(ed.tmpl, template_id::survey_withdrawn);
  EXPECT_EQ(ed.text, withdrawn_text);
  EXPECT_TRUE(all<dm_user>(xs).empty());
  EXPECT_EQ(f.survey().phase, survey_phase::withdrawn);
  EXPECT_EQ(std::get<persist>(xs.back()).record.survey.phase, survey_phase::withdrawn);

  // Withdrawn: a rating is refused, the old timer does nothing.
  EXPECT_EQ(only<dm_user>(f.m.step(answer("carol", 5), t0 + 3h)).tmpl, template_id::rating_closed);
  EXPECT_TRUE(f.m.step(survey_due{1}, t0 + 1h + expire).empty());

  auto again = f.resolve(t0 + 4h);
  auto dm = only<dm_user>(again);
  EXPECT_EQ(dm.key, "R1/survey/2");
  EXPECT_EQ(dm.text, survey_text);
  EXPECT_EQ(dm.buttons.size(), 5u);
  auto arm = only<arm_survey>(again);
  EXPECT_EQ(arm.round, 2u);
  EXPECT_EQ(arm.deadline, t0 + 4h + expire);
  EXPECT_EQ(f.survey().round, 2u);
  EXPECT_EQ(f.survey().phase, survey_phase::open);
  EXPECT_EQ(f.survey().resolved_at, t0 + 4h);
  EXPECT_EQ(f.survey().sent_at, t0 + 4h);

  // Round 1's timer, however late, leaves round 2 alone; round 2's own timer expires it under its own key.
  EXPECT_TRUE(f.m.step(survey_due{1}, t0 + 4h + expire + 1h).empty());
  EXPECT_EQ(f.survey().phase, survey_phase::open);
  auto expired = only<edit_dm>(f.m.step(survey_due{2}, t0 + 4h + expire));
  EXPECT_EQ(expired.dm_key, "R1/survey/2");
  EXPECT_EQ(expired.tmpl, template_id::survey_expired);
}

TEST(request_lifecycle_feedback, the_round_two_rating_is_its_own_event) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 2), t0 + 2h);
  auto reopened = f.reopen(t0 + 3h);
  EXPECT_TRUE(all<edit_dm>(reopened).empty()); // a rated survey is not withdrawn
  EXPECT_EQ(f.survey().phase, survey_phase::rated);
  f.resolve(t0 + 5h);
  survey_state fresh = f.survey();
  EXPECT_EQ(fresh.round, 2u);
  EXPECT_EQ(fresh.phase, survey_phase::open);
  EXPECT_EQ(fresh.rating, 0);
  EXPECT_FALSE(fresh.rated_at);
  EXPECT_EQ(fresh.comment, "");
  auto ev = only<publish_event>(f.m.step(answer("carol", 5), t0 + 6h));
  EXPECT_EQ(ev.id, "R1/event/rated/2");
  EXPECT_EQ(ev.data, (facts{{"rating", 5}, {"round", 2}, {"on_duty", "alice"}, {"resolution_seconds", 5 * 3600}}));
}

TEST(request_lifecycle_feedback, an_expired_survey_is_not_withdrawn_on_reopen) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(survey_due{1}, t0 + 1h + expire);
  auto xs = f.reopen(t0 + 1h + expire + 1h);
  EXPECT_TRUE(all<edit_dm>(xs).empty());
  EXPECT_EQ(f.survey().phase, survey_phase::expired);
}

// -- comment ------------------------------------------------------------------------------------------------------

TEST(request_lifecycle_feedback, a_comment_after_the_rating_is_stored_with_it) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 5), t0 + 2h);
  auto c = comment("carol", "quick and friendly");
  auto xs = f.m.step(c, t0 + 3h);
  ASSERT_EQ(xs.size(), 2u);
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.key, "R1/survey/answer/" + c.message_id);
  EXPECT_EQ(dm.user, "carol");
  EXPECT_EQ(dm.tmpl, template_id::comment_saved);
  EXPECT_EQ(dm.text, "Thank you, your comment is saved with your rating.");
  EXPECT_EQ(std::get<persist>(xs[1]).record.survey.comment, "quick and friendly");
  f.m.step(comment("carol", "thanks alice"), t0 + 4h);
  EXPECT_EQ(f.survey().comment, "quick and friendly\nthanks alice");
  EXPECT_EQ(f.survey().rating, 5); // the rating stays
  EXPECT_EQ(f.survey().rated_at, t0 + 2h);
}

TEST(request_lifecycle_feedback, a_long_comment_is_cut_at_4000_bytes) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 5), t0 + 2h);
  f.m.step(comment("carol", std::string(3000, 'a')), t0 + 3h);
  auto xs = f.m.step(comment("carol", std::string(2000, 'b')), t0 + 4h);
  EXPECT_EQ(only<dm_user>(xs).tmpl, template_id::comment_saved);
  EXPECT_EQ(f.survey().comment.size(), 4000u);
  EXPECT_TRUE(f.survey().comment == std::string(3000, 'a') + "\n" + std::string(999, 'b'));
  // Once full, a further comment is thanked but adds nothing.
  auto full = f.survey().comment;
  f.m.step(comment("carol", "more"), t0 + 5h);
  EXPECT_TRUE(f.survey().comment == full);
}

TEST(request_lifecycle_feedback, the_cut_does_not_split_a_utf8_character) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 5), t0 + 2h);
  // 3999 bytes of ASCII, then a two-byte "é": the cut at 4000 would keep only its first byte.
  f.m.step(comment("carol", std::string(3999, 'x') + "é"), t0 + 3h);
  EXPECT_EQ(f.survey().comment.size(), 3999u);
  EXPECT_TRUE(f.survey().comment == std::string(3999, 'x')); // not EXPECT_EQ: 4000 bytes are no message
  fixture e;
  e.resolve(t0 + 1h);
  e.m.step(answer("carol", 5), t0 + 2h);
  // A four-byte emoji at offsets 3997..4000: three bytes back is its lead byte, which goes too.
  e.m.step(comment("carol", std::string(3997, 'x') + "😀"), t0 + 3h);
  EXPECT_EQ(e.survey().comment.size(), 3997u);
  fixture g;
  g.resolve(t0 + 1h);
  g.m.step(answer("carol", 5), t0 + 2h);
  // 1333 two-byte "ж" (2666 bytes), then three-byte "€": the 445th "€" would take offsets 3998..4000.
  std::string mixed;
  for (int i = 0; i < 1333; ++i)
    mixed += "ж";
  std::string want = mixed;
  for (int i = 0; i < 500; ++i)
    mixed += "€";
  for (int i = 0; i < 444; ++i)
    want += "€";
  g.m.step(comment("carol", mixed), t0 + 3h);
  EXPECT_EQ(g.survey().comment.size(), 3998u);
  EXPECT_TRUE(g.survey().comment == want);
}

TEST(request_lifecycle_feedback, a_comment_before_the_rating_gets_the_rate_first_hint) {
  fixture f;
  f.resolve(t0 + 1h);
  auto before = f.m.record();
  auto c = comment("carol", "it works now");
  auto xs = f.m.step(c, t0 + 2h);
  ASSERT_EQ(xs.size(), 1u);
  auto dm = std::get<dm_user>(xs[0]);
  EXPECT_EQ(dm.key, "R1/survey/answer/" + c.message_id);
  EXPECT_EQ(dm.tmpl, template_id::rate_first);
  EXPECT_EQ(dm.text, "Please rate first (1 to 5) with a button above; then write your comment here.");
  EXPECT_EQ(f.m.record(), before);
}

TEST(request_lifecycle_feedback, comments_that_are_not_the_requesters_or_have_no_rated_survey_are_ignored) {
  fixture f;
  EXPECT_TRUE(f.m.step(comment("carol", "hello"), t0 + 1h).empty()); // no survey yet
  f.resolve(t0 + 1h);
  EXPECT_TRUE(f.m.step(comment("eve", "hello"), t0 + 2h).empty());
  EXPECT_TRUE(f.m.step(comment("carol", ""), t0 + 2h).empty());
  f.reopen(t0 + 3h);
  EXPECT_TRUE(f.m.step(comment("carol", "hello"), t0 + 4h).empty()); // withdrawn
  f.resolve(t0 + 5h);
  f.m.step(survey_due{2}, t0 + 5h + expire);
  EXPECT_TRUE(f.m.step(comment("carol", "hello"), t0 + 5h + expire + 1s).empty()); // expired
  EXPECT_EQ(f.survey().comment, "");
}

// -- restore and identity -----------------------------------------------------------------------------------------

TEST(request_lifecycle_feedback, a_restored_open_survey_is_rearmed_for_its_deadline) {
  fixture f;
  f.resolve(t0 + 1h);
  request_lifecycle m{params()};
  auto xs = m.step(restored{f.m.record()}, t0 + 30h);
  ASSERT_EQ(xs.size(), 1u); // nothing else to redo, nothing to write
  auto arm = std::get<arm_survey>(xs[0]);
  EXPECT_EQ(arm.deadline, t0 + 1h + expire); // the remaining 19 h, not a fresh 48 h
  EXPECT_EQ(arm.round, 1u);
  EXPECT_EQ(m.record(), f.m.record());
  EXPECT_EQ(only<edit_dm>(m.step(survey_due{1}, t0 + 1h + expire)).dm_key, "R1/survey/1");
}

TEST(request_lifecycle_feedback, a_restored_closed_survey_is_not_rearmed) {
  fixture f;
  f.resolve(t0 + 1h);
  f.m.step(answer("carol", 4), t0 + 2h);
  request_lifecycle m{params()};
  EXPECT_TRUE(all<arm_survey>(m.step(restored{f.m.record()}, t0 + 3h)).empty());
  EXPECT_EQ(only<dm_user>(m.step(answer("carol", 5), t0 + 3h)).tmpl, template_id::rating_again);
  fixture g;
  g.resolve(t0 + 1h);
  g.reopen(t0 + 2h);
  request_lifecycle n{params()};
  EXPECT_TRUE(all<arm_survey>(n.step(restored{g.m.record()}, t0 + 3h)).empty());
}

TEST(request_lifecycle_feedback, the_requester_is_kept_with_the_survey_only_when_feedback_is_not_anonymous) {
  fixture named{params(true, false)};
  auto xs = named.resolve(t0 + 1h);
  EXPECT_EQ(named.survey().requester, "carol");
  EXPECT_EQ(std::get<persist>(xs.back()).record.survey.requester, "carol");
  named.m.step(answer("carol", 5), t0 + 2h);
  EXPECT_EQ(named.survey().requester, "carol");

  fixture anonymous{params(true, true)};
  anonymous.resolve(t0 + 1h);
  auto rated = anonymous.m.step(answer("carol", 5), t0 + 2h);
  EXPECT_EQ(anonymous.survey().requester, "");
  // The rated event names nobody in either mode; the DM still goes to the requester.
  for (const auto& [k, v] : only<publish_event>(rated).data)
    EXPECT_NE(k, "requester");
  EXPECT_EQ(only<dm_user>(rated).user, "carol");
}
