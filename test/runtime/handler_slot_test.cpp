#include "herald/runtime/detail/handler_slot.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace herald::runtime::detail {
namespace {

TEST(HandlerSlot, OneHolderAtATimeAndTheHeapForTheRest) {
  handler_slot slot;
  void* first = slot.allocate(64);
  EXPECT_TRUE(slot.in_use());
  void* second = slot.allocate(64);
  EXPECT_NE(first, second) << "a second allocation while the slot is held comes from the heap";
  slot.deallocate(first);
  EXPECT_FALSE(slot.in_use());
  void* big = slot.allocate(handler_slot::capacity + 1);
  EXPECT_FALSE(slot.in_use()) << "an allocation larger than the slot never takes it";
  void* again = slot.allocate(handler_slot::capacity);
  EXPECT_EQ(again, first) << "a freed slot is taken again";
  slot.deallocate(again);
  slot.deallocate(second);
  slot.deallocate(big);
  EXPECT_FALSE(slot.in_use());
}

// Threads allocate and free at once: whoever holds the slot's storage is
// alone in it (its writes are never seen overwritten), and every allocation
// is freed to where it came from (ASan and TSan check the rest).
TEST(HandlerSlot, ManyThreadsNeverShareTheStorage) {
  handler_slot slot;
  constexpr int threads = 6;
  const std::size_t rounds = test::scaled(200000, 20);
  std::atomic<int> holders{0};
  std::atomic<int> shared{0};
  std::atomic<std::size_t> slot_hits{0};
  std::vector<std::thread> ts;
  void* storage = slot.allocate(8);
  slot.deallocate(storage);
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      unsigned char mark[handler_slot::capacity];
      std::memset(mark, t + 1, sizeof mark);
      for (std::size_t i = 0; i < rounds; ++i) {
        void* p = slot.allocate(sizeof mark);
        if (p == storage) {
          if (holders.fetch_add(1, std::memory_order_relaxed) != 0) shared.fetch_add(1);
          slot_hits.fetch_add(1, std::memory_order_relaxed);
          std::memcpy(p, mark, sizeof mark);
          if (i % 8 == 0) std::this_thread::yield();
          if (std::memcmp(p, mark, sizeof mark) != 0) shared.fetch_add(1);
          holders.fetch_sub(1, std::memory_order_relaxed);
        } else {
          std::memcpy(p, mark, sizeof mark);
        }
        slot.deallocate(p);
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(shared.load(), 0) << "two holders in the slot at once";
  EXPECT_GT(slot_hits.load(), 0u);
  EXPECT_FALSE(slot.in_use());
}

// The use it is made for: handlers posted to an io_context from threads
// that do not run it. Each runs exactly once, with its operation's memory
// from the slot when it is free.
TEST(HandlerSlot, HandlersPostedFromManyThreadsEachRunOnce) {
  asio::io_context ctx(1);
  auto guard = asio::make_work_guard(ctx);
  std::thread io([&] { ctx.run(); });
  handler_slot slot;
  constexpr int posters = 4;
  const int per_poster = static_cast<int>(test::scaled(50000, 20));
  std::atomic<int> ran{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < posters; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < per_poster; ++i) {
        auto keep = std::make_shared<int>(i);
        asio::post(ctx, with_slot(slot, [&ran, keep] { ran.fetch_add(*keep >= 0 ? 1 : 0); }));
      }
    });
  }
  for (auto& th : ts) th.join();
  guard.reset();
  io.join();
  EXPECT_EQ(ran.load(), posters * per_poster);
  EXPECT_FALSE(slot.in_use()) << "every operation gave its memory back";
}

// A handler that holds the slot's owner alive, destroyed unrun (its
// io_context goes away first): Asio gives the memory back while the handler
// still holds the owner, so the slot outlives its use (ASan checks it).
TEST(HandlerSlot, AHandlerDestroyedUnrunGivesTheSlotBackBeforeItsOwnerGoes) {
  struct owner {
    explicit owner(bool& flag) : destroyed_in_use(flag) {}
    ~owner() { destroyed_in_use = slot.in_use(); }
    handler_slot slot;
    bool& destroyed_in_use;
  };
  bool in_use_at_destruction = true;
  bool ran = false;
  {
    asio::io_context ctx(1);
    auto o = std::make_shared<owner>(in_use_at_destruction);
    asio::post(ctx, with_slot(o->slot, [o, &ran] { ran = true; }));
    EXPECT_TRUE(o->slot.in_use());
    o.reset();  // the posted handler holds the last reference
  }
  EXPECT_FALSE(ran);
  EXPECT_FALSE(in_use_at_destruction) << "the slot was still taken when its owner was destroyed";
}

}  // namespace
}  // namespace herald::runtime::detail
