// CAF 0.17's side of patterns_bench (see caf_patterns.hpp): event-based
// actors with the state herald's actors keep, refs carried in messages where
// herald's carry them. At the end of each benchmark every actor is killed so
// that the actor system's destructor, which waits for all actors, returns.
#include "caf_patterns.hpp"

#ifdef HERALD_BENCH_HAVE_CAF

#include <benchmark/benchmark.h>

#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

// Big's peer list travels once per actor, locally only.
using caf_peer_list = std::shared_ptr<std::vector<caf::actor>>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_peer_list)

namespace herald::bench {
namespace {

using ball_atom = caf::atom_constant<caf::atom("ball")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using fork_atom = caf::atom_constant<caf::atom("fork")>;
using joined_atom = caf::atom_constant<caf::atom("joined")>;
using rounds_atom = caf::atom_constant<caf::atom("rounds")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using met_atom = caf::atom_constant<caf::atom("met")>;

void wait_for(const std::atomic<std::uint64_t>& counter, std::uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) std::this_thread::yield();
}

// One actor system per benchmark, with the benchmark's worker count.
struct caf_system {
  explicit caf_system(const benchmark::State& state) : sys(configure(cfg, state)) {}
  ~caf_system() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::kill);
  }
  static caf::actor_system_config& configure(caf::actor_system_config& c, const benchmark::State& state) {
    c.set("scheduler.max-threads", static_cast<std::size_t>(state.range(0)));
    return c;
  }
  template <class F, class... Ts>
  caf::actor spawn(F fun, Ts&&... xs) {
    auto a = sys.spawn(fun, std::forward<Ts>(xs)...);
    spawned.push_back(a);
    return a;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::vector<caf::actor> spawned;
};

// --- ping-pong, token ring: an actor that knows its next one -----------------

struct next_state {
  caf::actor next;
};
caf::behavior passer(caf::stateful_actor<next_state>* self, std::atomic<std::uint64_t>* done) {
  return {
      [=](const caf::actor& next) { self->state.next = next; },
      [=](ball_atom, std::uint64_t left) {
        if (left == 0) {
          done->fetch_add(1, std::memory_order_release);
          return;
        }
        self->send(self->state.next, ball_atom::value, left - 1);
      },
  };
}

void ping_pong(benchmark::State& state) {
  constexpr std::uint64_t hits = 100'000;
  std::atomic<std::uint64_t> done{0};
  caf_system s(state);
  auto a = s.spawn(passer, &done);
  auto b = s.spawn(passer, &done);
  caf::anon_send(a, b);
  caf::anon_send(b, a);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    caf::anon_send(a, ball_atom::value, hits);
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * hits));
}

void token_ring_100(benchmark::State& state) {
  constexpr std::uint64_t hops = 100'000;
  std::atomic<std::uint64_t> done{0};
  caf_system s(state);
  std::vector<caf::actor> ring;
  for (int i = 0; i < 100; ++i) ring.push_back(s.spawn(passer, &done));
  for (std::size_t i = 0; i < ring.size(); ++i) caf::anon_send(ring[i], ring[(i + 1) % ring.size()]);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    caf::anon_send(ring[0], ball_atom::value, hops);
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * hops));
}

// --- counting ------------------------------------------------------------------

struct counter_state {
  std::uint64_t count = 0;
};
caf::behavior counter(caf::stateful_actor<counter_state>* self, std::atomic<std::uint64_t>* total) {
  return {
      [=](inc_atom) { ++self->state.count; },
      [=](report_atom) { total->store(self->state.count, std::memory_order_release); },
  };
}
caf::behavior producer(caf::event_based_actor* self, caf::actor to) {
  return {
      [=](count_atom, std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i) self->send(to, inc_atom::value);
        self->send(to, report_atom::value);
      },
  };
}

void counting(benchmark::State& state) {
  constexpr std::uint64_t per_round = 200'000;
  std::atomic<std::uint64_t> total{0};
  caf_system s(state);
  auto c = s.spawn(counter, &total);
  auto p = s.spawn(producer, c);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    caf::anon_send(p, count_atom::value, per_round);
    wait_for(total, ++rounds * per_round);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * per_round));
}

// --- fork-join ---------------------------------------------------------------

caf::behavior fj_worker() {
  return {
      [](fork_atom, const caf::actor& master, std::uint64_t x) { caf::anon_send(master, joined_atom::value, x * 2 + 1); },
  };
}
struct fj_state {
  std::uint64_t left = 0, waiting = 0, sum = 0;
};
caf::behavior fj_master(caf::stateful_actor<fj_state>* self, std::shared_ptr<std::vector<caf::actor>> workers,
                        std::atomic<std::uint64_t>* done) {
  auto fork = [=] {
    self->state.waiting = workers->size();
    for (auto& w : *workers) self->send(w, fork_atom::value, caf::actor(self), self->state.left);
  };
  return {
      [=](rounds_atom, std::uint64_t rounds) {
        self->state.left = rounds;
        fork();
      },
      [=](joined_atom, std::uint64_t x) {
        self->state.sum += x;
        if (--self->state.waiting > 0) return;
        if (--self->state.left == 0) {
          done->fetch_add(1, std::memory_order_release);
          return;
        }
        fork();
      },
  };
}

