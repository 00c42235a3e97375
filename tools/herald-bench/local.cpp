// `local-tell` and `local-ask`: one actor_system, no network, 2 worker
// threads (the machine's cores, as the CAF peer's scheduler).
//
//   local-tell  --senders K plain threads tell a std::uint64_t-sized message
//              to one actor, counted in its handler. Mailboxes are unbounded,
//              so each sender stays at most 16 batches of 1000 messages ahead
//              of the receiver (the CAF peer's window): a faster producer
//              must not grow the mailbox without bound.
//   local-ask  a client actor runs `co_await target.ask(n)` in a loop, 1 in
//              flight, each round trip timed: the actor-to-actor ask path
//              (the reply resumes the client as a message of its own).
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench_actors.hpp"
#include "rtt_window.hpp"
#include "scenarios.hpp"
#include "throughput_window.hpp"

namespace herald::bench {
namespace {

constexpr std::size_t local_workers = 2;
constexpr std::uint64_t batch = 1000;
constexpr std::uint64_t max_ahead = 16 * batch;

struct ping_run {
  actor_ref<local_sink> target;
  rtt_window* window;
  std::atomic<bool>* done;
  std::atomic<bool>* failed;
};

// Asks its target in a loop until the window closes. The window is confined
// to this actor (its handlers never overlap, also across co_await).
class local_client : public actor<local_client> {
 public:
  task<void> on(const ping_run& message) {
    const ping_run run = message;  // the message does not outlive the first suspension
    for (std::uint64_t n = 0;; ++n) {
      auto sent = bench_clock::now();
      auto reply = co_await run.target.ask(n);
      if (!reply || *reply != n + 1) {
        run.failed->store(true);
        break;
      }
      if (!run.window->complete(sent, bench_clock::now())) break;
    }
    run.done->store(true);
    run.done->notify_all();
  }
};

}  // namespace

int run_local_tell(const peer_options& o) {
  actor_system sys(actor_system_config{.worker_threads = local_workers});
  std::atomic<std::uint64_t> received{0};
  auto target = sys.spawn<local_sink>({}, &received);
  if (!target) return 1;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int s = 0; s < o.senders; ++s) {
    senders.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (std::uint64_t i = 0; i < batch; ++i) (void)target->tell(local_tick{i});
        std::uint64_t total = sent.fetch_add(batch, std::memory_order_relaxed) + batch;
        while (total > received.load(std::memory_order_relaxed) + max_ahead && !stop.load(std::memory_order_relaxed))
          std::this_thread::yield();
      }
    });
  }
  window_result w = measure_window([&] { return received.load(std::memory_order_relaxed); }, o, process_allocations);
  stop = true;
  for (auto& t : senders) t.join();
  sys.shutdown();
  if (w.msgs == 0) {
    std::fprintf(stderr, "%s: local tell: nothing received\n", impl);
    return 1;
  }
  peer_options shown = o;
  shown.size = sizeof(local_tick);
  print_local_tell(impl, shown, w);
  return 0;
}

int run_local_ask(const peer_options& o) {
  actor_system sys(actor_system_config{.worker_threads = local_workers});
  std::atomic<std::uint64_t> unused{0};
  auto target = sys.spawn<local_sink>({}, &unused);
  auto client = sys.spawn<local_client>();
  if (!target || !client) return 1;
  rtt_window window(o, process_allocations);
  std::atomic<bool> done{false}, failed{false};
  window.start(bench_clock::now());
  (void)client->tell(ping_run{*target, &window, &done, &failed});
  done.wait(false);
  sys.shutdown();
  if (failed.load()) {
    std::fprintf(stderr, "%s: local ask: a reply failed\n", impl);
    return 1;
  }
  window.print_local_ask(impl);
  return 0;
}

}  // namespace herald::bench
