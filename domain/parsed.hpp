#pragma once
// A value or the reason it could not be parsed, for the small text parsers in domain/. Reasons never quote the input:
// callers show them next to values that may be secrets (an env-expanded URL, a URL with a password).

#include <string>
#include <utility>
#include <variant>

namespace dutydesk::domain {

/// Why a text could not be parsed; a short phrase such as "missing unit".
struct parse_error {
  std::string reason;
};

/// Either a parsed `T` or a `parse_error`.
template <class T>
class parsed {
public:
  parsed(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  parsed(parse_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  /// True when parsing succeeded.
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// The value. @pre ok()
  const T& value() const { return std::get<0>(state_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }

  /// The reason parsing failed. @pre !ok()
  const std::string& error() const { return std::get<1>(state_).reason; }

private:
  std::variant<T, parse_error> state_;
};

} // namespace dutydesk::domain
