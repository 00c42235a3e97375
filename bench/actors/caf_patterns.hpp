#pragma once

// CAF 0.17's side of patterns_bench: the same patterns, messages and counts
// as herald's, one caf::actor_system per benchmark with
// `scheduler.max-threads` = the argument and CAF's default scheduler policy
// (work stealing). Without libcaf-dev each is a null pointer and only
// herald's side runs.

namespace benchmark {
class State;
}

namespace herald::bench {
using caf_pattern = void (*)(benchmark::State&);
extern const caf_pattern caf_ping_pong;
extern const caf_pattern caf_counting;
extern const caf_pattern caf_token_ring_100;
extern const caf_pattern caf_fork_join_60;
extern const caf_pattern caf_big_120;
extern const caf_pattern caf_chameneos_broker;
extern const caf_pattern caf_spawn_stop_1000;
}  // namespace herald::bench
