// herald-ctl: what a node of the bank example cluster knows, asked of its
// node actor by a client that does not join the cluster (so it never shows
// among the members). It announces the bank example's schema, as the nodes
// do: a cluster of other actor types refuses it in the handshake.
//
//   herald-ctl --node 127.0.0.1:7001 members [--json]   members: status, incarnation
//   herald-ctl --node 127.0.0.1:7001 registry [--json]  the cluster-wide names
//   herald-ctl --node 127.0.0.1:7001 metrics [--json]   the node's counters
//
// The secret comes from --secret-file or HERALD_SECRET. Exit status: 0, 1 on
// an error (said on stderr), 2 on bad usage.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "bank_cluster.hpp"
#include "node_args.hpp"

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void print_members(const std::vector<herald::admin::member>& ms, bool json) {
  if (json) {
    std::printf("[");
    for (std::size_t i = 0; i < ms.size(); ++i) {
      const auto& m = ms[i];
      std::printf(
          "%s\n  {\"name\": %s, \"address\": %s, \"status\": %s, \"node\": %llu, \"incarnation\": %llu}",
          i ? "," : "", json_string(m.name).c_str(), json_string(m.address).c_str(),
          json_string(m.status).c_str(), static_cast<unsigned long long>(m.node),
          static_cast<unsigned long long>(m.incarnation));
    }
    std::printf("\n]\n");
    return;
  }
  std::printf("%-12s %-8s %-26s %-20s %s\n", "NAME", "STATUS", "ADDRESS", "NODE", "INCARNATION");
  for (const auto& m : ms) {
    std::printf("%-12s %-8s %-26s %-20llu %llu\n", m.name.c_str(), m.status.c_str(), m.address.c_str(),
                static_cast<unsigned long long>(m.node), static_cast<unsigned long long>(m.incarnation));
  }
}

void print_registry(const std::vector<herald::admin::registry_entry>& es, bool json) {
  if (json) {
    std::printf("[");
    for (std::size_t i = 0; i < es.size(); ++i) {
      const auto& e = es[i];
      std::printf(
          "%s\n  {\"name\": %s, \"node\": %llu, \"incarnation\": %llu, \"actor\": %llu, \"actor_type\": "
          "%llu}",
          i ? "," : "", json_string(e.name).c_str(), static_cast<unsigned long long>(e.node),
          static_cast<unsigned long long>(e.incarnation), static_cast<unsigned long long>(e.actor),
          static_cast<unsigned long long>(e.actor_type));
    }
    std::printf("\n]\n");
    return;
  }
  std::printf("%-16s %-20s %-8s %s\n", "NAME", "NODE", "ACTOR", "TYPE");
  for (const auto& e : es) {
    std::printf("%-16s %-20llu %-8llu %016llx\n", e.name.c_str(), static_cast<unsigned long long>(e.node),
                static_cast<unsigned long long>(e.actor), static_cast<unsigned long long>(e.actor_type));
  }
}

void print_metrics(const std::vector<herald::admin::counter>& cs, bool json) {
  if (json) {
    std::printf("{");
    for (std::size_t i = 0; i < cs.size(); ++i) {
      std::printf("%s\n  %s: %llu", i ? "," : "", json_string(cs[i].name).c_str(),
                  static_cast<unsigned long long>(cs[i].value));
    }
    std::printf("\n}\n");
    return;
  }
  for (const auto& c : cs)
    std::printf("%-30s %llu\n", c.name.c_str(), static_cast<unsigned long long>(c.value));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"herald-ctl: ask a node of the herald bank example cluster what it knows"};
  std::string node_arg;
  std::string secret_file;
  bool json = false;
  double timeout_s = 5;
  app.add_option("--node", node_arg, "HOST:PORT of the node to ask")->required();
  app.add_option("--secret-file", secret_file, "file holding the cluster secret (default: $HERALD_SECRET)")
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", timeout_s, "seconds to wait for the node")->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "print JSON");
  std::string tls_ca, tls_cert, tls_key;
  app.add_option("--tls-ca", tls_ca, "PEM file of the cluster CA, for a TLS cluster (with --tls-cert, --tls-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain naming herald-ctl (CN or DNS SAN)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  auto* members = app.add_subcommand("members", "the members as the node sees them: status, incarnation");
  auto* registry = app.add_subcommand("registry", "the cluster-wide registry of named actors");
  auto* metrics = app.add_subcommand("metrics", "the node's counters");
  for (auto* sub : {members, registry, metrics}) sub->add_flag("--json", json, "print JSON");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);

  herald::tools::last_warning why;
  herald::runtime::node_config cfg;
  cfg.node_name = "herald-ctl";
  cfg.listen = {"tcp://127.0.0.1:0"};
  cfg.secret = herald::tools::secret_from(secret_file);
  if (auto bad = herald::tools::tls_from(tls_ca, tls_cert, tls_key, cfg.tls); !bad.empty()) {
    std::fprintf(stderr, "herald-ctl: %s\n", bad.c_str());
    return 2;
  }
  cfg.reconnect_max = std::chrono::milliseconds(500);
  cfg.log = [&why](herald::runtime::log_level level, std::string_view line) {
    if (level >= herald::runtime::log_level::warn) why.set(line);
  };
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 1}};
  if (auto ok = sys.start_client<bank::account, bank::teller, bank::auditor>(cfg); !ok) {
    std::fprintf(stderr, "herald-ctl: %s\n", ok.error().message().c_str());
    return 1;
  }
  const std::string address = herald::tools::to_address(node_arg);
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  auto fail = [&](const herald::error& e) {
    std::string line = "herald-ctl: cannot ask " + address + ": " + e.message();
    if (auto w = why.get(); !w.empty()) line += " (last transport error: " + w + ")";
    std::fprintf(stderr, "%s\n", line.c_str());
    return 1;
  };
  if (members->parsed()) {
    auto r = sys.members_at(address, timeout);
    if (!r) return fail(r.error());
    print_members(*r, json);
  } else if (registry->parsed()) {
    auto r = sys.registry_at(address, timeout);
    if (!r) return fail(r.error());
    print_registry(*r, json);
  } else {
    auto r = sys.metrics_at(address, timeout);
    if (!r) return fail(r.error());
    print_metrics(*r, json);
  }
  return 0;
}
