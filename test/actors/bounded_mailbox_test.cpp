// Bounded mailboxes (mailbox_limit): the capacity holds under concurrent
// senders, each policy does what it says at the limit, nothing admitted is
// lost or reordered, and every refusal is counted.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <thread>
#include <vector>

#include "herald/actors/detail/cell.hpp"
#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct hold {};     // the handler waits until the gate opens
struct item {
  std::uint32_t sender;
  std::uint64_t n;
};
struct probe {};
struct tally {
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t max_depth = 0;  // the most admitted sends seen queued behind the one running
};

struct gate {
  std::atomic<bool> held{false};
  std::atomic<bool> open{false};
};

// Records per-sender order and the deepest mailbox it saw; `spin` makes each
// message cost that long, so senders outrun it.
class sink : public actor<sink> {
 public:
  sink(gate* g, std::chrono::nanoseconds spin) : gate_(g), spin_(spin) {}
  void on(const hold&) {
    gate_->held = true;
    while (!gate_->open.load()) std::this_thread::sleep_for(1ms);
  }
  void on(const item& m) {
    if (m.sender < next_.size()) {
      if (m.n != next_[m.sender]) ++tally_.out_of_order;
      next_[m.sender] = m.n + 1;
    }
    ++tally_.received;
    const auto depth = detail::current_cell()->admitted_queued();
    if (depth > tally_.max_depth) tally_.max_depth = depth;
    if (spin_.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + spin_;
      while (std::chrono::steady_clock::now() < until) {
      }
    }
  }
  int on(const probe&) const { return 1; }
  tally on(const tally&) const { return tally_; }

 private:
  gate* gate_;
  std::chrono::nanoseconds spin_;
  std::vector<std::uint64_t> next_ = std::vector<std::uint64_t>(16, 0);
  tally tally_;
};

void wait_held(const gate& g) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!g.held.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(g.held.load()) << "the actor never ran its hold handler";
}

// A sink (no spin) kept in its hold handler until g opens, so that what is
// sent to it next stays queued.
actor_ref<sink> spawn_held(actor_system& sys, gate& g, spawn_options opts) {
  auto s = sys.spawn<sink>(std::move(opts), &g, 0ns).value();
  EXPECT_TRUE(s.tell(hold{}));
  wait_held(g);
  return s;
}

TEST(BoundedMailbox, AFullMailboxRefusesTellsAndAsksWithMailboxFullAndCountsThem) {
  gate g;  // outlives the actors that wait on it
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = spawn_held(sys, g, spawn_options{.name = "bounded", .mailbox = mailbox_limit{.capacity = 4}});
  // The running message no longer counts: four more fit.
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(s.tell(item{0, i})) << i;
  auto refused = s.tell(item{0, 4});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), errc::mailbox_full);
  EXPECT_NE(refused.error().message().find("'bounded'"), std::string::npos) << refused.error().message();
  auto asked = s.ask(probe{}, 5s).get();
  ASSERT_FALSE(asked);
  EXPECT_EQ(asked.error().code(), errc::mailbox_full);
  EXPECT_EQ(sys.metrics().mailbox_full, 2u);
  EXPECT_EQ(sys.metrics().dead_letters, 0u) << "a refusal is not a dead letter: the sender was told";
  g.open = true;
  auto t = s.ask(tally{}, 5s).get();
  // The ask above may itself meet a full mailbox while the four drain.
  for (int tries = 0; !t && t.error().code() == errc::mailbox_full && tries < 100; ++tries) {
    std::this_thread::sleep_for(10ms);
    t = s.ask(tally{}, 5s).get();
  }
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->received, 4u);
  EXPECT_EQ(t->out_of_order, 0u);
  EXPECT_TRUE(s.tell(item{0, 4})) << "room again once the actor drained";
}

