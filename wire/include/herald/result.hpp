#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "herald/error.hpp"

namespace herald {

// Either a T or an error. Errors are values in herald: no exception crosses an
// actor or a network boundary. A value type: distinct objects are safe to use
// from different threads.
template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  template <class U = T>
    requires std::is_constructible_v<T, U&&> && (!std::is_same_v<std::remove_cvref_t<U>, result>) &&
             (!std::is_same_v<std::remove_cvref_t<U>, herald::error>)
  result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  result(herald::error e) : state_(std::in_place_index<1>, std::move(e)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Precondition: has_value().
  T& value() & { assert(has_value()); return *std::get_if<0>(&state_); }
  const T& value() const& { assert(has_value()); return *std::get_if<0>(&state_); }
  T&& value() && { assert(has_value()); return std::move(*std::get_if<0>(&state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

  // Precondition: !has_value().
  const herald::error& error() const& { assert(!has_value()); return *std::get_if<1>(&state_); }
  herald::error&& error() && { assert(!has_value()); return std::move(*std::get_if<1>(&state_)); }

 private:
  std::variant<T, herald::error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;

  result() = default;
  result(herald::error e) : error_(std::move(e)) {}

  bool has_value() const noexcept { return error_.code() == errc::ok; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const { assert(has_value()); }

  const herald::error& error() const& { assert(!has_value()); return error_; }
  herald::error&& error() && { assert(!has_value()); return std::move(error_); }

 private:
  herald::error error_;
};

}  // namespace herald
