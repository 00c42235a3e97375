#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace herald::registry {

// A node's stable identifier, chosen by its configuration; it addresses the
// node in membership and in registry entries.
using node_id = std::uint64_t;
// Fixed for one run of a node's process and strictly greater after a restart,
// so that a restarted node is a new member with a fresh registry stream.
using incarnation_t = std::uint64_t;
// An actor's id on its node and the 64-bit id of its actor type.
using actor_id = std::uint64_t;
using type_id = std::uint64_t;
// Position in a node's registry stream: every change of its names bumps it.
using stream_version = std::uint64_t;

// One run of one node: the identity that membership and registry entries carry.
struct member_key {
  node_id node = 0;
  incarnation_t incarnation = 0;

  friend bool operator==(const member_key&, const member_key&) = default;
  friend auto operator<=>(const member_key&, const member_key&) = default;
};

// Hashes std::string and std::string_view alike so that lookups by view do not allocate.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace herald::registry
