#include "herald/actors/remote.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "herald/herald.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "herald/wire/control_generated.h"
#include "herald/wire/fb_message.hpp"
#include "support/test_support.hpp"
#include "support/transports.hpp"
#include "support/two_nodes.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct deposit {
  std::int64_t cents;
};
struct balance {};
struct note {
  std::string text;
  auto fields() { return std::tie(text); }
};
struct seq {
  std::uint32_t sender;
  std::uint64_t n;
};
struct report {
  std::uint64_t received = 0;
  std::uint64_t violations = 0;
};
struct get_report {};
struct fail_now {};
struct hold {
  std::uint32_t ms;
};

class account : public actor<account> {
 public:
  using messages = herald::messages<deposit, balance, note, seq, get_report, fail_now, hold>;
  void on(const deposit& d) { cents_ += d.cents; }
  std::int64_t on(const balance&) const { return cents_; }
  std::string on(const note& n) { return "noted: " + n.text; }
  void on(const seq& s) {
    if (s.sender >= 8 || s.n != next_[s.sender]) ++rep_.violations;
    if (s.sender < 8) next_[s.sender] = s.n + 1;
    ++rep_.received;
  }
  report on(const get_report&) const { return rep_; }
  int on(const fail_now&) { throw std::runtime_error("remote handler threw"); }
  int on(const hold& h) {
    std::this_thread::sleep_for(std::chrono::milliseconds(h.ms));
    return 1;
  }

 private:
  std::int64_t cents_ = 0;
  std::uint64_t next_[8] = {};
  report rep_;
};

struct watch_remote {
  actor_ref<account> target;
};
struct downs {};

class watcher : public actor<watcher> {
 public:
  void on(const watch_remote& w) { monitor(w.target); }
  void on(const down& d) { seen_.push_back(d); }
  std::vector<down> on(const downs&) const { return seen_; }

 private:
  std::vector<down> seen_;
};

using test::listen_address;
using test::transport;

// Two actor systems, each with its own node, in one process.
struct two_nodes : test::two_nodes<account> {
  explicit two_nodes(transport t) : test::two_nodes<account>(t, "remote-test") {}
};

class Remote : public ::testing::TestWithParam<transport> {};

INSTANTIATE_TEST_SUITE_P(Transports, Remote,
                         ::testing::Values(transport::tcp, transport::unix_socket, transport::inproc),
                         test::transport_name{});

TEST_P(Remote, TellAndAskReachAnActorOnAnotherNode) {
  two_nodes n(GetParam());
  auto local = n.b->spawn<account>(herald::name("alice")).value();
  auto far = n.a->remote_lookup<account>(n.b_address, "alice");
  ASSERT_TRUE(far) << far.error().message();
  EXPECT_TRUE(far->is_remote());
  EXPECT_EQ(far->node_id(), n.b->node_id());
  EXPECT_EQ(far->id(), local.id());
  ASSERT_TRUE(far->tell(deposit{250}));
  ASSERT_TRUE(far->tell(deposit{250}));
  auto cents = far->ask(balance{}).get();
  ASSERT_TRUE(cents) << cents.error().message();
  EXPECT_EQ(*cents, 500) << "tells and the ask after them arrive in order over one connection";
  auto text = far->ask(note{"a string crosses the wire"}, 5s).get();
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "noted: a string crosses the wire");
}

TEST_P(Remote, LookupReportsMissingNamesAndWrongTypes) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<watcher>(herald::name("not-an-account")));
  auto missing = n.a->remote_lookup<account>(n.b_address, "nobody");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), errc::not_found);
  auto wrong = n.a->remote_lookup<account>(n.b_address, "not-an-account");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), errc::type_mismatch);
}

