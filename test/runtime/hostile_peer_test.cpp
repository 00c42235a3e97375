#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include <random>

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

std::vector<std::byte> control_frame(wire::frame_kind kind, const std::vector<std::byte>& payload) {
  wire::frame_header h;
  h.kind = kind;
  h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  h.payload_length = static_cast<std::uint32_t>(payload.size());
  std::vector<std::byte> out(wire::frame_size(payload.size()), std::byte{0});
  wire::encode_header(h, out.data());
  std::copy(payload.begin(), payload.end(), out.begin() + wire::frame_header::size);
  return out;
}

// Plays a peer node by hand: reads the node's hello, answers with its own
// hello and a proof of the shared secret, so the node accepts it.
bool raw_handshake(raw_peer& peer, const std::string& secret) {
  wire::hello mine;
  mine.node_id = 4242;
  mine.incarnation = 1;
  mine.node_name = "raw";
  return raw_dial_handshake(peer, secret, mine).has_value();
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
