#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "herald/registry/ids.hpp"

namespace herald::registry {

// Where a name points: what a lookup returns. Trivially copyable, so a lookup
// copies 40 bytes out of the map and allocates nothing.
struct name_entry {
  member_key owner;
  actor_id actor = 0;
  type_id actor_type = 0;
  // The owner's stream version at which this registration was made.
  stream_version version = 0;

  friend bool operator==(const name_entry&, const name_entry&) = default;
};

// One item of a node's registry stream: the latest state of one of its names.
struct name_delta {
  std::string name;
  stream_version version = 0;
  bool removed = false;
  actor_id actor = 0;
  type_id actor_type = 0;

  friend bool operator==(const name_delta&, const name_delta&) = default;
};

// Deltas of one node's stream in strictly increasing version order: a prefix
// of what the receiver lacks, so that after applying it the receiver holds
// every item up to the last version in it.
struct stream_batch {
  member_key owner;
  // The sender no longer holds every tombstone the receiver may need: the
  // receiver restarts this stream from version 0 and, once it reaches
  // reset_target, drops the names the resync did not confirm.
  bool reset = false;
  stream_version reset_target = 0;
  // Tombstones at or below floor were dropped by the sender: a receiver that
  // resyncs adopts it, since it cannot serve them either.
  stream_version floor = 0;
  std::vector<name_delta> deltas;
};

// How far a node is in another node's stream.
struct stream_digest {
  member_key owner;
  stream_version version = 0;
  // The holder is replaying the stream after a reset; the sender continues
  // from version instead of starting another reset.
  bool resyncing = false;

  friend bool operator==(const stream_digest&, const stream_digest&) = default;
};

// Bounds against a hostile or buggy member. Every node of a cluster must use
// the same limits: a delta refused by one node is refused by all, so the
// registries stay identical.
struct registry_limits {
  std::size_t max_name_length = 256;
  std::size_t max_entries_per_node = 10000;
  // Tombstones kept per stream so that a lagging peer learns of removals;
  // past it the oldest is dropped and a peer behind it resyncs.
  std::size_t max_tombstones_per_node = 4096;
};

// What the registry refused or resolved; a snapshot, copied on read.
struct registry_counters {
  std::uint64_t local_changes = 0;
  std::uint64_t deltas_applied = 0;
  std::uint64_t deltas_ignored = 0;  // already held: duplicates are idempotent
  std::uint64_t refused_name_too_long = 0;
  std::uint64_t refused_too_many_entries = 0;
  std::uint64_t refused_malformed = 0;  // out-of-order or empty names in a batch
  std::uint64_t stale_incarnation = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t resyncs = 0;
  std::uint64_t tombstones_dropped = 0;
};

enum class registry_event_kind : std::uint8_t {
  added,          // the name became visible: entry is where it points
  removed,        // the name is gone: entry is where it pointed
  moved,          // the name now points elsewhere: entry is new, other is old
  conflict_lost,  // entry's claim lost the duplicate rule to other (the winner)
};

struct registry_event {
  registry_event_kind kind = registry_event_kind::added;
  std::string name;
  name_entry entry;
  name_entry other;
};

}  // namespace herald::registry
