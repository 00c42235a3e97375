#include "herald/actors/topic.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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

struct tick {
  std::uint32_t publisher = 0;
  std::uint32_t seq = 0;
};
struct alarm {
  std::uint32_t level = 0;
};
struct other_tick {  // a topic named like tick's, of another type
  std::uint32_t seq = 0;
};
struct hold {
  std::atomic<bool>* held = nullptr;
  std::atomic<bool>* open = nullptr;
};

// What each subscriber got, in the order it handled it. Outlives the nodes.
struct recorder {
  std::mutex m;
  std::map<std::string, std::vector<tick>> got;
  std::map<std::string, std::uint64_t> alarms;

  void add(const std::string& who, const tick& t) {
    std::lock_guard lock(m);
    got[who].push_back(t);
  }
  std::vector<tick> of(const std::string& who) {
    std::lock_guard lock(m);
    return got[who];
  }
  // The sequence numbers `who` got from `publisher`, in handling order.
  std::vector<std::uint32_t> from(const std::string& who, std::uint32_t publisher) {
    std::vector<std::uint32_t> out;
    for (const auto& t : of(who)) {
      if (t.publisher == publisher) out.push_back(t.seq);
    }
    return out;
  }
};

class collector : public actor<collector> {
 public:
  using messages = herald::messages<tick, alarm, other_tick>;
  collector(std::string label, recorder* r) : label_(std::move(label)), r_(r) {}
  void on(const tick& t) { r_->add(label_, t); }
  void on(const alarm&) {
    std::lock_guard lock(r_->m);
    ++r_->alarms[label_];
  }
  void on(const other_tick& t) { r_->add(label_ + "/other", tick{0, t.seq}); }

 private:
  std::string label_;
  recorder* r_;
};

// A local subscriber that can be held busy in a handler.
class holder : public actor<holder> {
 public:
  using messages = herald::messages<tick, hold>;
  void on(const tick&) { ++got_; }
  void on(const hold& h) {
    *h.held = true;
    while (!h.open->load()) std::this_thread::sleep_for(1ms);
  }

 private:
  std::uint64_t got_ = 0;
};

runtime::node_config node_cfg(const std::string& name) { return test::loopback_node(name, "topic-secret"); }

// Nodes on loopback, the first the seed of the others, gossiping fast.
struct cluster {
  explicit cluster(int n) {
    for (int i = 0; i < n; ++i) {
      registry::cluster_config cl;
      cl.gossip_interval = 50ms;
      cl.heartbeat_interval = 50ms;
      if (i > 0) cl.seeds = {nodes[0]->listen_addresses().at(0)};
      nodes.push_back(std::make_unique<actor_system>(actor_system_config{.worker_threads = 2}));
      auto ok = nodes.back()->start_node<collector>(node_cfg("n" + std::to_string(i)), cl);
      EXPECT_TRUE(ok) << ok.error().message();
    }
    // Every node has a link to every other before a test publishes (a
    // subscription can reach a node through a third one before the link to
    // its owner is up; until then a send to it is refused with node_down).
    for (auto& a : nodes) {
      for (auto& b : nodes) {
        if (a == b) continue;
        // Two nodes that dial each other at once keep one of the two links:
        // a lookup over the other fails with node_down, and is tried again.
        result<actor_ref<collector>> r = error(errc::node_down);
        EXPECT_TRUE(eventually([&] {
          r = a->remote_lookup<collector>(b->listen_addresses().at(0), "none", 2s);
          return !r && r.error().code() == errc::not_found;
        })) << r.error().message();
      }
    }
  }
  std::vector<std::unique_ptr<actor_system>> nodes;
};

bool has(const std::vector<topic_subscriber>& subs, const actor_system& sys, actor_id id) {
  return std::find(subs.begin(), subs.end(), topic_subscriber{sys.node_id(), id}) != subs.end();
}

std::size_t count_of(actor_system& sys, const topic<tick>& t) { return sys.subscribers(t).value().size(); }

