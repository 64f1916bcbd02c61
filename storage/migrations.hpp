#pragma once
// Versioned schema migrations (SQLite here; postgres_store.hpp translates the same list for PostgreSQL). Rules
// (docs/storage.md): migrations are numbered 1, 2, 3, ...
// with no gaps, are append-only (a released migration is never edited; fix forward with a new one), and all pending
// ones are applied in one transaction at open, each recorded in `schema_migrations`. A database whose newest version
// is above the binary's newest is refused (errc::schema_too_new) rather than touched.

#include <span>
#include <string_view>
#include <vector>

#include "storage/records.hpp"
#include "storage/result.hpp"

struct sqlite3;

namespace dutydesk::storage {

/// One schema step: its number, a short name and the SQL that performs it (may hold several statements).
struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// The applied version of a database whose schema_migrations holds `count` rows up to version `max`, checked against
/// `list`: errc::invalid_state when `list` is not numbered 1, 2, 3, ...; errc::schema_too_new when the database is
/// ahead of it; errc::corrupt when the rows have gaps (someone edited the table by hand). Both backends use it.
result<int> checked_schema_version(int max, int count, std::span<const migration> list);

/// The SQLite migrations this binary knows, in order.
std::span<const migration> sqlite_migrations();

/// The newest applied version in `db` (0 when `schema_migrations` does not exist yet).
result<int> sqlite_schema_version(sqlite3* db);

/// The migrations of `list` that `db` has not applied, in order, without applying them; errc::schema_too_new when the
/// database is ahead of `list`.
result<std::vector<migration_info>> sqlite_pending_migrations(sqlite3* db, std::span<const migration> list);

/// Applies the pending migrations of `list` in one transaction and returns the resulting version; nothing is applied
/// when any of them fails. errc::schema_too_new when the database is ahead of `list`; errc::invalid_state when `list`
/// is not numbered 1, 2, 3, ...
result<int> sqlite_apply_migrations(sqlite3* db, std::span<const migration> list);

} // namespace dutydesk::storage
