#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth.hpp"
#include "herald/runtime/buffer_pool.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/runtime/node_config.hpp"
#include "herald/wire/handshake.hpp"

namespace herald::runtime {

class connection_impl;

// Why a node refused or dropped a connection: the index of its counter in
// node::admission_stats (same order).
enum class rejection : std::uint8_t {
  auth_failed,
  handshake_timeout,
  version_mismatch,
  schema_mismatch,
  duplicate_link,
  handshake_failed,
  refused_by_peer,
  frame_error,
  pending_cap,
  per_source_cap,
  connection_cap,
  closed_link_backlog,
  accept_error,
  count_
};

// What a connection needs from its node: configuration, identity, the
// secret, the pool, the sink, and the connection manager's two hooks. The
// node outlives every handler of its connections (node::shutdown drains
// them). Safe for concurrent use.
class node_context {
 public:
  virtual ~node_context() = default;

  virtual const node_config& config() const noexcept = 0;
  // The MAC key of the handshake, derived from the cluster secret.
  virtual const mac_bytes& handshake_key() const noexcept = 0;
  // This node's hello, nonce left empty.
  virtual const wire::hello& own_hello() const noexcept = 0;
  virtual const std::shared_ptr<buffer_pool>& pool() const noexcept = 0;
  virtual frame_sink& sink() noexcept = 0;
  virtual void log(log_level level, std::string_view message) = 0;
  // The node's count of frames its connections discarded unsent; shared, so
  // that a connection outliving the node can still add to it.
  virtual const std::shared_ptr<std::atomic<std::uint64_t>>& frames_dropped() const noexcept = 0;

  // Counts a rejection and logs it, at most one line per reason per second
  // (the next line says how many were suppressed).
  virtual void reject(rejection why, log_level level, std::string_view message) = 0;

  // The peer's Hello is in and checked; before the proofs: may this
  // connection go on? duplicate_link when the node keeps another link to the
  // same node (PROTOCOL.md §5.5); conn's peer_ fields are not yet set.
  virtual result<void> admit_hello(const connection_impl& conn, const wire::hello& peer) = 0;

  // The handshake finished: register (deduplicating) and tell the sink.
  virtual void on_established(const std::shared_ptr<connection_impl>& conn) = 0;
  // The connection closed (on its io thread, once).
  virtual void on_closed(const std::shared_ptr<connection_impl>& conn, bool was_established,
                         const herald::error& reason) = 0;
};

}  // namespace herald::runtime