// Publishers on two nodes, 1000 messages each, subscribers on three nodes;
// midway one subscriber joins and the third node goes with its subscriber.
// Each survivor gets every message once, in each publisher's order; the
// joiner gets everything its publisher sent after it saw the subscription;
// the departed node's subscriber leaves the topic on the others.
TEST(Topic, EverySubscriberGetsEachMessageOnceInPublishOrderWhileSubscribersJoinAndANodeGoes) {
  recorder rec;
  cluster c(3);
  auto& n = c.nodes;
  const topic<tick> ticks("ticks");
  std::vector<actor_ref<collector>> subs;
  for (int i = 0; i < 3; ++i) {
    subs.push_back(n[i]->spawn<collector>({}, "s" + std::to_string(i), &rec).value());
    ASSERT_TRUE(n[i]->subscribe(ticks, subs.back()));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(eventually([&] { return count_of(*n[i], ticks) == 3; })) << "node " << i << " sees every subscription";
  }
  constexpr std::uint32_t total = 1000;
  std::atomic<std::uint32_t> progress[2] = {0, 0};
  std::atomic<bool> joined{false};
  const std::uint64_t leaver = n[2]->node_id();
  std::atomic<std::uint64_t> refused[2] = {0, 0};
  std::atomic<actor_id> joiner_id{0};
  std::uint32_t first_seen[2] = {total, total};  // the first publish made once the joiner was visible
  std::atomic<bool> leaving{false};
  std::vector<std::thread> publishers;
  for (std::uint32_t p = 0; p < 2; ++p) {
    publishers.emplace_back([&, p] {
      actor_system& sys = *n[p];
      for (std::uint32_t seq = 0; seq < total; ++seq) {
        // Midway, twice: the joiner subscribes while this publisher is at
        // 300, and the third node leaves while it publishes from 500 on.
        if (seq == 300) {
          ASSERT_TRUE(eventually([&] { return joined.load(); }));
        }
        if (seq == 500) {
          ASSERT_TRUE(eventually([&] { return leaving.load(); }));
        }
        // ... and is gone from this node's view before the last hundred.
        if (seq == 900) {
          ASSERT_TRUE(eventually([&] {
            auto subs = sys.subscribers(ticks).value();
            return std::none_of(subs.begin(), subs.end(), [&](const topic_subscriber& x) { return x.node == leaver; });
          }, 20s));
        }
        // The joiner is visible here by 400 at the latest.
        if (seq == 400) {
          ASSERT_TRUE(eventually([&] { return has(sys.subscribers(ticks).value(), *n[1], joiner_id.load()); }));
        }
        if (first_seen[p] == total && joined.load()) {
          if (has(sys.subscribers(ticks).value(), *n[1], joiner_id.load())) first_seen[p] = seq;
        }
        auto r = sys.publish(ticks, tick{p, seq});
        ASSERT_TRUE(r) << r.error().message();
        ASSERT_EQ(r->subscribers, r->delivered + r->refused);
        refused[p] += r->refused;
        progress[p] = seq + 1;
        if (seq % 64 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return progress[0] >= 300 && progress[1] >= 300; }));
  auto joiner = n[1]->spawn<collector>({}, std::string("joiner"), &rec).value();
  joiner_id = joiner.id();
  ASSERT_TRUE(n[1]->subscribe(ticks, joiner));
  joined = true;
  ASSERT_TRUE(eventually([&] { return progress[0] >= 500 && progress[1] >= 500; }));
  leaving = true;
  n[2].reset();  // leaves while the others publish: its subscriber goes with it
  for (auto& t : publishers) t.join();
  ASSERT_LT(first_seen[0], total) << "publisher 0 saw the joiner before the end";
  ASSERT_LT(first_seen[1], total) << "publisher 1 saw the joiner before the end";

  for (std::uint32_t p = 0; p < 2; ++p) {
    for (const std::string who : {"s0", "s1"}) {
      ASSERT_TRUE(eventually([&] { return rec.from(who, p).size() >= total; }, 20s))
          << who << " got " << rec.from(who, p).size() << " of publisher " << p;
      auto got = rec.from(who, p);
      std::vector<std::uint32_t> want(total);
      for (std::uint32_t i = 0; i < total; ++i) want[i] = i;
      EXPECT_EQ(got, want) << who << " gets each message of publisher " << p << " once, in order";
    }
    // The joiner: from some point at or before the first publish that saw
    // it, everything, in order, once.
    ASSERT_TRUE(eventually([&] {
      auto g = rec.from("joiner", p);
      return !g.empty() && g.back() == total - 1;
    }, 20s));
    auto got = rec.from("joiner", p);
    ASSERT_FALSE(got.empty());
    EXPECT_LE(got.front(), first_seen[p]) << "the joiner gets every message published after it was visible";
    for (std::size_t i = 1; i < got.size(); ++i) {
      ASSERT_EQ(got[i], got[i - 1] + 1) << "the joiner's messages of publisher " << p << " are contiguous and ordered";
    }
    // The departed subscriber: at most once, in order (what its node
    // handled before it left; a leaving node drops the mail still queued).
    auto s2 = rec.from("s2", p);
    EXPECT_FALSE(s2.empty());
    for (std::size_t i = 1; i < s2.size(); ++i) ASSERT_LT(s2[i - 1], s2[i]) << "s2: in order, none twice";
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(eventually([&] { return count_of(*n[i], ticks) == 3; }))
        << "node " << i << ": s0, s1 and the joiner; the departed node's subscription is gone";
    auto r = n[i]->publish(ticks, tick{9, 0});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->subscribers, 3u);
    EXPECT_EQ(r->delivered, 3u);
    const auto m = n[i]->metrics();
    EXPECT_EQ(m.topic_publishes, total + 1);
    EXPECT_EQ(m.topic_deliveries_refused, refused[i].load()) << "every refusal is counted";
  }
}

TEST(Topic, UnsubscribeStopsDeliveryOnEveryNode) {
  recorder rec;
  cluster c(2);
  auto& n = c.nodes;
  const topic<tick> ticks("ticks");
  auto s = n[1]->spawn<collector>({}, std::string("s"), &rec).value();
  ASSERT_TRUE(n[1]->subscribe(ticks, s));
  ASSERT_TRUE(n[1]->subscribe(ticks, s)) << "subscribing twice is one subscription";
  ASSERT_TRUE(eventually([&] { return count_of(*n[0], ticks) == 1; }));
  auto r = n[0]->publish(ticks, tick{0, 1});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->delivered, 1u);
  ASSERT_TRUE(eventually([&] { return rec.of("s").size() == 1; }));
  ASSERT_TRUE(n[1]->unsubscribe(ticks, s));
  EXPECT_EQ(count_of(*n[1], ticks), 0u) << "gone at once on its own node";
  ASSERT_TRUE(eventually([&] { return count_of(*n[0], ticks) == 0; })) << "and on the others by gossip";
  r = n[0]->publish(ticks, tick{0, 2});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subscribers, 0u);
  r = n[1]->publish(ticks, tick{0, 3});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subscribers, 0u);
  std::this_thread::sleep_for(100ms);  // nothing is on its way: give it the chance to be
  EXPECT_EQ(rec.of("s").size(), 1u);
  auto again = n[1]->unsubscribe(ticks, s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), errc::not_found);
  auto names = n[0]->names_with_prefix("$topic/");
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
}

