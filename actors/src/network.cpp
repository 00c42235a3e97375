#include "network.hpp"

#include "herald/actors/detail/node_protocol.hpp"
#include "herald/runtime/io_defer.hpp"
#include "http_endpoint.hpp"
#include "system_core.hpp"

namespace herald::detail {

void emplace_remote_call(envelope& e, runtime::inbound_frame&& frame, runtime::connection* from) noexcept;
void emplace_remote_call(envelope& e, const wire::frame_header& h, std::span<const std::byte> payload,
                         runtime::buffer_pool& pool, runtime::connection* from) noexcept;

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

// The frames of one read for one actor, queued as one chain: one push, one
// fence and at most one wake-up of the actor for the whole run instead of
// one per frame. A run of consecutive frames to the same actor is collected
// on the io thread that reads them and handed to the mailbox when the next
// frame is for another actor, when it is max_batch long, or right after the
// read's handler returns (defer_on_io_thread), so frames are enqueued in the
// order they were read. Confined to its io thread; a batch still held when
// the thread exits is handed over then.
struct frame_batch {
  static constexpr std::size_t max_batch = 64;
  ref_ptr<cell_base> cell;
  mailbox_node* first = nullptr;
  mailbox_node* last = nullptr;
  std::size_t count = 0;
  bool flush_armed = false;

  ~frame_batch() { flush(); }
  // at_rest: the io thread is between reads (not inside a read's frames),
  // where a non_blocking actor may run on it.
  void flush(bool at_rest = false) noexcept {
    if (first == nullptr) return;
    auto target = std::move(cell);
    mailbox_node* f = std::exchange(first, nullptr);
    mailbox_node* l = std::exchange(last, nullptr);
    const std::size_t c = std::exchange(count, 0);
    target->enqueue_chain(f, l, c, at_rest);
  }
  void add(cell_base* target, mailbox_node* n) noexcept {
    if (first != nullptr && cell.get() != target) flush();
    n->next.store(nullptr, std::memory_order_relaxed);
    if (first == nullptr) {
      cell = ref_ptr<cell_base>(target);
      first = last = n;
    } else {
      last->next.store(n, std::memory_order_relaxed);
      last = n;
    }
    if (++count == max_batch) flush();
  }
};
thread_local frame_batch batch_of_thread;

// Deferred by the first frame of a batch to the end of the read's handler.
// Off the io thread (the node draining its queues on the joining thread) it
// does nothing: that thread's batch was handed over when it exited.
void flush_batch_of_thread(void*) noexcept {
  if (!runtime::detail::on_io_thread()) return;
  frame_batch& b = batch_of_thread;
  b.flush_armed = false;
  b.flush(/*at_rest=*/true);
}

// The counters of a link that system_metrics sums over every link, open and
// closed: one list for the sum and for the totals kept of closed links.
struct link_metric_field {
  std::uint64_t runtime::connection_stats::*from;
  std::uint64_t system_metrics::*to;
};
constexpr link_metric_field link_metric_fields[] = {
    {&runtime::connection_stats::frames_sent, &system_metrics::frames_sent},
    {&runtime::connection_stats::bytes_sent, &system_metrics::bytes_sent},
    {&runtime::connection_stats::writev_calls, &system_metrics::writev_calls},
    {&runtime::connection_stats::frames_received, &system_metrics::frames_received},
    {&runtime::connection_stats::bytes_received, &system_metrics::bytes_received},
    {&runtime::connection_stats::backpressure_events, &system_metrics::backpressure_events},
    {&runtime::connection_stats::late_replies, &system_metrics::late_replies},
    {&runtime::connection_stats::asks_timed_out, &system_metrics::remote_asks_timed_out},
    {&runtime::connection_stats::asks_failed_node_down, &system_metrics::remote_asks_failed_node_down},
    {&runtime::connection_stats::credit_stalls, &system_metrics::credit_stalls},
    {&runtime::connection_stats::credit_violations, &system_metrics::credit_violations},
};
std::string_view registry_event_name(registry::registry_event_kind k) noexcept {
  switch (k) {
    case registry::registry_event_kind::added: return "added";
    case registry::registry_event_kind::removed: return "removed";
    case registry::registry_event_kind::moved: return "moved";
    case registry::registry_event_kind::conflict_lost: return "conflict_lost";
  }
  return "unknown";
}
}  // namespace

std::uint64_t next_link_version() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

network::network(system_core& core) : core_(core) {}

network::~network() { shutdown(); }

result<void> network::start(runtime::node_config cfg, registry::cluster_config cluster) {
  const std::string http_listen = cfg.metrics_listen;
  auto n = runtime::node::start(std::move(cfg), *this);
  if (!n) return std::move(n).error();
  {
    // The io threads already run: one announcing a peer reads node_ in
    // slot_locked(), under mutex_.
    std::lock_guard lock(mutex_);
    node_ = std::move(*n);
  }
  node_id_.store(node_->id(), std::memory_order_release);
  cluster_ = std::make_unique<registry::runtime_cluster>(std::move(cluster), *node_);
  cluster_->on_member_event([this](const registry::member_event& e) { on_member_event(e); });
  (void)cluster_->registry().subscribe([this](const registry::registry_event& e) { on_registry_event(e); });
  cluster_->start();
  cluster_ready_.store(cluster_.get(), std::memory_order_release);
  if (!http_listen.empty()) {
    auto h = http_endpoint::start(http_listen, *this);
    if (!h) {
      shutdown();
      return std::move(h).error();
    }
    http_ = std::move(*h);
  }
  return {};
}

