#include "herald/registry/cluster_node.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "registry/sim_cluster.hpp"

// The rules of failure detection (docs/cluster.md, "Failure detection"), one
// test each, on the simulated network: only failed direct and indirect probes
// make a member suspect, k independent accusers or a timeout make it down, a
// node that was paused doubts itself, and a refutation wins.

namespace herald::registry {
namespace {

using namespace std::chrono_literals;
using test::sim_cluster;

void converge(sim_cluster& c) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    ASSERT_TRUE(c.node(i).registry().register_local("n" + std::to_string(i) + "/a", i + 1, 0xacc0));
  }
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 5s)) << "the cluster never converged";
}

// Suspect or down events that any node raised about a member other than those in spared.
std::size_t accusations_about_others(const sim_cluster& c, std::initializer_list<node_id> spared) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (const member_event& e : c.events(i)) {
      const bool bad = e.kind == member_event_kind::suspect || e.kind == member_event_kind::down;
      if (bad && std::find(spared.begin(), spared.end(), e.member.key.node) == spared.end()) {
        ++n;
        std::cout << "node " << i << ": " << to_string(e.kind) << " " << e.member.key.node << ": " << e.reason << "\n";
      }
    }
  }
  return n;
}

TEST(ClusterProbe, ALinkThatClosesIsEvidenceAboutTheLinkNotAboutTheMember) {
  sim_cluster c(5);
  converge(c);
  // The link between node 0 and node 1 alone breaks for 10 s; every other
  // path works, so indirect probes through the three others reach each.
  c.net().cut_link("node-0", "node-1");
  c.net().run_for(10s);
  EXPECT_EQ(accusations_about_others(c, {}), 0u) << "a closed link alone makes no one suspect or down";
  EXPECT_GE(c.node(0).counters().links_lost, 1u);
  EXPECT_GE(c.node(0).counters().probes_started, 1u) << "the closed link is probed at once";
  c.net().restore_link("node-0", "node-1");
  c.net().run_for(1s);
  EXPECT_TRUE(c.converged());
}

TEST(ClusterProbe, AResumedNodeDoubtsItselfAndAccusesNoOneWhileTheOthersStayUp) {
  sim_cluster c(5);
  converge(c);
  c.pause(2);
  c.net().run_for(6s);  // long enough for the others to declare node 2 down
  ASSERT_TRUE(c.all_see(2, member_status::down));
  c.resume(2);
  // The others closed their links to the node they declared down; the
  // resumed node reads those closes first, as a runtime does after SIGCONT.
  for (std::size_t j : {0u, 1u, 3u, 4u}) c.node(2).on_connection_lost(sim_cluster::address(j));
  EXPECT_TRUE(c.node(2).doubting()) << "a node whose clock jumped doubts itself first";
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s)) << "it refutes and is up again";
  c.net().run_for(6s);
  EXPECT_TRUE(c.converged());
  EXPECT_EQ(accusations_about_others(c, {3}), 0u) << "no node suspected or declared down a healthy node";
  EXPECT_EQ(c.node(2).counters().accusations, 0u);
  EXPECT_GE(c.node(2).counters().refutations, 1u);
  EXPECT_GE(c.node(2).counters().own_pauses, 1u);
}

TEST(ClusterProbe, ANodeWhoseTimersFiredLateWithholdsItsAccusationsForTheDoubtPeriod) {
  sim_cluster c(5);
  converge(c);
  // Node 4 dies silently while node 2 is stalled for 1.5 s (a late timer,
  // too short for the others to notice node 2).
  c.kill(4, /*reset=*/false);
  c.pause(2);
  c.net().run_for(1500ms);
  c.resume(2);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(4, member_status::down); }, 8s));
  EXPECT_EQ(c.node(2).counters().accusations, 0u) << "a doubting node accuses no one, the dead included";
  EXPECT_GE(c.node(2).counters().accusations_withheld + c.node(2).counters().own_pauses, 1u);
  EXPECT_GE(c.node(2).counters().own_pauses, 1u);
  for (std::size_t i : {0u, 1u, 3u}) EXPECT_GE(c.node(i).counters().accusations, 1u) << "node " << i;
  EXPECT_EQ(accusations_about_others(c, {5}), 0u);
}

TEST(ClusterProbe, ASuspicionHeardFromOthersCountsOnlyItsIndependentAccusers) {
  sim_cluster c(5);
  converge(c);
  // A stale or mistaken claim: node 3 suspected by node id 1 alone.
  member_info claim = *c.node(1).members().find(4);
  claim.status = member_status::suspect;
  claim.accusers = {1};
  c.net().inject("node-1", encode(gossip_msg{gossip_phase::syn, c.node(0).self(), {claim}, {}, {}}));
  bool only_the_first = true;
  ASSERT_TRUE(c.net().run_until(
      [&] {
        for (std::size_t i = 0; i < c.size(); ++i) {
          const member_info* m = c.node(i).members().find(4);
          if (m != nullptr && m->accusers.size() > 1) only_the_first = false;
        }
        return c.node(3).counters().refutations >= 1 && c.converged();
      },
      2s));
  EXPECT_TRUE(only_the_first) << "nodes whose own probes reach node 3 do not join the accusation";
  c.net().run_for(3s);
  EXPECT_TRUE(c.converged());
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (const member_event& e : c.events(i)) EXPECT_NE(e.kind, member_event_kind::down) << "node " << i;
  }
}

