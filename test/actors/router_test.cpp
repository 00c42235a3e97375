#include "herald/actors/router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/loopback_node.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using test::eventually;

struct job {
  std::uint64_t n = 0;
};
struct keyed_job {
  std::string key;
  std::string routing_key() const { return key; }
};
struct keyed_who {
  std::string key;
  std::string routing_key() const { return key; }
};
struct count_request {
  std::uint8_t unused = 0;
};
struct who_request {
  std::uint8_t unused = 0;
};
struct hold {
  std::atomic<bool>* open = nullptr;
};

// Counts what it got; answers with its label.
class worker : public actor<worker> {
 public:
  using messages = herald::messages<job, keyed_job, keyed_who, count_request, who_request>;
  explicit worker(std::string label) : label_(std::move(label)) {}
  void on(const job&) { ++count_; }
  void on(const keyed_job&) { ++count_; }
  std::uint64_t on(const count_request&) const { return count_; }
  std::string on(const who_request&) const { return label_; }
  std::string on(const keyed_who&) const { return label_; }

 private:
  std::string label_;
  std::uint64_t count_ = 0;
};

// A local-only worker that can be held busy.
class local_worker : public actor<local_worker> {
 public:
  void on(const job&) { ++count_; }
  void on(const hold& h) {
    while (!h.open->load()) std::this_thread::sleep_for(1ms);
  }
  std::uint64_t on(const count_request&) const { return count_; }

 private:
  std::uint64_t count_ = 0;
};

std::uint64_t count_of(const actor_ref<worker>& w) { return w.ask(count_request{}, 10s).get().value(); }

std::vector<actor_ref<worker>> spawn_workers(actor_system& sys, int n) {
  std::vector<actor_ref<worker>> out;
  for (int i = 0; i < n; ++i) out.push_back(sys.spawn<worker>({}, "w" + std::to_string(i)).value());
  return out;
}

TEST(Router, RoundRobinGivesEachMemberItsTurn) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto ws = spawn_workers(sys, 3);
  auto r = router<worker>::of(ws, routing::round_robin);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(r.tell(job{}));
  for (const auto& w : ws) EXPECT_EQ(count_of(w), 100u);
  std::multiset<std::string> who;
  for (int i = 0; i < 6; ++i) who.insert(r.ask(who_request{}, 10s).get().value());
  EXPECT_EQ(who, (std::multiset<std::string>{"w0", "w0", "w1", "w1", "w2", "w2"})) << "asks take turns too";
}

TEST(Router, RandomReachesEveryMember) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto ws = spawn_workers(sys, 4);
  auto r = router<worker>::of(ws, routing::random);
  for (int i = 0; i < 4000; ++i) ASSERT_TRUE(r.tell(job{}));
  std::uint64_t total = 0;
  for (const auto& w : ws) {
    const auto c = count_of(w);
    EXPECT_GT(c, 700u) << "4000 random picks among 4";
    total += c;
  }
  EXPECT_EQ(total, 4000u);
}

TEST(Router, ConsistentHashKeepsAKeyOnOneMemberAndMovesOnlyTheKeysOfOneThatStops) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto ws = spawn_workers(sys, 4);
  auto r = router<worker>::of(ws, routing::consistent_hash);
  auto who = [&](const std::string& key) { return r.ask(keyed_who{key}, 10s).get().value(); };
  std::map<std::string, std::string> owner;
  std::map<std::string, int> per_member;
  for (int k = 0; k < 200; ++k) {
    const std::string key = "key-" + std::to_string(k);
    owner[key] = who(key);
    EXPECT_EQ(who(key), owner[key]) << key << " goes to one member";
    ++per_member[owner[key]];
  }
  EXPECT_EQ(per_member.size(), 4u) << "keys spread over every member";
  for (const auto& [m, n] : per_member) EXPECT_GT(n, 15) << m << " has a fair share";
  sys.stop(ws[0]);
  ASSERT_TRUE(eventually([&] { return ws[0].stopped(); }));
  for (const auto& [key, was] : owner) {
    const auto now = who(key);
    EXPECT_NE(now, "w0");
    if (was != "w0") {
      EXPECT_EQ(now, was) << key << " stays where it was";
    }
  }
  EXPECT_EQ(r.tell(job{}).error().code(), errc::invalid_argument) << "a message without routing_key() is refused";
}

TEST(Router, BroadcastTellsEveryMemberAndRefusesAsks) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto ws = spawn_workers(sys, 3);
  auto r = router<worker>::of(ws, routing::broadcast);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(r.tell(job{}));
  for (const auto& w : ws) EXPECT_EQ(count_of(w), 50u);
  EXPECT_EQ(r.ask(who_request{}).get().error().code(), errc::invalid_argument);
}

TEST(Router, SmallestMailboxAvoidsABusyMember) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  std::vector<actor_ref<local_worker>> ws{sys.spawn<local_worker>().value(), sys.spawn<local_worker>().value()};
  std::atomic<bool> open{false};
  ASSERT_TRUE(ws[0].tell(hold{&open}));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ws[0].tell(job{}));  // ten queued behind the hold
  auto r = router<local_worker>::of(ws, routing::smallest_mailbox);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.tell(job{}));
  open = true;
  auto count = [](const actor_ref<local_worker>& w) { return w.ask(count_request{}, 10s).get().value(); };
  EXPECT_EQ(count(ws[1]), 5u) << "every tell went to the member with the empty mailbox";
  EXPECT_EQ(count(ws[0]), 10u);
}

