// Quorum asks across nodes: a 3-of-5 quorum over replicas on five nodes (TCP
// loopback, one process), against the baseline of sending the same five
// asks and waiting for all of them (all_of). Twice: with five equal
// replicas, and with one replica that takes 1 ms per request (a straggler,
// which the quorum does not wait for). Reported: decisions per second
// (items_per_second) and the decision latency's p50 and p99 in µs.
//
//   build/bin/quorum_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"

namespace {

struct write_req {
  std::uint64_t key = 0;
};

class replica : public herald::actor<replica> {
 public:
  using messages = herald::messages<write_req>;
  explicit replica(std::int64_t spin_us) : spin_(std::chrono::microseconds(spin_us)) {}
  std::uint64_t on(const write_req& w) {
    if (spin_.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + spin_;
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    return w.key;
  }

 private:
  std::chrono::microseconds spin_;
};

herald::runtime::node_config node_cfg(const std::string& name) {
  herald::runtime::node_config c;
  c.secret.value = "quorum-bench";
  c.node_name = name;
  c.listen = {"tcp://127.0.0.1:0"};
  return c;
}

// Five replica nodes and an asking node; the fifth replica is the
// straggler when `straggler` is set.
struct cluster {
  explicit cluster(bool straggler) {
    asker = std::make_unique<herald::actor_system>(herald::actor_system_config{.worker_threads = 1});
    (void)asker->start_node<replica>(node_cfg("asker"));
    for (int i = 0; i < 5; ++i) {
      auto sys = std::make_unique<herald::actor_system>(herald::actor_system_config{.worker_threads = 1});
      (void)sys->start_node<replica>(node_cfg("r" + std::to_string(i)));
      (void)sys->spawn<replica>(herald::name("replica"), std::int64_t{straggler && i == 4 ? 1000 : 0});
      auto ref = asker->remote_lookup<replica>(sys->listen_addresses().at(0), "replica");
      if (ref) refs.push_back(*ref);
      nodes.push_back(std::move(sys));
    }
  }
  std::unique_ptr<herald::actor_system> asker;
  std::vector<std::unique_ptr<herald::actor_system>> nodes;
  std::vector<herald::actor_ref<replica>> refs;
};

void run(benchmark::State& state, bool straggler, std::size_t need) {
  cluster c(straggler);
  if (c.refs.size() != 5) {
    state.SkipWithError("the replica nodes did not come up");
    return;
  }
  std::vector<double> us;
  std::uint64_t key = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = herald::quorum(c.refs, write_req{++key}).need(need).within(std::chrono::seconds(5)).get();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}

void BM_Quorum3of5(benchmark::State& state) { run(state, false, 3); }
void BM_AllOf5(benchmark::State& state) { run(state, false, 5); }
void BM_Quorum3of5_Straggler(benchmark::State& state) { run(state, true, 3); }
void BM_AllOf5_Straggler(benchmark::State& state) { run(state, true, 5); }

BENCHMARK(BM_Quorum3of5)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AllOf5)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Quorum3of5_Straggler)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AllOf5_Straggler)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