TEST_P(Remote, MessagesFromFourSendersArriveWithoutGapDuplicateOrReorder) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<account>(herald::name("sink")));
  auto far = n.a->remote_lookup<account>(n.b_address, "sink").value();
  const std::uint64_t per_sender = test::scaled(250000, 25);
  std::vector<std::thread> senders;
  std::atomic<std::uint64_t> refused{0};
  for (std::uint32_t s = 0; s < 4; ++s) {
    senders.emplace_back([&, s] {
      for (std::uint64_t i = 0; i < per_sender; ++i) {
        // The default policy blocks on a full ring: a refusal is a failure.
        if (!far.tell(seq{s, i})) refused.fetch_add(1);
      }
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(refused.load(), 0u);
  report r;
  for (int i = 0; i < 20000; ++i) {
    r = far.ask(get_report{}).get().value();
    if (r.received == 4 * per_sender) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(r.received, 4 * per_sender) << "every tell arrives exactly once";
  EXPECT_EQ(r.violations, 0u) << "each sender's tells arrive in the order sent";
  auto m = n.a->metrics();
  EXPECT_GE(m.frames_sent, 4 * per_sender);
  EXPECT_GT(m.writev_calls, 0u);
}

// The receiving io thread queues a run of frames for one actor as one chain
// and hands it over when the target changes or the read ends: runs of every
// length, alternating between two actors, must all arrive, in order, at the
// actor each was sent to.
TEST_P(Remote, RunsOfTellsAlternatingBetweenTwoActorsArriveWholeAndInOrder) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<account>(herald::name("x")));
  ASSERT_TRUE(n.b->spawn<account>(herald::name("y")));
  auto x = n.a->remote_lookup<account>(n.b_address, "x").value();
  auto y = n.a->remote_lookup<account>(n.b_address, "y").value();
  const std::uint64_t total = test::scaled(300000, 25);
  std::uint64_t sent[2] = {0, 0};
  std::uint64_t refused = 0;
  std::uint64_t run = 1;
  for (std::uint64_t i = 0; i < total;) {
    const int to = static_cast<int>(run % 2);
    // Run lengths 1..150 cover runs inside one read, across reads and past
    // the largest chain.
    const std::uint64_t len = 1 + (run * 7919) % 150;
    for (std::uint64_t k = 0; k < len && i < total; ++k, ++i) {
      auto& ref = to == 0 ? x : y;
      if (!ref.tell(seq{0, sent[to]})) ++refused;
      ++sent[to];
    }
    ++run;
  }
  EXPECT_EQ(refused, 0u);
  for (int which = 0; which < 2; ++which) {
    auto& ref = which == 0 ? x : y;
    report r;
    for (int i = 0; i < 20000; ++i) {
      r = ref.ask(get_report{}).get().value();
      if (r.received == sent[which]) break;
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(r.received, sent[which]) << "every tell reaches the actor it was sent to, once";
    EXPECT_EQ(r.violations, 0u) << "in the order sent";
  }
}

TEST_P(Remote, LinkCountersKeepTheirCountsWhenTheLinkCloses) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<account>(herald::name("alice")));
  auto far = n.a->remote_lookup<account>(n.b_address, "alice").value();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(far.tell(deposit{1}));
  ASSERT_TRUE(far.ask(balance{}).get());
  const auto before = n.a->metrics();
  ASSERT_GE(before.frames_sent, 1001u);
  n.b->shutdown();
  system_metrics after;
  for (int i = 0; i < 5000; ++i) {
    after = n.a->metrics();
    if (after.connections == 0 && after.links_closed >= 1) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(after.connections, 0u) << "the link is gone";
  EXPECT_GE(after.links_closed, 1u);
  EXPECT_GE(after.frames_sent, before.frames_sent) << "a closed link's counts stay in the totals";
  EXPECT_GE(after.bytes_sent, before.bytes_sent);
  EXPECT_GE(after.frames_received, before.frames_received);
}

TEST_P(Remote, AHandlerThatThrowsFailsTheRemoteAskWithItsReason) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<account>(herald::name("fragile")));
  auto far = n.a->remote_lookup<account>(n.b_address, "fragile").value();
  auto r = far.ask(fail_now{}).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::handler_failed);
  EXPECT_EQ(r.error().context(), "remote handler threw");
}

TEST_P(Remote, ARemoteAskTimesOutAndItsLateReplyIsCounted) {
  two_nodes n(GetParam());
  ASSERT_TRUE(n.b->spawn<account>(herald::name("slow")));
  auto far = n.a->remote_lookup<account>(n.b_address, "slow").value();
  auto r = far.ask(hold{300}, 50ms).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::timeout);
  EXPECT_EQ(far.ask(balance{}).get().value(), 0) << "the connection goes on after a timeout";
  EXPECT_EQ(n.a->metrics().late_replies, 1u) << "the reply that came after the deadline was dropped and counted";
}

