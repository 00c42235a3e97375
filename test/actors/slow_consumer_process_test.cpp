// Flow control between two processes: a sender floods tells at a receiver
// whose handler is slow, and that is stopped (SIGSTOP) and continued midway.
// The sender's memory stays within its ring, the receiver's within one
// window of messages, every tell the sender was told succeeded arrives in
// order, the sender sees backpressure, and throughput comes back after
// SIGCONT. 6 s by default, 60 s (a 10 s stop) under HERALD_CHAOS, 10
// minutes under HERALD_SOAK.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/child_process.hpp"
#include "support/loopback_node.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct numbered {
  std::uint64_t n = 0;
  std::string pad;  // makes each tell about 1 KiB
};
struct report_request {
  std::uint8_t unused = 0;
};
struct report {
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
};

// About 20 µs per message: far slower than the link.
class slow_sink : public actor<slow_sink> {
 public:
  using messages = herald::messages<numbered, report_request>;
  void on(const numbered& m) {
    if (m.n != next_) ++out_of_order_;
    next_ = m.n + 1;
    ++received_;
    const auto until = std::chrono::steady_clock::now() + 20us;
    while (std::chrono::steady_clock::now() < until) {
    }
  }
  report on(const report_request&) const { return {received_, out_of_order_}; }

 private:
  std::uint64_t next_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t out_of_order_ = 0;
};

constexpr std::size_t receiver_window = 1u << 20;
constexpr std::size_t sender_ring = 4u << 20;

runtime::node_config cfg(const std::string& name) { return test::loopback_node(name, "slow-consumer-secret"); }

class SlowConsumerChaos : public ::testing::Test {};

void slow_consumer(std::chrono::seconds length, std::chrono::seconds pause) {
  if (test::sanitized()) GTEST_SKIP() << "measures memory";
  test::child_process child([](const auto& say) {
    actor_system b{actor_system_config{.worker_threads = 1}};
    auto c = cfg("receiver");
    c.max_frame_size = 256u << 10;
    c.flow_window_bytes = receiver_window;
    if (!b.start_node<slow_sink>(c) || !b.spawn<slow_sink>(herald::name("sink"))) return false;
    say(b.listen_addresses().at(0));
    for (;;) ::pause();
  });
  ASSERT_TRUE(child.wait_for_line(20s)) << "the receiving process failed to start";
  const std::string address = child.line();
  const std::string child_pid = std::to_string(child.pid());

  actor_system a{actor_system_config{.worker_threads = 1}};
  auto c = cfg("sender");
  c.ring_capacity = sender_ring;
  c.backpressure_timeout = 50ms;
  ASSERT_TRUE(a.start_client<slow_sink>(c));
  auto sink = a.remote_lookup<slow_sink>(address, "sink");
  ASSERT_TRUE(sink) << sink.error().message();
  const std::string pad(1000, 'x');
  // Warm up both sides (pools, the read buffer, the code) before the baselines.
  std::uint64_t n = 0;
  for (; n < 2000; ++n) ASSERT_TRUE(sink->tell(numbered{n, pad}));
  ASSERT_TRUE(sink->ask(report_request{}, 30s).get());
  const std::size_t sender_base = test::resident_bytes();
  const std::size_t receiver_base = test::resident_bytes(child_pid);

  std::uint64_t backpressure = 0, other_errors = 0;
  std::size_t sender_peak = sender_base, receiver_peak = receiver_base;
  const auto start = std::chrono::steady_clock::now();
  const auto stop_at = start + length / 3;
  const auto continue_at = stop_at + pause;
  const auto end = start + length;
  bool stopped = false, continued = false;
  std::vector<std::uint64_t> per_second(static_cast<std::size_t>(length / 1s) + 1, 0);
  for (std::uint64_t i = 0;; ++i) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) break;
    if (!stopped && now >= stop_at) {
      ASSERT_EQ(::kill(child.pid(), SIGSTOP), 0);
      stopped = true;
    }
    if (stopped && !continued && now >= continue_at) {
      ASSERT_EQ(::kill(child.pid(), SIGCONT), 0);
      continued = true;
    }
    auto r = sink->tell(numbered{n, pad});
    if (r) {
      ++n;
      ++per_second[static_cast<std::size_t>((now - start) / 1s)];
    } else if (r.error().code() == errc::backpressure) {
      ++backpressure;
    } else {
      ++other_errors;
    }
    if (i % 256 == 0) {
      sender_peak = std::max(sender_peak, test::resident_bytes());
      receiver_peak = std::max(receiver_peak, test::resident_bytes(child_pid));
    }
  }
  // The ask waits behind every admitted tell: room in the ring comes as the
  // receiver works through them.
  result<report> got = error(errc::timeout);
  for (int tries = 0; tries < 600; ++tries) {
    got = sink->ask(report_request{}, 30s).get();
    if (got || got.error().code() != errc::backpressure) break;
    std::this_thread::sleep_for(50ms);
  }
  std::string seconds;
  for (auto s : per_second) seconds += " " + std::to_string(s);
  std::printf("[ figures  ] %llu tells admitted, %llu backpressure; sender RSS +%zu KiB (ring %zu KiB), receiver RSS "
              "+%zu KiB (window %zu KiB); admitted per second:%s\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(backpressure),
              (sender_peak - sender_base) >> 10, sender_ring >> 10, (receiver_peak - receiver_base) >> 10,
              receiver_window >> 10, seconds.c_str());
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(other_errors, 0u);
  EXPECT_EQ(got->received, n) << "every tell the sender was told succeeded arrives";
  EXPECT_EQ(got->out_of_order, 0u);
  EXPECT_GT(backpressure, 0u) << "the sender met backpressure";
  const auto resumed = static_cast<std::size_t>((continue_at - start) / 1s) + 1;
  for (std::size_t s = resumed; s + 1 < per_second.size(); ++s) {
    EXPECT_GT(per_second[s], 0u) << "no tell admitted in second " << s << " after SIGCONT";
  }
  EXPECT_LE(sender_peak - sender_base, sender_ring + sender_ring / 10) << "the sender holds at most its ring";
  // The receiver holds at most one window of frames from the link (about
  // 1000 tells of 1 KiB), in mailbox nodes with their frames.
  EXPECT_LE(receiver_peak - receiver_base, receiver_window + receiver_window / 10)
      << "the receiver holds at most one window of messages";
}

TEST_F(SlowConsumerChaos, AStoppedAndContinuedSlowReceiverBoundsBothSidesLosesNothingAndRecovers) {
  slow_consumer(test::chaos_enabled() ? 60s : 6s, test::chaos_enabled() ? 10s : 2s);
}

// 10 minutes, a 10 s stop: ctest -L soak.
TEST(SlowConsumerSoak, TenMinutesWithAStopAndContinue) {
  HERALD_SOAK_ONLY();
  slow_consumer(600s, 10s);
}

}  // namespace
}  // namespace herald
