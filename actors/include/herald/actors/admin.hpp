#pragma once

#include "herald/actors/detail/node_protocol.hpp"

namespace herald::admin {

// What a node tells tools about itself (actor_system::members_at,
// registry_at, metrics_at): plain values, copied out of its node actor's
// replies.

// A member as the asked node sees it: node id, incarnation (a restarted
// node is a new member), name, cluster address, status ("up", "suspect",
// "down", "left").
using member = detail::member_row;
// A name of the cluster-wide registry: the owning node and its incarnation,
// the actor's id there and the wire id of its type.
using registry_entry = detail::registry_row;
// A named counter of the node's system_metrics.
using counter = detail::counter_row;
// The events a node recorded (membership and registry changes), from a
// sequence number on: `last` to ask from next time, `dropped` for events
// the node no longer held.
using event = detail::event_row;
using events = detail::events_reply;
// Per actor type counters, with the node's clock for rates.
using actor_type = detail::actor_type_row;
using actor_types = detail::actor_types_reply;
// An actor type that other nodes may spawn on the asked node: its wire id
// and wire name (actor_system::spawnable_at).
using spawnable_type = detail::spawnable_row;

}  // namespace herald::admin
