#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
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

// What a local send does when the target's bounded mailbox is full.
enum class when_full : std::uint8_t {
  fail,   // the tell returns errc::mailbox_full at once; an ask's future fails with it
  block,  // the sender waits for room up to mailbox_limit::block_timeout, then fails
          // as `fail` does. A sender inside a handler never waits (its worker
          // may be the one the target needs): it fails at once.
};

// The bound of one actor's mailbox (docs/actors.md, "Bounded mailboxes").
// capacity counts messages queued and not yet taken by the actor; 0 means
// unbounded. Only local user sends (tell, ask) are refused; messages from
// other nodes are admitted and bounded by their link's window instead, which
// returns only as the actor handles them, and system messages (stop, down,
// escalation, a task's resumption) are always admitted. Every refusal counts
// in system_metrics::mailbox_full and the actor type's mailbox_full.
struct mailbox_limit {
  std::size_t capacity = 0;
  when_full on_full = when_full::fail;
  std::chrono::milliseconds block_timeout{1000};
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
  // The actor's mailbox bound; unset: actor_system_config::mailbox.
  std::optional<mailbox_limit> mailbox{};
  // The actor's handlers are short and never block (no sleeping, no blocking
  // I/O, no get() on a future): a message from another node that finds the
  // actor idle may then be handled on the io thread that read it, without a
  // hand-off to a worker, and an ask's reply is written by that same thread.
  // Order and one-at-a-time execution are as for any actor. A handler that
  // blocks anyway stalls every link of that io thread while it runs (a get()
  // there fails at once instead of blocking). See docs/actors.md
  // "Non-blocking actors".
  bool non_blocking = false;
};

}  // namespace herald
