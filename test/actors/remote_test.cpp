#include "herald/actors/remote.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "herald/herald.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "support/test_support.hpp"

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

enum class transport { tcp, unix_socket, inproc };

std::string listen_address(transport t, const std::string& tag) {
  static std::atomic<int> counter{0};
  auto unique = std::to_string(::getpid()) + "-" + tag + "-" + std::to_string(counter.fetch_add(1));
  switch (t) {
    case transport::tcp: return "tcp://127.0.0.1:0";
    case transport::unix_socket: return "unix:///tmp/herald-test-" + unique + ".sock";
    case transport::inproc: return "inproc://" + unique;
  }
  return {};
}

// Two actor systems, each with its own node, in one process.
struct two_nodes {
  explicit two_nodes(transport t, std::size_t workers = 2) {
    for (auto* s : {&a, &b}) {
      runtime::node_config c;
      c.secret.value = "remote-test-secret";
      c.inproc = &inproc;
      c.node_name = s == &a ? "a" : "b";
      c.listen = {listen_address(t, c.node_name)};
      *s = std::make_unique<actor_system>(actor_system_config{.worker_threads = workers});
      auto ok = (*s)->start_node<account>(c);
      EXPECT_TRUE(ok) << ok.error().message();
    }
    b_address = b->listen_addresses().at(0);
  }
  runtime::inproc_network inproc;
  std::unique_ptr<actor_system> a, b;
  std::string b_address;
};

class Remote : public ::testing::TestWithParam<transport> {};

INSTANTIATE_TEST_SUITE_P(Transports, Remote,
                         ::testing::Values(transport::tcp, transport::unix_socket, transport::inproc),
                         [](const auto& info) {
                           switch (info.param) {
                             case transport::tcp: return std::string("tcp");
                             case transport::unix_socket: return std::string("unix");
                             case transport::inproc: return std::string("inproc");
                           }
                           return std::string("unknown");
                         });

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

TEST(RemoteNode, RemoteLookupWithoutANodeSaysWhatIsMissing) {
  actor_system a{actor_system_config{.worker_threads = 1}};
  auto r = a.remote_lookup<account>("tcp://127.0.0.1:1", "x", 10ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace herald
