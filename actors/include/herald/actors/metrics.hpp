#pragma once

#include <cstdint>

namespace herald {

// A snapshot of an actor_system's counters (monotonic unless noted).
struct system_metrics {
  std::uint64_t actors_spawned = 0;
  std::uint64_t actors_stopped = 0;
  std::uint64_t actors_alive = 0;     // a level, not a counter
  std::uint64_t dead_letters = 0;
  std::uint64_t handler_failures = 0;
  std::uint64_t restarts = 0;
  std::uint64_t escalations = 0;
  std::uint64_t asks_timed_out = 0;
  std::uint64_t activations = 0;      // times a worker picked up an actor with mail
};

}  // namespace herald
