// Remote spawn: the node actor's spawn service and the asking side of it.
#include <algorithm>

#include "herald/actors/actor_system.hpp"
#include "network.hpp"
#include "node_actor.hpp"
#include "system_core.hpp"

namespace herald {

result<void> actor_system::add_spawnable(std::uint64_t type, std::string wire_name,
                                         std::function<result<std::uint64_t>(std::string, std::string_view)> factory) {
  return core_->spawnables().add(type, std::move(wire_name), std::move(factory));
}

result<std::shared_ptr<const detail::remote_target>> actor_system::spawn_remote(std::uint64_t node,
                                                                               const std::string& name,
                                                                               std::uint64_t wire_type,
                                                                               std::string args,
                                                                               std::chrono::milliseconds timeout) {
  auto* net = core_->net();
  if (!net) return error(errc::invalid_argument, "the actor system has no network: call start_node() first");
  auto slot = net->slot(node);
  if (auto live = slot->live(); !live) {
    return error(errc::node_down, "cannot spawn on node " + std::to_string(node) +
                                      ": no link to it (it is down, left, or not a member)");
  }
  actor_ref<detail::node_actor> remote(
      std::make_shared<const detail::remote_target>(detail::remote_target{slot, detail::node_actor_id}));
  auto reply = remote.ask(detail::spawn_request{wire_type, name, std::move(args)}, timeout).get();
  if (!reply) return std::move(reply).error();
  if (reply->code != 0) return error(static_cast<errc>(reply->code), reply->context);
  return std::make_shared<const detail::remote_target>(detail::remote_target{std::move(slot), reply->actor_id});
}

result<std::vector<admin::spawnable_type>> actor_system::spawnable_at(const std::string& address,
                                                                      std::chrono::milliseconds timeout) {
  auto* net = core_->net();
  if (!net) {
    return error(errc::invalid_argument, "the actor system has no network: call start_node() or start_client() first");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto node = net->wait_for_peer(address, deadline);
  if (!node) return std::move(node).error();
  actor_ref<detail::node_actor> remote(std::make_shared<const detail::remote_target>(
      detail::remote_target{net->slot(*node), detail::node_actor_id}));
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  auto r = remote.ask(detail::spawnable_request{}, std::max(left, std::chrono::milliseconds(1))).get();
  if (!r) return std::move(r).error();
  return std::move(r->types);
}

}  // namespace herald

namespace herald::detail {

spawn_reply node_actor::on(const spawn_request& r) {
  auto fail = [](const error& e) { return spawn_reply{0, static_cast<std::uint16_t>(e.code()), e.context()}; };
  if (!r.name.empty() && core_->joined()) {
    // The local spawn refuses a name this node holds; this refuses one that
    // another node holds, as far as this node's copy of the registry knows.
    if (auto held = net_->cluster().registry().lookup(r.name); held) {
      return fail(error(errc::invalid_argument, "the name '" + r.name + "' is registered already (actor " +
                                                    std::to_string(held->actor) + " of node " +
                                                    std::to_string(held->owner.node) + ")"));
    }
  }
  auto id = core_->spawnables().spawn(r.actor_type, r.name, r.args);
  if (!id) return fail(id.error());
  return spawn_reply{*id, 0, {}};
}

spawnable_reply node_actor::on(const spawnable_request&) { return spawnable_reply{core_->spawnables().list()}; }

}  // namespace herald::detail
