#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "herald/error.hpp"
#include "herald/runtime/inbound_frame.hpp"

namespace herald::runtime {

class connection;

// Who is at the other end of an authenticated connection.
struct peer_info {
  std::uint64_t node_id = 0;
  std::uint64_t incarnation = 0;
  std::string node_name;
  std::string listen_address;   // where the peer accepts connections
  std::string remote_endpoint;  // the address of this connection's far end
  // Orders the links of this node: every link the node establishes gets a
  // larger one than all before it (0 for a link never registered). A sink
  // ignores an on_peer_up whose generation is below the newest it has seen
  // for that node (up or down): the announcement of a replaced link can run
  // after that of its replacement, on another io thread.
  std::uint64_t generation = 0;
};

// The layer above the transport: the actors and registry layers implement it
// and hand it to the node. Every call comes from the io thread of the
// connection concerned and must return quickly (find the mailbox, enqueue,
// return): a slow sink stalls every connection on that io thread.
class frame_sink {
 public:
  virtual ~frame_sink() = default;

  // A tell or an ask (kinds tell, ask) for an actor of this node. To answer
  // an ask, send a frame of kind reply (or error_reply) with the same
  // request_id on `from`, preferably from the actor's worker: a send from an
  // io thread never blocks, so on a full ring it fails with backpressure.
  virtual void on_frame(const std::shared_ptr<connection>& from, inbound_frame frame) = 0;

  // The same tell or ask, still in the connection's read buffer: `payload`
  // is valid only during the call, and a sink that keeps the frame copies
  // it (a payload above inbound_frame::inline_capacity into a buffer of
  // `pool`). A sink overrides it to build its own record of the frame in
  // place, with one copy of the payload; the default builds the
  // inbound_frame and calls on_frame. Frames that waited (behind a large
  // message) and reassembled large messages come through on_frame.
  virtual void on_frame_view(const std::shared_ptr<connection>& from, const wire::frame_header& header,
                             std::span<const std::byte> payload, buffer_pool& pool) {
    on_frame(from, inbound_frame(header, payload, pool));
  }

  // Flow control: false (the default) lets the connection give back the
  // window a tell or ask took as soon as on_frame returns. A sink that
  // returns true bounds the node's memory by the window: it calls
  // from->consumed(frame.header) exactly once per tell and ask frame, when it
  // is done with the frame (the handler ran, or the frame was dropped).
  // Until that call `from` stays valid through a plain pointer: the sink
  // need not keep a reference to the connection per frame. A frame never
  // consumed keeps its connection, closed or not, alive.
  virtual bool holds_credit() const noexcept { return false; }

  // A heartbeat, gossip or membership frame.
  virtual void on_control(const std::shared_ptr<connection>& from, inbound_frame frame) = 0;

  // A peer finished the handshake: `conn` is now the one connection to it.
  // It can come twice for one node without on_peer_down between, when a
  // newer link replaces the first, and the two calls can run concurrently on
  // different io threads in either order: the one with the larger
  // conn->peer().generation is the live one.
  virtual void on_peer_up(const std::shared_ptr<connection>& conn) = 0;

  // The connection to a peer is gone; its pending asks have already failed
  // with node_down. peer.generation says which link.
  virtual void on_peer_down(const peer_info& peer, const herald::error& reason) = 0;
};

}  // namespace herald::runtime
