#include "herald/registry/cluster_node.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <iostream>

namespace herald::registry {

namespace {

std::uint64_t seed_of(const cluster_config& cfg) {
  if (cfg.random_seed != 0) return cfg.random_seed;
  return cfg.self.node * 0x9E3779B97F4A7C15ull ^ cfg.self.incarnation;
}

member_info self_info(const cluster_config& cfg) {
  return member_info{cfg.self, 0, member_status::up, cfg.name, cfg.address};
}

}  // namespace

cluster_node::cluster_node(cluster_config cfg, control_transport& transport, const clock_source& clock)
    : cfg_(std::move(cfg)),
      transport_(transport),
      clock_(clock),
      registry_(cfg_.self, cfg_.registry),
      members_(self_info(cfg_), cfg_.max_members),
      rng_(seed_of(cfg_)) {
  // A message naming more members than the table may hold is refused whole.
  cfg_.codec.max_members = std::min(cfg_.codec.max_members, cfg_.max_members);
}

void cluster_node::check_thread() {
#ifndef NDEBUG
  if (owner_thread_ == std::thread::id{}) owner_thread_ = std::this_thread::get_id();
  assert(owner_thread_ == std::this_thread::get_id() && "cluster_node is confined to one thread");
#endif
}

void cluster_node::log(std::string_view line) {
  if (cfg_.log) {
    cfg_.log(line);
  } else {
    std::clog << "herald.cluster[" << cfg_.name << "]: " << line << '\n';
  }
}

void cluster_node::send(std::string_view address, const cluster_message& msg) {
  if (address.empty() || address == cfg_.address) return;
  const std::vector<std::byte> bytes = encode(msg);
  if (bytes.size() > cfg_.codec.max_message_bytes) {
    // Budgets keep gossip well under the bound; a peer would refuse it anyway.
    log("not sending a control message of " + std::to_string(bytes.size()) + " bytes");
    return;
  }
  transport_.send(address, bytes);
}

void cluster_node::tick() {
  check_thread();
  if (self().status == member_status::left) return;
  const auto now = clock_.now();
  notice_time(now);
  const bool alone = std::none_of(members_.others().begin(), members_.others().end(),
                                  [](const auto& kv) { return member_table::is_live(kv.second.status); });
  if (alone && now >= next_join_) {
    join_attempt();
    next_join_ = now + cfg_.gossip_interval;
  }
  if (now >= next_heartbeat_) {
    send_heartbeats();
    next_heartbeat_ = now + cfg_.heartbeat_interval;
  }
  detect_failures(now);
  if (now >= next_gossip_) {
    gossip_round();
    next_gossip_ = now + cfg_.gossip_interval;
  }
  if (now >= next_anti_entropy_) {
    anti_entropy();
    next_anti_entropy_ = now + cfg_.anti_entropy_interval;
  }
  for (auto it = gone_since_.begin(); it != gone_since_.end();) {
    if (now - it->second >= cfg_.down_retention) {
      members_.forget(it->first);
      peers_.erase(it->first);
      it = gone_since_.erase(it);
    } else {
      ++it;
    }
  }
}

void cluster_node::on_message(std::span<const std::byte> bytes) {
  check_thread();
  if (self().status == member_status::left) return;
  notice_time(clock_.now());
  ++counters_.messages_received;
  auto msg = decode(bytes, cfg_.codec);
  if (!msg) {
    ++counters_.messages_refused;
    log("refused a control message: " + msg.error().message());
    return;
  }
  std::visit([this](const auto& m) { handle(m); }, *msg);
}

void cluster_node::on_connection_lost(std::string_view address) {
  check_thread();
  if (self().status == member_status::left) return;
  const auto now = clock_.now();
  notice_time(now);
  if (is_client_address(address)) client_links_.erase(std::string(address));
  const member_info* m = members_.find_by_address(address);
  if (m == nullptr || !member_table::is_live(m->status)) return;
  ++counters_.links_lost;
  // A closed link says something about the link, not about the member: the
  // peer may have closed it because it holds this node down, or the path
  // between the two alone may be broken. Probing through others tells.
  peer_state& p = peers_.try_emplace(m->key.node, peer_state{phi_accrual(cfg_.detector)}).first->second;
  if (m->status == member_status::up && !p.probe_nonce && !doubting()) start_probe(*m, now);
}

void cluster_node::on_connection_up(std::string_view address) {
  check_thread();
  if (self().status == member_status::left) return;
  notice_time(clock_.now());
  if (is_client_address(address)) client_links_.insert(std::string(address));
  const bool alone = std::none_of(members_.others().begin(), members_.others().end(),
                                  [](const auto& kv) { return member_table::is_live(kv.second.status); });
  if (alone) send_syn(address);
}

void cluster_node::leave() {
  check_thread();
  if (self().status == member_status::left) return;
  members_.leave();
  // Told directly to every live member rather than left to gossip: this node
  // stops taking part at once.
  gossip_msg bye{gossip_phase::syn, self(), member_list(), {}, {}};
  for (const auto& [node, m] : members_.others()) {
    if (member_table::is_live(m.status)) send(m.address, bye);
  }
  log("left the cluster");
}

std::vector<member_info> cluster_node::live_members() const {
  std::vector<member_info> out;
  if (member_table::is_live(self().status)) out.push_back(self());
  for (const auto& [node, m] : members_.others()) {
    if (member_table::is_live(m.status)) out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const member_info& a, const member_info& b) { return a.key < b.key; });
  return out;
}

