#include "herald/actors/quorum.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/loopback_node.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

enum class behaviour : std::uint8_t { answer, slow, fail };

struct write_req {
  std::uint64_t key = 0;
};

// Answers with its own id, after `delay` when slow; throws when failing.
class replica : public actor<replica> {
 public:
  using messages = herald::messages<write_req>;
  replica(std::uint64_t id, behaviour b, std::chrono::milliseconds delay) : id_(id), b_(b), delay_(delay) {}
  std::uint64_t on(const write_req&) {
    if (b_ == behaviour::fail) throw std::runtime_error("replica " + std::to_string(id_) + " fails on purpose");
    if (b_ == behaviour::slow) std::this_thread::sleep_for(delay_);
    return id_;
  }

 private:
  std::uint64_t id_;
  behaviour b_;
  std::chrono::milliseconds delay_;
};

std::vector<std::size_t> sources(const quorum_result<std::uint64_t>& r) {
  std::vector<std::size_t> out;
  for (const auto& v : r.votes) out.push_back(v.from);
  std::sort(out.begin(), out.end());
  return out;
}

using clock_type = std::chrono::steady_clock;

TEST(Quorum, DecidesAtTheKthSuccessWithoutWaitingForASlowOneAndCountsItsLateReply) {
  actor_system sys{actor_system_config{.worker_threads = 4}};
  const supervision stop{.action = on_failure::stop};
  std::vector<actor_ref<replica>> refs;
  refs.push_back(sys.spawn<replica>({}, 0, behaviour::answer, 0ms).value());
  refs.push_back(sys.spawn<replica>({}, 1, behaviour::slow, 600ms).value());
  refs.push_back(sys.spawn<replica>(spawn_options{.policy = stop}, 2, behaviour::fail, 0ms).value());
  refs.push_back(sys.spawn<replica>({}, 3, behaviour::answer, 0ms).value());
  auto stopped = sys.spawn<replica>({}, 4, behaviour::answer, 0ms).value();
  sys.stop(stopped);
  ASSERT_TRUE(test::eventually([&] { return stopped.stopped(); }));
  refs.push_back(stopped);

  const auto began = clock_type::now();
  auto r = quorum(refs, write_req{7}).need(2).within(5s).get();
  const auto took = clock_type::now() - began;
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(sources(*r), (std::vector<std::size_t>{0, 3}));
  for (const auto& v : r->votes) EXPECT_EQ(v.value, v.from) << "each vote carries its replica's reply";
  EXPECT_LE(r->failed, 2u);
  EXPECT_LT(took, 500ms) << "it did not wait for the slow replica";
  ASSERT_TRUE(test::eventually([&] { return sys.metrics().quorum_late_replies == 1; }, 5s))
      << "the slow replica's reply came after the decision: dropped and counted, "
      << sys.metrics().quorum_late_replies;
}

TEST(Quorum, FailsAsSoonAsSuccessIsOutOfReachWithHowManyFailedAndWhy) {
  actor_system sys{actor_system_config{.worker_threads = 4}};
  const supervision stop{.action = on_failure::stop};
  std::vector<actor_ref<replica>> refs;
  refs.push_back(sys.spawn<replica>({}, 0, behaviour::slow, 2000ms).value());
  refs.push_back(sys.spawn<replica>(spawn_options{.policy = stop}, 1, behaviour::fail, 0ms).value());
  refs.push_back(sys.spawn<replica>(spawn_options{.policy = stop}, 2, behaviour::fail, 0ms).value());
  refs.push_back(sys.spawn<replica>({}, 3, behaviour::slow, 2000ms).value());
  refs.push_back(actor_ref<replica>{});  // an empty ref fails at once
  const auto began = clock_type::now();
  auto r = quorum(refs, write_req{1}).need(3).within(10s).get();
  const auto took = clock_type::now() - began;
  ASSERT_FALSE(r) << "3 of 5 with 3 failures is out of reach";
  EXPECT_LT(took, 1500ms) << "it failed without waiting for the slow ones or the deadline";
  EXPECT_NE(r.error().message().find("3 failed"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("fails on purpose"), std::string::npos) << r.error().message();
}

TEST(Quorum, ADeadlineEndsAsksThatNeverAnswer) {
  actor_system sys{actor_system_config{.worker_threads = 4}};
  std::vector<actor_ref<replica>> refs;
  refs.push_back(sys.spawn<replica>({}, 0, behaviour::answer, 0ms).value());
  refs.push_back(sys.spawn<replica>({}, 1, behaviour::slow, 1500ms).value());
  refs.push_back(sys.spawn<replica>({}, 2, behaviour::slow, 1500ms).value());
  auto r = quorum(refs, write_req{1}).need(2).within(100ms).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::timeout) << r.error().message();
}

