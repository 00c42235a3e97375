#pragma once

#include <span>

#include "herald/runtime/buffer_pool.hpp"
#include "herald/wire/frame.hpp"

namespace herald::runtime {

// One whole frame received from a peer. It owns its payload (copied once out
// of the connection's read buffer into a pooled buffer), so the layer above
// can decode it later on another thread, e.g. the receiving actor's worker.
// A value type; move-only.
struct inbound_frame {
  wire::frame_header header;
  pooled_buffer payload;  // exactly header.payload_length bytes (padding stripped)

  std::span<const std::byte> bytes() const noexcept { return {payload.data(), header.payload_length}; }
};

}  // namespace herald::runtime
