#include "herald/registry/sim_network.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::registry {
namespace {

using namespace std::chrono_literals;

struct probe {
  std::vector<std::string> got;
  std::vector<std::string> lost;
  int ticks = 0;
  sim_network::endpoint_hooks hooks() {
    return {[this](std::span<const std::byte> b) { got.emplace_back(reinterpret_cast<const char*>(b.data()), b.size()); },
            [this](std::string_view from) { lost.emplace_back(from); }, [this] { ++ticks; }};
  }
};

void say(control_transport& t, const std::string& to, const std::string& text) {
  t.send(to, std::as_bytes(std::span(text.data(), text.size())));
}

TEST(SimNetwork, DeliversInOrderAfterTheLatencyAndTicksEveryInterval) {
  sim_network net(1, 5ms, 50ms);
  probe a, b;
  control_transport& ta = net.add("a", a.hooks());
  net.add("b", b.hooks());
  say(ta, "b", "one");
  say(ta, "b", "two");
  net.run_for(4ms);
  EXPECT_TRUE(b.got.empty()) << "nothing arrives before the latency";
  net.run_for(1ms);
  EXPECT_EQ(b.got, (std::vector<std::string>{"one", "two"}));
  net.run_for(1000ms);
  EXPECT_GE(b.ticks, 19);
  EXPECT_LE(b.ticks, 21);
}

TEST(SimNetwork, PartitionsDropAndPausesDeferDelivery) {
  sim_network net;
  probe a, b;
  control_transport& ta = net.add("a", a.hooks());
  net.add("b", b.hooks());
  net.partition({{"a"}, {"b"}});
  say(ta, "b", "lost");
  net.heal();
  net.pause("b");
  const int ticks = b.ticks;
  say(ta, "b", "late");
  net.run_for(100ms);
  EXPECT_TRUE(b.got.empty());
  EXPECT_EQ(b.ticks, ticks) << "no ticks while paused";
  net.resume("b");
  net.run_for(1ms);
  EXPECT_EQ(b.got, std::vector<std::string>{"late"}) << "a paused endpoint gets its backlog on resume";
  EXPECT_EQ(net.counters().dropped, 1u);
}

TEST(SimNetwork, AKillResetsTheOthersConnectionsUnlessSilent) {
  sim_network net;
  probe a, b, c;
  net.add("a", a.hooks());
  net.add("b", b.hooks());
  net.add("c", c.hooks());
  net.kill("a");
  net.kill("b", /*reset_connections=*/false);
  net.run_for(10ms);
  EXPECT_EQ(c.lost, std::vector<std::string>{"a"});
  EXPECT_TRUE(b.lost.empty()) << "a dead endpoint hears nothing";
}

}  // namespace
}  // namespace herald::registry
