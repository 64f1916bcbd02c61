#include "report/load.hpp"

#include <filesystem>
#include <system_error>

#include "storage/open.hpp"

namespace dutydesk::report {

storage::result<rows_of_period> load(storage::store& store, storage::millis since, storage::millis until) {
  auto requests = store.requests_between(since, until);
  if (!requests.ok())
    return requests.err();
  auto feedback = store.feedback_between(since, until);
  if (!feedback.ok())
    return feedback.err();
  return rows_of_period{std::move(*requests), std::move(*feedback)};
}

storage::result<rows_of_period> load(const std::string& url, storage::millis since, storage::millis until) {
  auto where = storage::parse_store_url(url);
  if (!where.ok())
    return where.err();
  // Opening a SQLite path creates the file; a report must not leave an empty database behind a typo.
  std::error_code ec;
  if (where->kind == storage::store_location::sqlite_file && !std::filesystem::exists(where->path, ec))
    return storage::error{storage::errc::not_found, "the database file does not exist"};
  auto store = storage::open_store(url, storage::open_options{false});
  if (!store.ok())
    return store.err();
  auto pending = (*store)->pending_migrations();
  if (!pending.ok())
    return pending.err();
  if (!pending->empty())
    return storage::error{storage::errc::schema_pending,
                          std::to_string(pending->size()) + " migration(s) pending; run `dutydesk migrate` first"};
  return load(**store, since, until);
}

} // namespace dutydesk::report
