// Local (in-process) messaging: herald tell 1->1 and 2->1, and ask round trip,
// each beside a std::mutex + std::condition_variable queue between threads,
// the baseline most hand-written C++ services start from. Messages are an
// 8-byte trivially copyable struct. Reported: messages/s (items_per_second)
// and heap allocations per message (allocs_per_msg) in steady state. Last,
// the CPU an idle system uses (cpu_percent over 5 s).
//
//   build/bin/local_messaging_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <chrono>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "peers/alloc_counter.hpp"

namespace {

constexpr std::int64_t batch = 200'000;

struct tick {
  std::uint64_t n;
};
struct ping {
  std::uint64_t n;
};

class sink : public herald::actor<sink> {
 public:
  explicit sink(std::atomic<std::uint64_t>* received) : received_(received) {}
  void on(const tick&) { received_->store(++count_, std::memory_order_release); }
  std::uint64_t on(const ping& p) { return p.n + 1; }

 private:
  std::atomic<std::uint64_t>* received_;
  std::uint64_t count_ = 0;
};

void wait_for(const std::atomic<std::uint64_t>& counter, std::uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) std::this_thread::yield();
}

// One system and one sink shared by the benchmark's threads.
struct herald_setup {
  std::atomic<std::uint64_t> received{0};
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 1}};
  herald::actor_ref<sink> target = sys.spawn<sink>({}, &received).value();
};
herald_setup* shared_setup = nullptr;

void BM_HeraldTell(benchmark::State& state) {
  if (state.thread_index() == 0) shared_setup = new herald_setup();
  const auto senders = static_cast<std::uint64_t>(state.threads());
  std::uint64_t sent_rounds = 0;
  std::uint64_t allocs_before = herald::bench::allocations();
  for (auto _ : state) {
    auto& s = *shared_setup;
    for (std::int64_t i = 0; i < batch; ++i) (void)s.target.tell(tick{static_cast<std::uint64_t>(i)});
    ++sent_rounds;
    // Every sender waits for every sender's round to arrive.
    wait_for(s.received, sent_rounds * senders * batch);
  }
  std::uint64_t allocs = herald::bench::allocations() - allocs_before;
  state.SetItemsProcessed(state.iterations() * batch);
  if (state.thread_index() == 0) {
    state.counters["allocs_per_msg"] = static_cast<double>(allocs) / static_cast<double>(state.iterations() * batch * senders);
    delete shared_setup;
  }
}
BENCHMARK(BM_HeraldTell)->Threads(1)->Threads(2)->UseRealTime()->MeasureProcessCPUTime();

void BM_HeraldAsk(benchmark::State& state) {
  std::atomic<std::uint64_t> received{0};
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 1}};
  auto target = sys.spawn<sink>({}, &received).value();
  std::uint64_t n = 0;
  std::uint64_t allocs_before = herald::bench::allocations();
  for (auto _ : state) {
    auto r = target.ask(ping{n++}).get();
    benchmark::DoNotOptimize(r);
  }
  state.counters["allocs_per_msg"] =
      static_cast<double>(herald::bench::allocations() - allocs_before) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeraldAsk)->UseRealTime();

// The baseline: a deque guarded by a mutex, a condition variable to wake the
// consumer thread, one message popped per lock.
class mutex_queue {
 public:
  void push(tick t) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(t);
    }
    cv_.notify_one();
  }
  bool pop(tick& out) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    out = items_.front();
    items_.pop_front();
    return true;
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<tick> items_;
  bool closed_ = false;
};

struct baseline_setup {
  std::atomic<std::uint64_t> received{0};
  mutex_queue queue;
  std::thread consumer{[this] {
    tick t;
    std::uint64_t count = 0;
    while (queue.pop(t)) received.store(++count, std::memory_order_release);
  }};
  ~baseline_setup() {
    queue.close();
    consumer.join();
  }
};
baseline_setup* shared_baseline = nullptr;

void BM_MutexQueueTell(benchmark::State& state) {
  if (state.thread_index() == 0) shared_baseline = new baseline_setup();
  const auto senders = static_cast<std::uint64_t>(state.threads());
  std::uint64_t rounds = 0;
  std::uint64_t allocs_before = herald::bench::allocations();
  for (auto _ : state) {
    auto& s = *shared_baseline;
    for (std::int64_t i = 0; i < batch; ++i) s.queue.push(tick{static_cast<std::uint64_t>(i)});
    ++rounds;
    wait_for(s.received, rounds * senders * batch);
  }
  std::uint64_t allocs = herald::bench::allocations() - allocs_before;
  state.SetItemsProcessed(state.iterations() * batch);
  if (state.thread_index() == 0) {
    state.counters["allocs_per_msg"] = static_cast<double>(allocs) / static_cast<double>(state.iterations() * batch * senders);
    delete shared_baseline;
  }
}
BENCHMARK(BM_MutexQueueTell)->Threads(1)->Threads(2)->UseRealTime()->MeasureProcessCPUTime();

// Baseline round trip: request and reply through two mutex queues.
void BM_MutexQueueAsk(benchmark::State& state) {
  mutex_queue requests, replies;
  std::thread server([&] {
    tick t;
    while (requests.pop(t)) replies.push(tick{t.n + 1});
  });
  std::uint64_t n = 0;
  for (auto _ : state) {
    requests.push(tick{n++});
    tick r;
    (void)replies.pop(r);
    benchmark::DoNotOptimize(r);
  }
  requests.close();
  server.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutexQueueAsk)->UseRealTime();

// An idle system: 2 workers, 100 actors with no mail, nothing to do for 5 s.
// cpu_percent is the whole process's CPU time over the wall time.
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void BM_IdleSystemCpu(benchmark::State& state) {
  std::atomic<std::uint64_t> received{0};
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 2}};
  std::vector<herald::actor_ref<sink>> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(sys.spawn<sink>({}, &received).value());
  (void)idle.front().ask(ping{0}).get();  // everything started
  double cpu = 0, wall = 0;
  for (auto _ : state) {
    auto c0 = process_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu += process_cpu_seconds() - c0;
  }
  state.counters["cpu_percent"] = 100.0 * cpu / wall;
}
BENCHMARK(BM_IdleSystemCpu)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
