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

  // Across nodes (zero without start_node). Connection counters are summed
  // over the connections open now.
  std::uint64_t connections = 0;      // a level
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t writev_calls = 0;     // frames_sent / writev_calls: frames per vectored write
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t backpressure_events = 0;
  std::uint64_t late_replies = 0;     // replies dropped: their ask had timed out
  std::uint64_t remote_asks_timed_out = 0;
  std::uint64_t remote_asks_failed_node_down = 0;
  std::uint64_t frames_to_missing_actors = 0;
  std::uint64_t remote_decode_failures = 0;
  std::uint64_t remote_unknown_types = 0;
  std::uint64_t remote_reply_failures = 0;
  // Over the node's lifetime, closed links included: tells and asks whose
  // send returned ok that a lost link discarded unsent (a deliberate close
  // drains instead).
  std::uint64_t frames_dropped_unsent = 0;
  // Cluster.
  std::uint64_t registry_names = 0;       // a level: names known cluster-wide
  std::uint64_t name_conflicts_lost = 0;  // names of this node that lost the duplicate rule
  std::uint64_t members_lost = 0;         // members declared down or left
};

}  // namespace herald
