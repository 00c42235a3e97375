#include "herald/runtime/detail/thread_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/hand_off.hpp"
#include "support/test_support.hpp"

namespace herald::runtime::detail {
namespace {

struct block {
  std::uint64_t owner = 0;
  char pad[56];
};

std::atomic<std::uint64_t> destroyed{0};

// Small batches and a tiny exchange, so that spills, refills and the
// destroy paths all run many times.
struct small_policy {
  static constexpr std::size_t batch = 4;
  static constexpr std::size_t thread_cap = 8;
  static constexpr std::size_t exchange_cap = 2;
  static constexpr std::size_t block_bytes = sizeof(block);
  static void destroy(void* p) noexcept {
    destroyed.fetch_add(1, std::memory_order_relaxed);
    delete static_cast<block*>(p);
  }
};
using cache = thread_cache<small_policy>;

TEST(ThreadCache, ABlockGivenBackIsTakenAgainOnTheSameThreadLastInFirstOut) {
  std::thread([] {
    auto* a = new block;
    auto* b = new block;
    cache::give(a);
    cache::give(b);
    EXPECT_EQ(cache::take(), b);
    EXPECT_EQ(cache::take(), a);
    delete a;
    delete b;
  }).join();
}

// Threads that only allocate hand blocks to threads that only free, the
// two sides trading batches through the exchange. No block is handed out
// while another owner holds it, and once every thread has exited each block
// ever made was destroyed exactly once or is still in the exchange (at most
// exchange_cap batches): nothing lost, nothing kept beyond the bounds.
TEST(ThreadCache, BlocksTradedBetweenThreadsAreNeverHandedOutTwiceAndAllAreAccounted) {
  const std::uint64_t destroyed_before = destroyed.load();
  constexpr int pairs = 3;
  const std::size_t per_thread = test::scaled(200000, 20);
  std::atomic<std::uint64_t> made{0};
  test::loan_record loans;
  test::hand_off_pairs<block>(
      pairs, per_thread,
      [&](int t, std::size_t i) {
        auto* b = static_cast<block*>(cache::take());
        if (b == nullptr) {
          b = new block;
          made.fetch_add(1, std::memory_order_relaxed);
        }
        loans.lend(b);
        b->owner = static_cast<std::uint64_t>(t) << 32 | i;
        return b;
      },
      [&](int t, std::size_t i, block* b) {
        EXPECT_EQ(b->owner, static_cast<std::uint64_t>(t) << 32 | i);
        loans.give_up(b);
        cache::give(b);
      });
  EXPECT_EQ(loans.lent_twice(), 0u) << "a block was handed out while another owner held it";

  // What is left is in the exchange: this thread takes it all.
  std::uint64_t left = 0;
  std::vector<block*> taken;
  while (void* p = cache::take()) taken.push_back(static_cast<block*>(p));
  left = taken.size();
  for (auto* b : taken) delete b;
  EXPECT_LE(left, small_policy::exchange_cap * small_policy::batch) << "the exchange is bounded";
  EXPECT_EQ(made.load(), destroyed.load() - destroyed_before + left) << "every block destroyed once or still cached";
  EXPECT_LT(made.load(), pairs * per_thread) << "blocks were reused";
}

}  // namespace
}  // namespace herald::runtime::detail
