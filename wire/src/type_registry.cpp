#include "herald/wire/type_registry.hpp"

#include <algorithm>
#include <cstdio>

namespace herald::wire {

namespace {

std::string hex(std::uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    h ^= static_cast<std::uint8_t>(v >> (8 * i));
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

result<void> type_registry::add(std::string_view wire_name, std::uint64_t id, const void* key) {
  if (id == 0) return herald::error(errc::invalid_argument, "type id 0 is reserved ('" + std::string(wire_name) + "')");
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    if (it->second.name == wire_name) {
      if (key == nullptr || it->second.key == nullptr || key == it->second.key) return {};
      return herald::error(errc::duplicate_type_id, "wire name '" + std::string(wire_name) + "' (type id " + hex(id) +
                                                        ") is claimed by two different C++ types");
    }
    return herald::error(errc::duplicate_type_id, "type id " + hex(id) + " of '" + std::string(wire_name) +
                                                      "' is already taken by '" + it->second.name + "'");
  }
  by_id_.emplace(id, type_entry{id, std::string(wire_name), key});
  rehash();
  return {};
}

const type_entry* type_registry::find(std::uint64_t id) const noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

result<const type_entry*> type_registry::lookup(std::uint64_t id) const {
  if (const auto* e = find(id)) return e;
  return herald::error(errc::unknown_type, "no message type with id " + hex(id) + " is registered");
}

std::vector<type_entry> type_registry::entries() const {
  std::vector<type_entry> out;
  out.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const type_entry& a, const type_entry& b) { return a.id < b.id; });
  return out;
}

void type_registry::rehash() {
  std::uint64_t h = fnv1a64({});
  for (const auto& e : entries()) {
    h = mix(h, e.id, 8);
    h = mix(h, e.name.size(), 4);
    h = fnv1a64(e.name, h);
  }
  schema_hash_ = h;
}

}  // namespace herald::wire
