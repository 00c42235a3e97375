#include "herald/registry/name_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace herald::registry {
namespace {

constexpr type_id account_type = 0xacc0;
constexpr type_id other_type = 0x0be7;

// Copies every batch the source has that the sink lacks, as gossip would.
void sync(const name_registry& source, name_registry& sink, node_id node, std::size_t budget = 1 << 16) {
  for (int guard = 0; guard < 1000; ++guard) {
    stream_batch b = source.deltas_since(node, sink.digest_of(node), budget);
    if (b.deltas.empty()) return;
    sink.apply(b);
  }
  FAIL() << "sync did not converge";
}


TEST(NameRegistry, LocalRegistrationIsVisibleAtOnce) {
  name_registry r(member_key{1, 10});
  auto v = r.register_local("alice", 7, account_type);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(*v, 1u) << "the first change of a stream is version 1";
  auto e = r.lookup("alice", account_type);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->owner, (member_key{1, 10}));
  EXPECT_EQ(e->actor, 7u);
  EXPECT_EQ(r.lookup("bob").error().code(), errc::not_found);
  EXPECT_EQ(r.lookup("alice", other_type).error().code(), errc::type_mismatch);
}

TEST(NameRegistry, UnregisterRemovesOnlyOwnNames) {
  name_registry r(member_key{1, 10});
  ASSERT_TRUE(r.register_local("alice", 7, account_type));
  EXPECT_EQ(r.unregister_local("bob").error().code(), errc::not_found);
  auto v = r.unregister_local("alice");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 2u);
  EXPECT_FALSE(r.lookup("alice"));
  EXPECT_EQ(r.unregister_local("alice").error().code(), errc::not_found) << "already removed";
}

TEST(NameRegistry, RemoteDeltasApplyInOrderAndIdempotently) {
  name_registry a(member_key{1, 10});
  name_registry b(member_key{2, 20});
  ASSERT_TRUE(a.register_local("alice", 1, account_type));
  ASSERT_TRUE(a.register_local("carol", 2, account_type));
  ASSERT_TRUE(a.unregister_local("alice"));
  stream_batch all = a.deltas_since(1, b.digest_of(1), 1 << 16);
  ASSERT_EQ(all.deltas.size(), 2u) << "alice's add was superseded by its removal";
  EXPECT_EQ(b.apply(all), 2u);
  EXPECT_EQ(b.apply(all), 0u) << "a batch applied twice changes nothing";
  EXPECT_EQ(b.digest_of(1).version, 3u);
  EXPECT_FALSE(b.lookup("alice"));
  ASSERT_TRUE(b.lookup("carol"));
  EXPECT_EQ(b.lookup("carol")->owner.node, 1u);
  EXPECT_EQ(b.counters().deltas_ignored, 2u);
}

TEST(NameRegistry, ABatchOutOfVersionOrderIsRefusedFromTheBreak) {
  name_registry b(member_key{2, 20});
  stream_batch bad{member_key{1, 10}, false, 0, 0,
                   {name_delta{"x", 2, false, 1, 1}, name_delta{"y", 1, false, 2, 1}}};
  EXPECT_EQ(b.apply(bad), 1u);
  EXPECT_TRUE(b.lookup("x"));
  EXPECT_FALSE(b.lookup("y")) << "an item behind its predecessor breaks the prefix property";
  EXPECT_EQ(b.counters().refused_malformed, 1u);
}

TEST(NameRegistry, OwnStreamEchoedBackIsIgnored) {
  name_registry a(member_key{1, 10});
  ASSERT_TRUE(a.register_local("alice", 1, account_type));
  stream_batch echo{member_key{1, 10}, false, 0, 0, {name_delta{"alice", 9, true, 0, 0}}};
  EXPECT_EQ(a.apply(echo), 0u);
  EXPECT_TRUE(a.lookup("alice")) << "only the owner writes its names";
}

