#include "network.hpp"

#include "herald/actors/detail/node_protocol.hpp"
#include "system_core.hpp"

namespace herald::detail {

envelope make_remote_envelope(remote_call&& rc);

namespace {
// The actor the last frame read on this io thread went to. A stream of
// messages to one actor then skips the id table (a cuckoo map that locks two
// buckets per lookup), which cost the io thread about a sixth of its time in
// herald-bench's 64-byte tell. Only io threads use it: they belong to the
// node, so the cached ref is released when the node joins them, while the
// actor system is still alive.
struct last_target {
  const network* owner = nullptr;
  actor_id id = 0;
  ref_ptr<cell_base> cell;
};
thread_local last_target last_target_of_thread;
}  // namespace

network::network(system_core& core) : core_(core) {}

network::~network() { shutdown(); }

result<void> network::start(runtime::node_config cfg, registry::cluster_config cluster) {
  auto n = runtime::node::start(std::move(cfg), *this);
  if (!n) return std::move(n).error();
  node_ = std::move(*n);
  node_id_.store(node_->id(), std::memory_order_release);
  cluster_ = std::make_unique<registry::runtime_cluster>(std::move(cluster), *node_);
  cluster_->on_member_event([this](const registry::member_event& e) { on_member_event(e); });
  (void)cluster_->registry().subscribe([this](const registry::registry_event& e) { on_registry_event(e); });
  cluster_->start();
  cluster_ready_.store(cluster_.get(), std::memory_order_release);
  return {};
}

void network::shutdown() {
  if (cluster_) cluster_->leave();
  if (node_) node_->shutdown();
  cluster_ready_.store(nullptr, std::memory_order_release);
}

void network::on_member_event(const registry::member_event& e) {
  using kind = registry::member_event_kind;
  // Links to new members come from gossip, which dials the members it
  // talks to. Dialling here as well would race the member's own dial, and
  // the transport keeps only one of two simultaneous links.
  if (e.kind != kind::down && e.kind != kind::left) return;
  members_lost_.fetch_add(1, std::memory_order_relaxed);
  // The cluster declared the node gone (a silent or paused node keeps its
  // TCP link open): closing the link fails every ask to it with node_down and
  // fires the monitors of its actors, exactly as a lost connection does.
  if (auto c = node_->connection_to(e.member.key.node)) {
    c->close(error(errc::node_down, "node " + e.member.name + " declared " + std::string(registry::to_string(e.kind)) +
                                        ": " + e.reason));
  }
}

void network::on_registry_event(const registry::registry_event& e) {
  if (e.kind != registry::registry_event_kind::conflict_lost || e.entry.owner.node != node_id()) return;
  name_conflicts_lost_.fetch_add(1, std::memory_order_relaxed);
  core_.log_warning("the name '" + e.name + "' of actor " + std::to_string(e.entry.actor) +
                    " lost to the same name on node " + std::to_string(e.other.owner.node) +
                    " (the lower node id wins); lookups anywhere find the winner");
}

std::shared_ptr<peer_slot>& network::slot_locked(std::uint64_t node_id) {
  auto& s = peers_[node_id];
  if (!s) {
    s = std::make_shared<peer_slot>(node_id);
    s->net = this;
    if (node_) {
      auto c = node_->connection_to(node_id);
      if (c) s->generation = c->peer().generation;
      s->conn.store(std::move(c));
    }
  }
  return s;
}

std::shared_ptr<peer_slot> network::slot(std::uint64_t node_id) {
  std::lock_guard lock(mutex_);
  return slot_locked(node_id);
}

result<std::uint64_t> network::wait_for_peer(const std::string& address, std::chrono::steady_clock::time_point deadline) {
  if (!node_) return error(errc::invalid_argument, "the actor system has no network: call start_node() first");
  node_->connect(address);
  std::unique_lock lock(mutex_);
  bool up = peer_up_.wait_until(lock, deadline, [&] {
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return false;
    auto p = peers_.find(it->second);
    return p != peers_.end() && p->second->live().has_value();
  });
  if (!up) return error(errc::timeout, "no connection to " + address + " before the deadline");
  return by_address_.at(address);
}

ref_ptr<cell_base> network::find_target(actor_id id) const {
  if (!runtime::detail::on_io_thread()) return core_.find(id);
  auto& last = last_target_of_thread;
  // A stopped actor leaves the table: look it up again, as without the cache.
  if (last.owner == this && last.id == id && last.cell && !last.cell->stopped()) return last.cell;
  last.owner = this;
  last.id = id;
  last.cell = core_.find(id);
  return last.cell;
}

void network::on_frame(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame frame) {
  auto cell = find_target(frame.header.target);
  if (!cell) {
    frames_to_missing_actors_.fetch_add(1, std::memory_order_relaxed);
    from->consumed(frame.header);
    if (frame.header.kind == wire::frame_kind::ask) {
      send_error_reply(*from, frame.header.request_id,
                       error(errc::actor_stopped, "no actor " + std::to_string(frame.header.target) + " on node " +
                                                      std::to_string(node_id())));
    }
    return;
  }
  cell->enqueue(make_remote_envelope(remote_call(std::move(frame), from)));
}

void network::on_control(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame frame) {
  if (auto* c = cluster_ready_.load(std::memory_order_acquire)) c->on_control(from, std::move(frame));
}

void network::on_peer_up(const std::shared_ptr<runtime::connection>& conn) {
  const auto& peer = conn->peer();
  std::shared_ptr<peer_slot> s;
  {
    std::lock_guard lock(mutex_);
    s = slot_locked(peer.node_id);
    // The announcement of a link already replaced (or lost) is a no-op.
    if (peer.generation < s->generation) return;
    s->generation = peer.generation;
    s->conn.store(conn, std::memory_order_release);
    if (!peer.listen_address.empty()) by_address_[peer.listen_address] = peer.node_id;
  }
  peer_up_.notify_all();
  if (auto* c = cluster_ready_.load(std::memory_order_acquire)) c->on_peer_up(conn);
}

void network::on_peer_down(const runtime::peer_info& peer, const herald::error& reason) {
  if (auto* c = cluster_ready_.load(std::memory_order_acquire)) c->on_peer_down(peer, reason);
  std::vector<std::pair<actor_id, std::vector<watcher>>> lost;
  {
    std::lock_guard lock(mutex_);
    if (auto it = peers_.find(peer.node_id); it != peers_.end() && peer.generation >= it->second->generation) {
      it->second->generation = peer.generation;
      auto cur = it->second->conn.load();
      if (cur && !cur->is_open() && it->second->conn.compare_exchange_strong(cur, nullptr)) {
        add_closed_link_locked(peer.node_id, cur->stats());
      }
    }
    auto first = watchers_.lower_bound({peer.node_id, 0});
    auto last = first;
    while (last != watchers_.end() && last->first.first == peer.node_id) {
      lost.emplace_back(last->first.second, std::move(last->second));
      ++last;
    }
    watchers_.erase(first, last);
  }
  error why(errc::node_down, "node " + peer.node_name + " (" + std::to_string(peer.node_id) + ") lost: " + reason.message());
  for (auto& [actor, ws] : lost) {
    for (auto& [w, deliver] : ws) deliver(*w, down{actor, why, peer.node_id});
  }
}

void network::deliver_down(std::uint64_t node, actor_id actor, const error& reason) {
  std::vector<watcher> ws;
  {
    std::lock_guard lock(mutex_);
    auto it = watchers_.find({node, actor});
    if (it == watchers_.end()) return;
    ws = std::move(it->second);
    watchers_.erase(it);
  }
  for (auto& [w, deliver] : ws) deliver(*w, down{actor, reason, node});
}

void network::add_closed_link_locked(std::uint64_t node, const runtime::connection_stats& s) {
  runtime::connection_stats& t = closed_links_[node];
  t.frames_sent += s.frames_sent;
  t.bytes_sent += s.bytes_sent;
  t.writev_calls += s.writev_calls;
  t.frames_received += s.frames_received;
  t.bytes_received += s.bytes_received;
  t.backpressure_events += s.backpressure_events;
  t.late_replies += s.late_replies;
  t.asks_timed_out += s.asks_timed_out;
  t.asks_failed_node_down += s.asks_failed_node_down;
  t.credit_stalls += s.credit_stalls;
  t.credit_violations += s.credit_violations;
  ++links_closed_;
}

void network::add_metrics(system_metrics& m) const {
  m.frames_to_missing_actors = frames_to_missing_actors_.load(std::memory_order_relaxed);
  m.remote_decode_failures = decode_failures_.load(std::memory_order_relaxed);
  m.remote_reply_failures = reply_failures_.load(std::memory_order_relaxed);
  m.remote_unknown_types = unknown_types_.load(std::memory_order_relaxed);
  m.name_conflicts_lost = name_conflicts_lost_.load(std::memory_order_relaxed);
  m.members_lost = members_lost_.load(std::memory_order_relaxed);
  m.registry_names = cluster_ ? cluster_->registry().size() : 0;
  if (!node_) return;
  const auto t = node_->transport_counters();
  m.dials_failed = t.dials_failed;
  m.dials_timed_out = t.dials_timed_out;
  m.resolves_failed = t.resolves_failed;
  m.tls_handshakes_failed = t.tls_handshakes_failed;
  const auto a = node_->admission();
  m.handshaking = a.handshaking;
  m.rejected_auth_failed = a.auth_failed;
  m.rejected_handshake_timeout = a.handshake_timeout;
  m.rejected_version_mismatch = a.version_mismatch;
  m.rejected_schema_mismatch = a.schema_mismatch;
  m.rejected_duplicate_link = a.duplicate_link;
  m.rejected_handshake_failed = a.handshake_failed;
  m.rejected_by_peer = a.refused_by_peer;
  m.rejected_frame_errors = a.frame_errors;
  m.rejected_pending_cap = a.pending_cap;
  m.rejected_per_source_cap = a.per_source_cap;
  m.rejected_connection_cap = a.connection_cap;
  m.accept_errors = a.accept_errors;
  std::vector<runtime::connection_stats> all;
  {
    std::lock_guard lock(mutex_);
    m.links_closed = links_closed_;
    for (const auto& [node, s] : closed_links_) all.push_back(s);
  }
  m.frames_dropped_unsent = node_->frames_dropped_unsent();
  for (const auto& c : node_->connections()) {
    all.push_back(c->stats());
    ++m.connections;
  }
  for (const auto& s : all) {
    m.frames_sent += s.frames_sent;
    m.bytes_sent += s.bytes_sent;
    m.writev_calls += s.writev_calls;
    m.frames_received += s.frames_received;
    m.bytes_received += s.bytes_received;
    m.backpressure_events += s.backpressure_events;
    m.late_replies += s.late_replies;
    m.remote_asks_timed_out += s.asks_timed_out;
    m.remote_asks_failed_node_down += s.asks_failed_node_down;
    m.credit_stalls += s.credit_stalls;
    m.credit_violations += s.credit_violations;
  }
}

}  // namespace herald::detail
