#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "herald/actors/detail/ref_counted.hpp"
#include "herald/result.hpp"

namespace herald {
namespace detail {

class cell_base;
// The actor whose handler runs on this thread, or nullptr (see cell.hpp).
cell_base* current_cell() noexcept;
// True on the node's io threads, where nothing may block (remote.cpp).
bool on_io_thread() noexcept;

// The shared state of one ask: completed once, by the reply, an error, or a
// timeout, whichever comes first; later completions are ignored and reported
// as such (a late reply). Safe for concurrent use.
template <class R>
class ask_state final : public ref_counted {
 public:
  using value_type = result<R>;

  // Stores `v` unless the state is already complete. Returns whether it did.
  // The continuation, if any, runs here, on the calling thread.
  bool complete(value_type v) {
    return complete_then(std::move(v), [](std::function<void()>&& cont) { cont(); });
  }

  // As complete(), for a completion on a thread that must not run user code
  // (an io thread, the timer thread): a continuation that is not hand_off
  // (see on_ready) goes to post(std::function<void()>) instead, which runs
  // it on a worker; a hand_off one runs here.
  template <class Post>
  bool complete_posting(value_type v, Post&& post) {
    return complete_then(std::move(v), [&](std::function<void()>&& cont) {
      if (continuation_hand_off_) {
        cont();
      } else {
        post(std::move(cont));
      }
    });
  }

  bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }

  value_type take() {
    wait();
    return std::move(*value_);
  }

  void wait() {
    if (ready()) return;
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return ready_.load(std::memory_order_relaxed); });
  }

  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    if (ready()) return true;
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, d, [&] { return ready_.load(std::memory_order_relaxed); });
  }

  // Runs `fn` once the state is complete: now, on this thread, if it already
  // is; otherwise on the thread that completes it (complete()) or on a worker
  // (complete_posting()). A hand_off continuation only passes the result on
  // without running user code (it posts a coroutine's resumption to its
  // actor), so it may run on any thread. At most one continuation.
  void on_ready(std::function<void()> fn, bool hand_off = false) {
    {
      std::lock_guard lock(mutex_);
      if (!ready_.load(std::memory_order_relaxed)) {
        continuation_ = std::move(fn);
        continuation_hand_off_ = hand_off;
        return;
      }
    }
    fn();
  }

 private:
  template <class Run>
  bool complete_then(value_type v, Run&& run) {
    std::function<void()> cont;
    {
      std::lock_guard lock(mutex_);
      if (ready_.load(std::memory_order_relaxed)) return false;
      value_.emplace(std::move(v));
      ready_.store(true, std::memory_order_release);
      cont = std::move(continuation_);
    }
    cv_.notify_all();
    // continuation_hand_off_ is stable once ready_ is set: on_ready no longer
    // writes it.
    if (cont) run(std::move(cont));
    return true;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> ready_{false};
  std::optional<value_type> value_;
  std::function<void()> continuation_;
  bool continuation_hand_off_ = false;
};

template <class R>
using ask_state_ptr = ref_ptr<ask_state<R>>;

// Posts the resumption of a suspended herald::task to the actor that was
// running it, so the rest of the handler runs inside that actor (defined in
// task.hpp, which knows the promise type).
template <class Promise>
void resume_in_actor(cell_base& cell, std::coroutine_handle<Promise> h);

template <class P>
concept task_promise = requires { typename P::is_herald_task_promise; };

}  // namespace detail

// The reply of an ask, on its way. Move-only; use exactly one of get(),
// then() or co_await. Safe to hand to another thread.
//
// Inside an actor's handler, `co_await ref.ask(m)` suspends the handler
// (which must return herald::task<R>) without blocking the worker thread; the
// rest of the handler runs later as a message of the same actor. Outside an
// actor, get() blocks the calling thread; never call get() from a handler.
// A continuation (then()) may call get() on a remote ask: it runs on a worker,
// never on the io thread that reads the reply; on an io thread get() fails at
// once instead of blocking.
template <class R>
class [[nodiscard]] ask_future {
 public:
  using value_type = R;

  ask_future() = default;
  explicit ask_future(detail::ask_state_ptr<R> s) : state_(std::move(s)) {}
  // A future that is already complete.
  static ask_future ready(result<R> v) {
    auto s = detail::ask_state_ptr<R>::adopt(new detail::ask_state<R>());
    (void)s->complete(std::move(v));
    return ask_future(std::move(s));
  }

  bool valid() const noexcept { return static_cast<bool>(state_); }
  bool is_ready() const noexcept { return state_ && state_->ready(); }

  // Blocks until the reply, the error or the timeout, and returns it. On an
  // io thread a result that is not there yet is never waited for (the reply
  // may have to come through that very thread): get() then fails at once with
  // errc::invalid_argument and the result is dropped.
  result<R> get() {
    auto s = std::move(state_);
    if (!s) return error(errc::invalid_argument, "get() on an empty ask_future");
    if (!s->ready() && detail::on_io_thread()) {
      return error(errc::invalid_argument,
                   "get() on an io thread would block the thread that reads the reply: use then() or co_await");
    }
    return s->take();
  }

  // Waits at most `d`; true when the result is there (get() then won't block).
  // On an io thread it does not wait: it says whether the result is there.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    if (!state_) return false;
    if (detail::on_io_thread()) return state_->ready();
    return state_->wait_for(d);
  }

  // Calls fn(result<R>) once the result is there: at once, on this thread, if
  // it already is; else on a worker thread (outside any actor) for a remote
  // ask or a timeout, or on the worker that answers a local ask.
  template <class F>
    requires std::is_invocable_v<F, result<R>>
  void then(F fn) {
    auto s = std::move(state_);
    if (!s) return;
    auto* raw = s.get();
    raw->on_ready([s = std::move(s), fn = std::move(fn)]() mutable { fn(s->take()); });
  }

  struct awaiter {
    detail::ask_state_ptr<R> state;
    bool await_ready() const noexcept { return state->ready(); }
    template <class Promise>
    void await_suspend(std::coroutine_handle<Promise> h) {
      detail::cell_base* cell = detail::current_cell();
      if constexpr (detail::task_promise<Promise>) {
        if (cell) {
          state->on_ready(
              [cell_ref = detail::ref_ptr<detail::cell_base>(cell), h]() { detail::resume_in_actor(*cell_ref, h); },
              /*hand_off=*/true);
          return;
        }
      }
      state->on_ready([h] { h.resume(); });
    }
    result<R> await_resume() { return state->take(); }
  };

  awaiter operator co_await() && { return awaiter{std::move(state_)}; }

 private:
  detail::ask_state_ptr<R> state_;
};

}  // namespace herald