TEST(Router, AStoppedMemberIsSkippedAndAnEmptyGroupSaysSo) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto ws = spawn_workers(sys, 3);
  auto r = router<worker>::of(ws, routing::round_robin);
  sys.stop(ws[1]);
  ASSERT_TRUE(eventually([&] { return ws[1].stopped(); }));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(r.tell(job{}));
  EXPECT_EQ(count_of(ws[0]) + count_of(ws[2]), 100u);
  EXPECT_EQ(sys.metrics().dead_letters, 0u) << "nothing was sent to the stopped member";
  sys.stop(ws[0]);
  sys.stop(ws[2]);
  ASSERT_TRUE(eventually([&] { return ws[0].stopped() && ws[2].stopped(); }));
  EXPECT_EQ(r.tell(job{}).error().code(), errc::not_found);
  EXPECT_EQ(r.ask(who_request{}).get().error().code(), errc::not_found);
}

runtime::node_config node_cfg(const std::string& name) { return test::loopback_node(name, "router-secret"); }

// A group by name prefix follows the cluster registry: members on two nodes
// join and leave as their actors start and stop.
TEST(Router, AGroupByPrefixFollowsTheRegistryAcrossNodes) {
  actor_system a{actor_system_config{.worker_threads = 2}};
  actor_system b{actor_system_config{.worker_threads = 2}};
  ASSERT_TRUE(a.start_node<worker>(node_cfg("a")));
  registry::cluster_config join;
  join.seeds = {a.listen_addresses().at(0)};
  join.gossip_interval = 50ms;
  ASSERT_TRUE(b.start_node<worker>(node_cfg("b"), join));
  ASSERT_TRUE(a.spawn<worker>(herald::name("workers/a1"), std::string("a1")));
  ASSERT_TRUE(a.spawn<worker>(herald::name("other/a2"), std::string("a2")));  // not in the group
  auto b1 = b.spawn<worker>(herald::name("workers/b1"), std::string("b1")).value();
  auto group = router<worker>::group(a, "workers/", routing::round_robin);
  ASSERT_TRUE(group) << group.error().message();
  ASSERT_TRUE(eventually([&] { return group->members().size() == 2; })) << group->members().size();
  std::set<std::string> seen;
  ASSERT_TRUE(eventually([&] {
    auto w = group->ask(who_request{}, 2s).get();
    if (w) seen.insert(*w);
    return seen.size() == 2;
  }));
  EXPECT_EQ(seen, (std::set<std::string>{"a1", "b1"}));
  b.stop(b1);
  ASSERT_TRUE(eventually([&] { return group->members().size() == 1; })) << "the stopped member leaves the group";
  ASSERT_TRUE(b.spawn<worker>(herald::name("workers/b2"), std::string("b2")));
  ASSERT_TRUE(eventually([&] { return group->members().size() == 2; })) << "a new one joins it";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(group->tell(job{}));
}

// Senders through a group while its members start and stop: every tell the
// router accepted is handled or, when its member stopped right after the
// pick, a dead letter; none is lost, none crashes (run under TSan in CI).
class counted : public actor<counted> {
 public:
  using messages = herald::messages<job>;
  explicit counted(std::atomic<std::uint64_t>* handled) : handled_(handled) {}
  void on(const job&) { handled_->fetch_add(1); }

 private:
  std::atomic<std::uint64_t>* handled_;
};

TEST(Router, SendersRaceMembersComingAndGoingAndLoseNothing) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  ASSERT_TRUE(sys.start_node<counted>(node_cfg("solo")));
  std::atomic<std::uint64_t> handled{0}, accepted{0};
  std::vector<actor_ref<counted>> live;
  for (int i = 0; i < 3; ++i) live.push_back(sys.spawn<counted>(herald::name("pool/" + std::to_string(i)), &handled).value());
  auto group = router<counted>::group(sys, "pool/", routing::round_robin);
  ASSERT_TRUE(group);
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 3; ++t) {
    senders.emplace_back([&] {
      while (!stop.load()) {
        if (group->tell(job{})) accepted.fetch_add(1);
      }
    });
  }
  for (int i = 3; i < static_cast<int>(test::scaled(200, 4)) + 3; ++i) {
    live.push_back(sys.spawn<counted>(herald::name("pool/" + std::to_string(i)), &handled).value());
    sys.stop(live[static_cast<std::size_t>(i) - 3]);
    std::this_thread::sleep_for(1ms);
  }
  stop = true;
  for (auto& t : senders) t.join();
  for (auto& r : live) sys.stop(r);
  ASSERT_TRUE(sys.await_all_stopped(10s));
  EXPECT_GT(accepted.load(), 0u);
  // A stopped actor rejects what is still queued right after it stops:
  // those dead letters may come a moment after await_all_stopped().
  EXPECT_TRUE(eventually([&] { return handled.load() + sys.metrics().dead_letters == accepted.load(); }))
      << handled.load() << " handled + " << sys.metrics().dead_letters << " dead letters, " << accepted.load()
      << " accepted";
}

}  // namespace
}  // namespace herald
