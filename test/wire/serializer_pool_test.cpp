#include "herald/wire/serializer_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

// Counts heap allocations made by the calling thread, for the steady-state
// test below. Replacing operator new here affects this test binary only.
// ThreadSanitizer defines operator new itself, so there the test is skipped.
#if defined(__SANITIZE_THREAD__)
#define HERALD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HERALD_TSAN 1
#endif
#endif

namespace {
thread_local std::size_t allocations = 0;
}
#ifndef HERALD_TSAN
void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace herald::wire {
namespace {

TEST(SerializerPool, ReusesAReleasedBuilder) {
  serializer_pool pool;
  const flatbuffers::FlatBufferBuilder* first = nullptr;
  {
    auto b = pool.builder();
    first = &*b;
    b->Finish(b->CreateString("hello"));
  }
  auto again = pool.builder();
  EXPECT_EQ(&*again, first) << "the released builder comes back";
  EXPECT_EQ(again->GetSize(), 0u) << "and comes back cleared";
  auto s = pool.stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.outstanding, 1u);
}

TEST(SerializerPool, TracksTheHighWaterMark) {
  serializer_pool pool;
  {
    std::vector<serializer_pool::buffer_lease> held;
    for (int i = 0; i < 5; ++i) held.push_back(pool.buffer());
    EXPECT_EQ(pool.stats().outstanding, 5u);
  }
  auto one = pool.buffer();
  auto s = pool.stats();
  EXPECT_EQ(s.high_water, 5u);
  EXPECT_EQ(s.outstanding, 1u);
  EXPECT_EQ(s.misses, 5u);
  EXPECT_EQ(s.hits, 1u);
}

TEST(SerializerPool, DropsOversizedAndSurplusSerializers) {
  serializer_pool pool(serializer_pool::config{.max_idle = 1, .initial_capacity = 64, .max_retained_capacity = 256});
  {
    auto big = pool.buffer();
    big->resize(4096);
  }
  EXPECT_EQ(pool.stats().dropped, 1u) << "a buffer grown past max_retained_capacity is freed";
  {
    auto a = pool.buffer();
    auto b = pool.buffer();
    auto c = pool.buffer();
  }
  EXPECT_EQ(pool.stats().dropped, 2u) << "one stays in this thread's cache, max_idle in the queue";
}

TEST(SerializerPool, SteadyStateAcquireAndEncodeDoNotAllocate) {
#ifdef HERALD_TSAN
  GTEST_SKIP() << "ThreadSanitizer owns operator new: allocations are not counted";
#endif
  serializer_pool pool;
  auto cycle = [&] {
    auto b = pool.builder();
    b->Finish(b->CreateString("a steady-state message"));
    auto buf = pool.buffer();
    buf->resize(200);
  };
  for (int i = 0; i < 100; ++i) cycle();  // warm up: the pool and the queue's blocks
  const std::size_t before = allocations;
  for (int i = 0; i < 1000; ++i) cycle();
  EXPECT_EQ(allocations - before, 0u) << "a reused serializer never touches the heap";
}

TEST(SerializerPool, LeasesMoveAndReturnOnce) {
  serializer_pool pool;
  auto a = pool.builder();
  serializer_pool::builder_lease b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  b.reset();
  b.reset();
  EXPECT_EQ(pool.stats().outstanding, 0u);
}

TEST(SerializerPool, ManyThreadsShareOnePool) {
  serializer_pool pool;
  const std::size_t per_thread = herald::test::scaled(20000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        auto b = pool.builder();
        b->Finish(b->CreateString("x"));
      }
    });
  for (auto& t : threads) t.join();
  auto s = pool.stats();
  EXPECT_EQ(s.hits + s.misses, 4 * per_thread);
  EXPECT_EQ(s.outstanding, 0u);
  EXPECT_LE(s.misses, 4u * 2) << "builders are reused, not created per message";
  EXPECT_LE(s.high_water, 4u);
}

TEST(SerializerPool, CountsStayExactBeyondOneCounterSlotPerThread) {
  serializer_pool pool;
  // More threads than the pool has private counter slots: the rest share one.
  for (int round = 0; round < 80; ++round) {
    std::thread t([&] {
      auto b = pool.builder();
      auto v = pool.buffer();
    });
    t.join();
  }
  auto s = pool.stats();
  EXPECT_EQ(s.hits + s.misses, 160u) << "every acquisition is counted, in a private slot or the shared one";
  EXPECT_EQ(s.outstanding, 0u) << "every release is counted";
}

}  // namespace
}  // namespace herald::wire
