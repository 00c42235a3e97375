#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace herald::wire {

// The kind of a frame (byte 4 of the header). wire/PROTOCOL.md is the spec.
enum class frame_kind : std::uint8_t {
  handshake = 1,
  handshake_ack = 2,
  tell = 3,
  ask = 4,
  reply = 5,
  error_reply = 6,
  heartbeat = 7,
  gossip = 8,
  membership = 9,
  close = 10,
  credit = 11,  // flow control: the receiver extends the sender's data window
  fragment = 12,  // a later part of a fragmented message (PROTOCOL.md §6.3)
};

// Kinds 0x80-0xFF are optional: a receiver that does not know one skips the
// frame. An unknown kind below 0x80 is a protocol error (PROTOCOL.md, "Kinds").
inline constexpr std::uint8_t first_optional_kind = 0x80;

// Flags (byte 5). Bits 0-3 are defined or reserved: a receiver rejects a frame
// with a reserved bit set. Bits 4-7 are hints that a receiver may ignore.
namespace frame_flags {
inline constexpr std::uint8_t control_lane = 0x01;   // heartbeat/gossip priority
inline constexpr std::uint8_t flatbuffer = 0x02;     // payload is a FlatBuffers buffer
// The first fragment of a message sent in fragments (tell, ask, reply only):
// the payload starts with fragment_prefix_size bytes, u64 message_length and
// u64 message_id, then the message's first bytes (PROTOCOL.md §6.3).
inline constexpr std::uint8_t fragmented = 0x04;
inline constexpr std::uint8_t known = control_lane | flatbuffer | fragmented;
inline constexpr std::uint8_t ignorable = 0xF0;
}  // namespace frame_flags

// The fixed 32-byte frame header, little-endian on the wire:
//
//   offset size field
//   0      4    payload_length  bytes after the header
//   4      1    kind            frame_kind
//   5      1    flags           frame_flags
//   6      2    reserved        zero on send, ignored on receive
//   8      8    target          receiving actor id (0 for control frames)
//   16     8    type_id         message type id (tell/ask), 0 otherwise
//   24     8    request_id      ask/reply correlation, 0 otherwise
//
// The payload follows the header and is padded with 0-7 zero bytes so that
// the next frame starts at a multiple of 8: FlatBuffers payloads are then read
// in place at their natural alignment. The padding is not counted in
// payload_length; frame_size() gives the bytes one frame occupies.
struct frame_header {
  static constexpr std::size_t size = 32;
  static constexpr std::size_t alignment = 8;

  std::uint32_t payload_length = 0;
  frame_kind kind = frame_kind::tell;
  std::uint8_t flags = 0;
  std::uint64_t target = 0;
  std::uint64_t type_id = 0;
  std::uint64_t request_id = 0;
};

// The prefix of a first fragment's payload: message_length, message_id.
inline constexpr std::size_t fragment_prefix_size = 16;
// What one fragmented tell or ask takes of the large window besides its
// message_length (PROTOCOL.md §6.3): the receiver's bookkeeping per message.
inline constexpr std::uint64_t large_message_overhead = 4096;

// Bytes a frame with this payload length occupies on the wire, padding included.
constexpr std::size_t frame_size(std::uint64_t payload_length) noexcept {
  return frame_header::size + ((payload_length + (frame_header::alignment - 1)) & ~std::uint64_t{frame_header::alignment - 1});
}

namespace detail {
template <class T>
inline void store_le(std::byte* out, T v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &v, sizeof(T));
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<std::byte>(static_cast<std::uint64_t>(v) >> (8 * i));
  }
}
template <class T>
inline T load_le(const std::byte* in) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    T v;
    std::memcpy(&v, in, sizeof(T));
    return v;
  } else {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(in[i]) << (8 * i);
    return static_cast<T>(v);
  }
}
}  // namespace detail

// Writes h into out[0, frame_header::size). Never fails.
inline void encode_header(const frame_header& h, std::byte* out) noexcept {
  detail::store_le<std::uint32_t>(out + 0, h.payload_length);
  out[4] = static_cast<std::byte>(h.kind);
  out[5] = static_cast<std::byte>(h.flags);
  out[6] = out[7] = std::byte{0};
  detail::store_le<std::uint64_t>(out + 8, h.target);
  detail::store_le<std::uint64_t>(out + 16, h.type_id);
  detail::store_le<std::uint64_t>(out + 24, h.request_id);
}

// Reads the fields of a header without judging them; validation (length
// limits, known kinds and flags) belongs to the frame decoder.
inline frame_header peek_header(const std::byte* in) noexcept {
  frame_header h;
  h.payload_length = detail::load_le<std::uint32_t>(in + 0);
  h.kind = static_cast<frame_kind>(in[4]);
  h.flags = static_cast<std::uint8_t>(in[5]);
  h.target = detail::load_le<std::uint64_t>(in + 8);
  h.type_id = detail::load_le<std::uint64_t>(in + 16);
  h.request_id = detail::load_le<std::uint64_t>(in + 24);
  return h;
}

}  // namespace herald::wire
