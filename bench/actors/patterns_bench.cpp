// Classic actor patterns, herald against CAF 0.17 in the same run (CAF's side
// is caf_patterns.cpp, built in when libcaf-dev is installed): ping-pong
// between 2 actors, counting (one actor tells another N increments, then asks
// for the count), a token ring of 100 actors, fork-join (a master tells 60
// workers a task each and waits for all 60 replies before the next round),
// "big" (120 actors, each pinging random peers and waiting for the pong) and
// chameneos-like meetings through a broker (4 creatures, each meeting sent to
// the broker, which pairs creatures and tells both); and spawn/stop throughput
// (1,000 actors spawned, told one message each, stopped, waited for). Messages are 8-32-byte
// structs. Reported: messages/s (items_per_second). The argument is the
// worker count; run it as is and on one core with `taskset -c 0`:
//
//   build-bench/bin/patterns_bench --benchmark_min_time=1
//   taskset -c 0 build-bench/bin/patterns_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "caf_patterns.hpp"
#include "herald/herald.hpp"

namespace {

void wait_for(const std::atomic<std::uint64_t>& counter, std::uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) std::this_thread::yield();
}

herald::actor_system_config config_of(const benchmark::State& state) {
  herald::actor_system_config cfg;
  cfg.worker_threads = static_cast<std::size_t>(state.range(0));
  return cfg;
}

// --- ping-pong -----------------------------------------------------------------

struct ball {
  std::uint64_t left;
};
class player : public herald::actor<player> {
 public:
  explicit player(std::atomic<std::uint64_t>* done) : done_(done) {}
  void on(const herald::actor_ref<player>& other) { other_ = other; }
  void on(const ball& b) {
    if (b.left == 0) {
      done_->fetch_add(1, std::memory_order_release);
      return;
    }
    (void)other_.tell(ball{b.left - 1});
  }

 private:
  std::atomic<std::uint64_t>* done_;
  herald::actor_ref<player> other_;
};

void BM_PingPong(benchmark::State& state) {
  constexpr std::uint64_t hits = 100'000;
  std::atomic<std::uint64_t> done{0};
  herald::actor_system sys{config_of(state)};
  auto a = sys.spawn<player>({}, &done).value();
  auto b = sys.spawn<player>({}, &done).value();
  (void)a.tell(b);
  (void)b.tell(a);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    (void)a.tell(ball{hits});
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * hits));
}

// --- token ring ----------------------------------------------------------------

struct token {
  std::uint64_t left;
};
class ring_member : public herald::actor<ring_member> {
 public:
  explicit ring_member(std::atomic<std::uint64_t>* done) : done_(done) {}
  void on(const herald::actor_ref<ring_member>& next) { next_ = next; }
  void on(const token& t) {
    if (t.left == 0) {
      done_->fetch_add(1, std::memory_order_release);
      return;
    }
    (void)next_.tell(token{t.left - 1});
  }

 private:
  std::atomic<std::uint64_t>* done_;
  herald::actor_ref<ring_member> next_;
};

void BM_TokenRing100(benchmark::State& state) {
  constexpr std::uint64_t hops = 100'000;
  std::atomic<std::uint64_t> done{0};
  herald::actor_system sys{config_of(state)};
  std::vector<herald::actor_ref<ring_member>> ring;
  for (int i = 0; i < 100; ++i) ring.push_back(sys.spawn<ring_member>({}, &done).value());
  for (std::size_t i = 0; i < ring.size(); ++i) (void)ring[i].tell(ring[(i + 1) % ring.size()]);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    (void)ring[0].tell(token{hops});
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * hops));
}

// --- chameneos through a broker ----------------------------------------------

class creature;
struct meet {
  herald::actor_ref<creature> who;
  std::uint32_t colour;
};
struct met {
  std::uint32_t colour;
};
struct start_meetings {
  std::uint64_t meetings;
};

class broker : public herald::actor<broker> {
 public:
  explicit broker(std::atomic<std::uint64_t>* done) : done_(done) {}
  void on(const start_meetings& s) { left_ = s.meetings; }
  void on(const meet& m);

 private:
  std::atomic<std::uint64_t>* done_;
  std::uint64_t left_ = 0;
  bool waiting_ = false;
  meet first_{};
};

