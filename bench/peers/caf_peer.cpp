// peer-caf: the C++ Actor Framework 0.17 (libcaf-dev) in the same scenarios.
// Remote runs: two processes on loopback, io::middleman (BASP over TCP),
// io::publish / io::remote_actor. Local runs: one actor system.
//
// Settings:
//   scheduler      max-threads 2 (the benchmark machine has 2 cores),
//                  policy 'sharing': idle workers block on the shared queue's
//                  condition variable and wake at once, where the default
//                  'stealing' policy polls with sleeps of 50 us to 10 ms
//                  (measured on 2 cores: ask p50 290-470 us with stealing,
//                  90-190 us with sharing, no tell gain with stealing).
//                  max-throughput default (unbounded).
//   middleman      defaults: default network backend, 1 deserialization
//                  worker on 2 cores, heartbeats off.
//   tell           payload: std::string of N bytes, sent by an event-based
//                  actor with send() and counted by an event-based receiver
//                  that checks each size and last byte. CAF has no back
//                  pressure between actors, so the sender keeps at most 16
//                  batches in flight (batch: min(1000, max(1, 1 MiB / N))
//                  messages followed by a flush request the receiver answers
//                  once it has handled the batch). Without a window, the
//                  sender's middleman buffers grow without bound.
//   ask            request(...).then(...) from an event-based actor, K
//                  requests in flight; the server echoes the string.
//   reqresp        ask with 1 in flight and N-byte requests and replies.
//   local-tell     1 or 2 plain threads anon_send one std::uint64_t at a time
//                  to 1 receiver actor, each staying at most 16 batches of
//                  1000 messages ahead of the receiver's count (the shape of
//                  herald-bench's local-tell).
//   local-ask      request(...).then(...) of one std::uint64_t, 1 in flight.
// Not implemented (exit 2): --transport unix|inproc, --connections > 1.
#include "alloc_counter.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "child_process.hpp"
#include "peer_cli.hpp"
#include "rtt_window.hpp"
#include "throughput_window.hpp"

namespace {

using namespace herald::bench;

constexpr const char* impl = "caf";
constexpr char fill_byte = 0x5a;
constexpr char last_byte = static_cast<char>(0xa5);
constexpr int batches_in_flight = 16;

void configure(caf::actor_system_config& cfg, bool remote) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  if (remote) cfg.load<caf::io::middleman>();
}

std::string make_payload(std::size_t size) {
  std::string p(size, fill_byte);
  if (size > 0) p.back() = last_byte;
  return p;
}

std::size_t batch_size(std::size_t bytes) {
  return std::min<std::size_t>(1000, std::max<std::size_t>(1, (1u << 20) / std::max<std::size_t>(bytes, 1)));
}

// One batch of tells, then a flush request whose answer sends the next batch.
template <class Message>
void send_batch(caf::event_based_actor* self, const caf::actor& sink, std::shared_ptr<const Message> msg,
                std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) self->send(sink, *msg);
  self->request(sink, caf::infinite, caf::flush_atom::value)
      .then([=](caf::ok_atom) { send_batch(self, sink, msg, n); }, [=](caf::error&) { self->quit(); });
}

template <class Message>
caf::behavior tell_sender(caf::event_based_actor* self, std::shared_ptr<const Message> msg, std::size_t batch) {
  return {
      [=](caf::open_atom, const caf::actor& sink) {
        for (int i = 0; i < batches_in_flight; ++i) send_batch(self, sink, msg, batch);
      },
  };
}

// Counts what arrives; `count` has this actor as its only writer.
struct receiver_state {
  std::atomic<std::uint64_t>* count;
  std::atomic<bool>* bad;
  std::size_t size;
};

