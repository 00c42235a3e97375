#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "herald/actors/detail/node_protocol.hpp"
#include "herald/result.hpp"

namespace herald::detail {

// The actor types that other nodes may spawn on this node (remote spawn),
// each with the factory that decodes its constructor arguments and spawns it.
// Safe for concurrent use; a factory runs outside the table's lock.
class spawnable_types {
 public:
  // Spawns an actor named `name` (empty: anonymous) from the encoded
  // arguments; its id, or why not (decode_failed, invalid_argument, ...).
  using factory = std::function<result<std::uint64_t>(std::string name, std::string_view args)>;

  // invalid_argument if actor_type is declared already.
  result<void> add(std::uint64_t actor_type, std::string wire_name, factory f);
  // unknown_type if actor_type was not declared.
  result<std::uint64_t> spawn(std::uint64_t actor_type, std::string name, std::string_view args) const;
  // Every declared type, by wire name.
  std::vector<spawnable_row> list() const;

 private:
  struct entry {
    std::string wire_name;
    std::shared_ptr<const factory> make;
  };
  mutable std::mutex mutex_;
  std::map<std::uint64_t, entry> types_;  // under mutex_
};

}  // namespace herald::detail
