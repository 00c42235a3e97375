#include "herald/runtime/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "herald/runtime/timer_queue.hpp"

namespace herald::runtime {
namespace {

using namespace std::chrono_literals;

class counting : public schedulable {
 public:
  void run(std::size_t budget) noexcept override {
    last_budget = budget;
    runs.fetch_add(1);
    on_worker = owner->on_worker_thread();
  }
  void retain() noexcept override { refs.fetch_add(1); }
  void release() noexcept override { refs.fetch_sub(1); }

  scheduler* owner = nullptr;
  std::atomic<int> runs{0};
  std::atomic<int> refs{0};
  std::atomic<std::size_t> last_budget{0};
  std::atomic<bool> on_worker{false};
};

TEST(Scheduler, RunsScheduledWorkOnAWorkerWithTheBudget) {
  scheduler s(2, 17);
  counting c;
  c.owner = &s;
  s.schedule(&c);
  for (int i = 0; i < 5000 && c.runs.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(c.runs.load(), 1);
  EXPECT_EQ(c.last_budget.load(), 17u);
  EXPECT_TRUE(c.on_worker.load());
  EXPECT_FALSE(s.on_worker_thread()) << "the test's thread is not a worker";
  s.stop();
  EXPECT_EQ(c.refs.load(), 0) << "every retain while queued is released after the run";
}

TEST(Scheduler, WorkScheduledAfterStopRunsOnTheCallersThread) {
  scheduler s(1, 8);
  s.stop();
  counting c;
  c.owner = &s;
  s.schedule(&c);
  EXPECT_EQ(c.runs.load(), 1);
  EXPECT_FALSE(c.on_worker.load());
}

// An actor with more mail than one budget schedules itself again from run().
class rescheduling : public schedulable {
 public:
  void run(std::size_t) noexcept override {
    max_depth = std::max(max_depth, ++depth);
    if (++runs < target) owner->schedule(this);
    --depth;
  }
  void retain() noexcept override { ++refs; }
  void release() noexcept override { --refs; }

  scheduler* owner = nullptr;
  int target = 0;
  int runs = 0;
  int depth = 0;
  int max_depth = 0;
  int refs = 0;
};

TEST(Scheduler, WorkThatReschedulesItselfAfterStopRunsInALoopNotNested) {
  scheduler s(1, 8);
  s.stop();
  rescheduling r;
  r.owner = &s;
  r.target = 1000;
  s.schedule(&r);
  EXPECT_EQ(r.runs, 1000) << "every rescheduled run happens before schedule() returns";
  EXPECT_EQ(r.max_depth, 1) << "runs after stop do not nest (a large mailbox overflowed the stack)";
  EXPECT_EQ(r.refs, 0);
}

TEST(Scheduler, StopReturnsPromptlyWhenIdle) {
  auto start = std::chrono::steady_clock::now();
  {
    scheduler s(4, 8);
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 80ms) << "sleeping workers are woken by stop, not a poll";
}

TEST(Scheduler, StopJoinsEveryWorkerEvenWhenWorkIsStillQueued) {
  for (int round = 0; round < 200; ++round) {
    scheduler s(3, 1);
    counting items[8];
    for (auto& c : items) {
      c.owner = &s;
      s.schedule(&c);
    }
    s.stop();  // must return: a worker that took two wake-ups once left another asleep
    for (auto& c : items) EXPECT_EQ(c.runs.load(), 1) << "queued work runs exactly once, on a worker or in stop()";
  }
}

TEST(TimerQueue, RunsCallbacksInDeadlineOrder) {
  timer_queue t;
  std::atomic<int> order{0};
  std::atomic<int> first{-1}, second{-1};
  t.after(40ms, [&] { second = order.fetch_add(1); });
  t.after(10ms, [&] { first = order.fetch_add(1); });
  for (int i = 0; i < 5000 && order.load() < 2; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(first.load(), 0);
  EXPECT_EQ(second.load(), 1);
}

TEST(TimerQueue, StopRunsWhatIsStillPendingSoNothingWaitsForever) {
  std::atomic<int> ran{0};
  {
    timer_queue t;
    t.after(1h, [&] { ran.fetch_add(1); });
    t.stop();
  }
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace herald::runtime
