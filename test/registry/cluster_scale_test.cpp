// 64 cluster nodes in one process on the simulated network: join, a registry
// under 1000 name changes per second, and failure detection at that size.
// Simulated time: each figure printed is in simulated milliseconds (latency
// 1 ms per message), plus the wall time the test took to simulate it.
#include "herald/registry/cluster_node.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <string>

#include "registry/sim_cluster.hpp"
#include "support/test_support.hpp"

namespace herald::registry {
namespace {

using namespace std::chrono_literals;
using test::sim_cluster;

constexpr type_id account_type = 0xacc0;
constexpr std::size_t nodes = 64;

std::string name_of(std::size_t node, std::size_t k) {
  return "n" + std::to_string(node) + "/actor-" + std::to_string(k);
}

void register_names(sim_cluster& c, std::size_t i, std::size_t count) {
  for (std::size_t k = 0; k < count; ++k) {
    auto r = c.node(i).registry().register_local(name_of(i, k), 100 * i + k, account_type);
    ASSERT_TRUE(r) << r.error().message();
  }
}

double wall_ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Gossip bytes per second per node over `d` of simulated time.
double bytes_per_node_second(sim_cluster& c, std::chrono::milliseconds d) {
  const auto before = c.net().counters().bytes;
  c.net().run_for(d);
  return static_cast<double>(c.net().counters().bytes - before) / (static_cast<double>(d.count()) / 1000.0) /
         static_cast<double>(c.size());
}

struct converged_cluster {
  sim_cluster c{nodes, 6400};
  std::size_t rounds = 0;
  double wall_ms = 0;
  converged_cluster() {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < nodes; ++i) register_names(c, i, 4);
    rounds = c.rounds_until_converged(40);
    wall_ms = wall_ms_since(t0);
  }
};

TEST(ClusterScale, SixtyFourNodesJoiningThroughOneSeedConverge) {
  converged_cluster s;
  ASSERT_LE(s.rounds, 40u) << "64 nodes joining through one seed did not converge within 40 gossip rounds";
  EXPECT_EQ(s.c.node(nodes - 1).registry().size(), 4 * nodes);
  const auto interval = s.c.node(0).config().gossip_interval;
  const double idle = bytes_per_node_second(s.c, 5s);
  std::cout << "[ figures ] join convergence, N=64: " << s.rounds << " gossip rounds, "
            << s.rounds * interval.count() << " ms simulated (gossip every " << interval.count() << " ms), "
            << s.wall_ms << " ms wall\n"
            << "[ figures ] N=64 steady state, no changes: " << idle << " gossip bytes/s per node\n";
  ::testing::Test::RecordProperty("rounds", static_cast<int>(s.rounds));
}

TEST(ClusterScale, SixtyFourNodesKeepIdenticalRegistriesUnderAThousandNameChangesPerSecond) {
  converged_cluster s;
  ASSERT_LE(s.rounds, 40u);
  sim_cluster& c = s.c;
  // 10 changes every 10 ms on random nodes for 5 s of simulated time: each
  // re-points, removes or adds back one of the node's 4 names or a churn name.
  std::mt19937_64 rng(15);
  std::vector<std::vector<bool>> live(nodes, std::vector<bool>(8, false));
  for (std::size_t i = 0; i < nodes; ++i) {
    for (std::size_t k = 0; k < 4; ++k) live[i][k] = true;
  }
  std::size_t changes = 0;
  const auto before = c.net().counters().bytes;
  const auto t0 = std::chrono::steady_clock::now();
  const auto churn = herald::test::sanitized() ? 1000ms : 5000ms;
  // Every 250 ms a probe name on a random node: how long until all 64 see it
  // while the churn goes on.
  struct probe {
    std::string name;
    cluster_clock::time_point at;
    bool seen = false;
  };
  std::vector<probe> probes;
  double worst_probe_ms = 0;
  for (auto t = 0ms; t < churn; t += 10ms) {
    if (t.count() % 250 == 0) {
      probes.push_back(probe{"probe-" + std::to_string(probes.size()), c.net().now()});
      ASSERT_TRUE(c.node(rng() % nodes).registry().register_local(probes.back().name, 1, account_type));
    }
    for (probe& p : probes) {
      if (p.seen) continue;
      bool all = true;
      for (std::size_t i = 0; i < nodes && all; ++i) all = c.node(i).registry().lookup(p.name).has_value();
      if (!all) continue;
      p.seen = true;
      worst_probe_ms = std::max(worst_probe_ms, std::chrono::duration<double, std::milli>(c.net().now() - p.at).count());
    }
    for (int k = 0; k < 10; ++k) {
      const std::size_t i = rng() % nodes;
      const std::size_t slot = rng() % 8;
      auto& reg = c.node(i).registry();
      if (live[i][slot] && rng() % 2 == 0) {
        ASSERT_TRUE(reg.unregister_local(name_of(i, slot)));
        live[i][slot] = false;
      } else {
        ASSERT_TRUE(reg.register_local(name_of(i, slot), rng(), account_type));
        live[i][slot] = true;
      }
      ++changes;
    }
    c.net().run_for(10ms);
  }
  const double churn_bytes = static_cast<double>(c.net().counters().bytes - before) /
                             (static_cast<double>(churn.count()) / 1000.0) / static_cast<double>(nodes);
  // Once the changes stop, every node agrees within a few rounds.
  const auto settle_from = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 10s))
      << "the registries did not agree after the churn stopped";
  const double settle_ms = std::chrono::duration<double, std::milli>(c.net().now() - settle_from).count();
  std::size_t expected = 0;
  for (std::size_t i = 0; i < nodes; ++i) {
    for (std::size_t k = 0; k < 8; ++k) expected += live[i][k];
  }
  expected += probes.size();
  for (const probe& p : probes) EXPECT_TRUE(p.seen || &p == &probes.back()) << p.name << " never reached every node";
  for (std::size_t i = 0; i < nodes; ++i) {
    ASSERT_EQ(c.node(i).registry().size(), expected) << "node " << i << " holds every live name and no other";
  }
  for (std::size_t i = 0; i < nodes; ++i) {
    for (std::size_t k = 0; k < 8; ++k) {
      const auto r = c.node((i * 7 + 3) % nodes).registry().lookup(name_of(i, k));
      ASSERT_EQ(r.has_value(), static_cast<bool>(live[i][k])) << name_of(i, k);
    }
  }
  std::cout << "[ figures ] N=64, " << changes * 1000 / churn.count() << " name changes/s for " << churn.count()
            << " ms simulated: " << churn_bytes << " gossip bytes/s per node; identical registries "
            << settle_ms << " ms simulated after the last change; a change reached all 64 nodes within "
            << worst_probe_ms << " ms during the churn; " << wall_ms_since(t0) << " ms wall\n";
  EXPECT_LT(worst_probe_ms, 2000.0) << "a change spreads to every node within 10 gossip rounds under churn";
}

TEST(ClusterScale, ASixtyFourNodeClusterDetectsAStoppedNode) {
  converged_cluster s;
  ASSERT_LE(s.rounds, 40u);
  sim_cluster& c = s.c;
  // Silently: no connection reset, only the missing heartbeats tell.
  auto t0 = c.net().now();
  c.kill(17, false);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(17, member_status::down); }, 15s))
      << "a silently stopped node is declared down by all 63 others and its names removed";
  const double silent_ms = std::chrono::duration<double, std::milli>(c.net().now() - t0).count();
  // With a connection reset, as a killed process gives.
  t0 = c.net().now();
  c.kill(40, true);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(40, member_status::down); }, 2s));
  const double reset_ms = std::chrono::duration<double, std::milli>(c.net().now() - t0).count();
  std::cout << "[ figures ] N=64: a silently stopped node is down everywhere after " << silent_ms
            << " ms simulated; a killed one (connection reset) after " << reset_ms << " ms\n";
  EXPECT_LT(silent_ms, 10000.0);
  EXPECT_LT(reset_ms, 1000.0);
}

}  // namespace
}  // namespace herald::registry
