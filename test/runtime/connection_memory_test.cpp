#include "herald/runtime/connection.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <vector>

#include "node_harness.hpp"
#include "raw_peer.hpp"

// What a connection costs before its peer is authenticated, measured as this
// process's resident memory with real sockets on loopback. Free heap is
// handed back to the kernel (malloc_trim) before each measurement, so that
// the figure is what the node holds, not what the allocator caches.

namespace herald::runtime::test {
namespace {

constexpr std::size_t mib = std::size_t{1} << 20;

std::size_t rss_bytes() {
  ::malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Both ends of every test socket live in this process.
void raise_fd_limit(rlim_t wanted) {
  rlimit r{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &r), 0);
  if (r.rlim_cur >= wanted) return;
  r.rlim_cur = std::min(wanted, r.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &r), 0);
  ASSERT_GE(r.rlim_cur, wanted) << "the hard limit on open files is too low for this test";
}

// Opens `count` raw TCP connections and waits until the node has adopted each
// (it sends its hello header right after accepting).
std::vector<std::unique_ptr<raw_peer>> open_idle(const std::string& address, std::size_t count) {
  std::vector<std::unique_ptr<raw_peer>> peers;
  for (std::size_t i = 0; i < count; ++i) {
    peers.push_back(std::make_unique<raw_peer>(address));
    EXPECT_TRUE(peers.back()->connected()) << "connection " << i;
  }
  std::byte header[32];
  for (std::size_t i = 0; i < peers.size(); ++i)
    EXPECT_TRUE(peers[i]->read_exact(header, sizeof header, 30s)) << "the node greets connection " << i;
  return peers;
}

// Waits until RSS is within `slack` of `baseline`; returns the last figure.
std::size_t settle_near(std::size_t baseline, std::size_t slack, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t now = rss_bytes();
  while (now > baseline + slack && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    now = rss_bytes();
  }
  return now;
}

bool tell_arrives(connection& c, recording_sink& sink) {
  const std::size_t before = sink.locked([&] { return sink.frames.size(); });
  if (!c.send_bytes(tell_header(), {})) return false;
  return sink.wait([&] { return sink.frames.size() > before; }, 10s);
}

// Under a sanitizer RSS measures the sanitizer's shadow memory.
#define SKIP_UNDER_A_SANITIZER() \
  if (herald::test::sanitized()) GTEST_SKIP() << "RSS figures are meaningless under a sanitizer"

TEST(ConnectionMemory, TwoThousandIdleConnectionsCostLittleAndLeaveNothingBehind) {
  SKIP_UNDER_A_SANITIZER();
  constexpr std::size_t idle = 2000;
  raise_fd_limit(2 * idle + 256);
  auto p = up_pair(transport_kind::tcp, {}, [](node_config& c) {
    c.ring_capacity = 4u << 20;  // the defaults, which the harness lowers
    c.handshake_timeout = 120s;  // they stay until the test closes them
    // Admission caps off: this test measures what each admitted one costs.
    c.max_pending_handshakes = c.max_pending_per_source = 4096;
    // Kept log lines would pin the freed heap pages they land in.
    c.log = [](log_level, std::string_view) {};
  });
  ASSERT_TRUE(p->a_to_b && p->b_to_a);
  ASSERT_TRUE(tell_arrives(*p->a_to_b, p->sink_b));
  const std::size_t baseline = rss_bytes();
  auto peers = open_idle(p->b->listen_addresses().front(), idle);
  const std::size_t loaded = rss_bytes();
  const std::size_t grown = loaded > baseline ? loaded - baseline : 0;
  std::printf("[ figures  ] %zu idle connections: RSS %zu -> %zu KiB (+%zu bytes per connection, both ends)\n", idle,
              baseline >> 10, loaded >> 10, grown / idle);
  EXPECT_LT(grown, 64 * mib) << "what an unauthenticated connection allocates is small";
  EXPECT_TRUE(tell_arrives(*p->a_to_b, p->sink_b)) << "the legitimate peer keeps working";
  EXPECT_TRUE(tell_arrives(*p->b_to_a, p->sink_a));
  peers.clear();
  // Near: a few KiB per closed connection may stay resident as heap pages
  // that small long-lived allocations made meanwhile (the io thread's
  // reusable per-socket state among them) keep from being returned.
  const std::size_t after = settle_near(baseline, 12 * mib, 20s);
  std::printf("[ figures  ] after they close: RSS %zu KiB\n", after >> 10);
  EXPECT_LE(after, baseline + 12 * mib) << "RSS returns near the baseline once they close: " << (baseline >> 10)
                                        << " -> " << (after >> 10) << " KiB";
  EXPECT_TRUE(tell_arrives(*p->a_to_b, p->sink_b));
}

TEST(ConnectionMemory, SlowlorisHandshakesAreReapedAtTheHandshakeTimeout) {
  SKIP_UNDER_A_SANITIZER();
  constexpr std::size_t slow = 200;
  constexpr auto timeout = 1000ms;
  raise_fd_limit(2 * slow + 256);
  recording_sink sink;
  log_capture log;
  auto cfg = base_config("target", transport_kind::tcp, nullptr);
  cfg.ring_capacity = 4u << 20;
  cfg.handshake_timeout = timeout;
  cfg.max_pending_handshakes = cfg.max_pending_per_source = 4096;  // every slowloris is admitted
  cfg.log = log.hook();
  auto n = node::start(cfg, sink);
  ASSERT_TRUE(n) << n.error().message();
  const std::size_t baseline = rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  auto peers = open_idle((*n)->listen_addresses().front(), slow);
  // One byte per connection every 100 ms, as long as the node keeps it.
  std::vector<bool> open(slow, true);
  std::size_t still_open = slow;
  std::size_t peak = rss_bytes();
  auto first_reaped = std::chrono::steady_clock::duration::max();
  const std::byte one[1] = {std::byte{0}};
  while (still_open != 0 && std::chrono::steady_clock::now() - start < timeout + 20s) {
    for (std::size_t i = 0; i < slow; ++i) {
      if (!open[i] || peers[i]->send(one)) continue;
      open[i] = false;
      --still_open;
      first_reaped = std::min(first_reaped, std::chrono::steady_clock::now() - start);
    }
    peak = std::max(peak, rss_bytes());
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(still_open, 0u) << "every slow handshake is closed";
  EXPECT_GE(first_reaped, timeout - 100ms) << "not before the handshake timeout";
  EXPECT_TRUE(log.wait_for("no complete handshake")) << log.all();
  const std::size_t grown = peak > baseline ? peak - baseline : 0;
  std::printf("[ figures  ] %zu slow handshakes: peak RSS +%zu KiB\n", slow, grown >> 10);
  EXPECT_LT(grown, 16 * mib) << "slow handshakes hold only their small handshake buffers";
  peers.clear();
  const std::size_t after = settle_near(baseline, 8 * mib, 20s);
  EXPECT_LE(after, baseline + 8 * mib) << "RSS comes back: " << (baseline >> 10) << " -> " << (after >> 10) << " KiB";
  (*n)->shutdown();
}

}  // namespace
}  // namespace herald::runtime::test
