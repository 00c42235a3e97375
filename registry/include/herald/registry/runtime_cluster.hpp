#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "herald/registry/cluster_env.hpp"
#include "herald/registry/cluster_node.hpp"
#include "herald/runtime/connection.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/runtime/inbound_frame.hpp"
#include "herald/runtime/node.hpp"

namespace herald::registry {

// A cluster_node running over a runtime::node: control messages travel as
// frames of kind gossip on each connection's control lane, and a thread of
// its own runs the node's ticks and everything the transport hands up.
// The layer that owns the node's frame_sink forwards on_control, on_peer_up
// and on_peer_down here.
// Safe for concurrent use: the forwarding calls come from io threads and are
// queued to the cluster thread; registry() is safe from any thread.
class runtime_cluster {
 public:
  // cfg.self and cfg.address default to the node's identity and first listen
  // address when left zero or empty. Call start() to run.
  runtime_cluster(cluster_config cfg, runtime::node& node,
                  std::chrono::milliseconds tick_interval = std::chrono::milliseconds(50));
  ~runtime_cluster();
  runtime_cluster(const runtime_cluster&) = delete;
  runtime_cluster& operator=(const runtime_cluster&) = delete;

  // Membership events, on the cluster thread. Register before start().
  void on_member_event(cluster_node::member_callback cb);
  void start();
  // Stops the cluster thread and drops queued frames. Call before the
  // runtime node is destroyed. Idempotent.
  void stop();
  // Announces a graceful leave (sent before this returns), then stops.
  void leave();

  // From the frame_sink, on any thread.
  void on_control(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame frame);
  void on_peer_up(const std::shared_ptr<runtime::connection>& conn);
  void on_peer_down(const runtime::peer_info& peer, const herald::error& reason);

  name_registry& registry() noexcept { return node_.registry(); }
  // Runs fn on the cluster thread and returns its result (for tools and
  // tests). Called on the cluster thread itself (from a member event), or
  // before start() or after stop(), it runs fn at once on the caller.
  template <class F>
  auto call(F fn) -> decltype(fn(std::declval<cluster_node&>()));

 private:
  class link final : public control_transport {
   public:
    explicit link(runtime_cluster& owner) : owner_(owner) {}
    void send(std::string_view address, std::span<const std::byte> bytes) override;

   private:
    runtime_cluster& owner_;
  };

  // False when nothing will run fn: not started, or stopping.
  bool post(std::function<void(cluster_node&)> fn);
  void run();
  bool on_cluster_thread() const noexcept;
  // Waits until the cluster thread has exited (or was never started).
  void wait_until_idle();

  runtime::node& transport_;
  system_clock_source clock_;
  link link_{*this};
  cluster_node node_;
  const std::chrono::milliseconds tick_interval_;

  std::mutex peers_mutex_;
  // Listen address of each connected peer -> its connection.
  // A link's generation orders the announcements (runtime::peer_info): an
  // entry outlives its link so that a stale on_peer_up stays a no-op.
  struct peer_link {
    std::weak_ptr<runtime::connection> conn;
    std::uint64_t generation = 0;
  };
  std::unordered_map<std::string, peer_link> peers_;

  // Invariants:
  // 1. inbox_ and stopping_ change only under mutex_; the cluster thread is
  //    the only one that runs what inbox_ holds, and it alone touches node_
  //    (apart from node_.registry(), which is safe for concurrent use).
  // 2. Once stopping_ is set nothing more is queued.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::function<void(cluster_node&)>> inbox_;
  bool running_ = false;   // from start() until run() has returned
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  // Serializes calls that run on a caller's thread once no cluster thread runs.
  std::mutex direct_mutex_;
};

template <class F>
auto runtime_cluster::call(F fn) -> decltype(fn(std::declval<cluster_node&>())) {
  using R = decltype(fn(std::declval<cluster_node&>()));
  if (on_cluster_thread()) return fn(node_);
  auto done = std::make_shared<std::promise<R>>();
  auto result = done->get_future();
  const bool queued = post([done, &fn](cluster_node& n) {
    if constexpr (std::is_void_v<R>) {
      fn(n);
      done->set_value();
    } else {
      done->set_value(fn(n));
    }
  });
  if (queued) return result.get();  // run() runs every queued call, even when stopping
  wait_until_idle();
  std::lock_guard lock(direct_mutex_);
  return fn(node_);
}

}  // namespace herald::registry
