#include "herald/registry/cluster_node.hpp"

#include <gtest/gtest.h>

#include <iostream>

#include "registry/sim_cluster.hpp"

namespace herald::registry {
namespace {

using namespace std::chrono_literals;
using test::sim_cluster;

constexpr type_id account_type = 0xacc0;

void register_names(sim_cluster& c, std::size_t i, int count) {
  for (int k = 0; k < count; ++k) {
    auto r = c.node(i).registry().register_local("n" + std::to_string(i) + "/actor-" + std::to_string(k),
                                                 100 * i + k, account_type);
    ASSERT_TRUE(r) << r.error().message();
  }
}

double ms_since(const sim_cluster& c, cluster_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(const_cast<sim_cluster&>(c).net().now() - t0).count();
}

// Starts n nodes, each with names, and runs until they agree.
void converge(sim_cluster& c, int names_per_node = 3) {
  for (std::size_t i = 0; i < c.size(); ++i) register_names(c, i, names_per_node);
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 5s)) << "the cluster never converged";
}

class ClusterJoin : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ClusterJoin, EveryNodeHasTheSameMembersAndRegistryWithinTenGossipRounds) {
  const std::size_t n = GetParam();
  sim_cluster c(n, 1000 + n);
  for (std::size_t i = 0; i < n; ++i) register_names(c, i, 4);
  const std::size_t rounds = c.rounds_until_converged(10);
  ASSERT_LE(rounds, 10u) << n << " nodes joining through one seed did not converge within 10 gossip rounds";
  EXPECT_EQ(c.node(n - 1).registry().size(), 4 * n);
  const auto interval = c.node(0).config().gossip_interval;
  std::cout << "[ figures ] join convergence, N=" << n << ": " << rounds << " gossip rounds, "
            << rounds * interval.count() << " ms simulated (gossip every " << interval.count() << " ms)\n";
  ::testing::Test::RecordProperty("rounds", static_cast<int>(rounds));
}

INSTANTIATE_TEST_SUITE_P(Sizes, ClusterJoin, ::testing::Values(3, 5, 10, 16));

TEST(ClusterNode, KilledNodeIsDownEverywhereWithinOneSecondAndItsNamesAreGone) {
  sim_cluster c(5);
  converge(c);
  const auto t0 = c.net().now();
  c.kill(3);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(3, member_status::down); }, 1000ms))
      << "a connection reset must mark the peer down at once";
  const double ms = ms_since(c, t0);
  std::cout << "[ figures ] killed node (connection reset) down everywhere after " << ms << " ms\n";
  EXPECT_LT(ms, 1000.0);
  for (std::size_t i : {0u, 1u, 2u, 4u}) {
    EXPECT_EQ(c.node(i).registry().lookup("n3/actor-0").error().code(), errc::not_found);
    bool told = false;
    for (const member_event& e : c.events(i)) told |= e.kind == member_event_kind::down && e.member.key.node == 4;
    EXPECT_TRUE(told) << "node " << i << " raised a down event for the actors layer";
  }
}

TEST(ClusterNode, SilentlyDeadNodeIsSuspectedThenDownWithinEightSeconds) {
  sim_cluster c(5);
  converge(c);
  const auto t0 = c.net().now();
  c.kill(2, /*reset=*/false);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(2, member_status::down); }, 8000ms));
  const double ms = ms_since(c, t0);
  std::cout << "[ figures ] silent node (no reset, as SIGSTOP) down everywhere after " << ms << " ms\n";
  bool suspected_first = false;
  for (const member_event& e : c.events(0)) {
    if (e.member.key.node != 3) continue;
    if (e.kind == member_event_kind::suspect) suspected_first = true;
    if (e.kind == member_event_kind::down) break;
  }
  EXPECT_TRUE(suspected_first) << "silence leads to suspicion before down";
}

TEST(ClusterNode, PausedNodeIsDownWithinEightSecondsAndRefutesWithinOneSecondOfResuming) {
  sim_cluster c(5);
  converge(c);
  const auto t0 = c.net().now();
  c.pause(1);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(1, member_status::down); }, 8000ms));
  std::cout << "[ figures ] paused node down everywhere after " << ms_since(c, t0) << " ms\n";
  c.net().run_for(2000ms);
  const auto t1 = c.net().now();
  c.resume(1);
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 1000ms))
      << "after resuming, the node refutes and its names come back within 1 s";
  std::cout << "[ figures ] resumed node up again with its names after " << ms_since(c, t1) << " ms\n";
  EXPECT_GE(c.node(1).counters().refutations, 1u);
  c.net().run_for(200ms);
  EXPECT_TRUE(c.converged());
  EXPECT_GE(c.node(1).counters().own_pauses, 1u) << "the resumed node blames its own pause, not the others";
  EXPECT_TRUE(c.node(0).registry().lookup("n1/actor-0"));
}

