// Heap allocations of a stream of large messages (wire/PROTOCOL.md §6.3)
// between two nodes of this process, counted by a replaced operator new
// (bench/peers/alloc_counter.hpp; hence a test program of its own): after a
// warm-up, a large tell allocates nothing per message on either side, the
// same figure herald-bench reports (bench/RESULTS.md, "Large messages
// without allocations").
#include "bench/peers/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "runtime/node_harness.hpp"

namespace herald::runtime::test {
namespace {

class LargeMessageAllocations : public ::testing::TestWithParam<std::size_t> {};

// Allocations per message of `count` tells of `size` bytes from a to b,
// after `warm_up` of them; the receiver counts each and drops it.
double allocations_per_message(transport_kind k, std::size_t size, std::uint64_t warm_up, std::uint64_t count) {
  auto p = up_pair(k);
  if (!p->a_to_b) return -1;
  std::atomic<std::uint64_t> received{0};
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame f) {
    if (f.bytes().size() == size) received.fetch_add(1, std::memory_order_relaxed);
  };
  auto send = [&](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      auto r = p->a_to_b->send(tell_header(1), size, [&](std::span<std::byte> out) {
        std::memset(out.data(), static_cast<int>(i & 0x7F), out.size());
      });
      EXPECT_TRUE(r) << r.error().message();
    }
  };
  send(warm_up);
  EXPECT_TRUE(p->sink_b.wait([&] { return received.load() == warm_up; }, 30s)) << p->log_b.all();
  const std::uint64_t before = herald::bench::allocations();
  send(count);
  EXPECT_TRUE(p->sink_b.wait([&] { return received.load() == warm_up + count; }, 30s)) << p->log_b.all();
  const std::uint64_t made = herald::bench::allocations() - before;
  p->sink_b.on_frame_hook = {};
  return static_cast<double>(made) / static_cast<double>(count);
}

TEST_P(LargeMessageAllocations, AStreamOfLargeTellsAllocatesNothingPerMessageOnEitherSide) {
  const std::size_t size = GetParam();
  // Both nodes are in this process: the figure is both sides together. A
  // few allocations of the runtime (timers, a spare record while more
  // messages are in progress than ever before) may fall in the window;
  // one per message would be 1.
  for (transport_kind k : {transport_kind::tcp, transport_kind::unix_socket}) {
    const double per_message = allocations_per_message(k, size, 128, 512);
    std::printf("%s, %zu-byte tells: %.4f allocations a message\n", to_string(k).c_str(), size, per_message);
    EXPECT_GE(per_message, 0.0);
    EXPECT_LT(per_message, 0.2) << to_string(k) << ", " << size << "-byte tells";
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, LargeMessageAllocations,
                         ::testing::Values(std::size_t{100} << 10, std::size_t{1} << 20),
                         [](const auto& info) { return std::to_string(info.param >> 10) + "KiB"; });

}  // namespace
}  // namespace herald::runtime::test
