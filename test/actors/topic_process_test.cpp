// Pub/sub when a node dies for real: a child process hosts a subscriber and
// is SIGKILLed while a publisher in this process sends 1000 messages to the
// topic. The subscribers of the two surviving nodes (in this process) get
// every message once, in order; the dead node's subscription leaves the
// topic on both once the failure detector has declared it down; the sends
// that met the dead node are refused or lost, never duplicated.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/child_process.hpp"
#include "support/loopback_node.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using test::eventually;

struct quote {
  std::uint32_t seq = 0;
};

struct inbox {
  std::mutex m;
  std::vector<std::uint32_t> got;
};

class listener : public actor<listener> {
 public:
  using messages = herald::messages<quote>;
  explicit listener(inbox* in) : in_(in) {}
  void on(const quote& q) {
    if (in_ == nullptr) return;  // the child's: nobody reads it
    std::lock_guard lock(in_->m);
    in_->got.push_back(q.seq);
  }

 private:
  inbox* in_;
};

registry::cluster_config fast_detection() {
  registry::cluster_config cl;
  cl.gossip_interval = 50ms;
  cl.heartbeat_interval = 50ms;
  cl.probe_timeout = 200ms;
  cl.suspicion_timeout = 1000ms;
  return cl;
}

TEST(TopicProcess, AKilledNodesSubscriberLeavesTheTopicAndTheOthersMissNothing) {
  const topic<quote> quotes("quotes");
  // Forked before this process starts any thread of its own.
  test::child_process child([&](const std::function<void(const std::string&)>& say) {
    auto* sys = new actor_system(actor_system_config{.worker_threads = 1});  // lives until the SIGKILL
    if (!sys->start_node<listener>(test::loopback_node("child", "topic-process-secret"), fast_detection())) return false;
    auto s = sys->spawn<listener>({}, static_cast<inbox*>(nullptr));
    if (!s || !sys->subscribe(quotes, *s)) return false;
    say(sys->listen_addresses().at(0));
    return true;
  });
  ASSERT_TRUE(child.wait_for_line(20s)) << "the child node started";

  std::vector<std::unique_ptr<actor_system>> nodes;
  inbox in[2];
  std::vector<actor_ref<listener>> subs;
  for (int i = 0; i < 2; ++i) {
    auto cl = fast_detection();
    cl.seeds = {child.line()};
    nodes.push_back(std::make_unique<actor_system>(actor_system_config{.worker_threads = 2}));
    auto ok = nodes.back()->start_node<listener>(test::loopback_node("n" + std::to_string(i), "topic-process-secret"), cl);
    ASSERT_TRUE(ok) << ok.error().message();
    subs.push_back(nodes.back()->spawn<listener>({}, &in[i]).value());
    ASSERT_TRUE(nodes.back()->subscribe(quotes, subs.back()));
  }
  actor_system& pub = *nodes[0];
  for (auto& n : nodes) {
    ASSERT_TRUE(eventually([&] { return n->subscribers(quotes).value().size() == 3; }, 20s))
        << "every node sees the three subscriptions";
  }
  // The link to n1 is up before publishing (the registry can name a
  // subscriber through the seed before the direct link exists).
  result<actor_ref<listener>> probe = error(errc::node_down);
  ASSERT_TRUE(eventually([&] {
    probe = pub.remote_lookup<listener>(nodes[1]->listen_addresses().at(0), "none", 2s);
    return !probe && probe.error().code() == errc::not_found;
  })) << probe.error().message();
  const std::uint64_t dead = [&] {
    const auto subs = pub.subscribers(quotes).value();
    for (const auto& s : subs) {
      if (s.node != pub.node_id() && s.node != nodes[1]->node_id()) return s.node;
    }
    return std::uint64_t{0};
  }();
  ASSERT_NE(dead, 0u);

  constexpr std::uint32_t total = 1000;
  std::uint64_t refused = 0;
  for (std::uint32_t seq = 0; seq < total; ++seq) {
    if (seq == 500) {
      ASSERT_EQ(::kill(child.pid(), SIGKILL), 0);
    }
    // The last hundred go out once the dead node has left the topic here.
    if (seq == 900) {
      ASSERT_TRUE(eventually([&] {
        auto s = pub.subscribers(quotes).value();
        return std::none_of(s.begin(), s.end(), [&](const topic_subscriber& x) { return x.node == dead; });
      }, 30s)) << "the killed node's subscription leaves the topic once it is declared down";
    }
    auto r = pub.publish(quotes, quote{seq});
    ASSERT_TRUE(r) << r.error().message();
    refused += r->refused;
    if (seq >= 900) {
      EXPECT_EQ(r->subscribers, 2u) << [&] {
        std::string out = "dead " + std::to_string(dead) + ":";
        const auto now = pub.subscribers(quotes).value();
        for (const auto& x : now) out += " " + std::to_string(x.node) + "/" + std::to_string(x.actor);
        return out;
      }();
      EXPECT_EQ(r->refused, 0u);
    }
    if (seq % 32 == 0) std::this_thread::sleep_for(1ms);
  }
  std::vector<std::uint32_t> want(total);
  for (std::uint32_t i = 0; i < total; ++i) want[i] = i;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(eventually([&] {
      std::lock_guard lock(in[i].m);
      return in[i].got.size() >= total;
    }, 20s)) << "subscriber " << i;
    std::lock_guard lock(in[i].m);
    EXPECT_EQ(in[i].got, want) << "subscriber on n" << i << ": every message once, in publish order";
  }
  EXPECT_TRUE(eventually([&] {
    auto s = nodes[1]->subscribers(quotes).value();
    return s.size() == 2;
  }, 30s)) << "n1 drops the dead node's subscription too";
  EXPECT_EQ(pub.metrics().topic_deliveries_refused, refused);
}

}  // namespace
}  // namespace herald
