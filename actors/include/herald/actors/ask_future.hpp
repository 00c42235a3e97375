#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "herald/actors/detail/block_pool.hpp"
#include "herald/actors/detail/ref_counted.hpp"
#include "herald/actors/detail/state_word.hpp"
#include "herald/runtime/detail/unique_function.hpp"
#include "herald/runtime/schedulable.hpp"
#include "herald/result.hpp"

namespace herald {
namespace detail {

class cell_base;
// The actor whose handler runs on this thread, or nullptr (see cell.hpp).
cell_base* current_cell() noexcept;
// True on the node's io threads, where nothing may block (remote.cpp).
bool on_io_thread() noexcept;

class system_core;
// Runs `s` once on a worker of the system, outside any actor (system_core.cpp):
// where the continuation of a remote ask or a timed-out ask runs.
void post_to_worker(system_core& core, runtime::schedulable& s) noexcept;
// Logs a continuation that threw on a worker (system_core.cpp).
void log_continuation_failure(system_core& core, const char* what) noexcept;

// Runs fn; an exception it throws is logged on `core` and dropped.
template <class F>
void run_logging_failure(system_core& core, F&& fn) noexcept {
  try {
    std::forward<F>(fn)();
  } catch (const std::exception& e) {
    log_continuation_failure(core, e.what());
  } catch (...) {
    log_continuation_failure(core, "an exception that is not a std::exception");
  }
}

// The shared state of one ask: completed once, by the reply, an error, or a
// timeout, whichever comes first; later completions are ignored and reported
// as such (a late reply). Safe for concurrent use.
//
// No lock: one atomic word orders everything, a blocked get() sleeps on that
// word (state_word) and is woken only if it is there, the continuation lives
// inside the state (inline up to 48 bytes), the state schedules itself on a
// worker to run it, and the state's memory comes from block_pool: a remote
// ask allocates nothing in steady state.
//
// Invariants (bits of state_):
//  1. claimed is set once, by the one completer; ready after value_ is
//     stored (release), so whoever sees ready may read value_ (acquire).
//  2. has_continuation is set only before claimed, by the one on_ready()
//     caller, after it stored continuation_: the completer that claims sees
//     it, takes continuation_ and runs (or posts) it. An on_ready() that
//     finds claimed runs its function itself once ready is set.
//  3. waiter is set by a thread before it sleeps on state_; the completer
//     wakes sleepers only when it finds the bit, so a state nobody blocks on
//     completes without a system call.
template <class R>
class ask_state final : public ref_counted, public runtime::schedulable {
 public:
  using value_type = result<R>;

  // Stores `v` unless the state is already complete. Returns whether it did.
  // The continuation, if any, runs here, on the calling thread.
  bool complete(value_type v) { return complete_then(std::move(v), nullptr); }

  // As complete(), for a completion on a thread that must not run user code
  // (an io thread, the timer thread): a continuation that is not hand_off
  // (see on_ready) is posted to a worker of `core` instead; a hand_off one
  // runs here.
  bool complete_posting(value_type v, system_core& core) { return complete_then(std::move(v), &core); }

  bool ready() const noexcept { return (state_.load(std::memory_order_acquire) & ready_bit) != 0; }

  value_type take() {
    wait();
    return std::move(*value_);
  }

  void wait() { (void)wait_until_ready(std::chrono::steady_clock::time_point::max()); }

  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    if (ready()) return true;
    const auto now = std::chrono::steady_clock::now();
    const auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
    return wait_until_ready(left >= std::chrono::steady_clock::time_point::max() - now
                                ? std::chrono::steady_clock::time_point::max()
                                : now + left);
  }

  // Runs `fn` once the state is complete: now, on this thread, if it already
  // is; otherwise on the thread that completes it (complete()) or on a worker
  // (complete_posting()). A hand_off continuation only passes the result on
  // without running user code (it posts a coroutine's resumption to its
  // actor), so it may run on any thread. At most one continuation.
  template <class F>
  void on_ready(F&& fn, bool hand_off = false) {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if ((s & (claimed_bit | ready_bit)) == 0) {
      continuation_ = continuation(std::forward<F>(fn));
      const std::uint32_t add = has_continuation_bit | (hand_off ? hand_off_bit : 0u);
      while ((s & (claimed_bit | ready_bit)) == 0) {
        if (state_.compare_exchange_weak(s, s | add, std::memory_order_acq_rel, std::memory_order_acquire)) return;
      }
      // A completer claimed the state meanwhile and will not look at
      // continuation_ (invariant 2): run it here once the value is in.
      auto mine = std::move(continuation_);
      wait();
      mine();
      return;
    }
    wait();
    fn();
  }

