#include <algorithm>

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
  const bool doubt = now < doubt_until_;
  const std::size_t confirm = confirmations_needed();
  const auto timeout = suspicion_timeout_for(members_.size());
  std::vector<node_id> to_suspect;
  std::vector<std::pair<node_id, std::string>> to_down;
  for (const auto& [node, m] : members_.others()) {
    if (!member_table::is_live(m.status)) continue;
    auto [it, fresh] = peers_.try_emplace(node, peer_state{phi_accrual(cfg_.detector)});
    peer_state& p = it->second;
    if (fresh) p.detector.heartbeat(now);
    if (client_links_.contains(m.address)) {
      // A client is reached over its own link only; while that link is up
      // this node has the best evidence there is that it lives.
      p.detector.heartbeat(now);
      p.probe_nonce.reset();
      continue;
    }
    const bool accused = std::binary_search(m.accusers.begin(), m.accusers.end(), cfg_.self.node);
    if (m.status == member_status::up || !accused) {
      // Up, or suspected by others only: this node's own probe decides
      // whether it becomes one more independent accuser.
      if (m.status == member_status::suspect && !p.probe_nonce && !p.probed_suspicion && !doubt) {
        p.probed_suspicion = true;
        start_probe(m, now);
      }
      if (p.probe_nonce) {
        if (now >= p.probe_deadline && doubt) {
          // A node that was just paused blames itself for the silence.
          ++counters_.accusations_withheld;
          p.probe_nonce.reset();
          p.detector.restart_silence(now);
        } else if (now >= p.probe_deadline) {
          to_suspect.push_back(node);
        }
      } else if (p.detector.phi(now) > cfg_.phi_threshold) {
        start_probe(m, now);
      }
    }
    if (m.status == member_status::suspect && !doubt) {
      if (confirm != 0 && m.accusers.size() >= confirm) {
        to_down.emplace_back(node, "confirmed by " + std::to_string(m.accusers.size()) + " independent suspicions");
        ++counters_.confirmed_downs;
      } else if (now - p.status_since >= timeout) {
        to_down.emplace_back(node, "suspicion not refuted within " + std::to_string(timeout.count()) + " ms");
      }
    }
  }
  for (node_id node : to_suspect) {
    peers_.at(node).probe_nonce.reset();
    mark(node, member_status::suspect, "no heartbeat and no direct or indirect ack");
  }
  // A suspicion spreads at once, so that other accusers confirm it or the
  // member refutes it within one round trip.
  if (!to_suspect.empty()) gossip_round();
  for (const auto& [node, why] : to_down) mark(node, member_status::down, why);
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
  tell_if_accused(h.sender);
  const member_info* m = members_.find(h.sender.key.node);
  if (m == nullptr || m->key != h.sender.key || !member_table::is_live(m->status)) return;
  if (auto it = peers_.find(m->key.node); it != peers_.end()) it->second.detector.heartbeat(clock_.now());
}

void cluster_node::handle(const probe_msg& p) {
  learn(p.sender, "probe");
  tell_if_accused(p.sender);
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
      " ms: restarting every failure detector and accusing no one for " +
      std::to_string(cfg_.self_doubt_period.count()) + " ms");
  doubt_until_ = now + cfg_.self_doubt_period;
  for (auto& [node, p] : peers_) {
    p.detector.restart_silence(now);
    p.probe_nonce.reset();
    p.status_since = now;
  }
  // Refresh the view: the answers say what the others decided meanwhile
  // (this node declared down, say), and this node refutes what concerns it.
  for (const auto& [node, m] : members_.others()) {
    if (member_table::is_live(m.status)) send_syn(m.address);
  }
}

void cluster_node::notice_time(cluster_clock::time_point now) {
  if (last_seen_ && now - *last_seen_ > cfg_.pause_threshold) forgive_own_pause(now);
  last_seen_ = now;
}

void cluster_node::tell_if_accused(const member_info& sender) {
  const member_info* m = members_.find(sender.key.node);
  if (m == nullptr || m == &self() || m->key != sender.key || m->status == member_status::up) return;
  if (m->status == member_status::left || sender.seq > m->seq) return;
  // It speaks, so it lives: let it outbid the accusation.
  send_syn(sender.address);
}

}  // namespace herald::registry