TEST(ClusterNode, AShortPauseIsRefutedWithoutGoingDown) {
  sim_cluster c(5);
  converge(c);
  c.pause(4);
  // Long enough to be suspected (about 2.2 s), shorter than suspicion_timeout after that.
  ASSERT_TRUE(c.net().run_until(
      [&] { return c.node(0).members().find(5)->status == member_status::suspect; }, 4000ms));
  c.resume(4);
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 1000ms));
  for (std::size_t i = 0; i < 4; ++i) {
    for (const member_event& e : c.events(i)) {
      EXPECT_FALSE(e.member.key.node == 5 && e.kind == member_event_kind::down)
          << "node " << i << " declared a refuting node down";
    }
  }
  EXPECT_TRUE(c.node(0).registry().lookup("n4/actor-2")) << "a suspect keeps its names";
}

TEST(ClusterNode, AHealthyClusterWithLossyLinksDeclaresNobodyDown) {
  sim_cluster c(6, 7);
  converge(c);
  c.net().set_drop_rate(0.2);
  c.net().run_for(30s);
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c.node(i).counters().downs, 0u) << "node " << i << " saw a false down with 20% loss";
  }
  c.net().set_drop_rate(0.0);
  EXPECT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s));
}

TEST(ClusterNode, PartitionedHalvesConvergeAfterTheHeal) {
  sim_cluster c(6);
  converge(c);
  c.net().partition({{"node-0", "node-1", "node-2"}, {"node-3", "node-4", "node-5"}});
  ASSERT_TRUE(c.net().run_until(
      [&] {
        return c.node(0).members().find(6)->status == member_status::down &&
               c.node(5).members().find(1)->status == member_status::down;
      },
      10s))
      << "each side declares the other down";
  EXPECT_FALSE(c.node(0).registry().lookup("n5/actor-0")) << "names of the unreachable half are removed";
  // Both halves change their names while apart.
  ASSERT_TRUE(c.node(1).registry().register_local("left-side", 1, account_type));
  ASSERT_TRUE(c.node(4).registry().register_local("right-side", 2, account_type));
  ASSERT_TRUE(c.node(4).registry().unregister_local("n4/actor-0"));
  c.net().run_for(3s);
  c.net().heal();
  const auto t0 = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 10s)) << "anti-entropy reunites the halves";
  std::cout << "[ figures ] healed partition converged after " << ms_since(c, t0) << " ms\n";
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_TRUE(c.node(i).registry().lookup("left-side"));
    EXPECT_TRUE(c.node(i).registry().lookup("right-side"));
    EXPECT_FALSE(c.node(i).registry().lookup("n4/actor-0"));
  }
}

TEST(ClusterNode, DuplicateNamesResolveToTheLowestNodeEverywhereAndTheLoserIsTold) {
  sim_cluster c(4);
  converge(c);
  std::vector<registry_event> loser_events;
  c.node(3).registry().subscribe([&](const registry_event& e) {
    if (e.kind == registry_event_kind::conflict_lost) loser_events.push_back(e);
  });
  ASSERT_TRUE(c.node(3).registry().register_local("leader", 33, account_type));
  ASSERT_TRUE(c.node(1).registry().register_local("leader", 11, account_type));
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s));
  for (std::size_t i = 0; i < c.size(); ++i) {
    auto e = c.node(i).registry().lookup("leader");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->owner.node, 2u) << "node " << i << ": the claim of the lowest node id wins";
    EXPECT_EQ(e->actor, 11u);
  }
  ASSERT_FALSE(loser_events.empty()) << "the losing node is told";
  EXPECT_EQ(loser_events.front().entry.owner.node, 4u);
  EXPECT_EQ(loser_events.front().other.owner.node, 2u);
  // The winner dies: the surviving claim takes over everywhere.
  c.kill(1);
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s));
  EXPECT_EQ(c.node(0).registry().lookup("leader")->owner.node, 4u);
}

TEST(ClusterNode, GracefulLeaveRemovesTheNodeAndItsNamesAtOnce) {
  sim_cluster c(4);
  converge(c);
  c.node(2).leave();
  const auto t0 = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(2, member_status::left); }, 1s));
  std::cout << "[ figures ] graceful leave seen by all after " << ms_since(c, t0) << " ms\n";
  bool told = false;
  for (const member_event& e : c.events(0)) told |= e.kind == member_event_kind::left && e.member.key.node == 3;
  EXPECT_TRUE(told);
}

TEST(ClusterNode, DownMembersAreForgottenAfterTheRetention) {
  cluster_config base;
  base.down_retention = 10s;
  sim_cluster c(3, 42, base);
  converge(c);
  c.kill(2);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(2, member_status::down); }, 1s));
  c.net().run_for(9s);
  EXPECT_NE(c.node(0).members().find(3), nullptr) << "kept while peers may still gossip about it";
  c.net().run_for(2s);
  EXPECT_EQ(c.node(0).members().find(3), nullptr);
  EXPECT_TRUE(c.converged());
}

TEST(ClusterNode, ARestartedNodeIsANewMemberWithAFreshStream) {
  sim_cluster c(4);
  converge(c);
  c.kill(2);
  ASSERT_TRUE(c.net().run_until([&] { return c.all_see(2, member_status::down); }, 1s));
  c.start(2, 2);
  ASSERT_TRUE(c.node(2).registry().register_local("reborn", 7, account_type));
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s));
  EXPECT_EQ(c.node(0).members().find(3)->key.incarnation, 2u);
  EXPECT_EQ(c.node(0).registry().lookup("reborn")->owner, (member_key{3, 2}));
  EXPECT_FALSE(c.node(0).registry().lookup("n2/actor-0")) << "names of the previous run stay gone";
}

