// A herald application unlike the bank example, for herald-ctl's tests: a
// node exposing an inventory (shelves and a picker) whose schema hash differs
// from the bank's, so herald-ctl must reach it through the admin service.
//
//   admin_test_app --name a --listen 127.0.0.1:7101 [--seed HOST:PORT] [--metrics-listen 127.0.0.1:0]
//
// It spawns shelf-NAME and picker-NAME, has the picker tell its shelf
// `--rate` messages per second, prints "ready" and its HTTP address, and
// runs until SIGTERM or SIGINT. The secret comes from HERALD_SECRET.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "herald/herald.hpp"

namespace inventory {

struct stock {
  static constexpr std::string_view wire_name = "inventory.stock";
  std::int64_t items = 0;
};
struct count {
  static constexpr std::string_view wire_name = "inventory.count";
  std::uint8_t unused = 0;
};

class shelf : public herald::actor<shelf> {
 public:
  using messages = herald::messages<stock, count>;
  void on(const stock& s) { items_ += s.items; }
  std::int64_t on(const count&) const { return items_; }

 private:
  std::int64_t items_ = 0;
};

struct pick {
  static constexpr std::string_view wire_name = "inventory.pick";
  std::uint32_t n = 0;
};

class picker : public herald::actor<picker> {
 public:
  using messages = herald::messages<pick>;
  void on(const pick& p) { picked_ += p.n; }

 private:
  std::uint64_t picked_ = 0;
};

}  // namespace inventory

int main(int argc, char** argv) {
  CLI::App app{"admin_test_app: an inventory node for herald-ctl's tests"};
  std::string name = "a", listen = "127.0.0.1:0", metrics_listen;
  std::vector<std::string> seeds;
  unsigned rate = 200;
  app.add_option("--name", name);
  app.add_option("--listen", listen);
  app.add_option("--seed", seeds);
  app.add_option("--metrics-listen", metrics_listen);
  app.add_option("--rate", rate);
  CLI11_PARSE(app, argc, argv);

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  herald::runtime::node_config cfg;
  cfg.node_name = name;
  cfg.listen = {"tcp://" + listen};
  cfg.metrics_listen = metrics_listen;
  herald::registry::cluster_config cluster;
  for (const auto& s : seeds) cluster.seeds.push_back("tcp://" + s);
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 2}};
  if (auto ok = sys.start_node<inventory::shelf, inventory::picker>(cfg, cluster); !ok) {
    std::fprintf(stderr, "admin_test_app: %s\n", ok.error().message().c_str());
    return 1;
  }
  auto shelf = sys.spawn<inventory::shelf>(herald::spawn_options{.name = "shelf-" + name});
  auto picker = sys.spawn<inventory::picker>(herald::spawn_options{.name = "picker-" + name});
  if (!shelf || !picker) {
    std::fprintf(stderr, "admin_test_app: cannot spawn\n");
    return 1;
  }
  std::printf("ready %s http=%s\n", sys.listen_addresses().at(0).c_str(), sys.http_address().c_str());
  std::fflush(stdout);
  std::atomic<bool> done{false};
  std::thread load([&] {
    while (!done.load()) {
      (void)shelf->tell(inventory::stock{1});
      std::this_thread::sleep_for(std::chrono::microseconds(1'000'000 / (rate ? rate : 1)));
    }
  });
  int sig = 0;
  sigwait(&stop, &sig);
  done = true;
  load.join();
  sys.shutdown();
  return 0;
}
