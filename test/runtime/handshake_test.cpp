#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

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
  EXPECT_TRUE(p->log_b.wait_for("speaks protocol version 3, this node 4")) << p->log_b.all();
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


// ---- handshake v2 against an attacker ---------------------------------------

wire::hello decode_or_die(const std::vector<std::byte>& bytes) {
  alignas(8) std::byte aligned[4096];
  std::memcpy(aligned, bytes.data(), bytes.size());
  auto h = wire::decode_hello(std::span<const std::byte>(aligned, bytes.size()));
  EXPECT_TRUE(h) << h.error().message();
  return h ? *h : wire::hello{};
}

// Three nodes, all linked, over TCP.
struct trio {
  recording_sink sinks[3];
  log_capture logs[3];
  std::unique_ptr<node> nodes[3];
  std::shared_ptr<connection> links[3][3];

  explicit trio(std::function<void(int, node_config&)> tweak = {}) {
    for (int i = 0; i < 3; ++i) {
      auto c = base_config("n" + std::to_string(i), transport_kind::tcp, nullptr);
      c.log = logs[i].hook();
      if (tweak) tweak(i, c);
      auto n = node::start(c, sinks[i]);
      EXPECT_TRUE(n) << n.error().message();
      nodes[i] = std::move(*n);
    }
    nodes[0]->connect(nodes[1]->listen_addresses().front());
    nodes[0]->connect(nodes[2]->listen_addresses().front());
    nodes[1]->connect(nodes[2]->listen_addresses().front());
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        if (i == j) continue;
        EXPECT_TRUE(sinks[i].wait([&] { return nodes[i]->connection_to(nodes[j]->id()) != nullptr; }));
        links[i][j] = nodes[i]->connection_to(nodes[j]->id());
      }
  }
  ~trio() {
    for (auto& row : links)
      for (auto& l : row) l.reset();
    for (auto& n : nodes)
      if (n) n->shutdown();
  }
  std::string address(int i) const { return nodes[i]->listen_addresses().front(); }
  // Every link is the one the trio started with, still open, and no peer
  // was ever reported down.
  void expect_links_intact() {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(sinks[i].locked([&] { return sinks[i].downs.empty(); })) << "node " << i << " lost a peer\n"
                                                                            << logs[i].all();
      for (int j = 0; j < 3; ++j) {
        if (i == j) continue;
        EXPECT_EQ(nodes[i]->connection_to(nodes[j]->id()), links[i][j]) << i << " -> " << j;
        EXPECT_TRUE(links[i][j]->is_open()) << i << " -> " << j;
      }
    }
  }
};