class creature : public herald::actor<creature> {
 public:
  creature(herald::actor_ref<broker> b, std::uint32_t colour) : broker_(b), colour_(colour) {}
  void on(const met& m) {
    colour_ = (colour_ + m.colour) % 3;
    (void)broker_.tell(meet{self(), colour_});
  }
  void on(const start_meetings&) { (void)broker_.tell(meet{self(), colour_}); }

 private:
  herald::actor_ref<broker> broker_;
  std::uint32_t colour_;
};

void broker::on(const meet& m) {
  if (left_ == 0) return;  // this round is over: creatures fall silent
  if (!waiting_) {
    first_ = m;
    waiting_ = true;
    return;
  }
  waiting_ = false;
  if (--left_ == 0) done_->fetch_add(1, std::memory_order_release);
  (void)first_.who.tell(met{m.colour});
  (void)m.who.tell(met{first_.colour});
}

void BM_ChameneosBroker(benchmark::State& state) {
  constexpr std::uint64_t meetings = 50'000;
  std::atomic<std::uint64_t> done{0};
  herald::actor_system sys{config_of(state)};
  auto b = sys.spawn<broker>({}, &done).value();
  std::vector<herald::actor_ref<creature>> creatures;
  for (std::uint32_t i = 0; i < 4; ++i) creatures.push_back(sys.spawn<creature>({}, b, i % 3).value());
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    (void)b.tell(start_meetings{meetings});
    for (auto& c : creatures) (void)c.tell(start_meetings{});
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * meetings * 3));
}

// --- counting ------------------------------------------------------------------

struct increment {};
struct report {};
class counter : public herald::actor<counter> {
 public:
  explicit counter(std::atomic<std::uint64_t>* total) : total_(total) {}
  void on(const increment&) { ++count_; }
  void on(const report&) { total_->store(count_, std::memory_order_release); }

 private:
  std::atomic<std::uint64_t>* total_;
  std::uint64_t count_ = 0;
};
struct count_to {
  std::uint64_t n;
};
class producer : public herald::actor<producer> {
 public:
  explicit producer(herald::actor_ref<counter> to) : to_(to) {}
  void on(const count_to& c) {
    for (std::uint64_t i = 0; i < c.n; ++i) (void)to_.tell(increment{});
    (void)to_.tell(report{});
  }

 private:
  herald::actor_ref<counter> to_;
};

void BM_Counting(benchmark::State& state) {
  constexpr std::uint64_t per_round = 200'000;
  std::atomic<std::uint64_t> total{0};
  herald::actor_system sys{config_of(state)};
  auto c = sys.spawn<counter>({}, &total).value();
  auto p = sys.spawn<producer>({}, c).value();
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    (void)p.tell(count_to{per_round});
    wait_for(total, ++rounds * per_round);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * per_round));
}

// --- fork-join ---------------------------------------------------------------

class fj_master;
struct fork_task {
  herald::actor_ref<fj_master> master;
  std::uint64_t x;
};
struct joined {
  std::uint64_t x;
};
class fj_worker : public herald::actor<fj_worker> {
 public:
  void on(const fork_task& t) { (void)t.master.tell(joined{t.x * 2 + 1}); }
};
struct fj_rounds {
  std::uint64_t rounds;
};
class fj_master : public herald::actor<fj_master> {
 public:
  fj_master(std::shared_ptr<std::vector<herald::actor_ref<fj_worker>>> workers, std::atomic<std::uint64_t>* done)
      : workers_(std::move(workers)), done_(done) {}
  void on(const fj_rounds& r) {
    left_ = r.rounds;
    fork();
  }
  void on(const joined& j) {
    sum_ += j.x;
    if (--waiting_ > 0) return;
    if (--left_ == 0) {
      done_->fetch_add(1, std::memory_order_release);
      return;
    }
    fork();
  }

 private:
  void fork() {
    waiting_ = workers_->size();
    for (auto& w : *workers_) (void)w.tell(fork_task{self(), left_});
  }
  std::shared_ptr<std::vector<herald::actor_ref<fj_worker>>> workers_;
  std::atomic<std::uint64_t>* done_;
  std::uint64_t left_ = 0, waiting_ = 0, sum_ = 0;
};

