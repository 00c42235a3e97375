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

// The admin service's stream of cluster events (herald-ctl watch, the
// dashboard): the events the node recorded after sequence number `after`.
struct events_request {
  static constexpr std::string_view wire_name = "herald.events_request";
  std::uint64_t after = 0;
  auto fields() { return std::tie(after); }
};
struct event_row {
  std::uint64_t seq = 0;        // 1, 2, ... in the order the node saw them
  std::uint64_t at_ms = 0;      // wall clock, ms since the Unix epoch
  std::string kind;             // "member" or "registry"
  std::string event;            // member: joined, suspect, alive, down, left, refuted; registry: added, removed, moved, conflict_lost
  std::string name;             // the member's name, or the registered name
  std::uint64_t node = 0;       // the member, or the name's owner
  std::uint64_t incarnation = 0;
  std::string detail;           // member: the reason; registry: "actor <id>"
  auto fields() { return std::tie(seq, at_ms, kind, event, name, node, incarnation, detail); }
};
struct events_reply {
  static constexpr std::string_view wire_name = "herald.events_reply";
  std::uint64_t last = 0;     // the newest sequence number recorded (ask again with after = last)
  std::uint64_t dropped = 0;  // events after `after` that the node no longer holds (its log is bounded)
  std::vector<event_row> events;
  auto fields() { return std::tie(last, dropped, events); }
};

// The admin service's per-actor-type counters (herald-ctl top).
struct actor_types_request {
  static constexpr std::string_view wire_name = "herald.actor_types_request";
  std::uint8_t unused = 0;
};
struct actor_type_row {
  std::string name;               // the actor type as C++ spells it
  std::uint64_t alive = 0;
  std::uint64_t handled = 0;      // messages handled, since the node started
  std::uint64_t mailbox_depth = 0;
  std::uint64_t restarts = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t handler_ns = 0;   // total handler time, ns
  auto fields() { return std::tie(name, alive, handled, mailbox_depth, restarts, dead_letters, handler_ns); }
};
struct actor_types_reply {
  static constexpr std::string_view wire_name = "herald.actor_types_reply";
  std::uint64_t at_ns = 0;  // the node's steady clock when it answered, for rates
  std::vector<actor_type_row> types;
  auto fields() { return std::tie(at_ns, types); }
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
