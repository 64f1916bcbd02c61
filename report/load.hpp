#pragma once
// Reads the rows a report needs from a store: the requests created or resolved in the period and the surveys sent in
// it. Read-only: the store is opened without applying migrations, and a schema behind the binary is an error.

#include <string>
#include <vector>

#include "storage/records.hpp"
#include "storage/result.hpp"
#include "storage/store.hpp"

namespace dutydesk::report {

/// The stored rows of one period.
struct rows_of_period {
  std::vector<storage::request_record> requests;
  std::vector<storage::feedback_record> feedback;
};

/// Reads the rows of [since, until) from `store` (requests_between and feedback_between).
storage::result<rows_of_period> load(storage::store& store, storage::millis since, storage::millis until);

/// Opens the store at `url` without migrating it and reads the rows of [since, until). errc::not_found when a
/// SQLite file does not exist (nothing is created), errc::schema_pending when migrations are pending. Messages never
/// quote the URL.
storage::result<rows_of_period> load(const std::string& url, storage::millis since, storage::millis until);

} // namespace dutydesk::report
