#include "herald/registry/sim_network.hpp"

#include <algorithm>

namespace herald::registry {

class sim_network::link final : public control_transport {
 public:
  link(sim_network& net, std::size_t self) : net_(net), self_(self) {}
  void send(std::string_view address, std::span<const std::byte> bytes) override {
    net_.send_from(self_, address, bytes);
  }

 private:
  sim_network& net_;
  std::size_t self_;
};

struct sim_network::endpoint {
  std::string address;
  endpoint_hooks hooks;
  std::unique_ptr<link> transport;
  int group = 0;
  bool alive = true;
  bool paused = false;
  std::uint64_t generation = 0;  // ticks of a previous life are ignored
  std::vector<event> backlog;
};

sim_network::sim_network(std::uint64_t seed, std::chrono::milliseconds latency,
                         std::chrono::milliseconds tick_interval)
    : rng_(seed),
      latency_(latency),
      tick_interval_(tick_interval),
      // An arbitrary, far-from-zero origin so that no duration underflows.
      start_(cluster_clock::time_point(std::chrono::hours(1000))),
      now_(start_) {}

sim_network::~sim_network() = default;

control_transport& sim_network::add(const std::string& address, endpoint_hooks hooks) {
  std::size_t idx;
  if (auto it = by_address_.find(address); it != by_address_.end()) {
    idx = it->second;
  } else {
    idx = endpoints_.size();
    endpoints_.push_back(std::make_unique<endpoint>());
    endpoints_[idx]->address = address;
    endpoints_[idx]->transport = std::make_unique<link>(*this, idx);
    by_address_.emplace(address, idx);
  }
  endpoint& ep = *endpoints_[idx];
  ep.hooks = std::move(hooks);
  ep.alive = true;
  ep.paused = false;
  ep.backlog.clear();
  ++ep.generation;
  std::uniform_int_distribution<std::int64_t> phase(0, tick_interval_.count() - 1);
  schedule(now_ + std::chrono::milliseconds(phase(rng_)), event{ev_kind::tick, idx, {}, {}, ep.generation});
  return *ep.transport;
}

control_transport& sim_network::transport(const std::string& address) {
  return *endpoints_.at(by_address_.at(address))->transport;
}

void sim_network::send_from(std::size_t from, std::string_view to, std::span<const std::byte> bytes) {
  ++stats_.sent;
  stats_.bytes += bytes.size();
  stats_.largest = std::max<std::uint64_t>(stats_.largest, bytes.size());
  auto it = by_address_.find(std::string(to));
  if (it == by_address_.end() || !endpoints_[from]->alive) {
    ++stats_.dropped;
    return;
  }
  const endpoint& dst = *endpoints_[it->second];
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const auto pair = std::minmax(from, it->second);
  if (dst.group != endpoints_[from]->group || cut_.contains({pair.first, pair.second}) ||
      (drop_rate_ > 0 && coin(rng_) < drop_rate_)) {
    ++stats_.dropped;
    return;
  }
  schedule(now_ + latency_, event{ev_kind::deliver, it->second, {bytes.begin(), bytes.end()}, endpoints_[from]->address});
}

void sim_network::inject(const std::string& to, std::vector<std::byte> bytes) {
  schedule(now_ + latency_, event{ev_kind::deliver, by_address_.at(to), std::move(bytes), "injected"});
}

void sim_network::schedule(cluster_clock::time_point at, event ev) {
  queue_.emplace(std::make_pair(at, seq_++), std::move(ev));
}

void sim_network::fire(event& ev) {
  endpoint& ep = *endpoints_[ev.target];
  switch (ev.kind) {
    case ev_kind::tick: {
      if (!ep.alive || ev.generation != ep.generation) return;
      if (!ep.paused && ep.hooks.tick) ep.hooks.tick();
      schedule(now_ + tick_interval_, std::move(ev));
      return;
    }
    case ev_kind::deliver:
    case ev_kind::lost:
      if (!ep.alive) {
        ++stats_.dropped;
        return;
      }
      if (ep.paused) {
        ep.backlog.push_back(std::move(ev));
        return;
      }
      if (ev.kind == ev_kind::deliver) {
        ++stats_.delivered;
        if (ep.hooks.deliver) ep.hooks.deliver(ev.bytes);
      } else if (ep.hooks.connection_lost) {
        ep.hooks.connection_lost(ev.from);
      }
      return;
  }
}

void sim_network::run_for(std::chrono::milliseconds d) {
  const auto end = now_ + d;
  while (!queue_.empty() && queue_.begin()->first.first <= end) {
    auto node = queue_.extract(queue_.begin());
    now_ = node.key().first;
    fire(node.mapped());
  }
  now_ = end;
}

bool sim_network::run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                            std::chrono::milliseconds step) {
  const auto end = now_ + limit;
  while (now_ < end) {
    if (pred()) return true;
    run_for(step);
  }
  return pred();
}

void sim_network::partition(const std::vector<std::vector<std::string>>& groups) {
  for (auto& ep : endpoints_) ep->group = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const std::string& a : groups[g]) endpoints_.at(by_address_.at(a))->group = static_cast<int>(g) + 1;
  }
}

void sim_network::cut_link(const std::string& a, const std::string& b) {
  const std::size_t ia = by_address_.at(a);
  const std::size_t ib = by_address_.at(b);
  cut_.insert({std::min(ia, ib), std::max(ia, ib)});
  schedule(now_ + latency_, event{ev_kind::lost, ia, {}, b});
  schedule(now_ + latency_, event{ev_kind::lost, ib, {}, a});
}

void sim_network::restore_link(const std::string& a, const std::string& b) {
  const std::size_t ia = by_address_.at(a);
  const std::size_t ib = by_address_.at(b);
  cut_.erase({std::min(ia, ib), std::max(ia, ib)});
}

void sim_network::heal() {
  for (auto& ep : endpoints_) ep->group = 0;
}

void sim_network::kill(const std::string& address, bool reset_connections) {
  endpoint& ep = *endpoints_.at(by_address_.at(address));
  ep.alive = false;
  ep.backlog.clear();
  if (!reset_connections) return;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i]->alive) schedule(now_ + latency_, event{ev_kind::lost, i, {}, address});
  }
}

void sim_network::pause(const std::string& address) { endpoints_.at(by_address_.at(address))->paused = true; }

void sim_network::resume(const std::string& address) {
  endpoint& ep = *endpoints_.at(by_address_.at(address));
  ep.paused = false;
  std::vector<event> backlog;
  backlog.swap(ep.backlog);
  for (event& ev : backlog) schedule(now_, std::move(ev));
}

}  // namespace herald::registry
