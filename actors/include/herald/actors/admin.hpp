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
// An actor type that other nodes may spawn on the asked node: its wire id
// and wire name (actor_system::spawnable_at).
using spawnable_type = detail::spawnable_row;

}  // namespace herald::admin
