// Acquire/release of a FlatBufferBuilder from the lock-free serializer_pool,
// from 1 and 2 threads, next to a std::mutex + std::vector pool baseline.
// Each iteration acquires a builder, writes a small table and releases it.

#include <benchmark/benchmark.h>

#include <memory>
#include <mutex>
#include <vector>

#include "herald/wire/serializer_pool.hpp"
#include "peers/alloc_counter.hpp"

namespace {

using herald::wire::serializer_pool;

// The baseline: the obvious pool, one mutex around a vector.
class mutex_pool {
 public:
  std::unique_ptr<flatbuffers::FlatBufferBuilder> acquire() {
    {
      std::lock_guard<std::mutex> g(m_);
      if (!idle_.empty()) {
        auto b = std::move(idle_.back());
        idle_.pop_back();
        return b;
      }
    }
    return std::make_unique<flatbuffers::FlatBufferBuilder>(1024);
  }
  void release(std::unique_ptr<flatbuffers::FlatBufferBuilder> b) {
    b->Clear();
    std::lock_guard<std::mutex> g(m_);
    idle_.push_back(std::move(b));
  }

 private:
  std::mutex m_;
  std::vector<std::unique_ptr<flatbuffers::FlatBufferBuilder>> idle_;
};

void write_small(flatbuffers::FlatBufferBuilder& b, std::uint64_t i) {
  b.Finish(b.CreateVector(&i, 1));
  benchmark::DoNotOptimize(b.GetBufferPointer());
}

serializer_pool& shared_pool() {
  static serializer_pool pool;
  return pool;
}
mutex_pool& shared_mutex_pool() {
  static mutex_pool pool;
  return pool;
}

void BM_MutexPool(benchmark::State& state) {
  auto& pool = shared_mutex_pool();
  std::uint64_t i = 0;
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    auto b = pool.acquire();
    write_small(*b, ++i);
    pool.release(std::move(b));
  }
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(herald::bench::allocations() - before),
                                                   benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_MutexPool)->Threads(1)->Threads(2)->UseRealTime();

void BM_SerializerPool(benchmark::State& state) {
  auto& pool = shared_pool();
  std::uint64_t i = 0;
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    auto b = pool.builder();
    write_small(*b, ++i);
  }
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(herald::bench::allocations() - before),
                                                   benchmark::Counter::kAvgIterations);
  if (state.thread_index() == 0) {
    const auto s = pool.stats();
    state.counters["hit%"] = 100.0 * static_cast<double>(s.hits) / static_cast<double>(s.hits + s.misses);
    state.counters["high_water"] = static_cast<double>(s.high_water);
  }
}
BENCHMARK(BM_SerializerPool)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
