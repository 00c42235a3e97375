#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "herald/actors/actor.hpp"
#include "herald/actors/detail/node_protocol.hpp"
#include "herald/actors/remote.hpp"

namespace herald::detail {

class network;
class system_core;

// The built-in actor every networked node runs under id node_actor_id: it
// resolves names for other nodes and tells them when actors they monitor
// stop. Confined to its own handlers, like any actor.
class node_actor : public actor<node_actor> {
 public:
  using messages = herald::messages<resolve_request, monitor_request, remote_down_notice, members_request,
                                    registry_request, metrics_request, events_request, actor_types_request,
                                    spawn_request, spawnable_request>;

  node_actor(system_core* core, network* net) : core_(core), net_(net) {}

  resolve_reply on(const resolve_request& r);
  void on(const monitor_request& r);
  void on(const remote_down_notice& n);
  void on(const down& d);
  members_reply on(const members_request&);
  registry_reply on(const registry_request&);
  metrics_reply on(const metrics_request&);
  events_reply on(const events_request& r);
  actor_types_reply on(const actor_types_request&);
  // Remote spawn (remote_spawn.cpp).
  spawn_reply on(const spawn_request& r);
  spawnable_reply on(const spawnable_request&);

 private:
  void notify(std::uint64_t node, actor_id who, const error& reason);

  system_core* core_;
  network* net_;
  // Local actor -> the nodes that monitor it.
  std::unordered_map<actor_id, std::vector<std::uint64_t>> watched_by_;
};

}  // namespace herald::detail
