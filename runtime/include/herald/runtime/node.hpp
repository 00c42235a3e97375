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

// What a node refused or dropped outside its live links, by reason, since it
// started (the counters outlive the connections). handshaking is a gauge.
// A value type.
struct admission_stats {
  std::uint64_t auth_failed = 0;        // a proof did not verify
  std::uint64_t handshake_timeout = 0;  // no complete handshake within node_config::handshake_timeout
  std::uint64_t version_mismatch = 0;
  std::uint64_t schema_mismatch = 0;
  std::uint64_t duplicate_link = 0;     // another link to the same node won the tie-break
  std::uint64_t handshake_failed = 0;   // any other bad handshake (unreadable hello, wrong frame, own id, lost)
  std::uint64_t refused_by_peer = 0;    // the peer sent a close frame during the handshake
  std::uint64_t frame_errors = 0;       // a stream error (PROTOCOL.md §3.1, §3.4) on any connection
  std::uint64_t pending_cap = 0;        // node_config::max_pending_handshakes reached
  std::uint64_t per_source_cap = 0;     // node_config::max_pending_per_source reached
  std::uint64_t connection_cap = 0;     // 4096 connections in all
  std::uint64_t closed_link_backlog = 0;  // node_config::max_closed_link_backlog reached
  std::uint64_t accept_errors = 0;      // accept() failed (EMFILE, ENFILE, ...)
  std::uint64_t handshaking = 0;        // connections in the handshake now
};

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
  // backoff (node_config::reconnect_min to reconnect_max, jittered) whenever
  // the link is lost or a dial fails, until shutdown. A tcp:// host name is
  // resolved (asynchronously, on an io thread) at every attempt; each attempt
  // gives up after node_config::connect_timeout. The sink hears on_peer_up
  // when the handshake is done. Dialling an address already dialled does
  // nothing while its link is up or an attempt is in flight; while it waits
  // for its backoff, it starts the next attempt now (at most one per
  // reconnect_min).
  void connect(const std::string& address);

  // The live, authenticated connection to a node, or null.
  std::shared_ptr<connection> connection_to(std::uint64_t node_id) const;
  std::vector<std::shared_ptr<connection>> connections() const;

  buffer_pool::stats pool_stats() const;
  admission_stats admission() const;

  // What the node failed to do or refused, since it started (monotonic).
  struct transport_stats {
    std::uint64_t dials_failed = 0;           // every failed attempt, timeouts and resolve failures included
    std::uint64_t dials_timed_out = 0;        // no connection within connect_timeout
    std::uint64_t resolves_failed = 0;        // a tcp:// host name that did not resolve
    std::uint64_t tls_handshakes_failed = 0;  // either side refused the other's certificate, or no TLS
  };
  transport_stats transport_counters() const;
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