// Several senders race for the last places: the increment that reserves a
// place is the admission, so the queue never holds more than the capacity
// (plus, transiently, the reservations of senders about to be refused).
// Every admitted tell arrives, in its sender's order; every refusal is
// counted.
void race_for_places(std::size_t senders, std::size_t per_sender, std::size_t capacity) {
  gate g;  // outlives the actors that wait on it
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = sys.spawn<sink>(spawn_options{.mailbox = mailbox_limit{.capacity = capacity}}, &g, 200ns).value();
  std::atomic<std::uint64_t> admitted{0}, refused{0};
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < senders; ++p) {
    threads.emplace_back([&, p] {
      std::uint64_t n = 0;
      for (std::size_t i = 0; i < per_sender; ++i) {
        auto r = s.tell(item{static_cast<std::uint32_t>(p), n});
        if (r) {
          ++n;
          admitted.fetch_add(1);
        } else {
          ASSERT_EQ(r.error().code(), errc::mailbox_full);
          refused.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_GT(refused.load(), 0u) << "the senders never outran the actor: the test proves nothing";
  result<tally> t = error(errc::timeout);
  std::uint64_t tally_refused = 0;
  for (int tries = 0; tries < 1000; ++tries) {
    t = s.ask(tally{}, 5s).get();
    if (t || t.error().code() != errc::mailbox_full) break;
    ++tally_refused;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->received, admitted.load()) << "an admitted tell was lost";
  EXPECT_EQ(t->out_of_order, 0u);
  EXPECT_LE(t->max_depth, capacity + senders);
  EXPECT_EQ(sys.metrics().mailbox_full, refused.load() + tally_refused) << "every refusal is counted";
}

TEST(BoundedMailbox, ConcurrentSendersNeverOvershootTheCapacityAndLoseNothingAdmitted) {
  race_for_places(4, test::scaled(50'000), 64);
}

TEST(BoundedMailbox, ConcurrentSendersOnOneCoreNeverOvershootTheCapacity) {
  test::pinned_to_one_core pin;
  ASSERT_TRUE(pin.ok());
  race_for_places(4, test::scaled(20'000), 16);
}

// when_full::block: senders wait for room instead of failing; with a
// deadline far away every tell is admitted, in order, and the waits are
// counted. A lost wake-up would leave a sender waiting out its deadline and
// failing.
void blocked_senders_all_get_in(std::size_t senders, std::size_t per_sender) {
  gate g;  // outlives the actors that wait on it
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = sys.spawn<sink>(
                  spawn_options{.mailbox = mailbox_limit{.capacity = 8, .on_full = when_full::block, .block_timeout = 30s}},
                  &g, 2us)
               .value();
  std::atomic<std::uint64_t> failed{0};
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < senders; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_sender; ++i) {
        if (!s.tell(item{static_cast<std::uint32_t>(p), i})) failed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0u);
  auto t = s.ask(tally{}, 30s).get();
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->received, senders * per_sender);
  EXPECT_EQ(t->out_of_order, 0u);
  EXPECT_LE(t->max_depth, 8u + senders);
  EXPECT_GT(sys.metrics().mailbox_waits, 0u);
  EXPECT_EQ(sys.metrics().mailbox_full, 0u);
}

TEST(BoundedMailbox, BlockedSendersWaitForRoomAndAllGetInInOrder) {
  blocked_senders_all_get_in(4, test::scaled(20'000));
}

TEST(BoundedMailbox, BlockedSendersOnOneCoreAreWokenWhenRoomFrees) {
  test::pinned_to_one_core pin;
  ASSERT_TRUE(pin.ok());
  blocked_senders_all_get_in(3, test::scaled(5'000));
}

TEST(BoundedMailbox, ABlockedSenderGivesUpAtItsTimeoutWithMailboxFull) {
  gate g;  // outlives the actors that wait on it
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = spawn_held(
      sys, g, spawn_options{.mailbox = mailbox_limit{.capacity = 1, .on_full = when_full::block, .block_timeout = 150ms}});
  ASSERT_TRUE(s.tell(item{0, 0}));
  const auto began = std::chrono::steady_clock::now();
  auto r = s.tell(item{0, 1});
  const auto waited = std::chrono::steady_clock::now() - began;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::mailbox_full);
  EXPECT_GE(waited, 150ms);
  EXPECT_EQ(sys.metrics().mailbox_waits, 1u);
  EXPECT_EQ(sys.metrics().mailbox_full, 1u);
  g.open = true;
}

// A handler that sends to a full blocking mailbox must not wait: its worker
// may be the one the target needs to drain.
struct forward_to {
  actor_ref<sink> target;
};
class relay : public actor<relay> {
 public:
  errc on(const forward_to& f) {
    auto r = f.target.tell(item{1, 0});
    return r ? errc::ok : r.error().code();
  }
};

TEST(BoundedMailbox, InsideAHandlerABlockingSendFailsAtOnceInsteadOfWaiting) {
  gate g;  // outlives the actors that wait on it
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = spawn_held(
      sys, g, spawn_options{.mailbox = mailbox_limit{.capacity = 1, .on_full = when_full::block, .block_timeout = 60s}});
  ASSERT_TRUE(s.tell(item{0, 0}));
  auto r = sys.spawn<relay>().value();
  const auto began = std::chrono::steady_clock::now();
  auto code = r.ask(forward_to{s}, 30s).get();
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(*code, errc::mailbox_full);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 10s) << "the handler waited for room";
  EXPECT_EQ(sys.metrics().mailbox_waits, 0u);
  g.open = true;
}

TEST(BoundedMailbox, TheSystemDefaultAppliesToActorsSpawnedWithoutOne) {
  gate g;  // outlives the actors that wait on it
  gate g2;
  actor_system sys{actor_system_config{.worker_threads = 2, .mailbox = mailbox_limit{.capacity = 2}}};
  auto bounded = spawn_held(sys, g, {});
  ASSERT_TRUE(bounded.tell(item{0, 0}));
  ASSERT_TRUE(bounded.tell(item{0, 1}));
  EXPECT_EQ(bounded.tell(item{0, 2}).error().code(), errc::mailbox_full);
  auto unbounded = spawn_held(sys, g2, spawn_options{.mailbox = mailbox_limit{}});
  for (std::uint64_t i = 0; i < 1000; ++i) ASSERT_TRUE(unbounded.tell(item{0, i}));
  g.open = true;
  g2.open = true;
}

// Stop and down notifications are system messages: a full mailbox takes
// them anyway, so a stop request is never refused.
TEST(BoundedMailbox, AFullMailboxStillTakesAStopAndItsQueuedMailDrains) {
  gate g;  // outlives the actors that wait on it
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = spawn_held(sys, g, spawn_options{.mailbox = mailbox_limit{.capacity = 1}});
  ASSERT_TRUE(s.tell(item{0, 0}));
  ASSERT_FALSE(s.tell(item{0, 1}));
  sys.stop(s);
  g.open = true;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!s.stopped() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(s.stopped());
}

}  // namespace
}  // namespace herald
