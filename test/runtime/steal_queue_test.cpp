#include "herald/runtime/detail/steal_queue.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace herald::runtime::detail {
namespace {

struct item : schedulable {
  void run(std::size_t) noexcept override {}
  void retain() noexcept override {}
  void release() noexcept override {}
  std::atomic<int> taken{0};
};

TEST(StealQueue, TheOwnerTakesItemsInPushOrderAndAFullRingRefuses) {
  steal_queue q;
  std::vector<item> items(steal_queue::capacity + 1);
  for (std::size_t i = 0; i < steal_queue::capacity; ++i) ASSERT_TRUE(q.push(&items[i]));
  EXPECT_FALSE(q.push(&items.back())) << "a full ring refuses, so the caller can queue elsewhere";
  for (std::size_t i = 0; i < steal_queue::capacity; ++i) ASSERT_EQ(q.pop(), &items[i]);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.looks_empty());
}

// The owner pushes (and sometimes pops) while thieves pop: each item is
// taken exactly once, none is lost, none twice, the ring wrapping many times.
void every_item_taken_once(int thieves) {
  const std::size_t total = test::scaled(400000, 20);
  std::vector<item> items(total);
  steal_queue q;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> taken{0};
  auto take = [&](schedulable* s) {
    static_cast<item*>(s)->taken.fetch_add(1, std::memory_order_relaxed);
    taken.fetch_add(1, std::memory_order_relaxed);
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < thieves; ++t) {
    ts.emplace_back([&] {
      while (!done.load(std::memory_order_acquire)) {
        if (schedulable* s = q.pop()) take(s);
      }
      while (schedulable* s = q.pop()) take(s);
    });
  }
  for (std::size_t i = 0; i < total; ++i) {
    while (!q.push(&items[i])) {
      if (schedulable* s = q.pop()) take(s);
    }
    if (i % 3 == 0) {
      if (schedulable* s = q.pop()) take(s);
    }
  }
  done.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  while (schedulable* s = q.pop()) take(s);
  EXPECT_EQ(taken.load(), total);
  std::size_t wrong = 0;
  for (auto& it : items) wrong += it.taken.load() != 1;
  EXPECT_EQ(wrong, 0u) << "items taken other than exactly once";
}

TEST(StealQueue, EveryItemIsTakenExactlyOnceWithThreeThieves) { every_item_taken_once(3); }

TEST(StealQueue, EveryItemIsTakenExactlyOnceWithThreeThievesOnOneCore) {
  cpu_set_t previous, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(previous), &previous), 0);
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &previous)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  every_item_taken_once(3);
  sched_setaffinity(0, sizeof(previous), &previous);
}

}  // namespace
}  // namespace herald::runtime::detail
