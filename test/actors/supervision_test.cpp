#include "herald/actors/messages.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct fail {};
struct incr {};
struct read {};

std::atomic<int> constructed{0};

class fragile : public actor<fragile> {
 public:
  fragile() { constructed.fetch_add(1); }
  void on(const fail&) { throw std::runtime_error("fragile failed"); }
  void on(const incr&) { ++n_; }
  int on(const read&) const { return n_; }

 private:
  int n_ = 0;
};

struct watch {
  actor_ref<fragile> target;
};
struct downs_query {};

class observer : public actor<observer> {
 public:
  void on(const watch& w) { monitor(w.target); }
  void on(const down& d) { downs_.push_back(d); }
  std::vector<down> on(const downs_query&) const { return downs_; }

 private:
  std::vector<down> downs_;
};

using herald::test::eventually;

TEST(Supervision, RestartGivesTheActorFreshStateAndKeepsItsMailbox) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto f = sys.spawn<fragile>().value();
  (void)f.tell(incr{});
  (void)f.tell(incr{});
  (void)f.tell(fail{});
  (void)f.tell(incr{});
  EXPECT_EQ(f.ask(read{}).get().value(), 1) << "state before the failure is gone; mail after it is handled";
  EXPECT_EQ(sys.metrics().restarts, 1u);
  EXPECT_EQ(sys.metrics().handler_failures, 1u);
}

TEST(Supervision, AnAskWhoseHandlerThrowsFailsWithHandlerFailed) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto f = sys.spawn<fragile>().value();
  auto r = f.ask(fail{}).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::handler_failed);
  EXPECT_EQ(r.error().context(), "fragile failed") << "the exception's text travels with the error";
}

TEST(Supervision, StopPolicyStopsTheActorAndTellsItsMonitors) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto f = sys.spawn<fragile>(spawn_options{"", supervision{.action = on_failure::stop}}).value();
  auto o = sys.spawn<observer>().value();
  ASSERT_TRUE(o.ask(watch{f}).get());
  (void)f.tell(fail{});
  ASSERT_TRUE(eventually([&] { return o.ask(downs_query{}).get().value().size() == 1; }));
  auto downs = o.ask(downs_query{}).get().value();
  EXPECT_EQ(downs[0].who, f.id());
  EXPECT_EQ(downs[0].reason.code(), errc::handler_failed);
  EXPECT_EQ(f.ask(read{}).get().error().code(), errc::actor_stopped);
}

TEST(Supervision, ARestartLimitStopsACrashLoop) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto f = sys.spawn<fragile>(spawn_options{"", supervision{.max_restarts = 3, .within = 10s}}).value();
  auto o = sys.spawn<observer>().value();
  ASSERT_TRUE(o.ask(watch{f}).get());
  for (int i = 0; i < 10; ++i) (void)f.tell(fail{});
  ASSERT_TRUE(eventually([&] { return o.ask(downs_query{}).get().value().size() == 1; }));
  EXPECT_EQ(o.ask(downs_query{}).get().value()[0].reason.code(), errc::restart_limit);
  EXPECT_EQ(sys.metrics().restarts, 3u) << "three restarts, then the fourth failure stops it";
  EXPECT_EQ(sys.metrics().handler_failures, 4u);
}

TEST(Supervision, MonitoringAStoppedActorDeliversDownAtOnce) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto f = sys.spawn<fragile>().value();
  sys.stop(f);
  EXPECT_EQ(f.ask(read{}).get().error().code(), errc::actor_stopped);
  auto o = sys.spawn<observer>().value();
  ASSERT_TRUE(o.ask(watch{f}).get());
  ASSERT_TRUE(eventually([&] { return o.ask(downs_query{}).get().value().size() == 1; }));
  EXPECT_EQ(o.ask(downs_query{}).get().value()[0].reason.code(), errc::actor_stopped);
}

// A parent that spawns a child with the escalate policy.
struct spawn_child {};
struct child_ref_query {};
struct parent_state {};

class parent : public actor<parent> {
 public:
  void on(const spawn_child&) {
    child_ = system().spawn<fragile>(spawn_options{"", supervision{.action = on_failure::escalate}}).value();
  }
  actor_ref<fragile> on(const child_ref_query&) const { return child_; }
  int on(const parent_state&) const { return generation_marker_; }
  void on_start() { generation_marker_ = 7; }

 private:
  actor_ref<fragile> child_;
  int generation_marker_ = 0;
};

TEST(Supervision, EscalateStopsTheChildAndAppliesTheParentsPolicy) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto p = sys.spawn<parent>(spawn_options{"", supervision{.action = on_failure::stop}}).value();
  ASSERT_TRUE(p.ask(spawn_child{}).get());
  auto child = p.ask(child_ref_query{}).get().value();
  ASSERT_TRUE(child);
  (void)child.tell(fail{});
  ASSERT_TRUE(eventually([&] { return child.stopped() && p.stopped(); }))
      << "the child stopped, escalated, and the parent's stop policy stopped the parent";
  EXPECT_EQ(sys.metrics().handler_failures, 2u) << "the child's failure and the parent's";
}

TEST(Supervision, ATopLevelEscalationReachesTheSystemHandler) {
  std::atomic<int> escalations{0};
  actor_system_config cfg{.worker_threads = 1};
  cfg.on_escalation = [&](const escalation& e) {
    if (e.reason.code() == errc::handler_failed) escalations.fetch_add(1);
  };
  actor_system sys{cfg};
  auto f = sys.spawn<fragile>(spawn_options{"", supervision{.action = on_failure::escalate}}).value();
  (void)f.tell(fail{});
  ASSERT_TRUE(eventually([&] { return escalations.load() == 1; }));
  EXPECT_TRUE(f.stopped());
}

}  // namespace
}  // namespace herald