TEST(Topic, ASubscriptionGoesWhenItsActorStops) {
  recorder rec;
  cluster c(2);
  auto& n = c.nodes;
  const topic<tick> ticks("ticks");
  const topic<alarm> alarms("alarms");
  auto s = n[1]->spawn<collector>({}, std::string("s"), &rec).value();
  ASSERT_TRUE(n[1]->subscribe(ticks, s));
  ASSERT_TRUE(n[1]->subscribe(alarms, s));
  ASSERT_TRUE(eventually([&] { return n[0]->names_with_prefix("$topic/")->size() == 2; }));
  ASSERT_TRUE(eventually([&] { return count_of(*n[0], ticks) == 1; }));
  n[1]->stop(s);
  for (auto& sys : n) {
    EXPECT_TRUE(eventually([&] { return sys->names_with_prefix("$topic/")->empty(); }))
        << "no subscription outlives its actor, in any registry";
    EXPECT_TRUE(eventually([&] { return count_of(*sys, ticks) == 0; }));
  }
  auto r = n[0]->publish(ticks, tick{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subscribers, 0u);
  auto late = n[1]->subscribe(ticks, s);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), errc::actor_stopped);
}

// One actor on many topics, many actors on one; a topic is its name and its
// message type; local delivery goes the same way as remote.
TEST(Topic, TopicsAreNamesAndTypesAndAnActorSubscribesToMany) {
  recorder rec;
  cluster c(1);
  actor_system& sys = *c.nodes[0];
  const topic<tick> ticks("market");
  const topic<other_tick> others("market");  // the same name, another type
  const topic<alarm> alarms("alarms");
  auto a = sys.spawn<collector>({}, std::string("a"), &rec).value();
  auto b = sys.spawn<collector>({}, std::string("b"), &rec).value();
  ASSERT_TRUE(sys.subscribe(ticks, a));
  ASSERT_TRUE(sys.subscribe(ticks, b));
  ASSERT_TRUE(sys.subscribe(alarms, a));
  ASSERT_TRUE(sys.subscribe(others, b));
  EXPECT_EQ(sys.subscribers(ticks).value().size(), 2u);
  EXPECT_EQ(sys.subscribers(others).value(), (std::vector<topic_subscriber>{{sys.node_id(), b.id()}}));
  for (std::uint32_t i = 0; i < 100; ++i) {
    auto r = sys.publish(ticks, tick{0, i});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->delivered, 2u);
  }
  ASSERT_EQ(sys.publish(others, other_tick{7}).value().delivered, 1u);
  ASSERT_EQ(sys.publish(alarms, alarm{1}).value().delivered, 1u);
  ASSERT_TRUE(eventually([&] { return rec.of("a").size() == 100 && rec.of("b").size() == 100; }));
  std::vector<std::uint32_t> want(100);
  for (std::uint32_t i = 0; i < 100; ++i) want[i] = i;
  EXPECT_EQ(rec.from("a", 0), want);
  EXPECT_EQ(rec.from("b", 0), want);
  ASSERT_TRUE(eventually([&] { return rec.of("b/other").size() == 1; }));
  EXPECT_TRUE(rec.of("a/other").empty()) << "a is not on the other market topic";
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(rec.m);
    return rec.alarms["a"] == 1;
  }));
  std::lock_guard lock(rec.m);
  EXPECT_EQ(rec.alarms["b"], 0u);
}

