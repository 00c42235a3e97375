#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include "herald/wire/handshake.hpp"
#include "node_harness.hpp"
#include "raw_peer.hpp"

namespace herald::runtime::test {
namespace {

// Two nodes that must refuse each other: each side's log names the reason,
// and neither ever reports the other up.
void expect_refused_on_both_sides(node_pair& p, const std::string& reason) {
  EXPECT_TRUE(p.log_a.wait_for(reason)) << "a logs " << reason << ":\n" << p.log_a.all();
  EXPECT_TRUE(p.log_b.wait_for(reason)) << "b logs " << reason << ":\n" << p.log_b.all();
  EXPECT_TRUE(p.sink_a.locked([&] { return p.sink_a.ups.empty(); })) << "a never sees b up";
  EXPECT_TRUE(p.sink_b.locked([&] { return p.sink_b.ups.empty(); })) << "b never sees a up";
  EXPECT_EQ(p.a->connection_to(p.b->id()), nullptr);
}

class Handshake : public ::testing::TestWithParam<transport_kind> {};

TEST_P(Handshake, WrongSecretIsRefusedWithAClearErrorOnBothSides) {
  auto p = connect_pair(GetParam(), [](node_config& c) { c.secret.value = "not-the-secret"; });
  ASSERT_TRUE(p->a && p->b);
  expect_refused_on_both_sides(*p, "auth_failed");
  EXPECT_TRUE(p->log_a.wait_for("did not prove the cluster secret"));
}

TEST_P(Handshake, ProtocolVersionMismatchIsRefusedOnBothSides) {
  auto p = connect_pair(GetParam(), [](node_config& c) { c.protocol_version = 3; });
  ASSERT_TRUE(p->a && p->b);
  expect_refused_on_both_sides(*p, "version_mismatch");
  EXPECT_TRUE(p->log_b.wait_for("speaks protocol version 3, this node 2")) << p->log_b.all();
}

TEST_P(Handshake, SchemaMismatchIsRefusedOnBothSides) {
  auto p = connect_pair(GetParam(), [](node_config& c) { c.schema_hash = 0xA; },
                        [](node_config& c) { c.schema_hash = 0xB; });
  ASSERT_TRUE(p->a && p->b);
  expect_refused_on_both_sides(*p, "schema_mismatch");
}

TEST_P(Handshake, MatchingSecretFromAFileAuthenticates) {
  const std::string path = "/tmp/herald-secret-" + std::to_string(::getpid());
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("test-secret\n", f);
    std::fclose(f);
  }
  auto p = up_pair(GetParam(), [&](node_config& c) {
    c.secret.value.clear();
    c.secret.file = path;
  });
  EXPECT_NE(p->a_to_b, nullptr) << "the file's secret, newline stripped, equals b's";
  std::remove(path.c_str());
}

TEST_P(Handshake, HandshakeTimeoutIsReportedOnBothSides) {
  // b's only io thread is held by its sink, so b cannot answer a's hello in
  // time; once released, b finds the connection a gave up on.
  auto p = up_pair(GetParam(), {}, [](node_config& c) { c.io_threads = 1; });
  ASSERT_TRUE(p->a_to_b);
  std::mutex gate;
  std::unique_lock held(gate);
  std::atomic<bool> stalled{false};
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame) {
    stalled = true;
    std::lock_guard wait(gate);
  };
  ASSERT_TRUE(p->a_to_b->send_bytes(tell_header(), {}));
  ASSERT_TRUE(p->sink_b.wait([&] { return stalled.load(); }));
  recording_sink sink_c;
  log_capture log_c;
  auto cc = base_config("c", GetParam(), &p->net);
  cc.listen.clear();
  cc.handshake_timeout = 200ms;
  cc.log = log_c.hook();
  auto c = node::start(cc, sink_c);
  ASSERT_TRUE(c);
  (*c)->connect(p->b->listen_addresses().front());
  EXPECT_TRUE(log_c.wait_for("handshake_failed: no complete handshake")) << log_c.all();
  held.unlock();
  EXPECT_TRUE(p->log_b.wait_for("refused by the peer: no complete handshake")) << p->log_b.all();
  (*c)->shutdown();
}

INSTANTIATE_TEST_SUITE_P(Transports, Handshake,
                         ::testing::Values(transport_kind::inproc, transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

TEST(HandshakeSecret, NodeRefusesToStartWithoutASecret) {
  recording_sink sink;
  node_config c;
  c.secret.env_var = "HERALD_TEST_UNSET_SECRET_VARIABLE";
  auto n = node::start(c, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), errc::invalid_argument);
  EXPECT_NE(n.error().message().find("HERALD_TEST_UNSET_SECRET_VARIABLE"), std::string::npos) << n.error().message();
}

TEST(HandshakeSecret, SecretComesFromTheEnvironmentVariable) {
  ::setenv("HERALD_TEST_SECRET_VARIABLE", "from-env", 1);
  secret_source s;
  s.env_var = "HERALD_TEST_SECRET_VARIABLE";
  auto v = load_secret(s);
  ::unsetenv("HERALD_TEST_SECRET_VARIABLE");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "from-env");
}

// A raw peer over a socket transport plays a peer that stops halfway.
class HandshakeRaw : public ::testing::TestWithParam<transport_kind> {};

std::vector<std::byte> frame_bytes(wire::frame_kind kind, const std::vector<std::byte>& payload) {
  wire::frame_header h;
  h.kind = kind;
  h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  h.payload_length = static_cast<std::uint32_t>(payload.size());
  std::vector<std::byte> out(wire::frame_header::size);
  wire::encode_header(h, out.data());
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize(wire::frame_size(payload.size()), std::byte{0});
  return out;
}

TEST_P(HandshakeRaw, SilentPeerIsDisconnectedWhenTheHandshakeTimesOut) {
  recording_sink sink;
  log_capture log;
  auto c = base_config("server", GetParam(), nullptr);
  c.handshake_timeout = 200ms;
  c.log = log.hook();
  auto n = node::start(c, sink);
  ASSERT_TRUE(n) << n.error().message();
  raw_peer peer((*n)->listen_addresses().front());
  ASSERT_TRUE(peer.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(peer.closed_by_peer()) << "the node hangs up on a silent peer";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms) << "not before the timeout";
  EXPECT_TRUE(log.wait_for("handshake_failed: no complete handshake")) << log.all();
}

TEST_P(HandshakeRaw, HalfAHandshakeIsDisconnectedAtTheTimeout) {
  recording_sink sink;
  log_capture log;
  auto c = base_config("server", GetParam(), nullptr);
  c.handshake_timeout = 200ms;
  c.log = log.hook();
  auto n = node::start(c, sink);
  ASSERT_TRUE(n) << n.error().message();
  raw_peer peer((*n)->listen_addresses().front());
  ASSERT_TRUE(peer.connected());
  wire::hello h;
  h.node_id = 77;
  h.incarnation = 1;
  h.node_name = "half";
  ASSERT_TRUE(peer.send(frame_bytes(wire::frame_kind::handshake, wire::encode(h))));
  EXPECT_TRUE(peer.closed_by_peer()) << "a hello without a proof does not keep the connection";
  EXPECT_TRUE(log.wait_for("handshake_failed")) << log.all();
  EXPECT_TRUE(sink.locked([&] { return sink.ups.empty(); }));
}

INSTANTIATE_TEST_SUITE_P(Sockets, HandshakeRaw, ::testing::Values(transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace herald::runtime::test
