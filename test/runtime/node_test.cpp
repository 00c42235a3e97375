#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "node_harness.hpp"

namespace herald::runtime::test {
namespace {

class Node : public ::testing::TestWithParam<transport_kind> {};

// Sends tells on the current connection until one arrives at `to`. A link
// being replaced refuses sends (node_down) while it drains: try again a
// little later, on whatever link is current then.
bool link_works(node& from, node& to, recording_sink& to_sink) {
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto c = from.connection_to(to.id());
    if (!c || !c->send_bytes(tell_header(), {})) {
      std::this_thread::sleep_for(25ms);
      continue;
    }
    if (to_sink.wait([&] { return !to_sink.frames.empty(); }, 500ms)) return true;
  }
  return false;
}

TEST_P(Node, SimultaneousConnectsLeaveExactlyOneConnectionPerPair) {
  for (int round = 0; round < 10; ++round) {
    auto p = connect_pair(GetParam());
    ASSERT_TRUE(p->a && p->b);
    p->b->connect(p->a->listen_addresses().front());  // both dial at once
    ASSERT_TRUE(p->sink_a.wait([&] {
      return p->a->connections().size() == 1 && p->b->connections().size() == 1;
    })) << "round " << round << "\n" << p->log_a.all();
    EXPECT_TRUE(link_works(*p->a, *p->b, p->sink_b)) << "round " << round;
    EXPECT_TRUE(link_works(*p->b, *p->a, p->sink_a)) << "round " << round;
    EXPECT_EQ(p->a->connections().size(), 1u) << "one connection per pair of nodes";
    EXPECT_EQ(p->b->connections().size(), 1u);
  }
}

TEST_P(Node, RedialsWithBackoffWhenThePeerComesBack) {
  inproc_network net;
  recording_sink sink_a, sink_b1, sink_b2;
  log_capture log_a;
  auto ca = base_config("a", GetParam(), &net);
  ca.listen.clear();
  ca.reconnect_min = 10ms;
  ca.reconnect_max = 50ms;
  ca.log = log_a.hook();
  auto cb = base_config("b", GetParam(), &net);
  log_capture log_b;
  cb.log = log_b.hook();
  auto b1 = node::start(cb, sink_b1);
  ASSERT_TRUE(b1) << b1.error().message();
  const std::string address = (*b1)->listen_addresses().front();
  auto a = node::start(ca, sink_a);
  ASSERT_TRUE(a);
  (*a)->connect(address);
  ASSERT_TRUE(sink_a.wait([&] { return sink_a.ups.size() == 1; }));
  const auto first_id = (*b1)->id();
  (*b1)->shutdown();
  ASSERT_TRUE(sink_a.wait([&] { return sink_a.downs.size() == 1; })) << "a notices b is gone";
  EXPECT_EQ(sink_a.locked([&] { return sink_a.downs[0].first.node_id; }), first_id);
  // b restarts at the same address, a new incarnation; a finds it by itself.
  cb.listen = {address};
  auto b2 = node::start(cb, sink_b2);
  ASSERT_TRUE(b2) << b2.error().message();
  ASSERT_TRUE(sink_a.wait([&] { return sink_a.ups.size() == 2; })) << log_a.all();
  auto c = (*a)->connection_to((*b2)->id());
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->send_bytes(tell_header(), {}));
  EXPECT_TRUE(sink_b2.wait([&] { return !sink_b2.frames.empty(); }));
  c.reset();
  sink_b2.clear_frames();
  (*a)->shutdown();
  (*b2)->shutdown();
}

