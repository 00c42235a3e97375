// herald-node: one node of the bank example cluster. It hosts the actors of
// examples/bank_cluster.hpp under names of its own ("acct-NAME",
// "teller-NAME", "auditor-NAME"), joins the cluster through its seeds, prints
// its identity and every membership change (one line each, UTC timestamp
// first), and leaves the cluster gracefully on SIGINT or SIGTERM.
//
//   HERALD_SECRET=s3cret herald-node --name n1 --listen 127.0.0.1:7001
//   herald-node --name n2 --listen 127.0.0.1:7002 --seed 127.0.0.1:7001 --secret-file /etc/herald/secret
//   herald-node --name n3 --listen 127.0.0.1:7003 --seed 127.0.0.1:7001 --state-dir /var/lib/herald-n3
//   herald-node --name n3 ... --tls-ca ca.pem --tls-cert n3.crt --tls-key n3.key   (TLS 1.3, docs/remote.md)
//
// Identity: --node-id fixes the node id; --state-dir keeps it in the file
// DIR/node-id (written at the first start with the given or a random id).
// A restart with the same id is a new incarnation of the same member, which
// replaces the old one at once. --log-level debug shows every transport event
// (dials, failed dials, links opened and closed); the default, info, shows
// links and membership; warn only problems.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bank_cluster.hpp"
#include "herald/runtime/log_limiter.hpp"
#include "node_args.hpp"

namespace {

// --log-format json: one JSON object per line (at, node, level, source, msg).
bool json_lines = false;

void say(const std::string& name, const std::string& line, const char* level = "info", const char* source = "node") {
  if (json_lines) {
    nlohmann::ordered_json j = {{"at", herald::tools::utc_now()}, {"node", name}, {"level", level},
                                {"source", source}, {"msg", line}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s [%s] %s\n", herald::tools::utc_now().c_str(), name.c_str(), line.c_str());
  }
  std::fflush(stdout);
}

// The node id kept in state_dir/node-id; written with wanted (or a random id)
// when the file does not exist yet. 0 and a message on an error.
std::uint64_t node_id_from_state(const std::string& state_dir, std::uint64_t wanted, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    error = "cannot create " + state_dir + ": " + ec.message();
    return 0;
  }
  const fs::path file = fs::path(state_dir) / "node-id";
  if (std::ifstream in(file); in) {
    std::uint64_t id = 0;
    if (!(in >> id) || id == 0) {
      error = file.string() + " holds no node id";
      return 0;
    }
    if (wanted != 0 && wanted != id) {
      error = "--node-id " + std::to_string(wanted) + " differs from " + std::to_string(id) + " in " + file.string();
      return 0;
    }
    return id;
  }
  std::uint64_t id = wanted;
  while (id == 0) id = std::random_device{}() * 0x100000000ull + std::random_device{}();
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << id << '\n';
    if (!out.flush()) {
      error = "cannot write " + tmp.string();
      return 0;
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    error = "cannot write " + file.string() + ": " + ec.message();
    return 0;
  }
  return id;
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
  std::uint64_t node_id = 0;
  std::string state_dir;
  std::string log_level = "info";
  std::string metrics_listen;
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
  app.add_option("--node-id", node_id, "node id (default: the one in --state-dir, else random)")
      ->check(CLI::Range(std::uint64_t{1}, ~std::uint64_t{0}));
  app.add_option("--state-dir", state_dir, "directory keeping the node id across restarts (file node-id)");
  app.add_option("--metrics-listen", metrics_listen,
                 "HOST:PORT to serve Prometheus /metrics and the dashboard / on (e.g. 127.0.0.1:9464)");
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text, or json for one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}));
  std::size_t log_rate = 5;
  app.add_option("--log-rate", log_rate, "at most this many lines per second per cause (0: no limit)");
  app.add_option("--log-level", log_level, "transport lines shown: debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);
  json_lines = log_format == "json";
  if (!state_dir.empty()) {
    std::string error;
    node_id = node_id_from_state(state_dir, node_id, error);
    if (node_id == 0) {
      std::fprintf(stderr, "herald-node: %s\n", error.c_str());
      return 1;
    }
  }
  const auto min_level = log_level == "debug"  ? herald::runtime::log_level::debug
                         : log_level == "info" ? herald::runtime::log_level::info
                         : log_level == "warn" ? herald::runtime::log_level::warn
                                               : herald::runtime::log_level::error;

  // The signals are taken synchronously by sigwait below; block them before
  // any thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  herald::runtime::node_config node;
  node.node_id = node_id;
  node.node_name = name;
  node.listen = {herald::tools::to_address(listen)};
  node.secret = herald::tools::secret_from(secret_file);
  node.metrics_listen = metrics_listen;
  if (auto bad = herald::tools::tls_from(tls_ca, tls_cert, tls_key, node.tls); !bad.empty()) {
    std::fprintf(stderr, "herald-node: %s\n", bad.c_str());
    return 2;
  }
  node.log = [name, min_level](herald::runtime::log_level level, std::string_view line) {
    if (level < min_level) return;
    static constexpr const char* names[] = {"debug", "info", "warn", "error"};
    const char* lv = names[static_cast<int>(level)];
    if (json_lines) return say(name, std::string(line), lv, "transport");
    say(name, std::string("transport ") + lv + ": " + std::string(line));
  };
  herald::registry::cluster_config cluster;
  for (const auto& s : seeds) cluster.seeds.push_back(herald::tools::to_address(s));
  node.log_lines_per_second = log_rate;
  // The cluster layer's lines, by cause (the transport limits its own).
  herald::runtime::log_limiter cluster_lines{log_rate};
  cluster.log = [name, &cluster_lines](std::string_view line) {
    auto ok = cluster_lines.admit(line);
    if (!ok) return;
    if (json_lines) return say(name, *ok, "info", "cluster");
    say(name, "cluster: " + *ok);
  };

  herald::actor_system sys{herald::actor_system_config{.worker_threads = workers}};
  // Other nodes may open accounts and auditors here (spawn_on; herald-ctl spawnable lists them).
  (void)sys.declare_spawnable<bank::account>();
  (void)sys.declare_spawnable<bank::auditor, std::string>();
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
  if (auto http = sys.http_address(); !http.empty()) say(name, "metrics and dashboard on http://" + http + "/");
  if (seeds.empty()) say(name, "no seeds: a new cluster that others join through this node");

  int sig = 0;
  sigwait(&stop_signals, &sig);
  say(name, std::string("got ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": leaving the cluster");
  sys.shutdown();
  say(name, "left");
  return 0;
}
