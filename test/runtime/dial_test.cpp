// The node's dial path: host names resolved through DNS at every attempt,
// IPv6 literals, a connect timeout, and redials that bring a link back soon
// after its peer becomes reachable.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_harness.hpp"

namespace herald::runtime::test {
namespace {

std::uint16_t port_of(const std::string& address) {
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

bool has_ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// Brings a up against a b listening on `listen`, a dialling `dial(b's bound address)`.
void expect_link(const std::string& listen, const std::function<std::string(const std::string&)>& dial) {
  recording_sink sink_a, sink_b;
  log_capture log_a;
  auto cb = base_config("b", transport_kind::tcp, nullptr);
  cb.listen = {listen};
  auto ca = base_config("a", transport_kind::tcp, nullptr);
  ca.listen.clear();
  ca.log = log_a.hook();
  auto b = node::start(cb, sink_b);
  ASSERT_TRUE(b) << b.error().message();
  auto a = node::start(ca, sink_a);
  ASSERT_TRUE(a) << a.error().message();
  const std::string bound = (*b)->listen_addresses().front();
  (*a)->connect(dial(bound));
  ASSERT_TRUE(sink_a.wait([&] { return sink_a.ups.size() == 1; })) << bound << "\n" << log_a.all();
  auto c = (*a)->connection_to((*b)->id());
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->send_bytes(tell_header(), {}));
  EXPECT_TRUE(sink_b.wait([&] { return sink_b.frames.size() == 1; }));
  c.reset();
  sink_b.clear_frames();
  (*a)->shutdown();
  (*b)->shutdown();
}

TEST(Dial, ResolvesAHostNameThroughTheResolver) {
  // "localhost" is not a numeric address: it goes through the resolver,
  // which may answer ::1 first; every address it gives is tried.
  expect_link("tcp://127.0.0.1:0",
              [](const std::string& bound) { return "tcp://localhost:" + std::to_string(port_of(bound)); });
}

TEST(Dial, ListensAndDialsAnIpv6Literal) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  expect_link("tcp://[::1]:0", [](const std::string& bound) {
    EXPECT_EQ(bound.rfind("tcp://[::1]:", 0), 0u) << bound;
    return bound;
  });
}

TEST(Dial, NameThatDoesNotResolveFailsClearlyAndIsRetried) {
  recording_sink sink;
  log_capture log;
  auto cfg = base_config("a", transport_kind::tcp, nullptr);
  cfg.listen.clear();
  cfg.reconnect_min = 20ms;
  cfg.reconnect_max = 50ms;
  cfg.log = log.hook();
  auto a = node::start(cfg, sink);
  ASSERT_TRUE(a) << a.error().message();
  // RFC 6761: .invalid never resolves.
  (*a)->connect("tcp://no-such-host.invalid:7000");
  EXPECT_TRUE(
      log.wait_for("cannot dial tcp://no-such-host.invalid:7000: cannot resolve 'no-such-host.invalid'") ||
      log.wait_for("timed out resolving 'no-such-host.invalid'"))
      << log.all();
  // Retried: the first failure is a warning, later ones count their attempt.
  EXPECT_TRUE(log.wait_for("(attempt 3)")) << log.all();
  const auto st = (*a)->transport_counters();
  EXPECT_GE(st.dials_failed, 3u);
  EXPECT_GE(st.resolves_failed + st.dials_timed_out, 3u);
  EXPECT_TRUE(sink.locked([&] { return sink.ups.empty(); }));
}

// A TCP listener that never accepts, its accept queue filled: the kernel
// drops further SYNs, so a dial to it sits in SYN-SENT.
class blackhole {
 public:
  blackhole() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listener_, 0) != 0)
      return;
    socklen_t len = sizeof sa;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    // Fill the accept queue (backlog 0 holds one), then check that one more
    // connect does not complete.
    for (int i = 0; i < 3; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      fillers_.push_back(fd);
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 300) == 0) {  // still connecting: the queue is full
        blackholed_ = true;
        return;
      }
    }
  }
  ~blackhole() { release(); }

  // Closes the listener and the connections queued on it: the port is free.
  void release() {
    for (int fd : fillers_) ::close(fd);
    fillers_.clear();
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
  }
  bool blackholed() const { return blackholed_; }
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
  bool blackholed_ = false;
};

