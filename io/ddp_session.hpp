#pragma once
// The Rocket.Chat realtime connection (reference rocketchat.md §2): DDP over a websocket (wss when the URL is
// https), callback style on an asio io_context.
//
//   connect ws ─► {"msg":"connect"} ─► connected ─► login {resume: token} ─► result
//     ─► sub stream-room-messages <rid> (each configured room) ─► ready ─► backfill the room ─► live
//   any drop / ping timeout / handshake deadline ─► wait (jittered exponential backoff) ─► connect again
//
// Backfill: events sent while disconnected are lost (§2.6), so after every (re)subscription each room is synced with
// chat.syncMessages since its cursor (the newest `_updatedAt` delivered, minus `backfill_overlap`); live events of a
// room are held back while its backfill runs. Every message version is delivered to `on_message` exactly once per
// (_id, _updatedAt): a version not newer than the one already delivered for that _id is dropped and counted.
// A room with nothing delivered yet is synced from the wall time it first went live (minus the overlap), or from
// `backfill_since_ms` when set (e.g. the last timestamp the previous process stored).
//
// Direct messages (`direct_messages`, reference §2.4/§2.5): one more subscription, `__my_messages__`, of which only
// the events with roomType "d" are used (configured rooms keep their own subscriptions; the rest of the server's
// public traffic that this stream carries is ignored). A DM message reaches `on_direct` when its _id is new and again
// only when its text was edited (editedAt changed); re-emits that change nothing of the text (reactions, thread
// counters) are dropped. The DM rooms the session knows (given in `direct_room_ids`, added with add_direct_room, or
// seen live) are backfilled like configured rooms after every (re)subscription. Limits: a DM room this process
// never knew is not backfilled, so what was posted in it while the connection was down is lost; DM messages created
// before `backfill_since_ms` (minus the overlap), or more than `direct_memory` before the newest version seen in their
// room, are never delivered (neither edits nor re-emits of them).
//
// Threading: create, start, stop and read it on the io_context's thread; callbacks run there. Never throws.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/ddp_frames.hpp"
#include "io/http_client.hpp"
#include "io/rest_json.hpp"

namespace boost::asio {
class io_context;
}

namespace dutydesk::io {

class rocketchat_rest;

namespace detail {
struct ddp_session_impl;
}

struct ddp_session_config {
  std::string url;   // server root http[s]://host[:port] (→ ws[s]://host[:port]/websocket) or a ws[s]:// URL
  std::string token; // PAT or login token, used as the DDP resume token
  std::vector<std::string> room_ids;
  std::chrono::milliseconds handshake_timeout{10000}; // connect + TLS + ws upgrade + connected + login + ready
  std::chrono::milliseconds idle_ping{20000};         // send a ping after this long without any frame
  std::chrono::milliseconds pong_timeout{10000};      // then give up on the connection after this long
  std::chrono::milliseconds reconnect_base{500};
  std::chrono::milliseconds reconnect_max{30000};
  std::chrono::milliseconds backfill_overlap{1000};
  std::int64_t backfill_since_ms = 0; // 0: no backfill on the very first subscription
  bool direct_messages = false;       // also subscribe __my_messages__ and deliver DM messages to on_direct
  std::vector<std::string> direct_room_ids; // DM rooms to backfill from the start (with direct_messages)
  std::chrono::milliseconds direct_memory{std::chrono::hours(24)}; // how long a DM message _id is remembered
  tls_options tls;
};

enum class ddp_state {
  idle,         // not started
  connecting,   // websocket and DDP handshake, login, subscriptions, backfill
  live,         // every room (and __my_messages__ when asked for) subscribed (or refused) and backfilled
  waiting,      // disconnected; a reconnect is scheduled
  auth_failed,  // login refused: stopped, no reconnect
  stopped,
};

const char* to_string(ddp_state s);

struct ddp_callbacks {
  /// Every message version once (new messages, edits, reactions, thread counters).
  std::function<void(const chat_message&)> on_message;
  /// A message of a DM room (direct_messages): new, or its text edited; each (_id, _updatedAt) at most once.
  std::function<void(const chat_message&)> on_direct;
  /// Deletions reported by a backfill (chat.syncMessages `deleted`), of configured and DM rooms.
  std::function<void(const std::string& room_id, const deleted_message&)> on_deleted;
  /// State changes, with a reason for waiting/auth_failed.
  std::function<void(ddp_state, const std::string& detail)> on_state;
  /// A room subscription was refused (nosub with an error) or ended by the server; `room_id` is "__my_messages__"
  /// for the DM stream.
  std::function<void(const std::string& room_id, const meteor_error&)> on_subscription_error;
  /// Diagnostics: malformed frames (with the parse error), drops, backfill failures.
  std::function<void(std::string_view)> on_log;
};

struct ddp_stats {
  std::uint64_t connects = 0;          // websocket connections opened
  std::uint64_t reconnects = 0;        // reconnects scheduled after a drop
  std::uint64_t malformed_frames = 0;  // frames the parser rejected (skipped)
  std::uint64_t delivered = 0;         // on_message calls
  std::uint64_t direct_delivered = 0;  // on_direct calls
  std::uint64_t direct_ignored = 0;    // DM versions dropped: no text change, or a message older than the memory
  std::uint64_t duplicates = 0;        // versions dropped as already delivered
  std::uint64_t backfills = 0;         // room syncs completed (configured and DM rooms)
  std::uint64_t backfilled = 0;        // messages delivered by syncs (on_message and on_direct)
  std::uint64_t backfill_failures = 0; // syncs that failed (a transient failure recycles the connection; any
                                       // other goes live without that sync and retries at the next reconnect)
  std::uint64_t pings_sent = 0;
  std::uint64_t pings_answered = 0;    // server pings we answered
};

class ddp_session {
public:
  /// `rest` is used for the backfill and must outlive this session.
  ddp_session(boost::asio::io_context& ioc, rocketchat_rest& rest, ddp_session_config config,
              ddp_callbacks callbacks);
  /// Stops (closes the socket, cancels timers); no callback runs afterwards.
  ~ddp_session();
  ddp_session(const ddp_session&) = delete;
  ddp_session& operator=(const ddp_session&) = delete;

  void start();
  void stop();
  /// Closes the current connection as a network failure would (then reconnects).
  void drop();

  ddp_state state() const;
  const ddp_stats& stats() const;
  /// The backfill cursor of a room or DM room (newest `_updatedAt` delivered, or its live-since time); 0 when
  /// unknown.
  std::int64_t cursor_ms(const std::string& room_id) const;
  /// Makes a DM room known (with direct_messages; a configured room or one already known is ignored): it is
  /// backfilled after every reconnect, and right away when `backfill_since_ms` is set and the DM stream is up.
  void add_direct_room(const std::string& room_id);
  /// The DM rooms the session knows, in id order.
  std::vector<std::string> direct_rooms() const;

private:
  std::shared_ptr<detail::ddp_session_impl> impl_;
};

} // namespace dutydesk::io
