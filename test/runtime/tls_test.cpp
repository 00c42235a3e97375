// TLS between nodes: certificates from one cluster CA talk; another CA, an
// expired certificate, no certificate, a certificate naming another node and
// a plaintext peer are refused, with a clear line and a count on each side.

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <future>

#include "herald/wire/frame.hpp"
#include "herald/wire/handshake.hpp"
#include "node_harness.hpp"
#include "raw_peer.hpp"
#include "support/test_certs.hpp"

namespace herald::runtime::test {
namespace {

// A temporary directory holding one cluster CA and the node certificates
// issued for a test.
struct pki {
  herald::test::temp_dir dir;
  herald::test::test_ca ca{"herald-test-cluster-ca"};
  std::string ca_file = dir.file("ca.pem", ca.cert_pem());
  int files = 0;

  tls_config node(const std::string& name, herald::test::test_ca* issuer = nullptr, long not_before_s = -3600,
                  long not_after_s = 86400) {
    auto c = (issuer != nullptr ? *issuer : ca).issue(name, not_before_s, not_after_s);
    const std::string stem = name + "-" + std::to_string(files++);
    tls_config t;
    t.enabled = true;
    t.ca_file = ca_file;
    t.cert_file = dir.file(stem + ".crt", c.cert_pem);
    t.key_file = dir.file(stem + ".key", c.key_pem);
    return t;
  }
};

std::uint16_t port_of(const std::string& tcp_address) {
  return static_cast<std::uint16_t>(std::stoi(tcp_address.substr(tcp_address.rfind(':') + 1)));
}

// Both sides refuse: each logs `a_line` / `b_line` and neither brings the
// other up.
void expect_refused(node_pair& p, const std::string& a_line, const std::string& b_line) {
  EXPECT_TRUE(p.log_a.wait_for(a_line)) << "a's log:\n" << p.log_a.all();
  EXPECT_TRUE(p.log_b.wait_for(b_line)) << "b's log:\n" << p.log_b.all();
  EXPECT_TRUE(p.sink_a.locked([&] { return p.sink_a.ups.empty(); }));
  EXPECT_TRUE(p.sink_b.locked([&] { return p.sink_b.ups.empty(); }));
  EXPECT_EQ(p.a->connection_to(p.b->id()), nullptr);
  EXPECT_EQ(p.b->connection_to(p.a->id()), nullptr);
}

TEST(Tls, NodesWithCertificatesFromOneCaTellAndAsk) {
  pki keys;
  auto p = up_pair(
      transport_kind::tcp, [&](node_config& c) { c.tls = keys.node("a"); },
      [&](node_config& c) { c.tls = keys.node("b"); });
  ASSERT_TRUE(p->a_to_b && p->b_to_a);
  EXPECT_EQ(p->a_to_b->peer().node_name, "b");
  // Tells, many of them (several TLS records, staged writes), in order.
  const std::uint32_t tells = 20'000;
  for (std::uint32_t i = 0; i < tells; ++i) {
    ASSERT_TRUE(p->a_to_b->send(tell_header(), sizeof i,
                                [&](std::span<std::byte> out) { std::memcpy(out.data(), &i, sizeof i); }));
  }
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == tells; }, 30s));
  p->sink_b.locked([&] {
    for (std::uint32_t i = 0; i < tells; ++i)
      EXPECT_EQ(read_pod<std::uint32_t>(p->sink_b.frames[i].bytes()), i);
    return 0;
  });
  // An ask, answered by b.
  p->sink_b.on_frame_hook = [](const std::shared_ptr<connection>& from, inbound_frame f) {
    wire::frame_header h;
    h.kind = wire::frame_kind::reply;
    h.request_id = f.header.request_id;
    (void)from->send_bytes(h, f.bytes());
  };
  wire::frame_header h;
  h.kind = wire::frame_kind::ask;
  h.target = 5;
  h.type_id = 9;
  std::promise<result<inbound_frame>> got;
  const std::uint64_t value = 0xfeedface;
  auto id = p->a_to_b->request(
      h, sizeof value, [&](std::span<std::byte> out) { std::memcpy(out.data(), &value, sizeof value); },
      connection::clock::now() + 10s, [&](result<inbound_frame> r) { got.set_value(std::move(r)); });
  ASSERT_TRUE(id) << id.error().message();
  auto r = got.get_future().get();
  ASSERT_TRUE(r) << r.error().message() << "\na's log:\n" << p->log_a.all() << "b's log:\n" << p->log_b.all();
  EXPECT_EQ(read_pod<std::uint64_t>(r->bytes()), value);
  EXPECT_EQ(p->a->transport_counters().tls_handshakes_failed, 0u);
  EXPECT_EQ(p->b->transport_counters().tls_handshakes_failed, 0u);
}

