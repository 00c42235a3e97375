// herald-ctl: what a node of any herald cluster knows, asked of its admin
// service (the node actor, PROTOCOL.md §9) by an admin client that does not
// join the cluster (so it never shows among the members). The admin client
// announces the admin service's own schema hash, which every node admits
// whatever its application's actor types (PROTOCOL.md §4.3).
//
//   herald-ctl --node 127.0.0.1:7001 members [--json]   members: status, incarnation
//   herald-ctl --node 127.0.0.1:7001 members --wait 5   ... once 5 members are up (within --timeout)
//   herald-ctl --node 127.0.0.1:7001 watch [--json] [--for 60]  membership and registry events, live
//   herald-ctl --node 127.0.0.1:7001 registry [--json]  the cluster-wide names
//   herald-ctl --node 127.0.0.1:7001 metrics [--json]   the node's counters
//   herald-ctl --node 127.0.0.1:7001 top [--json] [--interval 1000] [--count 1]  per actor type rates
//   herald-ctl --node 127.0.0.1:7001 spawnable [--json] the actor types others may spawn there
//
// watch prints the members as they are (event = their status, detail
// "present"), then streams the node's event log (it asks for the events after
// the last one it printed every --interval ms): one line per membership or
// registry event, a line when the node cannot be asked (it keeps trying) and
// a line when events were missed (the node keeps the newest 1024); it runs
// until interrupted or for --for seconds. top prints, per actor type,
// messages handled per second over --interval, the mailbox depth and the
// restarts and dead letters, --count times.
//
// The secret comes from --secret-file or HERALD_SECRET. Exit status: 0, 1 on
// an error (said on stderr), 2 on bad usage.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "herald/herald.hpp"
#include "node_args.hpp"

namespace {

using nlohmann::json;

void print_json(const json& j) { std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str()); }

void print_members(const std::vector<herald::admin::member>& ms, bool as_json) {
  if (as_json) {
    json a = json::array();
    for (const auto& m : ms)
      a.push_back({{"name", m.name}, {"address", m.address}, {"status", m.status}, {"node", m.node}, {"incarnation", m.incarnation}});
    return print_json(a);
  }
  std::printf("%-12s %-8s %-26s %-20s %s\n", "NAME", "STATUS", "ADDRESS", "NODE", "INCARNATION");
  for (const auto& m : ms) {
    std::printf("%-12s %-8s %-26s %-20llu %llu\n", m.name.c_str(), m.status.c_str(), m.address.c_str(),
                static_cast<unsigned long long>(m.node), static_cast<unsigned long long>(m.incarnation));
  }
}

void print_spawnable(const std::vector<herald::admin::spawnable_type>& ts, bool as_json) {
  if (as_json) {
    json a = json::array();
    for (const auto& t : ts) a.push_back({{"wire_name", t.wire_name}, {"actor_type", t.actor_type}});
    return print_json(a);
  }
  std::printf("%-32s %s\n", "TYPE", "TYPE ID");
  for (const auto& t : ts) {
    std::printf("%-32s %016llx\n", t.wire_name.c_str(), static_cast<unsigned long long>(t.actor_type));
  }
}

void print_registry(const std::vector<herald::admin::registry_entry>& es, bool as_json) {
  if (as_json) {
    json a = json::array();
    for (const auto& e : es)
      a.push_back({{"name", e.name}, {"node", e.node}, {"incarnation", e.incarnation}, {"actor", e.actor}, {"actor_type", e.actor_type}});
    return print_json(a);
  }
  std::printf("%-16s %-20s %-8s %s\n", "NAME", "NODE", "ACTOR", "TYPE");
  for (const auto& e : es) {
    std::printf("%-16s %-20llu %-8llu %016llx\n", e.name.c_str(), static_cast<unsigned long long>(e.node),
                static_cast<unsigned long long>(e.actor), static_cast<unsigned long long>(e.actor_type));
  }
}

