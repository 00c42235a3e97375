#include "herald/actors/actor_system.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "herald/herald.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "support/test_support.hpp"
#include "support/transports.hpp"
#include "support/two_nodes.hpp"

// spawn_options::non_blocking: a remote message that finds such an actor
// idle is handled on the io thread that read it. Order per sender and one
// handler at a time must hold while the io thread and the workers take turns
// running the same actor.
namespace herald {
namespace {

using namespace std::chrono_literals;

struct where {};
struct numbered {
  std::uint32_t sender;
  std::uint64_t n;
};
struct tally {
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t overlaps = 0;  // handlers that found another one running
  std::uint64_t on_io = 0;
};
struct get_tally {};

constexpr std::uint32_t max_senders = 8;

class recorder : public actor<recorder> {
 public:
  using messages = herald::messages<where, numbered, get_tally>;
  bool on(const where&) const { return runtime::detail::on_io_thread(); }
  void on(const numbered& m) {
    if (running_.exchange(true, std::memory_order_acq_rel)) ++t_.overlaps;
    if (m.sender >= max_senders || m.n != next_[m.sender]) ++t_.out_of_order;
    if (m.sender < max_senders) next_[m.sender] = m.n + 1;
    if (runtime::detail::on_io_thread()) ++t_.on_io;
    ++t_.received;
    // Long enough for a second thread to come in, were it allowed to.
    for (int i = 0; i < 50; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    running_.store(false, std::memory_order_release);
  }
  tally on(const get_tally&) const { return t_; }

 private:
  std::atomic<bool> running_{false};
  std::uint64_t next_[max_senders] = {};
  tally t_;
};

struct nested_get {};
struct fail {};
struct generation {};

// Answers after 50 ms: a reply that is not there when get() looks.
class sleeper : public actor<sleeper> {
 public:
  using messages = herald::messages<where>;
  bool on(const where&) const {
    std::this_thread::sleep_for(50ms);
    return false;
  }
};

// Asks `sleeper "slow"` from inside its handler, with get() (which must not
// block on an io thread) or with then(); throws on `fail`.
class prober : public actor<prober> {
 public:
  using messages = herald::messages<nested_get, fail, generation>;
  prober() : generation_(++constructed()) {}
  // "io:<errc>" when get() refused at once on an io thread, "ok" when it
  // waited and had its reply.
  std::string on(const nested_get&) {
    auto slow = system().lookup<sleeper>("slow");
    if (!slow) return "no slow";
    const bool io = runtime::detail::on_io_thread();
    auto r = slow->ask(where{}, 5s).get();
    if (r) return io ? "io:ok" : "ok";
    return (io ? "io:" : "") + std::string(to_string(r.error().code()));
  }
  void on(const fail&) { throw std::runtime_error("prober failed"); }
  int on(const generation&) const { return generation_; }
  static std::atomic<int>& constructed() {
    static std::atomic<int> n{0};
    return n;
  }

