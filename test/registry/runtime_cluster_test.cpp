#include "herald/registry/runtime_cluster.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "registry/runtime_harness.hpp"
#include "support/test_support.hpp"

namespace herald::registry {
namespace {

using namespace std::chrono_literals;
using test::loopback_node;
using steady = std::chrono::steady_clock;

constexpr type_id account_type = 0xacc0;

using herald::test::eventually;

bool converged(std::vector<std::unique_ptr<loopback_node>>& nodes) {
  std::vector<member_key> expected;
  for (auto& n : nodes) expected.push_back(member_key{n->node->id(), n->node->incarnation()});
  std::sort(expected.begin(), expected.end());
  const auto names = nodes.front()->cluster->registry().snapshot();
  for (auto& n : nodes) {
    if (n->live() != expected) return false;
    if (n->cluster->registry().snapshot() != names) return false;
  }
  return true;
}

class LoopbackJoin : public ::testing::TestWithParam<std::size_t> {};

TEST_P(LoopbackJoin, NodesOnLoopbackTcpConvergeWithinTenGossipRounds) {
  const std::size_t n = GetParam();
  const auto t0 = steady::now();
  std::vector<std::unique_ptr<loopback_node>> nodes;
  nodes.push_back(loopback_node::start(1, {}));
  ASSERT_TRUE(nodes.back());
  for (std::size_t i = 1; i < n; ++i) {
    nodes.push_back(loopback_node::start(i + 1, {nodes.front()->address()}));
    ASSERT_TRUE(nodes.back());
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (int k = 0; k < 4; ++k) {
      ASSERT_TRUE(nodes[i]->cluster->registry().register_local(
          "n" + std::to_string(i) + "/actor-" + std::to_string(k), k, account_type));
    }
  }
  // Bounded by the rounds: 10 rounds of 200 ms, plus scheduling slack of a loaded machine.
  const bool ok = eventually([&] { return converged(nodes); }, herald::test::sanitized() ? 30s : 5s);
  const double ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
  const auto rounds = nodes.front()->cluster->call([](cluster_node& c) { return c.counters().gossip_rounds; });
  ASSERT_TRUE(ok) << n << " nodes on loopback did not converge";
  std::cout << "[ figures ] loopback TCP join, N=" << n << ": converged after " << ms << " ms, " << rounds
            << " gossip rounds of the seed\n";
  if (!herald::test::sanitized()) {
    EXPECT_LE(rounds, 10u);
  }
  EXPECT_EQ(nodes.back()->cluster->registry().size(), 4 * n);
}

INSTANTIATE_TEST_SUITE_P(Sizes, LoopbackJoin, ::testing::Values(3, 5, 10, 16));

TEST(RuntimeCluster, AClosedNodeIsProbedAndConfirmedDownEverywhereWithinTwoSeconds) {
  std::vector<std::unique_ptr<loopback_node>> nodes;
  nodes.push_back(loopback_node::start(1, {}));
  for (std::uint64_t i = 2; i <= 4; ++i) nodes.push_back(loopback_node::start(i, {nodes.front()->address()}));
  ASSERT_TRUE(nodes[3]->cluster->registry().register_local("doomed", 1, account_type));
  ASSERT_TRUE(eventually([&] { return converged(nodes); }, 10s));
  const auto t0 = steady::now();
  // The transport closes every connection of node 4, as a dying process's kernel would.
  nodes[3]->sink.cluster.store(nullptr);
  nodes[3]->cluster->stop();
  nodes[3]->node->shutdown();
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (nodes[i]->status_of(4) != member_status::down) return false;
          if (nodes[i]->cluster->registry().lookup("doomed")) return false;
        }
        return true;
      },
      2s))
      << "every peer probes the node whose links closed, confirms it down and drops its names within 2 s";
  std::cout << "[ figures ] loopback: closed node down everywhere after "
            << std::chrono::duration<double, std::milli>(steady::now() - t0).count() << " ms\n";
}

TEST(RuntimeCluster, AGracefulLeaveIsSeenByEveryPeer) {
  std::vector<std::unique_ptr<loopback_node>> nodes;
  nodes.push_back(loopback_node::start(1, {}));
  for (std::uint64_t i = 2; i <= 3; ++i) nodes.push_back(loopback_node::start(i, {nodes.front()->address()}));
  ASSERT_TRUE(eventually([&] { return converged(nodes); }, 10s));
  nodes[2]->cluster->leave();
  ASSERT_TRUE(eventually(
      [&] { return nodes[0]->status_of(3) == member_status::left && nodes[1]->status_of(3) == member_status::left; },
      1s));
}

