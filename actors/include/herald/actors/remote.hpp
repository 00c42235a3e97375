#pragma once

#include <cstdint>
#include <tuple>
#include <type_traits>

#include "herald/wire/codec.hpp"
#include "herald/wire/message.hpp"

namespace herald {

// The remote interface of an actor: the messages other nodes may send it.
//
//   class account : public herald::actor<account> {
//    public:
//     using messages = herald::messages<deposit, withdraw, balance>;
//     ...
//   };
//
// An actor that declares it can be reached from other nodes; every listed
// message, and the reply type of each listed ask, must have a wire codec, so a
// type that cannot cross the wire never reaches a remote ref (it fails to
// compile). Through an actor_ref, such an actor accepts exactly the listed
// messages, locally too: the list is its interface.
template <class... Ms>
struct messages {};

// True when T declares `using messages = herald::messages<...>`.
template <class T>
concept remote_actor = requires { typename T::messages; };

namespace detail {

template <class List, class M>
struct list_contains;
template <class... Ms, class M>
struct list_contains<messages<Ms...>, M> : std::bool_constant<(std::is_same_v<Ms, M> || ...)> {};

// True when actor T may be sent M through a ref: any handled M for a
// local-only actor, only the listed ones for a remote actor.
template <class T, class M>
constexpr bool in_interface() {
  if constexpr (remote_actor<T>) {
    return list_contains<typename T::messages, M>::value;
  } else {
    return true;
  }
}

// The wire identity of an actor type, checked by remote lookups.
template <class T>
constexpr std::uint64_t actor_type_id() noexcept {
  return wire::type_id_of<T>();
}

}  // namespace detail
}  // namespace herald