TEST(Tls, NodesTalkOverUnixSockets) {
  pki keys;
  auto p = up_pair(
      transport_kind::unix_socket, [&](node_config& c) { c.tls = keys.node("a"); },
      [&](node_config& c) { c.tls = keys.node("b"); });
  ASSERT_TRUE(p->a_to_b);
  ASSERT_TRUE(p->a_to_b->send_bytes(tell_header(), {}));
  EXPECT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == 1; }));
}

TEST(Tls, LargeFramesCrossIntact) {
  pki keys;
  auto p = up_pair(
      transport_kind::tcp, [&](node_config& c) { c.tls = keys.node("a"); },
      [&](node_config& c) { c.tls = keys.node("b"); });
  ASSERT_TRUE(p->a_to_b);
  std::vector<std::byte> big(3u << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 7 + 3);
  ASSERT_TRUE(p->a_to_b->send_bytes(tell_header(), big));
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == 1; }, 30s));
  p->sink_b.locked([&] {
    auto got = p->sink_b.frames[0].bytes();
    EXPECT_TRUE(got.size() == big.size() && std::memcmp(got.data(), big.data(), big.size()) == 0);
    return 0;
  });
}

TEST(Tls, CertificateFromAnotherCaIsRefusedOnBothSides) {
  pki keys;
  herald::test::test_ca rogue("rogue-ca");
  // a trusts the cluster CA but holds a certificate from another one.
  auto p = connect_pair(
      transport_kind::tcp, [&](node_config& c) { c.tls = keys.node("a", &rogue); },
      [&](node_config& c) { c.tls = keys.node("b"); });
  ASSERT_TRUE(p->a && p->b);
  expect_refused(*p, "refused this node", "not issued by this cluster's CA");
  EXPECT_GE(p->b->transport_counters().tls_handshakes_failed, 1u);
  EXPECT_GE(p->a->transport_counters().tls_handshakes_failed, 1u);
}

TEST(Tls, PeerOfAnotherCaIsRefusedByTheDialler) {
  pki keys;
  herald::test::test_ca rogue("rogue-ca");
  // b's certificate is from another CA: a, verifying first, refuses it.
  auto p = connect_pair(
      transport_kind::tcp, [&](node_config& c) { c.tls = keys.node("a"); },
      [&](node_config& c) { c.tls = keys.node("b", &rogue); });
  ASSERT_TRUE(p->a && p->b);
  expect_refused(*p, "not issued by this cluster's CA", "TLS handshake with");
  EXPECT_GE(p->a->transport_counters().tls_handshakes_failed, 1u);
  EXPECT_GE(p->b->transport_counters().tls_handshakes_failed, 1u);
}

TEST(Tls, ExpiredCertificateIsRefusedOnBothSides) {
  pki keys;
  auto p = connect_pair(
      transport_kind::tcp, [&](node_config& c) { c.tls = keys.node("a", nullptr, -2 * 86400, -86400); },
      [&](node_config& c) { c.tls = keys.node("b"); });
  ASSERT_TRUE(p->a && p->b);
  expect_refused(*p, "refused this node", "certificate has expired");
  EXPECT_GE(p->b->transport_counters().tls_handshakes_failed, 1u);
}

TEST(Tls, ClientWithoutCertificateIsRefused) {
  pki keys;
  recording_sink sink;
  log_capture log;
  auto cfg = base_config("b", transport_kind::tcp, nullptr);
  cfg.tls = keys.node("b");
  cfg.log = log.hook();
  auto b = node::start(cfg, sink);
  ASSERT_TRUE(b) << b.error().message();
  // A TLS client that trusts the CA but presents no certificate.
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(keys.ca_file);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> client(io, ctx);
  client.next_layer().connect(
      {asio::ip::make_address("127.0.0.1"), port_of((*b)->listen_addresses().front())});
  std::error_code ec;
  client.handshake(asio::ssl::stream_base::client, ec);  // TLS 1.3: the server's verdict comes after
  if (!ec) {
    std::array<char, 64> buf;
    asio::read(client, asio::buffer(buf), ec);
  }
  EXPECT_TRUE(ec) << "the server must not talk to a client without a certificate";
  EXPECT_TRUE(log.wait_for("presented no certificate")) << log.all();
  EXPECT_GE((*b)->transport_counters().tls_handshakes_failed, 1u);
  EXPECT_TRUE(sink.locked([&] { return sink.ups.empty(); }));
}