TEST_P(Node, ShutdownFailsPendingAsksAndReportsThePeerDown) {
  auto p = up_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  p->sink_b.on_frame_hook = [](const std::shared_ptr<connection>&, inbound_frame) {};
  std::atomic<int> failed{0};
  wire::frame_header h;
  h.kind = wire::frame_kind::ask;
  h.type_id = 1;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(p->a_to_b->request(h, 0, [](std::span<std::byte>) {}, connection::clock::now() + 60s,
                                   [&](result<inbound_frame> r) {
                                     if (!r && r.error().code() == errc::node_down) failed.fetch_add(1);
                                   }));
  }
  p->a->shutdown();
  EXPECT_EQ(failed.load(), 10) << "shutdown returns after every pending ask failed with node_down";
  EXPECT_TRUE(p->sink_b.wait([&] { return !p->sink_b.downs.empty(); })) << "b hears that a left";
  auto r = p->a_to_b->send_bytes(tell_header(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::node_down) << "a connection held past shutdown fails cleanly";
}

INSTANTIATE_TEST_SUITE_P(Transports, Node,
                         ::testing::Values(transport_kind::inproc, transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

TEST(NodeAddress, RefusesAnUnknownScheme) {
  recording_sink sink;
  node_config c;
  c.secret.value = "s";
  c.listen = {"udp://127.0.0.1:1"};
  auto n = node::start(c, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), errc::invalid_argument);
}

TEST(NodeAddress, IdleConnectionDoesNoWork) {
  auto p = up_pair(transport_kind::tcp);
  ASSERT_TRUE(p->a_to_b);
  // The first credit frame of each side is part of bringing the link up.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (p->a_to_b->stats().credits_received == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(p->a_to_b->stats().credits_received, 1u) << "b grants a's first window once the link is up";
  const auto before = p->a_to_b->stats();
  std::this_thread::sleep_for(100ms);  // measuring idleness needs elapsed time
  const auto after = p->a_to_b->stats();
  EXPECT_EQ(after.writev_calls, before.writev_calls) << "no writes without frames";
  EXPECT_EQ(after.frames_received, before.frames_received);
}

TEST(NodeDuplicates, TwoDialsOfOneNodeSettleOnOneLinkThatBothEndsKeep) {
  // The same node dialled under two names at once, with two io threads on
  // each side: whatever the interleaving, both ends end with one open link
  // and nobody saw the peer go down.
  for (int round = 0; round < 10; ++round) {
    recording_sink sink_a, sink_b;
    auto ca = base_config("a", transport_kind::tcp, nullptr);
    auto cb = base_config("b", transport_kind::tcp, nullptr);
    ca.io_threads = cb.io_threads = 2;
    ca.log = cb.log = [](log_level, std::string_view) {};
    auto b = node::start(cb, sink_b);
    auto a = node::start(ca, sink_a);
    ASSERT_TRUE(a && b);
    const std::string addr = (*b)->listen_addresses().front();
    const std::string port = addr.substr(addr.rfind(':') + 1);
    (*a)->connect("tcp://127.0.0.1:" + port);
    (*a)->connect("tcp://localhost:" + port);
    ASSERT_TRUE(sink_a.wait([&] {
      auto x = (*a)->connection_to((*b)->id());
      auto y = (*b)->connection_to((*a)->id());
      return x && y && x->is_open() && y->is_open() && (*a)->admission().handshaking == 0 &&
             (*b)->admission().handshaking == 0;
    })) << "round " << round;
    auto x = (*a)->connection_to((*b)->id());
    auto y = (*b)->connection_to((*a)->id());
    ASSERT_TRUE(x->send_bytes(tell_header(), {}));
    ASSERT_TRUE(sink_b.wait([&] { return !sink_b.frames.empty(); })) << "the kept link carries a frame";
    EXPECT_TRUE(sink_a.locked([&] { return sink_a.downs.empty(); })) << "round " << round;
    EXPECT_TRUE(sink_b.locked([&] { return sink_b.downs.empty(); })) << "round " << round;
    EXPECT_EQ((*a)->connection_to((*b)->id()), x);
    EXPECT_EQ((*b)->connection_to((*a)->id()), y);
    sink_b.clear_frames();
    x.reset();
    y.reset();
    (*a)->shutdown();
    (*b)->shutdown();
  }
}

}  // namespace
}  // namespace herald::runtime::test
