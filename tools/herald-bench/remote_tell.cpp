// `tell`: one-way messages between two nodes, counted in the receiving
// actor's handler. The measuring process is the receiver (as for the peers):
// it starts a node with one `sink` actor per connection, then re-executes
// itself as the sender process (--role tell-sender), which starts one node
// per connection (each node pair shares exactly one connection), looks up
// its sink and tells from one thread per connection as fast as the ring
// takes the messages (backpressure policy: block). With --transport inproc
// the sender nodes are threads of the measuring process.
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "bench_actors.hpp"
#include "child_process.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "scenarios.hpp"
#include "side_report.hpp"
#include "throughput_window.hpp"

namespace herald::bench {
namespace {

// Receiver threads: 1 io thread and 1 worker for one connection; 2 and 2
// (the machine's cores) for more.
std::size_t receiver_threads(const peer_options& o) { return o.connections > 1 ? 2 : 1; }

// One sender node: its own actor_system, a connection to the receiver, a
// thread that tells until the process ends or `stop` is set.
class sender_node {
 public:
  sender_node(const peer_options& o, int index, const std::string& receiver, runtime::inproc_network* inproc)
      : sys_(actor_system_config{.worker_threads = 1}) {
    auto cfg = node_settings(o, "sender-" + std::to_string(index), false, inproc);
    if (auto ok = sys_.start_node<sink, echo>(cfg); !ok) fail("start_node", ok.error());
    auto found = sys_.remote_lookup<sink>(receiver, "sink-" + std::to_string(index));
    if (!found) fail("remote_lookup", found.error());
    ref_ = *found;
  }