TEST(RuntimeCluster, CallRunsFromAMemberEventAndAfterStopWithoutDeadlock) {
  std::atomic<runtime_cluster*> first{nullptr};
  std::atomic<std::size_t> seen_from_callback{0};
  auto a = loopback_node::start(1, {}, [&](const member_event& e) {
    if (auto* c = first.load(); c != nullptr && e.kind == member_event_kind::joined) {
      // On the cluster thread: call() must not wait for itself.
      seen_from_callback = c->call([](cluster_node& n) { return n.live_members().size(); });
    }
  });
  first = a->cluster.get();
  auto b = loopback_node::start(2, {a->address()});
  ASSERT_TRUE(eventually([&] { return seen_from_callback.load() == 2; }, 5s));
  a->cluster->stop();
  EXPECT_EQ(a->cluster->call([](cluster_node& n) { return n.self().key.node; }), 1u)
      << "after stop() a call runs on the caller";
}

TEST(RuntimeCluster, ASaturatedDataRingDoesNotDelayHeartbeatsIntoASuspicion) {
  std::vector<std::unique_ptr<loopback_node>> nodes;
  nodes.push_back(loopback_node::start(1, {}));
  for (std::uint64_t i = 2; i <= 3; ++i) nodes.push_back(loopback_node::start(i, {nodes.front()->address()}));
  ASSERT_TRUE(eventually([&] { return converged(nodes); }, 10s));
  auto conn = nodes[0]->node->connection_to(2);
  ASSERT_TRUE(conn);
  // Tells from node 1 to node 2 as fast as the ring takes them, for 4 s:
  // longer than the ~2.2 s of silence that makes a member suspect.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sent{0};
  std::vector<std::byte> payload(32 * 1024, std::byte{0x5a});
  std::thread blaster([&] {
    wire::frame_header h;
    h.kind = wire::frame_kind::tell;
    h.target = 42;
    h.type_id = 7;
    while (!stop.load(std::memory_order_relaxed)) {
      if (conn->send_bytes(h, payload)) sent.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::this_thread::sleep_for(herald::test::sanitized() ? 2s : 4s);
  stop.store(true);
  blaster.join();
  const auto stats = conn->stats();
  if (!herald::test::sanitized()) {
    // A sanitizer slows the producer below what the writer drains.
    EXPECT_GT(stats.backpressure_events, 0u) << "the data ring was full while heartbeats were due";
  }
  for (auto& n : nodes) {
    std::lock_guard lock(n->mutex);
    for (const member_event& e : n->events) {
      EXPECT_NE(e.kind, member_event_kind::suspect) << "node " << n->node->id() << " suspected " << e.member.key.node;
      EXPECT_NE(e.kind, member_event_kind::down) << "node " << n->node->id() << " declared " << e.member.key.node;
    }
  }
  std::cout << "[ figures ] saturated data ring: " << sent.load() << " tells of 32 KiB in 4 s, "
            << stats.backpressure_events << " sends found the ring full, no suspicion\n";
}

// A node without a listen address (herald-bench's sender, herald-ctl) is a
// client member: reached over the link it opened, never dialled, and not
// suspected while that link is up. 8 s by default, 30 s under ctest -L chaos.
TEST(RuntimeClusterChaos, AClientNodeThatKeepsChangingItsNamesIsNeverDeclaredDown) {
  std::vector<std::unique_ptr<loopback_node>> nodes;
  nodes.push_back(loopback_node::start(1, {}));
  for (std::uint64_t i = 2; i <= 3; ++i) nodes.push_back(loopback_node::start(i, {nodes.front()->address()}));
  nodes.push_back(loopback_node::start(9, {nodes.front()->address()}, {}, {}, 0, /*listen=*/false));
  ASSERT_TRUE(nodes.back());
  ASSERT_TRUE(eventually([&] { return converged(nodes); }, 10s)) << "the client joins like any member";
  const std::string address = nodes[0]->cluster->call([](cluster_node& c) { return c.members().find(9)->address; });
  EXPECT_EQ(address, client_address(9));
  const auto length = herald::test::chaos_enabled() ? 30s : 8s;
  const auto end = steady::now() + length;
  int k = 0;
  while (steady::now() < end) {
    // Keeps its registry stream (and so gossip to and from it) busy.
    const std::string name = "client/" + std::to_string(k % 50);
    if (k++ % 100 < 50) {
      (void)nodes.back()->cluster->registry().register_local(name, k, account_type);
    } else {
      (void)nodes.back()->cluster->registry().unregister_local(name);
    }
    std::this_thread::sleep_for(20ms);
  }
  for (auto& n : nodes) {
    std::lock_guard lock(n->mutex);
    for (const member_event& e : n->events) {
      const bool bad = e.kind == member_event_kind::suspect || e.kind == member_event_kind::down;
      EXPECT_FALSE(bad) << "node " << n->node->id() << ": " << to_string(e.kind) << " " << e.member.key.node << ": "
                        << e.reason;
    }
  }
  EXPECT_TRUE(eventually([&] { return converged(nodes); }, 5s));
}

}  // namespace
}  // namespace herald::registry
