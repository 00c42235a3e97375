#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "herald/registry/cluster_env.hpp"

namespace herald::registry {

// A deterministic in-memory network and manual clock for tests of cluster
// logic: messages are delivered after a fixed latency in the order they were
// sent, each endpoint ticks at a fixed interval with its own phase, and time
// moves only when the test steps it. Partitions, drops, kills (with or
// without connection resets) and pauses (SIGSTOP-like: messages wait in a
// backlog) are injected by the test.
// Confined to the test's thread; endpoints run on it, inside run_for().
class sim_network final : public clock_source {
 public:
  struct endpoint_hooks {
    std::function<void(std::span<const std::byte>)> deliver;
    std::function<void(std::string_view from_address)> connection_lost;
    std::function<void()> tick;
  };
  struct stats {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    std::uint64_t bytes = 0;
    std::uint64_t largest = 0;  // bytes of the largest message sent
  };

  explicit sim_network(std::uint64_t seed = 1, std::chrono::milliseconds latency = std::chrono::milliseconds(1),
                       std::chrono::milliseconds tick_interval = std::chrono::milliseconds(50));
  ~sim_network() override;

  cluster_clock::time_point now() const override { return now_; }
  // The moment the network was created: simulated times are offsets from it.
  cluster_clock::time_point start() const noexcept { return start_; }

  // Adds an endpoint, or revives a killed one at the same address (a restart);
  // returns the transport through which it sends. Hooks run only inside run_for().
  control_transport& add(const std::string& address, endpoint_hooks hooks);
  // The transport through which address sends.
  control_transport& transport(const std::string& address);

  // Runs every event due within d, then sets the clock to now + d.
  void run_for(std::chrono::milliseconds d);
  // Steps until pred() holds (checked every step) or limit passes; true if it held.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                 std::chrono::milliseconds step = std::chrono::milliseconds(10));

  // Only addresses in the same group reach each other; unlisted addresses form one group.
  void partition(const std::vector<std::vector<std::string>>& groups);
  void heal();
  void set_drop_rate(double p) { drop_rate_ = p; }
  // The link between a and b alone closes: messages between them are lost
  // (both ways) until restore_link(), and each end is told the connection
  // was lost, as a TCP reset of that one connection would.
  void cut_link(const std::string& a, const std::string& b);
  void restore_link(const std::string& a, const std::string& b);
  // The process dies. With reset_connections, every other endpoint sees its
  // connection reset (a killed process's sockets are closed by the kernel).
  void kill(const std::string& address, bool reset_connections = true);
  // The process stops (SIGSTOP): no ticks, inbound messages wait in a backlog.
  void pause(const std::string& address);
  void resume(const std::string& address);
  // Delivers bytes to address as if from the network, after the latency.
  void inject(const std::string& to, std::vector<std::byte> bytes);

  const stats& counters() const noexcept { return stats_; }

 private:
  enum class ev_kind : std::uint8_t { deliver, tick, lost };
  struct event {
    ev_kind kind;
    std::size_t target;
    std::vector<std::byte> bytes;
    std::string from;
    std::uint64_t generation = 0;  // of the target, for ticks
  };
  struct endpoint;
  class link;

  void send_from(std::size_t from, std::string_view to, std::span<const std::byte> bytes);
  void schedule(cluster_clock::time_point at, event ev);
  void fire(event& ev);

  std::mt19937_64 rng_;
  std::chrono::milliseconds latency_;
  std::chrono::milliseconds tick_interval_;
  cluster_clock::time_point start_;
  cluster_clock::time_point now_;
  std::vector<std::unique_ptr<endpoint>> endpoints_;
  std::unordered_map<std::string, std::size_t> by_address_;
  std::map<std::pair<cluster_clock::time_point, std::uint64_t>, event> queue_;
  std::uint64_t seq_ = 0;
  double drop_rate_ = 0.0;
  std::set<std::pair<std::size_t, std::size_t>> cut_;  // (lower, higher) endpoint index
  stats stats_;
};

}  // namespace herald::registry
