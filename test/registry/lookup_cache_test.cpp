#include "herald/registry/detail/lookup_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "herald/registry/name_registry.hpp"
#include "support/test_support.hpp"

namespace herald::registry {
namespace {

using detail::lookup_cache;

constexpr type_id account_type = 0xacc0;

TEST(LookupCache, ARepeatedLookupIsServedByTheThreadCache) {
  name_registry r(member_key{1, 1});
  ASSERT_TRUE(r.register_local("alice", 7, account_type));
  ASSERT_TRUE(r.lookup("alice"));
  const auto hits = lookup_cache::thread_hits();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(r.lookup("alice")->actor, 7u);
  EXPECT_EQ(lookup_cache::thread_hits() - hits, 10u) << "after the first read, the name is cached";
}

TEST(LookupCache, AChangeOfANameIsSeenByTheNextLookupOfACachingThread) {
  name_registry r(member_key{1, 1});
  ASSERT_TRUE(r.register_local("alice", 7, account_type));
  EXPECT_EQ(r.lookup("alice")->actor, 7u);
  ASSERT_TRUE(r.register_local("alice", 8, account_type));
  EXPECT_EQ(r.lookup("alice")->actor, 8u) << "a re-pointed name is not served stale";
  ASSERT_TRUE(r.unregister_local("alice"));
  EXPECT_EQ(r.lookup("alice").error().code(), errc::not_found) << "a removed name is not served stale";
  ASSERT_TRUE(r.register_local("alice", 9, account_type));
  EXPECT_EQ(r.lookup("alice")->actor, 9u) << "a cached absence ends when the name comes back";
}

TEST(LookupCache, RemoteChangesAndARemovedNodeInvalidateCachedEntries) {
  name_registry r(member_key{1, 1});
  r.apply(stream_batch{member_key{2, 1}, false, 0, 0, {name_delta{"bob", 1, false, 5, account_type}}});
  EXPECT_EQ(r.lookup("bob")->actor, 5u);
  r.apply(stream_batch{member_key{2, 1}, false, 0, 0, {name_delta{"bob", 2, false, 6, account_type}}});
  EXPECT_EQ(r.lookup("bob")->actor, 6u);
  r.remove_node(2);
  EXPECT_EQ(r.lookup("bob").error().code(), errc::not_found) << "a dead node's names leave the caches too";
}

TEST(LookupCache, RegistriesOnOneThreadNeverAnswerForEachOther) {
  // Registries created and destroyed in turn, so that a new one may take the
  // address of an old one.
  for (int round = 0; round < 12; ++round) {
    auto a = std::make_unique<name_registry>(member_key{1, 1});
    auto b = std::make_unique<name_registry>(member_key{1, 1});
    ASSERT_TRUE(a->register_local("x", 100 + round, account_type));
    EXPECT_EQ(a->lookup("x")->actor, static_cast<actor_id>(100 + round));
    EXPECT_EQ(b->lookup("x").error().code(), errc::not_found) << "round " << round;
  }
}

TEST(LookupCache, LongNamesAreReadFromTheMapEveryTime) {
  name_registry r(member_key{1, 1});
  const std::string name(200, 'n');
  ASSERT_TRUE(r.register_local(name, 7, account_type));
  const auto hits = lookup_cache::thread_hits();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.lookup(name)->actor, 7u);
  EXPECT_EQ(lookup_cache::thread_hits(), hits);
}

// The guarantee of the read path: a lookup that starts after a change has
// returned sees that change or a later one (no stale cache hit), and a lookup
// during which no change was made sees exactly the last one. One writer
// re-points and removes names flat out; readers check every answer against
// the writer's counters (read before and after the lookup).
TEST(LookupCache, ConcurrentLookupsNeverSeeAnOlderStateThanTheLastCommitted) {
  constexpr std::size_t names = 300;  // more than one name per stripe for some
  name_registry r(member_key{1, 1});
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < names; ++i) keys.push_back("actor-" + std::to_string(i));
  // State k of a name: k even -> registered to actor k; k odd -> removed.
  auto started = std::make_unique<std::atomic<std::uint64_t>[]>(names);
  auto committed = std::make_unique<std::atomic<std::uint64_t>[]>(names);
  for (std::size_t i = 0; i < names; ++i) {
    ASSERT_TRUE(r.register_local(keys[i], 0, account_type));
    started[i] = 0;
    committed[i] = 0;
  }
  const std::size_t rounds = test::scaled(400, 8);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> violations{0};
  std::atomic<std::uint64_t> exact_checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t i = static_cast<std::uint64_t>(t) * 7919;
      while (!done.load(std::memory_order_acquire)) {
        const std::size_t k = (i++ * 2654435761u) % names;
        const std::uint64_t before = committed[k].load(std::memory_order_seq_cst);
        auto e = r.lookup(keys[k]);
        const std::uint64_t after = started[k].load(std::memory_order_seq_cst);
        // The state seen is one of [before, after].
        const std::uint64_t seen = e ? e->actor : 0;
        const bool ok = e ? (seen % 2 == 0 && seen + 1 >= before && seen <= after)
                          : (after > before || before % 2 == 1);
        if (!ok) violations.fetch_add(1, std::memory_order_relaxed);
        if (before == after) exact_checks.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::uint64_t state = 1; state <= rounds; ++state) {
    for (std::size_t k = 0; k < names; ++k) {
      started[k].store(state, std::memory_order_seq_cst);
      if (state % 2 == 0) {
        ASSERT_TRUE(r.register_local(keys[k], state, account_type));
      } else {
        ASSERT_TRUE(r.unregister_local(keys[k]));
      }
      committed[k].store(state, std::memory_order_seq_cst);
    }
  }
  done.store(true, std::memory_order_release);
  for (auto& th : readers) th.join();
  EXPECT_EQ(violations.load(), 0u) << "a lookup returned a state older than one committed before it began";
  EXPECT_GT(exact_checks.load(), 0u) << "some lookups ran between two changes (the strict case)";
}

// The table grows (and is replaced) while readers are in it: a name that was
// registered before a lookup began is found, with its actor.
TEST(LookupCache, LookupsDuringTheTablesGrowthFindEveryRegisteredName) {
  const std::size_t names = test::scaled(6000, 4);
  name_registry r(member_key{1, 1});
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < names; ++i) keys.push_back("grow-" + std::to_string(i));
  std::atomic<std::size_t> registered{0};
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> wrong{0};
  std::atomic<std::uint64_t> checked{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t i = static_cast<std::uint64_t>(t) * 31;
      while (!done.load(std::memory_order_acquire)) {
        const std::size_t n = registered.load(std::memory_order_acquire);
        if (n == 0) continue;
        const std::size_t k = (i++ * 2654435761u) % n;
        auto e = r.lookup(keys[k]);
        if (!e || e->actor != k + 1) wrong.fetch_add(1, std::memory_order_relaxed);
        checked.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::size_t k = 0; k < names; ++k) {
    ASSERT_TRUE(r.register_local(keys[k], k + 1, account_type));
    registered.store(k + 1, std::memory_order_release);
  }
  done.store(true, std::memory_order_release);
  for (auto& th : readers) th.join();
  EXPECT_EQ(wrong.load(), 0u) << "a lookup missed or misread a name registered before it began";
  EXPECT_GT(checked.load(), 0u);
}

}  // namespace
}  // namespace herald::registry