 private:
  int generation_;
};

using test::listen_address;
using test::transport;

struct two_nodes : test::two_nodes<recorder, prober, sleeper> {
  explicit two_nodes(transport t) : test::two_nodes<recorder, prober, sleeper>(t, "non-blocking-test") {}
};

class NonBlocking : public ::testing::TestWithParam<transport> {};

INSTANTIATE_TEST_SUITE_P(Transports, NonBlocking,
                         ::testing::Values(transport::tcp, transport::unix_socket, transport::inproc),
                         test::transport_name{});

TEST_P(NonBlocking, ARemoteAskThatFindsTheActorIdleIsHandledOnTheIoThreadThatReadIt) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<recorder>(spawn_options{.name = "quick", .non_blocking = true}));
  ASSERT_TRUE(n.b->spawn<recorder>(spawn_options{.name = "plain"}));
  auto quick = n.a->remote_lookup<recorder>(n.b_address, "quick").value();
  auto plain = n.a->remote_lookup<recorder>(n.b_address, "plain").value();
  const auto before = n.b->metrics().io_thread_activations;
  int quick_on_io = 0, plain_on_io = 0;
  for (int i = 0; i < 20; ++i) {
    auto q = quick.ask(where{}, 5s).get();
    auto p = plain.ask(where{}, 5s).get();
    ASSERT_TRUE(q) << q.error().message();
    ASSERT_TRUE(p) << p.error().message();
    quick_on_io += *q ? 1 : 0;
    plain_on_io += *p ? 1 : 0;
  }
  // One ask at a time: the actor is idle whenever the next one arrives. An
  // ask may still go to a worker: one read by a link being replaced while a
  // handler runs on the other link's io thread, or one read together with 64
  // other frames. Nearly all are handled on the io thread.
  EXPECT_GE(quick_on_io, 15);
  EXPECT_EQ(plain_on_io, 0) << "an actor not declared non_blocking runs on a worker";
  EXPECT_GE(n.b->metrics().io_thread_activations - before, static_cast<std::uint64_t>(quick_on_io));
  // A local ask still goes through a worker.
  auto local = n.b->lookup<recorder>("quick");
  ASSERT_TRUE(local);
  auto l = local->ask(where{}, 5s).get();
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_FALSE(*l);
}

TEST_P(NonBlocking, OrderAndOneHandlerAtATimeHoldWhileIoThreadAndWorkersTakeTurns) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<recorder>(spawn_options{.name = "shared", .non_blocking = true}));
  auto far = n.a->remote_lookup<recorder>(n.b_address, "shared").value();
  auto near = n.b->lookup<recorder>("shared").value();
  const std::uint64_t per_sender = test::scaled(20000, 20);
  std::atomic<std::uint64_t> refused{0};
  tally t;
  std::uint64_t sent = 0;
  // Rounds until both the io thread and the workers ran the actor (the
  // first round nearly always suffices), at most 10.
  for (int round = 0; round < 10 && (t.on_io == 0 || t.on_io == t.received); ++round) {
    std::vector<std::thread> senders;
    // Four remote senders (handled on b's io thread when the actor is
    // idle) and four local ones (always through b's workers), all at once.
    for (std::uint32_t s = 0; s < max_senders; ++s) {
      senders.emplace_back([&, s, base = sent / max_senders] {
        auto& ref = s < 4 ? far : near;
        for (std::uint64_t i = base; i < base + per_sender; ++i) {
          if (!ref.tell(numbered{s, i})) refused.fetch_add(1);
          // Every sender pauses now and then, the local ones more often, so
          // that the actor goes idle and the io thread gets its turns.
          if (i % (s < 4 ? 256 : 32) == 0) std::this_thread::sleep_for(100us);
        }
      });
    }
    for (auto& th : senders) th.join();
    sent += max_senders * per_sender;
    for (int i = 0; i < 20000; ++i) {
      t = far.ask(get_tally{}, 5s).get().value();
      if (t.received == sent) break;
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(t.received, sent) << "every tell handled exactly once";
  }
  EXPECT_EQ(refused.load(), 0u);
  EXPECT_EQ(t.out_of_order, 0u) << "each sender's tells handled in the order sent";
  EXPECT_EQ(t.overlaps, 0u) << "never two handlers of one actor at once";
  EXPECT_GT(t.on_io, 0u) << "the io thread took its turns";
  EXPECT_LT(t.on_io, t.received) << "and so did the workers";
}

TEST_P(NonBlocking, AGetInAHandlerOnTheIoThreadFailsAtOnceInsteadOfBlockingTheLink) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<sleeper>(spawn_options{.name = "slow"}));
  ASSERT_TRUE(n.b->spawn<prober>(spawn_options{.name = "prober", .non_blocking = true}));
  auto far = n.a->remote_lookup<prober>(n.b_address, "prober").value();
  // Nearly always the first ask runs on the io thread (see the first test);
  // one handled by a worker answers "ok" and the next is tried.
  result<std::string> r = std::string();
  for (int i = 0; i < 5 && r && r->rfind("io:", 0) != 0; ++i) r = far.ask(nested_get{}, 5s).get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "io:" + std::string(to_string(errc::invalid_argument)))
      << "a get() on the io thread must fail at once: waiting there would stall the link";
  // The same handler on a worker waits for its reply.
  auto near = n.b->lookup<prober>("prober").value();
  auto l = near.ask(nested_get{}, 5s).get();
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(*l, "ok");
}

