#pragma once

// A node that a raw peer (raw_peer.hpp) has dialled and authenticated to,
// for tests that speak the protocol by hand from the spec.
#include <cstring>
#include <functional>
#include <memory>

#include "herald/wire/control.hpp"
#include "runtime/node_harness.hpp"
#include "runtime/raw_peer.hpp"

namespace herald::runtime::test {

template <class Sink>
struct raw_dialled_node {
  Sink sink;
  log_capture log;
  std::unique_ptr<node> n;
  std::unique_ptr<raw_peer> peer;
  wire::credit_grant grant;  // the node's first, sent after its proof

  ~raw_dialled_node() {
    peer.reset();
    // Frames the sink keeps hold buffers of the node's pool.
    if constexpr (requires { sink.drop_all(); }) sink.drop_all();
    sink.clear_frames();
    if (n) n->shutdown();
    if constexpr (requires { sink.drop_all(); }) sink.drop_all();  // what came meanwhile
  }
};

// Starts node "b" on TCP (base_config, then `configure`), dials it with a
// raw peer that proves the secret, and reads the node's first credit grant.
template <class Sink>
std::unique_ptr<raw_dialled_node<Sink>> raw_dial_node(const std::function<void(node_config&)>& configure) {
  auto l = std::make_unique<raw_dialled_node<Sink>>();
  auto c = base_config("b", transport_kind::tcp, nullptr);
  c.log = l->log.hook();
  configure(c);
  auto n = node::start(c, l->sink);
  EXPECT_TRUE(n) << (n ? "" : n.error().message());
  if (!n) return l;
  l->n = std::move(*n);
  l->peer = std::make_unique<raw_peer>(l->n->listen_addresses().front());
  EXPECT_TRUE(raw_handshake(*l->peer, "test-secret"));
  auto f = l->peer->read_until(wire::frame_kind::credit);
  EXPECT_TRUE(f) << "the node grants its windows after its proof";
  if (!f) return l;
  alignas(8) std::byte aligned[256];
  std::memcpy(aligned, f->payload.data(), std::min(f->payload.size(), sizeof aligned));
  auto g = wire::decode_credit(std::span<const std::byte>(aligned, std::min(f->payload.size(), sizeof aligned)));
  EXPECT_TRUE(g);
  if (g) l->grant = *g;
  return l;
}

}  // namespace herald::runtime::test
