#include "herald/actors/admin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "herald/herald.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct ping {
  std::uint8_t unused = 0;
};

class pinger : public actor<pinger> {
 public:
  using messages = herald::messages<ping>;
  int on(const ping&) { return 1; }
};

runtime::node_config node_cfg(const std::string& name) {
  runtime::node_config c;
  c.secret.value = "admin-test-secret";
  c.node_name = name;
  c.listen = {"tcp://127.0.0.1:0"};
  return c;
}

TEST(Admin, AClientReadsANodesMembersRegistryAndCountersWithoutBecomingAMember) {
  registry::cluster_config fast;
  fast.gossip_interval = 50ms;
  fast.heartbeat_interval = 50ms;
  actor_system a{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(a.start_node<pinger>(node_cfg("a"), fast));
  ASSERT_TRUE(a.spawn<pinger>(herald::name("p-a")));
  actor_system b{actor_system_config{.worker_threads = 1}};
  auto join = fast;
  join.seeds = {a.listen_addresses().at(0)};
  ASSERT_TRUE(b.start_node<pinger>(node_cfg("b"), join));
  ASSERT_TRUE(b.spawn<pinger>(herald::name("p-b")));

  actor_system client{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(client.start_client<pinger>(node_cfg("tool")));
  const auto at = a.listen_addresses().at(0);
  std::vector<admin::member> members;
  std::vector<admin::registry_entry> names;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    auto m = client.members_at(at);
    auto r = client.registry_at(at);
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_TRUE(r) << r.error().message();
    members = *m;
    names = *r;
    if (members.size() >= 2 && names.size() >= 2) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(members.size(), 2u) << "a and b, and not the client";
  for (const auto& m : members) {
    EXPECT_EQ(m.status, "up") << m.name;
    EXPECT_GT(m.incarnation, 0u) << m.name;
    EXPECT_NE(m.name, "tool") << "a client never joins";
  }
  EXPECT_EQ(members[0].name, "a");
  EXPECT_EQ(members[0].node, a.node_id());
  EXPECT_EQ(members[0].address, at);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].name, "p-a");
  EXPECT_EQ(names[1].name, "p-b");
  EXPECT_EQ(names[1].node, b.node_id());

  auto counters = client.metrics_at(at);
  ASSERT_TRUE(counters) << counters.error().message();
  auto alive = std::find_if(counters->begin(), counters->end(),
                            [](const admin::counter& c) { return c.name == "actors_alive"; });
  ASSERT_NE(alive, counters->end());
  EXPECT_GE(alive->value, 2u) << "the node actor and p-a";

  // The client stays out of the membership on b as well.
  auto on_b = client.members_at(b.listen_addresses().at(0));
  ASSERT_TRUE(on_b) << on_b.error().message();
  EXPECT_EQ(on_b->size(), 2u);
}

TEST(Admin, AskingWithoutANetworkOrAnUnreachableNodeIsAnError) {
  actor_system none;
  auto r = none.members_at("tcp://127.0.0.1:1", 100ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);

  actor_system client{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(client.start_client<pinger>(node_cfg("tool")));
  auto t = client.registry_at("tcp://127.0.0.1:1", 300ms);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), errc::timeout) << t.error().message();
}

TEST(Admin, AClientWithAnotherSchemaIsRefused) {
  actor_system a{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(a.start_node<pinger>(node_cfg("a")));
  actor_system client{actor_system_config{.worker_threads = 1}};
  runtime::node_config cfg = node_cfg("tool");
  cfg.log = [](runtime::log_level, std::string_view) {};
  ASSERT_TRUE(client.start_client<>(cfg)) << "no exposed actor: a different schema hash";
  auto r = client.members_at(a.listen_addresses().at(0), 500ms);
  EXPECT_FALSE(r) << "the handshake refuses a client whose schema differs";
}

}  // namespace
}  // namespace herald
