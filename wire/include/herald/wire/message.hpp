#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace herald::wire {

// FNV-1a, 64 bits: the function from a wire name to its type id
// (PROTOCOL.md, "Type ids"). Stable across builds, compilers and hosts.
constexpr std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull) noexcept {
  for (char c : s) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// A type names itself on the wire with a member
//   static constexpr std::string_view wire_name = "bank.deposit";
template <class T>
concept has_wire_name = requires {
  { T::wire_name } -> std::convertible_to<std::string_view>;
};

namespace detail {

template <class T>
constexpr auto pretty_name() {
  return std::string_view(__PRETTY_FUNCTION__);
}

// The qualified name of T as the compiler spells it in __PRETTY_FUNCTION__:
// "... [with T = bank::deposit]" (g++) or "... [T = bank::deposit]" (clang).
template <class T>
constexpr std::string_view derived_name() {
  constexpr std::string_view full = pretty_name<T>();
  constexpr std::string_view key = "T = ";
  constexpr auto begin = full.find(key) + key.size();
  constexpr auto end = full.rfind(']');
  static_assert(full.find(key) != std::string_view::npos && end != std::string_view::npos && end > begin,
                "herald: cannot derive a wire name on this compiler; give the type a wire_name member");
  return full.substr(begin, end - begin);
}

}  // namespace detail

// The stable wire name of T: T::wire_name when present, else its qualified
// C++ name. g++ and clang spell some names differently (std::string is
// "std::__cxx11::basic_string<char>" on one and "std::basic_string<char>" on
// the other, templates vary): clusters built with more than one compiler
// should give every message an explicit wire_name.
template <class T>
constexpr std::string_view wire_name_of() noexcept {
  if constexpr (has_wire_name<T>) {
    return std::string_view(T::wire_name);
  } else {
    return detail::derived_name<T>();
  }
}

// The 64-bit type id of T, computed at compile time from its wire name.
// Never 0: 0 means "no type" in a frame header.
template <class T>
constexpr std::uint64_t type_id_of() noexcept {
  constexpr std::uint64_t id = fnv1a64(wire_name_of<std::remove_cvref_t<T>>());
  static_assert(id != 0, "herald: this wire name hashes to the reserved type id 0; rename it");
  return id;
}

}  // namespace herald::wire
