#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

namespace herald::detail {

// The messages of the built-in node actor (actor id node_actor_id on every
// node that started its network): name resolution and remote monitors.
inline constexpr std::uint64_t node_actor_id = 1;

struct resolve_request {
  static constexpr std::string_view wire_name = "herald.resolve_request";
  std::string name;
  std::uint64_t actor_type = 0;
  auto fields() { return std::tie(name, actor_type); }
};

struct resolve_reply {
  static constexpr std::string_view wire_name = "herald.resolve_reply";
  std::uint64_t actor_id = 0;
  std::uint16_t code = 0;  // errc; 0 when found
  std::string context;
  auto fields() { return std::tie(actor_id, code, context); }
};

// "Tell my node when actor_id stops."
struct monitor_request {
  static constexpr std::string_view wire_name = "herald.monitor_request";
  std::uint64_t actor_id = 0;
  std::uint64_t requester_node = 0;
};

// "actor_id of node `node` has stopped, for this reason."
struct remote_down_notice {
  static constexpr std::string_view wire_name = "herald.remote_down";
  std::uint64_t actor_id = 0;
  std::uint64_t node = 0;
  std::uint16_t code = 0;
  std::string context;
  auto fields() { return std::tie(actor_id, node, code, context); }
};

}  // namespace herald::detail
