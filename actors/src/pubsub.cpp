// Aliases and pub/sub: the actor_system side (the topics live in topic_hub).
#include "herald/actors/actor_system.hpp"

#include "network.hpp"
#include "system_core.hpp"

namespace herald {

result<void> actor_system::add_alias_erased(const detail::ref_ptr<detail::cell_base>& c, std::string name,
                                            std::type_index type, std::uint64_t wire_type) {
  return core_->add_alias(c, std::move(name), type, wire_type);
}

result<void> actor_system::remove_alias_erased(const detail::ref_ptr<detail::cell_base>& c, std::string_view name) {
  if (!c) return error(errc::invalid_argument, "an alias needs a local actor: a remote actor's names are its node's");
  if (&c->core() != core_.get()) return error(errc::invalid_argument, "the actor belongs to another actor_system");
  return core_->remove_alias(*c, name);
}

result<void> actor_system::subscribe_erased(const std::string& key, const detail::ref_ptr<detail::cell_base>& c,
                                            std::type_index type, std::uint64_t wire_type,
                                            const detail::envelope_ops* ops) {
  auto* net = core_->net();
  if (!net || !core_->joined()) return error(errc::invalid_argument, "pub/sub needs the cluster registry: call start_node() first");
  if (!c) {
    return error(errc::invalid_argument,
                 "subscribe an actor on its own node: its subscription is one of that node's registry names");
  }
  if (&c->core() != core_.get()) return error(errc::invalid_argument, "the actor belongs to another actor_system");
  std::string name = detail::subscription_name(key, net->node_id(), c->id());
  // The tell first (topic_hub invariant 3): a publisher here that sees the
  // registry name finds it.
  if (!core_->topics().add_local(name, c, ops)) return {};  // subscribed already
  if (auto r = core_->add_alias(c, name, type, wire_type); !r) {
    core_->topics().forget_local({name});
    return r;
  }
  return {};
}

result<void> actor_system::unsubscribe_erased(const std::string& key, const detail::ref_ptr<detail::cell_base>& c) {
  auto* net = core_->net();
  if (!net || !core_->joined()) return error(errc::invalid_argument, "pub/sub needs the cluster registry: call start_node() first");
  if (!c) return error(errc::invalid_argument, "unsubscribe an actor on its own node");
  if (&c->core() != core_.get()) return error(errc::invalid_argument, "the actor belongs to another actor_system");
  auto r = core_->remove_alias(*c, detail::subscription_name(key, net->node_id(), c->id()));
  if (!r && r.error().code() == errc::not_found) return error(errc::not_found, "the actor is not subscribed to this topic");
  return r;
}

result<publish_report> actor_system::publish_erased(const std::string& key,
                                                    const std::function<result<void>(const detail::topic_member&)>& send) {
  auto* net = core_->net();
  if (!net || !core_->joined()) return error(errc::invalid_argument, "pub/sub needs the cluster registry: call start_node() first");
  return core_->topics().publish(*net, key, send);
}

result<std::vector<topic_subscriber>> actor_system::subscribers_erased(const std::string& key) {
  auto* net = core_->net();
  if (!net || !core_->joined()) return error(errc::invalid_argument, "pub/sub needs the cluster registry: call start_node() first");
  return core_->topics().subscribers(*net, key);
}

}  // namespace herald
