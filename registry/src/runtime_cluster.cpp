#include "herald/registry/runtime_cluster.hpp"

#include "herald/wire/frame.hpp"

namespace herald::registry {

namespace {

cluster_config complete(cluster_config cfg, const runtime::node& node) {
  if (cfg.self.node == 0) cfg.self = member_key{node.id(), node.incarnation()};
  if (cfg.address.empty() && !node.listen_addresses().empty()) cfg.address = node.listen_addresses().front();
  // A node that listens nowhere is a client member: the others reach it over
  // the links it opens.
  if (cfg.address.empty()) cfg.address = client_address(cfg.self.node);
  if (cfg.name.empty()) cfg.name = node.name();
  return cfg;
}

// The cluster address of a peer: its listen address, or its client address.
std::string address_of(const runtime::peer_info& peer) {
  return peer.listen_address.empty() ? client_address(peer.node_id) : peer.listen_address;
}

}  // namespace

runtime_cluster::runtime_cluster(cluster_config cfg, runtime::node& node, std::chrono::milliseconds tick_interval)
    : transport_(node), node_(complete(std::move(cfg), node), link_, clock_), tick_interval_(tick_interval) {}

runtime_cluster::~runtime_cluster() { stop(); }

void runtime_cluster::on_member_event(cluster_node::member_callback cb) { node_.on_member_event(std::move(cb)); }

void runtime_cluster::start() {
  std::lock_guard lock(mutex_);
  if (running_ || thread_.joinable() || stopping_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void runtime_cluster::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && !on_cluster_thread()) thread_.join();
}

bool runtime_cluster::on_cluster_thread() const noexcept {
  return thread_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void runtime_cluster::wait_until_idle() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return !running_; });
}

void runtime_cluster::leave() {
  bool running = false;
  {
    std::lock_guard lock(mutex_);
    running = thread_.joinable() && !stopping_;
  }
  if (running) call([](cluster_node& n) { n.leave(); });
  stop();
}

bool runtime_cluster::post(std::function<void(cluster_node&)> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !running_) return false;
    inbox_.push_back(std::move(fn));
  }
  wake_.notify_all();
  return true;
}

void runtime_cluster::run() {
  using clock = std::chrono::steady_clock;
  // A full control ring (a stopped peer whose socket buffers are full) must
  // not stall failure detection for everyone else: sends from this thread
  // fail at once instead of blocking, as they do on io threads. Control
  // messages are repeated by the protocol, so a dropped one costs nothing.
  runtime::detail::on_io_thread() = true;
  thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
  auto next_tick = clock::now();
  std::vector<std::function<void(cluster_node&)>> batch;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_until(lock, next_tick, [&] { return stopping_ || !inbox_.empty(); });
    if (stopping_) break;
    batch.swap(inbox_);
    lock.unlock();
    for (auto& fn : batch) fn(node_);
    batch.clear();
    if (clock::now() >= next_tick) {
      node_.tick();
      next_tick = clock::now() + tick_interval_;
    }
    lock.lock();
  }
  // What was queued before stop() still runs, so that no call() waits forever.
  batch.swap(inbox_);
  lock.unlock();
  for (auto& fn : batch) fn(node_);
  lock.lock();
  running_ = false;
  thread_id_.store(std::thread::id{}, std::memory_order_release);
  lock.unlock();
  wake_.notify_all();
}

void runtime_cluster::on_control(const std::shared_ptr<runtime::connection>&, runtime::inbound_frame frame) {
  if (frame.header.kind != wire::frame_kind::gossip) return;  // transport-level heartbeats are not ours
  auto shared = std::make_shared<runtime::inbound_frame>(std::move(frame));
  post([shared](cluster_node& n) { n.on_message(shared->bytes()); });
}

void runtime_cluster::on_peer_up(const std::shared_ptr<runtime::connection>& conn) {
  const std::string address = address_of(conn->peer());
  {
    std::lock_guard lock(peers_mutex_);
    auto& p = peers_[address];
    if (conn->peer().generation < p.generation) return;  // a replaced link's late announcement
    p.conn = conn;
    p.generation = conn->peer().generation;
  }
  post([address](cluster_node& n) { n.on_connection_up(address); });
}

void runtime_cluster::on_peer_down(const runtime::peer_info& peer, const herald::error&) {
  {
    std::lock_guard lock(peers_mutex_);
    auto it = peers_.find(address_of(peer));
    if (it != peers_.end()) {
      if (peer.generation < it->second.generation) return;  // a newer link is already up
      it->second.generation = peer.generation;
      auto c = it->second.conn.lock();
      if (!c || !c->is_open()) it->second.conn.reset();
    }
  }
  post([address = address_of(peer)](cluster_node& n) { n.on_connection_lost(address); });
}

void runtime_cluster::link::send(std::string_view address, std::span<const std::byte> bytes) {
  std::shared_ptr<runtime::connection> conn;
  {
    std::lock_guard lock(owner_.peers_mutex_);
    if (auto it = owner_.peers_.find(std::string(address)); it != owner_.peers_.end()) conn = it->second.conn.lock();
  }
  if (!conn || !conn->is_open()) {
    // A client cannot be dialled: it is reached over its own link or not at all.
    if (is_client_address(address)) return;
    // Dial and let the protocol retry: gossip, heartbeats and joins repeat.
    owner_.transport_.connect(std::string(address));
    return;
  }
  wire::frame_header h;
  h.kind = wire::frame_kind::gossip;
  h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  (void)conn->send_bytes(h, bytes);
}

}  // namespace herald::registry
