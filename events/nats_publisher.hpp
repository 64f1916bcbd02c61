#pragma once
// A JetStream publisher over libnats 3.4.1 (docs/events.md, reference events.md §3). One connection, one JetStream
// context and one dedicated worker thread that makes every blocking libnats call, so no CAF scheduler thread and no
// Asio thread ever waits on NATS; results come back through callbacks that run on that worker thread (the event
// relay turns them into CAF messages with caf::anon_send).
//
// The connection retries its first connect and reconnects forever (MaxReconnect -1) and never throws or crashes on a
// dead server. libnats 3.4.1 traps handled here:
// - no default error handler: one is set, asynchronous errors are logged;
// - natsConnection_Connect can hang on a protocol read error (nats.c #707, fixed in 3.8.0): the connect runs on the
//   worker, every caller waits with a bound (wait_ready, publish_sync), and the destructor abandons a worker stuck
//   longer than `shutdown_timeout` instead of hanging the process;
// - a timeout does not mean the message failed (it may sit in the reconnect buffer and be stored later): callers
//   retry with the same MsgId, which the stream's duplicate window turns into a duplicate ack;
// - publishes are refused (retryable) while the connection is not up, so the 8 MB reconnect buffer never fills;
// - nats_Close() is process-global and is never called: each publisher frees only its own handles.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dutydesk::events {

struct nats_options {
  std::string url;                      // e.g. "nats://127.0.0.1:4222"; may hold credentials
  std::string name = "dutydesk";        // the connection name the server shows
  std::string stream = "DUTYDESK_EVENTS";
  std::vector<std::string> subjects{"dutydesk.>"};      // the stream's subjects when it is created
  std::chrono::milliseconds duplicate_window{std::chrono::minutes(10)}; // the stream's Duplicates
  std::chrono::milliseconds publish_timeout{5000};      // MaxWait for the PubAck
  std::chrono::milliseconds connect_timeout{5000};      // per connect attempt (socket + handshake)
  std::chrono::milliseconds reconnect_wait{500};        // between reconnect attempts
  std::chrono::milliseconds shutdown_timeout{5000};     // how long the destructor waits for the worker
};

/// What one publish came to.
struct publish_result {
  enum class outcome {
    ok,        // the stream stored it (or had it already: duplicate)
    retryable, // not connected, timeout, closed, buffer full, no responders: keep the event and try again later
    failed,    // the server refused it for a reason a retry does not change by itself (e.g. wrong stream)
  };
  outcome kind = outcome::failed;
  std::uint64_t sequence = 0; // the stream sequence when ok
  bool duplicate = false;     // ok, and the stream had this MsgId inside its duplicate window
  std::string error;          // why, when not ok
  bool ok() const { return kind == outcome::ok; }
};

class nats_publisher {
public:
  using publish_callback = std::function<void(publish_result)>;
  /// Told true when the connection comes up (first connect or reconnect) and false when it goes down.
  using connection_callback = std::function<void(bool)>;

  explicit nats_publisher(nats_options options, connection_callback on_connection = {});
  /// Closes the connection and frees the handles on the worker, waiting at most `shutdown_timeout`.
  ~nats_publisher();
  nats_publisher(const nats_publisher&) = delete;
  nats_publisher& operator=(const nats_publisher&) = delete;

  /// Starts connecting in the background; returns at once (idempotent). The stream is ensured whenever the
  /// connection comes up.
  void start();

  /// True while the connection is up.
  bool connected() const;

  /// True once the stream was ensured on the current connection.
  bool ready() const;

  /// Waits until connected and the stream is ensured, at most `timeout`; true when ready. Blocks the caller: never
  /// call it on a CAF scheduler thread or the I/O thread.
  bool wait_ready(std::chrono::milliseconds timeout) const;

  /// Waits until the first connect attempt has returned (connected or not), at most `timeout`; false when it has not
  /// (a connect stuck inside libnats, nats.c #707). Blocks the caller.
  bool wait_attempted(std::chrono::milliseconds timeout) const;

  /// The last problem ensuring the stream ("" when none), e.g. a subject overlap with another stream.
  std::string stream_problem() const;

  /// Ensures the stream on the worker and waits for it (at most connect_timeout + publish_timeout): creates it when
  /// missing (file storage, the configured subjects and duplicate window), updates its Duplicates when different.
  /// Answers "" on success, else why not ("not connected" while the connection is down). Blocks the caller.
  std::string ensure_stream();

  /// Publishes `payload` on `subject` with Nats-Msg-Id `msg_id`, MaxWait and ExpectStream; `done` runs exactly once,
  /// on the worker thread (or on the caller's thread when the publisher is shutting down). Never blocks.
  void publish(std::string subject, std::string payload, std::string msg_id, publish_callback done);

  /// publish(), waiting for the result (at most connect_timeout + 2 * publish_timeout; "publisher busy" after
  /// that). Blocks the caller.
  publish_result publish_sync(std::string subject, std::string payload, std::string msg_id);

  struct core;

private:
  std::shared_ptr<core> core_;
};

} // namespace dutydesk::events
