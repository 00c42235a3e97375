// Classic actor patterns where every message goes to a different actor, the
// ones a scheduler's wake-up path decides: ping-pong between 2 actors, a
// token ring of 100 actors, and chameneos-like meetings through a broker (4
// creatures, each meeting sent to the broker, which pairs creatures and tells
// both). Messages are 8-32-byte structs. Reported: messages/s
// (items_per_second). Run it on 2 workers as is, and on one core with
// `taskset -c 0`; the argument is the worker count.
//
//   build-bench/bin/patterns_bench --benchmark_min_time=1
//   taskset -c 0 build-bench/bin/patterns_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

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
BENCHMARK(BM_PingPong)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

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
BENCHMARK(BM_TokenRing100)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

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
BENCHMARK(BM_ChameneosBroker)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
