#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "herald/result.hpp"
#include "herald/wire/detail/reflect.hpp"
#include "herald/wire/message.hpp"

namespace herald::wire {

static_assert(std::endian::native == std::endian::little,
              "herald's byte codecs copy host integers: herald needs a little-endian host");

// How a message type becomes bytes and back (PROTOCOL.md, "Codecs"). A codec
// is a class with three static functions:
//
//   static std::size_t encoded_size(const T&);
//   static void encode(const T&, std::span<std::byte> out);  // out.size() == encoded_size
//   static result<T> decode(std::span<const std::byte> in);  // never trusts a length
//
// The two-phase encode lets a sender write straight into a slot it claimed in
// a ring buffer. Built-in codecs cover trivially copyable types, bool,
// std::string, std::vector and std::optional of codec types, aggregates of
// codec types (up to 12 members, no base classes), and types with a
// `auto fields() { return std::tie(a, b, c); }` member. Anything else:
// specialize herald::wire::codec<T>. A codec may also provide `min_size`,
// `write(const T&, detail::writer&)` and `bool read(detail::reader&, T&)` to
// nest inside containers without a length prefix (the built-ins do).
template <class T>
struct codec {};

template <class T>
concept has_codec = requires(const T& v, std::span<std::byte> out, std::span<const std::byte> in) {
  { codec<T>::encoded_size(v) } -> std::same_as<std::size_t>;
  codec<T>::encode(v, out);
  { codec<T>::decode(in) } -> std::same_as<result<T>>;
};

// encoded_size of a value the wire cannot carry (a length beyond 32 bits). It
// is larger than any max_frame_size, so a sender refuses it as frame_too_large.
inline constexpr std::size_t unencodable = std::numeric_limits<std::size_t>::max();

// Fails to compile, with advice, when M cannot cross the wire. Layers that
// send to remote refs call it in the send path.
template <class M>
constexpr bool require_codec() {
  static_assert(has_codec<M>,
                "herald: this message type cannot cross the wire. Make it trivially copyable or an "
                "aggregate of types with codecs, give it a member "
                "`auto fields() { return std::tie(a, b); }` listing members that have codecs, "
                "wrap a FlatBuffers table in herald::wire::fb_message<Table>, or specialize "
                "herald::wire::codec<M>.");
  return true;
}

namespace detail {

// A cursor over an output span sized by encoded_size: never checks bounds.
class writer {
 public:
  explicit writer(std::span<std::byte> out) noexcept : p_(out.data()) {}
  void put(const void* src, std::size_t n) noexcept {
    if (n != 0) std::memcpy(p_, src, n);
    p_ += n;
  }
  void put_u32(std::uint32_t v) noexcept { put(&v, sizeof v); }
  std::byte* pos() noexcept { return p_; }
  void skip(std::size_t n) noexcept { p_ += n; }

 private:
  std::byte* p_;
};

// A bounds-checked cursor over untrusted input. The first failure sticks and
// says why; every later read fails.
class reader {
 public:
  explicit reader(std::span<const std::byte> in) noexcept : p_(in.data()), end_(in.data() + in.size()) {}
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  bool take(void* dst, std::size_t n) noexcept {
    if (n > remaining()) return fail(errc::truncated, "input ends inside a value");
    if (n != 0) std::memcpy(dst, p_, n);
    p_ += n;
    return true;
  }
  bool take_u32(std::uint32_t& v) noexcept { return take(&v, sizeof v); }
  // The next n bytes, in place.
  const std::byte* take_span(std::size_t n) noexcept {
    if (n > remaining()) return (fail(errc::truncated, "a length exceeds the input"), nullptr);
    const std::byte* p = p_;
    p_ += n;
    return p;
  }
  bool fail(errc code, const char* why) noexcept {
    if (code_ == errc::ok) {
      code_ = code;
      why_ = why;
    }
    return false;
  }
  errc code() const noexcept { return code_; }
  const char* why() const noexcept { return why_; }

 private:
  const std::byte* p_;
  const std::byte* end_;
  errc code_ = errc::ok;
  const char* why_ = "";
};

constexpr std::size_t add_size(std::size_t a, std::size_t b) noexcept {
  return a > unencodable - b ? unencodable : a + b;
}

template <class T>
concept streaming = requires(const T& v, writer& w, reader& r, T& out) {
  { codec<T>::min_size } -> std::convertible_to<std::size_t>;
  codec<T>::write(v, w);
  { codec<T>::read(r, out) } -> std::same_as<bool>;
};

// Nesting: streaming codecs write in place; other codecs get a u32 length.
template <class T>
constexpr std::size_t nested_min_size() {
  if constexpr (streaming<T>) return codec<T>::min_size;
  else return 4;
}

template <class T>
std::size_t nested_size(const T& v) {
  if constexpr (streaming<T>) {
    return codec<T>::encoded_size(v);
  } else {
    const std::size_t n = codec<T>::encoded_size(v);
    return n > std::numeric_limits<std::uint32_t>::max() ? unencodable : n + 4;
  }
}

template <class T>
void nested_write(const T& v, writer& w) {
  if constexpr (streaming<T>) {
    codec<T>::write(v, w);
  } else {
    const std::size_t n = codec<T>::encoded_size(v);
    w.put_u32(static_cast<std::uint32_t>(n));
    codec<T>::encode(v, std::span<std::byte>(w.pos(), n));
    w.skip(n);
  }
}

template <class T>
bool nested_read(reader& r, T& out) {
  if constexpr (streaming<T>) {
    return codec<T>::read(r, out);
  } else {
    std::uint32_t n = 0;
    if (!r.take_u32(n)) return false;
    const std::byte* p = r.take_span(n);
    if (p == nullptr) return false;
    auto v = codec<T>::decode(std::span<const std::byte>(p, n));
    if (!v) return r.fail(v.error().code(), "a nested value failed to decode");
    out = std::move(*v);
    return true;
  }
}

// The public half of a streaming codec, shared by the built-ins.
template <class T, class Codec>
struct streaming_codec {
  static void encode(const T& v, std::span<std::byte> out) noexcept {
    writer w(out);
    Codec::write(v, w);
  }
  static result<T> decode(std::span<const std::byte> in) {
    T out{};
    reader r(in);
    if (!Codec::read(r, out)) return herald::error(r.code(), context(r.why()));
    if (r.remaining() != 0) return herald::error(errc::decode_failed, context("bytes left over after the value"));
    return out;
  }

