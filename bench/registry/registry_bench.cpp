// Name lookups while gossip deltas stream in: herald's libcuckoo registry
// against a std::shared_mutex + std::unordered_map baseline, in one binary.
//
// What it measures: lookups per second of the reader threads (1, 2 and 8;
// Google Benchmark's Threads) while one writer thread applies registry deltas to the
// same map. The read set is 10,000 names of 16 nodes; the writer re-points
// names of the read set and adds/removes churn names, one delta per apply
// (the worst case: gossip batches them). Writer pace: flat out (arg 0) or
// 50,000 deltas/s (arg 50000), the same for both maps. The registry's writer
// runs the real apply path (stream bookkeeping, duplicate rule, events);
// the baseline writer only touches its map under the exclusive lock.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "herald/registry/name_registry.hpp"

namespace {

using namespace herald::registry;

constexpr std::size_t names = 10000;
constexpr std::size_t nodes = 16;

std::vector<std::string> read_set() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < names; ++i) out.push_back("node-" + std::to_string(i % nodes) + "/actor-" + std::to_string(i));
  return out;
}

// The baseline: what a registry would be with a reader-writer lock.
class locked_map {
 public:
  bool lookup(std::string_view name, name_entry& out) const {
    std::shared_lock lock(mutex_);
    auto it = map_.find(name);
    if (it == map_.end()) return false;
    out = it->second;
    return true;
  }
  void put(const std::string& name, const name_entry& e) {
    std::unique_lock lock(mutex_);
    map_.insert_or_assign(name, e);
  }
  void erase(const std::string& name) {
    std::unique_lock lock(mutex_);
    if (auto it = map_.find(name); it != map_.end()) map_.erase(it);
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, name_entry, name_hash, std::equal_to<>> map_;
};

// Applies one delta at a time to the map under test, at the given pace.
template <class Apply>
class writer {
 public:
  writer(long per_second, Apply apply) : per_second_(per_second), apply_(std::move(apply)) {
    thread_ = std::thread([this] { run(); });
  }
  ~writer() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  std::uint64_t applied() const { return applied_.load(std::memory_order_relaxed); }

 private:
  void run() {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    std::uint64_t n = 0;
    if (per_second_ < 0) return;  // no writer: the cost of a lookup alone
    while (!stop_.load(std::memory_order_relaxed)) {
      apply_(n++);
      applied_.store(n, std::memory_order_relaxed);
      if (per_second_ > 0 && n % 50 == 0) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(n * 1000000 / per_second_));
      }
    }
  }

  long per_second_;
  Apply apply_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> applied_{0};
  std::thread thread_;
};

struct registry_world {
  std::vector<std::string> keys = read_set();
  name_registry reg{member_key{100, 1}};
  std::vector<stream_version> versions = std::vector<stream_version>(nodes, 0);

  registry_world() {
    for (std::size_t i = 0; i < names; ++i) delta(i % nodes, keys[i], false, i);
  }
  void delta(std::size_t node, const std::string& name, bool removed, std::uint64_t actor) {
    stream_batch b{member_key{node + 1, 1}, false, 0, 0, {name_delta{name, ++versions[node], removed, actor, 7}}};
    reg.apply(b);
  }
  void step(std::uint64_t n) {
    const std::size_t i = (n * 7919) % names;
    if (n % 2 == 0) {
      delta(i % nodes, keys[i], false, n);  // re-point a name that readers read
    } else {
      delta(i % nodes, "churn/" + std::to_string(n % 512), (n / 2) % 2 == 1, n);
    }
  }
};

struct baseline_world {
  std::vector<std::string> keys = read_set();
  locked_map map;

