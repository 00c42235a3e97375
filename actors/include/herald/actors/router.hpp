#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "herald/actors/actor_ref.hpp"
#include "herald/actors/actor_system.hpp"

namespace herald {

// How a router picks the member that gets a message.
enum class routing : std::uint8_t {
  round_robin,       // each member in turn
  random,            // a member chosen at random
  consistent_hash,   // by the message's routing_key(): one key, one member while the group holds
  broadcast,         // every member (tells only)
  smallest_mailbox,  // the local member with the fewest queued messages (remote ones only when none is local)
};

// A message a consistent-hash router can route: `routing_key()` returns
// anything std::hash takes (a string, an integer).
template <class M>
concept keyed_message = requires(const M& m) { std::hash<std::decay_t<decltype(m.routing_key())>>{}(m.routing_key()); };

namespace detail {

// Where a member sits on the consistent-hash ring: 64 points each, so a
// member that leaves hands its keys to many others, not to one.
inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace detail

// A ref-like handle that forwards to a group of actors of type T, local or
// remote: a fixed list (router<T>::of) or every actor registered in the
// cluster under a name prefix (router<T>::group), following the registry as
// such actors come and go. tell() and ask() behave like a tell or an ask to
// the one member the routing picks; a broadcast router tells every member.
// A member known to be gone (a stopped local actor, a node without a link)
// is skipped; a remote tell refused with errc::node_down is retried on the
// next member. With no member left, sends fail with errc::not_found.
//
// Copies share one group. Safe for concurrent use; a send takes the group's
// mutex for an instant to pick its member (the send itself runs outside it).
// Like a ref, a router must not be used after its actor_system is destroyed
// (nor outlive it, for a group).
template <class T>
class router {
 public:
  router() = default;

  // A router over a fixed list of refs.
  static router of(std::vector<actor_ref<T>> members, routing how) {
    router r;
    r.st_ = std::make_shared<state>(how);
    for (auto& m : members) r.st_->add({}, std::move(m));
    return r;
  }

  // A router over every actor of type T registered under a name starting
  // with `prefix` anywhere in the cluster (names of other types are
  // ignored, and so are topic subscriptions, which name actors that have a
  // name of their own), now and as names are added and removed. Needs start_node();
  // the router stops following when its last copy goes.
  static result<router> group(actor_system& sys, std::string prefix, routing how) {
    router r;
    r.st_ = std::make_shared<state>(how);
    std::weak_ptr<state> weak = r.st_;
    auto id = sys.watch_names([weak, prefix, &sys](const actor_system::name_event& e) {
      if (!actor_system::name_matches_prefix(e.name, prefix)) return;
      auto st = weak.lock();
      if (!st) return;
      if (e.kind == registry::registry_event_kind::removed) {
        st->remove(e.name);
      } else if (auto ref = sys.lookup<T>(e.name)) {
        st->add(e.name, std::move(*ref));
      } else {
        st->remove(e.name);  // moved to an actor of another type
      }
    });
    if (!id) return std::move(id).error();
    r.st_->unwatch = [&sys, id = *id] { sys.unwatch(id); };
    auto names = sys.names_with_prefix(prefix);
    if (!names) return std::move(names).error();
    for (const auto& n : *names) {
      if (auto ref = sys.lookup<T>(n)) r.st_->add(n, std::move(*ref));
    }
    return r;
  }

  explicit operator bool() const noexcept { return static_cast<bool>(st_); }
  routing how() const noexcept { return st_ ? st_->how : routing::round_robin; }
  // The members now (a snapshot).
  std::vector<actor_ref<T>> members() const {
    std::vector<actor_ref<T>> out;
    if (!st_) return out;
    std::lock_guard lock(st_->mutex);
    for (const auto& m : st_->members) out.push_back(m.ref);
    return out;
  }

  template <class M>
  result<void> tell(M&& m) const {
    using D = std::decay_t<M>;
    if (!st_) return error(errc::invalid_argument, "tell() on an empty router");
    if (st_->how == routing::consistent_hash && !keyed_message<D>) return unkeyed();
    if (st_->how == routing::broadcast) {
      std::size_t failed = 0, sent = 0;
      error last;
      for (const auto& ref : members()) {
        if (gone(ref)) continue;
        auto r = ref.tell(static_cast<const D&>(m));
        if (r) {
          ++sent;
        } else {
          ++failed;
          last = r.error();
        }
      }
      if (failed != 0) {
        return error(last.code(), std::to_string(failed) + " of " + std::to_string(failed + sent) +
                                      " members refused the broadcast; last: " + last.message());
      }
      if (sent == 0) return no_member();
      return {};
    }
    const std::uint64_t hint = hint_of(m);
    error last = no_member();
    for (std::size_t attempt = 0;; ++attempt) {
      auto ref = st_->pick(hint, attempt);
      if (!ref) return last;
      auto r = ref->tell(static_cast<const D&>(m));
      if (r || r.error().code() != errc::node_down) return r;
      last = r.error();
    }
  }

  // An ask to the member the routing picks. A broadcast router refuses it
  // (errc::invalid_argument): ask them all with herald::all_of(members(), m).
  template <class M>
  auto ask(M&& m) const {
    return ask_with(std::forward<M>(m), [](const actor_ref<T>& ref, const std::decay_t<M>& msg) { return ref.ask(msg); });
  }
  template <class M, class Rep, class Period>
  auto ask(M&& m, std::chrono::duration<Rep, Period> timeout) const {
    return ask_with(std::forward<M>(m),
                    [timeout](const actor_ref<T>& ref, const std::decay_t<M>& msg) { return ref.ask(msg, timeout); });
  }