void cluster_node::learn(const member_info& claim, std::string_view reason) {
  std::vector<member_event> events;
  if (!members_.merge(claim, events, reason)) {
    ++counters_.members_refused;
    log("refused member " + std::to_string(claim.key.node) + ": already " + std::to_string(cfg_.max_members) +
        " members");
  }
  apply_events(events);
}

void cluster_node::mark(node_id node, member_status status, std::string_view reason) {
  std::vector<member_event> events;
  members_.set_status(node, status, events, reason);
  if (status == member_status::suspect) ++counters_.accusations;
  if (status == member_status::suspect && !events.empty()) ++counters_.suspicions;
  apply_events(events);
}

void cluster_node::apply_events(std::vector<member_event>& events) {
  const auto now = clock_.now();
  bool refuted = false;
  for (const member_event& e : events) {
    const node_id node = e.member.key.node;
    switch (e.kind) {
      case member_event_kind::down:
      case member_event_kind::left:
        // Names first: by the time anyone hears of the event, lookups miss.
        registry_.remove_node(node);
        peers_.erase(node);
        gone_since_[node] = now;
        ++counters_.downs;
        break;
      case member_event_kind::joined:
      case member_event_kind::alive: {
        peer_state& p = peers_.try_emplace(node, peer_state{phi_accrual(cfg_.detector)}).first->second;
        p = peer_state{phi_accrual(cfg_.detector)};
        p.detector.heartbeat(now);
        gone_since_.erase(node);
        if (e.member.status == member_status::suspect) p.status_since = now;
        break;
      }
      case member_event_kind::suspect:
        peers_.try_emplace(node, peer_state{phi_accrual(cfg_.detector)}).first->second.status_since = now;
        break;
      case member_event_kind::refuted:
        ++counters_.refutations;
        refuted = true;
        break;
    }
    log("member " + e.member.name + " (" + std::to_string(node) + "." + std::to_string(e.member.key.incarnation) +
        ") " + std::string(to_string(e.kind)) + (e.reason.empty() ? "" : ": " + e.reason));
    for (const auto& cb : member_callbacks_) cb(e);
  }
  // The refutation goes out at once rather than with the next heartbeat, so
  // that it overtakes the accusation before others confirm it.
  if (refuted) send_heartbeats();
}

std::chrono::milliseconds cluster_node::suspicion_timeout_for(std::size_t n) const {
  const double scale = std::max(1.0, std::log10(static_cast<double>(std::max<std::size_t>(n, 1))));
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(cfg_.suspicion_timeout.count()) * scale));
}

std::size_t cluster_node::confirmations_needed() const {
  std::size_t live_others = 0;
  for (const auto& [node, m] : members_.others()) live_others += member_table::is_live(m.status) ? 1 : 0;
  // Everyone but the subject may accuse it: this node and live_others - 1 more.
  const std::size_t k = std::min(cfg_.suspicion_confirmations, live_others);
  return k >= 2 ? k : 0;
}

bool cluster_node::stream_is_live(const member_key& owner) const {
  const member_info* m = members_.find(owner.node);
  return m != nullptr && m->key == owner && member_table::is_live(m->status);
}

std::vector<stream_digest> cluster_node::live_digests() const {
  std::vector<stream_digest> out = registry_.digest();
  std::erase_if(out, [this](const stream_digest& d) { return !stream_is_live(d.owner); });
  return out;
}

std::vector<stream_batch> cluster_node::what_peer_lacks(const std::vector<stream_digest>& peer) const {
  std::unordered_map<node_id, stream_digest> theirs;
  for (const stream_digest& d : peer) theirs[d.owner.node] = d;
  // Members and digests take at most a quarter of a message; deltas fill the rest.
  std::size_t budget = cfg_.codec.max_message_bytes * 3 / 4;
  std::vector<stream_batch> out;
  for (const stream_digest& mine : live_digests()) {
    auto it = theirs.find(mine.owner.node);
    const stream_digest at = it != theirs.end() ? it->second : stream_digest{member_key{mine.owner.node, 0}, 0};
    if (at.owner.incarnation > mine.owner.incarnation) continue;
    if (at.owner.incarnation == mine.owner.incarnation && at.version >= mine.version) continue;
    if (budget < 512) break;
    stream_batch b = registry_.deltas_since(mine.owner.node, at, budget);
    if (b.deltas.empty()) continue;
    std::size_t cost = 64;
    for (const name_delta& d : b.deltas) cost += d.name.size() + 64;
    budget = cost >= budget ? 0 : budget - cost;
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<member_info> cluster_node::member_list() const {
  std::vector<member_info> out;
  out.reserve(members_.size());
  out.push_back(self());
  for (const auto& [node, m] : members_.others()) out.push_back(m);
  return out;
}

std::vector<const member_info*> cluster_node::pick_live(std::size_t n, node_id except) {
  std::vector<const member_info*> live;
  for (const auto& [node, m] : members_.others()) {
    if (node != except && member_table::is_live(m.status) && !m.address.empty()) live.push_back(&m);
  }
  std::sort(live.begin(), live.end(), [](const member_info* a, const member_info* b) { return a->key < b->key; });
  for (std::size_t i = 0; i < live.size() && i < n; ++i) {
    std::uniform_int_distribution<std::size_t> pick(i, live.size() - 1);
    std::swap(live[i], live[pick(rng_)]);
  }
  if (live.size() > n) live.resize(n);
  return live;
}

}  // namespace herald::registry