TEST_P(Remote, MonitorsOfARemoteActorHearWhenItStops) {
  two_nodes n(GetParam());
  auto target = n.b->spawn<account>(herald::name("mortal")).value();
  auto far = n.a->remote_lookup<account>(n.b_address, "mortal").value();
  auto w = n.a->spawn<watcher>().value();
  ASSERT_TRUE(w.ask(watch_remote{far}).get());
  ASSERT_TRUE(far.ask(balance{}).get()) << "the monitor request went ahead of this ask on the same link";
  n.b->stop(target);
  std::vector<down> seen;
  for (int i = 0; i < 5000 && seen.empty(); ++i) {
    seen = w.ask(downs{}).get().value();
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].who, far.id());
  EXPECT_EQ(seen[0].node, n.b->node_id());
  EXPECT_EQ(seen[0].reason.code(), errc::actor_stopped);
}

// A FlatBuffers message handled by a coroutine: the reply is the message's
// code, read after a co_await, if its context still holds the filler that
// the sender wrote for that code (else -1).
using fb_value = wire::fb_message<wire::fb::ErrorReply>;

struct helper_ping {};
class slow_helper : public actor<slow_helper> {
 public:
  int on(const helper_ping&) {
    // Long enough that the echo's co_await suspends, and the next frame
    // arrives while it is suspended.
    std::this_thread::sleep_for(20ms);
    return 0;
  }
};

char filler_of(std::uint16_t code) { return static_cast<char>('a' + code % 26); }

// Asks for an fb_value reply whose context is `size` filler bytes for `code`.
struct fb_request {
  std::uint16_t code;
  std::uint32_t size;
};

// A FlatBuffers message nested after a one-byte member: misaligned in the
// frame, so the receiver decodes an aligned copy.
struct labelled_fb {
  std::uint8_t label;
  fb_value value;
  auto fields() { return std::tie(label, value); }
};

class fb_echo : public actor<fb_echo> {
 public:
  using messages = herald::messages<fb_value, fb_request, labelled_fb>;
  explicit fb_echo(actor_ref<slow_helper> helper) : helper_(std::move(helper)) {}
  task<int> on(const fb_value& m) {
    (void)co_await helper_.ask(helper_ping{});
    const auto* text = m->context();
    if (!text) co_return -1;
    for (char ch : text->string_view()) {
      if (ch != filler_of(m->code())) co_return -1;
    }
    co_return static_cast<int>(m->code());
  }
  // label * 1000 + code, if the context holds the code's filler (else -1).
  int on(const labelled_fb& m) {
    if (!m.value || !m.value->context()) return -1;
    for (char ch : m.value->context()->string_view()) {
      if (ch != filler_of(m.value->code())) return -1;
    }
    return m.label * 1000 + m.value->code();
  }
  fb_value on(const fb_request& r) {
    return fb_value::build(pool_, [&](auto& fb) {
      return wire::fb::CreateErrorReply(fb, r.code, fb.CreateString(std::string(r.size, filler_of(r.code))));
    });
  }

 private:
  actor_ref<slow_helper> helper_;
  wire::serializer_pool pool_;
};

// Two nodes over TCP: b runs the fb_echo "echo" (with its slow helper), a
// holds a remote ref to it in `far` once start() has succeeded.
struct fb_echo_nodes {
  actor_system a{actor_system_config{.worker_threads = 2}}, b{actor_system_config{.worker_threads = 2}};
  std::optional<actor_ref<fb_echo>> far;

  ::testing::AssertionResult start() {
    runtime::node_config c;
    c.secret.value = "remote-test-secret";
    c.listen = {"tcp://127.0.0.1:0"};
    if (!a.start_node<fb_echo>(c) || !b.start_node<fb_echo>(c)) return ::testing::AssertionFailure() << "start_node";
    auto helper = b.spawn<slow_helper>();
    if (!helper || !b.spawn<fb_echo>(herald::name("echo"), *helper)) return ::testing::AssertionFailure() << "spawn";
    auto ref = a.remote_lookup<fb_echo>(b.listen_addresses().at(0), "echo", 10s);
    if (!ref) return ::testing::AssertionFailure() << ref.error().message();
    far = std::move(*ref);
    return ::testing::AssertionSuccess();
  }
};

