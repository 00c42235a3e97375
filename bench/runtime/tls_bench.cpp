// What TLS costs: one-way tells per second and asks per second (one at a
// time, and 64 in flight) between two herald nodes in this process over
// loopback TCP, plaintext (tls:0) against TLS 1.3 with mutual certificate
// authentication (tls:1), in the same run. The certificates are made at
// start (test/support/test_certs.hpp). Figures in bench/RESULTS.md.

#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "../../test/support/test_certs.hpp"
#include "herald/runtime/node.hpp"
#include "herald/wire/frame.hpp"

namespace {

using namespace std::chrono_literals;
using namespace herald::runtime;

constexpr std::size_t tells_per_iteration = 200'000;

// Counts tells, answers asks with their own payload.
class bench_sink : public frame_sink {
 public:
  void on_frame(const std::shared_ptr<connection>& from, inbound_frame f) override {
    if (f.header.kind == herald::wire::frame_kind::ask) {
      herald::wire::frame_header h;
      h.kind = herald::wire::frame_kind::reply;
      h.request_id = f.header.request_id;
      (void)from->send_bytes(h, f.bytes());
      return;
    }
    if (received.fetch_add(1, std::memory_order_relaxed) + 1 == target.load(std::memory_order_relaxed))
      notify();
  }
  void on_control(const std::shared_ptr<connection>&, inbound_frame) override {}
  void on_peer_up(const std::shared_ptr<connection>&) override {
    std::lock_guard lock(m);
    ++ups;
    cv.notify_all();
  }
  void on_peer_down(const peer_info&, const herald::error&) override {}

  void notify() {
    std::lock_guard lock(m);
    cv.notify_all();
  }
  void wait_for(std::uint64_t n) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return received.load() >= n; });
  }
  void wait_up() {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return ups > 0; });
  }

  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> target{0};
  std::mutex m;
  std::condition_variable cv;
  int ups = 0;
};

// Two connected nodes, a dialling b, with or without TLS.
struct pair {
  herald::test::temp_dir dir;
  bench_sink sink_a, sink_b;
  std::unique_ptr<node> a, b;
  std::shared_ptr<connection> conn;

  explicit pair(bool tls) {
    node_config ca, cb;
    ca.node_name = "a";
    cb.node_name = "b";
    ca.secret.value = cb.secret.value = "bench";
    cb.listen = {"tcp://127.0.0.1:0"};
    ca.backpressure_timeout = cb.backpressure_timeout = 60s;
    if (tls) {
      herald::test::test_ca authority("bench-ca");
      const std::string ca_file = dir.file("ca.pem", authority.cert_pem());
      for (auto* c : {&ca, &cb}) {
        auto issued = authority.issue(c->node_name);
        c->tls.enabled = true;
        c->tls.ca_file = ca_file;
        c->tls.cert_file = dir.file(c->node_name + ".crt", issued.cert_pem);
        c->tls.key_file = dir.file(c->node_name + ".key", issued.key_pem);
      }
    }
    auto nb = node::start(cb, sink_b);
    auto na = node::start(ca, sink_a);
    if (!na || !nb) return;
    a = std::move(*na);
    b = std::move(*nb);
    a->connect(b->listen_addresses().front());
    sink_a.wait_up();
    conn = a->connection_to(b->id());
  }
  ~pair() {
    conn.reset();
    if (a) a->shutdown();
    if (b) b->shutdown();
  }
};

herald::wire::frame_header header(herald::wire::frame_kind kind) {
  herald::wire::frame_header h;
  h.kind = kind;
  h.target = 1;
  h.type_id = 1;
  return h;
}

void BM_Tell(benchmark::State& state) {
  pair p(state.range(0) != 0);
  if (!p.conn) return state.SkipWithError("no connection");
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(1)), std::byte{1});
  const auto h = header(herald::wire::frame_kind::tell);
  std::uint64_t sent = 0;
  for (auto _ : state) {
    p.sink_b.target = sent + tells_per_iteration;
    for (std::size_t i = 0; i < tells_per_iteration; ++i) {
      if (!p.conn->send_bytes(h, payload)) return state.SkipWithError("send failed");
    }
    sent += tells_per_iteration;
    p.sink_b.wait_for(sent);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tells_per_iteration));
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * tells_per_iteration * payload.size()));
}

// Asks of 64 B, `window` in flight: each reply sends the next ask.
void BM_Ask(benchmark::State& state) {
  pair p(state.range(0) != 0);
  if (!p.conn) return state.SkipWithError("no connection");
  const std::size_t window = static_cast<std::size_t>(state.range(1));
  const std::size_t asks_per_iteration = window == 1 ? 20'000 : 200'000;
  const auto h = header(herald::wire::frame_kind::ask);
  std::mutex m;
  std::condition_variable cv;
  std::size_t issued = 0, done = 0, failed = 0;
  std::function<void()> issue_one = [&] {
    auto id = p.conn->request(
        h, 64, [](std::span<std::byte> out) { std::memset(out.data(), 1, out.size()); },
        connection::clock::now() + 30s,
        [&](herald::result<inbound_frame> r) {
          bool more = false;
          {
            std::lock_guard lock(m);
            ++done;
            if (!r) ++failed;
            more = issued < asks_per_iteration;
            if (more) ++issued;
            if (done == asks_per_iteration) cv.notify_all();
          }
          if (more) issue_one();
        });
    if (!id) {
      std::lock_guard lock(m);
      ++failed;
      ++done;
      cv.notify_all();
    }
  };
  for (auto _ : state) {
    {
      std::lock_guard lock(m);
      issued = window;
      done = 0;
    }
    for (std::size_t i = 0; i < window; ++i) issue_one();
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done >= asks_per_iteration; });
  }
  if (failed != 0) state.SkipWithError("asks failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * asks_per_iteration));
}

}  // namespace

BENCHMARK(BM_Tell)
    ->ArgNames({"tls", "payload"})
    ->ArgsProduct({{0, 1}, {64, 1024}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ask)
    ->ArgNames({"tls", "window"})
    ->ArgsProduct({{0, 1}, {1, 64}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
