#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "herald/result.hpp"
#include "herald/wire/message.hpp"

namespace herald::wire {

// What a node knows about one message type.
struct type_entry {
  std::uint64_t id = 0;
  std::string name;  // the wire name
  const void* key = nullptr;  // identifies the C++ type within this process
};

namespace detail {
template <class T>
inline constexpr char type_key = 0;
}  // namespace detail

// The message types a node can receive, by type id, and the schema hash that
// the handshake compares (PROTOCOL.md, "Schema hash"). Filled while the
// system starts, read-only afterwards: add() is not safe concurrently with
// anything; find() and schema_hash() are safe for concurrent use once adding
// is over.
class type_registry {
 public:
  // Registers T under type_id_of<T>(). Adding the same type twice is a
  // no-op. A different name with the same id, or two C++ types with the same
  // wire name, is duplicate_type_id naming both.
  template <class T>
  result<void> add() {
    return add(wire_name_of<T>(), type_id_of<T>(), &detail::type_key<std::remove_cvref_t<T>>);
  }
  // key: any address unique to the C++ type, or nullptr when there is none.
  result<void> add(std::string_view wire_name, std::uint64_t id, const void* key = nullptr);

  // The entry for id, or nullptr: the caller reports unknown_type.
  const type_entry* find(std::uint64_t id) const noexcept;
  // find() as a result: unknown_type naming the id when absent.
  result<const type_entry*> lookup(std::uint64_t id) const;

  template <class T>
  bool contains() const noexcept {
    return find(type_id_of<T>()) != nullptr;
  }
  std::size_t size() const noexcept { return by_id_.size(); }

  // FNV-1a 64 over the entries sorted by id, each as its id (8 bytes,
  // little-endian), its name's length (4 bytes, little-endian) and its name.
  // Equal on two nodes exactly when they know the same (name, id) set.
  std::uint64_t schema_hash() const noexcept { return schema_hash_; }

  // The entries sorted by id (for diagnostics: which types differ).
  std::vector<type_entry> entries() const;

 private:
  void rehash();

  std::unordered_map<std::uint64_t, type_entry> by_id_;
  std::uint64_t schema_hash_ = fnv1a64({});
};

}  // namespace herald::wire
