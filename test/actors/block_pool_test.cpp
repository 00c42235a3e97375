#include "herald/actors/detail/block_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace herald::detail {
namespace {

// A lock-free single-producer single-consumer hand-off of pointers, so the
// test moves blocks between threads without a lock of its own that could
// hide a missing one in the pool.
struct pointer_pipe {
  static constexpr std::size_t capacity = 1024;
  std::atomic<void*> slots[capacity] = {};
  std::size_t head = 0;  // consumer
  std::size_t tail = 0;  // producer
  bool push(void* p) {
    auto& s = slots[tail % capacity];
    if (s.load(std::memory_order_acquire) != nullptr) return false;
    s.store(p, std::memory_order_release);
    ++tail;
    return true;
  }
  void* pop() {
    auto& s = slots[head % capacity];
    void* p = s.load(std::memory_order_acquire);
    if (p == nullptr) return nullptr;
    s.store(nullptr, std::memory_order_release);
    ++head;
    return p;
  }
};

TEST(BlockPool, BlocksMadeOnOneThreadAndFreedOnAnotherAreNeverHandedOutTwice) {
  // Two producers allocate, stamp each block with its owner and sequence, and
  // pass it to a consumer that checks the stamp and frees it: a block handed
  // out twice, or recycled while still in use, shows up as a torn stamp.
  const std::size_t n = test::scaled(400000);
  constexpr int producers = 2;
  pointer_pipe pipes[producers];
  std::atomic<int> done{0};
  std::atomic<std::uint64_t> bad{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([&, p] {
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t size = 64 * (1 + i % 4);  // several classes
        auto* b = static_cast<std::uint64_t*>(block_pool::allocate(size));
        b[0] = (static_cast<std::uint64_t>(p) << 56) | i;
        b[1] = size;
        b[size / 8 - 1] = ~b[0];
        while (!pipes[p].push(b)) std::this_thread::yield();
      }
      done.fetch_add(1);
    });
  }
  ts.emplace_back([&] {
    std::size_t next[producers] = {};
    while (true) {
      bool any = false;
      for (int p = 0; p < producers; ++p) {
        while (auto* v = pipes[p].pop()) {
          any = true;
          auto* b = static_cast<std::uint64_t*>(v);
          const std::size_t size = b[1];
          if (b[0] != ((static_cast<std::uint64_t>(p) << 56) | next[p]) || b[size / 8 - 1] != ~b[0]) bad.fetch_add(1);
          ++next[p];
          std::memset(b, 0xab, size);
          block_pool::deallocate(b, size);
        }
      }
      if (!any && done.load() == producers) {
        bool empty = true;
        for (int p = 0; p < producers; ++p) empty = empty && next[p] == n;
        if (empty) break;
      }
      if (!any) std::this_thread::yield();
    }
  });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0u) << "every block arrives with the stamp its one owner wrote";
}

TEST(BlockPool, AThreadThatOnlyAllocatesReusesBlocksAnotherThreadFreed) {
  if (test::sanitized()) GTEST_SKIP() << "counts allocations";
  // Warm up: a round trip of many blocks fills the exchange.
  auto round = [](std::size_t count) {
    std::vector<void*> v(count);
    for (auto& p : v) p = block_pool::allocate(200);
    std::thread([&] {
      for (auto* p : v) block_pool::deallocate(p, 200);
    }).join();
  };
  round(4096);
  const std::size_t before = block_pool::allocated();
  for (int i = 0; i < 20; ++i) round(1024);
  // Each freeing thread exits with at most thread_cap blocks in its list,
  // which it frees: the allocating thread takes batches of the rest.
  EXPECT_LE(block_pool::allocated() - before, 20 * block_pool::thread_cap + block_pool::batch)
      << "freed blocks come back to the allocating thread in batches instead of from operator new";
}

}  // namespace
}  // namespace herald::detail
