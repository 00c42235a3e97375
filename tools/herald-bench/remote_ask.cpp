// `ask` and `reqresp`: round trips between two nodes. The measuring process
// is the client: it re-executes itself as the server process (--role
// echo-server), which runs one `echo` actor that answers each request with
// the message it got. The client keeps --inflight K asks outstanding with
// ask(m).then(f); each reply is timed (one clock read) and, inside the
// window, answered by the next ask from the callback, on the worker that runs
// it. With HERALD_BENCH_THEN_INLINE=1 in the environment the driver uses
// then_inline(f) instead: the callback runs on the client node's io thread
// that read the reply, which also writes the next ask (the JSON line says
// "continuation": "inline" or "worker"). 64-byte requests are the POD
// message; other sizes the byte vector. --transport inproc: the server node
// runs in the measuring process.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "bench_actors.hpp"
#include "child_process.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "rtt_window.hpp"
#include "scenarios.hpp"
#include "side_report.hpp"

namespace herald::bench {
namespace {

bool inline_continuations() {
  static const bool on = [] {
    const char* v = std::getenv("HERALD_BENCH_THEN_INLINE");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
  }();
  return on;
}

// Runs the asks of one client and waits for the window to close.
// The rtt_window is confined to the one thread that runs every callback
// (the client node's single worker, or its io thread with then_inline); the
// asks of the first burst are sent from the calling thread during the
// warm-up, when complete() writes nothing.
template <class M>
class ask_driver {
 public:
  ask_driver(actor_ref<echo> ref, M msg, const peer_options& o)
      : ref_(std::move(ref)), msg_(std::move(msg)), o_(o), window_(o, process_allocations),
        sent_at_(static_cast<std::size_t>(o.inflight)) {}

  // false if a reply failed or was malformed.
  bool run() {
    window_.start(bench_clock::now());
    outstanding_.store(o_.inflight);
    for (std::size_t s = 0; s < sent_at_.size(); ++s) issue(s);
    finished_.wait(false);
    return !failed_.load();
  }
  const rtt_window& window() const { return window_; }

 private:
  void issue(std::size_t slot) {
    sent_at_[slot] = bench_clock::now();
    auto f = ref_.ask(msg_);
    if (inline_continuations()) {
      f.then_inline([this, slot](result<M> r) { on_reply(slot, std::move(r)); });
    } else {
      f.then([this, slot](result<M> r) { on_reply(slot, std::move(r)); });
    }
  }

  void on_reply(std::size_t slot, result<M> r) {
    auto now = bench_clock::now();
    if (!r || !ok(*r)) {
      if (!failed_.exchange(true))
        std::fprintf(stderr, "%s: ask failed: %s\n", impl, r ? "malformed reply" : r.error().message().c_str());
    } else if (!failed_.load(std::memory_order_relaxed) && window_.complete(sent_at_[slot], now)) {
      issue(slot);
      return;
    }
    if (outstanding_.fetch_sub(1) == 1) {
      finished_.store(true);
      finished_.notify_all();
    }
  }

  bool ok(const pod64& m) const { return o_.size == pod_size && well_formed(m); }
  bool ok(const blob& m) const { return well_formed(m, o_.size); }

