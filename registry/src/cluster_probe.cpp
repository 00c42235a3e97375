#include "herald/registry/cluster_node.hpp"

namespace herald::registry {

void cluster_node::send_heartbeats() {
  const heartbeat_msg hb{self()};
  for (const auto& [node, m] : members_.others()) {
    if (member_table::is_live(m.status)) {
      ++counters_.heartbeats_sent;
      send(m.address, hb);
    }
  }
}

void cluster_node::detect_failures(cluster_clock::time_point now) {
  std::vector<node_id> to_suspect;
  std::vector<node_id> to_down;
  for (const auto& [node, m] : members_.others()) {
    if (!member_table::is_live(m.status)) continue;
    auto [it, fresh] = peers_.try_emplace(node, peer_state{phi_accrual(cfg_.detector)});
    peer_state& p = it->second;
    if (fresh) p.detector.heartbeat(now);
    if (m.status == member_status::up) {
      if (p.probe_nonce) {
        if (now >= p.probe_deadline) to_suspect.push_back(node);
      } else if (p.detector.phi(now) > cfg_.phi_threshold) {
        start_probe(m, now);
      }
    } else if (now - p.status_since >= cfg_.suspicion_timeout) {
      to_down.push_back(node);
    }
  }
  for (node_id node : to_suspect) {
    peers_.at(node).probe_nonce.reset();
    mark(node, member_status::suspect, "no heartbeat and no direct or indirect ack");
  }
  for (node_id node : to_down) mark(node, member_status::down, "suspicion not refuted in time");
}

void cluster_node::start_probe(const member_info& m, cluster_clock::time_point now) {
  peer_state& p = peers_.at(m.key.node);
  const std::uint64_t nonce = rng_();
  p.probe_nonce = nonce;
  p.probe_deadline = now + cfg_.probe_timeout;
  ++counters_.probes_started;
  send(m.address, probe_msg{probe_kind::ping, self(), cfg_.self.node, m.key.node, nonce});
  // Helpers confirm or deny the silence from elsewhere: a broken link between
  // two nodes alone does not make either suspect.
  const node_id subject = m.key.node;
  for (const member_info* helper : pick_live(cfg_.indirect_probes, subject)) {
    send(helper->address, probe_msg{probe_kind::ping_req, self(), cfg_.self.node, subject, nonce});
  }
}

void cluster_node::handle(const heartbeat_msg& h) {
  learn(h.sender, "heartbeat");
  const member_info* m = members_.find(h.sender.key.node);
  if (m == nullptr || m->key != h.sender.key || !member_table::is_live(m->status)) return;
  if (auto it = peers_.find(m->key.node); it != peers_.end()) it->second.detector.heartbeat(clock_.now());
}

void cluster_node::handle(const probe_msg& p) {
  learn(p.sender, "probe");
  switch (p.kind) {
    case probe_kind::ping:
      send(p.sender.address, probe_msg{probe_kind::ack, self(), p.origin, cfg_.self.node, p.nonce});
      break;
    case probe_kind::ping_req:
      if (const member_info* s = members_.find(p.subject); s != nullptr && s->key.node != cfg_.self.node) {
        send(s->address, probe_msg{probe_kind::ping, self(), p.origin, p.subject, p.nonce});
      }
      break;
    case probe_kind::ack:
      if (p.origin == cfg_.self.node) {
        auto it = peers_.find(p.subject);
        if (it != peers_.end() && it->second.probe_nonce == p.nonce) {
          it->second.probe_nonce.reset();
          it->second.detector.heartbeat(clock_.now());
        }
      } else if (const member_info* o = members_.find(p.origin); o != nullptr) {
        send(o->address, probe_msg{probe_kind::ack, self(), p.origin, p.subject, p.nonce});
      }
      break;
  }
}

void cluster_node::forgive_own_pause(cluster_clock::time_point now) {
  ++counters_.own_pauses;
  log("this node was paused for longer than " + std::to_string(cfg_.pause_threshold.count()) +
      " ms: restarting every failure detector");
  for (auto& [node, p] : peers_) {
    p.detector.restart_silence(now);
    p.probe_nonce.reset();
    p.status_since = now;
  }
}

}  // namespace herald::registry
