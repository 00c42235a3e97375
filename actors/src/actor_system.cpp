#include "herald/actors/actor_system.hpp"

#include <algorithm>
#include <thread>

#include "network.hpp"
#include "node_actor.hpp"
#include "system_core.hpp"

namespace herald {

actor_system::actor_system(actor_system_config cfg)
    : core_(std::make_unique<detail::system_core>(*this, std::move(cfg))) {}

actor_system::~actor_system() { shutdown(); }

void actor_system::shutdown() { core_->shutdown(); }

void actor_system::await_all_stopped() {
  if (core_->scheduler().on_worker_thread()) return;
  (void)core_->await_all_stopped(nullptr);
}

bool actor_system::await_all_stopped(std::chrono::nanoseconds timeout) {
  if (core_->scheduler().on_worker_thread()) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  return core_->await_all_stopped(&deadline);
}

system_metrics actor_system::metrics() const { return core_->metrics(); }

const actor_system_config& actor_system::config() const noexcept { return core_->config(); }

actor_id actor_system::next_id() noexcept { return core_->next_id(); }

detail::ref_ptr<detail::cell_base> actor_system::current_parent() const noexcept {
  auto* c = detail::current_cell();
  if (c && &c->core() == core_.get()) return detail::ref_ptr<detail::cell_base>(c);
  return {};
}

result<void> actor_system::add(const detail::ref_ptr<detail::cell_base>& c, std::type_index type,
                               std::uint64_t wire_type) {
  return core_->add(c, type, wire_type);
}

result<void> actor_system::start_network(runtime::node_config cfg, registry::cluster_config cluster,
                                         wire::type_registry& types, bool join) {
  result<void> ok;
  auto add_type = [&]<class M>() {
    if (ok) ok = types.add<M>();
  };
  detail::interface_types<detail::node_actor, detail::node_actor::messages>::each(add_type);
  if (!ok) return ok;
  // The admin service's own hash: what a node exposing no actor types
  // announces (herald-ctl), admitted by every node (PROTOCOL.md §4.3).
  wire::type_registry admin_types;
  auto add_admin_type = [&]<class M>() {
    if (ok) ok = admin_types.add<M>();
  };
  detail::interface_types<detail::node_actor, detail::node_actor::messages>::each(add_admin_type);
  if (!ok) return ok;
  cfg.admin_schema_hash = admin_types.schema_hash();
  cfg.schema_hash = cfg.admin_client ? cfg.admin_schema_hash : types.schema_hash();
  if (auto started = core_->start_network(std::move(cfg), std::move(cluster), join); !started) return started;
  auto* net = core_->net();
  auto c = make_cell<detail::node_actor>(spawn_options{}, detail::node_actor_id,
                                          [core = core_.get(), net] { return std::make_unique<detail::node_actor>(core, net); });
  return add(c, std::type_index(typeid(detail::node_actor)), detail::actor_type_id<detail::node_actor>());
}

result<std::shared_ptr<const detail::remote_target>> actor_system::find_in_cluster(std::string_view name,
                                                                                  std::uint64_t wire_type) const {
  auto where = core_->find_in_cluster(name, wire_type);
  if (!where) return std::move(where).error();
  return std::make_shared<const detail::remote_target>(detail::remote_target{core_->net()->slot(where->first), where->second});
}

result<actor_system::watch_id> actor_system::watch_names(std::function<void(const name_event&)> fn) {
  auto* net = core_->net();
  if (!net) return error(errc::invalid_argument, "no cluster registry: call start_node() first");
  return net->cluster().registry().subscribe(std::move(fn));
}

result<actor_system::watch_id> actor_system::watch_name(std::string name, std::function<void(const name_event&)> fn) {
  auto* net = core_->net();
  if (!net) return error(errc::invalid_argument, "no cluster registry: call start_node() first");
  return net->cluster().registry().watch(std::move(name), std::move(fn));
}

void actor_system::unwatch(watch_id id) {
  if (auto* net = core_->net()) net->cluster().registry().unsubscribe(id);
}

result<std::vector<std::string>> actor_system::names_with_prefix(std::string_view prefix) const {
  auto* net = core_->net();
  if (!net) return error(errc::invalid_argument, "no cluster registry: call start_node() first");
  std::vector<std::string> out;
  for (auto& [name, entry] : net->cluster().registry().snapshot()) {
    if (name_matches_prefix(name, prefix)) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t actor_system::node_id() const noexcept {
  auto* net = core_->net();
  return net ? net->node_id() : 0;
}

std::vector<std::string> actor_system::listen_addresses() const {
  auto* net = core_->net();
  return net ? net->node().listen_addresses() : std::vector<std::string>{};
}

result<std::shared_ptr<const detail::remote_target>> actor_system::resolve_remote(const std::string& address,
                                                                                 const std::string& name,
                                                                                 std::uint64_t wire_type,
                                                                                 std::chrono::milliseconds timeout) {
  auto* net = core_->net();
  if (!net) return error(errc::invalid_argument, "the actor system has no network: call start_node() first");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto node = net->wait_for_peer(address, deadline);
    if (!node) return std::move(node).error();
    auto slot = net->slot(*node);
    actor_ref<detail::node_actor> remote_node(
        std::make_shared<const detail::remote_target>(detail::remote_target{slot, detail::node_actor_id}));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto reply =
        remote_node.ask(detail::resolve_request{name, wire_type}, std::max(left, std::chrono::milliseconds(1))).get();
    if (!reply) {
      // The link the ask went out on was lost or replaced (two nodes that
      // dial each other at once keep one of the two links): ask again over
      // the link that is up now, while the timeout allows.
      if (reply.error().code() == errc::node_down &&
          std::chrono::steady_clock::now() + std::chrono::milliseconds(10) < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      return std::move(reply).error();
    }
    if (reply->code != 0) return error(static_cast<errc>(reply->code), reply->context);
    return std::make_shared<const detail::remote_target>(detail::remote_target{std::move(slot), reply->actor_id});
  }
}

result<detail::ref_ptr<detail::cell_base>> actor_system::find(std::string_view name, std::type_index type) const {
  return core_->find(name, type);
}

}  // namespace herald
