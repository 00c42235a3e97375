// End-to-end one-way frames per second over loopback TCP between two herald
// nodes in this process (one sender thread, frames of 64 B and 1 KiB
// payload), against a plain blocking-socket baseline in the same binary: one
// send() per frame of the same 32-byte header + payload (and a variant that
// sends 64 frames per send()), and a reader that parses frames out of large
// recv()s. The machine and its load are recorded
// with the figures in bench/RESULTS.md.

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "herald/runtime/node.hpp"
#include "herald/wire/frame.hpp"

namespace {

using namespace std::chrono_literals;
using namespace herald::runtime;

constexpr std::size_t frames_per_iteration = 200'000;

class counting_sink : public frame_sink {
 public:
  void on_frame(const std::shared_ptr<connection>&, inbound_frame) override {
    if (received.fetch_add(1, std::memory_order_relaxed) + 1 == target.load(std::memory_order_relaxed)) {
      std::lock_guard lock(m);
      cv.notify_all();
    }
  }
  void on_control(const std::shared_ptr<connection>&, inbound_frame) override {}
  void on_peer_up(const std::shared_ptr<connection>&) override {
    std::lock_guard lock(m);
    ++ups;
    cv.notify_all();
  }
  void on_peer_down(const peer_info&, const herald::error&) override {}

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

void BM_HeraldTcpTell(benchmark::State& state) {
  const auto payload_size = static_cast<std::size_t>(state.range(0));
  counting_sink sink_a, sink_b;
  node_config ca, cb;
  ca.node_name = "a";
  cb.node_name = "b";
  ca.secret.value = cb.secret.value = "bench";
  cb.listen = {"tcp://127.0.0.1:0"};
  ca.backpressure_timeout = cb.backpressure_timeout = 60s;
  auto b = node::start(cb, sink_b);
  auto a = node::start(ca, sink_a);
  if (!a || !b) {
    state.SkipWithError("node start failed");
    return;
  }
  (*a)->connect((*b)->listen_addresses().front());
  sink_a.wait_up();
  auto conn = (*a)->connection_to((*b)->id());
  std::vector<std::byte> payload(payload_size, std::byte{1});
  herald::wire::frame_header h;
  h.kind = herald::wire::frame_kind::tell;
  h.target = 1;
  h.type_id = 1;
  std::uint64_t sent = 0;
  for (auto _ : state) {
    sink_b.target = sent + frames_per_iteration;
    for (std::size_t i = 0; i < frames_per_iteration; ++i) {
      if (!conn->send_bytes(h, payload)) {
        state.SkipWithError("send failed");
        return;
      }
    }
    sent += frames_per_iteration;
    sink_b.wait_for(sent);
  }
  const auto st = conn->stats();
  state.counters["frames_per_writev"] = st.frames_per_writev();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames_per_iteration));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frames_per_iteration * payload_size));
  conn.reset();
  (*a)->shutdown();
  (*b)->shutdown();
}

// Loopback TCP pair with blocking sockets.
std::pair<int, int> tcp_pair() {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::listen(listener, 1);
  socklen_t len = sizeof sa;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ::connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int server = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return {client, server};
}

// batch == 1: one send() per frame, the naive blocking sender. batch > 1:
// frames copied into a buffer and sent batch at a time, the floor that a
// hand-written batching sender over a raw socket reaches.
void blocking_socket(benchmark::State& state, std::size_t batch) {
  const auto payload_size = static_cast<std::size_t>(state.range(0));
  auto [tx, rx] = tcp_pair();
  const std::size_t frame = herald::wire::frame_size(payload_size);
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> stop{false};
  std::thread reader([&, rx = rx] {
    std::vector<std::byte> buf(256u << 10);
    std::size_t filled = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const auto n = ::recv(rx, buf.data() + filled, buf.size() - filled, 0);
      if (n <= 0) return;
      filled += static_cast<std::size_t>(n);
      std::size_t off = 0;
      while (filled - off >= frame) {
        off += frame;
        received.fetch_add(1, std::memory_order_release);
      }
      std::memmove(buf.data(), buf.data() + off, filled - off);
      filled -= off;
    }
  });
  std::vector<std::byte> out(frame * batch, std::byte{1});
  herald::wire::frame_header h;
  h.kind = herald::wire::frame_kind::tell;
  h.payload_length = static_cast<std::uint32_t>(payload_size);
  std::uint64_t sent = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < frames_per_iteration; i += batch) {
      for (std::size_t k = 0; k < batch; ++k) herald::wire::encode_header(h, out.data() + k * frame);
      std::size_t off = 0;
      while (off < out.size())
        off += static_cast<std::size_t>(::send(tx, out.data() + off, out.size() - off, MSG_NOSIGNAL));
    }
    sent += frames_per_iteration;
    while (received.load(std::memory_order_acquire) < sent) std::this_thread::yield();
  }
  stop = true;
  ::shutdown(tx, SHUT_RDWR);
  ::close(tx);
  reader.join();
  ::close(rx);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames_per_iteration));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frames_per_iteration * payload_size));
}

void BM_BlockingSocketBaseline(benchmark::State& state) { blocking_socket(state, 1); }
void BM_BlockingSocketBatched64Baseline(benchmark::State& state) { blocking_socket(state, 64); }

BENCHMARK(BM_HeraldTcpTell)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BlockingSocketBaseline)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BlockingSocketBatched64Baseline)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
