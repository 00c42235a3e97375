#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "herald/result.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/views.hpp"

namespace herald::detail {

// The constructor arguments of a remote spawn as one wire value: the
// arguments in order, each through its codec, as the fields of a message.
// A value type.
template <class... Args>
struct spawn_args {
  std::tuple<Args...> values;
  auto fields() {
    return std::apply([](auto&... v) { return std::tie(v...); }, values);
  }
};

// The bytes of spawn_request::args for these arguments.
template <class... Args>
std::string encode_spawn_args(const Args&... args) {
  using codec = wire::codec<spawn_args<Args...>>;
  const spawn_args<Args...> v{std::tuple<Args...>(args...)};
  std::string out(codec::encoded_size(v), '\0');
  codec::encode(v, std::span<std::byte>(reinterpret_cast<std::byte*>(out.data()), out.size()));
  return out;
}

// An argument that views its input (a wire::bytes) keeps a copy of the bytes:
// the actor may keep the argument longer than the request lives.
template <class... Args>
result<spawn_args<Args...>> decode_spawn_args(std::string_view bytes) {
  using codec = wire::codec<spawn_args<Args...>>;
  if constexpr (wire::views_input<spawn_args<Args...>>) {
    auto owner = std::make_shared<const std::string>(bytes);
    auto v = codec::decode(std::span<const std::byte>(reinterpret_cast<const std::byte*>(owner->data()), owner->size()));
    if (v) wire::keep_views_alive(*v, owner);
    return v;
  } else {
    return codec::decode(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  }
}

}  // namespace herald::detail
