#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

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

// Introspection for tools (herald-ctl): members, registry, counters.
struct members_request {
  static constexpr std::string_view wire_name = "herald.members_request";
  std::uint8_t unused = 0;
};
struct member_row {
  std::uint64_t node = 0;
  std::uint64_t incarnation = 0;
  std::string name;
  std::string address;
  std::string status;  // "up", "suspect", "down", "left"
  auto fields() { return std::tie(node, incarnation, name, address, status); }
};
struct members_reply {
  static constexpr std::string_view wire_name = "herald.members_reply";
  std::vector<member_row> members;
  auto fields() { return std::tie(members); }
};

struct registry_request {
  static constexpr std::string_view wire_name = "herald.registry_request";
  std::uint8_t unused = 0;
};
struct registry_row {
  std::string name;
  std::uint64_t node = 0;
  std::uint64_t incarnation = 0;
  std::uint64_t actor = 0;
  std::uint64_t actor_type = 0;
  auto fields() { return std::tie(name, node, incarnation, actor, actor_type); }
};
struct registry_reply {
  static constexpr std::string_view wire_name = "herald.registry_reply";
  std::vector<registry_row> entries;
  auto fields() { return std::tie(entries); }
};

struct metrics_request {
  static constexpr std::string_view wire_name = "herald.metrics_request";
  std::uint8_t unused = 0;
};
struct counter_row {
  std::string name;
  std::uint64_t value = 0;
  auto fields() { return std::tie(name, value); }
};
struct metrics_reply {
  static constexpr std::string_view wire_name = "herald.metrics_reply";
  std::vector<counter_row> counters;
  auto fields() { return std::tie(counters); }
};

// Remote spawn: "start an actor of actor_type named `name` here", with the
// constructor arguments encoded as one message (detail::spawn_args).
struct spawn_request {
  static constexpr std::string_view wire_name = "herald.spawn_request";
  std::uint64_t actor_type = 0;
  std::string name;
  std::string args;
  auto fields() { return std::tie(actor_type, name, args); }
};
struct spawn_reply {
  static constexpr std::string_view wire_name = "herald.spawn_reply";
  std::uint64_t actor_id = 0;
  std::uint16_t code = 0;  // errc; 0 when the actor runs and its name is registered
  std::string context;
  auto fields() { return std::tie(actor_id, code, context); }
};

// The actor types this node may be asked to spawn.
struct spawnable_request {
  static constexpr std::string_view wire_name = "herald.spawnable_request";
  std::uint8_t unused = 0;
};
struct spawnable_row {
  std::uint64_t actor_type = 0;
  std::string wire_name;
  auto fields() { return std::tie(actor_type, wire_name); }
};
struct spawnable_reply {
  static constexpr std::string_view wire_name = "herald.spawnable_reply";
  std::vector<spawnable_row> types;
  auto fields() { return std::tie(types); }
};

}  // namespace herald::detail
