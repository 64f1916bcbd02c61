#include "domain/message_filter.hpp"

#include <gtest/gtest.h>

using namespace dutydesk::domain;

namespace {

filter_rules rules() {
  return filter_rules{"dutydesk",
                      {filter_channel{"support", {"mia"}, true}, filter_channel{"quiet", {"mia"}, false}}};
}

incoming_message msg(std::string room, std::string author, std::string text = "help please") {
  incoming_message m;
  m.id = "m1";
  m.room = std::move(room);
  m.author = std::move(author);
  m.text = std::move(text);
  return m;
}

message_class ignored(ignore_reason r) {
  return {message_kind::ignore, r};
}

} // namespace

TEST(message_filter, top_level_message_by_a_user_starts_a_request) {
  EXPECT_EQ(classify(msg("support", "carol"), rules()), (message_class{message_kind::new_request}));
}

TEST(message_filter, thread_reply_is_routed) {
  auto m = msg("support", "carol");
  m.thread_id = "root1";
  EXPECT_EQ(classify(m, rules()), (message_class{message_kind::thread_reply}));
  m.author = "mia"; // members may reply even where they cannot open requests
  m.room = "quiet";
  EXPECT_EQ(classify(m, rules()), (message_class{message_kind::thread_reply}));
}

TEST(message_filter, other_rooms_are_ignored) {
  EXPECT_EQ(classify(msg("random", "carol"), rules()), ignored(ignore_reason::unknown_room));
}

TEST(message_filter, system_messages_are_ignored) {
  auto m = msg("support", "carol");
  m.type = "uj";
  EXPECT_EQ(classify(m, rules()), ignored(ignore_reason::system_message));
  m.thread_id = "root1";
  EXPECT_EQ(classify(m, rules()), ignored(ignore_reason::system_message));
  EXPECT_EQ(classify(msg("support", ""), rules()), ignored(ignore_reason::system_message));
  m = msg("support", "carol");
  m.type = "";
  EXPECT_EQ(classify(m, rules()), (message_class{message_kind::new_request})); // an empty t is not a system message
}

TEST(message_filter, edits_of_roots_are_ignored_edits_of_replies_are_thread_edits) {
  auto m = msg("support", "carol");
  m.edited = true;
  EXPECT_EQ(classify(m, rules()), ignored(ignore_reason::edited));
  m.thread_id = "root1";
  EXPECT_EQ(classify(m, rules()), (message_class{message_kind::thread_edit}));
  m.author = "dutydesk"; // the bot's own edits are not mirrored
  EXPECT_EQ(classify(m, rules()), ignored(ignore_reason::edited));
  m.author = "";
  EXPECT_EQ(classify(m, rules()), ignored(ignore_reason::edited));
}

TEST(message_filter, the_bots_own_messages_are_ignored) {
  EXPECT_EQ(classify(msg("support", "dutydesk"), rules()), ignored(ignore_reason::own_message));
  auto m = msg("support", "dutydesk", "!dd status done");
  m.thread_id = "root1";
  EXPECT_EQ(classify(m, rules()), ignored(ignore_reason::own_message));
}

TEST(message_filter, members_open_requests_unless_configured_otherwise) {
  EXPECT_EQ(classify(msg("support", "mia"), rules()), (message_class{message_kind::new_request}));
  EXPECT_EQ(classify(msg("quiet", "mia"), rules()), ignored(ignore_reason::member_chat));
  EXPECT_EQ(classify(msg("quiet", "carol"), rules()), (message_class{message_kind::new_request}));
}

TEST(message_filter, reason_names) {
  EXPECT_EQ(to_string(ignore_reason::member_chat), "member-chat");
  EXPECT_EQ(to_string(ignore_reason::system_message), "system-message");
}
