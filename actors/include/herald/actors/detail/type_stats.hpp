#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "herald/runtime/latency_histogram.hpp"

namespace herald::detail {

// The counters of one actor type in one actor_system, shared by every actor
// of that type (the Prometheus exporter's and herald-ctl top's per-type
// rows). Safe for concurrent use: relaxed counters, each updated once per
// activation (not per message) or per rare event, so no lock and no shared
// write per message.
struct type_stats {
  explicit type_stats(std::string n) : name(std::move(n)) {}

  const std::string name;  // the actor type as C++ spells it (demangled)
  std::atomic<std::uint64_t> handled{0};       // messages taken from a mailbox and handled
  std::atomic<std::uint64_t> restarts{0};
  std::atomic<std::uint64_t> dead_letters{0};  // messages to a stopped actor of this type
  std::atomic<std::uint64_t> mailbox_full{0};  // local sends refused by a full bounded mailbox
  std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> stopped{0};
  // Handler time per message: each activation records its messages at the
  // activation's mean (one clock pair per activation, not per message).
  runtime::latency_histogram handler_time;
};

}  // namespace herald::detail

namespace herald::detail {

// One actor type's counters at one time, with the mailbox depths of its
// live actors. A value type.
struct type_snapshot {
  std::string name;
  std::uint64_t alive = 0;
  std::uint64_t handled = 0;
  std::uint64_t restarts = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t mailbox_full = 0;
  std::uint64_t mailbox_depth = 0;      // summed over its live actors
  std::uint64_t mailbox_depth_max = 0;  // of its fullest actor
  runtime::latency_histogram::snapshot handler_time;
};

}  // namespace herald::detail