TEST_P(NonBlocking, AHandlerThatThrowsOnTheIoThreadFailsItsAskAndTheActorIsRestarted) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<prober>(spawn_options{.name = "prober", .non_blocking = true}));
  auto far = n.a->remote_lookup<prober>(n.b_address, "prober").value();
  const int first = far.ask(generation{}, 5s).get().value();
  const auto before = n.b->metrics().io_thread_activations;
  auto failed = far.ask(fail{}, 5s).get();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), errc::handler_failed) << failed.error().message();
  EXPECT_NE(failed.error().message().find("prober failed"), std::string::npos) << failed.error().message();
  // Restarted (the default policy), mailbox kept, and still served.
  auto after = far.ask(generation{}, 5s).get();
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(*after, first + 1) << "the state was constructed afresh";
  EXPECT_GE(n.b->metrics().io_thread_activations - before, 1u);
}

// ask_future::then_inline: the continuation of a remote ask runs on the io
// thread that read the reply, and an ask sent from it goes out from there;
// then() keeps running on a worker.
TEST_P(NonBlocking, ThenInlineRunsOnTheIoThreadThatReadTheReplyAndCanAskAgainFromThere) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<recorder>(spawn_options{.name = "plain"}));
  auto far = n.a->remote_lookup<recorder>(n.b_address, "plain").value();
  constexpr int chain = 50;
  struct outcome {
    std::atomic<int> replies{0};
    std::atomic<int> on_io{0};
    std::atomic<bool> failed{false};
    std::atomic<bool> done{false};
  };
  auto out = std::make_shared<outcome>();
  // Each continuation asks again, `chain` times in all. The first ask goes
  // to an actor that answers after 50 ms, so that its continuation is
  // attached before the reply and runs on the io thread; every later ask is
  // sent from there, and its reply is read by that same thread after the
  // continuation that sent it returns.
  ASSERT_TRUE(n.b->spawn<sleeper>(spawn_options{.name = "slow"}));
  auto slow = n.a->remote_lookup<sleeper>(n.b_address, "slow").value();
  std::function<void()> next;
  next = [&, out] {
    auto f = out->replies.load() == 0 ? slow.ask(where{}, 5s) : far.ask(where{}, 5s);
    std::move(f).then_inline([&, out](result<bool> r) {
      if (!r) out->failed = true;
      if (runtime::detail::on_io_thread()) ++out->on_io;
      if (++out->replies == chain || !r) {
        out->done = true;
        out->done.notify_all();
        return;
      }
      next();
    });
  };
  next();
  out->done.wait(false);
  EXPECT_FALSE(out->failed.load());
  EXPECT_EQ(out->replies.load(), chain);
  EXPECT_EQ(out->on_io.load(), chain) << "every remote reply's continuation on the io thread";
  // A result already there when then_inline is called: the calling thread.
  auto ready = far.ask(where{}, 5s);
  ASSERT_TRUE(ready.wait_for(5s));
  std::atomic<int> ready_on_io{-1};
  std::move(ready).then_inline([&](result<bool> r) { ready_on_io = r && runtime::detail::on_io_thread() ? 1 : 0; });
  EXPECT_EQ(ready_on_io.load(), 0);
  // then() of the same ask shape: on a worker, never on the io thread.
  std::atomic<int> then_on_io{-1};
  std::atomic<bool> then_done{false};
  far.ask(where{}, 5s).then([&](result<bool> r) {
    then_on_io = r && runtime::detail::on_io_thread() ? 1 : 0;
    then_done = true;
    then_done.notify_all();
  });
  then_done.wait(false);
  EXPECT_EQ(then_on_io.load(), 0);
}

TEST_P(NonBlocking, AThenInlineContinuationThatThrowsOnTheIoThreadIsLoggedAndTheLinkLives) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<sleeper>(spawn_options{.name = "slow"}));
  auto far = n.a->remote_lookup<sleeper>(n.b_address, "slow").value();
  std::atomic<bool> ran{false};
  // The reply comes 50 ms later: the continuation runs on the io thread.
  far.ask(where{}, 5s).then_inline([&](result<bool>) {
    ran = true;
    throw std::runtime_error("inline continuation failed");
  });
  EXPECT_TRUE(test::eventually([&] { return n.logged_line_with("inline continuation failed"); }))
      << "the exception is logged";
  EXPECT_TRUE(ran.load());
  auto again = far.ask(where{}, 5s).get();
  EXPECT_TRUE(again) << again.error().message();
}

}  // namespace
}  // namespace herald