TEST(Topic, SubscriptionsAreNotNamesThatPrefixScansAndRouterGroupsSee) {
  recorder rec;
  cluster c(1);
  actor_system& sys = *c.nodes[0];
  auto a = sys.spawn<collector>(herald::name("a"), std::string("a"), &rec).value();
  ASSERT_TRUE(sys.subscribe(topic<tick>("market"), a));
  auto all = sys.names_with_prefix("");
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, std::vector<std::string>{"a"}) << "the subscription is not one more name of the actor";
  auto subs = sys.names_with_prefix("$topic/");
  ASSERT_TRUE(subs);
  ASSERT_EQ(subs->size(), 1u) << "asked for by their prefix, subscriptions are listed";
  EXPECT_EQ(subs->front().rfind("$topic/market/", 0), 0u) << subs->front();
  auto everyone = router<collector>::group(sys, "", routing::broadcast);
  ASSERT_TRUE(everyone);
  EXPECT_EQ(everyone->members().size(), 1u) << "a router over every name reaches the actor once";
  ASSERT_TRUE(sys.subscribe(topic<alarm>("alarms"), a));
  std::this_thread::sleep_for(100ms);  // the registry's event reaches the group
  EXPECT_EQ(everyone->members().size(), 1u) << "a later subscription does not join the group";
}

