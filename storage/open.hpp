#pragma once
// Picks the storage backend from the configured URL.
//
//   sqlite:///abs/path/dutydesk.db   a SQLite file (created if missing; the directory must exist)
//   sqlite://:memory:                a private in-memory SQLite database (tests; gone when the store is destroyed)
//   sqlite::memory:                  the same
//   postgresql://... / postgres://   a PostgreSQL database (libpq URI; postgres_store.hpp)
//
// The path is taken verbatim (no percent-decoding); relative paths, a host part, a query or a fragment are
// errc::bad_url. Error messages never quote the URL, which may hold a password.

#include <memory>
#include <string>

#include "storage/result.hpp"
#include "storage/store.hpp"

namespace dutydesk::storage {

/// How to open a store, whatever the backend.
struct open_options {
  /// Apply pending migrations at open; false for `dutydesk migrate --check` (the store then only reports).
  bool apply_migrations = true;
};

/// Where a storage URL points.
struct store_location {
  enum kind_t { sqlite_file, sqlite_memory, postgresql } kind = sqlite_file;
  std::string path; // sqlite_file: absolute path; sqlite_memory: ":memory:"; postgresql: the URL
};

/// Parses a storage URL without opening anything.
result<store_location> parse_store_url(const std::string& url);

/// Opens the store `url` points to.
result<std::unique_ptr<store>> open_store(const std::string& url, const open_options& opts = {});

} // namespace dutydesk::storage
