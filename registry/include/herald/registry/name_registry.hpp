#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <libcuckoo/cuckoohash_map.hh>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "herald/registry/detail/lookup_cache.hpp"
#include "herald/registry/registry_types.hpp"
#include "herald/result.hpp"

namespace herald::registry {

// The cluster-wide name registry as one node holds it: a libcuckoo map from
// actor name to the entry it points at, fed by the node's own registrations
// and by the other nodes' streams that gossip carries.
// Safe for concurrent use: a lookup first asks its thread's read cache
// (validated by a version per stripe of names, no lock and no shared write),
// and on a miss takes only the two bucket locks of its key; it never waits
// for a writer's batch. Writers serialize on one mutex.
// Events are delivered in order, on the thread of a writer, outside its lock.
//
// Duplicate names: every node holds every claim of a name; the visible one is
// the claim whose owner (node id, incarnation) is lowest. Each node computes
// the same winner from the same claims, and emits conflict_lost for the loser.
class name_registry {
 public:
  using event_callback = std::function<void(const registry_event&)>;
  using subscription = std::uint64_t;

  explicit name_registry(member_key self, registry_limits limits = {});
  name_registry(const name_registry&) = delete;
  name_registry& operator=(const name_registry&) = delete;

  // Where name points, or not_found.
  result<name_entry> lookup(std::string_view name) const;
  // As lookup, and type_mismatch if the actor is not of expected_type.
  result<name_entry> lookup(std::string_view name, type_id expected_type) const;
  // Visible names (one per name, whatever the number of claims). libcuckoo's
  // own size() reads its per-lock counters without their locks, so the
  // registry keeps its own.
  std::size_t size() const noexcept { return visible_.load(std::memory_order_relaxed); }

  // Registers one of this node's actors; the change is the next item of this
  // node's stream. limit_exceeded for a name too long or one name too many,
  // invalid_argument for an empty name.
  result<stream_version> register_local(std::string_view name, actor_id actor, type_id actor_type);
  // Removes one of this node's names; not_found if this node holds no such name.
  result<stream_version> unregister_local(std::string_view name);

  // Applies a batch of another node's stream. Idempotent: items at or below
  // the version held are ignored. A newer incarnation replaces the stream of
  // an older one (the node restarted); an older incarnation is ignored.
  // Items that break a bound advance the version without being applied.
  // Returns the number of items applied.
  std::size_t apply(const stream_batch& batch);
  // Removes every name of node (down or left) and forgets its stream, so that
  // a later incarnation or a refuted member starts again from version 0.
  std::size_t remove_node(node_id node);

  // This node's position in every stream it holds, its own included.
  std::vector<stream_digest> digest() const;
  // The position in node's stream; version 0 and owner {node, 0} if not held.
  stream_digest digest_of(node_id node) const;
  // What a peer at `peer` lacks of node's stream, at most about byte_budget
  // bytes of names; empty deltas if nothing is missing or the stream is not held.
  stream_batch deltas_since(node_id node, const stream_digest& peer, std::size_t byte_budget) const;

  // Every visible name and its entry, sorted by name (for tests and tools).
  std::vector<std::pair<std::string, name_entry>> snapshot() const;
  // The names of one node's stream that are alive, with their claims.
  std::size_t live_names_of(node_id node) const;
  registry_counters counters() const;
  const member_key& self() const noexcept { return self_; }
  const registry_limits& limits() const noexcept { return limits_; }

  // Every event of the registry.
  subscription subscribe(event_callback cb);
  // Events of one name only.
  subscription watch(std::string name, event_callback cb);
  void unsubscribe(subscription id);

 private:
  struct item {
    stream_version version = 0;
    bool removed = false;
    actor_id actor = 0;
    type_id actor_type = 0;
    std::uint64_t epoch = 0;
  };
  struct stream {
    member_key owner;
    stream_version version = 0;
    stream_version floor = 0;
    std::size_t live = 0;
    stream_version resync_target = 0;
    std::uint64_t epoch = 0;
    std::unordered_map<std::string, item, name_hash, std::equal_to<>> items;
    std::map<stream_version, std::string> by_version;
    std::set<stream_version> tombstones;
  };
  struct subscriber {
    subscription id;
    std::string name;  // empty: every name
    event_callback cb;
  };
  using claim_list = std::vector<name_entry>;

  // Both under write_mutex_.
  void put_item(stream& s, const std::string& name, const item& it);
  void set_claim(const std::string& name, const name_entry& e);
  void drop_claim(const std::string& name, const member_key& owner);
  void publish_winner(const std::string& name, const name_entry* before, const name_entry* after);
  void finish_resync(stream& s);
  void trim_tombstones(stream& s);
  bool apply_one(stream& s, const name_delta& d);
  void erase_item(stream& s, const std::string& name);
  void drop_stream(stream& s);
  void dispatch();
  // map_.find through the read cache: true and out set if name is visible.
  bool find_visible(std::string_view name, name_entry& out) const;

  const member_key self_;
  const registry_limits limits_;

  // Invariants:
  // 1. map_ holds, for each name with at least one live claim, the claim of
  //    claims_[name] with the lowest owner, and nothing else.
  // 2. map_ is written only under write_mutex_; readers never take it.
  // 3. For every stream s, s.version is the highest version applied, and every
  //    item of s with a version <= s.version is held (prefix property), except
  //    tombstones at or below s.floor, which were dropped.
  // 4. pending_ is appended under write_mutex_ in the order the changes were
  //    made and drained in that order by whoever holds dispatch_mutex_.
  // 5. Every change of map_ is bracketed by cache_.begin_write/end_write of
  //    its name's hash, so a cached entry whose stripe version is unchanged
  //    is what map_ holds (see detail::lookup_cache).
  libcuckoo::cuckoohash_map<std::string, name_entry, name_hash, std::equal_to<>> map_;
  std::atomic<std::size_t> visible_{0};  // entries of map_, written under write_mutex_
  detail::lookup_cache cache_;
  mutable std::mutex miss_mutex_;  // lookups that miss cache_ read map_ one at a time
  mutable std::mutex write_mutex_;
  std::unordered_map<node_id, stream> streams_;
  std::unordered_map<std::string, claim_list, name_hash, std::equal_to<>> claims_;
  registry_counters counters_;
  std::vector<registry_event> pending_;

  std::mutex dispatch_mutex_;
  std::mutex subs_mutex_;
  std::vector<std::shared_ptr<const subscriber>> subs_;
  subscription next_sub_ = 1;
};

}  // namespace herald::registry
