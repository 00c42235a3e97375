#pragma once

#include <cstddef>
#include <functional>
#include <thread>

#include "herald/actors/messages.hpp"

namespace herald {

// How an actor_system runs. A plain value; copy it freely.
struct actor_system_config {
  // Worker threads that run actors. 0 means std::thread::hardware_concurrency().
  std::size_t worker_threads = 0;
  // The most messages one actor handles before its worker moves on to another
  // actor with mail (fairness). Higher favours throughput, lower latency.
  std::size_t max_messages_per_activation = 256;
  // The mailbox bound of every actor spawned without spawn_options::mailbox.
  // Unbounded by default (capacity 0), as in Erlang, Akka and CAF: a local
  // sender that outruns its receiver grows the receiver's mailbox. Bound it
  // here or per spawn where senders can outrun a receiver for long.
  mailbox_limit mailbox{};
  // Called for every dead letter, on the thread that found it (a worker or the
  // sender). Keep it short; it must not block.
  std::function<void(const dead_letter&)> on_dead_letter{};
  // Called when a top-level actor escalates a failure.
  std::function<void(const escalation&)> on_escalation{};
};

}  // namespace herald