 private:
  struct member {
    std::string name;  // empty for a fixed group
    actor_ref<T> ref;
    std::uint64_t identity;  // node and actor id, mixed
  };

  struct state {
    explicit state(routing h) : how(h) {}
    ~state() {
      if (unwatch) unwatch();
    }
    const routing how;
    std::mutex mutex;
    std::vector<member> members;
    std::vector<std::pair<std::uint64_t, std::size_t>> ring;  // consistent hashing: point -> member
    std::uint64_t next = 0;
    std::function<void()> unwatch;

    void add(std::string name, actor_ref<T> ref) {
      std::lock_guard lock(mutex);
      const std::uint64_t identity = detail::mix(ref.node_id() * 0x9e3779b97f4a7c15ULL + ref.id());
      for (auto& m : members) {
        if (!name.empty() && m.name == name) {
          m.ref = std::move(ref);
          m.identity = identity;
          rebuild();
          return;
        }
      }
      members.push_back(member{std::move(name), std::move(ref), identity});
      rebuild();
    }
    void remove(const std::string& name) {
      std::lock_guard lock(mutex);
      std::erase_if(members, [&](const member& m) { return m.name == name; });
      rebuild();
    }
    // mutex held
    void rebuild() {
      ring.clear();
      if (how != routing::consistent_hash) return;
      for (std::size_t i = 0; i < members.size(); ++i) {
        for (std::uint64_t v = 0; v < 64; ++v) ring.emplace_back(detail::mix(members[i].identity + v), i);
      }
      std::sort(ring.begin(), ring.end());
    }

    // The member for this send, skipping `attempt` candidates and any known
    // to be gone; none once every member was tried.
    std::optional<actor_ref<T>> pick(std::uint64_t hint, std::size_t attempt) {
      std::lock_guard lock(mutex);
      const std::size_t n = members.size();
      if (n == 0 || attempt >= n) return std::nullopt;
      switch (how) {
        case routing::consistent_hash: {
          auto it = std::lower_bound(ring.begin(), ring.end(), std::pair{hint, std::size_t{0}});
          std::vector<std::size_t> seen;
          for (std::size_t step = 0; step < ring.size() && seen.size() < n; ++step, ++it) {
            if (it == ring.end()) it = ring.begin();
            const std::size_t i = it->second;
            if (std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
            seen.push_back(i);
            if (gone(members[i].ref)) continue;
            if (attempt-- == 0) return members[i].ref;
          }
          return std::nullopt;
        }
        case routing::smallest_mailbox: {
          std::optional<std::size_t> best;
          std::uint64_t depth = 0;
          for (std::size_t i = 0; i < n; ++i) {
            const auto& r = members[i].ref;
            if (!r.cell() || r.stopped()) continue;
            const auto d = r.cell()->mailbox_depth();
            if (!best || d < depth) {
              best = i;
              depth = d;
            }
          }
          if (best && attempt == 0) return members[*best].ref;
          [[fallthrough]];  // no local member (or it was tried): in turn among all
        }
        case routing::round_robin:
        case routing::broadcast: {
          for (std::size_t k = 0; k < n; ++k) {
            const auto& r = members[next++ % n].ref;
            if (gone(r)) continue;
            if (attempt-- == 0) return r;
          }
          return std::nullopt;
        }
        case routing::random: {
          thread_local std::minstd_rand rng(std::random_device{}());
          const std::size_t start = rng() % n;
          for (std::size_t k = 0; k < n; ++k) {
            const auto& r = members[(start + k) % n].ref;
            if (gone(r)) continue;
            if (attempt-- == 0) return r;
          }
          return std::nullopt;
        }
      }
      return std::nullopt;
    }
  };

  // Known to be gone: a stopped local actor, or a remote one whose node has
  // no link now.
  static bool gone(const actor_ref<T>& r) {
    if (!r) return true;
    if (r.cell()) return r.stopped();
    return !r.remote()->peer || !r.remote()->peer->current();
  }

  template <class M>
  static std::uint64_t hint_of(const M& m) {
    if constexpr (keyed_message<std::decay_t<M>>) {
      return detail::mix(static_cast<std::uint64_t>(std::hash<std::decay_t<decltype(m.routing_key())>>{}(m.routing_key())));
    } else {
      return 0;
    }
  }

  static error no_member() { return error(errc::not_found, "the router has no member to send to"); }
  static error unkeyed() {
    return error(errc::invalid_argument, "a consistent-hash router routes messages by their routing_key(): this one has none");
  }

  template <class M, class Ask>
  auto ask_with(M&& m, Ask&& ask_one) const {
    using D = std::decay_t<M>;
    using R = detail::reply_t<T, D>;
    if (!st_) return ask_future<R>::ready(error(errc::invalid_argument, "ask() on an empty router"));
    if (st_->how == routing::broadcast) {
      return ask_future<R>::ready(error(errc::invalid_argument,
                                        "a broadcast router takes tells: ask every member with herald::all_of(members(), m)"));
    }
    if (st_->how == routing::consistent_hash && !keyed_message<D>) return ask_future<R>::ready(unkeyed());
    auto ref = st_->pick(hint_of(m), 0);
    if (!ref) return ask_future<R>::ready(no_member());
    return ask_one(*ref, static_cast<const D&>(m));
  }

  std::shared_ptr<state> st_;
};

}  // namespace herald