  void start(std::size_t size, std::atomic<std::uint64_t>* sent, const std::atomic<bool>* stop) {
    thread_ = std::thread([this, size, sent, stop] {
      if (size == pod_size) {
        loop(make_pod(), sent, stop);
      } else {
        loop(make_blob(size), sent, stop);
      }
    });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t backpressure_retries() const { return retries_; }

 private:
  [[noreturn]] static void fail(const char* what, const error& e) {
    std::fprintf(stderr, "%s: sender: %s: %s\n", impl, what, e.message().c_str());
    std::exit(1);
  }

  template <class M>
  void loop(const M& m, std::atomic<std::uint64_t>* sent, const std::atomic<bool>* stop) {
    std::uint64_t n = 0;
    while (!stop->load(std::memory_order_relaxed)) {
      if (auto ok = ref_.tell(m); ok) {
        sent->store(++n, std::memory_order_relaxed);
      } else if (ok.error().code() == errc::backpressure) {
        ++retries_;  // the ring stayed full for the whole backpressure timeout
      } else {
        return;  // node_down: the receiver went away
      }
    }
  }

  actor_system sys_;
  actor_ref<sink> ref_;
  std::thread thread_;
  std::uint64_t retries_ = 0;
};

struct sent_counters {
  explicit sent_counters(int n) : counts(std::make_unique<handler_count[]>(static_cast<std::size_t>(n))), n(n) {}
  std::uint64_t total() const {
    std::uint64_t s = 0;
    for (int i = 0; i < n; ++i) s += counts[static_cast<std::size_t>(i)].n.load(std::memory_order_relaxed);
    return s;
  }
  std::unique_ptr<handler_count[]> counts;
  int n;
};

void print_result(const peer_options& o, const window_result& w, const std::optional<side_figures>& sender,
                  std::uint64_t bad) {
  std::fprintf(stderr, "%s tell %zu B over %s x%d: %.0f msgs/s, receiver %.3f allocs/msg, sender %s allocs/msg\n",
               impl, o.size, o.transport.c_str(), o.connections, w.per_second(), w.allocs_per_msg(),
               sender ? std::to_string(sender->allocs_per_msg()).c_str() : "n/a");
  json_line j;
  j.str("bench", "tell")
      .str("impl", impl)
      .str("transport", o.transport)
      .integer("connections", static_cast<std::uint64_t>(o.connections))
      .integer("size", o.size)
      .integer("msgs", w.msgs)
      .num("seconds", w.seconds)
      .num("msgs_per_s", w.per_second())
      .num("mb_per_s", w.per_second() * static_cast<double>(o.size) / 1e6)
      .num("allocs_per_msg", w.allocs_per_msg())
      .num("receiver_allocs_per_msg", w.allocs_per_msg());
  if (sender) j.num("sender_allocs_per_msg", sender->allocs_per_msg());
  j.integer("bad_msgs", bad).print();
}

}  // namespace

int run_tell_sender(const peer_options& o) {
  std::vector<std::unique_ptr<sender_node>> nodes;
  for (int i = 0; i < o.connections; ++i) nodes.push_back(std::make_unique<sender_node>(o, i, o.endpoint, nullptr));
  sent_counters sent(o.connections);
  std::atomic<bool> stop{false};
  for (int i = 0; i < o.connections; ++i) nodes[static_cast<std::size_t>(i)]->start(o.size, &sent.counts[static_cast<std::size_t>(i)].n, &stop);
  announce_ready("senders");
  report_window([&] { return sent.total(); }, o, process_allocations);
  for (auto& n : nodes) n->join();  // until the parent stops this process
  return 0;
}

int run_tell(const peer_options& o) {
  runtime::inproc_network inproc;
  const bool in_process = o.transport == "inproc";
  actor_system sys(actor_system_config{.worker_threads = receiver_threads(o)});
  auto cfg = node_settings(o, "receiver", true, in_process ? &inproc : nullptr);
  cfg.io_threads = receiver_threads(o);
  if (auto ok = sys.start_node<sink, echo>(cfg); !ok) {
    std::fprintf(stderr, "%s: start_node: %s\n", impl, ok.error().message().c_str());
    return 1;
  }
  const std::string address = sys.listen_addresses().at(0);
  tell_counters counters(static_cast<std::size_t>(o.connections), o.size);
  for (int i = 0; i < o.connections; ++i) {
    if (!sys.spawn<sink>(herald::name("sink-" + std::to_string(i)), &counters, static_cast<std::size_t>(i))) return 1;
  }

  std::optional<side_figures> sender_figures;
  window_result w;
  if (in_process) {
    std::vector<std::unique_ptr<sender_node>> nodes;
    for (int i = 0; i < o.connections; ++i) nodes.push_back(std::make_unique<sender_node>(o, i, address, &inproc));
    sent_counters sent(o.connections);
    std::atomic<bool> stop{false};
    for (int i = 0; i < o.connections; ++i) nodes[static_cast<std::size_t>(i)]->start(o.size, &sent.counts[static_cast<std::size_t>(i)].n, &stop);
    w = measure_window([&] { return counters.total(); }, o, process_allocations);
    stop = true;
    for (auto& n : nodes) n->join();
    // One process: its allocations are the sender's and the receiver's together.
  } else {
    report_pipe reports;
    std::vector<std::string> args{"tell", "--role", "tell-sender", "--endpoint", address, "--size", std::to_string(o.size),
                                  "--transport", o.transport, "--connections", std::to_string(o.connections),
                                  "--seconds", std::to_string(o.seconds), "--warmup", std::to_string(o.warmup)};
    child_process sender(args);
    reports.child_started();
    w = measure_window([&] { return counters.total(); }, o, process_allocations);
    sender_figures = reports.read(std::chrono::seconds(5));
    sender.stop();
  }
  sys.shutdown();
  unlink_address(address);
  std::uint64_t bad = counters.bad.load();
  if (w.msgs == 0 || bad != 0) {
    std::fprintf(stderr, "%s: tell failed (%s)\n", impl, bad ? "malformed messages" : "nothing received");
    return 1;
  }
  print_result(o, w, sender_figures, bad);
  return 0;
}

}  // namespace herald::bench
