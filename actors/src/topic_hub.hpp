#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "herald/actors/detail/cell.hpp"
#include "herald/actors/metrics.hpp"
#include "herald/actors/topic.hpp"
#include "herald/registry/registry_types.hpp"
#include "herald/result.hpp"

namespace herald::detail {

class network;

// The pub/sub of one actor_system: the tells of this node's subscribers
// (which a subscription's registry name cannot carry), and, per topic
// published or asked about here, its subscribers as this node's registry
// holds them, following the registry's events. Safe for concurrent use.
//
// Invariants:
//  1. A topic's members are, once its first event has been handled or its
//     scan done, exactly the subscriptions of its key in the registry: the
//     topic is created and scanned under mutex_, and every registry event
//     after that is applied under mutex_ in registry order (the registry
//     emits them in order, after the change), so an event older than the
//     scan replays a state the scan already holds.
//  2. members of a topic is replaced, never changed in place: a publish
//     iterates the snapshot it took, outside every lock.
//  3. local_ holds a subscription of this node from before its registry
//     name is added until after it is removed.
class topic_hub {
 public:
  topic_hub() = default;
  topic_hub(const topic_hub&) = delete;
  topic_hub& operator=(const topic_hub&) = delete;
  ~topic_hub();

  // This node's subscriber `name` will be told through `ops` (subscribe,
  // before its registry name exists). False if it already is.
  bool add_local(const std::string& name, ref_ptr<cell_base> cell, const envelope_ops* ops);
  // Forgets this node's subscriptions (after their registry names are gone).
  void forget_local(const std::vector<std::string>& names);
  bool has_local(const std::string& name) const;

  // Sends through `send` to every subscriber of the topic `key`.
  result<publish_report> publish(network& net, const std::string& key,
                                 const std::function<result<void>(const topic_member&)>& send);
  std::vector<topic_subscriber> subscribers(network& net, const std::string& key);

  // Stops following the registry and lets go of every member (shutdown,
  // once the actors have stopped; before the network goes).
  void close();
  void add_metrics(system_metrics& m) const;

 private:
  using snapshot = std::shared_ptr<const std::vector<topic_member>>;
  struct topic_state {
    snapshot members = std::make_shared<const std::vector<topic_member>>();
  };

  // The members of `key` now, creating (and scanning) the topic on first
  // use; null once closed.
  snapshot members_of(network& net, const std::string& key);
  // mutex_ held.
  void on_event(const registry::registry_event& e);
  void put(topic_state& t, topic_member m);
  void drop(topic_state& t, std::string_view name);
  std::optional<topic_member> member_for(const std::string& name, const registry::name_entry& e) const;

  mutable std::mutex mutex_;
  network* net_ = nullptr;                // set with the registry subscription, under mutex_
  std::uint64_t watch_ = 0;               // the registry subscription; 0: none
  bool closed_ = false;                   // close() ran: no topic is created again
  std::unordered_map<std::string, topic_state> topics_;

  struct local_sub {
    ref_ptr<cell_base> cell;
    const envelope_ops* ops = nullptr;
  };
  mutable std::mutex local_mutex_;  // taken inside mutex_, never around it
  std::unordered_map<std::string, local_sub> local_;

  std::atomic<std::uint64_t> publishes_{0};
  std::atomic<std::uint64_t> deliveries_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace herald::detail
