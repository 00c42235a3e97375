#include "herald/actors/actor_system.hpp"

#include "system_core.hpp"

namespace herald {

actor_system::actor_system(actor_system_config cfg)
    : core_(std::make_unique<detail::system_core>(*this, std::move(cfg))) {}

actor_system::~actor_system() { shutdown(); }

void actor_system::shutdown() { core_->shutdown(); }

system_metrics actor_system::metrics() const { return core_->metrics(); }

const actor_system_config& actor_system::config() const noexcept { return core_->config(); }

actor_id actor_system::next_id() noexcept { return core_->next_id(); }

detail::ref_ptr<detail::cell_base> actor_system::current_parent() const noexcept {
  auto* c = detail::current_cell();
  if (c && &c->core() == core_.get()) return detail::ref_ptr<detail::cell_base>(c);
  return {};
}

result<void> actor_system::add(const detail::ref_ptr<detail::cell_base>& c, std::type_index type) {
  return core_->add(c, type);
}

result<detail::ref_ptr<detail::cell_base>> actor_system::find(std::string_view name, std::type_index type) const {
  return core_->find(name, type);
}

}  // namespace herald