TEST(ClusterNode, ALargeRegistryReachesAJoinerInBoundedMessages) {
  sim_cluster c(3);
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 2s));
  // About 190 KB of names: several messages' worth.
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(c.node(0).registry().register_local("bulk/" + std::to_string(i) + "/" + std::string(40, 'x'), i, account_type));
  }
  const auto t0 = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 10s));
  std::cout << "[ figures ] 3000 new names spread to 2 nodes after " << ms_since(c, t0) << " ms, largest message "
            << c.net().counters().largest << " bytes\n";
  EXPECT_LE(c.net().counters().largest, c.node(0).config().codec.max_message_bytes);
  EXPECT_EQ(c.node(2).registry().size(), 3000u);
}

TEST(ClusterNode, ClustersFormedApartMergeThroughTheirSeeds) {
  cluster_config base;
  base.seeds = {"node-0", "node-3"};
  sim_cluster c(6, 5, base);
  c.net().partition({{"node-0", "node-1", "node-2"}, {"node-3", "node-4", "node-5"}});
  for (std::size_t i = 0; i < c.size(); ++i) register_names(c, i, 2);
  c.net().run_for(3s);
  EXPECT_EQ(c.node(1).live_members().size(), 3u) << "each side formed a cluster of its own";
  c.net().heal();
  const auto t0 = c.net().now();
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 5s)) << "anti-entropy with the seeds merges them";
  std::cout << "[ figures ] clusters formed apart merged " << ms_since(c, t0) << " ms after the heal\n";
}

std::vector<std::byte> hostile_gossip(std::vector<member_info> members, std::vector<stream_batch> batches) {
  member_info evil{member_key{99, 1}, 0, member_status::up, "evil", "evil"};
  members.push_back(evil);
  return encode(gossip_msg{gossip_phase::syn, evil, std::move(members), {}, std::move(batches)});
}

TEST(ClusterNode, AHostileMemberIsRefusedAndCountedWithoutDisturbingTheRest) {
  cluster_config base;
  base.registry.max_name_length = 64;
  base.registry.max_entries_per_node = 20;
  sim_cluster c(4, 42, base);
  converge(c);
  const auto before = c.node(0).registry().snapshot();

  // Bytes that are no control message at all, and a valid one cut short.
  std::vector<std::byte> garbage(200);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::byte>(i * 37 + 11);
  c.net().inject("node-0", garbage);
  std::vector<std::byte> cut = hostile_gossip({}, {});
  cut.resize(cut.size() / 2);
  c.net().inject("node-0", cut);
  // Larger than a control message may be.
  c.net().inject("node-0", std::vector<std::byte>(base.codec.max_message_bytes + 1));
  // More members than a cluster may have.
  std::vector<member_info> crowd;
  for (std::uint64_t i = 0; i < base.max_members + 1; ++i) {
    crowd.push_back(member_info{member_key{1000 + i, 1}, 0, member_status::up, "x", "x"});
  }
  c.net().inject("node-0", hostile_gossip(std::move(crowd), {}));
  c.net().run_for(10ms);
  EXPECT_EQ(c.node(0).counters().messages_refused, 4u);
  EXPECT_EQ(c.node(0).members().find(1000), nullptr) << "nothing of a refused message is applied";

  // A well-formed stream that breaks the registry bounds: one name too long, 30 names too many.
  stream_batch batch{member_key{99, 1}, false, 0, 0, {}};
  batch.deltas.push_back(name_delta{std::string(1000, 'x'), 1, false, 1, 1});
  for (std::uint64_t i = 0; i < 50; ++i) batch.deltas.push_back(name_delta{"evil/" + std::to_string(i), 2 + i, false, 1, 1});
  c.net().inject("node-0", hostile_gossip({}, {batch}));
  c.net().run_for(1s);
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c.node(i).registry().live_names_of(99), 20u) << "node " << i << " applies the same bounded prefix";
  }
  EXPECT_EQ(c.node(0).registry().counters().refused_name_too_long, 1u);
  EXPECT_EQ(c.node(0).registry().counters().refused_too_many_entries, 30u);
  for (const auto& [name, entry] : before) {
    EXPECT_TRUE(c.node(3).registry().lookup(name)) << name << " of a well-behaved node is untouched";
  }
  bool logged = false;
  for (const std::string& line : c.log()) logged |= line.find("refused a control message") != std::string::npos;
  EXPECT_TRUE(logged) << "refusals are logged";
  // The hostile member never heartbeats: it goes down and its names with it.
  ASSERT_TRUE(c.net().run_until([&] { return c.converged(); }, 8s));
  EXPECT_EQ(c.node(2).registry().lookup("evil/0").error().code(), errc::not_found);
}

}  // namespace
}  // namespace herald::registry
