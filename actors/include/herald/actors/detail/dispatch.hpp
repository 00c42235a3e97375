#pragma once

#include <coroutine>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "herald/actors/ask_future.hpp"
#include "herald/actors/detail/cell.hpp"
#include "herald/actors/detail/envelope.hpp"
#include "herald/actors/task.hpp"

namespace herald {

// True when actor T has a handler for message M: `on(const M&)` or `on(M)`.
template <class T, class M>
concept handles = requires(T& t, const M& m) { t.on(m); };

namespace detail {

template <class T, class M>
using handler_return_t = decltype(std::declval<T&>().on(std::declval<const M&>()));

template <class R>
struct reply_of {
  using type = R;
};
template <class R>
struct reply_of<task<R>> {
  using type = R;
};

// The reply type of `ask(M)` to a T: the handler's return type, or R for a
// handler that returns task<R>.
template <class T, class M>
using reply_t = typename reply_of<handler_return_t<T, M>>::type;

void report_dead_letter(cell_base& target, const std::type_info& type, const error& why) noexcept;

// Runs a coroutine handler on `message`, which lives in `held`: the handler
// runs up to its first suspension, then done -> reply now; suspended -> the
// frame owns `held` (so a `const M&` parameter, and whatever it views, stays
// valid across every co_await) and belongs to whatever it awaits, which
// resumes it in this actor.
template <class T, class D, class R>
void run_task(cell_base& cell, T& self, std::unique_ptr<void, void (*)(void*)> held, const D& message,
              ask_state_ptr<R> reply) {
  task<R> t = self.on(message);
  auto h = t.release();
  h.promise().message = std::move(held);
  h.promise().reply.ask = std::move(reply);
  h.promise().generation = cell.generation();
  if (h.done()) task<R>::finish(h);
}

// Runs a coroutine handler: the message moves into storage that the
// coroutine frame owns (see run_task).
template <class T, class M, class R>
void start_task(cell_base& cell, T& self, M&& message, ask_state_ptr<R> reply) {
  using D = std::decay_t<M>;
  auto* m = new D(std::forward<M>(message));
  auto held = std::unique_ptr<void, void (*)(void*)>(m, [](void* p) { delete static_cast<D*>(p); });
  run_task(cell, self, std::move(held), std::as_const(*m), std::move(reply));
}

template <class T, class M>
struct tell_ops {
  static void invoke(cell_base& c, envelope& e) {
    T& self = *static_cast<T*>(c.state());
    using H = handler_return_t<T, M>;
    if constexpr (is_task<H>::value) {
      start_task(c, self, std::move(e.message<M>()), ask_state_ptr<reply_t<T, M>>{});
    } else if constexpr (std::is_void_v<H>) {
      self.on(std::as_const(e.message<M>()));
    } else {
      (void)self.on(std::as_const(e.message<M>()));
    }
  }
  static void reject(cell_base& c, envelope&, const error& why) noexcept { report_dead_letter(c, typeid(M), why); }
  static void fail_reply(envelope&, const error&) noexcept {}
  static void relocate(envelope& dst, envelope& src) noexcept { dst.relocate_message<M>(src); }
  static void destroy(envelope& e) noexcept { e.destroy_message<M>(); }
  static constexpr envelope_ops ops{&invoke, &reject, &fail_reply, &relocate, &destroy, &typeid(M)};
};

template <class T, class M>
struct ask_ops {
  using R = reply_t<T, M>;
  static ask_state_ptr<R> take_state(envelope& e) noexcept {
    return ask_state_ptr<R>::adopt(static_cast<ask_state<R>*>(std::exchange(e.aux, nullptr)));
  }
  static void invoke(cell_base& c, envelope& e) {
    T& self = *static_cast<T*>(c.state());
    using H = handler_return_t<T, M>;
    if constexpr (is_task<H>::value) {
      start_task(c, self, std::move(e.message<M>()), take_state(e));
    } else if constexpr (std::is_void_v<H>) {
      self.on(std::as_const(e.message<M>()));
      (void)take_state(e)->complete(result<void>{});
    } else {
      auto value = self.on(std::as_const(e.message<M>()));
      (void)take_state(e)->complete(std::move(value));
    }
  }
  static void reject(cell_base&, envelope& e, const error& why) noexcept { fail_reply(e, why); }
  static void fail_reply(envelope& e, const error& why) noexcept {
    if (e.aux) (void)take_state(e)->complete(why);
  }
  static void relocate(envelope& dst, envelope& src) noexcept { dst.relocate_message<M>(src); }
  static void destroy(envelope& e) noexcept {
    fail_reply(e, error(errc::broken_promise, "ask dropped without a reply"));
    e.destroy_message<M>();
  }
  static constexpr envelope_ops ops{&invoke, &reject, &fail_reply, &relocate, &destroy, &typeid(M)};
};

// Resumes a suspended coroutine handler inside its actor.
template <class Promise>
struct resume_ops {
  using handle = std::coroutine_handle<Promise>;
  using task_type = decltype(std::declval<Promise&>().get_return_object());
  static handle take(envelope& e) noexcept { return handle::from_address(std::exchange(e.aux, nullptr)); }
  static void invoke(cell_base& c, envelope& e) {
    auto h = take(e);
    if (h.promise().generation != c.generation()) {
      task_type::abandon(h, error(errc::handler_failed, "actor restarted while the handler was suspended"));
      return;
    }
    h.resume();
    if (h.done()) task_type::finish(h);
  }
  static void reject(cell_base&, envelope& e, const error& why) noexcept {
    if (e.aux) task_type::abandon(take(e), why);
  }
  static void fail_reply(envelope&, const error&) noexcept {}
  static void relocate(envelope&, envelope&) noexcept {}
  static void destroy(envelope& e) noexcept {
    if (e.aux) task_type::abandon(take(e), error(errc::broken_promise, "suspended handler dropped"));
  }
  static constexpr envelope_ops ops{&invoke, &reject, &fail_reply, &relocate, &destroy, &typeid(void)};
};

template <class T, class M>
envelope make_tell(M&& m) {
  using D = std::decay_t<M>;
  envelope e;
  e.emplace_message<D>(std::forward<M>(m));
  e.ops = &tell_ops<T, D>::ops;
  return e;
}

template <class T, class M>
envelope make_ask(M&& m, ask_state_ptr<reply_t<T, std::decay_t<M>>> state) {
  using D = std::decay_t<M>;
  envelope e;
  e.emplace_message<D>(std::forward<M>(m));
  e.aux = state.detach();
  e.ops = &ask_ops<T, D>::ops;
  return e;
}

template <class W>
void deliver_down(cell_base& watcher, const down& d) {
  watcher.enqueue(make_tell<W>(down(d)));
}

}  // namespace detail

template <class Promise>
void detail::resume_in_actor(cell_base& cell, std::coroutine_handle<Promise> h) {
  envelope e;
  e.aux = h.address();
  e.ops = &resume_ops<Promise>::ops;
  cell.enqueue(std::move(e));
}

}  // namespace herald
