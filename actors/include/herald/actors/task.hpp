#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "herald/actors/ask_future.hpp"

namespace herald {

template <class R>
class task;

namespace detail {

// Where a suspended handler's result goes once it finishes: the ask that
// started it, or nowhere (a tell). Type-erased so the promise stays small.
template <class R>
struct task_reply {
  ask_state_ptr<R> ask;
};

template <class R>
struct task_promise_storage {
  std::optional<R> value;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  result<R> take_result() { return std::move(*value); }
};

template <>
struct task_promise_storage<void> {
  void return_void() noexcept {}
  result<void> take_result() { return {}; }
};

}  // namespace detail

// The return type of a handler that uses co_await. It starts running at once,
// inside the handler's activation; when it suspends on an ask, the actor goes
// on with other mail, and the rest of the handler runs later as a message of
// the same actor, so the handler still never runs beside another of its
// actor's handlers. State may change across a co_await. An exception thrown
// after a suspension reaches the actor's supervisor like any other.
//
// An ask whose handler returns task<R> has the reply type R.
template <class R>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::task_promise_storage<R> {
    using is_herald_task_promise = void;

    task get_return_object() noexcept {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { exception = std::current_exception(); }

    std::exception_ptr exception;
    detail::task_reply<R> reply;
    // The message the handler was called with, when the handler runs as a
    // coroutine: owned by the frame, so a `const M&` parameter stays valid
    // across every co_await (the envelope it came in is gone by then).
    std::unique_ptr<void, void (*)(void*)> message{nullptr, nullptr};
    // The generation of the actor's state this frame belongs to; a restart
    // abandons frames of an older generation instead of resuming them.
    std::uint64_t generation = 0;
  };
  using handle = std::coroutine_handle<promise_type>;

  task(task&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  task& operator=(task&&) = delete;
  ~task() {
    if (h_) h_.destroy();
  }

  bool done() const noexcept { return !h_ || h_.done(); }
  // Hands the frame over to whoever resumes it (the actor's mailbox).
  handle release() noexcept { return std::exchange(h_, nullptr); }
  handle get_handle() const noexcept { return h_; }

  // Completes a finished frame: sends its reply (or rethrows its exception,
  // after failing the reply) and destroys it.
  static void finish(handle h) {
    auto& p = h.promise();
    auto ask = std::move(p.reply.ask);
    if (p.exception) {
      auto ex = p.exception;
      h.destroy();
      if (ask) (void)ask->complete(error(errc::handler_failed, "handler threw after co_await"));
      std::rethrow_exception(ex);
    }
    auto value = p.take_result();
    h.destroy();
    if (ask) (void)ask->complete(std::move(value));
  }

  // Destroys a frame that will never be resumed; its ask fails with `e`.
  static void abandon(handle h, const error& e) noexcept {
    auto ask = std::move(h.promise().reply.ask);
    h.destroy();
    if (ask) (void)ask->complete(e);
  }

 private:
  explicit task(handle h) noexcept : h_(h) {}
  handle h_;
};

namespace detail {
template <class T>
struct is_task : std::false_type {};
template <class R>
struct is_task<task<R>> : std::true_type {};
}  // namespace detail

}  // namespace herald