TEST(ClusterProbe, KIndependentSuspicionsConfirmDownBeforeTheTimeout) {
  sim_cluster c(5);
  converge(c);
  c.kill(3, /*reset=*/false);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(3, member_status::down); }, 8s));
  cluster_clock::time_point suspected{}, down{};
  std::string why;
  for (const member_event& e : c.events(0)) {
    if (e.member.key.node != 4) continue;
    if (e.kind == member_event_kind::suspect && suspected == cluster_clock::time_point{}) suspected = c.net().now();
    if (e.kind == member_event_kind::down) why = e.reason;
  }
  EXPECT_NE(why.find("confirmed by"), std::string::npos) << why;
  EXPECT_GE(c.node(0).counters().confirmed_downs + c.node(1).counters().confirmed_downs +
                c.node(2).counters().confirmed_downs + c.node(4).counters().confirmed_downs,
            1u);
  (void)down;
}

TEST(ClusterProbe, ALoneSuspicionWaitsForATimeoutThatGrowsWithClusterSize) {
  sim_cluster c(2);
  converge(c);
  EXPECT_EQ(c.node(0).confirmations_needed(), 0u) << "one observer: no confirmations, the timeout decides";
  c.kill(1, /*reset=*/false);
  ASSERT_TRUE(c.net().run_until(
      [&] { return c.node(0).members().find(2)->status == member_status::suspect; }, 5s));
  const auto suspected = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.node(0).members().find(2)->status == member_status::down; }, 10s));
  const auto waited = c.net().now() - suspected;
  EXPECT_GE(waited, 2950ms) << "down only after the suspicion timeout";
  EXPECT_LE(waited, 3200ms);
  EXPECT_EQ(c.node(0).suspicion_timeout_for(2), 3000ms);
  EXPECT_EQ(c.node(0).suspicion_timeout_for(10), 3000ms);
  EXPECT_EQ(c.node(0).suspicion_timeout_for(100), 6000ms) << "x log10(n) past 10 members";
  EXPECT_EQ(c.node(0).suspicion_timeout_for(1000), 9000ms);
}

TEST(ClusterProbe, ConfirmationsNeededAreCappedByTheObservers) {
  sim_cluster three(3);
  converge(three);
  EXPECT_EQ(three.node(0).confirmations_needed(), 2u) << "both other members accuse";
  sim_cluster five(5);
  converge(five);
  EXPECT_EQ(five.node(0).confirmations_needed(), 3u) << "suspicion_confirmations";
}

TEST(ClusterProbe, ADownMemberThatSpeaksIsToldAndItsRefutationWinsEverywhere) {
  sim_cluster c(5);
  converge(c);
  // A false claim from elsewhere: node 1 declared down at its current seq.
  member_info claim = *c.node(0).members().find(2);
  claim.status = member_status::down;
  c.net().inject("node-0", encode(gossip_msg{gossip_phase::syn, c.node(4).self(), {claim}, {}, {}}));
  c.net().run_for(5ms);
  ASSERT_EQ(c.node(0).members().find(2)->status, member_status::down);
  const auto t0 = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s))
      << "node 1 heartbeats node 0, is told it is held down, refutes with a higher seq";
  std::cout << "[ figures ] a member falsely declared down is up again everywhere after "
            << std::chrono::duration<double, std::milli>(c.net().now() - t0).count() << " ms\n";
  EXPECT_LT(c.net().now() - t0, 1s);
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_GT(c.node(i).members().find(2)->seq, claim.seq) << "node " << i << " holds the refutation";
  }
  EXPECT_TRUE(c.node(0).registry().lookup("n1/a")) << "its names come back";
}

TEST(ClusterProbe, APartitionOfTwoAndThreeDownsNoOneWithinASideAndHealsWithinThreeSeconds) {
  sim_cluster c(5);
  converge(c);
  const std::vector<std::string> left{"node-0", "node-1"}, right{"node-2", "node-3", "node-4"};
  c.net().partition({left, right});
  c.net().run_for(30s);
  // Ids are index + 1: the left side is {1, 2}, the right {3, 4, 5}.
  auto same_side = [](std::size_t i, node_id about) { return (i < 2) == (about <= 2); };
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (const member_event& e : c.events(i)) {
      const bool bad = e.kind == member_event_kind::suspect || e.kind == member_event_kind::down;
      EXPECT_FALSE(bad && same_side(i, e.member.key.node))
          << "node " << i << ": " << to_string(e.kind) << " " << e.member.key.node << " of its own side: " << e.reason;
    }
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (node_id other = 1; other <= 5; ++other) {
      if (other == i + 1) continue;
      const member_info* m = c.node(i).members().find(other);
      ASSERT_NE(m, nullptr);
      EXPECT_EQ(m->status, same_side(i, other) ? member_status::up : member_status::down)
          << "node " << i << " about " << other << " during the cut";
    }
  }
  c.net().heal();
  const auto t0 = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 3s))
      << "every member up everywhere and the registries equal within 3 s of the heal";
  std::cout << "[ figures ] partition {2}/{3} for 30 s: converged "
            << std::chrono::duration<double, std::milli>(c.net().now() - t0).count() << " ms after the heal\n";
}

}  // namespace
}  // namespace herald::registry
