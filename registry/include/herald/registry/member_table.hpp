#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "herald/registry/cluster_messages.hpp"

namespace herald::registry {

enum class member_event_kind : std::uint8_t {
  joined,   // a member (or a new incarnation of one) is up
  suspect,  // a member may be dead; it has suspicion_timeout to refute
  alive,    // a suspect or down member refuted with a higher seq
  down,     // declared dead: its names are removed, asks to it fail with node_down
  left,     // left gracefully: the same consequences as down
  refuted,  // this node was suspected or declared down and refuted it
};

std::string_view to_string(member_event_kind k) noexcept;

struct member_event {
  member_event_kind kind = member_event_kind::joined;
  member_info member;
  std::string reason;
};

// The membership view of one node: the latest claim about each member, and
// the rules that merge claims from gossip so that every node ends with the
// same view. Confined to the cluster node's thread.
//
// Rules: a higher incarnation of a node replaces the lower one (the old run is
// down); within one run the higher (seq, status gravity) wins, with gravity
// left > down > suspect > up, so only the member itself, by bumping seq, can
// lift a suspicion or a down. Left is final for a run. Two claims of the same
// suspicion (same seq) merge their accusers.
class member_table {
 public:
  member_table(member_info self, std::size_t max_members);

  // Merges one claim; appends what changed to events. False if the table is
  // full and the claim named a new member (refused).
  bool merge(const member_info& claim, std::vector<member_event>& events, std::string_view reason = {});
  // Records this node's own decision about a member it holds; a suspicion
  // adds this node to the member's accusers.
  void set_status(node_id node, member_status status, std::vector<member_event>& events,
                  std::string_view reason);
  // This node leaves: a higher seq with status left.
  void leave();

  const member_info& self() const noexcept { return self_; }
  const member_info* find(node_id node) const;
  const member_info* find_by_address(std::string_view address) const;
  // Every member except this node.
  const std::unordered_map<node_id, member_info>& others() const noexcept { return members_; }
  std::size_t size() const noexcept { return members_.size() + 1; }
  // Forgets a member record (a long-down member).
  void forget(node_id node) { members_.erase(node); }

  static bool is_live(member_status s) noexcept { return s == member_status::up || s == member_status::suspect; }

 private:
  static void add_accusers(member_info& r, const std::vector<node_id>& more);

  member_info self_;
  std::size_t max_members_;
  std::unordered_map<node_id, member_info> members_;
};

}  // namespace herald::registry
