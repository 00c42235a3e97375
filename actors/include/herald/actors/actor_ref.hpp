#pragma once

#include <chrono>
#include <functional>
#include <type_traits>
#include <utility>

#include "herald/actors/ask_future.hpp"
#include "herald/actors/detail/cell.hpp"
#include "herald/actors/detail/dispatch.hpp"
#include "herald/actors/detail/remote_target.hpp"
#include "herald/actors/remote.hpp"
#include "herald/result.hpp"

namespace herald {

namespace detail {
// Arms an ask's timeout on the system's timer thread (cell.cpp).
void arm_ask_timeout(cell_base& target, std::chrono::nanoseconds timeout, std::function<void()> on_expiry);
void count_ask_timeout(cell_base& target) noexcept;
}  // namespace detail

// A typed handle to an actor of type T, in this process or on another node:
// the API is the same. Cheap to copy, safe to share between threads,
// comparable. Sending a message that T has no handler for does not compile;
// for an actor that declares `messages` (its remote interface), neither does
// sending one that is not listed.
//
// A local ref keeps the actor's mailbox alive, not the actor: messages to a
// stopped actor are dead letters, and asks to it fail with
// errc::actor_stopped. A remote tell fails only when the transport refuses it
// at once (errc::node_down, errc::backpressure, errc::message_too_large above
// node_config::max_message_size); a remote ask also fails with
// errc::node_down when the link is lost while it waits. A ref must not be used after its actor_system is destroyed.
template <class T>
class actor_ref {
 public:
  actor_ref() = default;
  explicit actor_ref(detail::ref_ptr<detail::cell_base> cell) : cell_(std::move(cell)) {}
  explicit actor_ref(std::shared_ptr<const detail::remote_target> remote) : remote_(std::move(remote)) {
    static_assert(remote_actor<T>, "herald: only an actor that declares `using messages = herald::messages<...>` can be remote");
  }

  explicit operator bool() const noexcept { return cell_ || remote_; }
  // The actor's id on its node.
  actor_id id() const noexcept { return cell_ ? cell_->id() : remote_ ? remote_->id : 0; }
  // The id of the node the actor lives on; 0 for an actor of this process.
  std::uint64_t node_id() const noexcept { return remote_ ? remote_->peer->node_id : 0; }
  bool is_remote() const noexcept { return static_cast<bool>(remote_); }
  // Whether a local actor has stopped (a snapshot: it may stop right after).
  // Always false for a remote actor: monitor it to learn that it stopped.
  bool stopped() const noexcept { return cell_ ? cell_->stopped() : !remote_; }

  // Sends m, fire and forget. A message to a stopped actor becomes a dead
  // letter. A local actor's bounded mailbox that is full refuses it with
  // errc::mailbox_full, at once or (when_full::block, outside a handler)
  // after waiting for room; an unbounded one never blocks. A remote tell
  // fails only where the transport refuses it at once (its backpressure
  // policy).
  template <class M>
  result<void> tell(M&& m) const {
    using D = std::decay_t<M>;
    static_assert(handles<T, D>, "herald: this actor has no public handler `on(const M&)` for the message type M sent with tell() "
                  "(handlers must be public overloads of `on` taking the message by const reference or by value)");
    static_assert(detail::in_interface<T, D>(), "herald: M is not in T::messages, the interface of this actor");
    if (cell_) return cell_->offer(detail::make_tell<T>(std::forward<M>(m)));
    if constexpr (remote_actor<T>) {
      if (remote_) return detail::remote_tell(*remote_, static_cast<const D&>(m));
    }
    return error(errc::invalid_argument, "tell() on an empty actor_ref");
  }

  // Sends m and returns the reply, typed by the handler's return type.
  template <class M>
  auto ask(M&& m) const {
    using D = std::decay_t<M>;
    static_assert(handles<T, D>, "herald: this actor has no public handler `on(const M&)` for the message type M sent with ask() "
                  "(handlers must be public overloads of `on` taking the message by const reference or by value)");
    static_assert(detail::in_interface<T, D>(), "herald: M is not in T::messages, the interface of this actor");
    using R = detail::reply_t<T, D>;
    if constexpr (remote_actor<T>) {
      if (remote_) return detail::remote_ask<R>(*remote_, static_cast<const D&>(m), runtime::connection::clock::time_point::max());
    }
    if (!cell_) return ask_future<R>::ready(error(errc::invalid_argument, "ask() on an empty actor_ref"));
    auto state = detail::ask_state_ptr<R>::adopt(new detail::ask_state<R>());
    ask_future<R> f(state);
    (void)cell_->offer(detail::make_ask<T>(std::forward<M>(m), std::move(state)));  // a refusal fails f
    return f;
  }

  // As ask(m), but the reply fails with errc::timeout if it has not come within
  // `timeout`. A reply that comes later is dropped.
  template <class M, class Rep, class Period>
  auto ask(M&& m, std::chrono::duration<Rep, Period> timeout) const {
    using D = std::decay_t<M>;
    static_assert(handles<T, D>, "herald: this actor has no public handler `on(const M&)` for the message type M sent with ask() "
                  "(handlers must be public overloads of `on` taking the message by const reference or by value)");
    static_assert(detail::in_interface<T, D>(), "herald: M is not in T::messages, the interface of this actor");
    using R = detail::reply_t<T, D>;
    if constexpr (remote_actor<T>) {
      if (remote_) {
        return detail::remote_ask<R>(*remote_, static_cast<const D&>(m),
                                     runtime::connection::clock::now() +
                                         std::chrono::duration_cast<runtime::connection::clock::duration>(timeout));
      }
    }
    if (!cell_) return ask_future<R>::ready(error(errc::invalid_argument, "ask() on an empty actor_ref"));
    auto state = detail::ask_state_ptr<R>::adopt(new detail::ask_state<R>());
    ask_future<R> f(state);
    detail::arm_ask_timeout(*cell_, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout),
                            [state, cell = cell_, timeout] {
                              // On the timer thread: a continuation runs on a worker.
                              if (state->complete_posting(
                                      error(errc::timeout, "no reply within " +
                                                               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) + " ms"),
                                      cell->core()))
                                detail::count_ask_timeout(*cell);
                            });
    (void)cell_->offer(detail::make_ask<T>(std::forward<M>(m), std::move(state)));  // a refusal fails f
    return f;
  }

  friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept {
    return a.cell_ == b.cell_ && a.node_id() == b.node_id() && (a.cell_ || a.id() == b.id());
  }

  // For herald's own layers.
  const detail::ref_ptr<detail::cell_base>& cell() const noexcept { return cell_; }
  const std::shared_ptr<const detail::remote_target>& remote() const noexcept { return remote_; }

 private:
  detail::ref_ptr<detail::cell_base> cell_;
  std::shared_ptr<const detail::remote_target> remote_;
};

}  // namespace herald