TEST(Topic, ARefusedSendIsReportedAndCounted) {
  std::atomic<bool> held{false}, open{false};  // outlive the actor that waits on them
  actor_system sys{actor_system_config{.worker_threads = 2}};
  ASSERT_TRUE(sys.start_node<holder>(node_cfg("solo")));
  const topic<tick> ticks("ticks");
  auto h = sys.spawn<holder>(spawn_options{.mailbox = mailbox_limit{.capacity = 1}}).value();
  ASSERT_TRUE(h.tell(hold{&held, &open}));
  ASSERT_TRUE(eventually([&] { return held.load(); })) << "the hold is running";
  ASSERT_TRUE(sys.subscribe(ticks, h));
  auto first = sys.publish(ticks, tick{0, 0});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->delivered, 1u) << "one fits";
  auto second = sys.publish(ticks, tick{0, 1});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->subscribers, 1u);
  EXPECT_EQ(second->refused, 1u);
  EXPECT_FALSE(second->all_delivered());
  EXPECT_EQ(second->last_refusal.code(), errc::mailbox_full);
  const auto m = sys.metrics();
  EXPECT_EQ(m.topic_publishes, 2u);
  EXPECT_EQ(m.topic_deliveries, 1u);
  EXPECT_EQ(m.topic_deliveries_refused, 1u);
  open = true;
}

TEST(Topic, NeedsANodeALocalSubscriberAndLeavesItsPrefixToSubscriptions) {
  recorder rec;
  {
    actor_system bare{actor_system_config{.worker_threads = 1}};
    const topic<tick> ticks("ticks");
    auto s = bare.spawn<collector>({}, std::string("s"), &rec).value();
    auto sub = bare.subscribe(ticks, s);
    ASSERT_FALSE(sub);
    EXPECT_EQ(sub.error().code(), errc::invalid_argument);
    auto pub = bare.publish(ticks, tick{});
    ASSERT_FALSE(pub);
    EXPECT_EQ(pub.error().code(), errc::invalid_argument);
  }
  cluster c(2);
  auto& n = c.nodes;
  ASSERT_TRUE(n[1]->spawn<collector>(herald::name("far"), std::string("far"), &rec));
  result<actor_ref<collector>> far = error(errc::not_found);
  ASSERT_TRUE(eventually([&] { return (far = n[0]->lookup<collector>("far")).has_value(); }));
  auto sub = n[0]->subscribe(topic<tick>("ticks"), *far);
  ASSERT_FALSE(sub) << "a node subscribes its own actors only";
  EXPECT_EQ(sub.error().code(), errc::invalid_argument);
  auto reserved = n[0]->spawn<collector>(herald::name("$topic/ticks/x/y/z"), std::string("x"), &rec);
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().code(), errc::invalid_argument);
}

// Aliases: the mechanism under subscriptions, for any actor.
TEST(Alias, AnAliasFindsTheActorEverywhereAndGoesWithItOrWhenRemoved) {
  recorder rec;
  cluster c(2);
  auto& n = c.nodes;
  auto s = n[1]->spawn<collector>(herald::name("main-name"), std::string("s"), &rec).value();
  ASSERT_TRUE(n[1]->add_alias(s, "alias-1"));
  ASSERT_TRUE(n[1]->add_alias(s, "alias-2"));
  auto taken = n[1]->add_alias(s, "main-name");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), errc::invalid_argument);
  auto reserved = n[1]->add_alias(s, "$topic/x");
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().code(), errc::invalid_argument);
  auto local = n[1]->lookup<collector>("alias-1");
  ASSERT_TRUE(local);
  EXPECT_EQ(*local, s);
  ASSERT_TRUE(eventually([&] { return n[0]->lookup<collector>("alias-2").has_value(); }));
  EXPECT_EQ(n[0]->lookup<collector>("alias-2")->id(), s.id());
  ASSERT_TRUE(n[1]->remove_alias(s, "alias-1"));
  EXPECT_EQ(n[1]->remove_alias(s, "alias-1").error().code(), errc::not_found);
  ASSERT_TRUE(eventually([&] { return !n[0]->lookup<collector>("alias-1").has_value(); }));
  EXPECT_TRUE(n[0]->lookup<collector>("alias-2").has_value());
  n[1]->stop(s);
  for (auto& sys : n) {
    EXPECT_TRUE(eventually([&] { return !sys->lookup<collector>("alias-2").has_value(); })) << "the alias goes with its actor";
  }
  auto late = n[1]->add_alias(s, "alias-3");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), errc::actor_stopped);
}

}  // namespace
}  // namespace herald
