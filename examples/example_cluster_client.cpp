// The bank example across a cluster: this program joins the cluster of
// herald-node processes (examples/bank_cluster.hpp) as one more node that
// hosts no bank actors, finds the accounts of the other nodes by name, and
// runs a workload: tells, asks, a transfer that a teller makes with
// co_await asks to accounts on two other nodes, and monitors. Then it waits
// for a watched node to die (tools/demo kills it) and shows what every
// party noticed.
//
//   HERALD_SECRET=s3cret example_cluster_client --seed 127.0.0.1:7001
//       --nodes n1,n2,n3 --watch n3 --wait-down 20
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bank_cluster.hpp"

using namespace std::chrono_literals;

namespace {

void say(const std::string& line) {
  std::printf("[client] %s\n", line.c_str());
  std::fflush(stdout);
}

// A name can arrive through gossip a moment before the link to its node is
// up; a send meanwhile fails with node_down. Retry those for a while.
template <class F>
auto retry_node_down(F f) {
  auto r = f();
  for (int i = 0; i < 50 && !r && r.error().code() == herald::errc::node_down; ++i) {
    std::this_thread::sleep_for(100ms);
    r = f();
  }
  return r;
}

// Lives on this node and monitors an account on another one.
class watcher : public herald::actor<watcher> {
 public:
  explicit watcher(std::shared_ptr<std::promise<herald::down>> seen) : seen_(std::move(seen)) {}
  void on(const herald::actor_ref<bank::account>& a) { monitor(a); }
  void on(const herald::down& d) {
    if (!fired_) seen_->set_value(d);
    fired_ = true;
  }

 private:
  std::shared_ptr<std::promise<herald::down>> seen_;
  bool fired_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"example_cluster_client: drives the herald bank example cluster"};
  std::vector<std::string> seeds;
  std::vector<std::string> nodes{"n1", "n2", "n3"};
  std::string watched = "n3";
  std::string secret_file;
  int tells = 1000;
  double wait_down_s = 0;
  app.add_option("--seed", seeds, "HOST:PORT of a node to join through (repeatable)")->required();
  app.add_option("--nodes", nodes, "names of the herald-node processes")->delimiter(',');
  app.add_option("--watch", watched, "the node whose account is monitored");
  app.add_option("--tells", tells, "deposits of 1 cent told to each account");
  app.add_option("--wait-down", wait_down_s,
                 "seconds to wait for the watched node to go down (0: do not wait)");
  app.add_option("--secret-file", secret_file, "file holding the cluster secret (default: $HERALD_SECRET)");
  CLI11_PARSE(app, argc, argv);

