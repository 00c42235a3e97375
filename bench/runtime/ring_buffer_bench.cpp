// The connection ring (MPSC claim/commit) against a std::mutex + std::deque
// queue, 1, 2 and 4 producers and one consumer, 64-byte records: what a
// sender pays to hand a small frame to the writer. Items/s is records
// through the queue per second of wall time.

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "herald/runtime/ring_buffer.hpp"

namespace {

constexpr std::size_t record_size = 64;
constexpr std::size_t per_iteration = 200'000;

void BM_Ring(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  herald::runtime::ring_buffer ring(1u << 20);
  for (auto _ : state) {
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    const std::size_t each = per_iteration / producers;
    for (std::size_t p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        while (!go.load(std::memory_order_acquire)) {
        }
        for (std::size_t i = 0; i < each; ++i) {
          herald::runtime::ring_buffer::reservation r;
          while (ring.try_claim(record_size, r) != herald::runtime::ring_buffer::claim_status::claimed)
            std::this_thread::yield();
          std::memset(r.data, static_cast<int>(i), record_size);
          ring.commit(r);
        }
      });
    }
    go.store(true, std::memory_order_release);
    std::size_t seen = 0;
    std::uint64_t sum = 0;
    while (seen < each * producers) {
      const std::size_t n = ring.for_each_committed([&](const auto& rec) {
        sum += static_cast<std::uint64_t>(rec.data[0]);
        return true;
      });
      if (n == 0) {
        std::this_thread::yield();
        continue;
      }
      seen += n;
      ring.release_to(ring.scan_position());
    }
    for (auto& t : threads) t.join();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * (per_iteration / producers) * producers));
}

void BM_MutexDequeBaseline(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  using record = std::array<std::byte, record_size>;
  std::mutex m;
  std::deque<record> q;
  for (auto _ : state) {
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    const std::size_t each = per_iteration / producers;
    for (std::size_t p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        while (!go.load(std::memory_order_acquire)) {
        }
        for (std::size_t i = 0; i < each; ++i) {
          record r;
          std::memset(r.data(), static_cast<int>(i), record_size);
          std::lock_guard lock(m);
          q.push_back(r);
        }
      });
    }
    go.store(true, std::memory_order_release);
    std::size_t seen = 0;
    std::uint64_t sum = 0;
    std::deque<record> local;
    while (seen < each * producers) {
      {
        std::lock_guard lock(m);
        local.swap(q);  // the consumer takes everything under one lock
      }
      if (local.empty()) {
        std::this_thread::yield();
        continue;
      }
      for (const auto& r : local) sum += static_cast<std::uint64_t>(r[0]);
      seen += local.size();
      local.clear();
    }
    for (auto& t : threads) t.join();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * (per_iteration / producers) * producers));
}

BENCHMARK(BM_Ring)->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MutexDequeBaseline)->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
