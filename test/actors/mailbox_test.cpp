#include "herald/actors/detail/cell.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

struct seq {
  std::uint32_t producer;
  std::uint64_t n;
};
struct report {};
struct summary {
  std::uint64_t received = 0;
  std::uint64_t order_violations = 0;
  std::uint64_t overlaps = 0;
};

// Checks per-producer FIFO and that no two handlers of this actor ever overlap.
class checker : public actor<checker> {
 public:
  explicit checker(std::atomic<int>* inside) : inside_(inside) {}
  void on(const seq& s) {
    if (inside_->fetch_add(1) != 0) ++sum_.overlaps;
    if (s.n != next_[s.producer]) ++sum_.order_violations;
    next_[s.producer] = s.n + 1;
    ++sum_.received;
    inside_->fetch_sub(1);
  }
  summary on(const report&) const { return sum_; }

 private:
  std::atomic<int>* inside_;
  std::uint64_t next_[8] = {};
  summary sum_;
};

// Several producers hammer one actor through every empty -> non-empty edge:
// a lost wake-up leaves messages stranded (the final ask never sees them all),
// double scheduling runs two handlers at once (overlaps > 0).
void run_producers(std::size_t workers, std::size_t producers, std::size_t per_producer, std::size_t budget) {
  std::atomic<int> inside{0};
  actor_system sys{actor_system_config{.worker_threads = workers, .max_messages_per_activation = budget}};
  auto c = sys.spawn<checker>({}, &inside).value();
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        (void)c.tell(seq{static_cast<std::uint32_t>(p), i});
        if (i % 64 == 0) std::this_thread::yield();  // lets the mailbox drain to empty often
      }
    });
  }
  for (auto& t : threads) t.join();
  // Every tell happened-before this ask, so FIFO per sender puts them all ahead of it... per
  // producer thread only; the ask comes from this thread, so poll until all arrived.
  summary s;
  for (int tries = 0; tries < 10000; ++tries) {
    s = c.ask(report{}).get().value();
    if (s.received == producers * per_producer) break;
    std::this_thread::yield();
  }
  EXPECT_EQ(s.received, producers * per_producer) << "no message is lost or stranded";
  EXPECT_EQ(s.order_violations, 0u) << "messages from one producer arrive in send order";
  EXPECT_EQ(s.overlaps, 0u) << "an actor never runs on two threads at once";
}

TEST(Mailbox, ManyProducersLoseNoWakeUpAndNeverDoubleSchedule) {
  run_producers(2, 4, test::scaled(100000), 256);
}

TEST(Mailbox, BudgetOfOneReschedulesAfterEveryMessage) { run_producers(2, 3, test::scaled(30000), 1); }

TEST(Mailbox, MoreWorkersThanCoresStillScheduleExactlyOnce) { run_producers(6, 6, test::scaled(20000), 8); }

TEST(MailboxSoak, ManyProducersForLong) {
  HERALD_SOAK_ONLY();
  run_producers(4, 8, 2000000, 64);
}

// A fan-in of many actors onto one and back: activations interleave across workers.
struct hop {
  int left;
};
class relay : public actor<relay> {
 public:
  explicit relay(std::atomic<std::uint64_t>* done) : done_(done) {}
  void on(const hop& h) {
    if (h.left == 0) {
      done_->fetch_add(1);
      return;
    }
    (void)self().tell(hop{h.left - 1});
  }

 private:
  std::atomic<std::uint64_t>* done_;
};

TEST(Scheduler, ManyActorsWithMailAllRunToCompletion) {
  std::atomic<std::uint64_t> done{0};
  actor_system sys{actor_system_config{.worker_threads = 2, .max_messages_per_activation = 4}};
  std::vector<actor_ref<relay>> relays;
  const int actors = 200;
  for (int i = 0; i < actors; ++i) relays.push_back(sys.spawn<relay>({}, &done).value());
  for (auto& r : relays) (void)r.tell(hop{static_cast<int>(test::scaled(500))});
  for (int i = 0; i < 20000 && done.load() < static_cast<std::uint64_t>(actors); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(done.load(), static_cast<std::uint64_t>(actors)) << "every actor's chain of self-tells completed";
}

}  // namespace
}  // namespace herald
