#include "herald/registry/member_table.hpp"

#include <algorithm>
#include <tuple>

namespace herald::registry {

std::string_view to_string(member_event_kind k) noexcept {
  switch (k) {
    case member_event_kind::joined: return "joined";
    case member_event_kind::suspect: return "suspect";
    case member_event_kind::alive: return "alive";
    case member_event_kind::down: return "down";
    case member_event_kind::left: return "left";
    case member_event_kind::refuted: return "refuted";
  }
  return "unknown";
}

member_table::member_table(member_info self, std::size_t max_members)
    : self_(std::move(self)), max_members_(max_members) {}

const member_info* member_table::find(node_id node) const {
  if (node == self_.key.node) return &self_;
  auto it = members_.find(node);
  return it == members_.end() ? nullptr : &it->second;
}

const member_info* member_table::find_by_address(std::string_view address) const {
  for (const auto& [node, m] : members_) {
    if (m.address == address) return &m;
  }
  return nullptr;
}

void member_table::leave() {
  self_.status = member_status::left;
  ++self_.seq;
}

bool member_table::merge(const member_info& c, std::vector<member_event>& events, std::string_view reason) {
  std::string why(reason);
  if (c.key.node == self_.key.node) {
    if (c.key != self_.key || self_.status == member_status::left) return true;
    if (c.status != member_status::up && c.seq >= self_.seq) {
      // Someone suspects this node or declared it down: outbid the claim.
      self_.seq = c.seq + 1;
      events.push_back(member_event{member_event_kind::refuted, self_,
                                    "refuted " + std::string(to_string(c.status)) + " at seq " +
                                        std::to_string(c.seq)});
    }
    return true;
  }
  auto it = members_.find(c.key.node);
  if (it == members_.end()) {
    // A run this node never knew and that is already gone: nothing to learn,
    // and adopting it would keep a forgotten record alive between nodes
    // whose retention ends at different moments.
    if (!is_live(c.status)) return true;
    if (members_.size() + 1 >= max_members_) return false;
    members_.emplace(c.key.node, c);
    if (is_live(c.status)) events.push_back(member_event{member_event_kind::joined, c, why});
    return true;
  }
  member_info& r = it->second;
  if (c.key.incarnation < r.key.incarnation) return true;
  if (c.key.incarnation > r.key.incarnation) {
    if (is_live(r.status)) {
      member_info old = r;
      old.status = member_status::down;
      events.push_back(member_event{member_event_kind::down, old,
                                    "replaced by incarnation " + std::to_string(c.key.incarnation)});
    }
    r = c;
    if (is_live(c.status)) events.push_back(member_event{member_event_kind::joined, c, why});
    return true;
  }
  if (r.status == member_status::left) return true;
  if (c.seq == r.seq && c.status == r.status) {
    // The same suspicion heard from more nodes: each accuser counts once.
    if (c.status == member_status::suspect) add_accusers(r, c.accusers);
    return true;
  }
  if (std::tuple(c.seq, static_cast<int>(c.status)) < std::tuple(r.seq, static_cast<int>(r.status))) return true;
  const member_status before = r.status;
  r.seq = c.seq;
  r.status = c.status;
  r.accusers.clear();
  if (c.status == member_status::suspect) add_accusers(r, c.accusers);
  if (r.name.empty()) r.name = c.name;
  if (r.address.empty()) r.address = c.address;
  if (before == c.status) return true;
  if (c.status == member_status::left) {
    if (is_live(before)) events.push_back(member_event{member_event_kind::left, r, why});
  } else if (c.status == member_status::down) {
    events.push_back(member_event{member_event_kind::down, r, why});
  } else if (c.status == member_status::suspect) {
    events.push_back(member_event{before == member_status::down ? member_event_kind::alive
                                                                : member_event_kind::suspect,
                                  r, why});
  } else {
    events.push_back(member_event{member_event_kind::alive, r, why});
  }
  return true;
}

void member_table::set_status(node_id node, member_status status, std::vector<member_event>& events,
                              std::string_view reason) {
  auto it = members_.find(node);
  if (it == members_.end()) return;
  member_info claim = it->second;
  claim.status = status;
  claim.accusers.clear();
  // This node's own suspicion: it is one of the accusers.
  if (status == member_status::suspect) claim.accusers.push_back(self_.key.node);
  merge(claim, events, reason);
}

void member_table::add_accusers(member_info& r, const std::vector<node_id>& more) {
  for (node_id a : more) {
    if (r.accusers.size() >= max_accusers) return;
    auto at = std::lower_bound(r.accusers.begin(), r.accusers.end(), a);
    if (at == r.accusers.end() || *at != a) r.accusers.insert(at, a);
  }
}

}  // namespace herald::registry
