#pragma once

// Cluster nodes over the real runtime transport (TCP loopback), for the
// loopback and multi-process tests.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "herald/registry/runtime_cluster.hpp"
#include "herald/runtime/node.hpp"

namespace herald::registry::test {

// Hands what the transport receives to a runtime_cluster once it exists.
class forwarding_sink final : public runtime::frame_sink {
 public:
  std::atomic<runtime_cluster*> cluster{nullptr};
  // Every lost link, also before the cluster exists; set before the node starts.
  std::function<void(const runtime::peer_info&)> on_link_down;

  void on_frame(const std::shared_ptr<runtime::connection>&, runtime::inbound_frame) override {}
  void on_control(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame f) override {
    if (auto* c = cluster.load()) c->on_control(from, std::move(f));
  }
  void on_peer_up(const std::shared_ptr<runtime::connection>& conn) override {
    if (auto* c = cluster.load()) c->on_peer_up(conn);
  }
  void on_peer_down(const runtime::peer_info& peer, const herald::error& e) override {
    if (on_link_down) on_link_down(peer);
    if (auto* c = cluster.load()) c->on_peer_down(peer, e);
  }
};

// One process's node: transport, cluster logic, and the events it raised.
struct loopback_node {
  forwarding_sink sink;
  std::unique_ptr<runtime::node> node;
  std::unique_ptr<runtime_cluster> cluster;
  std::mutex mutex;
  std::vector<member_event> events;

  ~loopback_node() {
    sink.cluster.store(nullptr);
    if (cluster) cluster->stop();
    if (node) node->shutdown();
  }

  // Starts a node with id `id` listening on an ephemeral loopback port and
  // joining through seeds. The small rings keep 16 nodes' full mesh cheap.
  // A non-zero incarnation replaces the transport's default (a restart of
  // the same node id); an empty listen makes a client node.
  static std::unique_ptr<loopback_node> start(std::uint64_t id, std::vector<std::string> seeds,
                                              std::function<void(const member_event&)> on_event = {},
                                              std::function<void(const runtime::peer_info&)> on_link_down = {},
                                              std::uint64_t incarnation = 0, bool listen = true) {
    auto n = std::make_unique<loopback_node>();
    n->sink.on_link_down = std::move(on_link_down);
    runtime::node_config rc;
    rc.node_id = id;
    if (incarnation != 0) rc.incarnation = incarnation;
    rc.node_name = "n" + std::to_string(id);
    if (listen) rc.listen = {"tcp://127.0.0.1:0"};
    rc.secret.value = "cluster-test-secret";
    rc.ring_capacity = 64u << 10;
    rc.control_ring_capacity = 64u << 10;
    rc.read_buffer_size = 64u << 10;
    rc.log = [](runtime::log_level, std::string_view) {};
    auto node = runtime::node::start(rc, n->sink);
    if (!node) return nullptr;
    n->node = std::move(*node);
    cluster_config cc;
    cc.seeds = std::move(seeds);
    cc.log = [](std::string_view) {};
    n->cluster = std::make_unique<runtime_cluster>(cc, *n->node);
    loopback_node* raw = n.get();
    n->cluster->on_member_event([raw, on_event](const member_event& e) {
      {
        std::lock_guard lock(raw->mutex);
        raw->events.push_back(e);
      }
      if (on_event) on_event(e);
    });
    n->sink.cluster.store(n->cluster.get());
    n->cluster->start();
    return n;
  }

  std::string address() const {
    auto all = node->listen_addresses();
    return all.empty() ? std::string() : all.front();
  }

  std::vector<member_key> live() {
    return cluster->call([](cluster_node& c) {
      std::vector<member_key> out;
      for (const member_info& m : c.live_members()) {
        if (m.status == member_status::up) out.push_back(m.key);
      }
      return out;
    });
  }

  member_status status_of(node_id id) {
    return cluster->call([id](cluster_node& c) {
      const member_info* m = c.members().find(id);
      return m == nullptr ? member_status::down : m->status;
    });
  }
};

}  // namespace herald::registry::test
