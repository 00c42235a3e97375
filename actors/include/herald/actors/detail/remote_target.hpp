#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "herald/actors/ask_future.hpp"
#include "herald/actors/messages.hpp"
#include "herald/runtime/connection.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/control.hpp"
#include "herald/wire/message.hpp"
#include "herald/wire/views.hpp"

namespace herald::detail {

class network;

// The actor system a network belongs to (system_core.cpp): where a remote
// ask's continuation runs.
system_core& core_of(network& net) noexcept;

// A version for every connection a peer_slot publishes, process-wide and
// increasing, so that a thread's cached (slot, version) pair never matches a
// later connection, nor a new slot at the address of a freed one
// (network.cpp).
std::uint64_t next_link_version() noexcept;

// What this node knows about one peer node: its current connection (null
// while there is none). Owned by the network layer and shared with every ref
// to an actor there. Safe for concurrent use.
//
// Senders reach the connection through a small per-thread cache keyed by
// (slot, version): a hit is two plain loads and is_open(), where reading
// the current connection takes the slot's mutex and two reference-count
// updates on a shared cache line. A cache entry keeps its connection alive until the thread
// sends to another peer that maps to the same entry, finds it closed, or
// exits (a closed connection holds no io objects: it may outlive its node).
//
// Invariants:
//  1. version changes after every change of conn (publish(), retire()),
//     so a thread whose entry holds the current version holds a connection
//     that was current when that version was published.
//  2. A cached connection is used only while is_open(): a closed one sends
//     nothing, and the slow path then reads the current connection itself.
struct peer_slot {
  explicit peer_slot(std::uint64_t id) : node_id(id) {}
  const std::uint64_t node_id;
  std::atomic<std::uint64_t> version{next_link_version()};
  network* net = nullptr;
  // Under network's mutex: the generation (runtime::peer_info) of the newest
  // link announced for this node, up or down. An older on_peer_up is stale.
  std::uint64_t generation = 0;

  // The current connection, or null. Any thread; the slow path (senders
  // use live_cached()).
  std::shared_ptr<runtime::connection> current() const {
    std::lock_guard lock(conn_mutex_);
    return conn_;
  }
  // Makes c the current connection.
  void publish(std::shared_ptr<runtime::connection> c) {
    {
      std::lock_guard lock(conn_mutex_);
      conn_ = std::move(c);
    }
    version.store(next_link_version(), std::memory_order_release);
  }
  // Clears the connection if it still is `cur` and returns true; else sets
  // `cur` to the current one and returns false.
  bool retire(std::shared_ptr<runtime::connection>& cur) {
    {
      std::lock_guard lock(conn_mutex_);
      if (conn_ != cur) {
        cur = conn_;
        return false;
      }
      conn_.reset();
    }
    version.store(next_link_version(), std::memory_order_release);
    return true;
  }

  result<std::shared_ptr<runtime::connection>> live() const {
    auto c = current();
    if (!c || !c->is_open()) return down_error();
    return c;
  }

  // The current open connection through this thread's cache, or null. The
  // pointer stays valid until this thread's next call (the cache holds it).
  runtime::connection* live_cached() const {
    cache_entry& e = cache_of_thread()[(reinterpret_cast<std::uintptr_t>(this) >> 6) % cache_entries];
    if (e.slot == this && e.version == version.load(std::memory_order_acquire) && e.conn && e.conn->is_open())
      return e.conn.get();
    return refresh(e);
  }

  herald::error down_error() const { return error(errc::node_down, "no connection to node " + std::to_string(node_id)); }

 private:
  // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's load() ends its
  // internal lock with a relaxed store, so a later store is not ordered after
  // the load (ThreadSanitizer reports it), and the lock is off the fast path.
  mutable std::mutex conn_mutex_;
  std::shared_ptr<runtime::connection> conn_;

