#include "herald/actors/actor_system.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct greet {
  std::string who;
  auto fields() { return std::tie(who); }
};

class greeter : public actor<greeter> {
 public:
  using messages = herald::messages<greet>;
  explicit greeter(std::string node) : node_(std::move(node)) {}
  std::string on(const greet& g) const { return "hello " + g.who + " from " + node_; }

 private:
  std::string node_;
};

using herald::test::eventually;

// Three nodes on loopback: the first is the seed of the other two.
struct three_nodes {
  three_nodes() {
    for (int i = 0; i < 3; ++i) {
      runtime::node_config c;
      c.secret.value = "cluster-test-secret";
      c.node_name = "n" + std::to_string(i);
      c.listen = {"tcp://127.0.0.1:0"};
      registry::cluster_config cl;
      cl.gossip_interval = 50ms;
      cl.heartbeat_interval = 50ms;
      if (i > 0) cl.seeds = {nodes[0]->listen_addresses().at(0)};
      nodes.push_back(std::make_unique<actor_system>(actor_system_config{.worker_threads = 1}));
      auto ok = nodes.back()->start_node<greeter>(c, cl);
      EXPECT_TRUE(ok) << ok.error().message();
    }
  }
  std::vector<std::unique_ptr<actor_system>> nodes;
};

TEST(Cluster, ANamedActorIsFoundByNameFromEveryNode) {
  three_nodes n;
  ASSERT_TRUE(n.nodes[2]->spawn<greeter>(herald::name("front-desk"), std::string("n2")));
  for (int i = 0; i < 2; ++i) {
    result<actor_ref<greeter>> ref = error(errc::not_found);
    ASSERT_TRUE(eventually([&] {
      ref = n.nodes[i]->lookup<greeter>("front-desk");
      return ref.has_value();
    })) << "node " << i << " learns the name through gossip";
    EXPECT_TRUE(ref->is_remote());
    EXPECT_EQ(ref->node_id(), n.nodes[2]->node_id());
    // The name can arrive through a third node a moment before the direct
    // link to its owner is up; until then a send fails with node_down.
    result<std::string> reply = error(errc::node_down);
    ASSERT_TRUE(eventually([&] {
      reply = ref->ask(greet{"n" + std::to_string(i)}, 5s).get();
      return reply.has_value() || reply.error().code() != errc::node_down;
    }));
    ASSERT_TRUE(reply) << reply.error().message();
    EXPECT_EQ(*reply, "hello n" + std::to_string(i) + " from n2");
  }
  auto local = n.nodes[2]->lookup<greeter>("front-desk");
  ASSERT_TRUE(local);
  EXPECT_FALSE(local->is_remote()) << "the owning node finds its own actor locally";
}

TEST(Cluster, ANameIsRemovedEverywhereWhenItsActorStops) {
  three_nodes n;
  auto g = n.nodes[1]->spawn<greeter>(herald::name("temp"), std::string("n1")).value();
  ASSERT_TRUE(eventually([&] { return n.nodes[0]->lookup<greeter>("temp").has_value(); }));
  n.nodes[1]->stop(g);
  EXPECT_TRUE(eventually([&] {
    auto r = n.nodes[0]->lookup<greeter>("temp");
    return !r && r.error().code() == errc::not_found;
  })) << "the unregistration spreads like the registration";
}

TEST(Cluster, WatchersSeeNamesAddedAndRemovedAcrossTheCluster) {
  three_nodes n;
  std::mutex m;
  std::vector<std::string> seen;
  auto id = n.nodes[0]->watch_name("watched", [&](const actor_system::name_event& e) {
    std::lock_guard lock(m);
    seen.push_back(e.kind == registry::registry_event_kind::added     ? "added"
                   : e.kind == registry::registry_event_kind::removed ? "removed"
                                                                       : "other");
  });
  ASSERT_TRUE(id) << id.error().message();
  std::atomic<int> all{0};
  ASSERT_TRUE(n.nodes[0]->watch_names([&](const actor_system::name_event&) { all.fetch_add(1); }));
  auto g = n.nodes[1]->spawn<greeter>(herald::name("watched"), std::string("n1")).value();
  ASSERT_TRUE(n.nodes[2]->spawn<greeter>(herald::name("unwatched"), std::string("n2")));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return seen.size() == 1;
  })) << "node 0 hears of the name registered on node 1";
  n.nodes[1]->stop(g);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return seen.size() == 2;
  }));
  {
    std::lock_guard lock(m);
    EXPECT_EQ(seen, (std::vector<std::string>{"added", "removed"}));
  }
  EXPECT_GE(all.load(), 3) << "the stream of every name saw both names";
  n.nodes[0]->unwatch(*id);
}

TEST(Cluster, WatchingNeedsANode) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.watch_names([](const actor_system::name_event&) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
}

TEST(Cluster, ANodeThatLeavesTakesItsNamesWithIt) {
  three_nodes n;
  ASSERT_TRUE(n.nodes[2]->spawn<greeter>(herald::name("leaver"), std::string("n2")));
  ASSERT_TRUE(eventually([&] { return n.nodes[0]->lookup<greeter>("leaver").has_value(); }));
  n.nodes[2].reset();  // graceful leave
  EXPECT_TRUE(eventually([&] { return !n.nodes[0]->lookup<greeter>("leaver").has_value(); }))
      << "the departed node's names are removed from every registry";
  EXPECT_GE(n.nodes[0]->metrics().members_lost, 1u);
}

}  // namespace
}  // namespace herald