void BM_ForkJoin60(benchmark::State& state) {
  constexpr std::uint64_t rounds_per_iteration = 2'000;
  std::atomic<std::uint64_t> done{0};
  herald::actor_system sys{config_of(state)};
  auto workers = std::make_shared<std::vector<herald::actor_ref<fj_worker>>>();
  for (int i = 0; i < 60; ++i) workers->push_back(sys.spawn<fj_worker>({}).value());
  auto master = sys.spawn<fj_master>({}, workers, &done).value();
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    (void)master.tell(fj_rounds{rounds_per_iteration});
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * rounds_per_iteration * 120));
}

// --- big: 120 actors pinging random peers ------------------------------------

class big_actor;
struct big_ping {
  herald::actor_ref<big_actor> from;
};
struct big_pong {};
struct big_start {
  std::uint64_t pings;
};
class big_actor : public herald::actor<big_actor> {
 public:
  big_actor(std::uint32_t seed, std::atomic<std::uint64_t>* done) : rng_(seed), done_(done) {}
  void on(const std::shared_ptr<std::vector<herald::actor_ref<big_actor>>>& peers) { peers_ = peers; }
  void on(const big_start& s) {
    left_ = s.pings;
    ping();
  }
  void on(const big_ping& p) { (void)p.from.tell(big_pong{}); }
  void on(const big_pong&) {
    if (--left_ == 0) {
      done_->fetch_add(1, std::memory_order_release);
      return;
    }
    ping();
  }

 private:
  void ping() { (void)(*peers_)[rng_() % peers_->size()].tell(big_ping{self()}); }
  std::minstd_rand rng_;
  std::atomic<std::uint64_t>* done_;
  std::shared_ptr<std::vector<herald::actor_ref<big_actor>>> peers_;
  std::uint64_t left_ = 0;
};

void BM_Big120(benchmark::State& state) {
  constexpr std::uint64_t actors = 120, pings = 1'000;
  std::atomic<std::uint64_t> done{0};
  herald::actor_system sys{config_of(state)};
  auto peers = std::make_shared<std::vector<herald::actor_ref<big_actor>>>();
  for (std::uint32_t i = 0; i < actors; ++i) peers->push_back(sys.spawn<big_actor>({}, i + 1, &done).value());
  for (auto& p : *peers) (void)p.tell(peers);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    for (auto& p : *peers) (void)p.tell(big_start{pings});
    wait_for(done, ++rounds * actors);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * actors * pings * 2));
}

// --- spawn and stop ----------------------------------------------------------

struct hello {};
class short_lived : public herald::actor<short_lived> {
 public:
  void on(const hello&) {}
};

// Spawns 1,000 actors, tells each one message, stops them all and waits
// until every one has stopped. Reported: actors/s (spawned, started, stopped).
void BM_SpawnStop1000(benchmark::State& state) {
  constexpr int per_round = 1'000;
  herald::actor_system sys{config_of(state)};
  std::vector<herald::actor_ref<short_lived>> refs;
  refs.reserve(per_round);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    for (int i = 0; i < per_round; ++i) refs.push_back(sys.spawn<short_lived>({}).value());
    for (auto& r : refs) (void)r.tell(hello{});
    for (auto& r : refs) sys.stop(r);
    sys.await_all_stopped();
    refs.clear();
    ++rounds;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * per_round));
}

// Each pattern, herald then CAF, 2 workers (the argument).
void register_pair(const char* name, void (*herald_fn)(benchmark::State&), void (*caf_fn)(benchmark::State&)) {
  auto add = [](const std::string& n, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark(n.c_str(), fn)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  add(std::string(name) + "/herald", herald_fn);
  if (caf_fn != nullptr) add(std::string(name) + "/caf", caf_fn);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace herald::bench;
  register_pair("PingPong", BM_PingPong, caf_ping_pong);
  register_pair("Counting", BM_Counting, caf_counting);
  register_pair("TokenRing100", BM_TokenRing100, caf_token_ring_100);
  register_pair("ForkJoin60", BM_ForkJoin60, caf_fork_join_60);
  register_pair("Big120", BM_Big120, caf_big_120);
  register_pair("ChameneosBroker", BM_ChameneosBroker, caf_chameneos_broker);
  register_pair("SpawnStop1000", BM_SpawnStop1000, caf_spawn_stop_1000);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