TEST(HandshakeAttack, RelayedProofOfAnotherNodeIsRefusedAndTheImpersonatedLinkStaysUp) {
  trio t;
  // Victim v = n0, the node whose proof is harvested h = n1. The attacker
  // holds no secret.
  raw_peer to_victim(t.address(0));
  ASSERT_TRUE(to_victim.connected());
  auto victim_hello_frame = to_victim.read_until(wire::frame_kind::handshake);
  ASSERT_TRUE(victim_hello_frame);
  const wire::hello victim = decode_or_die(victim_hello_frame->payload);
  ASSERT_EQ(victim.node_id, t.nodes[0]->id());

  // To h: a Hello claiming to be the victim, with the victim's nonce. A
  // higher incarnation (a claimed restart) wins every tie-break against the
  // live links, so each node goes on to check a proof.
  raw_peer to_h(t.address(1));
  ASSERT_TRUE(to_h.connected());
  wire::hello as_victim = victim;
  as_victim.incarnation += 1;
  ASSERT_TRUE(to_h.send_frame(wire::frame_kind::handshake, wire::encode(as_victim)));
  auto h_hello = to_h.read_until(wire::frame_kind::handshake);
  ASSERT_TRUE(h_hello);
  const wire::hello h = decode_or_die(h_hello->payload);
  auto h_next = to_h.read_frame();
  std::optional<wire::proof> harvested;
  if (h_next && h_next->header.kind == wire::frame_kind::handshake_ack) {
    alignas(8) std::byte aligned[256];
    std::memcpy(aligned, h_next->payload.data(), h_next->payload.size());
    auto p = wire::decode_proof(std::span<const std::byte>(aligned, h_next->payload.size()));
    ASSERT_TRUE(p);
    harvested = *p;
  }
  ASSERT_TRUE(harvested) << "h proves itself to whoever sent a Hello";

  // To the victim: a Hello claiming to be h, then h's proof.
  wire::hello as_h = h;
  as_h.incarnation += 1;
  ASSERT_TRUE(to_victim.send_frame(wire::frame_kind::handshake, wire::encode(as_h)));
  ASSERT_TRUE(to_victim.send_frame(wire::frame_kind::handshake_ack, wire::encode(harvested.value_or(wire::proof{}))));
  auto refused = read_close(to_victim);
  ASSERT_TRUE(refused) << "the victim refuses with a close frame\n" << t.logs[0].all();
  EXPECT_EQ(refused->code, errc::auth_failed) << refused->reason;
  EXPECT_TRUE(to_victim.closed_by_peer());
  EXPECT_TRUE(t.logs[0].wait_for("auth_failed")) << t.logs[0].all();
  EXPECT_TRUE(t.sinks[0].wait([&] { return t.nodes[0]->admission().auth_failed == 1; }));

  t.expect_links_intact();
  EXPECT_EQ(t.sinks[0].locked([&] { return t.sinks[0].ups.size(); }), 2u) << "the victim saw no new peer";
  // The links still carry traffic.
  ASSERT_TRUE(t.links[1][0]->send_bytes(tell_header(), {}));
  EXPECT_TRUE(t.sinks[0].wait([&] { return !t.sinks[0].frames.empty(); }));
  t.sinks[0].clear_frames();
}

