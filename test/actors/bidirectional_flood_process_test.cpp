// Two processes, two cluster members, each flooding the other with tells
// and asks: neither reader pauses for backpressure, so neither side can wait
// on the other. Measured, not assumed: both sides handle messages in every
// one-second interval, and the cluster's heartbeats are not starved (no
// member is suspected or declared down). 6 s by default, 60 s under
// HERALD_CHAOS, 10 minutes under HERALD_SOAK.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
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

struct load {
  std::uint64_t n = 0;
  std::string pad;
};
struct echo {
  std::uint64_t n = 0;
};
struct seconds_request {
  std::uint8_t unused = 0;
};

// Counts what it handles per second since its first message.
class flood_peer : public actor<flood_peer> {
 public:
  using messages = herald::messages<load, echo, seconds_request>;
  void on(const load&) { count(); }
  std::uint64_t on(const echo& e) {
    count();
    return e.n;
  }
  std::vector<std::uint64_t> on(const seconds_request&) const { return per_second_; }

 private:
  void count() {
    const auto now = std::chrono::steady_clock::now();
    if (per_second_.empty()) first_ = now;
    const auto s = static_cast<std::size_t>((now - first_) / 1s);
    if (per_second_.size() <= s) per_second_.resize(s + 1, 0);
    ++per_second_[s];
  }
  std::chrono::steady_clock::time_point first_;
  std::vector<std::uint64_t> per_second_;
};

runtime::node_config cfg(const std::string& name) {
  auto c = test::loopback_node(name, "bidirectional-secret");
  c.backpressure_timeout = 20ms;
  return c;
}

struct flood_counts {
  std::uint64_t tells = 0, asks_answered = 0, refused = 0;
};

// Tells as fast as they go, with up to 32 asks in flight among them.
flood_counts flood(const actor_ref<flood_peer>& target, std::chrono::steady_clock::duration length) {
  flood_counts out;
  const std::string pad(200, 'p');
  std::deque<ask_future<std::uint64_t>> asks;
  const auto end = std::chrono::steady_clock::now() + length;
  for (std::uint64_t i = 0; std::chrono::steady_clock::now() < end; ++i) {
    if (target.tell(load{i, pad})) {
      ++out.tells;
    } else {
      ++out.refused;
    }
    if (i % 16 == 0 && asks.size() < 32) asks.push_back(target.ask(echo{i}, 30s));
    while (!asks.empty() && asks.front().wait_for(0ms)) {
      if (asks.front().get()) ++out.asks_answered;
      asks.pop_front();
    }
  }
  for (auto& a : asks) {
    if (a.get()) ++out.asks_answered;
  }
  return out;
}

registry::cluster_config cluster(std::vector<std::string> seeds) {
  registry::cluster_config cl;
  cl.seeds = std::move(seeds);
  return cl;
}

// Member events (suspect, down) a node recorded about anyone.
std::vector<std::string> alarms(actor_system& asker, const std::string& address) {
  std::vector<std::string> out;
  auto ev = asker.events_at(address, 0);
  if (!ev) return {"events_at " + address + ": " + ev.error().message()};
  for (const auto& e : ev->events) {
    if (e.kind == "member" && (e.event == "suspect" || e.event == "down")) out.push_back(e.event + " " + e.name);
  }
  return out;
}

class BidirectionalFloodChaos : public ::testing::Test {};

void flood_each_other(std::chrono::seconds length) {
  if (test::sanitized()) GTEST_SKIP() << "two processes at full speed: too slow to mean anything under a sanitizer";
  // The parent's node must exist before the child forks (the child joins
  // it), but threads do not survive fork: the child starts its own system
  // and dials the address it was given.
  int port_pipe[2];
  ASSERT_EQ(::pipe(port_pipe), 0);
  test::child_process child([&](const auto& say) {
    ::close(port_pipe[1]);
    char buf[256] = {};
    std::string seed;
    while (seed.find('\n') == std::string::npos) {
      const auto got = ::read(port_pipe[0], buf, sizeof buf);
      if (got <= 0) return false;
      seed.append(buf, static_cast<std::size_t>(got));
    }
    seed.pop_back();
    actor_system b{actor_system_config{.worker_threads = 1}};
    if (!b.start_node<flood_peer>(cfg("b"), cluster({seed})) || !b.spawn<flood_peer>(herald::name("peer-b"))) {
      return false;
    }
    auto target = b.remote_lookup<flood_peer>(seed, "peer-a", 10s);
    if (!target) return false;
    say(b.listen_addresses().at(0));
    flood(*target, length);
    for (;;) ::pause();
  });
  ::close(port_pipe[0]);
  actor_system a{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(a.start_node<flood_peer>(cfg("a"), cluster({})));
  auto mine = a.spawn<flood_peer>(herald::name("peer-a"));
  ASSERT_TRUE(mine);
  const std::string seed = a.listen_addresses().at(0) + "\n";
  ASSERT_EQ(::write(port_pipe[1], seed.data(), seed.size()), static_cast<ssize_t>(seed.size()));
  ::close(port_pipe[1]);
  ASSERT_TRUE(child.wait_for_line(20s)) << "the other process failed to start or to find peer-a";
  const std::string b_address = child.line();
  auto target = a.remote_lookup<flood_peer>(b_address, "peer-b", 10s);
  ASSERT_TRUE(target) << target.error().message();

  const auto sent = flood(*target, length);
  std::this_thread::sleep_for(1s);  // the other side's flood ends about now
  auto theirs = target->ask(seconds_request{}, 30s).get();
  ASSERT_TRUE(theirs) << theirs.error().message();
  auto ours = mine->ask(seconds_request{}, 30s).get();
  ASSERT_TRUE(ours) << ours.error().message();
  auto line = [](const std::vector<std::uint64_t>& v) {
    std::string s;
    for (auto x : v) s += " " + std::to_string(x);
    return s;
  };
  std::printf("[ figures  ] a sent %llu tells (%llu refused), %llu asks answered; handled per second at a:%s; at b:%s\n",
              static_cast<unsigned long long>(sent.tells), static_cast<unsigned long long>(sent.refused),
              static_cast<unsigned long long>(sent.asks_answered), line(*ours).c_str(), line(*theirs).c_str());
  const auto whole_seconds = static_cast<std::size_t>(length / 1s) - 1;
  for (const auto* side : {&*ours, &*theirs}) {
    ASSERT_GE(side->size(), whole_seconds) << "a side stopped handling before the flood ended";
    for (std::size_t s = 0; s < whole_seconds; ++s) EXPECT_GT((*side)[s], 0u) << "nothing handled in second " << s;
  }
  EXPECT_GT(sent.asks_answered, 0u);
  // A node does not dial itself: a client asks both.
  actor_system probe{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(probe.start_client<flood_peer>(cfg("probe")));
  const auto here = alarms(probe, a.listen_addresses().at(0));
  const auto there = alarms(probe, b_address);
  EXPECT_TRUE(here.empty()) << "a saw: " << (here.empty() ? "" : here.front());
  EXPECT_TRUE(there.empty()) << "b saw: " << (there.empty() ? "" : there.front());
  EXPECT_EQ(a.metrics().members_lost, 0u);
}

TEST_F(BidirectionalFloodChaos, TwoProcessesFloodingEachOtherBothDeliverEverySecondAndStayUp) {
  flood_each_other(test::chaos_enabled() ? 60s : 6s);
}

// 10 minutes: ctest -L soak.
TEST(BidirectionalFloodSoak, TenMinutes) {
  HERALD_SOAK_ONLY();
  flood_each_other(600s);
}

}  // namespace
}  // namespace herald
