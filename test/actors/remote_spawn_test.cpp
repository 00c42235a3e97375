#include "herald/actors/actor_system.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct hello {
  std::string who;
  auto fields() { return std::tie(who); }
};
struct describe {};

// Built from a string and a number, so that both travel through codecs.
class host : public actor<host> {
 public:
  using messages = herald::messages<hello, describe>;
  host(std::string node, std::int64_t seats) : node_(std::move(node)), seats_(seats) {}
  std::string on(const hello& h) const { return "hello " + h.who + " from " + node_; }
  std::string on(const describe&) const { return node_ + "/" + std::to_string(seats_); }

 private:
  std::string node_;
  std::int64_t seats_;
};

// Exposed by every node but spawnable on none.
class fixed : public actor<fixed> {
 public:
  using messages = herald::messages<describe>;
  std::string on(const describe&) const { return "fixed"; }
};

using herald::test::eventually;

// Three nodes on loopback; node 1 and node 2 host `host` for others.
struct three_nodes {
  three_nodes() {
    for (int i = 0; i < 3; ++i) {
      runtime::node_config c;
      c.secret.value = "remote-spawn-test-secret";
      c.node_name = "n" + std::to_string(i);
      c.listen = {"tcp://127.0.0.1:0"};
      registry::cluster_config cl;
      cl.gossip_interval = 50ms;
      cl.heartbeat_interval = 50ms;
      if (i > 0) cl.seeds = {nodes[0]->listen_addresses().at(0)};
      nodes.push_back(std::make_unique<actor_system>(actor_system_config{.worker_threads = 1}));
      if (i > 0) {
        auto declared = nodes.back()->declare_spawnable<host, std::string, std::int64_t>();
        EXPECT_TRUE(declared) << declared.error().message();
      }
      auto ok = nodes.back()->start_node<host, fixed>(c, cl);
      EXPECT_TRUE(ok) << ok.error().message();
    }
  }
  // spawn_on from `from` to `to`, retried while the link is still coming up.
  template <class T, class... Args>
  result<actor_ref<T>> spawn(int from, int to, std::string name, Args... args) {
    result<actor_ref<T>> r = error(errc::node_down);
    (void)eventually([&] {
      r = nodes[from]->spawn_on<T>(nodes[to]->node_id(), herald::name(name), args...);
      return r.has_value() || r.error().code() != errc::node_down;
    });
    return r;
  }
  std::vector<std::unique_ptr<actor_system>> nodes;
};

TEST(RemoteSpawn, AnActorSpawnedOnAnotherNodeAnswersThroughTheReturnedRef) {
  three_nodes n;
  auto ref = n.spawn<host>(0, 2, "concierge", std::string("n2"), std::int64_t{12});
  ASSERT_TRUE(ref) << ref.error().message();
  EXPECT_TRUE(ref->is_remote());
  EXPECT_EQ(ref->node_id(), n.nodes[2]->node_id()) << "the actor lives on the node it was spawned on";
  auto reply = ref->ask(describe{}, 5s).get();
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(*reply, "n2/12") << "the constructor arguments crossed the wire";
  auto local = n.nodes[2]->lookup<host>("concierge");
  ASSERT_TRUE(local) << "the hosting node registered the name";
  EXPECT_FALSE(local->is_remote());
}

TEST(RemoteSpawn, ARemotelySpawnedNameIsFoundFromEveryNode) {
  three_nodes n;
  ASSERT_TRUE(n.spawn<host>(0, 1, "everywhere", "n1", std::int64_t{3}));
  result<actor_ref<host>> seen = error(errc::not_found);
  ASSERT_TRUE(eventually([&] {
    seen = n.nodes[2]->lookup<host>("everywhere");
    return seen.has_value();
  })) << "a third node learns the name through gossip like any named actor";
  EXPECT_EQ(seen->node_id(), n.nodes[1]->node_id());
  // The name can arrive through node 0 a moment before the link to node 1 is up.
  result<std::string> reply = error(errc::node_down);
  ASSERT_TRUE(eventually([&] {
    reply = seen->ask(hello{"n2"}, 5s).get();
    return reply.has_value() || reply.error().code() != errc::node_down;
  }));
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(*reply, "hello n2 from n1");
}

