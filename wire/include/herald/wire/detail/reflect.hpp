#pragma once

// Compile-time reflection of plain aggregates for the built-in codecs: how
// many members an aggregate has, and a tuple of references to them. Included
// by the codecs; not for direct use.

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace herald::wire::detail {

// Converts to anything; used only in unevaluated brace-initialisation to
// count an aggregate's members.
struct any_member {
  template <class U>
  operator U&() const&&;
  template <class U>
  operator U&&() const&&;
};

template <class T, class Seq>
struct brace_initializable;
template <class T, std::size_t... I>
struct brace_initializable<T, std::index_sequence<I...>>
    : std::bool_constant<requires { T{((void)I, any_member{})...}; }> {};

inline constexpr std::size_t max_reflected_members = 12;

// The number of members of aggregate T: the most initialisers T{...} takes
// (up to max_reflected_members; a type with more is not reflected).
template <class T, std::size_t N = max_reflected_members + 1>
constexpr std::size_t member_count() {
  if constexpr (N == 0) {
    return 0;
  } else if constexpr (brace_initializable<T, std::make_index_sequence<N>>::value) {
    return N;
  } else {
    return member_count<T, N - 1>();
  }
}

template <class T>
concept reflectable_aggregate = std::is_aggregate_v<T> && !std::is_array_v<T> && std::is_class_v<T> &&
                                member_count<T>() >= 1 && member_count<T>() <= max_reflected_members;

// std::tie of T's members, in declaration order, through a structured
// binding. T must have no base class with members (a structured binding
// cannot see into both).
template <reflectable_aggregate T>
constexpr auto tie_members(T& t) noexcept {
  constexpr std::size_t n = member_count<T>();
  if constexpr (n == 1) {
    auto& [m0] = t;
    return std::tie(m0);
  } else if constexpr (n == 2) {
    auto& [m0, m1] = t;
    return std::tie(m0, m1);
  } else if constexpr (n == 3) {
    auto& [m0, m1, m2] = t;
    return std::tie(m0, m1, m2);
  } else if constexpr (n == 4) {
    auto& [m0, m1, m2, m3] = t;
    return std::tie(m0, m1, m2, m3);
  } else if constexpr (n == 5) {
    auto& [m0, m1, m2, m3, m4] = t;
    return std::tie(m0, m1, m2, m3, m4);
  } else if constexpr (n == 6) {
    auto& [m0, m1, m2, m3, m4, m5] = t;
    return std::tie(m0, m1, m2, m3, m4, m5);
  } else if constexpr (n == 7) {
    auto& [m0, m1, m2, m3, m4, m5, m6] = t;
    return std::tie(m0, m1, m2, m3, m4, m5, m6);
  } else if constexpr (n == 8) {
    auto& [m0, m1, m2, m3, m4, m5, m6, m7] = t;
    return std::tie(m0, m1, m2, m3, m4, m5, m6, m7);
  } else if constexpr (n == 9) {
    auto& [m0, m1, m2, m3, m4, m5, m6, m7, m8] = t;
    return std::tie(m0, m1, m2, m3, m4, m5, m6, m7, m8);
  } else if constexpr (n == 10) {
    auto& [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9] = t;
    return std::tie(m0, m1, m2, m3, m4, m5, m6, m7, m8, m9);
  } else if constexpr (n == 11) {
    auto& [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10] = t;
    return std::tie(m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10);
  } else if constexpr (n == 12) {
    auto& [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = t;
    return std::tie(m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11);
  }
}

}  // namespace herald::wire::detail