TEST(Tls, PeerWhoseCertificateNamesAnotherNodeIsRefused) {
  pki keys;
  recording_sink sink;
  log_capture log;
  auto cfg = base_config("b", transport_kind::tcp, nullptr);
  cfg.tls = keys.node("b");
  cfg.log = log.hook();
  auto b = node::start(cfg, sink);
  ASSERT_TRUE(b) << b.error().message();
  // A client with a valid certificate for "x" whose hello claims to be "b2".
  const tls_config x = keys.node("x");
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(keys.ca_file);
  ctx.use_certificate_chain_file(x.cert_file);
  ctx.use_private_key_file(x.key_file, asio::ssl::context::pem);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> client(io, ctx);
  client.next_layer().connect(
      {asio::ip::make_address("127.0.0.1"), port_of((*b)->listen_addresses().front())});
  client.handshake(asio::ssl::stream_base::client);
  wire::hello h;
  h.protocol_version = wire::protocol_version;
  h.node_id = 77;
  h.incarnation = 1;
  h.schema_hash = cfg.schema_hash;
  h.node_name = "b2";
  h.listen_address = "tcp://127.0.0.1:1";
  const auto payload = wire::encode(h);
  wire::frame_header fh;
  fh.kind = wire::frame_kind::handshake;
  fh.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  fh.payload_length = static_cast<std::uint32_t>(payload.size());
  std::vector<std::byte> frame(wire::frame_header::size);
  wire::encode_header(fh, frame.data());
  frame.insert(frame.end(), payload.begin(), payload.end());
  frame.resize(wire::frame_size(payload.size()));  // zero padding
  asio::write(client, asio::buffer(frame));
  EXPECT_TRUE(log.wait_for("announces the name 'b2' but its TLS certificate (/CN=x) names another node"))
      << log.all();
  // b closes: a read ends (after b's own hello, which b sent at once).
  std::error_code ec;
  std::array<char, 4096> buf;
  for (int i = 0; i < 100 && !ec; ++i) client.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec);
  EXPECT_TRUE(sink.locked([&] { return sink.ups.empty(); }));
}

TEST(Tls, PlaintextPeerIsRefusedByATlsNode) {
  pki keys;
  auto p = connect_pair(transport_kind::tcp, {}, [&](node_config& c) { c.tls = keys.node("b"); });
  ASSERT_TRUE(p->a && p->b);
  expect_refused(*p, "refused", "is the peer running without TLS?");
  EXPECT_GE(p->b->transport_counters().tls_handshakes_failed, 1u);
}

TEST(Tls, TlsNodeRefusesAPlaintextListener) {
  pki keys;
  auto p = connect_pair(transport_kind::tcp, [&](node_config& c) { c.tls = keys.node("a"); }, {});
  ASSERT_TRUE(p->a && p->b);
  expect_refused(*p, "TLS handshake with", "refused");
  EXPECT_GE(p->a->transport_counters().tls_handshakes_failed, 1u);
}

TEST(Tls, SilentClientIsReapedAtTheHandshakeTimeout) {
  pki keys;
  recording_sink sink;
  log_capture log;
  auto cfg = base_config("b", transport_kind::tcp, nullptr);
  cfg.tls = keys.node("b");
  cfg.handshake_timeout = 300ms;
  cfg.log = log.hook();
  auto b = node::start(cfg, sink);
  ASSERT_TRUE(b) << b.error().message();
  raw_peer silent((*b)->listen_addresses().front());
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(log.wait_for("no complete handshake")) << log.all();
}

TEST(Tls, StartRefusesACertificateThatDoesNotNameTheNode) {
  pki keys;
  recording_sink sink;
  auto cfg = base_config("a", transport_kind::tcp, nullptr);
  cfg.tls = keys.node("mallory");
  auto n = node::start(cfg, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), errc::invalid_argument);
  EXPECT_NE(n.error().message().find("does not name this node 'a'"), std::string::npos)
      << n.error().message();
}

TEST(Tls, StartRefusesMissingOrMismatchedFiles) {
  pki keys;
  recording_sink sink;
  auto cfg = base_config("a", transport_kind::tcp, nullptr);
  cfg.tls = keys.node("a");
  cfg.tls.cert_file.clear();
  auto n = node::start(cfg, sink);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("tls.cert_file"), std::string::npos) << n.error().message();
  cfg.tls = keys.node("a");
  cfg.tls.key_file = keys.node("a").key_file;  // another key
  n = node::start(cfg, sink);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("mismatch"), std::string::npos) << n.error().message();
  cfg.tls = keys.node("a");
  cfg.tls.ca_file = keys.dir.path() + "/missing.pem";
  n = node::start(cfg, sink);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("missing.pem"), std::string::npos) << n.error().message();
}

}  // namespace
}  // namespace herald::runtime::test
