#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "herald/result.hpp"
#include "herald/runtime/buffer_pool.hpp"
#include "herald/runtime/connection.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/runtime/node_config.hpp"

namespace herald::runtime {

// This process's endpoint in a cluster: its identity, io threads, listeners,
// and one authenticated connection per peer node (simultaneous connects are
// deduplicated; lost links to dialled peers are redialled with backoff).
// The actor system owns one. Safe for concurrent use.
//
// Lifetime: the sink must outlive the node. Inbound frames borrow pooled
// buffers from the node: drop them before destroying it. Connections may be
// held past shutdown(); they are closed and fail every call with node_down.
class node {
 public:
  // Loads the secret, binds every listen address, starts the io threads.
  // Errors: invalid_argument (config, secret), io_error (bind).
  static result<std::unique_ptr<node>> start(node_config cfg, frame_sink& sink);

  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  std::uint64_t id() const noexcept;
  std::uint64_t incarnation() const noexcept;
  const std::string& name() const noexcept;
  // The listen addresses as bound ("tcp://127.0.0.1:0" becomes the real port).
  std::vector<std::string> listen_addresses() const;

  // Dials a peer (asynchronously) and keeps redialling it with exponential
  // backoff whenever the link is lost, until shutdown. The sink hears
  // on_peer_up when the handshake is done. Dialling an address already
  // dialled does nothing.
  void connect(const std::string& address);

  // The live, authenticated connection to a node, or null.
  std::shared_ptr<connection> connection_to(std::uint64_t node_id) const;
  std::vector<std::shared_ptr<connection>> connections() const;

  buffer_pool::stats pool_stats() const;
  // Frames whose send returned ok and that a connection of this node
  // discarded unsent (links lost with frames in their rings), over the
  // node's lifetime. connection_stats::frames_dropped_unsent has one link's.
  std::uint64_t frames_dropped_unsent() const noexcept;

  // Closes every connection, each draining what it accepted (up to
  // node_config::drain_timeout; pending asks fail with node_down), stops the
  // listeners and the io threads. Idempotent; the destructor calls it.
  void shutdown();

  class impl;

 private:
  explicit node(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace herald::runtime
