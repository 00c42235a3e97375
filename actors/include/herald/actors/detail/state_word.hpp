#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace herald::detail {

// Blocking on a 32-bit atomic word until it changes, with an optional
// timeout: what C++20's atomic::wait()/notify_all() do, plus the timed wait
// they lack. On Linux a futex on the word itself (no table of waiters, no
// lock); elsewhere a short sleep loop.
//
// Thread safety: any thread may wait or wake on the same word.
struct state_word {
  // Sleeps while `word` holds `expected`, at most `timeout` (a negative or
  // max timeout: no limit). May return early (spuriously): callers re-check.
  static void wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) noexcept;
  // Wakes every thread sleeping in wait() on `word`.
  static void wake_all(const std::atomic<std::uint32_t>& word) noexcept;
};

}  // namespace herald::detail
