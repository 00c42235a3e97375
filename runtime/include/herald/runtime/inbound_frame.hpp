#pragma once

#include <cstddef>
#include <cstring>
#include <span>

#include "herald/runtime/buffer_pool.hpp"
#include "herald/wire/frame.hpp"

namespace herald::runtime {

// One whole frame received from a peer. It owns its payload, copied once out
// of the connection's read buffer: inline when small (most actor messages),
// in a pooled buffer otherwise, so the layer above can decode it later on
// another thread (the receiving actor's worker) and nothing is allocated in
// steady state. The payload is 8-byte aligned, so FlatBuffers tables can be
// read in place. A value type; move-only.
class inbound_frame {
 public:
  static constexpr std::size_t inline_capacity = 96;

  inbound_frame() = default;

  // A frame that takes over a pooled buffer holding its payload.
  inbound_frame(const wire::frame_header& h, pooled_buffer payload) : header(h), large_(std::move(payload)) {}

  // A frame whose payload is copied from `payload`, inline when it fits.
  inbound_frame(const wire::frame_header& h, std::span<const std::byte> payload, buffer_pool& pool) : header(h) {
    header.payload_length = static_cast<std::uint32_t>(payload.size());
    std::byte* out = small_;
    if (payload.size() > inline_capacity) {
      large_ = pool.acquire(payload.size());
      out = large_.data();
    }
    if (!payload.empty()) std::memcpy(out, payload.data(), payload.size());
  }

  inbound_frame(inbound_frame&& o) noexcept : header(o.header), large_(std::move(o.large_)) {
    if (!large_) std::memcpy(small_, o.small_, header.payload_length <= inline_capacity ? header.payload_length : 0);
  }
  inbound_frame& operator=(inbound_frame&& o) noexcept {
    if (this != &o) {
      header = o.header;
      large_ = std::move(o.large_);
      if (!large_) std::memcpy(small_, o.small_, header.payload_length <= inline_capacity ? header.payload_length : 0);
    }
    return *this;
  }
  inbound_frame(const inbound_frame&) = delete;
  inbound_frame& operator=(const inbound_frame&) = delete;

  // Exactly header.payload_length bytes (padding stripped).
  std::span<const std::byte> bytes() const noexcept {
    return {large_ ? large_.data() : small_, header.payload_length};
  }

  wire::frame_header header;

 private:
  pooled_buffer large_;
  alignas(8) std::byte small_[inline_capacity];
};

}  // namespace herald::runtime