TEST(CoroutineHandler, FlatBuffersMessageOutlivesCoAwait) {
  fb_echo_nodes n;
  ASSERT_TRUE(n.start());
  auto& far = n.far;
  wire::serializer_pool pool;
  // Small payloads travel inline in the envelope; large ones (above the
  // large-payload threshold) in pooled buffers that the next frame reuses.
  for (std::size_t size : {std::size_t{8}, std::size_t{100} << 10}) {
    for (int round = 0; round < 3; ++round) {
      std::vector<ask_future<int>> replies;
      std::vector<std::uint16_t> codes;
      for (std::uint16_t code = 1; code <= 4; ++code) {
        auto m = fb_value::build(pool, [&](auto& fb) {
          return wire::fb::CreateErrorReply(fb, code, fb.CreateString(std::string(size, filler_of(code))));
        });
        codes.push_back(code);
        replies.push_back(far->ask(std::move(m), 10s));
      }
      for (std::size_t i = 0; i < replies.size(); ++i) {
        auto r = replies[i].get();
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(*r, codes[i]) << "payload of " << size << " bytes: the handler read its own message after co_await";
      }
    }
  }
}

TEST(Ask, AFlatBuffersMessageNestedInAStructCrossesTheWire) {
  fb_echo_nodes n;
  ASSERT_TRUE(n.start());
  auto& far = n.far;
  wire::serializer_pool pool;
  for (std::size_t size : {std::size_t{5}, std::size_t{100} << 10}) {
    for (std::uint16_t code = 1; code <= 3; ++code) {
      labelled_fb m{7, fb_value::build(pool, [&](auto& fb) {
                      return wire::fb::CreateErrorReply(fb, code, fb.CreateString(std::string(size, filler_of(code))));
                    })};
      auto r = far->ask(std::move(m), 10s).get();
      ASSERT_TRUE(r) << size << " bytes: " << r.error().message();
      EXPECT_EQ(*r, 7000 + code) << size << "-byte context";
    }
  }
}

// The reply of a remote ask, an fb_message, views the reply frame; it is
// read only after later replies have arrived (which reuse pooled buffers).
TEST(Ask, AFlatBuffersReplyToARemoteAskOwnsItsFrame) {
  fb_echo_nodes n;
  ASSERT_TRUE(n.start());
  auto& far = n.far;
  for (std::uint32_t size : {8u, 100u << 10}) {
    std::vector<fb_value> replies;
    for (std::uint16_t code = 1; code <= 4; ++code) {
      auto r = far->ask(fb_request{code, size}, 10s).get();
      ASSERT_TRUE(r) << r.error().message();
      replies.push_back(std::move(*r));
    }
    for (std::uint16_t code = 1; code <= 4; ++code) {
      const auto& m = replies[code - 1];
      ASSERT_TRUE(m);
      EXPECT_EQ(m->code(), code) << size << "-byte reply";
      ASSERT_NE(m->context(), nullptr);
      const auto text = m->context()->string_view();
      EXPECT_EQ(text.size(), size);
      EXPECT_EQ(text.find_first_not_of(filler_of(code)), std::string_view::npos) << size << "-byte reply " << code;
    }
  }
}

