// herald-ctl: what a node of the bank example cluster knows, asked of its
// node actor by a client that does not join the cluster (so it never shows
// among the members). It announces the bank example's schema, as the nodes
// do: a cluster of other actor types refuses it in the handshake.
//
//   herald-ctl --node 127.0.0.1:7001 members [--json]   members: status, incarnation
//   herald-ctl --node 127.0.0.1:7001 members --wait 5   ... once 5 members are up (within --timeout)
//   herald-ctl --node 127.0.0.1:7001 watch [--json] [--for 60]  one line per membership change
//   herald-ctl --node 127.0.0.1:7001 registry [--json]  the cluster-wide names
//   herald-ctl --node 127.0.0.1:7001 metrics [--json]   the node's counters
//   herald-ctl --node 127.0.0.1:7001 spawnable [--json] the actor types others may spawn there
//
// watch polls the node every --interval ms (default 200) and prints a line
// for each member that appears, changes status or incarnation, or vanishes,
// and a line when the node cannot be asked (it keeps trying); it runs until
// interrupted or for --for seconds.
//
// The secret comes from --secret-file or HERALD_SECRET. Exit status: 0, 1 on
// an error (said on stderr), 2 on bad usage.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <thread>

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

void print_spawnable(const std::vector<herald::admin::spawnable_type>& ts, bool json) {
  if (json) {
    std::printf("[");
    for (std::size_t i = 0; i < ts.size(); ++i) {
      std::printf("%s\n  {\"wire_name\": %s, \"actor_type\": %llu}", i ? "," : "", json_string(ts[i].wire_name).c_str(),
                  static_cast<unsigned long long>(ts[i].actor_type));
    }
    std::printf("\n]\n");
    return;
  }
  std::printf("%-32s %s\n", "TYPE", "TYPE ID");
  for (const auto& t : ts) {
    std::printf("%-32s %016llx\n", t.wire_name.c_str(), static_cast<unsigned long long>(t.actor_type));
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

std::size_t count_up(const std::vector<herald::admin::member>& ms) {
  std::size_t n = 0;
  for (const auto& m : ms) n += m.status == "up" ? 1 : 0;
  return n;
}

// One line of `watch`: a member's status before and after ("" = absent).
void print_change(const herald::admin::member& m, const std::string& was, const std::string& now, bool json) {
  if (json) {
    std::printf("{\"at\": %s, \"name\": %s, \"node\": %llu, \"incarnation\": %llu, \"was\": %s, \"status\": %s}\n",
                json_string(herald::tools::utc_now()).c_str(), json_string(m.name).c_str(), static_cast<unsigned long long>(m.node),
                static_cast<unsigned long long>(m.incarnation), json_string(was).c_str(), json_string(now).c_str());
  } else {
    std::printf("%s %-12s %-20llu %-20llu %s -> %s\n", herald::tools::utc_now().c_str(), m.name.c_str(),
                static_cast<unsigned long long>(m.node), static_cast<unsigned long long>(m.incarnation),
                was.empty() ? "(none)" : was.c_str(), now.empty() ? "(gone)" : now.c_str());
  }
  std::fflush(stdout);
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
  auto* watch = app.add_subcommand("watch", "one line per membership change, as the node sees it");
  auto* spawnable = app.add_subcommand("spawnable", "the actor types other nodes may spawn on the node");
  spawnable->add_flag("--json", json, "print JSON");
  std::size_t wait_for = 0;
  double watch_for_s = 0;
  unsigned interval_ms = 200;
  members->add_option("--wait", wait_for, "wait (up to --timeout) until this many members are up");
  watch->add_option("--for", watch_for_s, "stop after this many seconds (default: until interrupted)");
  watch->add_option("--interval", interval_ms, "poll every this many ms")->check(CLI::Range(10u, 60000u));
  for (auto* sub : {members, registry, metrics, watch}) sub->add_flag("--json", json, "print JSON");
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
  if (members->parsed() && wait_for > 0) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::vector<herald::admin::member> last;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (auto r = sys.members_at(address, std::max(left, std::chrono::milliseconds(100)))) last = std::move(*r);
      if (count_up(last) >= wait_for) break;
      if (std::chrono::steady_clock::now() >= end) {
        std::fprintf(stderr, "herald-ctl: %zu of %zu members up at %s after %.1f s\n", count_up(last), wait_for,
                     address.c_str(), timeout_s);
        print_members(last, json);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    print_members(last, json);
  } else if (members->parsed()) {
    auto r = sys.members_at(address, timeout);
    if (!r) return fail(r.error());
    print_members(*r, json);
  } else if (watch->parsed()) {
    const bool forever = watch_for_s <= 0;
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<long long>(watch_for_s * 1000));
    std::map<std::uint64_t, herald::admin::member> seen;
    bool reachable = true;
    while (forever || std::chrono::steady_clock::now() < end) {
      auto r = sys.members_at(address, timeout);
      if (!r) {
        if (reachable) std::fprintf(stderr, "%s cannot ask %s: %s\n", herald::tools::utc_now().c_str(), address.c_str(),
                                    r.error().message().c_str());
        reachable = false;
      } else {
        reachable = true;
        std::map<std::uint64_t, herald::admin::member> now;
        for (auto& m : *r) now[m.node] = m;
        for (const auto& [node, m] : now) {
          auto it = seen.find(node);
          if (it == seen.end()) {
            print_change(m, "", m.status, json);
          } else if (it->second.status != m.status || it->second.incarnation != m.incarnation) {
            print_change(m, it->second.status, m.status, json);
          }
        }
        for (const auto& [node, m] : seen) {
          if (!now.contains(node)) print_change(m, m.status, "", json);
        }
        seen = std::move(now);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
  } else if (spawnable->parsed()) {
    auto r = sys.spawnable_at(address, timeout);
    if (!r) return fail(r.error());
    print_spawnable(*r, json);
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
