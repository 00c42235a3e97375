#pragma once

#include <gtest/gtest.h>

#include <sched.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <thread>

namespace herald::test {

// True in a sanitizer build, where everything runs 5-20x slower.
constexpr bool sanitized() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// An iteration count for a stress test: n normally, n/divisor under a sanitizer.
constexpr std::size_t scaled(std::size_t n, std::size_t divisor = 10) {
  return sanitized() ? (n / divisor > 0 ? n / divisor : 1) : n;
}

// Polls f every `every` until it returns true (true) or `limit` passes
// (its last answer).
template <class F>
bool eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(10),
                std::chrono::milliseconds every = std::chrono::milliseconds(5)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(every);
  }
  return f();
}

// Soak tests run only under `ctest -L soak` (which sets HERALD_SOAK=1).
inline bool soak_enabled() { return std::getenv("HERALD_SOAK") != nullptr; }
// Chaos tests (real processes paused, cut and restarted) run their full
// length only under `ctest -L chaos` (which sets HERALD_CHAOS=1); the default
// suite runs them shortened.
inline bool chaos_enabled() { return std::getenv("HERALD_CHAOS") != nullptr; }

// Pins the calling thread, and so the threads it starts, to one core for
// the scope; the previous mask comes back afterwards.
class pinned_to_one_core {
 public:
  pinned_to_one_core() {
    ok_ = sched_getaffinity(0, sizeof(previous_), &previous_) == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &previous_)) {
        CPU_SET(c, &one);
        break;
      }
    }
    ok_ = ok_ && sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~pinned_to_one_core() { sched_setaffinity(0, sizeof(previous_), &previous_); }
  bool ok() const { return ok_; }

 private:
  cpu_set_t previous_;
  bool ok_ = false;
};

}  // namespace herald::test

// Put first in a test whose suite name ends in "Soak".
#define HERALD_SOAK_ONLY()                                                   \
  do {                                                                       \
    if (!::herald::test::soak_enabled()) GTEST_SKIP() << "soak test: run with ctest -L soak"; \
  } while (0)
