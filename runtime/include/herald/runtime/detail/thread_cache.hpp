#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <new>
#include <utility>

namespace herald::runtime::detail {

// Free blocks of one kind, for objects made on one thread and freed on
// another (a mailbox node filled by an io thread and freed by a worker, a
// receive buffer, an ask's reply state). Each thread keeps a stack of
// pointers; a thread whose stack overflows hands its oldest `batch` to a
// process-wide exchange, and one whose stack is empty takes a whole batch
// from it, so a thread that only allocates and one that only frees trade
// batches instead of calling the allocator per object. The stack and the
// batches are arrays of pointers: a block given back is not written, and
// take() starts moving the lines of the block it hands out
// prefetch_distance takes later, so that the misses on blocks another core
// freed overlap instead of queueing.
//
// Policy supplies:
//   static constexpr std::size_t batch;         blocks per batch traded
//   static constexpr std::size_t thread_cap;    most a thread keeps (>= batch)
//   static constexpr std::size_t exchange_cap;  batches the exchange keeps
//   static constexpr std::size_t block_bytes;   bytes take() prefetches
//   static void destroy(void*) noexcept;        frees a block for good
//
// Invariants:
//  1. A free block is in exactly one place: one thread's stack, or one batch
//     in the exchange.
//  2. The exchange and the queue of empty batch arrays are never destroyed:
//     a thread that exits during static destruction still gives its blocks
//     back safely.
//  3. Blocks beyond a thread's thread_cap and the exchange's exchange_cap
//     are destroyed: what the cache holds is bounded.
//
// Thread safety: take() and give() from any thread; each touches only the
// calling thread's stack except once per batch.
template <class Policy>
class thread_cache {
 public:
  static_assert(Policy::batch > 0 && Policy::thread_cap >= Policy::batch);

  // A cached block, or nullptr when this thread has none and the exchange
  // has none (the caller allocates).
  static void* take() noexcept {
    if (gone_) return nullptr;
    stack& s = stack_;
    if (s.count == 0 && !s.refill()) return nullptr;
    return s.take();
  }

  // Keeps p for a later take(), or destroys it.
  static void give(void* p) noexcept {
    if (gone_) {
      Policy::destroy(p);
      return;
    }
    stack& s = stack_;
    s.blocks[s.count++] = p;
    if (s.count > Policy::thread_cap) s.spill();
  }

  // Takes after which a block taken from the stack is first used.
  static constexpr std::size_t prefetch_distance = 8;

 private:
  struct batch_array {
    void* blocks[Policy::batch];
  };

  static moodycamel::ConcurrentQueue<batch_array*>& exchange() {
    static auto* q = new moodycamel::ConcurrentQueue<batch_array*>(Policy::exchange_cap);
    return *q;
  }
  static moodycamel::ConcurrentQueue<batch_array*>& empty_arrays() {
    static auto* q = new moodycamel::ConcurrentQueue<batch_array*>(64);
    return *q;
  }

  static void prefetch(const void* b) noexcept {
    const auto* p = static_cast<const char*>(b);
    for (std::size_t off = 0; off < Policy::block_bytes; off += 64) __builtin_prefetch(p + off, 1);
  }

  // An array to hand a batch to the exchange in; none when the exchange is
  // full or no array can be had (the blocks are destroyed instead).
  static batch_array* array_for_exchange() noexcept {
    if (exchange().size_approx() >= Policy::exchange_cap) return nullptr;
    batch_array* a = nullptr;
    if (empty_arrays().try_dequeue(a)) return a;
    return new (std::nothrow) batch_array;
  }
  static void recycle(batch_array* a) noexcept {
    if (!empty_arrays().enqueue(a)) delete a;
  }

  struct stack {
    void* blocks[Policy::thread_cap + 1];
    std::size_t count = 0;

    ~stack() {
      gone_ = true;
      while (count >= Policy::batch) spill();
      while (count > 0) Policy::destroy(blocks[--count]);
    }
    void* take() noexcept {
      void* b = blocks[--count];
      if (count >= prefetch_distance) prefetch(blocks[count - prefetch_distance]);
      return b;
    }
    // Hands the oldest `batch` blocks (the coldest here) to the exchange,
    // or destroys them.
    void spill() noexcept {
      batch_array* a = array_for_exchange();
      if (a == nullptr) {
        for (std::size_t i = 0; i < Policy::batch; ++i) Policy::destroy(blocks[i]);
      } else {
        std::copy(blocks, blocks + Policy::batch, a->blocks);
        if (!exchange().enqueue(a)) {
          for (void* b : a->blocks) Policy::destroy(b);
          recycle(a);
        }
      }
      count -= Policy::batch;
      std::copy(blocks + Policy::batch, blocks + Policy::batch + count, blocks);
    }
    // Takes a whole batch from the exchange as this (empty) stack; false
    // when it has none.
    bool refill() noexcept {
      assert(count == 0);
      batch_array* a = nullptr;
      if (!exchange().try_dequeue(a)) return false;
      std::copy(a->blocks, a->blocks + Policy::batch, blocks);
      count = Policy::batch;
      recycle(a);
      for (std::size_t i = 1; i <= std::min(prefetch_distance, count); ++i) prefetch(blocks[count - i]);
      return true;
    }
  };

  // Set once this thread's stack is destroyed (thread exit): a block given
  // back after that (a static object torn down late) is destroyed.
  static inline thread_local bool gone_ = false;
  static inline thread_local stack stack_;
};

// A thread_cache per size class, chosen at run time: classes 0 .. Classes-1,
// class c's policy being Policy<c>.
template <template <std::size_t> class Policy, std::size_t Classes>
class class_caches {
 public:
  static void* take(std::size_t c) noexcept {
    assert(c < Classes);
    return ops_[c].take();
  }
  static void give(std::size_t c, void* p) noexcept {
    assert(c < Classes);
    ops_[c].give(p);
  }

 private:
  struct ops {
    void* (*take)() noexcept;
    void (*give)(void*) noexcept;
  };
  template <std::size_t... C>
  static constexpr std::array<ops, Classes> make(std::index_sequence<C...>) {
    return {ops{&thread_cache<Policy<C>>::take, &thread_cache<Policy<C>>::give}...};
  }
  static constexpr std::array<ops, Classes> ops_ = make(std::make_index_sequence<Classes>{});
};

}  // namespace herald::runtime::detail
