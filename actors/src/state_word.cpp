#include "herald/actors/detail/state_word.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#else
#include <thread>
#endif

namespace herald::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t), "a futex is a plain 32-bit word");

#if defined(__linux__)

void state_word::wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::nanoseconds timeout) noexcept {
  timespec ts{};
  timespec* tp = nullptr;
  if (timeout >= std::chrono::nanoseconds::zero() && timeout != std::chrono::nanoseconds::max()) {
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000000000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1000000000);
    tp = &ts;
  }
  // EAGAIN (the word changed), EINTR, ETIMEDOUT: the caller re-checks.
  (void)::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, tp, nullptr, 0);
}

void state_word::wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  (void)::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

#else

void state_word::wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::nanoseconds timeout) noexcept {
  const auto step = std::chrono::microseconds(50);
  if (word.load(std::memory_order_acquire) == expected)
    std::this_thread::sleep_for(timeout < std::chrono::nanoseconds(step) && timeout.count() >= 0 ? timeout : std::chrono::nanoseconds(step));
}

void state_word::wake_all(const std::atomic<std::uint32_t>&) noexcept {}

#endif

}  // namespace herald::detail
