#include "herald/actors/admin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "herald/actors/detail/event_log.hpp"
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

struct other_msg {
  static constexpr std::string_view wire_name = "test.admin.other";
  std::uint8_t unused = 0;
};

class other : public actor<other> {
 public:
  using messages = herald::messages<other_msg>;
  void on(const other_msg&) {}
};

TEST(Admin, AClientWithAnotherSchemaIsRefused) {
  actor_system a{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(a.start_node<pinger>(node_cfg("a")));
  actor_system client{actor_system_config{.worker_threads = 1}};
  runtime::node_config cfg = node_cfg("tool");
  cfg.log = [](runtime::log_level, std::string_view) {};
  ASSERT_TRUE(client.start_client<other>(cfg)) << "another actor type: a different schema hash";
  auto r = client.members_at(a.listen_addresses().at(0), 500ms);
  EXPECT_FALSE(r) << "the handshake refuses a client whose schema differs";
  EXPECT_GE(a.metrics().rejected_schema_mismatch, 1u);
}

TEST(Admin, AnAdminClientReachesANodeOfAnySchema) {
  actor_system a{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(a.start_node<pinger>(node_cfg("a")));
  ASSERT_TRUE(a.spawn<pinger>(herald::name("p-a")));
  {
    actor_system client{actor_system_config{.worker_threads = 1}};
    runtime::node_config cfg = node_cfg("tool");
    cfg.admin_client = true;  // announces the admin schema hash, accepts any
    ASSERT_TRUE(client.start_client<>(cfg));
    const auto at = a.listen_addresses().at(0);
    auto m = client.members_at(at, 5s);
    ASSERT_TRUE(m) << "an admin client is admitted by a node of the pinger schema: " << m.error().message();
    EXPECT_EQ(m->size(), 1u);
    auto types = client.actor_types_at(at, 5s);
    ASSERT_TRUE(types) << types.error().message();
    auto it = std::find_if(types->types.begin(), types->types.end(),
                           [](const admin::actor_type& t) { return t.name.find("pinger") != std::string::npos; });
    ASSERT_NE(it, types->types.end()) << "per actor type, by the C++ name";
    EXPECT_EQ(it->alive, 1u);
    auto ev = client.events_at(at, 0, 5s);
    ASSERT_TRUE(ev) << ev.error().message();
    auto reg = std::find_if(ev->events.begin(), ev->events.end(),
                            [](const admin::event& e) { return e.kind == "registry" && e.name == "p-a"; });
    ASSERT_NE(reg, ev->events.end()) << "the registration of p-a is in the event log";
    EXPECT_EQ(reg->event, "added");
    auto later = client.events_at(at, ev->last, 5s);
    ASSERT_TRUE(later);
    EXPECT_TRUE(later->events.empty()) << "nothing new after `last`";
  }
  EXPECT_EQ(a.metrics().rejected_schema_mismatch, 0u);
}

TEST(Admin, TheEventLogKeepsTheNewestAndCountsWhatItDropped) {
  detail::event_log log(4);
  for (int i = 0; i < 10; ++i) log.add(detail::event_row{0, 0, "registry", "added", "n" + std::to_string(i)});
  auto all = log.since(0);
  ASSERT_EQ(all.events.size(), 4u) << "bounded by its capacity";
  EXPECT_EQ(all.events.front().seq, 7u);
  EXPECT_EQ(all.last, 10u);
  EXPECT_EQ(all.dropped, 6u) << "the events 1..6 are gone";
  auto tail = log.since(8);
  ASSERT_EQ(tail.events.size(), 2u);
  EXPECT_EQ(tail.dropped, 0u);
  EXPECT_EQ(log.since(10).events.size(), 0u);
}

}  // namespace
}  // namespace herald
