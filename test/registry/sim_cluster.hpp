#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "herald/registry/cluster_node.hpp"
#include "herald/registry/sim_network.hpp"

namespace herald::registry::test {

using namespace std::chrono_literals;

// N cluster nodes on a simulated network: node i listens at "node-i", has
// node id i + 1, and joins through node-0. Logs are kept, not printed.
class sim_cluster {
 public:
  explicit sim_cluster(std::size_t n, std::uint64_t seed = 42, cluster_config base = {})
      : net_(seed), base_(std::move(base)), nodes_(n), running_(n, false), events_(n) {
    for (std::size_t i = 0; i < n; ++i) start(i, 1);
  }

  static std::string address(std::size_t i) { return "node-" + std::to_string(i); }

  // Starts (or restarts, with a higher incarnation) node i.
  void start(std::size_t i, incarnation_t incarnation) {
    cluster_config cfg = base_;
    cfg.self = member_key{i + 1, incarnation};
    cfg.name = "n" + std::to_string(i);
    cfg.address = address(i);
    if (cfg.seeds.empty()) cfg.seeds = {address(0)};
    cfg.log = [this](std::string_view line) { log_.emplace_back(line); };
    control_transport& link =
        net_.add(cfg.address, sim_network::endpoint_hooks{
                                  [this, i](std::span<const std::byte> b) { nodes_[i]->on_message(b); },
                                  [this, i](std::string_view from) { nodes_[i]->on_connection_lost(from); },
                                  [this, i] { nodes_[i]->tick(); }});
    nodes_[i] = std::make_unique<cluster_node>(cfg, link, net_);
    nodes_[i]->on_member_event([this, i](const member_event& e) { events_[i].push_back(e); });
    running_[i] = true;
  }
  void kill(std::size_t i, bool reset = true) {
    net_.kill(address(i), reset);
    running_[i] = false;
  }
  void pause(std::size_t i) {
    net_.pause(address(i));
    running_[i] = false;
  }
  void resume(std::size_t i) {
    net_.resume(address(i));
    running_[i] = true;
  }

  cluster_node& node(std::size_t i) { return *nodes_[i]; }
  sim_network& net() { return net_; }
  std::size_t size() const { return nodes_.size(); }
  const std::vector<member_event>& events(std::size_t i) const { return events_[i]; }
  const std::vector<std::string>& log() const { return log_; }

  // Every running node sees exactly the running nodes as up, and holds the
  // same registry.
  bool converged() const {
    std::vector<member_key> expected;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (running_[i]) expected.push_back(nodes_[i]->self().key);
    }
    const cluster_node* first = nullptr;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!running_[i]) continue;
      std::vector<member_key> seen;
      for (const member_info& m : nodes_[i]->live_members()) {
        if (m.status != member_status::up) return false;
        seen.push_back(m.key);
      }
      if (seen != expected) return false;
      if (first == nullptr) {
        first = nodes_[i].get();
      } else if (nodes_[i]->registry().snapshot() != first->registry().snapshot()) {
        return false;
      }
    }
    return true;
  }

  // Whether every running node other than i holds node i as status and none of its names.
  bool all_see(std::size_t i, member_status status) const {
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i || !running_[j]) continue;
      const member_info* m = nodes_[j]->members().find(i + 1);
      if (m == nullptr || m->status != status) return false;
      if (nodes_[j]->registry().live_names_of(i + 1) != 0) return false;
    }
    return true;
  }

  // Steps one gossip interval at a time until converged; the number of
  // intervals, or limit + 1 if it never converged.
  std::size_t rounds_until_converged(std::size_t limit) {
    for (std::size_t r = 1; r <= limit; ++r) {
      net_.run_for(base_.gossip_interval);
      if (converged()) return r;
    }
    return limit + 1;
  }

 private:
  sim_network net_;
  cluster_config base_;
  std::vector<std::unique_ptr<cluster_node>> nodes_;
  std::vector<bool> running_;
  std::vector<std::vector<member_event>> events_;
  std::vector<std::string> log_;
};

}  // namespace herald::registry::test
