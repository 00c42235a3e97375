#pragma once

#include <libcuckoo/cuckoohash_map.hh>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "herald/actors/config.hpp"
#include "herald/actors/detail/cell.hpp"
#include "herald/actors/metrics.hpp"
#include "herald/result.hpp"
#include "herald/registry/cluster_node.hpp"
#include "herald/runtime/log_limiter.hpp"
#include "herald/runtime/node_config.hpp"
#include "herald/runtime/scheduler.hpp"
#include "herald/runtime/timer_queue.hpp"
#include "spawnable_types.hpp"
#include "topic_hub.hpp"

namespace herald {
class actor_system;
}

namespace herald::detail {

class network;

// The shared innards of an actor_system: threads, timers, the table of live
// actors and their names, counters. Safe for concurrent use.
class system_core {
 public:
  system_core(actor_system& owner, actor_system_config cfg);
  ~system_core();

  actor_system& owner() noexcept { return owner_; }
  const actor_system_config& config() const noexcept { return cfg_; }
  runtime::scheduler& scheduler() noexcept { return scheduler_; }
  runtime::timer_queue& timers() noexcept { return timers_; }

  actor_id next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // Registers a new actor (and its name) and schedules its start.
  result<void> add(const ref_ptr<cell_base>& c, std::type_index type, std::uint64_t wire_type);
  result<ref_ptr<cell_base>> find(std::string_view name, std::type_index type) const;
  // For other nodes: the id of the actor named `name`, checked against the
  // wire id of its type.
  result<actor_id> resolve(std::string_view name, std::uint64_t wire_type) const;

  // Runs fn on a worker, outside any actor (after shutdown has stopped the
  // workers: on the calling thread). An exception from fn is logged.
  void post(std::function<void()> fn) noexcept;

  // Starts the transport and the cluster layer; net() is null until then.
  // Named actors (those already spawned, and later ones) are registered
  // cluster-wide. A client (join false) has the transport only: its cluster
  // layer never runs, so it is no member and its names stay local.
  result<void> start_network(runtime::node_config cfg, registry::cluster_config cluster, bool join = true);
  // A named actor of another node, from the cluster registry.
  result<std::pair<std::uint64_t, actor_id>> find_in_cluster(std::string_view name, std::uint64_t wire_type) const;
  // Problems the runtime reports but no caller waits for (stderr, or the
  // node's log hook).
  void log_warning(const std::string& line) noexcept;
  // Whether start_network joined the cluster (false for a client, and before
  // start_network has returned).
  bool joined() const noexcept { return net() != nullptr && joined_; }
  // The network once start_network has fully started it, else null; safe from
  // any thread. A frame can reach an actor slightly earlier (the io threads
  // run before start_network returns): its handler sees null here.
  network* net() noexcept { return net_published_.load(std::memory_order_acquire); }
  const network* net() const noexcept { return net_published_.load(std::memory_order_acquire); }
  ref_ptr<cell_base> find(actor_id id) const;
  // Called by a cell as it stops (on its worker).
  void remove(cell_base& c) noexcept;
  // Another name for a live actor of this system: in the local table and,
  // with a network, cluster-wide; it goes with the actor (remove()).
  result<void> add_alias(const ref_ptr<cell_base>& c, std::string name, std::type_index type, std::uint64_t wire_type);
  result<void> remove_alias(cell_base& c, std::string_view name);
  topic_hub& topics() noexcept { return topics_; }

  void dead_letter(cell_base& target, const std::type_info& type, const error& why) noexcept;
  void escalate(const escalation& e) noexcept;
  void count_failure() noexcept { failures_.fetch_add(1, std::memory_order_relaxed); }
  void count_restart() noexcept { restarts_.fetch_add(1, std::memory_order_relaxed); }
  void count_quorum_late_reply() noexcept { quorum_late_.fetch_add(1, std::memory_order_relaxed); }
  void count_mailbox_full() noexcept { mailbox_full_.fetch_add(1, std::memory_order_relaxed); }
  void count_mailbox_wait() noexcept { mailbox_waits_.fetch_add(1, std::memory_order_relaxed); }
  void count_ask_timeout() noexcept { ask_timeouts_.fetch_add(1, std::memory_order_relaxed); }
  void count_io_thread_activation() noexcept { io_activations_.fetch_add(1, std::memory_order_relaxed); }