caf::behavior string_receiver(caf::event_based_actor*, receiver_state st) {
  return {
      [=](const std::string& s) {
        if (s.size() != st.size || (st.size > 0 && s.back() != last_byte)) *st.bad = true;
        st.count->store(st.count->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      },
      [](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

caf::behavior number_receiver(caf::event_based_actor*, receiver_state st) {
  return {
      [=](std::uint64_t) {
        st.count->store(st.count->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      },
      [](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

// Publishes `whom` on an ephemeral port of 127.0.0.1, says so, and serves
// until the parent stops this process.
int publish_and_serve(caf::actor_system& sys, const caf::actor& whom) {
  auto port = sys.middleman().publish(whom, 0, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "%s: publish failed: %s\n", impl, sys.render(port.error()).c_str());
    return 1;
  }
  announce_ready(std::to_string(*port));
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(60));
}

caf::actor connect_remote(caf::actor_system& sys, const std::string& port) {
  auto remote = sys.middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(std::stoi(port)));
  if (!remote) {
    std::fprintf(stderr, "%s: remote_actor failed: %s\n", impl, sys.render(remote.error()).c_str());
    std::exit(1);
  }
  return *remote;
}

std::vector<std::string> child_args(const peer_options& o, const char* role) {
  return {o.scenario, "--role", role, "--size", std::to_string(o.size)};
}

int run_tell(const peer_options& o) {
  if (o.transport != "tcp") unsupported(impl, "--transport " + o.transport);
  if (o.connections != 1) unsupported(impl, "--connections > 1");
  child_process sender(child_args(o, "tell-sender"));
  caf::actor_system_config cfg;
  configure(cfg, true);
  caf::actor_system sys{cfg};
  caf::actor remote = connect_remote(sys, sender.endpoint());
  std::atomic<std::uint64_t> count{0};
  std::atomic<bool> bad{false};
  auto receiver = sys.spawn(string_receiver, receiver_state{&count, &bad, o.size});
  caf::anon_send(remote, caf::open_atom::value, receiver);
  window_result w = measure_window([&] { return count.load(std::memory_order_relaxed); }, o, allocations);
  sender.stop();
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
  if (bad || w.msgs == 0) {
    std::fprintf(stderr, "%s: tell failed (%s)\n", impl, bad ? "bad message" : "nothing received");
    return 1;
  }
  print_tell(impl, o, w);
  return 0;
}

int run_tell_sender(const peer_options& o) {
  caf::actor_system_config cfg;
  configure(cfg, true);
  caf::actor_system sys{cfg};
  auto msg = std::make_shared<const std::string>(make_payload(o.size));
  return publish_and_serve(sys, sys.spawn(tell_sender<std::string>, msg, batch_size(o.size)));
}

int run_echo_server(const peer_options& o) {
  caf::actor_system_config cfg;
  configure(cfg, true);
  caf::actor_system sys{cfg};
  auto echo = sys.spawn([size = o.size]() -> caf::behavior {
    return {
        [=](std::string& s) -> std::string {
          if (s.size() != size) std::fprintf(stderr, "%s: request of %zu bytes, expected %zu\n", impl, s.size(), size);
          return std::move(s);
        },
    };
  });
  return publish_and_serve(sys, echo);
}

// Keeps `inflight` requests going until the window closes. The state lives
// in the main thread, which waits on `done` before reading it.
template <class Message>
struct ask_run {
  rtt_window* window;
  caf::actor server;
  Message request;
  std::size_t reply_size;  // for strings: the expected reply size
  int outstanding = 0;
  bool failed = false;
  std::promise<void> done;
};

template <class Message>
void issue(caf::event_based_actor* self, ask_run<Message>* run) {
  auto sent = bench_clock::now();
  self->request(run->server, caf::infinite, run->request)
      .then(
          [=](const Message& reply) {
            auto now = bench_clock::now();
            if constexpr (std::is_same_v<Message, std::string>) {
              if (reply.size() != run->reply_size) run->failed = true;
            }
            if (!run->failed && run->window->complete(sent, now)) return issue(self, run);
            if (--run->outstanding == 0) {
              run->done.set_value();
              self->quit();
            }
          },
          [=](caf::error& err) {
            std::fprintf(stderr, "%s: request failed: %s\n", impl, self->system().render(err).c_str());
            run->failed = true;
            if (--run->outstanding == 0) {
              run->done.set_value();
              self->quit();
            }
          });
}

template <class Message>
bool drive_asks(caf::actor_system& sys, ask_run<Message>& run, int inflight, double seconds) {
  auto finished = run.done.get_future();
  run.outstanding = inflight;
  run.window->start(bench_clock::now());
  sys.spawn([&run, inflight](caf::event_based_actor* self) -> caf::behavior {
    for (int i = 0; i < inflight; ++i) issue(self, &run);
    return {[](caf::ok_atom) {}};
  });
  if (finished.wait_for(std::chrono::duration<double>(seconds + 30)) != std::future_status::ready) {
    std::fprintf(stderr, "%s: round trips stalled\n", impl);
    std::_Exit(1);  // actors still hold references to `run`
  }
  return !run.failed && run.window->done();
}

int run_ask(peer_options o, bool reqresp) {
  if (o.transport != "tcp") unsupported(impl, "--transport " + o.transport);
  if (reqresp) o.inflight = 1;
  child_process server(child_args(o, "echo-server"));
  caf::actor_system_config cfg;
  configure(cfg, true);
  caf::actor_system sys{cfg};
  rtt_window window(o, allocations);
  ask_run<std::string> run{&window, connect_remote(sys, server.endpoint()), make_payload(o.size), o.size};
  bool ok = drive_asks(sys, run, o.inflight, o.warmup + o.seconds);
  server.stop();
  if (!ok) return 1;
  if (reqresp)
    window.print_reqresp(impl, 1);
  else
    window.print_ask(impl);
  return 0;
}

int run_local_tell(const peer_options& o) {
  caf::actor_system_config cfg;
  configure(cfg, false);
  caf::actor_system sys{cfg};
  std::atomic<std::uint64_t> count{0};
  std::atomic<bool> bad{false};
  auto receiver = sys.spawn(number_receiver, receiver_state{&count, &bad, 8});
  constexpr std::uint64_t batch = 1000;
  constexpr std::uint64_t max_ahead = batches_in_flight * batch;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int i = 0; i < o.senders; ++i) {
    senders.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (std::uint64_t n = 0; n < batch; ++n) caf::anon_send(receiver, n);
        std::uint64_t total = sent.fetch_add(batch, std::memory_order_relaxed) + batch;
        while (total > count.load(std::memory_order_relaxed) + max_ahead && !stop.load(std::memory_order_relaxed))
          std::this_thread::yield();
      }
    });
  }
  window_result w = measure_window([&] { return count.load(std::memory_order_relaxed); }, o, allocations);
  stop = true;
  for (auto& t : senders) t.join();
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
  if (w.msgs == 0) return 1;
  peer_options shown = o;
  shown.size = sizeof(std::uint64_t);
  print_local_tell(impl, shown, w);
  return 0;
}

int run_local_ask(const peer_options& o) {
  caf::actor_system_config cfg;
  configure(cfg, false);
  caf::actor_system sys{cfg};
  auto server = sys.spawn([]() -> caf::behavior { return {[](std::uint64_t x) { return x; }}; });
  rtt_window window(o, allocations);
  ask_run<std::uint64_t> run{&window, server, 42, 0};
  bool ok = drive_asks(sys, run, 1, o.warmup + o.seconds);
  caf::anon_send_exit(server, caf::exit_reason::kill);
  if (!ok) return 1;
  window.print_local_ask(impl);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  peer_options o = parse_options(argc, argv);
  if (o.role == "tell-sender") return run_tell_sender(o);
  if (o.role == "echo-server") return run_echo_server(o);
  if (!o.role.empty()) usage_error(argv[0], "unknown role " + o.role);
  if (o.scenario == "tell") return run_tell(o);
  if (o.scenario == "ask") return run_ask(o, false);
  if (o.scenario == "reqresp") return run_ask(o, true);
  if (o.scenario == "local-tell") return run_local_tell(o);
  if (o.scenario == "local-ask") return run_local_ask(o);
  usage_error(argv[0], "unknown scenario " + o.scenario);
}
