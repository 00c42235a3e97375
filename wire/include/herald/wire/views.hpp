#pragma once

#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "herald/wire/codec.hpp"

namespace herald::wire {

// A decoded type that views the bytes it was decoded from and can hold their
// owner (wire::bytes, wire::fb_message).
template <class T>
concept keeps_alive = requires(T& v, std::shared_ptr<const void> owner) { v.keep_alive(std::move(owner)); };

namespace detail {

template <class T>
constexpr bool views_input_of();

template <class Tuple>
struct any_member_views;
template <class... F>
struct any_member_views<std::tuple<F&...>> : std::bool_constant<(views_input_of<std::remove_const_t<F>>() || ...)> {};

template <class T>
constexpr bool views_input_of() {
  if constexpr (keeps_alive<T>) {
    return true;
  } else if constexpr (is_specialization_of<T, std::vector> || is_specialization_of<T, std::optional>) {
    return views_input_of<typename T::value_type>();
  } else if constexpr (byte_copyable<T> || !(has_fields_member<T> || reflectable_aggregate<T>)) {
    return false;
  } else {
    return any_member_views<decltype(members_of(std::declval<T&>()))>::value;
  }
}

}  // namespace detail

// True when a decoded T may view its input: T keeps_alive, or holds a value
// that does (as a member, a vector element or an optional's value).
template <class T>
inline constexpr bool views_input = detail::views_input_of<T>();

// Hands `owner`, what holds the bytes `v` was decoded from, to every view in
// `v`, so that `v` may outlive the decoder's input.
template <class T>
void keep_views_alive(T& v, const std::shared_ptr<const void>& owner) {
  if constexpr (!views_input<T>) {
    return;
  } else if constexpr (keeps_alive<T>) {
    v.keep_alive(owner);
  } else if constexpr (detail::is_specialization_of<T, std::vector>) {
    for (auto& e : v) keep_views_alive(e, owner);
  } else if constexpr (detail::is_specialization_of<T, std::optional>) {
    if (v) keep_views_alive(*v, owner);
  } else {
    std::apply([&owner](auto&... m) { (keep_views_alive(m, owner), ...); }, detail::members_of(v));
  }
}

}  // namespace herald::wire