  // schedulable: the posted continuation, on a worker.
  void run(std::size_t) noexcept override {
    auto cont = std::move(continuation_);
    run_logging_failure(*core_, cont);
  }
  void retain() noexcept override { ref_counted::retain(); }
  void release() noexcept override { ref_counted::release(); }

  // Inside a hand_off continuation: the system whose io or timer thread
  // completed the state and runs it (complete_posting), or null when the
  // completer is a worker or the continuation's own thread.
  system_core* completer_core() const noexcept { return core_; }

  static void* operator new(std::size_t n) { return block_pool::allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { block_pool::deallocate(p, n); }

 private:
  using continuation = runtime::detail::unique_function<void()>;
  static constexpr std::uint32_t has_continuation_bit = 1;
  static constexpr std::uint32_t claimed_bit = 2;
  static constexpr std::uint32_t ready_bit = 4;
  static constexpr std::uint32_t waiter_bit = 8;
  static constexpr std::uint32_t hand_off_bit = 16;

  bool complete_then(value_type&& v, system_core* post_to) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    do {
      if ((s & (claimed_bit | ready_bit)) != 0) return false;
    } while (!state_.compare_exchange_weak(s, s | claimed_bit, std::memory_order_acquire, std::memory_order_relaxed));
    value_.emplace(std::move(v));
    const std::uint32_t prev = state_.fetch_or(ready_bit, std::memory_order_acq_rel);
    if ((prev & waiter_bit) != 0) state_word::wake_all(state_);
    if ((prev & has_continuation_bit) == 0) return true;
    if (post_to == nullptr || (prev & hand_off_bit) != 0) {
      if (post_to != nullptr) core_ = post_to;  // for completer_core()
      auto cont = std::move(continuation_);
      cont();
    } else {
      core_ = post_to;
      post_to_worker(*post_to, *this);  // the scheduler holds a reference until run() returns
    }
    return true;
  }

  // False when `deadline` passed first.
  bool wait_until_ready(std::chrono::steady_clock::time_point deadline) {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    while ((s & ready_bit) == 0) {
      if ((s & waiter_bit) == 0) {
        if (!state_.compare_exchange_weak(s, s | waiter_bit, std::memory_order_acquire)) continue;
        s |= waiter_bit;
      }
      if (deadline == std::chrono::steady_clock::time_point::max()) {
        state_word::wait(state_, s);
      } else {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        state_word::wait(state_, s, std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now));
      }
      s = state_.load(std::memory_order_acquire);
    }
    return true;
  }

  std::atomic<std::uint32_t> state_{0};
  // Set by the completer before it posts run() or runs a hand_off
  // continuation on an io or timer thread.
  system_core* core_ = nullptr;
  std::optional<value_type> value_;
  continuation continuation_;
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

  // As then(fn), for a continuation that is short and never blocks (no
  // sleeping, no blocking I/O, no get() on a result not yet there): it runs
  // on the thread that completes the ask, without a hand-off to a worker.
  // For a remote ask that is the io thread that read the reply (the timer
  // thread at a deadline), where an ask sent from fn is written by that same
  // thread; for a local ask the worker that answered; this thread if the
  // result is already there. On an io or timer thread an exception thrown by
  // fn is logged and dropped. See docs/actors.md "Asks and their futures".
  template <class F>
    requires std::is_invocable_v<F, result<R>>
  void then_inline(F fn) {
    auto s = std::move(state_);
    if (!s) return;
    auto* raw = s.get();
    raw->on_ready(
        [s = std::move(s), fn = std::move(fn)]() mutable {
          detail::system_core* core = s->completer_core();
          if (core == nullptr) {
            fn(s->take());  // on a worker or the caller: the exception is theirs
          } else {
            detail::run_logging_failure(*core, [&] { fn(s->take()); });
          }
        },
        /*hand_off=*/true);
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
