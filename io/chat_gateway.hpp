#pragma once
// The Rocket.Chat adapter: the bot's REST client and realtime (DDP) session on the I/O thread, behind the
// chat_actor interface.
//
//   open()     blocking, from main: GET me (the bot's username) and rooms.info?roomName for every configured room
//   connect()  starts the DDP session (subscriptions, reconnect, backfill since `backfill_since_ms`); every message
//              version becomes an actors::chat_event sent to the supervisor of its room
//   connect(dir, dms, …)  the same, and the messages users post in their DMs with the bot go to `dms`
//   actor()    post / react / dm / edit for the request actors
//
// DM intake (reference §2.4/§2.5): the session also subscribes `__my_messages__` and keeps its DM events (roomType
// "d"). Each user message of a DM (not the bot's own, not system messages) goes to the dm_actor once as a
// chat_event with direct=true and msg.room = the DM room id; an edit of it comes again with msg.edited=true;
// reactions and other re-emits do not. After a reconnect the DM rooms the gateway knows are backfilled with
// chat.syncMessages: those it opened with im.create in this process and those passed to connect(). A DM room from
// before a restart that this process neither opened nor was given is not backfilled (what was posted in it while
// the connection was down is lost; what is posted after the reconnect arrives live). See io/ddp_session.hpp for
// the remaining limits.
//
// Posts and DMs go through chat.sendMessage with an `_id` derived from the action's idempotency key
// (message_id_for), so the same key posted twice (a replay after a crash, a retry after a lost answer) is one
// message in Rocket.Chat. The actor never blocks: a handler posts the REST call to the I/O thread and the callback
// comes back to the actor as a message, which delivers the response promise.

#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"
#include "io/http_client.hpp"
#include "metrics/registry.hpp"

namespace dutydesk::io {

class io_runtime;

struct chat_gateway_config {
  std::string base_url;   // server root, e.g. "http://127.0.0.1:3000"
  std::string user_id;    // X-User-Id
  std::string auth_token; // X-Auth-Token (PAT), also the DDP resume token
  // The other login: when `auth_token` is empty, open() logs in with POST /api/v1/login {user, password} and uses
  // the answer's userId and authToken (a login token, also the DDP resume token) from then on.
  std::string username;
  std::string password; // secret
  std::vector<std::string> rooms; // room names
  std::int64_t backfill_since_ms = 0; // 0: no backfill on the first subscription
  // Realtime tuning (the ddp_session defaults; see io/ddp_session.hpp).
  std::chrono::milliseconds handshake_timeout{10000}; // connect + TLS + upgrade + login + subscriptions
  std::chrono::milliseconds idle_ping{20000};         // ping after this long without a frame
  std::chrono::milliseconds pong_timeout{10000};      // then drop the connection after this long
  std::chrono::milliseconds reconnect_base{500};
  std::chrono::milliseconds reconnect_max{30000};
  std::chrono::milliseconds open_timeout{30000}; // bound of each blocking call in open()
  tls_options tls; // for the wss:// realtime connection (REST uses the io_runtime's http_client options)
  /// Where the realtime state is recorded (dutydesk_websocket_connected, dutydesk_websocket_reconnects_total: going
  /// live again after a drop); nothing when null.
  std::shared_ptr<metrics::registry> metrics{};
};

/// Counters of the realtime side, for logs, metrics and tests.
struct chat_gateway_stats {
  std::uint64_t delivered = 0;     // chat events sent to supervisors
  std::uint64_t unrouted = 0;      // messages of rooms without a supervisor
  std::uint64_t direct = 0;        // DM messages sent to the dm_actor
  std::uint64_t posts = 0;         // posts and DMs done
  std::uint64_t edits = 0;         // DM texts changed (chat.update)
  std::uint64_t failures = 0;      // REST calls answered with an error
  std::uint64_t lives = 0;         // times the realtime session went live (1 + reconnects that made it)
  std::uint64_t drops = 0;         // times it lost the connection (waiting for a reconnect)
};

/// Rocket.Chat's 17-character id for an idempotency key (same key, same id; different keys collide with
/// negligible probability).
std::string message_id_for(std::string_view key);

class chat_gateway {
public:
  /// @pre `runtime` runs and outlives this object.
  chat_gateway(caf::actor_system& sys, io_runtime& runtime, chat_gateway_config config);
  ~chat_gateway();
  chat_gateway(const chat_gateway&) = delete;
  chat_gateway& operator=(const chat_gateway&) = delete;

  /// Logs in (GET me) and resolves the rooms; spawns the actor. An error names what failed.
  caf::error open();

  /// The bot's username; @pre open() succeeded.
  const std::string& bot_username() const;

  /// The adapter actor; @pre open() succeeded.
  actors::chat_actor actor() const;

  /// Starts the realtime session; events go to `dir`'s supervisors by room name. DMs are not listened to.
  void connect(std::shared_ptr<const actors::channel_directory> dir);

  /// Starts the realtime session as above, and also delivers the users' messages in DMs with the bot to `dms`.
  /// `dm_room_ids` are DM rooms to backfill after reconnects besides the ones this gateway opens (e.g. the rooms of
  /// surveys still open from before a restart).
  void connect(std::shared_ptr<const actors::channel_directory> dir, actors::dm_actor dms,
               std::vector<std::string> dm_room_ids = {});

  /// Closes the realtime session as a network failure would (tests) and returns once it is closed; it then
  /// reconnects and backfills. @pre not called on the I/O thread.
  void drop();

  /// Stops the realtime session and the actor; nothing is delivered afterwards.
  void stop();

  chat_gateway_stats stats() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace dutydesk::io