std::string network::http_address() const { return http_ ? http_->address() : std::string(); }

void network::shutdown() {
  if (http_) http_->stop();
  if (cluster_) cluster_->leave();
  if (node_) node_->shutdown();
  cluster_ready_.store(nullptr, std::memory_order_release);
}

void network::on_member_event(const registry::member_event& e) {
  using kind = registry::member_event_kind;
  events_.add(event_row{0, 0, "member", std::string(registry::to_string(e.kind)), e.member.name, e.member.key.node,
                        e.member.key.incarnation, e.reason});
  if (static_cast<std::size_t>(e.kind) < member_event_kinds)
    member_events_[static_cast<std::size_t>(e.kind)].fetch_add(1, std::memory_order_relaxed);
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
  events_.add(event_row{0, 0, "registry", std::string(registry_event_name(e.kind)), e.name, e.entry.owner.node,
                        e.entry.owner.incarnation, "actor " + std::to_string(e.entry.actor)});
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
      s->publish(std::move(c));
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

cell_base* network::find_target(actor_id id, ref_ptr<cell_base>& hold) const {
  if (!runtime::detail::on_io_thread()) {
    hold = core_.find(id);
    return hold.get();
  }
  auto& last = last_target_of_thread;
  // A stopped actor leaves the table: look it up again, as without the cache.
  // A hit costs no reference count: the cache holds the cell.
  if (last.owner == this && last.id == id && last.cell && !last.cell->stopped()) return last.cell.get();
  last.owner = this;
  last.id = id;
  last.cell = core_.find(id);
  return last.cell.get();
}

void network::on_frame(const std::shared_ptr<runtime::connection>& from, runtime::inbound_frame frame) {
  hand_to_actor(from, frame.header, [&](envelope& e) noexcept { emplace_remote_call(e, std::move(frame), from.get()); });
}

void network::on_frame_view(const std::shared_ptr<runtime::connection>& from, const wire::frame_header& header,
                            std::span<const std::byte> payload, runtime::buffer_pool& pool) {
  // A payload that needs a pooled buffer takes it here, where running out
  // of memory can throw; a small one is copied once, into the mailbox node.
  if (payload.size() > runtime::inbound_frame::inline_capacity)
    return on_frame(from, runtime::inbound_frame(header, payload, pool));
  hand_to_actor(from, header, [&](envelope& e) noexcept { emplace_remote_call(e, header, payload, pool, from.get()); });
}

template <class Build>
void network::hand_to_actor(const std::shared_ptr<runtime::connection>& from, const wire::frame_header& header,
                            Build&& build) {
  ref_ptr<cell_base> hold;
  cell_base* cell = find_target(header.target, hold);
  if (!cell) {
    frames_to_missing_actors_.fetch_add(1, std::memory_order_relaxed);
    from->consumed(header);
    if (header.kind == wire::frame_kind::ask) {
      send_error_reply(*from, header.request_id,
                       error(errc::actor_stopped, "no actor " + std::to_string(header.target) + " on node " +
                                                      std::to_string(node_id())));
    }
    return;
  }
  // The call names `from` for a tell too: it gives the frame's share of the
  // link's window back when it is destroyed (PROTOCOL.md §6.2), and the
  // connection lives until then. The envelope is built in its mailbox node.
  if (!runtime::detail::on_io_thread()) {
    cell->enqueue_built(build);
    return;
  }
  mailbox_node* n = nullptr;
  try {
    n = node_pool::acquire();
  } catch (...) {
    // Out of memory for a mailbox node: enqueue_built rejects the message.
    cell->enqueue_built(build);
    return;
  }
  build(n->env);
  frame_batch& b = batch_of_thread;
  b.add(cell, n);
  if (b.first != nullptr && !b.flush_armed) {
    b.flush_armed = true;
    if (!runtime::detail::defer_on_io_thread(&flush_batch_of_thread, nullptr)) {
      b.flush_armed = false;
      b.flush();
    }
  }
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
    s->publish(conn);
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
      auto cur = it->second->current();
      if (cur && !cur->is_open() && it->second->retire(cur)) {
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
  for (const auto& [from, to] : link_metric_fields) t.*from += s.*from;
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
  m.registry_deltas_applied = cluster_ ? cluster_->registry().counters().deltas_applied : 0;
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
  m.rejected_closed_link_backlog = a.closed_link_backlog;
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
    m.asks_in_flight += all.back().asks_pending;
    ++m.connections;
  }
  for (const auto& s : all) {
    for (const auto& [from, to] : link_metric_fields) m.*to += s.*from;
  }
}

}  // namespace herald::detail