// A continuation of a remote ask that blocks on another remote ask: with one
// io thread, run on that thread it would wait for a reply only that thread
// can read. On failure the node stays wedged, so the test ends the process.
TEST(Ask, BlockingGetInsideAContinuationCompletes) {
  two_nodes n(transport::tcp);
  ASSERT_TRUE(n.b->spawn<account>(herald::name("alice")));
  auto ref = n.a->remote_lookup<account>(n.b_address, "alice").value();
  std::atomic<bool> done{false};
  result<std::string> inner = error(errc::broken_promise);
  result<void> told = error(errc::broken_promise);
  ref.ask(balance{}).then([&](result<std::int64_t>) {
    inner = ref.ask(note{"b"}, 1s).get();
    told = ref.tell(deposit{7});
    done.store(true, std::memory_order_release);
  });
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!done.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  if (!done.load(std::memory_order_acquire)) {
    ADD_FAILURE() << "get() inside the continuation did not return within 2 s: the io thread is blocked";
    std::fflush(stdout);
    std::_Exit(1);
  }
  ASSERT_TRUE(inner) << inner.error().message();
  EXPECT_EQ(*inner, "noted: b");
  ASSERT_TRUE(told) << told.error().message();
  std::int64_t cents = 0;
  for (int i = 0; i < 5000 && cents != 7; ++i) {
    cents = ref.ask(balance{}, 5s).get().value_or(0);
    if (cents != 7) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(cents, 7) << "the tell sent from the continuation arrived";
}

TEST(Ask, ContinuationsOfRemoteAsksAndTimeoutsRunOnAWorkerNotTheIoThread) {
  two_nodes n(transport::tcp);
  ASSERT_TRUE(n.b->spawn<account>(herald::name("bob")));
  auto ref = n.a->remote_lookup<account>(n.b_address, "bob").value();
  std::atomic<int> on_io{0}, ran{0};
  auto note_thread = [&] {
    if (runtime::detail::on_io_thread()) on_io.fetch_add(1);
    ran.fetch_add(1);
  };
  ref.ask(balance{}).then([&](result<std::int64_t>) { note_thread(); });          // a reply
  ref.ask(hold{300}, 20ms).then([&](result<int>) { note_thread(); });             // the deadline sweep
  for (int i = 0; i < 10000 && ran.load() < 2; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(on_io.load(), 0);
}

// Node b runs in a child process; the parent kills it with SIGKILL while an
// ask is in flight and a monitor watches one of its actors.
TEST(RemoteProcess, AKilledNodeFailsPendingAsksAndFiresMonitorsWithNodeDown) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    actor_system b{actor_system_config{.worker_threads = 1}};
    runtime::node_config c;
    c.secret.value = "remote-test-secret";
    c.listen = {"tcp://127.0.0.1:0"};
    if (!b.start_node<account>(c) || !b.spawn<account>(herald::name("doomed"))) ::_exit(1);
    std::string address = b.listen_addresses().at(0) + "\n";
    if (::write(ready[1], address.data(), address.size()) < 0) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char buf[256] = {};
  std::string address;
  while (address.find('\n') == std::string::npos) {
    auto got = ::read(ready[0], buf, sizeof buf);
    ASSERT_GT(got, 0) << "the child node failed to start";
    address.append(buf, static_cast<std::size_t>(got));
  }
  ::close(ready[0]);
  address.pop_back();

  actor_system a{actor_system_config{.worker_threads = 2}};
  runtime::node_config c;
  c.secret.value = "remote-test-secret";
  c.listen = {"tcp://127.0.0.1:0"};
  ASSERT_TRUE(a.start_node<account>(c));
  auto far = a.remote_lookup<account>(address, "doomed");
  ASSERT_TRUE(far) << far.error().message();
  auto w = a.spawn<watcher>().value();
  ASSERT_TRUE(w.ask(watch_remote{*far}).get());
  ASSERT_TRUE(far->ask(balance{}).get());
  auto pending = far->ask(hold{10000});
  std::this_thread::sleep_for(50ms);
  auto killed_at = std::chrono::steady_clock::now();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  auto r = pending.get();
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 2s) << "the ask fails when the link drops, not at a timeout";
  ASSERT_FALSE(r) << "an ask to a killed node never hangs";
  EXPECT_EQ(r.error().code(), errc::node_down);
  std::vector<down> seen;
  for (int i = 0; i < 5000 && seen.empty(); ++i) {
    seen = w.ask(downs{}).get().value();
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].reason.code(), errc::node_down);
  EXPECT_EQ(far->tell(deposit{1}).error().code(), errc::node_down) << "a tell to a lost node is refused, not dropped";
}

struct other_msg {
  std::uint64_t x;
};
class other : public actor<other> {
 public:
  using messages = herald::messages<other_msg>;
  void on(const other_msg&) {}
};