  herald::runtime::node_config cfg;
  cfg.node_name = "client";
  cfg.listen = {"tcp://127.0.0.1:0"};
  cfg.secret.file = secret_file;
  herald::registry::cluster_config cluster;
  for (const auto& s : seeds) cluster.seeds.push_back(s.find("://") == std::string::npos ? "tcp://" + s : s);
  cluster.log = [](std::string_view) {};  // herald-node prints the membership
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 2}};
  if (auto ok = sys.start_node<bank::account, bank::teller, bank::auditor>(cfg, cluster); !ok) {
    std::fprintf(stderr, "example_cluster_client: %s\n", ok.error().message().c_str());
    return 1;
  }
  say("joined as node " + std::to_string(sys.node_id()) + " at " + sys.listen_addresses().at(0));

  // 1. Lookup by name: every account, wherever it lives.
  std::vector<herald::actor_ref<bank::account>> accounts;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  for (const auto& n : nodes) {
    herald::result<herald::actor_ref<bank::account>> a = herald::error(herald::errc::not_found);
    while (!(a = sys.lookup<bank::account>("acct-" + n)) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    if (!a) {
      std::fprintf(stderr, "example_cluster_client: acct-%s not found: %s\n", n.c_str(),
                   a.error().message().c_str());
      return 1;
    }
    say("lookup acct-" + n + ": on node " + std::to_string(a->node_id()) +
        (a->is_remote() ? " (remote)" : ""));
    accounts.push_back(*a);
  }

  // 2. Tells, then an ask that sees them all (ordered per sender and receiver).
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    if (auto ok = retry_node_down([&] { return accounts[i].tell(bank::deposit{10'000}); }); !ok) {
      std::fprintf(stderr, "example_cluster_client: tell: %s\n", ok.error().message().c_str());
      return 1;
    }
    for (int k = 0; k < tells; ++k) (void)accounts[i].tell(bank::deposit{1});
  }
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    auto c = retry_node_down([&] { return accounts[i].ask(bank::balance{}, 5s).get(); });
    if (!c) {
      std::fprintf(stderr, "example_cluster_client: ask: %s\n", c.error().message().c_str());
      return 1;
    }
    say("acct-" + nodes[i] + " holds " + std::to_string(*c) + " cents");
  }
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  say(std::to_string(accounts.size() * (tells + 1)) + " tells and " + std::to_string(accounts.size()) +
      " asks in " + std::to_string(us / 1000) + " ms");

  // 3. A teller on the first node moves money between accounts on two other
  // nodes: its handler co_awaits a withdraw and a deposit, remote both.
  auto teller = sys.lookup<bank::teller>("teller-" + nodes.front());
  if (!teller) {
    std::fprintf(stderr, "example_cluster_client: %s\n", teller.error().message().c_str());
    return 1;
  }
  const std::string a = "acct-" + nodes[1 % nodes.size()], b = "acct-" + nodes[2 % nodes.size()];
  bool transfers_ok = true;
  for (auto [amount, expect] : {std::pair{2'500, "moved"}, std::pair{1'000'000, "refused"}}) {
    const auto cents = amount;  // a lambda may not capture a structured binding before clang 16
    auto r = retry_node_down([&] { return teller->ask(bank::transfer{a, b, cents}, 5s).get(); });
    say("teller-" + nodes.front() + ": " + (r ? *r : "error: " + r.error().message()));
    transfers_ok = transfers_ok && r && r->starts_with(expect);
  }
  if (!transfers_ok) {
    std::fprintf(stderr, "example_cluster_client: a transfer did not end as expected\n");
    return 1;
  }

  // 4. Monitors: an auditor on the first node and an actor here both watch
  // the watched node's account.
  auto auditor = sys.lookup<bank::auditor>("auditor-" + nodes.front());
  auto target = sys.lookup<bank::account>("acct-" + watched);
  if (!auditor || !target) {
    std::fprintf(stderr, "example_cluster_client: auditor-%s or acct-%s not found\n", nodes.front().c_str(),
                 watched.c_str());
    return 1;
  }
  auto w = retry_node_down([&] { return auditor->ask(bank::watch{"acct-" + watched}, 5s).get(); });
  say(w ? *w : "auditor: " + w.error().message());
  auto seen = std::make_shared<std::promise<herald::down>>();
  auto down_seen = seen->get_future();
  auto eye = sys.spawn<watcher>(herald::spawn_options{}, seen).value();
  (void)eye.tell(*target);
  if (wait_down_s <= 0) return 0;

  say("monitoring acct-" + watched + " on node " + std::to_string(target->node_id()) +
      "; waiting for it to go down");
  auto t_wait = std::chrono::steady_clock::now();
  if (down_seen.wait_for(std::chrono::duration<double>(wait_down_s)) != std::future_status::ready) {
    say("acct-" + watched + " did not go down within " + std::to_string(wait_down_s) + " s");
    return 1;
  }
  auto d = down_seen.get();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t_wait)
                .count();
  say("monitor fired after " + std::to_string(ms) + " ms: acct-" + watched + " down, reason " +
      std::string(herald::to_string(d.reason.code())) + " (" + d.reason.message() + ")");

  // What the others noticed: the auditor's monitor, the registry, the rest
  // of the cluster still serving.
  auto report = auditor->ask(bank::audit_report{}, 5s).get();
  for (int i = 0; i < 50 && report && report->empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    report = auditor->ask(bank::audit_report{}, 5s).get();
  }
  if (report) {
    for (const auto& line : *report) say("auditor-" + nodes.front() + " reports: " + line);
  }
  auto gone = sys.lookup<bank::account>("acct-" + watched);
  say("lookup acct-" + watched + " now: " + (gone ? std::string("still found") : gone.error().message()));
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    if (nodes[i] == watched) continue;
    auto c = accounts[i].ask(bank::balance{}, 5s).get();
    say("acct-" + nodes[i] + " still answers: " + (c ? std::to_string(*c) + " cents" : c.error().message()));
  }
  bool ok = d.reason.code() == herald::errc::node_down && report && !report->empty();
  say(ok ? "the cluster noticed" : "something was missed");
  return ok ? 0 : 1;
}
