#include "herald/actors/ask_future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "herald/herald.hpp"
#include "herald/runtime/connection.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct ping {
  int n;
};
struct hold {
  std::chrono::milliseconds d;
};

class responder : public actor<responder> {
 public:
  int on(const ping& p) { return p.n + 1; }
  int on(const hold& h) {
    std::this_thread::sleep_for(h.d);
    return -1;
  }
};

TEST(AskFuture, WaitForReportsReadinessWithoutConsumingTheResult) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.spawn<responder>().value();
  auto f = r.ask(ping{1});
  ASSERT_TRUE(f.wait_for(5s));
  EXPECT_TRUE(f.is_ready());
  EXPECT_EQ(f.get().value(), 2);
}

TEST(AskFuture, ThenRunsTheContinuationWithTheResult) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.spawn<responder>().value();
  std::atomic<int> got{0};
  r.ask(ping{41}).then([&](result<int> v) { got = v.value(); });
  for (int i = 0; i < 5000 && got.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(got.load(), 42);
}

TEST(AskFuture, AskFailsWithTimeoutAtTheDeadlineAndTheLateReplyIsDropped) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.spawn<responder>().value();
  auto start = std::chrono::steady_clock::now();
  auto res = r.ask(hold{300ms}, 30ms).get();
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::timeout);
  EXPECT_LT(waited, 250ms) << "the timeout fires at the deadline, not when the handler finishes";
  EXPECT_EQ(r.ask(ping{1}).get().value(), 2) << "the actor goes on after the late reply";
  EXPECT_EQ(sys.metrics().asks_timed_out, 1u);
}

TEST(AskFuture, AsksRacingTheirTimeoutsCompleteExactlyOnce) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto r = sys.spawn<responder>().value();
  const std::size_t n = test::scaled(20000);
  std::vector<ask_future<int>> fs;
  fs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) fs.push_back(r.ask(ping{static_cast<int>(i)}, std::chrono::microseconds(i % 50)));
  std::size_t ok = 0, timed_out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto v = fs[i].get();
    if (v) {
      EXPECT_EQ(*v, static_cast<int>(i) + 1);
      ++ok;
    } else {
      EXPECT_EQ(v.error().code(), errc::timeout);
      ++timed_out;
    }
  }
  EXPECT_EQ(ok + timed_out, n) << "every ask ends in exactly one of reply or timeout";
  EXPECT_EQ(sys.metrics().asks_timed_out, timed_out);
}

// The continuation of a timed-out ask blocks on another timed ask. Run on the
// timer thread, it would wait for a timeout that only that thread can fire,
// so it would get the late reply instead of errc::timeout.
TEST(AskFuture, AContinuationOfATimedOutAskRunsOnAWorkerSoOtherTimeoutsStillFire) {
  actor_system sys{actor_system_config{.worker_threads = 3}};
  auto first = sys.spawn<responder>().value();
  auto busy = sys.spawn<responder>().value();
  auto occupied = busy.ask(hold{800ms});
  std::atomic<bool> done{false};
  result<int> inner = error(errc::broken_promise);
  first.ask(hold{300ms}, 20ms).then([&](result<int> r) {
    EXPECT_EQ(r.error().code(), errc::timeout);
    inner = busy.ask(ping{1}, 50ms).get();
    done.store(true, std::memory_order_release);
  });
  for (int i = 0; i < 10000 && !done.load(std::memory_order_acquire); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(done.load());
  ASSERT_FALSE(inner) << "the inner ask got the reply that came after its deadline";
  EXPECT_EQ(inner.error().code(), errc::timeout);
  EXPECT_TRUE(occupied.get());
}

TEST(AskFuture, GetAndWaitForOnAnIoThreadFailFastInsteadOfBlocking) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.spawn<responder>().value();
  auto slow = r.ask(hold{300ms});
  auto pending = r.ask(ping{1});
  std::thread io([&] {
    runtime::detail::on_io_thread() = true;  // as the node's io threads are marked
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(pending.wait_for(5s)) << "no wait on an io thread";
    auto v = pending.get();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms) << "neither call waited for the reply";
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code(), errc::invalid_argument);
    EXPECT_NE(v.error().context().find("io thread"), std::string::npos) << v.error().message();
  });
  io.join();
  EXPECT_TRUE(slow.get()) << "off the io thread get() waits as before";
}

// Two completers, a continuation and a blocked waiter race on one state: the
// continuation runs exactly once, with the value of the one completer that
// won, and the waiter wakes with that same value.
TEST(AskFuture, ConcurrentCompletionsContinuationAndWaiterAgreeOnOneWinner) {
  const std::size_t rounds = test::scaled(20000);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < rounds; ++i) {
    auto s = detail::ask_state_ptr<int>::adopt(new detail::ask_state<int>());
    std::atomic<int> continuation_runs{0};
    std::atomic<int> continuation_value{-1};
    std::atomic<int> wins{0};
    std::atomic<int> go{0};
    int winner = -1;
    std::thread a([&] {
      while (go.load() == 0) {
      }
      if (s->complete(1)) wins.fetch_add(1), winner = 1;
    });
    std::thread b([&] {
      while (go.load() == 0) {
      }
      if (s->complete(2)) wins.fetch_add(1), winner = 2;
    });
    std::thread c([&] {
      while (go.load() == 0) {
      }
      s->on_ready([&] {
        continuation_runs.fetch_add(1);
        continuation_value.store(s->take().value());
      });
    });
    go.store(1);
    s->wait();
    a.join();
    b.join();
    c.join();
    if (wins.load() != 1 || continuation_runs.load() != 1 || continuation_value.load() != winner) ++bad;
  }
  EXPECT_EQ(bad, 0u) << "one completion wins, its value is what the continuation and the waiter see, once";
}

TEST(AskFuture, WaitForTimesOutOnAStateNobodyCompletesAndWakesWhenOneDoes) {
  auto s = detail::ask_state_ptr<int>::adopt(new detail::ask_state<int>());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s->wait_for(30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms) << "wait_for waits its whole duration";
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    (void)s->complete(7);
  });
  EXPECT_TRUE(s->wait_for(10s)) << "a completion wakes a timed waiter";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(s->take().value(), 7);
  t.join();
}

TEST(AskFuture, LocalAsksTakeTheirReplyStatesFromThePoolInSteadyState) {
  if (test::sanitized()) GTEST_SKIP() << "counts allocations";
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto r = sys.spawn<responder>().value();
  // Warm the pools: ask states, mailbox nodes.
  for (int i = 0; i < 2000; ++i) (void)r.ask(ping{i}).get();
  const std::size_t before = detail::block_pool::allocated();
  for (int i = 0; i < 20000; ++i) (void)r.ask(ping{i}).get();
  // A state is freed by whichever side drops it last, the asker or the
  // worker; the worker's cache keeps up to thread_cap blocks before it hands
  // a batch back, so the asker may take up to that many, plus a batch, anew
  // once: bounded, however many asks run.
  EXPECT_LE(detail::block_pool::allocated() - before, detail::block_pool::thread_cap + detail::block_pool::batch)
      << "ask states come back from the pool in steady state (20,000 asks)";
}

TEST(AskFuture, AnEmptyRefFailsAtOnce) {
  actor_ref<responder> none;
  auto v = none.ask(ping{1}).get();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), errc::invalid_argument);
  EXPECT_FALSE(none.tell(ping{1}));
}

}  // namespace
}  // namespace herald
