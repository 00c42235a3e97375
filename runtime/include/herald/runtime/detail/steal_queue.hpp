#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "herald/runtime/schedulable.hpp"

namespace herald::runtime::detail {

// A worker's own run queue: a bounded FIFO ring with one producer (the
// owning worker) and any number of consumers (the owner and thieves, other
// workers looking for work). push() is wait-free; pop() is lock-free (one
// compare-exchange on head_ per item taken).
//
// Thread safety: push() by the owner only; pop() and looks_empty() from any
// thread.
class steal_queue {
 public:
  static constexpr std::size_t capacity = 256;

  steal_queue() noexcept {
    for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
  }
  steal_queue(const steal_queue&) = delete;
  steal_queue& operator=(const steal_queue&) = delete;

  // Appends `s`; false when the ring is full (the caller queues it elsewhere).
  // owner only.
  bool push(schedulable* s) noexcept {
    std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) >= capacity) return false;
    slots_[t % capacity].store(s, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_seq_cst);
    return true;
  }

  // The oldest item, or null when empty. Any thread.
  schedulable* pop() noexcept {
    std::uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      if (h >= tail_.load(std::memory_order_seq_cst)) return nullptr;
      schedulable* s = slots_[h % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return s;
    }
  }

  bool looks_empty() const noexcept {
    return head_.load(std::memory_order_acquire) >= tail_.load(std::memory_order_seq_cst);
  }

 private:
  // Invariants:
  //  1. head_ <= tail_, both only grow (64 bits: they never wrap), and
  //     tail_ - head_ <= capacity. Positions [head_, tail_) hold the queue.
  //  2. The owner writes the slot of position t only when t < head_ + capacity,
  //     i.e. after position t - capacity was taken: a consumer that read the
  //     slot of position h and then moves head_ from h to h + 1 read the item
  //     pushed at h (a later write there needs head_ > h, and its
  //     compare-exchange fails). So every item is taken exactly once.
  //  3. An item's slot store happens before the release of tail_ past it, and
  //     a consumer reads the slot only after it saw tail_ past it (acquire):
  //     it sees the item and everything its pusher wrote before.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::atomic<schedulable*> slots_[capacity];
};

}  // namespace herald::runtime::detail
