#include "herald/runtime/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "herald/runtime/timer_queue.hpp"
#include "support/test_support.hpp"

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

// Records the order and the threads its objects run on.
class recording : public schedulable {
 public:
  void run(std::size_t) noexcept override {
    thread = std::this_thread::get_id();
    order = next->fetch_add(1);
    if (wakes != nullptr) owner->schedule(wakes);
    if (wait_for != nullptr) {
      auto deadline = std::chrono::steady_clock::now() + 5s;
      while (wait_for->runs_done.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    }
    runs_done.fetch_add(1);
  }
  void retain() noexcept override { refs.fetch_add(1); }
  void release() noexcept override { refs.fetch_sub(1); }

  scheduler* owner = nullptr;
  std::atomic<int>* next = nullptr;
  recording* wakes = nullptr;     // scheduled from run()
  recording* wait_for = nullptr;  // run() blocks until it has run (5 s at most)
  std::atomic<int> order{-1};
  std::atomic<int> runs_done{0};
  std::atomic<int> refs{0};
  std::thread::id thread;
};

void wait_until_ran(recording& r) {
  for (int i = 0; i < 5000 && r.runs_done.load() == 0; ++i) std::this_thread::sleep_for(1ms);
}

// What a worker schedules goes into its hand-off slot and runs there next,
// before work queued earlier from outside.
TEST(Scheduler, WhatAnActivationWakesRunsNextOnTheSameWorker) {
  scheduler s(1, 8);
  std::atomic<int> next{0};
  recording gate, a, b, outside;
  for (auto* r : {&gate, &a, &b, &outside}) {
    r->owner = &s;
    r->next = &next;
  }
  // gate holds the only worker until a and outside are both queued.
  std::atomic<bool> go{false};
  class blocker : public schedulable {
   public:
    std::atomic<bool>* go;
    std::atomic<bool> ran{false};
    void run(std::size_t) noexcept override {
      while (!go->load()) std::this_thread::yield();
      ran = true;
    }
    void retain() noexcept override {}
    void release() noexcept override {}
  } hold;
  hold.go = &go;
  s.schedule(&hold);
  a.wakes = &b;
  s.schedule(&a);
  s.schedule(&outside);
  go = true;
  wait_until_ran(b);
  wait_until_ran(outside);
  EXPECT_EQ(a.order.load(), 0);
  EXPECT_EQ(b.order.load(), 1) << "the woken object runs right after its waker, ahead of older outside work";
  EXPECT_EQ(outside.order.load(), 2);
  EXPECT_EQ(a.thread, b.thread);
  s.stop();
  for (auto* r : {&a, &b, &outside}) EXPECT_EQ(r->refs.load(), 0);
}

// An activation that blocks until the object it woke has run: that object
// waits in the blocked worker's slot and must be stolen by another worker.
TEST(Scheduler, AnObjectLeftInTheSlotOfABlockedWorkerIsStolen) {
  for (int round = 0; round < 20; ++round) {
    scheduler s(2, 8);
    std::atomic<int> next{0};
    recording a, b;
    for (auto* r : {&a, &b}) {
      r->owner = &s;
      r->next = &next;
    }
    a.wakes = &b;
    a.wait_for = &b;
    s.schedule(&a);
    wait_until_ran(a);
    ASSERT_EQ(b.runs_done.load(), 1) << "round " << round << ": b ran while a's worker was blocked";
    EXPECT_NE(a.thread, b.thread);
    s.stop();
    EXPECT_GE(s.snapshot().steals, 1u);
  }
}

// Many objects waking each other from every worker and from outside: each
// scheduled run happens exactly once, through slots, queues, steals and the
// injection queue, and stop() leaves nothing behind.
class chain : public schedulable {
 public:
  void run(std::size_t) noexcept override {
    runs.fetch_add(1, std::memory_order_relaxed);
    int left = hops.fetch_sub(1);
    if (left > 0) owner->schedule(peers[static_cast<std::size_t>(left) % peers.size()]);
  }
  void retain() noexcept override { refs.fetch_add(1); }
  void release() noexcept override { refs.fetch_sub(1); }
  scheduler* owner = nullptr;
  std::vector<schedulable*> peers;
  std::atomic<int>& hops;
  std::atomic<int> runs{0};
  std::atomic<int> refs{0};
  explicit chain(std::atomic<int>& h) : hops(h) {}
};

TEST(Scheduler, EveryScheduledRunHappensOnceUnderContention) {
  // The objects here may be scheduled while queued (unlike actors): the
  // scheduler itself does not care, it runs each scheduling once.
  const int per_thread = static_cast<int>(test::scaled(20000));
  scheduler s(3, 8);
  std::atomic<int> hops{2 * per_thread};
  std::vector<std::unique_ptr<chain>> objects;
  for (int i = 0; i < 64; ++i) objects.push_back(std::make_unique<chain>(hops));
  std::vector<schedulable*> all;
  for (auto& o : objects) all.push_back(o.get());
  for (auto& o : objects) {
    o->owner = &s;
    o->peers = all;
  }
  std::vector<std::thread> outside;
  for (int t = 0; t < 2; ++t) {
    outside.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) s.schedule(all[static_cast<std::size_t>(i + t) % all.size()]);
    });
  }
  for (auto& t : outside) t.join();
  s.stop();
  long total = 0;
  for (auto& o : objects) {
    total += o->runs.load();
    EXPECT_EQ(o->refs.load(), 0);
  }
  // Each outside schedule runs once, and each of the first 2 * per_thread
  // runs schedules one more from its worker.
  EXPECT_EQ(total, 4L * per_thread);
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
