#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <random>
#include <thread>

#include "herald/wire/handshake.hpp"

#include "node_harness.hpp"
#include "raw_peer.hpp"

namespace herald::runtime::test {
namespace {

class HostilePeer : public ::testing::TestWithParam<transport_kind> {
 protected:
  void SetUp() override {
    auto c = base_config("server", GetParam(), nullptr);
    c.handshake_timeout = 2s;
    c.log = log_.hook();
    auto n = node::start(c, sink_);
    ASSERT_TRUE(n) << n.error().message();
    server_ = std::move(*n);
    address_ = server_->listen_addresses().front();
  }
  void TearDown() override {
    if (server_) server_->shutdown();
  }

  // A well-behaved node still gets through and is served.
  void expect_still_serving() {
    recording_sink sink;
    auto c = base_config("good", GetParam(), nullptr);
    c.listen.clear();
    auto good = node::start(c, sink);
    ASSERT_TRUE(good);
    (*good)->connect(address_);
    ASSERT_TRUE(sink.wait([&] { return !sink.ups.empty(); })) << "the node keeps serving other peers";
    auto conn = (*good)->connection_to(server_->id());
    ASSERT_TRUE(conn);
    ASSERT_TRUE(conn->send_bytes(tell_header(), {}));
    EXPECT_TRUE(sink_.wait([&] { return !sink_.frames.empty(); }));
    sink_.clear_frames();
    conn.reset();
    sink.ups.clear();
    (*good)->shutdown();
  }

  recording_sink sink_;
  log_capture log_;
  std::unique_ptr<node> server_;
  std::string address_;
};

std::vector<std::byte> header_bytes(std::uint32_t length, std::uint8_t kind, std::uint8_t flags) {
  std::vector<std::byte> b(32, std::byte{0});
  std::memcpy(b.data(), &length, 4);  // little-endian host
  b[4] = static_cast<std::byte>(kind);
  b[5] = static_cast<std::byte>(flags);
  return b;
}

TEST_P(HostilePeer, HostileLengthPrefixIsDisconnectedWithoutAllocating) {
  const auto before = server_->pool_stats();
  raw_peer peer(address_);
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.send(header_bytes(0xFFFFFFFFu, static_cast<std::uint8_t>(wire::frame_kind::handshake), 0x03)));
  EXPECT_TRUE(peer.closed_by_peer(5s)) << "a 4 GiB length prefix loses the connection";
  EXPECT_TRUE(log_.wait_for("frame_too_large")) << log_.all();
  EXPECT_EQ(server_->pool_stats().bytes_allocated, before.bytes_allocated) << "no buffer was sized by the prefix";
  expect_still_serving();
}

TEST_P(HostilePeer, LargeTellBeforeTheHandshakeIsDisconnectedWithoutAllocating) {
  const auto before = server_->pool_stats();
  raw_peer peer(address_);
  ASSERT_TRUE(peer.connected());
  auto h = header_bytes(1u << 20, static_cast<std::uint8_t>(wire::frame_kind::tell), 0);
  h[16] = std::byte{1};  // type id
  ASSERT_TRUE(peer.send(h));
  EXPECT_TRUE(peer.closed_by_peer(5s)) << "unauthenticated peers get the handshake's small frame budget";
  EXPECT_EQ(server_->pool_stats().bytes_allocated, before.bytes_allocated);
  expect_still_serving();
}

TEST_P(HostilePeer, DataFrameBeforeTheHandshakeIsRefused) {
  raw_peer peer(address_);
  ASSERT_TRUE(peer.connected());
  auto h = header_bytes(8, static_cast<std::uint8_t>(wire::frame_kind::tell), 0);
  h[16] = std::byte{1};
  h.resize(40, std::byte{0});
  ASSERT_TRUE(peer.send(h));
  EXPECT_TRUE(peer.closed_by_peer(5s));
  EXPECT_TRUE(log_.wait_for("before the handshake finished")) << log_.all();
  EXPECT_TRUE(sink_.locked([&] { return sink_.frames.empty(); })) << "nothing reaches the sink";
  expect_still_serving();
}

TEST_P(HostilePeer, GarbageIsDisconnected) {
  raw_peer peer(address_);
  ASSERT_TRUE(peer.connected());
  std::mt19937 rng(1);
  std::vector<std::byte> junk(4096);
  for (auto& b : junk) b = static_cast<std::byte>(rng());
  peer.send(junk);  // may fail half way once the node hangs up
  EXPECT_TRUE(peer.closed_by_peer(5s));
  expect_still_serving();
}

TEST_P(HostilePeer, ManyHostilePeersAtOnceLeaveTheNodeServing) {
  std::vector<std::unique_ptr<raw_peer>> peers;
  for (int i = 0; i < 32; ++i) {
    peers.push_back(std::make_unique<raw_peer>(address_));
    peers.back()->send(header_bytes(0xFFFFFFF0u, static_cast<std::uint8_t>(i % 12), static_cast<std::uint8_t>(i)));
  }
  for (auto& p : peers) EXPECT_TRUE(p->closed_by_peer(5s));
  expect_still_serving();
}

TEST_P(HostilePeer, FramesDribbledOneByteAtATimeAreReassembled) {
  raw_peer peer(address_);
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(raw_handshake(peer, "test-secret"));
  ASSERT_TRUE(sink_.wait([&] { return !sink_.ups.empty(); })) << "the hand-made handshake is accepted\n" << log_.all();
  std::vector<std::byte> stream;
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto h = header_bytes(5 + i, static_cast<std::uint8_t>(wire::frame_kind::tell), 0);
    h[16] = std::byte{1};
    h.resize(wire::frame_size(5 + i), std::byte{static_cast<unsigned char>('a' + i)});
    stream.insert(stream.end(), h.begin(), h.end());
  }
  // An optional kind (>= 0x80) the node does not know is skipped.
  auto opt = header_bytes(3, 0x90, 0);
  opt.resize(wire::frame_size(3), std::byte{0});
  stream.insert(stream.begin() + 40, opt.begin(), opt.end());
  for (const std::byte b : stream) ASSERT_TRUE(peer.send(std::span(&b, 1)));
  ASSERT_TRUE(sink_.wait([&] { return sink_.frames.size() == 3; })) << log_.all();
  sink_.locked([&] {
    for (std::uint32_t i = 0; i < 3; ++i) {
      EXPECT_EQ(sink_.frames[i].bytes().size(), 5 + i);
      EXPECT_EQ(sink_.frames[i].bytes()[0], std::byte{static_cast<unsigned char>('a' + i)});
    }
  });
}