  void shutdown();
  // Blocks until every actor but the node actor has stopped, or until
  // `deadline` (none: no limit); true if they have.
  bool await_all_stopped(const std::chrono::steady_clock::time_point* deadline);
  system_metrics metrics() const;
  // Per actor type: counters and mailbox depths (walks the live actors;
  // for the exporter and admin queries, not for the message path).
  std::vector<type_snapshot> type_snapshots();
  // The actor types other nodes may spawn here (remote spawn).
  spawnable_types& spawnables() noexcept { return spawnables_; }

 private:
  // The counters of actor type `type`, created on first use.
  type_stats* stats_for(std::type_index type);

  struct named {
    ref_ptr<cell_base> cell;
    std::type_index type;
    std::uint64_t wire_type;
  };

  // The entry for `name`, or not_found.
  result<named> find_named(std::string_view name) const;
  // Erases `name` from the local table if it maps to c, and then from the
  // registry.
  void drop_name(cell_base& c, const std::string& name) noexcept;

  actor_system& owner_;
  actor_system_config cfg_;
  // Id 1 is the node actor's (node_protocol.hpp).
  std::atomic<actor_id> next_id_{2};

  // Spawning and shutting down exclude each other, so that no actor is added
  // after shutdown has taken its snapshot of the live ones.
  std::mutex lifecycle_mutex_;
  std::condition_variable all_stopped_;
  bool shutting_down_ = false;

  libcuckoo::cuckoohash_map<actor_id, ref_ptr<cell_base>> cells_;
  libcuckoo::cuckoohash_map<std::string, named> names_;
  // The aliases of each live actor that has any. A cell is stopped
  // (closed) before remove() takes its list, and add_alias checks stopped()
  // under the same mutex, so no alias outlives its actor.
  std::mutex aliases_mutex_;
  std::unordered_map<actor_id, std::vector<std::string>> aliases_;
  // Before the network: it may deliver registry events to the hub until it
  // is destroyed.
  topic_hub topics_;

  std::atomic<std::uint64_t> alive_{0};  // added and not yet removed; shutdown waits for 0
  std::atomic<std::uint64_t> spawned_{0};
  std::atomic<std::uint64_t> stopped_{0};
  std::atomic<std::uint64_t> dead_letters_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> restarts_{0};
  std::atomic<std::uint64_t> quorum_late_{0};
  std::atomic<std::uint64_t> mailbox_full_{0};
  std::atomic<std::uint64_t> mailbox_waits_{0};
  std::atomic<std::uint64_t> io_activations_{0};
  std::atomic<std::uint64_t> escalations_{0};
  std::atomic<std::uint64_t> ask_timeouts_{0};
  spawnable_types spawnables_;

  // Per actor type, for every type ever spawned; entries live as long as the
  // system_core (cells point at them). Guarded by types_mutex_ (taken at
  // spawn and by snapshots, never per message).
  mutable std::mutex types_mutex_;
  std::map<std::type_index, std::unique_ptr<type_stats>> types_;

  // Declared last: destroyed first, after shutdown() has stopped them.
  runtime::timer_queue timers_;
  runtime::scheduler scheduler_;
  // Invariants:
  //  1. net_ and joined_ are written once, under lifecycle_mutex_, by
  //     start_network, before it publishes net_.get() into net_published_
  //     (release); anyone else reads them only after an acquire load of
  //     net_published_ that saw it non-null (net(), joined()).
  //  2. net_published_ is non-null from the end of a successful
  //     start_network until the system_core is destroyed.
  std::unique_ptr<network> net_;
  bool joined_ = false;
  std::atomic<network*> net_published_{nullptr};
  std::function<void(runtime::log_level, std::string_view)> log_;
  // The actor system's own warnings, by cause (at most 5 lines per second each).
  runtime::log_limiter log_limit_;
};

}  // namespace herald::detail