TEST(NameRegistry, DuplicateNameGoesToTheLowestNodeAndTheLoserIsTold) {
  name_registry low(member_key{1, 10});
  name_registry high(member_key{5, 50});
  std::vector<registry_event> seen_high;
  high.subscribe([&](const registry_event& e) { seen_high.push_back(e); });
  ASSERT_TRUE(high.register_local("leader", 55, account_type));
  ASSERT_TRUE(low.register_local("leader", 11, account_type));
  sync(low, high, 1);
  sync(high, low, 5);
  for (const name_registry* r : {&low, &high}) {
    auto e = r->lookup("leader");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->owner.node, 1u) << "both nodes pick the claim of the lowest node id";
    EXPECT_EQ(e->actor, 11u);
  }
  ASSERT_EQ(seen_high.size(), 3u);
  EXPECT_EQ(seen_high[0].kind, registry_event_kind::added);
  EXPECT_EQ(seen_high[1].kind, registry_event_kind::moved);
  EXPECT_EQ(seen_high[2].kind, registry_event_kind::conflict_lost);
  EXPECT_EQ(seen_high[2].entry.owner.node, 5u) << "the loser is node 5's own claim";
  EXPECT_EQ(seen_high[2].other.owner.node, 1u);
  EXPECT_EQ(low.counters().conflicts, 1u) << "the winner's node sees the conflict too";

  // The winner leaves: the loser's claim becomes visible everywhere.
  ASSERT_TRUE(low.unregister_local("leader"));
  sync(low, high, 1);
  auto e = high.lookup("leader");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->owner.node, 5u);
  EXPECT_EQ(seen_high.back().kind, registry_event_kind::moved);
}

TEST(NameRegistry, RemoveNodeDropsAllItsNamesAndItsStream) {
  name_registry a(member_key{1, 10});
  name_registry b(member_key{2, 20});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a.register_local("n" + std::to_string(i), i, account_type));
  sync(a, b, 1);
  EXPECT_EQ(b.size(), 10u);
  int removed_events = 0;
  b.subscribe([&](const registry_event& e) { removed_events += e.kind == registry_event_kind::removed; });
  EXPECT_EQ(b.remove_node(1), 10u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(removed_events, 10);
  EXPECT_EQ(b.digest_of(1).version, 0u) << "a refuted node is fetched again from the start";
  sync(a, b, 1);
  EXPECT_EQ(b.size(), 10u);
}

TEST(NameRegistry, NewerIncarnationReplacesTheStreamOfAnOlderOne) {
  name_registry b(member_key{2, 20});
  b.apply(stream_batch{member_key{1, 10}, false, 0, 0, {name_delta{"old", 1, false, 1, 1}}});
  b.apply(stream_batch{member_key{1, 11}, false, 0, 0, {name_delta{"new", 1, false, 2, 1}}});
  EXPECT_FALSE(b.lookup("old")) << "the restarted node's names of its previous run are gone";
  ASSERT_TRUE(b.lookup("new"));
  EXPECT_EQ(b.apply(stream_batch{member_key{1, 10}, false, 0, 0, {name_delta{"old", 2, false, 1, 1}}}), 0u);
  EXPECT_EQ(b.counters().stale_incarnation, 1u);
}

TEST(NameRegistry, BoundsRefuseLongNamesAndTooManyEntries) {
  registry_limits limits{.max_name_length = 8, .max_entries_per_node = 3, .max_tombstones_per_node = 16};
  name_registry a(member_key{1, 10}, limits);
  EXPECT_EQ(a.register_local("123456789", 1, 1).error().code(), errc::limit_exceeded);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a.register_local("n" + std::to_string(i), i, 1));
  EXPECT_EQ(a.register_local("n3", 3, 1).error().code(), errc::limit_exceeded);
  EXPECT_TRUE(a.register_local("n0", 9, 1)) << "re-pointing a held name adds no entry";
  EXPECT_EQ(a.counters().refused_name_too_long, 1u);
  EXPECT_EQ(a.counters().refused_too_many_entries, 1u);

  // A remote stream that ignores the bounds: refused items advance the version, unapplied.
  name_registry b(member_key{2, 20}, limits);
  stream_batch hostile{member_key{7, 70}, false, 0, 0, {}};
  hostile.deltas.push_back(name_delta{std::string(100, 'x'), 1, false, 1, 1});
  for (int i = 0; i < 5; ++i) hostile.deltas.push_back(name_delta{"h" + std::to_string(i), 2u + i, false, 1, 1});
  EXPECT_EQ(b.apply(hostile), 3u);
  EXPECT_EQ(b.live_names_of(7), 3u);
  EXPECT_EQ(b.digest_of(7).version, 6u) << "refused items are skipped, not retried forever";
  EXPECT_EQ(b.counters().refused_name_too_long, 1u);
  EXPECT_EQ(b.counters().refused_too_many_entries, 2u);
}