  baseline_world() {
    for (std::size_t i = 0; i < names; ++i) map.put(keys[i], name_entry{member_key{i % nodes + 1, 1}, i, 7, 1});
  }
  void step(std::uint64_t n) {
    const std::size_t i = (n * 7919) % names;
    if (n % 2 == 0) {
      map.put(keys[i], name_entry{member_key{i % nodes + 1, 1}, n, 7, n});
    } else if ((n / 2) % 2 == 1) {
      map.erase("churn/" + std::to_string(n % 512));
    } else {
      map.put("churn/" + std::to_string(n % 512), name_entry{member_key{i % nodes + 1, 1}, n, 7, n});
    }
  }
};

template <class World, class Lookup>
void run_readers(benchmark::State& state, World*& world, std::unique_ptr<writer<std::function<void(std::uint64_t)>>>& w,
                 Lookup lookup) {
  if (state.thread_index() == 0) {
    world = new World();
    w = std::make_unique<writer<std::function<void(std::uint64_t)>>>(
        state.range(0), [wp = world](std::uint64_t n) { wp->step(n); });
  }
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 104729;
  std::uint64_t found = 0;
  for (auto _ : state) {
    const std::string& key = world->keys[(i++ * 2654435761u) % names];
    name_entry e;
    found += lookup(*world, key, e);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (found != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a name of the read set was missing");
  if (state.thread_index() == 0) {
    // The registry's read cache of this thread (0 for the baseline).
    const double hits = static_cast<double>(herald::registry::detail::lookup_cache::thread_hits());
    const double misses = static_cast<double>(herald::registry::detail::lookup_cache::thread_misses());
    state.counters["cache_hit"] = hits + misses > 0 ? hits / (hits + misses) : 0.0;
    state.counters["deltas"] = benchmark::Counter(static_cast<double>(w->applied()), benchmark::Counter::kIsRate);
    w.reset();
    delete world;
    world = nullptr;
  }
}

registry_world* g_registry = nullptr;
baseline_world* g_baseline = nullptr;
std::unique_ptr<writer<std::function<void(std::uint64_t)>>> g_registry_writer;
std::unique_ptr<writer<std::function<void(std::uint64_t)>>> g_baseline_writer;

void BM_registry_lookup_cuckoo(benchmark::State& state) {
  run_readers(state, g_registry, g_registry_writer, [](registry_world& w, const std::string& key, name_entry& e) {
    auto r = w.reg.lookup(key);
    if (!r) return false;
    e = *r;
    return true;
  });
}

void BM_registry_lookup_shared_mutex(benchmark::State& state) {
  run_readers(state, g_baseline, g_baseline_writer, [](baseline_world& w, const std::string& key, name_entry& e) {
    return w.map.lookup(key, e);
  });
}

// libcuckoo itself, without the registry around it and without a writer:
// separates what the map costs from what the registry adds.
libcuckoo::cuckoohash_map<std::string, name_entry, name_hash, std::equal_to<>>* g_raw = nullptr;
std::vector<std::string>* g_raw_keys = nullptr;

void BM_libcuckoo_find_alone(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_raw_keys = new std::vector<std::string>(read_set());
    g_raw = new libcuckoo::cuckoohash_map<std::string, name_entry, name_hash, std::equal_to<>>(1024);
    for (std::size_t i = 0; i < names; ++i) g_raw->insert((*g_raw_keys)[i], name_entry{member_key{1, 1}, i, 7, 1});
  }
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 104729;
  for (auto _ : state) {
    name_entry e;
    benchmark::DoNotOptimize(g_raw->find(std::string_view((*g_raw_keys)[(i++ * 2654435761u) % names]), e));
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    delete g_raw;
    delete g_raw_keys;
  }
}

BENCHMARK(BM_libcuckoo_find_alone)->Threads(1)->Threads(2)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_registry_lookup_cuckoo)->Arg(-1)->Arg(0)->Arg(50000)->Threads(1)->Threads(2)->Threads(8)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_registry_lookup_shared_mutex)->Arg(-1)->Arg(0)->Arg(50000)->Threads(1)->Threads(2)->Threads(8)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