  actor_ref<echo> ref_;
  const M msg_;
  const peer_options& o_;
  rtt_window window_;
  std::vector<bench_clock::time_point> sent_at_;
  std::atomic<int> outstanding_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> finished_{false};
};

void print_result(const peer_options& o, bool reqresp, const rtt_window& w, const std::optional<side_figures>& server) {
  const auto& h = w.histogram();
  std::fprintf(stderr, "%s %s %zu B inflight %d over %s: %.0f rtt/s, p50 %.1f us, client %.2f allocs/rtt, server %s\n",
               impl, o.scenario.c_str(), o.size, o.inflight, o.transport.c_str(), w.per_second(),
               h.percentile_us(0.5), w.allocs_per_msg(), server ? std::to_string(server->allocs_per_msg()).c_str() : "n/a");
  json_line j;
  j.str("bench", reqresp ? "reqresp" : "ask").str("impl", impl).str("transport", o.transport).integer("size", o.size);
  if (reqresp) {
    j.integer("clients", 1);
  } else {
    j.integer("inflight", static_cast<std::uint64_t>(o.inflight));
  }
  j.integer("msgs", h.count())
      .num("seconds", w.seconds())
      .num(reqresp ? "req_per_s" : "rtt_per_s", w.per_second())
      .num("p50_us", h.percentile_us(0.5))
      .num("p99_us", h.percentile_us(0.99))
      .num("p999_us", h.percentile_us(0.999))
      .num("allocs_per_msg", w.allocs_per_msg())
      .num("cpu_ns_per_msg", w.cpu_ns_per_msg());
  if (server) j.num("server_allocs_per_msg", server->allocs_per_msg());
  j.str("continuation", inline_continuations() ? "inline" : "worker");
  j.print();
}

// The server's node: one echo actor named "echo".
class server_node {
 public:
  server_node(const peer_options& o, runtime::inproc_network* inproc) : sys_(actor_system_config{.worker_threads = 1}) {
    if (auto ok = sys_.start_node<sink, echo>(node_settings(o, "server", true, inproc)); !ok) {
      std::fprintf(stderr, "%s: server: start_node: %s\n", impl, ok.error().message().c_str());
      std::exit(1);
    }
    // The echo handler only copies its request into the reply: non_blocking,
    // so a request that finds it idle is answered on the io thread that read
    // it (spawn_options::non_blocking).
    if (!sys_.spawn<echo>(spawn_options{.name = "echo", .non_blocking = true}, &served_)) std::exit(1);
  }
  ~server_node() { unlink_address(address()); }
  std::string address() const { return sys_.listen_addresses().at(0); }
  std::uint64_t served() const { return served_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> served_{0};
  actor_system sys_;
};

}  // namespace

int run_echo_server(const peer_options& o) {
  server_node server(o, nullptr);
  announce_ready(server.address());
  report_window([&] { return server.served(); }, o, process_allocations);
  for (;;) ::pause();  // until the parent stops this process
}

int run_ask(peer_options o, bool reqresp) {
  if (reqresp) o.inflight = 1;
  runtime::inproc_network inproc;
  std::unique_ptr<server_node> local_server;
  std::unique_ptr<child_process> child;
  report_pipe reports;
  std::string address;
  if (o.transport == "inproc") {
    local_server = std::make_unique<server_node>(o, &inproc);
    address = local_server->address();
  } else {
    child = std::make_unique<child_process>(std::vector<std::string>{
        o.scenario, "--role", "echo-server", "--size", std::to_string(o.size), "--transport", o.transport,
        "--seconds", std::to_string(o.seconds), "--warmup", std::to_string(o.warmup)});
    address = child->endpoint();
  }
  reports.child_started();

  actor_system sys(actor_system_config{.worker_threads = 1});
  if (auto ok = sys.start_node<sink, echo>(node_settings(o, "client", false, &inproc)); !ok) {
    std::fprintf(stderr, "%s: start_node: %s\n", impl, ok.error().message().c_str());
    return 1;
  }
  auto ref = sys.remote_lookup<echo>(address, "echo");
  if (!ref) {
    std::fprintf(stderr, "%s: remote_lookup: %s\n", impl, ref.error().message().c_str());
    return 1;
  }
  // The driver outlives the client node: its last callback may still be
  // returning on the io thread when run() sees the window closed.
  auto measure = [&](auto& driver) {
    bool ok = driver.run();
    auto server = child ? reports.read(std::chrono::seconds(5)) : std::nullopt;
    sys.shutdown();
    if (ok) print_result(o, reqresp, driver.window(), server);
    if (child) child->stop();
    return ok;
  };
  bool ok = false;
  if (o.size == pod_size) {
    ask_driver<pod64> d(*ref, make_pod(), o);
    ok = measure(d);
  } else {
    ask_driver<blob> d(*ref, make_blob(o.size), o);
    ok = measure(d);
  }
  return ok ? 0 : 1;
}

}  // namespace herald::bench
