// Remote spawn: a node asks another node of its cluster to start an actor
// there. The hosting node declares which actor types it accepts (and their
// constructor parameters); the asking node gets a typed ref once the actor
// runs, and its name is registered cluster-wide like any named actor.
// Built with -Wall -Wextra -Werror, like every example.
//
// Run: build/bin/example_remote_spawn   (two nodes in one process on loopback)
#include <herald/herald.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

struct add {
  std::int64_t n = 0;
};
struct total {
  std::uint8_t unused = 0;
};

// A counter that starts from a label and an initial value, both sent over
// the wire by the node that spawns it.
class counter : public herald::actor<counter> {
 public:
  using messages = herald::messages<add, total>;
  counter(std::string label, std::int64_t start) : label_(std::move(label)), value_(start) {}
  void on(const add& a) { value_ += a.n; }
  std::string on(const total&) const { return label_ + "=" + std::to_string(value_); }

 private:
  std::string label_;
  std::int64_t value_;
};

int main() {
  using namespace std::chrono_literals;
  herald::runtime::node_config cfg;
  cfg.secret.value = "example-remote-spawn-secret";
  cfg.listen = {"tcp://127.0.0.1:0"};

  herald::actor_system host{herald::actor_system_config{.worker_threads = 1}};
  // Others may spawn counters here, built from (std::string, std::int64_t).
  if (auto ok = host.declare_spawnable<counter, std::string, std::int64_t>(); !ok) return 1;
  cfg.node_name = "host";
  if (auto ok = host.start_node<counter>(cfg); !ok) {
    std::printf("host: %s\n", ok.error().message().c_str());
    return 1;
  }

  herald::actor_system asker{herald::actor_system_config{.worker_threads = 1}};
  cfg.node_name = "asker";
  herald::registry::cluster_config cluster;
  cluster.seeds = {host.listen_addresses().at(0)};
  if (auto ok = asker.start_node<counter>(cfg, cluster); !ok) {
    std::printf("asker: %s\n", ok.error().message().c_str());
    return 1;
  }

  // Until the two nodes have met, the link is not there: node_down.
  herald::result<herald::actor_ref<counter>> ref = herald::error(herald::errc::node_down);
  for (int i = 0; i < 500 && !ref && ref.error().code() == herald::errc::node_down; ++i) {
    ref = asker.spawn_on<counter>(host.node_id(), herald::name("visits"), "visits", std::int64_t{40});
    if (!ref) std::this_thread::sleep_for(10ms);
  }
  if (!ref) {
    std::printf("spawn_on: %s\n", ref.error().message().c_str());
    return 1;
  }
  (void)ref->tell(add{2});
  auto t = ref->ask(total{}, 5s).get();
  std::printf("%s on node %llu\n", t ? t->c_str() : t.error().message().c_str(),
              static_cast<unsigned long long>(ref->node_id()));

  // A second spawn under the same name is refused: the name is taken.
  auto again = asker.spawn_on<counter>(host.node_id(), herald::name("visits"), "again", std::int64_t{0});
  std::printf("again: %s\n", again ? "spawned?" : again.error().message().c_str());
  return t && !again ? 0 : 1;
}
