// `tell`: one-way messages between two nodes, counted in the receiving
// actor's handler. The measuring process is the receiver (as for the peers):
// it starts a node with one `sink` actor per connection, then re-executes
// itself as the sender process (--role tell-sender), which starts one node
// per connection (each node pair shares exactly one connection), looks up
// its sink and tells from one thread per connection as fast as the ring
// takes the messages (backpressure policy: block). With --transport inproc
// the sender nodes are threads of the measuring process.
//
// Every tell carries its sequence number; the sinks count what went missing,
// arrived twice or out of order. A tell refused with backpressure is retried
// with the same number; one refused otherwise (node_down) is counted, the
// sender looks the sink up again after 100 ms and goes on. The JSON line has
// these counts (lost, duplicates, reorders, backpressure_events,
// node_down_errors, sent), and the exit status is 1 when a message was lost
// or duplicated.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
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
      : sys_(actor_system_config{.worker_threads = 1}), receiver_(receiver), sink_name_("sink-" + std::to_string(index)) {
    auto cfg = node_settings(o, "sender-" + std::to_string(index), false, inproc);
    if (auto ok = sys_.start_node<sink, echo>(cfg); !ok) fail("start_node", ok.error());
    auto found = sys_.remote_lookup<sink>(receiver_, sink_name_);
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
  std::uint64_t backpressure_retries() const { return retries_.load(std::memory_order_relaxed); }
  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  [[noreturn]] static void fail(const char* what, const error& e) {
    std::fprintf(stderr, "%s: sender: %s: %s\n", impl, what, e.message().c_str());
    std::exit(1);
  }

  template <class M>
  void loop(M m, std::atomic<std::uint64_t>* sent, const std::atomic<bool>* stop) {
    std::uint64_t n = 0;
    stamp(m, 1);
    while (!stop->load(std::memory_order_relaxed)) {
      if (auto ok = ref_.tell(m); ok) {
        sent->store(++n, std::memory_order_relaxed);
        stamp(m, n + 1);
      } else if (ok.error().code() == errc::backpressure) {
        // The ring stayed full for the whole backpressure timeout: the same
        // message (same number) goes again.
        retries_.fetch_add(1, std::memory_order_relaxed);
      } else {
        // node_down or the like: not sent, and the caller knows. Whatever the
        // link had accepted may be lost; the sink's count of missing numbers
        // says so. Look the sink up again (a new link) and go on.
        errors_.fetch_add(1, std::memory_order_relaxed);
        std::fprintf(stderr, "%s: sender: tell: %s (retrying)\n", impl, ok.error().message().c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (auto found = sys_.remote_lookup<sink>(receiver_, sink_name_)) ref_ = *found;
      }
    }
  }

  actor_system sys_;
  std::string receiver_;
  std::string sink_name_;
  actor_ref<sink> ref_;
  std::thread thread_;
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> errors_{0};
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

// What the sender side reports: its totals since it started.
struct sender_totals {
  std::uint64_t sent = 0;
  std::uint64_t backpressure = 0;
  std::uint64_t errors = 0;
};

void print_result(const peer_options& o, const window_result& w, const std::optional<side_figures>& sender,
                  std::uint64_t bad, const tell_counters& c, const std::optional<sender_totals>& totals) {
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
      .num("receiver_allocs_per_msg", w.allocs_per_msg())
      .num("cpu_ns_per_msg", w.cpu_ns_per_msg());
  if (sender) j.num("sender_allocs_per_msg", sender->allocs_per_msg());
  j.integer("bad_msgs", bad)
      .integer("lost", c.missing.load())
      .integer("duplicates", c.duplicates.load())
      .integer("reorders", c.reorders.load());
  if (totals) {
    j.integer("sent", totals->sent)
        .integer("backpressure_events", totals->backpressure)
        .integer("node_down_errors", totals->errors);
  }
  j.print();
}

}  // namespace

int run_tell_sender(const peer_options& o) {
  std::vector<std::unique_ptr<sender_node>> nodes;
  for (int i = 0; i < o.connections; ++i) nodes.push_back(std::make_unique<sender_node>(o, i, o.endpoint, nullptr));
  sent_counters sent(o.connections);
  std::atomic<bool> stop{false};
  for (int i = 0; i < o.connections; ++i) nodes[static_cast<std::size_t>(i)]->start(o.size, &sent.counts[static_cast<std::size_t>(i)].n, &stop);
  announce_ready("senders");
  report_window([&] { return sent.total(); }, o, process_allocations, [&] {
    std::uint64_t bp = 0, errors = 0;
    for (auto& n : nodes) {
      bp += n->backpressure_retries();
      errors += n->errors();
    }
    return " sent " + std::to_string(sent.total()) + " backpressure " + std::to_string(bp) + " errors " +
           std::to_string(errors);
  });
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
  std::optional<sender_totals> totals;
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
    totals = sender_totals{sent.total(), 0, 0};
    for (auto& n : nodes) {
      totals->backpressure += n->backpressure_retries();
      totals->errors += n->errors();
    }
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
    if (sender_figures && sender_figures->sent) {
      totals = sender_totals{*sender_figures->sent, *sender_figures->backpressure, *sender_figures->errors};
    }
  }
  sys.shutdown();
  unlink_address(address);
  std::uint64_t bad = counters.bad.load();
  if (w.msgs == 0 || bad != 0) {
    std::fprintf(stderr, "%s: tell failed (%s)\n", impl, bad ? "malformed messages" : "nothing received");
    return 1;
  }
  print_result(o, w, sender_figures, bad, counters, totals);
  const std::uint64_t lost = counters.missing.load(), dup = counters.duplicates.load();
  if (lost != 0 || dup != 0) {
    std::fprintf(stderr, "%s: tell lost %llu and duplicated %llu messages\n", impl,
                 static_cast<unsigned long long>(lost), static_cast<unsigned long long>(dup));
    return 1;
  }
  return 0;
}

}  // namespace herald::bench