  static constexpr std::size_t cache_entries = 4;
  struct cache_entry {
    const peer_slot* slot = nullptr;
    std::uint64_t version = 0;
    std::shared_ptr<runtime::connection> conn;
  };
  static cache_entry* cache_of_thread() noexcept {
    thread_local cache_entry entries[cache_entries];
    return entries;
  }
  runtime::connection* refresh(cache_entry& e) const {
    // The version first: a connection published in between comes with a
    // newer version, and the next call refreshes again (invariant 1).
    const std::uint64_t v = version.load(std::memory_order_acquire);
    auto c = current();
    if (!c || !c->is_open()) {
      e = cache_entry{};
      return nullptr;
    }
    e.slot = this;
    e.version = v;
    e.conn = std::move(c);
    return e.conn.get();
  }
};

// The remote half of an actor_ref: which node, which actor. Immutable.
struct remote_target {
  std::shared_ptr<peer_slot> peer;
  actor_id id = 0;
};

template <class M>
result<void> remote_tell(const remote_target& t, const M& m) {
  runtime::connection* conn = t.peer->live_cached();
  if (!conn) return t.peer->down_error();
  wire::frame_header h;
  h.kind = wire::frame_kind::tell;
  h.target = t.id;
  h.type_id = wire::type_id_of<M>();
  return conn->send(h, wire::codec<M>::encoded_size(m),
                       [&](std::span<std::byte> out) { wire::codec<M>::encode(m, out); });
}

// Turns what came back for a remote ask into its result. A value that views
// the reply frame (wire::views_input: a wire::bytes or wire::fb_message, or
// a struct, vector or optional holding one) owns it from here on.
template <class R>
result<R> decode_reply(result<runtime::inbound_frame> f) {
  if (!f) return std::move(f).error();
  const auto& h = f->header;
  if (h.kind == wire::frame_kind::error_reply) {
    auto e = wire::decode_error_reply(f->bytes());
    if (!e) return std::move(e).error();
    return e->to_error();
  }
  if (h.kind != wire::frame_kind::reply) return error(errc::unknown_frame_kind, "an ask was answered by a frame that is not a reply");
  if constexpr (std::is_void_v<R>) {
    return result<void>{};
  } else {
    if (h.type_id != wire::type_id_of<R>()) {
      return error(errc::type_mismatch, "reply of type id " + std::to_string(h.type_id) + ", expected " +
                                            std::string(wire::wire_name_of<R>()));
    }
    if constexpr (wire::views_input<R>) {
      // The value views the frame: the frame goes with it.
      auto frame = std::make_shared<const runtime::inbound_frame>(std::move(*f));
      auto v = wire::codec<R>::decode(frame->bytes());
      if (v) wire::keep_views_alive(*v, frame);
      return v;
    } else {
      return wire::codec<R>::decode(f->bytes());
    }
  }
}

template <class R, class M>
ask_future<R> remote_ask(const remote_target& t, const M& m, runtime::connection::clock::time_point deadline) {
  runtime::connection* conn = t.peer->live_cached();
  if (!conn) return ask_future<R>::ready(t.peer->down_error());
  auto state = ask_state_ptr<R>::adopt(new ask_state<R>());
  ask_future<R> f(state);
  wire::frame_header h;
  h.kind = wire::frame_kind::ask;
  h.target = t.id;
  h.type_id = wire::type_id_of<M>();
  auto sent = conn->request(
      h, wire::codec<M>::encoded_size(m), [&](std::span<std::byte> out) { wire::codec<M>::encode(m, out); },
      deadline, [state, net = t.peer->net](result<runtime::inbound_frame> reply) mutable {
        // On an io thread (a reply, the deadline sweep, a lost link): a get()
        // waiting for it wakes here, a continuation runs on a worker.
        (void)state->complete_posting(decode_reply<R>(std::move(reply)), core_of(*net));
      });
  if (!sent) return ask_future<R>::ready(std::move(sent).error());
  return f;
}

}  // namespace herald::detail
