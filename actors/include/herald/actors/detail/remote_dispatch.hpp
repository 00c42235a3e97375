#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>

#include "herald/actors/detail/dispatch.hpp"
#include "herald/actors/detail/remote_call.hpp"
#include "herald/actors/remote.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/message.hpp"

namespace herald::detail {

// Counts a frame whose payload did not decode (defined in remote.cpp).
void count_decode_failure(cell_base& cell, const error& e) noexcept;

template <class R>
constexpr bool reply_has_codec() {
  if constexpr (std::is_void_v<R>) {
    return true;
  } else {
    return wire::has_codec<R>;
  }
}

// A remote call whose handler is a coroutine: the frame and the message
// decoded from it, together in storage that the coroutine frame owns. A
// decoded message may view the frame's bytes (wire::fb_message does), and
// the envelope the frame came in is gone after the handler's first
// suspension.
template <class M>
struct held_remote_call {
  runtime::inbound_frame frame;
  std::optional<M> message;
};

// Handles one remote tell or ask of message M for actor T, on T's worker.
template <class T, class M>
void remote_invoke(cell_base& c, remote_call& call) {
  T& self = *static_cast<T*>(c.state());
  using H = handler_return_t<T, M>;
  using R = reply_t<T, M>;
  const bool is_ask = call.is_ask();
  const std::uint64_t rid = call.request_id();
  if constexpr (is_task<H>::value) {
    // The frame moves out of the envelope (its header stays behind, so the
    // envelope can still fail the ask if the handler throws), then decodes
    // where it now lives.
    auto* held = new held_remote_call<M>{std::move(call.frame), std::nullopt};
    auto owner = std::unique_ptr<void, void (*)(void*)>(held, [](void* p) { delete static_cast<held_remote_call<M>*>(p); });
    auto decoded = wire::codec<M>::decode(held->frame.bytes());
    if (!decoded) {
      count_decode_failure(c, decoded.error());
      if (is_ask) send_error_reply(*call.from, rid, decoded.error());
      return;
    }
    held->message.emplace(std::move(*decoded));
    const M& m = *held->message;
    if (!is_ask) {
      run_task(c, self, std::move(owner), m, ask_state_ptr<R>{});
      return;
    }
    // The handler may suspend: its reply goes out whenever it finishes.
    auto state = ask_state_ptr<R>::adopt(new ask_state<R>());
    auto* raw = state.get();
    raw->on_ready([raw, conn = call.from->shared_from_this(), rid, cell = ref_ptr<cell_base>(&c)] {
      send_reply<R>(*cell, *conn, rid, raw->take());
    });
    run_task(c, self, std::move(owner), m, std::move(state));
  } else {
    auto decoded = wire::codec<M>::decode(call.frame.bytes());
    if (!decoded) {
      count_decode_failure(c, decoded.error());
      if (is_ask) send_error_reply(*call.from, rid, decoded.error());
      return;
    }
    const M& m = *decoded;
    if (!is_ask) {
      if constexpr (std::is_void_v<H>) {
        self.on(m);
      } else {
        (void)self.on(m);
      }
      return;
    }
    if constexpr (std::is_void_v<H>) {
      self.on(m);
      send_reply<void>(c, *call.from, rid, result<void>{});
    } else {
      send_reply<R>(c, *call.from, rid, result<R>(self.on(m)));
    }
  }
}

struct dispatch_entry {
  std::uint64_t type_id;
  remote_handler handler;
};

template <class T, class List>
struct dispatch_table;

template <class T, class... Ms>
struct dispatch_table<T, messages<Ms...>> {
  static_assert((handles<T, Ms> && ...), "herald: every type in T::messages needs a handler `on(const M&)` in T");
  static_assert((wire::has_codec<Ms> && ...),
                "herald: every type in T::messages must cross the wire: give it a codec (see wire/codec.hpp)");
  static_assert((reply_has_codec<reply_t<T, Ms>>() && ...),
                "herald: the reply type of every handler in T::messages must have a wire codec");

  static constexpr std::array<dispatch_entry, sizeof...(Ms)> entries = [] {
    std::array<dispatch_entry, sizeof...(Ms)> a{dispatch_entry{wire::type_id_of<Ms>(), &remote_invoke<T, Ms>}...};
    std::sort(a.begin(), a.end(), [](const dispatch_entry& x, const dispatch_entry& y) { return x.type_id < y.type_id; });
    for (std::size_t i = 1; i < a.size(); ++i) {
      if (a[i].type_id == a[i - 1].type_id) throw "herald: two types in T::messages have the same wire type id";
    }
    return a;
  }();

  static remote_handler find(std::uint64_t type_id) noexcept {
    auto it = std::lower_bound(entries.begin(), entries.end(), type_id,
                               [](const dispatch_entry& e, std::uint64_t id) { return e.type_id < id; });
    return it != entries.end() && it->type_id == type_id ? it->handler : nullptr;
  }
};

// The message type ids an actor type accepts from the network, with their
// names, for the schema hash.
template <class T, class List>
struct interface_types;
template <class T, class... Ms>
struct interface_types<T, messages<Ms...>> {
  template <class F>
  static void each(F&& f) {
    (f.template operator()<Ms>(), ...);
    (each_reply<reply_t<T, Ms>>(f), ...);
  }
  template <class R, class F>
  static void each_reply(F& f) {
    if constexpr (!std::is_void_v<R>) f.template operator()<R>();
  }
};

}  // namespace herald::detail