TEST(Dial, ConnectTimesOutOnABlackholeAndTheLinkIsUpSoonAfterThePeerAppears) {
  blackhole hole;
  if (!hole.blackholed()) GTEST_SKIP() << "this kernel accepts SYNs beyond a full accept queue";
  recording_sink sink_a, sink_b;
  log_capture log_a, log_b;
  auto ca = base_config("a", transport_kind::tcp, nullptr);
  ca.listen.clear();
  ca.connect_timeout = 300ms;
  ca.log = log_a.hook();
  auto a = node::start(ca, sink_a);
  ASSERT_TRUE(a) << a.error().message();
  const std::string address = "tcp://127.0.0.1:" + std::to_string(hole.port());
  const auto t0 = std::chrono::steady_clock::now();
  (*a)->connect(address);
  ASSERT_TRUE(log_a.wait_for("cannot connect to " + address + ": timed out connecting after 300 ms"))
      << log_a.all();
  // Well before the kernel's first SYN retransmission gave up (over a minute).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // And redialled: a second timed-out attempt.
  ASSERT_TRUE(sink_a.wait([&] { return (*a)->transport_counters().dials_timed_out >= 2; }, 10s))
      << log_a.all();
  // The peer appears at that address: the link is up within about
  // connect_timeout + reconnect_max of that moment.
  hole.release();
  auto cb = base_config("b", transport_kind::tcp, nullptr);
  cb.listen = {address};
  cb.log = log_b.hook();
  auto b = node::start(cb, sink_b);
  ASSERT_TRUE(b) << b.error().message();
  const auto reachable = std::chrono::steady_clock::now();
  ASSERT_TRUE(sink_a.wait([&] { return sink_a.ups.size() == 1; }, 10s)) << log_a.all() << log_b.all();
  const auto took = std::chrono::steady_clock::now() - reachable;
  EXPECT_LT(took, 2500ms) << "link up " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms after the peer became reachable";
  (*a)->shutdown();
  (*b)->shutdown();
}

TEST(Dial, ConnectOfAnAddressWaitingForItsBackoffDialsAtOnce) {
  recording_sink sink_a, sink_b;
  log_capture log_a;
  auto ca = base_config("a", transport_kind::tcp, nullptr);
  ca.listen.clear();
  ca.reconnect_min = 50ms;
  ca.reconnect_max = 60s;  // the backoff alone would wait far longer than the test
  ca.log = log_a.hook();
  auto a = node::start(ca, sink_a);
  ASSERT_TRUE(a) << a.error().message();
  // A port with nothing listening: refused at once, again and again, until
  // the backoff has grown past the test's deadline.
  auto cb = base_config("b", transport_kind::tcp, nullptr);
  auto probe = node::start(cb, sink_b);
  ASSERT_TRUE(probe);
  const std::string address = (*probe)->listen_addresses().front();
  (*probe)->shutdown();
  (*a)->connect(address);
  ASSERT_TRUE(log_a.wait_for("(attempt 6)", 20s)) << log_a.all();  // the next wait is >= 1.6 s
  recording_sink sink_b2;
  cb.listen = {address};
  auto b = node::start(cb, sink_b2);
  ASSERT_TRUE(b) << b.error().message();
  // The cluster layer calls connect whenever it has gossip for the address.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(sink_a.wait(
      [&] {
        (*a)->connect(address);
        return sink_a.ups.size() == 1;
      },
      10s))
      << log_a.all();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  (*a)->shutdown();
  (*b)->shutdown();
}

}  // namespace
}  // namespace herald::runtime::test
