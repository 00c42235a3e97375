#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string_view>

#include "herald/registry/phi_accrual.hpp"

namespace herald::registry {

// How cluster logic sends its control messages: heartbeats, gossip and probes.
// The runtime's transport implements it on the control lane of its
// connections, so that a saturated data ring cannot delay them; the simulated
// network of the tests implements it in memory.
// Called only from the cluster node's thread; an implementation must not call
// back into the node from send().
class control_transport {
 public:
  virtual ~control_transport() = default;
  // Sends one encoded control message to the node reachable at address.
  // Best effort: a message may be lost (no connection yet, peer gone); the
  // protocol retries by itself. Must not block on data traffic.
  virtual void send(std::string_view address, std::span<const std::byte> bytes) = 0;
};

// The clock of the cluster logic: steady time, replaceable by a manual clock.
class clock_source {
 public:
  virtual ~clock_source() = default;
  virtual cluster_clock::time_point now() const = 0;
};

// The steady clock of the machine.
class system_clock_source final : public clock_source {
 public:
  cluster_clock::time_point now() const override { return cluster_clock::now(); }
};

// Where refusals and state changes are logged: one line per call, no newline.
using log_sink = std::function<void(std::string_view line)>;

}  // namespace herald::registry