TEST(RemoteSpawn, ATypeThatIsNotDeclaredSpawnableIsRefusedAsUnknown) {
  three_nodes n;
  auto r = n.spawn<fixed>(0, 1, "nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::unknown_type) << r.error().message();
  auto on0 = n.spawn<host>(1, 0, "nope", "n0", std::int64_t{1});
  ASSERT_FALSE(on0) << "node 0 declares nothing spawnable";
  EXPECT_EQ(on0.error().code(), errc::unknown_type) << on0.error().message();
  EXPECT_FALSE(n.nodes[1]->lookup<fixed>("nope")) << "nothing was registered";
}

TEST(RemoteSpawn, ANameTakenAnywhereInTheClusterIsRefused) {
  three_nodes n;
  ASSERT_TRUE(n.spawn<host>(0, 1, "taken", "n1", std::int64_t{1}));
  auto again = n.spawn<host>(0, 1, "taken", "n1", std::int64_t{2});
  ASSERT_FALSE(again) << "the same name twice on one node";
  EXPECT_EQ(again.error().code(), errc::invalid_argument) << again.error().message();
  ASSERT_TRUE(eventually([&] { return n.nodes[2]->lookup<host>("taken").has_value(); }));
  auto elsewhere = n.spawn<host>(0, 2, "taken", "n2", std::int64_t{3});
  ASSERT_FALSE(elsewhere) << "a name that another node holds";
  EXPECT_EQ(elsewhere.error().code(), errc::invalid_argument) << elsewhere.error().message();
  EXPECT_NE(elsewhere.error().context().find("registered already"), std::string::npos);
}

TEST(RemoteSpawn, ANodeThatIsDownOrUnknownIsRefusedWithNodeDown) {
  three_nodes n;
  ASSERT_TRUE(n.spawn<host>(0, 2, "before", "n2", std::int64_t{1})) << "node 2 is up at first";
  const auto gone = n.nodes[2]->node_id();
  n.nodes[2].reset();
  result<actor_ref<host>> r = error(errc::ok);
  ASSERT_TRUE(eventually([&] {
    r = n.nodes[0]->spawn_on<host>(gone, herald::name("after"), "n2", std::int64_t{1});
    return !r && r.error().code() == errc::node_down;
  })) << (r ? std::string("spawned on a node that left") : r.error().message());
  auto unknown = n.nodes[0]->spawn_on<host>(0xdead'beefull, herald::name("x"), "n", std::int64_t{1});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), errc::node_down) << unknown.error().message();
}

TEST(RemoteSpawn, ArgumentsOfOtherTypesThanDeclaredAreRefusedAsUndecodable) {
  three_nodes n;
  auto r = n.spawn<host>(0, 1, "wrong-args", std::int64_t{5});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::decode_failed) << r.error().message();
  EXPECT_FALSE(n.nodes[1]->lookup<host>("wrong-args"));
}

TEST(RemoteSpawn, TheNodeActorListsItsSpawnableTypes) {
  three_nodes n;
  // Dialling by address can race gossip's own link (the newer one replaces
  // the older, failing its asks with node_down): ask again then.
  auto list = [&](int from, int to) {
    result<std::vector<admin::spawnable_type>> r = error(errc::node_down);
    (void)eventually([&] {
      r = n.nodes[from]->spawnable_at(n.nodes[to]->listen_addresses().at(0));
      return r.has_value() || r.error().code() != errc::node_down;
    });
    return r;
  };
  auto none = list(1, 0);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->empty());
  auto some = list(0, 1);
  ASSERT_TRUE(some) << some.error().message();
  ASSERT_EQ(some->size(), 1u);
  EXPECT_EQ(some->at(0).actor_type, detail::actor_type_id<host>());
  EXPECT_EQ(some->at(0).wire_name, wire::wire_name_of<host>());
}

TEST(RemoteSpawn, DeclaringATypeTwiceIsRefused) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE((sys.declare_spawnable<host, std::string, std::int64_t>()));
  auto again = sys.declare_spawnable<host, std::string, std::int64_t>();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), errc::invalid_argument);
}

TEST(RemoteSpawn, SpawningWithoutANetworkIsRefused) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.spawn_on<host>(7, herald::name("x"), "n", std::int64_t{1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace herald
