#pragma once
// The feedback router: the dm_actor that takes what users write in their DM with the bot (io/chat_gateway's DM
// intake) and hands survey answers to the request they are about.
//
//   "!dd rate <request> <n>"  (a survey button, or typed)  → storage finds the request by id (= its thread root);
//        its channel's supervisor gets (rate, feedback_update{survey_answer}); the request decides (requester only,
//        once, in range, survey open) and answers in the DM itself. When the writer is the request's requester, the
//        request becomes their "latest survey" (storage key survey_key(user)).
//   any other text            → a survey_comment for the writer's latest survey (set when a survey is sent and when
//        a rating is routed); the request stores it with the rating, or answers "rate first".
//   another "!dd" command, a rating of an unknown request, or text without any survey → the router DMs a short help
//        (once per message: the DM's key is derived from the message id).
//
// Edits of DM messages are ignored (a rating or a comment counts as first written). Messages are handled one at a
// time in arrival order, so that a comment typed right after a rating finds the rating routed. Storage and
// supervisor failures are logged and the message dropped: the user can click the button again.

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/interfaces.hpp"
#include "domain/templates.hpp"

namespace dutydesk::actors {

struct feedback_router_args {
  storage_actor storage;
  chat_actor chat;                                     // for the help DM
  std::shared_ptr<const channel_directory> channels;   // supervisors by room name
  domain::language lang = domain::language::en;
  std::chrono::milliseconds timeout{30000};            // per storage / supervisor request
};

/// What the router did, for tests and logs.
struct feedback_router_stats {
  std::uint64_t ratings = 0;  // answers handed to a request
  std::uint64_t comments = 0; // comments handed to a request
  std::uint64_t helped = 0;   // messages answered with the help DM
  std::uint64_t ignored = 0;  // edits, empty texts
  std::uint64_t failed = 0;   // storage or supervisor failures
};

/// The router as its owner sees it: a dm_actor plus its counters (once every queued message is handled).
using feedback_router_actor = dm_actor::extend<caf::replies_to<atom::status>::with<feedback_router_stats>>;

struct feedback_router_state {
  static constexpr const char* name = "feedback-router";
  feedback_router_args args;
  std::deque<chat_event> queue; // waiting behind the message in work
  bool busy = false;
  feedback_router_stats stats;
  std::vector<caf::typed_response_promise<feedback_router_stats>> waiting; // status asks behind the queue
};

feedback_router_actor spawn_feedback_router(caf::actor_system& sys, feedback_router_args args);

/// A rating command in a DM text: `!dd rate <request> <n>` (any case, any spacing); `rating` is 0 when <n> is not a
/// whole number (the request then answers "rate with 1 to 5"). nullopt when the text is not a rating command.
struct dm_rating {
  std::string request_id;
  int rating = 0;
  friend bool operator==(const dm_rating&, const dm_rating&) = default;
};
std::optional<dm_rating> parse_dm_rating(std::string_view text);

} // namespace dutydesk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::actors::feedback_router_stats)