 private:
  static std::string context(const char* why) {
    std::string s(why);
    s += " (decoding ";
    s += wire_name_of<T>();
    s += ')';
    return s;
  }
};

template <class T, template <class...> class Tmpl>
inline constexpr bool is_specialization_of = false;
template <template <class...> class Tmpl, class... A>
inline constexpr bool is_specialization_of<Tmpl<A...>, Tmpl> = true;

template <class T>
inline constexpr bool is_span = false;
template <class E, std::size_t N>
inline constexpr bool is_span<std::span<E, N>> = true;

template <class T>
concept has_fields_member = requires(T& t) { t.fields(); };

// Types that are trivially copyable yet hold pointers or have checked
// representations: never copied as bytes.
template <class T>
inline constexpr bool never_bytes =
    std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_same_v<T, bool> ||
    is_specialization_of<T, std::optional> || is_specialization_of<T, std::basic_string_view> ||
    is_span<T>;

template <class T>
concept byte_copyable = std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T> &&
                        !std::is_array_v<T> && !never_bytes<T> && !has_fields_member<T>;

template <class Tuple>
struct fields_have_codecs;
template <class... F>
struct fields_have_codecs<std::tuple<F&...>>
    : std::bool_constant<(has_codec<std::remove_const_t<F>> && ...) && !(std::is_const_v<F> || ...)> {};

template <class T>
concept fields_codable = has_fields_member<T> && std::is_default_constructible_v<T> &&
                         fields_have_codecs<decltype(std::declval<T&>().fields())>::value;

// An aggregate without fields() whose members all have codecs, encoded as if
// fields() listed every member.
template <class T>
concept reflected_codable = !has_fields_member<T> && !byte_copyable<T> && reflectable_aggregate<T> &&
                            std::is_default_constructible_v<T> &&
                            fields_have_codecs<decltype(tie_members(std::declval<T&>()))>::value;

// The members a composite codec encodes: fields(), else all of them.
template <class T>
auto members_of(T& t) {
  if constexpr (has_fields_member<T>) {
    return t.fields();
  } else {
    return tie_members(t);
  }
}

}  // namespace detail

// Trivially copyable types: their bytes, as the host lays them out (empty
// types: no bytes). Every bit pattern is accepted on decode, so such a type
// should not hold bool or enum members whose values must be checked (give
// it fields() instead), nor pointers.
template <class T>
  requires detail::byte_copyable<T>
struct codec<T> : detail::streaming_codec<T, codec<T>> {
  static constexpr std::size_t min_size = std::is_empty_v<T> ? 0 : sizeof(T);
  static std::size_t encoded_size(const T&) noexcept { return min_size; }
  static void write(const T& v, detail::writer& w) noexcept { w.put(&v, min_size); }
  static bool read(detail::reader& r, T& out) noexcept { return r.take(&out, min_size); }
};

// bool: one byte, 0 or 1; anything else is decode_failed.
template <>
struct codec<bool> : detail::streaming_codec<bool, codec<bool>> {
  static constexpr std::size_t min_size = 1;
  static std::size_t encoded_size(bool) noexcept { return 1; }
  static void write(bool v, detail::writer& w) noexcept {
    const std::uint8_t b = v ? 1 : 0;
    w.put(&b, 1);
  }
  static bool read(detail::reader& r, bool& out) noexcept {
    std::uint8_t b = 0;
    if (!r.take(&b, 1)) return false;
    if (b > 1) return r.fail(errc::decode_failed, "a bool is neither 0 nor 1");
    out = b == 1;
    return true;
  }
};

// std::string: u32 byte count, then the bytes.
template <>
struct codec<std::string> : detail::streaming_codec<std::string, codec<std::string>> {
  static constexpr std::size_t min_size = 4;
  static std::size_t encoded_size(const std::string& s) noexcept {
    return s.size() > std::numeric_limits<std::uint32_t>::max() ? unencodable : 4 + s.size();
  }
  static void write(const std::string& s, detail::writer& w) noexcept {
    w.put_u32(static_cast<std::uint32_t>(s.size()));
    w.put(s.data(), s.size());
  }
  static bool read(detail::reader& r, std::string& out) {
    std::uint32_t n = 0;
    if (!r.take_u32(n)) return false;
    const std::byte* p = r.take_span(n);
    if (p == nullptr) return false;
    out.assign(reinterpret_cast<const char*>(p), n);
    return true;
  }
};

}  // namespace herald::wire

#include "herald/wire/detail/container_codecs.hpp"
