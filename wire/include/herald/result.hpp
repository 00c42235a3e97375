#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "herald/error.hpp"

namespace herald {

// Thrown by result<T>::value() (and `*`, `->`) on a result that holds an
// error, in every build type, as std::expected's value() throws
// bad_expected_access. Carries the error; what() is its message.
class bad_result_access : public std::exception {
 public:
  explicit bad_result_access(herald::error e)
      : error_(std::move(e)), what_("herald::result::value() on an error: " + error_.message()) {}

  const herald::error& error() const noexcept { return error_; }
  errc code() const noexcept { return error_.code(); }
  const std::string& context() const noexcept { return error_.context(); }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  herald::error error_;
  std::string what_;
};

namespace detail {
[[noreturn]] inline void throw_error_on_value() {
  throw std::logic_error("herald::result::error() on a result that holds a value");
}
}  // namespace detail

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

  // The value; throws bad_result_access if this holds an error.
  T& value() & {
    check();
    return *std::get_if<0>(&state_);
  }
  const T& value() const& {
    check();
    return *std::get_if<0>(&state_);
  }
  T&& value() && {
    check();
    return std::move(*std::get_if<0>(&state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

  // The error; throws std::logic_error if this holds a value.
  const herald::error& error() const& {
    if (has_value()) detail::throw_error_on_value();
    return *std::get_if<1>(&state_);
  }
  herald::error&& error() && {
    if (has_value()) detail::throw_error_on_value();
    return std::move(*std::get_if<1>(&state_));
  }

 private:
  void check() const {
    if (!has_value()) throw bad_result_access(*std::get_if<1>(&state_));
  }

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
  // Throws bad_result_access if this holds an error.
  void value() const {
    if (!has_value()) throw bad_result_access(error_);
  }

  // The error; throws std::logic_error if this holds a value.
  const herald::error& error() const& {
    if (has_value()) detail::throw_error_on_value();
    return error_;
  }
  herald::error&& error() && {
    if (has_value()) detail::throw_error_on_value();
    return std::move(error_);
  }

 private:
  herald::error error_;
};

}  // namespace herald