// A TCP proxy between a dialler and a node that rewrites the first frame
// the dialler sends (its Hello) with `rewrite`, then relays bytes as they are.
class rewriting_proxy {
 public:
  rewriting_proxy(std::uint16_t target_port, std::function<void(wire::hello&)> rewrite)
      : target_port_(target_port), rewrite_(std::move(rewrite)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof sa;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~rewriting_proxy() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  std::string address() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  bool rewrote() const { return rewrote_; }

 private:
  void run() {
    pollfd lp{listen_fd_, POLLIN, 0};
    while (!stop_ && ::poll(&lp, 1, 50) <= 0) {
    }
    if (stop_) return;
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(target_port_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return;
    std::vector<std::byte> pending;  // client bytes until the Hello is whole
    bool passed_hello = false;
    std::byte buf[8192];
    while (!stop_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[1].revents != 0) {
        const auto n = ::recv(server, buf, sizeof buf, 0);
        if (n <= 0) break;
        ::send(client, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
      }
      if (fds[0].revents != 0) {
        const auto n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (passed_hello) {
          ::send(server, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
          continue;
        }
        pending.insert(pending.end(), buf, buf + n);
        if (pending.size() < 32) continue;
        const auto h = wire::peek_header(pending.data());
        const std::size_t whole = wire::frame_size(h.payload_length);
        if (pending.size() < whole) continue;
        std::vector<std::byte> payload(pending.begin() + 32, pending.begin() + 32 + h.payload_length);
        wire::hello hello = decode_or_die(payload);
        rewrite_(hello);
        const auto re = wire::encode(hello);
        wire::frame_header nh = h;
        nh.payload_length = static_cast<std::uint32_t>(re.size());
        std::vector<std::byte> out(wire::frame_size(re.size()), std::byte{0});
        wire::encode_header(nh, out.data());
        std::memcpy(out.data() + 32, re.data(), re.size());
        out.insert(out.end(), pending.begin() + static_cast<std::ptrdiff_t>(whole), pending.end());
        ::send(server, out.data(), out.size(), MSG_NOSIGNAL);
        rewrote_ = true;
        passed_hello = true;
      }
    }
    ::close(client);
    ::close(server);
  }

  std::uint16_t target_port_;
  std::function<void(wire::hello&)> rewrite_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> rewrote_{false};
  std::thread thread_;
};

class HelloRewrite : public ::testing::TestWithParam<int> {};

TEST_P(HelloRewrite, AHelloRewrittenInFlightIsRefusedOnBothSides) {
  recording_sink sink_a, sink_b;
  log_capture log_a, log_b;
  auto ca = base_config("a", transport_kind::tcp, nullptr);
  auto cb = base_config("b", transport_kind::tcp, nullptr);
  ca.log = log_a.hook();
  cb.log = log_b.hook();
  auto b = node::start(cb, sink_b);
  ASSERT_TRUE(b);
  auto a = node::start(ca, sink_a);
  ASSERT_TRUE(a);
  const std::string bound = (*b)->listen_addresses().front();
  const auto port = static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  rewriting_proxy proxy(port, [&](wire::hello& h) {
    switch (GetParam()) {
      case 0: h.listen_address = "tcp://10.66.66.66:7000"; break;
      case 1: h.incarnation += 1; break;
      case 2: h.node_name = "mallory"; break;
      default: h.nonce[0] ^= 1; break;
    }
  });
  (*a)->connect(proxy.address());
  EXPECT_TRUE(log_b.wait_for("auth_failed")) << log_b.all();
  EXPECT_TRUE(log_a.wait_for("auth_failed")) << log_a.all();
  EXPECT_TRUE(proxy.rewrote());
  EXPECT_TRUE(sink_a.locked([&] { return sink_a.ups.empty(); }));
  EXPECT_TRUE(sink_b.locked([&] { return sink_b.ups.empty(); }));
  EXPECT_GE((*b)->admission().auth_failed + (*b)->admission().refused_by_peer, 1u);
  (*a)->shutdown();
  (*b)->shutdown();
}

std::string rewritten_field(const ::testing::TestParamInfo<int>& info) {
  static const char* const names[] = {"ListenAddress", "Incarnation", "NodeName", "Nonce"};
  return names[info.param];
}

INSTANTIATE_TEST_SUITE_P(Fields, HelloRewrite, ::testing::Values(0, 1, 2, 3), rewritten_field);

class HandshakeV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = base_config("server", transport_kind::tcp, nullptr);
    c.log = log_.hook();
    auto n = node::start(c, sink_);
    ASSERT_TRUE(n) << n.error().message();
    server_ = std::move(*n);
  }
  void TearDown() override {
    if (server_) server_->shutdown();
  }
  std::string address() const { return server_->listen_addresses().front(); }

  recording_sink sink_;
  log_capture log_;
  std::unique_ptr<node> server_;
};

TEST_F(HandshakeV2, NoProofIsSentBeforeThePeersHello) {
  raw_peer peer(address());
  ASSERT_TRUE(peer.connected());
  auto hello = peer.read_frame();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->header.kind, wire::frame_kind::handshake);
  EXPECT_FALSE(peer.read_frame(500ms)) << "nothing, in particular no proof, before the peer's Hello";
}

TEST_F(HandshakeV2, AProofReflectedBackToItsSenderIsRefused) {
  raw_peer peer(address());
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.read_until(wire::frame_kind::handshake));
  wire::hello mine;
  mine.node_id = 99;
  mine.incarnation = 1;
  mine.node_name = "mirror";
  ASSERT_TRUE(peer.send_frame(wire::frame_kind::handshake, wire::encode(mine)));
  auto their_proof = peer.read_until(wire::frame_kind::handshake_ack);
  ASSERT_TRUE(their_proof) << "the node proves itself once it has the Hello";
  ASSERT_TRUE(peer.send_frame(wire::frame_kind::handshake_ack, their_proof->payload));
  auto c = read_close(peer);
  ASSERT_TRUE(c) << log_.all();
  EXPECT_EQ(c->code, errc::auth_failed) << c->reason;
  EXPECT_TRUE(sink_.locked([&] { return sink_.ups.empty(); }));
}

