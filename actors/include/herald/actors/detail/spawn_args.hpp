#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "herald/result.hpp"
#include "herald/wire/codec.hpp"

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

template <class... Args>
result<spawn_args<Args...>> decode_spawn_args(std::string_view bytes) {
  return wire::codec<spawn_args<Args...>>::decode(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

}  // namespace herald::detail
