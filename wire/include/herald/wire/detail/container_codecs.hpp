#pragma once

// The built-in codecs of composite types: std::vector, std::optional and
// types with a fields() member, and reflected aggregates. Included by
// codec.hpp; not for direct use.

#include "herald/wire/codec.hpp"

namespace herald::wire {

// std::vector<E>: u32 element count, then the elements (one block of bytes
// when E is byte-copyable). The count is checked against the bytes left
// before anything is allocated.
template <class E, class A>
  requires has_codec<E>
struct codec<std::vector<E, A>> : detail::streaming_codec<std::vector<E, A>, codec<std::vector<E, A>>> {
  using vec = std::vector<E, A>;
  static constexpr std::size_t min_size = 4;
  static constexpr bool bulk = detail::byte_copyable<E> && !std::is_empty_v<E>;
  // Elements that encode to no bytes at all are bounded by count instead.
  static constexpr std::size_t max_empty_elements = 1u << 16;

  static std::size_t encoded_size(const vec& v) noexcept {
    if (v.size() > std::numeric_limits<std::uint32_t>::max()) return unencodable;
    if constexpr (bulk) {
      return detail::add_size(4, v.size() * sizeof(E));
    } else {
      std::size_t n = 4;
      for (const auto& e : v) n = detail::add_size(n, detail::nested_size<E>(e));
      return n;
    }
  }
  static void write(const vec& v, detail::writer& w) noexcept {
    w.put_u32(static_cast<std::uint32_t>(v.size()));
    if constexpr (bulk) {
      w.put(v.data(), v.size() * sizeof(E));
    } else {
      for (const auto& e : v) detail::nested_write<E>(e, w);
    }
  }
  static bool read(detail::reader& r, vec& out) {
    std::uint32_t n = 0;
    if (!r.take_u32(n)) return false;
    constexpr std::size_t min = detail::nested_min_size<E>();
    if constexpr (min == 0) {
      if (n > max_empty_elements) return r.fail(errc::limit_exceeded, "too many empty vector elements");
    } else {
      if (n > r.remaining() / min) return r.fail(errc::truncated, "a vector count exceeds the input");
    }
    out.clear();
    out.resize(n);
    if constexpr (bulk) {
      return r.take(out.data(), std::size_t{n} * sizeof(E));
    } else if constexpr (std::is_same_v<E, bool>) {
      for (std::uint32_t i = 0; i < n; ++i) {
        bool b = false;
        if (!detail::nested_read<bool>(r, b)) return false;
        out[i] = b;
      }
      return true;
    } else {
      for (auto& e : out)
        if (!detail::nested_read<E>(r, e)) return false;
      return true;
    }
  }
};

// std::optional<E>: one byte (0 empty, 1 present; anything else is
// decode_failed), then the value when present.
template <class E>
  requires has_codec<E>
struct codec<std::optional<E>> : detail::streaming_codec<std::optional<E>, codec<std::optional<E>>> {
  static constexpr std::size_t min_size = 1;
  static std::size_t encoded_size(const std::optional<E>& v) noexcept {
    return v ? detail::add_size(1, detail::nested_size<E>(*v)) : 1;
  }
  static void write(const std::optional<E>& v, detail::writer& w) noexcept {
    const std::uint8_t tag = v ? 1 : 0;
    w.put(&tag, 1);
    if (v) detail::nested_write<E>(*v, w);
  }
  static bool read(detail::reader& r, std::optional<E>& out) {
    std::uint8_t tag = 0;
    if (!r.take(&tag, 1)) return false;
    if (tag > 1) return r.fail(errc::decode_failed, "an optional's tag is neither 0 nor 1");
    if (tag == 0) {
      out.reset();
      return true;
    }
    return detail::nested_read<E>(r, out.emplace());
  }
};

// Types with `auto fields() { return std::tie(a, b, c); }`, and aggregates
// without it: the listed (or all) members in order, each by its own codec, with
// nothing between them. fields() must be callable on a non-const object
// (decode assigns through it); encode only reads.
template <class T>
  requires(!detail::byte_copyable<T> && (detail::fields_codable<T> || detail::reflected_codable<T>))
struct codec<T> : detail::streaming_codec<T, codec<T>> {
  using tuple = decltype(detail::members_of(std::declval<T&>()));

  template <std::size_t... I>
  static constexpr std::size_t min_of(std::index_sequence<I...>) {
    return (std::size_t{0} + ... +
            detail::nested_min_size<std::remove_cvref_t<std::tuple_element_t<I, tuple>>>());
  }
  static constexpr std::size_t min_size = min_of(std::make_index_sequence<std::tuple_size_v<tuple>>{});

  static std::size_t encoded_size(const T& v) noexcept {
    return std::apply(
        [](auto&... f) {
          std::size_t n = 0;
          ((n = detail::add_size(n, detail::nested_size(f))), ...);
          return n;
        },
        detail::members_of(const_cast<T&>(v)));
  }
  static void write(const T& v, detail::writer& w) noexcept {
    std::apply([&w](auto&... f) { (detail::nested_write(f, w), ...); }, detail::members_of(const_cast<T&>(v)));
  }
  static bool read(detail::reader& r, T& out) {
    return std::apply([&r](auto&... f) { return (detail::nested_read(r, f) && ...); }, detail::members_of(out));
  }
};

}  // namespace herald::wire
