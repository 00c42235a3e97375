#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include <random>

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

INSTANTIATE_TEST_SUITE_P(Sockets, HostilePeer, ::testing::Values(transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace herald::runtime::test
