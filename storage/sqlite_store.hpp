#pragma once
// The SQLite backend of `store`: one connection in WAL mode, prepared statements cached per connection, foreign keys
// on, every write inside an explicit transaction (BEGIN IMMEDIATE).

#include <memory>
#include <span>
#include <string>

#include "storage/migrations.hpp"
#include "storage/store.hpp"

namespace dutydesk::storage {

/// How to open a SQLite database.
struct sqlite_options {
  /// Apply pending migrations at open. When false, the store only answers schema_version(), pending_migrations()
  /// and check_integrity(); everything else returns errc::schema_pending while migrations are pending
  /// (`dutydesk migrate --check`).
  bool apply_migrations = true;
  /// synchronous=FULL (a commit survives power loss) instead of NORMAL (survives a process crash, may lose the last
  /// commits on power loss); see docs/storage.md.
  bool full_sync = true;
  /// How long a write waits for another connection's lock before failing with errc::busy.
  int busy_timeout_ms = 5000;
  /// The migrations to apply; tests substitute their own lists.
  std::span<const migration> migrations = sqlite_migrations();
};

/// Opens (creating if needed) the database at `path`, or a private in-memory one for ":memory:".
result<std::unique_ptr<store>> open_sqlite(const std::string& path, const sqlite_options& opts = {});

} // namespace dutydesk::storage
