#pragma once
// The error values of storage/. No exception and no sqlite/libpq error type crosses the storage API: backends convert
// at the edge into a `storage::error` (a code plus a message that never quotes stored text or a password).

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace dutydesk::storage {

/// What went wrong in a storage call.
enum class errc : std::uint8_t {
  /// The database reported a failure that fits no other code (I/O error, disk full, bad SQL).
  database = 1,
  /// A unique, primary-key, foreign-key or check constraint rejected a write.
  constraint,
  /// The database stayed locked by another connection for longer than the busy timeout.
  busy,
  /// The row an update refers to does not exist.
  not_found,
  /// The call is not allowed now (e.g. a second transaction while one is open, a write after commit).
  invalid_state,
  /// The database schema is newer than this binary knows; upgrade dutydesk.
  schema_too_new,
  /// Migrations are pending; the store was opened without applying them.
  schema_pending,
  /// The storage URL is malformed or names an unknown backend.
  bad_url,
  /// The backend exists in the design but is not compiled into this binary yet.
  not_built,
  /// The database file is damaged (integrity check failed or SQLITE_CORRUPT/NOTADB).
  corrupt,
  /// The database server cannot be reached now (connection refused or lost, server shutting down); an open
  /// transaction is gone. Run the unit of work again once it is back.
  unavailable,
};

/// A readable name for `code`, e.g. "constraint".
inline const char* to_string(errc code) {
  switch (code) {
    case errc::database: return "database";
    case errc::constraint: return "constraint";
    case errc::busy: return "busy";
    case errc::not_found: return "not_found";
    case errc::invalid_state: return "invalid_state";
    case errc::schema_too_new: return "schema_too_new";
    case errc::schema_pending: return "schema_pending";
    case errc::bad_url: return "bad_url";
    case errc::not_built: return "not_built";
    case errc::corrupt: return "corrupt";
    case errc::unavailable: return "unavailable";
  }
  return "unknown";
}

/// A failed storage call: a code for the program and a message for the operator.
struct error {
  errc code = errc::database;
  std::string message;
};

/// Either a `T` or an `error`.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(error err) : state_(std::in_place_index<1>, std::move(err)) {}

  /// True when the call succeeded.
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// The value. @pre ok()
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The failure. @pre !ok()
  const error& err() const { return std::get<1>(state_); }

private:
  std::variant<T, error> state_;
};

/// Success without a value or an `error`.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(error err) : err_(std::move(err)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }

  /// The failure. @pre !ok()
  const error& err() const { return err_; }

private:
  error err_;
  bool failed_ = false;
};

} // namespace dutydesk::storage
