#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "herald/error.hpp"

namespace herald {

// Identifies an actor within its actor_system; never reused while the system runs.
using actor_id = std::uint64_t;

// Delivered to every monitor of an actor when that actor stops. `reason` says
// why: errc::actor_stopped for a normal stop, errc::handler_failed when a
// handler threw and the policy stopped it, errc::restart_limit for a crash
// loop, errc::system_shutdown, and errc::node_down for a remote actor.
struct down {
  actor_id who = 0;
  error reason;
  std::uint64_t node = 0;  // the node `who` lives on; 0 for this process
};

// A message that no actor will handle: sent to an actor that had stopped, or
// still queued when it stopped. Counted in metrics().dead_letters and passed to
// actor_system_config::on_dead_letter if set.
struct dead_letter {
  actor_id target = 0;
  std::string message_type;
  error reason;
};

// What a supervisor does when a handler throws.
enum class on_failure : std::uint8_t {
  restart,   // destroy the state, construct a fresh one, go on with the next message
  stop,      // stop the actor with errc::handler_failed
  escalate,  // stop the actor and make its parent fail in turn (top level: on_escalation)
};

// An actor's supervision policy. A restart beyond `max_restarts` within
// `within` stops the actor with errc::restart_limit instead (crash loop).
struct supervision {
  on_failure action = on_failure::restart;
  std::size_t max_restarts = 3;
  std::chrono::milliseconds within{1000};
};

// Reported to actor_system_config::on_escalation when a top-level actor
// escalates a failure (it has no parent to escalate to).
struct escalation {
  actor_id who = 0;
  std::string name;
  error reason;
};

// An actor's name for actor_system::spawn: `sys.spawn<T>(herald::name("alice"), args...)`.
// Explicit, so that a string meant for T's constructor is never taken for a
// name (nor a name for a constructor argument).
struct name {
  explicit name(std::string n) : value(std::move(n)) {}
  std::string value;
};

// How an actor is spawned: its name (empty: anonymous) and its policy. An
// aggregate: `spawn_options{.name = "alice", .policy = {.action = on_failure::stop}}`;
// nothing converts to it implicitly.
struct spawn_options {
  std::string name{};
  supervision policy{};
};

}  // namespace herald
