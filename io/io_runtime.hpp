#pragma once
// The I/O thread of the process: one asio io_context run by one std::thread, and the HTTP client that lives on it.
// Actors never block on I/O: they post work here (post()), and the I/O side answers them with caf::anon_send.

#include <functional>
#include <memory>
#include <thread>

#include "io/http_client.hpp"

namespace boost::asio {
class io_context;
}

namespace dutydesk::io {

class io_runtime {
public:
  explicit io_runtime(http_client_options options = {});
  /// Stops and joins the thread.
  ~io_runtime();
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  /// Starts the thread (idempotent).
  void start();
  /// Lets queued handlers finish, stops the io_context and joins the thread (idempotent).
  void stop();

  /// Runs `fn` on the I/O thread.
  void post(std::function<void()> fn);
  /// Runs `fn` on the I/O thread and waits for it; when the thread is not running (or this is it), runs `fn` here.
  void run_sync(const std::function<void()>& fn);

  boost::asio::io_context& context();
  /// The HTTP client; use it on the I/O thread only.
  http_client& http();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace dutydesk::io