TEST(NameRegistry, BatchesAreBoundedBySizeAndResumeWhereTheyStopped) {
  name_registry a(member_key{1, 10});
  name_registry b(member_key{2, 20});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(a.register_local("name-" + std::to_string(i), i, 1));
  stream_batch first = a.deltas_since(1, b.digest_of(1), 1000);
  EXPECT_LT(first.deltas.size(), 100u);
  EXPECT_GT(first.deltas.size(), 0u);
  b.apply(first);
  sync(a, b, 1, 1000);
  EXPECT_EQ(b.snapshot(), a.snapshot());
}

TEST(NameRegistry, APeerBehindDroppedTombstonesResyncsAndDropsStaleNames) {
  registry_limits limits{.max_name_length = 64, .max_entries_per_node = 100, .max_tombstones_per_node = 4};
  name_registry a(member_key{1, 10}, limits);
  name_registry b(member_key{2, 20}, limits);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a.register_local("n" + std::to_string(i), i, 1));
  sync(a, b, 1);
  ASSERT_EQ(b.size(), 20u);
  // Ten removals: a keeps only four tombstones, so b cannot learn the other six from deltas.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a.unregister_local("n" + std::to_string(i)));
  ASSERT_TRUE(a.register_local("late", 99, 1));
  EXPECT_EQ(a.counters().tombstones_dropped, 6u);
  stream_batch b1 = a.deltas_since(1, b.digest_of(1), 200);
  EXPECT_TRUE(b1.reset);
  b.apply(b1);
  EXPECT_TRUE(b.digest_of(1).resyncing) << "a truncated resync continues instead of restarting";
  sync(a, b, 1, 200);
  EXPECT_FALSE(b.digest_of(1).resyncing);
  EXPECT_EQ(b.snapshot(), a.snapshot()) << "names removed behind the floor are gone after the resync";
  EXPECT_EQ(b.size(), 11u);
  EXPECT_EQ(b.counters().resyncs, 1u);
}

TEST(NameRegistry, WatchSeesOnlyItsNameAndMayWriteFromItsCallback) {
  name_registry r(member_key{1, 10});
  std::vector<registry_event_kind> seen;
  auto id = r.watch("alice", [&](const registry_event& e) {
    seen.push_back(e.kind);
    // A callback that writes re-enters: its events arrive after this one, in order.
    if (e.kind == registry_event_kind::added) (void)r.register_local("echo", 2, 1);
  });
  ASSERT_TRUE(r.register_local("bob", 1, 1));
  ASSERT_TRUE(r.register_local("alice", 1, 1));
  ASSERT_TRUE(r.register_local("alice", 3, 1));
  ASSERT_TRUE(r.unregister_local("alice"));
  r.unsubscribe(id);
  ASSERT_TRUE(r.register_local("alice", 4, 1));
  EXPECT_EQ(seen, (std::vector<registry_event_kind>{registry_event_kind::added, registry_event_kind::moved,
                                                     registry_event_kind::removed}));
  EXPECT_TRUE(r.lookup("echo"));
}

TEST(NameRegistry, LookupsNeverSeeATornEntryWhileAWriterAppliesDeltas) {
  name_registry r(member_key{1, 10});
  constexpr int names = 64;
  // Every entry the writer makes has actor == actor_type: a torn read breaks that.
  for (int i = 0; i < names; ++i) {
    r.apply(stream_batch{member_key{2, 1}, false, 0, 0,
                         {name_delta{"n" + std::to_string(i), static_cast<stream_version>(i + 1), false, 1, 1}}});
  }
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> torn{0}, misses{0}, reads{0};
  auto reader = [&] {
    std::uint64_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      auto e = r.lookup("n" + std::to_string(i++ % names));
      if (!e) {
        misses.fetch_add(1, std::memory_order_relaxed);
      } else if (e->actor != e->actor_type) {
        torn.fetch_add(1, std::memory_order_relaxed);
      }
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread a(reader), b(reader);
  stream_version v = names;
  const std::size_t rounds = herald::test::scaled(20000);
  for (std::size_t k = 0; k < rounds; ++k) {
    const std::uint64_t x = k + 2;
    r.apply(stream_batch{member_key{2, 1}, false, 0, 0,
                         {name_delta{"n" + std::to_string(k % names), ++v, false, x, x}}});
  }
  stop.store(true);
  a.join();
  b.join();
  EXPECT_EQ(torn.load(), 0u) << "a lookup copied half of one entry and half of another";
  EXPECT_EQ(misses.load(), 0u) << "re-pointing a name never makes it disappear, even briefly";
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(r.digest_of(2).version, v);
}

}  // namespace
}  // namespace herald::registry
