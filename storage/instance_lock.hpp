#pragma once
// One `dutydesk serve` per store. Two processes on one database would both handle every message (two threads, two
// Jira issues per request), so `serve` takes this lock before anything else and holds it while it runs.
//
//   SQLite file    flock(LOCK_EX) on "<database>.lock" (the holder's pid written in it); the kernel drops it when
//                  the process ends, kill -9 included.
//   PostgreSQL     a session advisory lock on a connection of its own (pg_try_advisory_lock); the server drops it
//                  when that session ends. A holder just killed may still look alive for a moment, so acquire()
//                  retries for `wait`. Known gap: when the lock's connection is lost (a database restart) the lock
//                  is gone and is not taken again until the next start.
//   in-memory      nothing to share: no lock.

#include <chrono>
#include <memory>
#include <string>

#include "storage/open.hpp"
#include "storage/result.hpp"

namespace dutydesk::storage {

class instance_lock {
public:
  /// Takes the lock of the store at `where`; errc::busy when another process holds it (the message says which,
  /// and never quotes a password), errc::unavailable / database when it cannot be tried.
  static result<std::unique_ptr<instance_lock>> acquire(const store_location& where,
                                                        std::chrono::milliseconds wait = std::chrono::seconds(10));

  instance_lock(const instance_lock&) = delete;
  instance_lock& operator=(const instance_lock&) = delete;
  ~instance_lock();

  /// What it holds, for the log: "lock file /var/lib/dutydesk/dutydesk.db.lock", "advisory lock …", "none".
  const std::string& describe() const { return what_; }

  struct state;

private:
  explicit instance_lock(std::unique_ptr<state> s, std::string what);
  std::unique_ptr<state> state_;
  std::string what_;
};

} // namespace dutydesk::storage
