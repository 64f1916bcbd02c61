#include "storage/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <pqxx/pqxx>

namespace dutydesk::storage {

namespace {

// The two-key form pg_try_advisory_lock(int4, int4): a class of our own and the schema, so that dutydesks on
// different schemas of one database (advisory locks are per database) do not exclude each other.
constexpr int serve_lock_class = 0x64647376; // "ddsv"
const std::string lock_sql =
  "SELECT pg_try_advisory_lock(" + std::to_string(serve_lock_class) + ", hashtext(current_schema()))";

std::string read_small(int fd) {
  char buf[64] = {};
  auto n = pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

struct instance_lock::state {
  int fd = -1;                               // SQLite: the lock file
  std::unique_ptr<pqxx::connection> session; // PostgreSQL: the session that holds the advisory lock
  ~state() {
    if (fd >= 0)
      ::close(fd); // releases the flock
    // The session's destructor closes it; the server drops its advisory locks with it.
  }
};

instance_lock::instance_lock(std::unique_ptr<state> s, std::string what) : state_(std::move(s)), what_(std::move(what)) {}

instance_lock::~instance_lock() = default;

result<std::unique_ptr<instance_lock>> instance_lock::acquire(const store_location& where,
                                                              std::chrono::milliseconds wait) {
  auto s = std::make_unique<state>();
  if (where.kind == store_location::sqlite_memory)
    return std::unique_ptr<instance_lock>(new instance_lock(std::move(s), "none (in-memory store)"));

  const auto deadline = std::chrono::steady_clock::now() + wait;
  if (where.kind == store_location::sqlite_file) {
    const std::string path = where.path + ".lock";
    s->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->fd < 0)
      return error{errc::database, "cannot open the lock file " + path + ": " + std::strerror(errno)};
    if (::flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK)
        return error{errc::database, "cannot lock " + path + ": " + std::strerror(errno)};
      auto holder = read_small(s->fd);
      return error{errc::busy, "another dutydesk serve uses this store" +
                                   (holder.empty() ? std::string{} : " (pid " + holder + ")") + "; its lock file is " +
                                   path + ". Run one dutydesk per store."};
    }
    auto pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(s->fd, 0) != 0 || ::pwrite(s->fd, pid.data(), pid.size(), 0) < 0) {
      // The lock holds without the pid in it; only the message of a second process is poorer.
    }
    return std::unique_ptr<instance_lock>(new instance_lock(std::move(s), "lock file " + path));
  }

  // PostgreSQL.
  for (;;) {
    std::optional<error> failure;
    try {
      if (!s->session)
        s->session = std::make_unique<pqxx::connection>(where.path);
      pqxx::nontransaction n{*s->session};
      auto r = n.exec(lock_sql);
      if (!r.empty() && r[0][0].as<bool>())
        return std::unique_ptr<instance_lock>(new instance_lock(
          std::move(s), "PostgreSQL advisory lock (" + std::to_string(serve_lock_class) + ", schema)"));
      failure = error{errc::busy, "another dutydesk serve uses this database (it holds the advisory lock of class " +
                                      std::to_string(serve_lock_class) +
                                      " on this schema; see pg_locks where locktype = 'advisory'). Run one dutydesk "
                                      "per database."};
    } catch (const pqxx::broken_connection&) {
      s->session.reset();
      failure = error{errc::unavailable, "the database cannot be reached to take the instance lock"};
    } catch (const std::exception&) {
      s->session.reset();
      // libpq's texts can quote the connection string's parts; say only what failed.
      failure = error{errc::database, "the instance lock query failed"};
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return *failure;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

} // namespace dutydesk::storage