TEST_P(HostilePeer, AuthenticatedPeerWithAHostileLengthLosesOnlyItsConnection) {
  raw_peer peer(address_);
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(raw_handshake(peer, "test-secret"));
  ASSERT_TRUE(sink_.wait([&] { return !sink_.ups.empty(); }));
  const auto before = server_->pool_stats();
  auto h = header_bytes(0xFFFFFFFFu, static_cast<std::uint8_t>(wire::frame_kind::tell), 0);
  h[16] = std::byte{1};
  ASSERT_TRUE(peer.send(h));
  EXPECT_TRUE(peer.closed_by_peer(5s));
  EXPECT_TRUE(log_.wait_for("frame_too_large")) << log_.all();
  EXPECT_EQ(server_->pool_stats().bytes_allocated, before.bytes_allocated) << "max_frame_size is checked first";
  EXPECT_TRUE(sink_.wait([&] { return !sink_.downs.empty(); })) << "the sink hears the peer is down";
  expect_still_serving();
}

INSTANTIATE_TEST_SUITE_P(Sockets, HostilePeer, ::testing::Values(transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace herald::runtime::test

namespace herald::runtime::test {
namespace {

// Counts the log lines that contain `needle`.
struct line_counter {
  std::string needle;
  std::atomic<std::size_t> lines{0};
  std::atomic<std::size_t> with_suppressed_count{0};
  std::function<void(log_level, std::string_view)> hook() {
    return [this](log_level, std::string_view m) {
      if (m.find(needle) == std::string_view::npos) return;
      lines.fetch_add(1);
      if (m.find("more of this kind") != std::string_view::npos) with_suppressed_count.fetch_add(1);
    };
  }
};

TEST(Admission, TenThousandWrongProofsAreRefusedCountedAndLoggedAtMostOncePerSecond) {
  line_counter log{"auth_failed"};
  recording_sink sink;
  auto c = base_config("server", transport_kind::tcp, nullptr);
  c.log = log.hook();
  c.max_pending_per_source = 64;
  auto n = node::start(c, sink);
  ASSERT_TRUE(n) << n.error().message();
  const std::string address = (*n)->listen_addresses().front();
  constexpr int total = 10000;
  constexpr int batch = 50;
  const auto start = std::chrono::steady_clock::now();
  int refused_with_close = 0;
  for (int done = 0; done < total; done += batch) {
    std::vector<std::unique_ptr<raw_peer>> peers;
    for (int i = 0; i < batch; ++i) {
      peers.push_back(std::make_unique<raw_peer>(address));
      wire::hello h;
      h.node_id = 5000 + static_cast<std::uint64_t>(done + i);
      h.incarnation = 1;
      h.node_name = "guesser";
      wire::proof wrong;
      wrong.mac[0] = static_cast<std::uint8_t>(i);
      ASSERT_TRUE(peers.back()->send_frame(wire::frame_kind::handshake, wire::encode(h)));
      ASSERT_TRUE(peers.back()->send_frame(wire::frame_kind::handshake_ack, wire::encode(wrong)));
    }
    for (auto& p : peers) {
      auto notice = read_close(*p);
      if (notice && notice->code == errc::auth_failed) ++refused_with_close;
    }
  }
  ASSERT_TRUE(sink.wait([&] { return (*n)->admission().auth_failed == total; }, 30s))
      << (*n)->admission().auth_failed;
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(refused_with_close, total) << "every guesser is told why";
  EXPECT_TRUE(sink.locked([&] { return sink.ups.empty(); }));
  EXPECT_LE(static_cast<double>(log.lines.load()), seconds + 1.0)
      << log.lines.load() << " auth_failed lines in " << seconds << " s";
  EXPECT_GE(log.lines.load(), 1u);
  std::printf("%d wrong proofs in %.1f s: %zu log lines\n", total, seconds, log.lines.load());
  if (seconds > 1.5) {
    EXPECT_GE(log.with_suppressed_count.load(), 1u) << "a line says how many were suppressed";
  }
  (*n)->shutdown();
}

TEST(Admission, HandshakesOverTheCapsAreClosedAtOnceAndCounted) {
  recording_sink sink;
  auto c = base_config("server", transport_kind::tcp, nullptr);
  c.max_pending_per_source = 4;
  c.log = [](log_level, std::string_view) {};
  auto n = node::start(c, sink);
  ASSERT_TRUE(n);
  std::vector<std::unique_ptr<raw_peer>> silent;
  for (int i = 0; i < 10; ++i) silent.push_back(std::make_unique<raw_peer>((*n)->listen_addresses().front()));
  ASSERT_TRUE(sink.wait([&] { return (*n)->admission().per_source_cap == 6; })) << (*n)->admission().per_source_cap;
  EXPECT_EQ((*n)->admission().handshaking, 4u);
  int closed = 0;
  for (auto& p : silent)
    if (p->closed_by_peer(200ms)) ++closed;
  EXPECT_EQ(closed, 6) << "the connections over the cap are closed, the others wait for the handshake";
  (*n)->shutdown();
}

// The node runs in a child process whose descriptor limit is 256; the test
// holds 400 connections to it.
TEST(Admission, OutOfDescriptorsTheAcceptLoopBacksOffAndRecovers) {
  int to_child[2], from_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(from_child), 0);
  struct result_block {
    std::uint16_t port = 0;
    double cpu_fraction = 1;
    std::uint64_t accept_lines = 0;
    std::uint64_t accept_errors = 0;
    bool recovered = false;
  };
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    result_block r;
    rlimit lim{256, 256};
    ::setrlimit(RLIMIT_NOFILE, &lim);
    line_counter log{"accept failed"};
    recording_sink sink;
    auto c = base_config("server", transport_kind::tcp, nullptr);
    c.log = log.hook();
    c.max_pending_handshakes = 1000;
    c.max_pending_per_source = 1000;
    c.handshake_timeout = 60s;
    auto n = node::start(c, sink);
    if (!n) ::_exit(2);
    const std::string a = (*n)->listen_addresses().front();
    r.port = static_cast<std::uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
    (void)!::write(from_child[1], &r, sizeof r);
    char go;
    if (::read(to_child[0], &go, 1) != 1) ::_exit(3);
    // The 400 connections are in: measure for 3 s.
    auto cpu = [] {
      rusage u{};
      ::getrusage(RUSAGE_SELF, &u);
      return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    };
    const double c0 = cpu();
    std::this_thread::sleep_for(3s);
    r.cpu_fraction = (cpu() - c0) / 3.0;
    r.accept_lines = log.lines.load();
    r.accept_errors = (*n)->admission().accept_errors;
    (void)!::write(from_child[1], &r, sizeof r);
    if (::read(to_child[0], &go, 1) != 1) ::_exit(4);
    // The test closed its 400 and dials once more, properly.
    r.recovered = sink.wait([&] { return !sink.ups.empty(); }, 20s);
    (void)!::write(from_child[1], &r, sizeof r);
    ::_exit(0);
  }
  result_block r;
  ASSERT_EQ(::read(from_child[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  const std::string address = "tcp://127.0.0.1:" + std::to_string(r.port);
  std::vector<std::unique_ptr<raw_peer>> peers;
  for (int i = 0; i < 400; ++i) {
    peers.push_back(std::make_unique<raw_peer>(address));
    EXPECT_TRUE(peers.back()->connected()) << i;
  }
  std::this_thread::sleep_for(200ms);  // let the child run out of descriptors
  ASSERT_EQ(::write(to_child[1], "g", 1), 1);
  ASSERT_EQ(::read(from_child[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  EXPECT_GE(r.accept_errors, 1u) << "the child ran out of descriptors";
  EXPECT_LT(r.cpu_fraction, 0.20) << "no spinning on EMFILE";
  EXPECT_LE(r.accept_lines, 6u) << "at most about one line per second";
  std::printf("out of descriptors for 3 s: cpu %.1f %%, %llu accept errors, %llu log lines\n", 100 * r.cpu_fraction,
              static_cast<unsigned long long>(r.accept_errors), static_cast<unsigned long long>(r.accept_lines));
  peers.clear();
  ASSERT_EQ(::write(to_child[1], "c", 1), 1);
  raw_peer good(address);
  ASSERT_TRUE(good.connected());
  wire::hello mine;
  mine.node_id = 4242;
  mine.incarnation = 1;
  mine.node_name = "good";
  EXPECT_TRUE(raw_dial_handshake(good, "test-secret", mine));
  ASSERT_EQ(::read(from_child[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  EXPECT_TRUE(r.recovered) << "accepting again once descriptors are free";
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
}

}  // namespace
}  // namespace herald::runtime::test
