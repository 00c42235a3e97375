#include <algorithm>

#include "herald/registry/cluster_node.hpp"

namespace herald::registry {

void cluster_node::gossip_round() {
  ++counters_.gossip_rounds;
  for (const member_info* m : pick_live(cfg_.gossip_fanout, 0)) send_syn(m->address);
}

void cluster_node::anti_entropy() {
  // Live members already gossip every round; what anti-entropy adds is contact
  // across a healed partition (members marked down on either side) and with
  // seeds, which merges clusters that formed apart.
  std::vector<std::string> candidates;
  for (const auto& [node, m] : members_.others()) {
    if (m.status == member_status::down && !m.address.empty() && !is_client_address(m.address)) candidates.push_back(m.address);
  }
  for (const std::string& seed : cfg_.seeds) {
    const member_info* m = members_.find_by_address(seed);
    if (seed != cfg_.address && (m == nullptr || !member_table::is_live(m->status))) candidates.push_back(seed);
  }
  if (candidates.empty()) return;
  std::sort(candidates.begin(), candidates.end());
  std::uniform_int_distribution<std::size_t> pick(0, candidates.size() - 1);
  send_syn(candidates[pick(rng_)]);
}

void cluster_node::join_attempt() {
  for (const std::string& seed : cfg_.seeds) send_syn(seed);
}

void cluster_node::send_syn(std::string_view address) {
  ++counters_.gossip_sent;
  send(address, gossip_msg{gossip_phase::syn, self(), member_list(), live_digests(), {}});
}

void cluster_node::handle(const gossip_msg& g) {
  learn(g.sender, "gossip");
  for (const member_info& m : g.members) learn(m, "gossip from " + g.sender.name);
  for (const stream_batch& b : g.batches) {
    // A stream is taken only from a member known to be live in that very run:
    // a lagging peer must not bring back the names of a node declared down.
    if (stream_is_live(b.owner) || b.owner.node == cfg_.self.node) {
      registry_.apply(b);
    } else {
      ++counters_.batches_ignored;
    }
  }
  if (self().status == member_status::left) return;
  switch (g.phase) {
    case gossip_phase::syn:
      ++counters_.gossip_sent;
      send(g.sender.address,
           gossip_msg{gossip_phase::ack, self(), member_list(), live_digests(), what_peer_lacks(g.digests)});
      break;
    case gossip_phase::ack: {
      std::vector<stream_batch> lacks = what_peer_lacks(g.digests);
      if (!lacks.empty()) {
        ++counters_.gossip_sent;
        send(g.sender.address, gossip_msg{gossip_phase::ack2, self(), {}, {}, std::move(lacks)});
      }
      break;
    }
    case gossip_phase::ack2: break;
  }
}

}  // namespace herald::registry
