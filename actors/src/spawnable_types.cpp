#include "spawnable_types.hpp"

#include <algorithm>

namespace herald::detail {

result<void> spawnable_types::add(std::uint64_t actor_type, std::string wire_name, factory f) {
  std::lock_guard lock(mutex_);
  if (types_.contains(actor_type)) {
    return error(errc::invalid_argument, "actor type " + wire_name + " is declared spawnable already");
  }
  types_.emplace(actor_type, entry{std::move(wire_name), std::make_shared<const factory>(std::move(f))});
  return {};
}

result<std::uint64_t> spawnable_types::spawn(std::uint64_t actor_type, std::string name, std::string_view args) const {
  std::shared_ptr<const factory> make;
  {
    std::lock_guard lock(mutex_);
    auto it = types_.find(actor_type);
    if (it == types_.end()) {
      return error(errc::unknown_type,
                   "actor type id " + std::to_string(actor_type) + " is not declared spawnable on this node");
    }
    make = it->second.make;
  }
  return (*make)(std::move(name), args);
}

std::vector<spawnable_row> spawnable_types::list() const {
  std::vector<spawnable_row> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [type, e] : types_) out.push_back(spawnable_row{type, e.wire_name});
  }
  std::sort(out.begin(), out.end(), [](const spawnable_row& a, const spawnable_row& b) { return a.wire_name < b.wire_name; });
  return out;
}

}  // namespace herald::detail