TEST(RemoteNode, NodesWithDifferentInterfacesRefuseEachOther) {
  actor_system a{actor_system_config{.worker_threads = 1}}, b{actor_system_config{.worker_threads = 1}};
  runtime::node_config c;
  c.secret.value = "s";
  c.listen = {"tcp://127.0.0.1:0"};
  ASSERT_TRUE(a.start_node<account>(c));
  ASSERT_TRUE(b.start_node<other>(c));
  auto r = a.remote_lookup<account>(b.listen_addresses().at(0), "x", 500ms);
  ASSERT_FALSE(r) << "the schema hashes differ, so the handshake fails";
  EXPECT_EQ(r.error().code(), errc::timeout);
}

TEST(PeerSlot, LateUpOfAReplacedLinkDoesNotHideTheLiveOne) {
  // b dials a (link z); a's io thread announcing z stalls until a has dialled
  // b (link x, dialled by the smaller id, which replaces z on both sides) and
  // announced x; then z's announcement runs, late. The peer slot must keep x.
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::shared_ptr<runtime::connection>> ups;
  std::atomic<bool> late_up_released{false};
  runtime::node_config ca;
  ca.secret.value = "s";
  ca.listen = {"tcp://127.0.0.1:0"};
  ca.node_id = 10;
  ca.node_name = "a";
  ca.io_threads = 2;
  ca.reconnect_min = 1h;  // no redial takes an io thread out of turn
  ca.reconnect_max = 1h;
  ca.on_link_up = [&](const std::shared_ptr<runtime::connection>& c) {
    std::unique_lock lock(m);
    ups.push_back(c);
    cv.notify_all();
    if (ups.size() != 1) return;
    cv.wait_for(lock, 10s, [&] { return ups.size() >= 2; });
    lock.unlock();
    std::this_thread::sleep_for(100ms);
    late_up_released = true;
  };
  runtime::node_config cb = ca;
  cb.node_id = 20;
  cb.node_name = "b";
  cb.io_threads = 1;
  cb.on_link_up = {};
  actor_system a{actor_system_config{.worker_threads = 1}}, b{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(a.start_client<account>(ca));
  ASSERT_TRUE(b.start_client<account>(cb));
  auto on_b = b.spawn<account>(herald::name("acct")).value();
  auto on_a = a.spawn<account>(herald::name("alice")).value();
  // b dials a: link z. Its lookup cannot finish while a's io thread of z is
  // held, so it only starts the dial.
  (void)b.remote_lookup<account>(a.listen_addresses().at(0), "alice", 10ms);
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return ups.size() >= 1; })) << "z is up on a";
  }
  // a's io threads are handed out in turn (accepts, dials): one dial to a
  // dead port puts link x on the io thread that z does not hold.
  (void)a.remote_lookup<account>("tcp://127.0.0.1:1", "nobody", 10ms);
  auto far = a.remote_lookup<account>(b.listen_addresses().at(0), "acct", 10s);
  ASSERT_TRUE(far) << far.error().message();
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return ups.size() >= 2; }));
  }
  for (int i = 0; i < 2000 && !late_up_released; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(late_up_released);
  // The late announcement runs right after the hook returns; give it time to
  // land, then the slot must still hold the live link.
  std::this_thread::sleep_for(200ms);
  std::shared_ptr<runtime::connection> live;
  {
    std::lock_guard lock(m);
    ASSERT_EQ(ups.size(), 2u);
    live = ups.back();
    EXPECT_FALSE(ups.front()->is_open()) << "z was replaced";
  }
  auto held = far->remote()->peer->current();
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->is_open());
  EXPECT_EQ(held, live) << "the slot holds the live link, not the replaced one";
  ASSERT_TRUE(far->tell(deposit{5}));
  auto v = far->ask(balance{}, 5s).get();
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(*v, 5);
}

TEST(RemoteNode, RemoteLookupWithoutANodeSaysWhatIsMissing) {
  actor_system a{actor_system_config{.worker_threads = 1}};
  auto r = a.remote_lookup<account>("tcp://127.0.0.1:1", "x", 10ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace herald