TEST(Quorum, FirstOfAndAllOf) {
  actor_system sys{actor_system_config{.worker_threads = 4}};
  const supervision stop{.action = on_failure::stop};
  std::vector<actor_ref<replica>> refs;
  refs.push_back(sys.spawn<replica>({}, 0, behaviour::slow, 300ms).value());
  refs.push_back(sys.spawn<replica>({}, 1, behaviour::answer, 0ms).value());
  auto first = first_of(refs, write_req{}).within(5s).get();
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_EQ(first->votes.size(), 1u);
  EXPECT_EQ(first->votes[0].from, 1u);
  auto all = all_of(refs, write_req{}).within(5s).get();
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(sources(*all), (std::vector<std::size_t>{0, 1}));
  refs.push_back(sys.spawn<replica>(spawn_options{.policy = stop}, 2, behaviour::fail, 0ms).value());
  auto broken = all_of(refs, write_req{}).within(5s).get();
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), errc::handler_failed);
}

TEST(Quorum, ANeedOfZeroOrMoreThanTheRefsIsRefused) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  std::vector<actor_ref<replica>> refs{sys.spawn<replica>({}, 0, behaviour::answer, 0ms).value()};
  EXPECT_EQ(quorum(refs, write_req{}).need(0).get().error().code(), errc::invalid_argument);
  EXPECT_EQ(quorum(refs, write_req{}).need(2).get().error().code(), errc::invalid_argument);
  EXPECT_EQ(quorum(std::vector<actor_ref<replica>>{}, write_req{}).get().error().code(), errc::invalid_argument);
}

// A coordinator decides inside its handler without blocking its worker: one
// worker runs it and the replicas.
struct decide {
  std::vector<actor_ref<replica>> replicas;
};
class coordinator : public actor<coordinator> {
 public:
  task<std::size_t> on(const decide& d) {
    auto r = co_await quorum(d.replicas, write_req{3}).need(2).within(5s);
    co_return r ? r->votes.size() : 0;
  }
};

TEST(Quorum, IsAwaitableInACoroutineHandler) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  std::vector<actor_ref<replica>> refs;
  for (std::uint64_t i = 0; i < 3; ++i) refs.push_back(sys.spawn<replica>({}, i, behaviour::answer, 0ms).value());
  auto c = sys.spawn<coordinator>().value();
  auto n = c.ask(decide{refs}, 10s).get();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 2u);
}

// Across nodes: replicas on two other nodes, one of which is shut down, and
// a slow one. The quorum decides, the slow reply is counted late, and the
// asking node's table of pending asks is empty once it came.
runtime::node_config node_cfg(const std::string& name) { return test::loopback_node(name, "quorum-secret"); }

TEST(Quorum, AcrossNodesWithAStoppedNodeAndASlowOneLeavesNoPendingAsk) {
  actor_system a{actor_system_config{.worker_threads = 2}};
  auto b = std::make_unique<actor_system>(actor_system_config{.worker_threads = 2});
  auto c = std::make_unique<actor_system>(actor_system_config{.worker_threads = 2});
  ASSERT_TRUE(a.start_node<replica>(node_cfg("a")));
  ASSERT_TRUE(b->start_node<replica>(node_cfg("b")));
  ASSERT_TRUE(c->start_node<replica>(node_cfg("c")));
  ASSERT_TRUE(b->spawn<replica>(herald::name("fast"), 10, behaviour::answer, 0ms));
  ASSERT_TRUE(b->spawn<replica>(herald::name("slow"), 11, behaviour::slow, 500ms));
  ASSERT_TRUE(c->spawn<replica>(herald::name("doomed"), 20, behaviour::answer, 0ms));
  std::vector<actor_ref<replica>> refs;
  for (auto [sys, name] : {std::pair{b.get(), "fast"}, std::pair{b.get(), "slow"}, std::pair{c.get(), "doomed"}}) {
    auto r = a.remote_lookup<replica>(sys->listen_addresses().at(0), name);
    ASSERT_TRUE(r) << r.error().message();
    refs.push_back(*r);
  }
  refs.push_back(a.spawn<replica>({}, 1, behaviour::answer, 0ms).value());
  c.reset();  // node c is gone: its replica's ask fails with node_down
  auto r = quorum(refs, write_req{}).need(2).within(5s).get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(sources(*r), (std::vector<std::size_t>{0, 3}));
  ASSERT_TRUE(test::eventually([&] { return a.metrics().quorum_late_replies == 1; }, 5s));
  EXPECT_TRUE(test::eventually([&] { return a.metrics().asks_in_flight == 0; }, 5s))
      << a.metrics().asks_in_flight << " asks still pending";
  // Early failure across nodes: 2 of 3 with the fast one asked twice over a
  // node that is gone.
  auto lost = quorum(std::vector<actor_ref<replica>>{refs[2], refs[2], refs[0]}, write_req{}).need(2).within(5s).get();
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code(), errc::node_down) << lost.error().message();
}

}  // namespace
}  // namespace herald