void print_metrics(const std::vector<herald::admin::counter>& cs, bool as_json) {
  if (as_json) {
    json o = json::object();
    for (const auto& c : cs) o[c.name] = c.value;
    return print_json(o);
  }
  for (const auto& c : cs) std::printf("%-30s %llu\n", c.name.c_str(), static_cast<unsigned long long>(c.value));
}

std::size_t count_up(const std::vector<herald::admin::member>& ms) {
  std::size_t n = 0;
  for (const auto& m : ms) n += m.status == "up" ? 1 : 0;
  return n;
}

// One line of `watch`.
void print_event(const herald::admin::event& e, bool as_json) {
  if (as_json) {
    std::printf("%s\n", json{{"seq", e.seq}, {"at_ms", e.at_ms}, {"kind", e.kind}, {"event", e.event}, {"name", e.name},
                             {"node", e.node}, {"incarnation", e.incarnation}, {"detail", e.detail}}
                            .dump(-1, ' ', false, json::error_handler_t::replace)
                            .c_str());
  } else {
    std::printf("%s %-8s %-13s %-16s %-20llu %-20llu %s\n", herald::tools::utc_now().c_str(), e.kind.c_str(),
                e.event.c_str(), e.name.c_str(), static_cast<unsigned long long>(e.node),
                static_cast<unsigned long long>(e.incarnation), e.detail.c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"herald-ctl: ask a node of any herald cluster what it knows"};
  std::string node_arg;
  std::string secret_file;
  bool as_json = false;
  double timeout_s = 5;
  app.add_option("--node", node_arg, "HOST:PORT of the node to ask")->required();
  app.add_option("--secret-file", secret_file, "file holding the cluster secret (default: $HERALD_SECRET)")
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", timeout_s, "seconds to wait for the node")->check(CLI::PositiveNumber);
  app.add_flag("--json", as_json, "print JSON");
  std::string tls_ca, tls_cert, tls_key;
  app.add_option("--tls-ca", tls_ca, "PEM file of the cluster CA, for a TLS cluster (with --tls-cert, --tls-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain naming herald-ctl (CN or DNS SAN)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  auto* members = app.add_subcommand("members", "the members as the node sees them: status, incarnation");
  auto* registry = app.add_subcommand("registry", "the cluster-wide registry of named actors");
  auto* metrics = app.add_subcommand("metrics", "the node's counters");
  auto* watch = app.add_subcommand("watch", "membership and registry events as the node sees them, live");
  auto* top = app.add_subcommand("top", "per actor type: messages handled per second, mailbox depth");
  auto* spawnable = app.add_subcommand("spawnable", "the actor types other nodes may spawn on the node");
  std::size_t wait_for = 0;
  double watch_for_s = 0;
  unsigned interval_ms = 200;
  unsigned top_interval_ms = 1000;
  unsigned top_count = 1;
  members->add_option("--wait", wait_for, "wait (up to --timeout) until this many members are up");
  watch->add_option("--for", watch_for_s, "stop after this many seconds (default: until interrupted)");
  watch->add_option("--interval", interval_ms, "ask for new events every this many ms")->check(CLI::Range(10u, 60000u));
  top->add_option("--interval", top_interval_ms, "the rate's window in ms")->check(CLI::Range(10u, 600000u));
  top->add_option("--count", top_count, "how many windows to print (0: until interrupted)");
  for (auto* sub : {members, registry, metrics, watch, top, spawnable}) sub->add_flag("--json", as_json, "print JSON");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);

  herald::tools::last_warning why;
  herald::runtime::node_config cfg;
  cfg.node_name = "herald-ctl";
  cfg.listen = {"tcp://127.0.0.1:0"};
  cfg.admin_client = true;
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
  if (auto ok = sys.start_client<>(cfg); !ok) {
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
        print_members(last, as_json);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    print_members(last, as_json);
  } else if (members->parsed()) {
    auto r = sys.members_at(address, timeout);
    if (!r) return fail(r.error());
    print_members(*r, as_json);
  } else if (watch->parsed()) {
    const bool forever = watch_for_s <= 0;
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<long long>(watch_for_s * 1000));
    // The members as they are now, then every event after that.
    std::uint64_t after = 0;
    auto start = sys.events_at(address, 0, timeout);
    if (!start) return fail(start.error());
    after = start->last;
    auto now = sys.members_at(address, timeout);
    if (!now) return fail(now.error());
    for (const auto& m : *now)
      print_event(herald::admin::event{0, 0, "member", m.status, m.name, m.node, m.incarnation, "present"}, as_json);
    bool reachable = true;
    while (forever || std::chrono::steady_clock::now() < end) {
      auto r = sys.events_at(address, after, timeout);
      if (!r) {
        if (reachable)
          std::fprintf(stderr, "%s cannot ask %s: %s\n", herald::tools::utc_now().c_str(), address.c_str(),
                       r.error().message().c_str());
        reachable = false;
      } else {
        reachable = true;
        // A restarted node numbers its events from 1 again.
        if (r->last < after) after = 0;
        if (r->dropped > 0)
          std::fprintf(stderr, "%s %llu events missed (the node keeps the newest)\n", herald::tools::utc_now().c_str(),
                       static_cast<unsigned long long>(r->dropped));
        for (const auto& e : r->events) print_event(e, as_json);
        after = r->last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
  } else if (top->parsed()) {
    auto before = sys.actor_types_at(address, timeout);
    if (!before) return fail(before.error());
    for (unsigned i = 0; top_count == 0 || i < top_count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(top_interval_ms));
      auto now = sys.actor_types_at(address, timeout);
      if (!now) return fail(now.error());
      const double secs = static_cast<double>(now->at_ns - before->at_ns) / 1e9;
      std::map<std::string, herald::admin::actor_type> was;
      for (const auto& t : before->types) was[t.name] = t;
      json rows = json::array();
      if (!as_json)
        std::printf("%-40s %8s %12s %8s %9s %12s %10s\n", "ACTOR TYPE", "ACTORS", "MSG/S", "MAILBOX", "RESTARTS",
                    "DEAD LETTERS", "US/MSG");
      for (const auto& t : now->types) {
        const auto& p = was[t.name];
        const std::uint64_t handled = t.handled - std::min(p.handled, t.handled);
        const double rate = secs > 0 ? static_cast<double>(handled) / secs : 0;
        const double us = handled ? static_cast<double>(t.handler_ns - std::min(p.handler_ns, t.handler_ns)) / handled / 1e3 : 0;
        if (as_json) {
          rows.push_back({{"actor_type", t.name}, {"actors", t.alive}, {"messages_per_second", rate},
                          {"mailbox_depth", t.mailbox_depth}, {"restarts", t.restarts}, {"dead_letters", t.dead_letters},
                          {"handler_us_per_message", us}});
        } else {
          std::printf("%-40s %8llu %12.1f %8llu %9llu %12llu %10.2f\n", t.name.c_str(),
                      static_cast<unsigned long long>(t.alive), rate, static_cast<unsigned long long>(t.mailbox_depth),
                      static_cast<unsigned long long>(t.restarts), static_cast<unsigned long long>(t.dead_letters), us);
        }
      }
      if (as_json) print_json(json{{"interval_s", secs}, {"types", rows}});
      std::fflush(stdout);
      before = std::move(now);
    }
  } else if (spawnable->parsed()) {
    auto r = sys.spawnable_at(address, timeout);
    if (!r) return fail(r.error());
    print_spawnable(*r, as_json);
  } else if (registry->parsed()) {
    auto r = sys.registry_at(address, timeout);
    if (!r) return fail(r.error());
    print_registry(*r, as_json);
  } else {
    auto r = sys.metrics_at(address, timeout);
    if (!r) return fail(r.error());
    print_metrics(*r, as_json);
  }
  return 0;
}
