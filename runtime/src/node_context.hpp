#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "herald/runtime/buffer_pool.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/runtime/node_config.hpp"
#include "herald/wire/handshake.hpp"

namespace herald::runtime {

class connection_impl;

// What a connection needs from its node: configuration, identity, the
// secret, the pool, the sink, and the connection manager's two hooks. The
// node outlives every handler of its connections (node::shutdown drains
// them). Safe for concurrent use.
class node_context {
 public:
  virtual ~node_context() = default;

  virtual const node_config& config() const noexcept = 0;
  virtual const std::string& secret() const noexcept = 0;
  // This node's hello, nonce left empty.
  virtual const wire::hello& own_hello() const noexcept = 0;
  virtual const std::shared_ptr<buffer_pool>& pool() const noexcept = 0;
  virtual frame_sink& sink() noexcept = 0;
  virtual void log(log_level level, std::string_view message) = 0;
  // The node's count of frames its connections discarded unsent; shared, so
  // that a connection outliving the node can still add to it.
  virtual const std::shared_ptr<std::atomic<std::uint64_t>>& frames_dropped() const noexcept = 0;

  // The handshake finished: register (deduplicating) and tell the sink.
  virtual void on_established(const std::shared_ptr<connection_impl>& conn) = 0;
  // The connection closed (on its io thread, once).
  virtual void on_closed(const std::shared_ptr<connection_impl>& conn, bool was_established,
                         const herald::error& reason) = 0;
};

}  // namespace herald::runtime