void fork_join_60(benchmark::State& state) {
  constexpr std::uint64_t rounds_per_iteration = 2'000;
  std::atomic<std::uint64_t> done{0};
  caf_system s(state);
  auto workers = std::make_shared<std::vector<caf::actor>>();
  for (int i = 0; i < 60; ++i) workers->push_back(s.spawn(fj_worker));
  auto master = s.spawn(fj_master, workers, &done);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    caf::anon_send(master, rounds_atom::value, rounds_per_iteration);
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * rounds_per_iteration * 120));
}

// --- big: 120 actors pinging random peers ------------------------------------

struct big_state {
  std::minstd_rand rng;
  caf_peer_list peers;
  std::uint64_t left = 0;
};
caf::behavior big_actor(caf::stateful_actor<big_state>* self, std::uint32_t seed, std::atomic<std::uint64_t>* done) {
  self->state.rng.seed(seed);
  auto ping = [=] {
    auto& peers = *self->state.peers;
    self->send(peers[self->state.rng() % peers.size()], ping_atom::value, caf::actor(self));
  };
  return {
      [=](const caf_peer_list& peers) { self->state.peers = peers; },
      [=](start_atom, std::uint64_t pings) {
        self->state.left = pings;
        ping();
      },
      [=](ping_atom, const caf::actor& from) { self->send(from, pong_atom::value); },
      [=](pong_atom) {
        if (--self->state.left == 0) {
          done->fetch_add(1, std::memory_order_release);
          return;
        }
        ping();
      },
  };
}

void big_120(benchmark::State& state) {
  constexpr std::uint64_t actors = 120, pings = 1'000;
  std::atomic<std::uint64_t> done{0};
  caf_system s(state);
  auto peers = std::make_shared<std::vector<caf::actor>>();
  for (std::uint32_t i = 0; i < actors; ++i) peers->push_back(s.spawn(big_actor, i + 1, &done));
  for (auto& p : *peers) caf::anon_send(p, peers);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    for (auto& p : *peers) caf::anon_send(p, start_atom::value, pings);
    wait_for(done, ++rounds * actors);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * actors * pings * 2));
}

// --- chameneos through a broker ----------------------------------------------

struct broker_state {
  std::uint64_t left = 0;
  bool waiting = false;
  caf::actor first;
  std::uint32_t first_colour = 0;
};
caf::behavior broker(caf::stateful_actor<broker_state>* self, std::atomic<std::uint64_t>* done) {
  return {
      [=](start_atom, std::uint64_t meetings) { self->state.left = meetings; },
      [=](meet_atom, const caf::actor& who, std::uint32_t colour) {
        auto& st = self->state;
        if (st.left == 0) return;
        if (!st.waiting) {
          st.first = who;
          st.first_colour = colour;
          st.waiting = true;
          return;
        }
        st.waiting = false;
        if (--st.left == 0) done->fetch_add(1, std::memory_order_release);
        self->send(st.first, met_atom::value, colour);
        self->send(who, met_atom::value, st.first_colour);
      },
  };
}
struct creature_state {
  std::uint32_t colour = 0;
};
caf::behavior creature(caf::stateful_actor<creature_state>* self, caf::actor b, std::uint32_t colour) {
  self->state.colour = colour;
  return {
      [=](met_atom, std::uint32_t c) {
        self->state.colour = (self->state.colour + c) % 3;
        self->send(b, meet_atom::value, caf::actor(self), self->state.colour);
      },
      [=](start_atom) { self->send(b, meet_atom::value, caf::actor(self), self->state.colour); },
  };
}

void chameneos_broker(benchmark::State& state) {
  constexpr std::uint64_t meetings = 50'000;
  std::atomic<std::uint64_t> done{0};
  caf_system s(state);
  auto b = s.spawn(broker, &done);
  std::vector<caf::actor> creatures;
  for (std::uint32_t i = 0; i < 4; ++i) creatures.push_back(s.spawn(creature, b, i % 3));
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    caf::anon_send(b, start_atom::value, meetings);
    for (auto& c : creatures) caf::anon_send(c, start_atom::value);
    wait_for(done, ++rounds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * meetings * 3));
}

// --- spawn and stop ----------------------------------------------------------

caf::behavior short_lived() {
  return {[](start_atom) {}};
}

void spawn_stop_1000(benchmark::State& state) {
  constexpr int per_round = 1'000;
  caf_system s(state);
  std::vector<caf::actor> refs;
  refs.reserve(per_round);
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    for (int i = 0; i < per_round; ++i) refs.push_back(s.sys.spawn(short_lived));
    for (auto& r : refs) caf::anon_send(r, start_atom::value);
    for (auto& r : refs) caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    refs.clear();
    s.sys.await_all_actors_done();
    ++rounds;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rounds * per_round));
}

}  // namespace

const caf_pattern caf_ping_pong = ping_pong;
const caf_pattern caf_counting = counting;
const caf_pattern caf_token_ring_100 = token_ring_100;
const caf_pattern caf_fork_join_60 = fork_join_60;
const caf_pattern caf_big_120 = big_120;
const caf_pattern caf_chameneos_broker = chameneos_broker;
const caf_pattern caf_spawn_stop_1000 = spawn_stop_1000;

}  // namespace herald::bench

#else

namespace herald::bench {
const caf_pattern caf_ping_pong = nullptr;
const caf_pattern caf_counting = nullptr;
const caf_pattern caf_token_ring_100 = nullptr;
const caf_pattern caf_fork_join_60 = nullptr;
const caf_pattern caf_big_120 = nullptr;
const caf_pattern caf_chameneos_broker = nullptr;
const caf_pattern caf_spawn_stop_1000 = nullptr;
}  // namespace herald::bench

#endif
