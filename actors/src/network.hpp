#pragma once

#include <array>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "herald/actors/detail/cell.hpp"
#include "herald/actors/detail/event_log.hpp"
#include "herald/actors/detail/remote_target.hpp"
#include "herald/actors/metrics.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/registry/runtime_cluster.hpp"
#include "herald/runtime/node.hpp"

namespace herald::detail {

class system_core;
class http_endpoint;

// The actor system's side of the transport: it receives frames for local
// actors and puts them in their mailboxes, tracks the connection to each
// peer node for the refs that point there, and runs remote monitors. Safe
// for concurrent use; frame_sink calls come from io threads.
class network final : public runtime::frame_sink {
 public:
  explicit network(system_core& core);
  ~network() override;

  // Starts the transport and the cluster layer (membership, gossip, the
  // cluster-wide registry), which joins through cluster.seeds.
  result<void> start(runtime::node_config cfg, registry::cluster_config cluster);
  // Leaves the cluster gracefully, closes every connection (pending remote
  // asks fail with node_down) and joins the io threads. Idempotent.
  void shutdown();

  system_core& core() noexcept { return core_; }
  registry::runtime_cluster& cluster() noexcept { return *cluster_; }
  const registry::runtime_cluster& cluster() const noexcept { return *cluster_; }

  runtime::node& node() noexcept { return *node_; }
  std::uint64_t node_id() const noexcept { return node_id_.load(std::memory_order_acquire); }

  // The slot of a peer node, created on first use.
  std::shared_ptr<peer_slot> slot(std::uint64_t node_id);
  // Dials `address` if needed and waits until its node is connected.
  result<std::uint64_t> wait_for_peer(const std::string& address, std::chrono::steady_clock::time_point deadline);

  // Remote monitors: `deliver(*watcher, down)` when (node, actor) stops or
  // its node is lost.
  void monitor(const remote_target& target, ref_ptr<cell_base> watcher, cell_base::down_fn deliver);
  void deliver_down(std::uint64_t node, actor_id actor, const error& reason);

  void count_decode_failure() noexcept { decode_failures_.fetch_add(1, std::memory_order_relaxed); }
  void count_reply_failure() noexcept { reply_failures_.fetch_add(1, std::memory_order_relaxed); }
  void count_unknown_type() noexcept { unknown_types_.fetch_add(1, std::memory_order_relaxed); }
  void add_metrics(system_metrics& m) const;
  // The members as this node sees them (itself included) and the
  // cluster-wide registry, sorted by name (admin service, exporter).
  // member_rows() waits for the cluster's thread; only for a joined node.
  std::vector<member_row> member_rows();
  std::vector<registry_row> registry_rows();
  // Membership events seen, by kind (member_event_kind's values).
  std::uint64_t member_events(registry::member_event_kind k) const noexcept {
    return member_events_[static_cast<std::size_t>(k)].load(std::memory_order_relaxed);
  }
  static constexpr std::size_t member_event_kinds = 6;
  // The recent membership and registry events (admin service, dashboard).
  const event_log& events() const noexcept { return events_; }
  // The bound address of the metrics and dashboard listener ("127.0.0.1:9464"),
  // empty when node_config::metrics_listen was.
  std::string http_address() const;

  // frame_sink
  void on_frame(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame frame) override;
  void on_frame_view(const std::shared_ptr<runtime::connection>& from, const wire::frame_header& header,
                     std::span<const std::byte> payload, runtime::buffer_pool& pool) override;
  // Frames hold their window until their remote_call is destroyed.
  bool holds_credit() const noexcept override { return true; }
  void on_control(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame frame) override;
  void on_peer_up(const std::shared_ptr<runtime::connection>& conn) override;
  void on_peer_down(const runtime::peer_info& peer, const herald::error& reason) override;

 private:
  using watcher = std::pair<ref_ptr<cell_base>, cell_base::down_fn>;

  // The actor with this id, or null: on an io thread through a one-entry
  // cache of the last target (network.cpp), which keeps it alive; elsewhere
  // from the id table, kept alive by `hold`.
  cell_base* find_target(actor_id id, ref_ptr<cell_base>& hold) const;
  // Queues the tell or ask of `header` for its actor: build(envelope&)
  // constructs its call in the mailbox node. A frame for no actor is
  // counted (an ask is answered with actor_stopped).
  template <class Build>
  void hand_to_actor(const std::shared_ptr<runtime::connection>& from, const wire::frame_header& header,
                     Build&& build);

  system_core& core_;
  // Adds a closed link's final counters to its peer's totals. Call with mutex_ held.
  void add_closed_link_locked(std::uint64_t node, const runtime::connection_stats& s);
  // The slot of node_id, created if needed. Call with mutex_ held.
  std::shared_ptr<peer_slot>& slot_locked(std::uint64_t node_id);
  void on_member_event(const registry::member_event& e);
  void on_registry_event(const registry::registry_event& e);

  event_log events_;
  std::unique_ptr<runtime::node> node_;
  std::unique_ptr<registry::runtime_cluster> cluster_;
  // cluster_ as the io threads see it: the node's io threads run (and may
  // hand up a peer) before cluster_ exists; they skip it until published.
  std::atomic<registry::runtime_cluster*> cluster_ready_{nullptr};
  std::atomic<std::uint64_t> node_id_{0};  // set once the node is up; read by io threads

  mutable std::mutex mutex_;
  std::condition_variable peer_up_;
  std::unordered_map<std::uint64_t, std::shared_ptr<peer_slot>> peers_;
  std::unordered_map<std::string, std::uint64_t> by_address_;
  std::map<std::pair<std::uint64_t, actor_id>, std::vector<watcher>> watchers_;
  // The counters of every closed link, per peer node, so that metrics stay
  // cumulative across reconnects. Under mutex_.
  std::unordered_map<std::uint64_t, runtime::connection_stats> closed_links_;
  std::uint64_t links_closed_ = 0;  // under mutex_

  std::atomic<std::uint64_t> frames_to_missing_actors_{0};
  std::atomic<std::uint64_t> decode_failures_{0};
  std::atomic<std::uint64_t> reply_failures_{0};
  std::atomic<std::uint64_t> unknown_types_{0};
  std::atomic<std::uint64_t> name_conflicts_lost_{0};
  std::atomic<std::uint64_t> members_lost_{0};
  std::array<std::atomic<std::uint64_t>, member_event_kinds> member_events_{};
  // Declared last: stopped first (its handlers read everything above).
  std::unique_ptr<http_endpoint> http_;
};

}  // namespace herald::detail