TEST_F(HandshakeV2, AHelloReflectedBackToItsSenderIsRefused) {
  raw_peer peer(address());
  ASSERT_TRUE(peer.connected());
  auto theirs = peer.read_until(wire::frame_kind::handshake);
  ASSERT_TRUE(theirs);
  ASSERT_TRUE(peer.send_frame(wire::frame_kind::handshake, theirs->payload));
  auto c = read_close(peer);
  ASSERT_TRUE(c) << log_.all();
  EXPECT_EQ(c->code, errc::handshake_failed);
  EXPECT_NE(c->reason.find("own id"), std::string::npos) << c->reason;
}

TEST_F(HandshakeV2, WrongSecretIsRefusedWithACloseFrameThePeerReceives) {
  raw_peer peer(address());
  ASSERT_TRUE(peer.connected());
  wire::hello mine;
  mine.node_id = 4242;
  mine.incarnation = 1;
  mine.node_name = "wrong";
  ASSERT_TRUE(raw_dial_handshake(peer, "not-the-secret", mine));
  auto c = read_close(peer);
  ASSERT_TRUE(c) << log_.all();
  EXPECT_EQ(c->code, errc::auth_failed);
  EXPECT_NE(c->reason.find("did not prove the cluster secret"), std::string::npos) << c->reason;
  EXPECT_TRUE(peer.closed_by_peer());
  EXPECT_TRUE(log_.wait_for("auth_failed")) << log_.all();
  EXPECT_EQ(server_->admission().auth_failed, 1u);
}

TEST_F(HandshakeV2, TheRightSecretFromTheSpecAloneAuthenticates) {
  raw_peer peer(address());
  ASSERT_TRUE(peer.connected());
  wire::hello mine;
  mine.node_id = 4242;
  mine.incarnation = 1;
  mine.node_name = "spec";
  mine.listen_address = "tcp://127.0.0.1:1";
  ASSERT_TRUE(raw_dial_handshake(peer, "test-secret", mine));
  ASSERT_TRUE(sink_.wait([&] { return !sink_.ups.empty(); })) << log_.all();
  EXPECT_EQ(sink_.locked([&] { return sink_.ups.front()->peer().listen_address; }), "tcp://127.0.0.1:1");
}

TEST(HandshakeDuplicate, AClaimLosingTheTieBreakIsRefusedBeforeAnyProof) {
  // b dialled a; a newcomer holding the secret claims to be a (same
  // incarnation) and dials b: the link dialled by the smaller id (b) wins,
  // so b refuses the newcomer in the handshake and keeps its link.
  auto p = up_pair(transport_kind::tcp, [](node_config& c) { c.node_id = 200; }, [](node_config& c) { c.node_id = 100; });
  ASSERT_TRUE(p->a_to_b);
  // up_pair has a dial b; make b's own dial the live link instead.
  p->b->connect(p->a->listen_addresses().front());
  ASSERT_TRUE(p->sink_b.wait([&] {
    auto c = p->b->connection_to(200);
    return c && c->is_open() && p->sink_b.ups.size() >= 2;
  })) << p->log_b.all();
  auto live = p->b->connection_to(200);
  raw_peer peer(p->b->listen_addresses().front());
  ASSERT_TRUE(peer.connected());
  auto theirs = peer.read_until(wire::frame_kind::handshake);
  ASSERT_TRUE(theirs);
  wire::hello claim;
  claim.node_id = 200;
  claim.incarnation = p->a->incarnation();
  claim.node_name = "a";
  const auto bytes = wire::encode(claim);
  ASSERT_TRUE(peer.send_frame(wire::frame_kind::handshake, bytes));
  auto next = peer.read_frame();
  ASSERT_TRUE(next) << p->log_b.all();
  EXPECT_EQ(next->header.kind, wire::frame_kind::close) << "refused before b sends a proof";
  EXPECT_TRUE(p->log_b.wait_for("duplicate_link")) << p->log_b.all();
  EXPECT_EQ(p->b->connection_to(200), live);
  EXPECT_TRUE(live->is_open());
  EXPECT_EQ(p->b->admission().duplicate_link, 1u);
}

}  // namespace
}  // namespace herald::runtime::test
