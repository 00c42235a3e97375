// herald-node: one node of the bank example cluster. It hosts the actors of
// examples/bank_cluster.hpp under names of its own ("acct-NAME",
// "teller-NAME", "auditor-NAME"), joins the cluster through its seeds, prints
// its identity and every membership change (one line each), and leaves the
// cluster gracefully on SIGINT or SIGTERM.
//
//   HERALD_SECRET=s3cret herald-node --name n1 --listen 127.0.0.1:7001
//   herald-node --name n2 --listen 127.0.0.1:7002 --seed 127.0.0.1:7001 --secret-file /etc/herald/secret
//   herald-node --name n3 ... --tls-ca ca.pem --tls-cert n3.crt --tls-key n3.key   (TLS 1.3, docs/remote.md)
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "bank_cluster.hpp"
#include "node_args.hpp"

namespace {

void say(const std::string& name, const std::string& line) {
  std::printf("[%s] %s\n", name.c_str(), line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"herald-node: a node of the herald bank example cluster"};
  std::string name = "node";
  std::string listen = "127.0.0.1:7001";
  std::vector<std::string> seeds;
  std::string secret_file;
  unsigned workers = 2;
  std::string tls_ca, tls_cert, tls_key;
  app.add_option("--name", name, "node name (also names its actors: acct-NAME, teller-NAME, auditor-NAME)");
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks one)");
  app.add_option("--seed", seeds, "HOST:PORT of a node to join through (repeatable)");
  app.add_option("--secret-file", secret_file, "file holding the cluster secret (default: $HERALD_SECRET)")
      ->check(CLI::ExistingFile);
  app.add_option("--workers", workers, "worker threads")->check(CLI::Range(1u, 64u));
  app.add_option("--tls-ca", tls_ca, "PEM file of the cluster CA: turns on TLS 1.3 (with --tls-cert, --tls-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain of this node (its CN or a DNS SAN is --name)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  // The signals are taken synchronously by sigwait below; block them before
  // any thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  herald::runtime::node_config node;
  node.node_name = name;
  node.listen = {herald::tools::to_address(listen)};
  node.secret = herald::tools::secret_from(secret_file);
  if (auto bad = herald::tools::tls_from(tls_ca, tls_cert, tls_key, node.tls); !bad.empty()) {
    std::fprintf(stderr, "herald-node: %s\n", bad.c_str());
    return 2;
  }
  node.log = [name](herald::runtime::log_level level, std::string_view line) {
    if (level < herald::runtime::log_level::warn) return;
    say(name, "transport: " + std::string(line));
  };
  herald::registry::cluster_config cluster;
  for (const auto& s : seeds) cluster.seeds.push_back(herald::tools::to_address(s));
  cluster.log = [name](std::string_view line) { say(name, "cluster: " + std::string(line)); };

  herald::actor_system sys{herald::actor_system_config{.worker_threads = workers}};
  if (auto ok = sys.start_node<bank::account, bank::teller, bank::auditor>(node, cluster); !ok) {
    std::fprintf(stderr, "herald-node: cannot start node %s: %s\n", name.c_str(),
                 ok.error().message().c_str());
    return 1;
  }
  if (auto ok = bank::spawn_branch(sys, name); !ok) {
    std::fprintf(stderr, "herald-node: cannot spawn the bank actors: %s\n", ok.error().message().c_str());
    return 1;
  }
  say(name, "node " + std::to_string(sys.node_id()) + " listening on " + sys.listen_addresses().at(0));
  say(name, "hosting acct-" + name + ", teller-" + name + ", auditor-" + name);
  if (seeds.empty()) say(name, "no seeds: a new cluster that others join through this node");

  int sig = 0;
  sigwait(&stop_signals, &sig);
  say(name, std::string("got ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": leaving the cluster");
  sys.shutdown();
  say(name, "left");
  return 0;
}
