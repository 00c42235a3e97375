// Introspection of another node through its node actor (herald-ctl).
#include <algorithm>

#include "herald/actors/actor_system.hpp"
#include "network.hpp"
#include "node_actor.hpp"
#include "system_core.hpp"

namespace herald {
namespace {

template <class Request>
auto ask_node_actor(detail::network* net, const std::string& address, Request req,
                    std::chrono::milliseconds timeout)
    -> result<std::decay_t<decltype(std::declval<detail::node_actor&>().on(req))>> {
  if (!net)
    return error(errc::invalid_argument,
                 "the actor system has no network: call start_node() or start_client() first");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto node = net->wait_for_peer(address, deadline);
  if (!node) return std::move(node).error();
  actor_ref<detail::node_actor> remote(std::make_shared<const detail::remote_target>(
      detail::remote_target{net->slot(*node), detail::node_actor_id}));
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return remote.ask(std::move(req), std::max(left, std::chrono::milliseconds(1))).get();
}

}  // namespace

result<std::vector<admin::member>> actor_system::members_at(const std::string& address,
                                                            std::chrono::milliseconds timeout) {
  auto r = ask_node_actor(core_->net(), address, detail::members_request{}, timeout);
  if (!r) return std::move(r).error();
  return std::move(r->members);
}

result<std::vector<admin::registry_entry>> actor_system::registry_at(const std::string& address,
                                                                     std::chrono::milliseconds timeout) {
  auto r = ask_node_actor(core_->net(), address, detail::registry_request{}, timeout);
  if (!r) return std::move(r).error();
  return std::move(r->entries);
}

result<std::vector<admin::counter>> actor_system::metrics_at(const std::string& address,
                                                             std::chrono::milliseconds timeout) {
  auto r = ask_node_actor(core_->net(), address, detail::metrics_request{}, timeout);
  if (!r) return std::move(r).error();
  return std::move(r->counters);
}

result<admin::events> actor_system::events_at(const std::string& address, std::uint64_t after,
                                              std::chrono::milliseconds timeout) {
  return ask_node_actor(core_->net(), address, detail::events_request{after}, timeout);
}

result<admin::actor_types> actor_system::actor_types_at(const std::string& address, std::chrono::milliseconds timeout) {
  return ask_node_actor(core_->net(), address, detail::actor_types_request{}, timeout);
}

std::string actor_system::http_address() const {
  const auto* net = core_->net();
  return net ? net->http_address() : std::string();
}

}  // namespace herald
