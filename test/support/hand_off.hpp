#pragma once

// The shape of a pool's stress test: objects made on some threads and
// released on others, with a record of which are on loan.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace herald::test {

// The objects on loan, by address. lend() counts an object lent while it is
// already on loan (a pool that handed one block to two owners). Safe for
// concurrent use.
class loan_record {
 public:
  void lend(const void* p) {
    std::lock_guard lock(mutex_);
    if (!on_loan_.insert(p).second) twice_.fetch_add(1, std::memory_order_relaxed);
  }
  void give_up(const void* p) {
    std::lock_guard lock(mutex_);
    on_loan_.erase(p);
  }
  std::uint64_t lent_twice() const noexcept { return twice_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::unordered_set<const void*> on_loan_;
  std::atomic<std::uint64_t> twice_{0};
};

// Runs `pairs` pairs of threads: the producer of pair t calls make(t, i) for
// i in [0, per_thread) and hands each T* to its consumer through a one-slot
// mailbox, which calls take(t, i, p) in the same order. Returns when every
// thread has finished.
template <class T, class Make, class Take>
void hand_off_pairs(int pairs, std::size_t per_thread, Make make, Take take) {
  std::vector<std::atomic<T*>> slots(static_cast<std::size_t>(pairs));
  for (auto& s : slots) s.store(nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < pairs; ++t) {
    std::atomic<T*>& slot = slots[static_cast<std::size_t>(t)];
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        T* p = make(t, i);
        T* expected = nullptr;
        while (!slot.compare_exchange_weak(expected, p, std::memory_order_release)) {
          expected = nullptr;
          std::this_thread::yield();
        }
      }
    });
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        T* p = nullptr;
        while ((p = slot.exchange(nullptr, std::memory_order_acquire)) == nullptr) std::this_thread::yield();
        take(t, i, p);
      }
    });
  }
  for (auto& th : threads) th.join();
}

}  // namespace herald::test
