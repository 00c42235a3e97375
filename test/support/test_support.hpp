#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>

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

// Soak tests run only under `ctest -L soak` (which sets HERALD_SOAK=1).
inline bool soak_enabled() { return std::getenv("HERALD_SOAK") != nullptr; }
// Chaos tests (real processes paused, cut and restarted) run their full
// length only under `ctest -L chaos` (which sets HERALD_CHAOS=1); the default
// suite runs them shortened.
inline bool chaos_enabled() { return std::getenv("HERALD_CHAOS") != nullptr; }

}  // namespace herald::test

// Put first in a test whose suite name ends in "Soak".
#define HERALD_SOAK_ONLY()                                                   \
  do {                                                                       \
    if (!::herald::test::soak_enabled()) GTEST_SKIP() << "soak test: run with ctest -L soak"; \
  } while (0)
