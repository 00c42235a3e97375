#include "herald/runtime/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "support/hand_off.hpp"
#include "support/test_support.hpp"

namespace herald::runtime {
namespace {

TEST(BufferPool, AReturnedBufferIsReusedForItsClassAndCounted) {
  buffer_pool pool;
  std::byte* first = nullptr;
  {
    auto b = pool.acquire(1000);
    ASSERT_TRUE(b);
    EXPECT_EQ(b.size(), 1000u);
    first = b.data();
    auto s = pool.snapshot();
    EXPECT_EQ(s.misses, 1u);
    EXPECT_EQ(s.hits, 0u);
    EXPECT_EQ(s.bytes_allocated, 1024u) << "rounded up to the class";
    EXPECT_EQ(s.outstanding, 1u);
  }
  EXPECT_EQ(pool.snapshot().outstanding, 0u);
  auto again = pool.acquire(600);
  EXPECT_EQ(again.data(), first) << "the idle 1 KiB buffer serves a 600-byte request";
  auto other = pool.acquire(100);
  EXPECT_NE(other.data(), first) << "another class allocates";
  const auto s = pool.snapshot();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.bytes_allocated, 1024u + 128u);
  EXPECT_EQ(s.outstanding, 2u);
}

TEST(BufferPool, AClassKeepsNoMoreIdleBuffersThanItsBudget) {
  // 64 KiB per class: eight 8 KiB buffers kept, the rest freed on return.
  buffer_pool pool(64u << 10);
  {
    std::vector<pooled_buffer> held;
    for (int i = 0; i < 20; ++i) held.push_back(pool.acquire(8u << 10));
  }
  EXPECT_EQ(pool.snapshot().outstanding, 0u);
  std::vector<pooled_buffer> again;
  for (int i = 0; i < 20; ++i) again.push_back(pool.acquire(8u << 10));
  const auto s = pool.snapshot();
  EXPECT_EQ(s.hits, 8u) << "only the budget's worth stayed idle";
  EXPECT_EQ(s.misses, 20u + 12u);
  EXPECT_EQ(s.outstanding, 20u);
}

// The pool's steady state in a node: threads acquire buffers and hand them
// to other threads, which return them. No buffer is lent to two owners at
// once (a set of the buffers on loan, taken on acquire and given up before
// the return, refuses a second insert), the counts add up, and returned
// buffers are reused.
TEST(BufferPool, BuffersHandedBetweenThreadsAreNeverLentTwice) {
  buffer_pool pool(16u << 10);
  constexpr int pairs = 3;
  const std::size_t per_thread = test::scaled(200000, 20);
  test::loan_record loans;
  test::hand_off_pairs<pooled_buffer>(
      pairs, per_thread,
      [&](int t, std::size_t i) {
        auto* b = new pooled_buffer(pool.acquire(64 + (i % 4) * 300));
        loans.lend(b->data());
        std::memset(b->data(), t, b->size());
        return b;
      },
      [&](int, std::size_t, pooled_buffer* b) {
        std::memset(b->data(), 0xff, b->size());
        loans.give_up(b->data());
        delete b;
      });
  EXPECT_EQ(loans.lent_twice(), 0u) << "a buffer was lent while another owner held it";
  const auto s = pool.snapshot();
  EXPECT_EQ(s.hits + s.misses, pairs * per_thread);
  EXPECT_EQ(s.outstanding, 0u);
  EXPECT_LT(s.misses, pairs * per_thread / 10) << "returned buffers were reused";
}

}  // namespace
}  // namespace herald::runtime
