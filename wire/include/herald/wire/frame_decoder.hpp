#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "herald/result.hpp"
#include "herald/wire/frame.hpp"

namespace herald::wire {

// Limits a receiver enforces on every frame before it buffers the payload.
struct decode_limits {
  // Largest payload_length accepted (padding excluded). At most max_frame_size_cap.
  std::uint32_t max_frame_size = 16u << 20;
};

// Largest configurable max_frame_size: keeps every payload below the 2 GiB
// bound of FlatBuffers and the frame size representable with its padding.
inline constexpr std::uint32_t max_frame_size_cap = 1u << 30;

// Largest configurable message size of a fragmented message (PROTOCOL.md
// §6.3): the message_length of a first fragment a receiver may admit.
inline constexpr std::uint64_t max_message_size_cap = std::uint64_t{1} << 30;

// The smallest well-formed FlatBuffers buffer: root offset, vtable, table.
inline constexpr std::uint32_t min_flatbuffer_size = 12;

// One whole, header-checked frame at the front of the decoder's input. The
// payload points into the caller's buffer and is valid as long as it is.
struct frame_view {
  frame_header header;
  std::span<const std::byte> payload;
  std::size_t total_size = 0;  // bytes to consume: header, payload, padding

  // False for an optional kind (>= 0x80) this build does not know: skip it.
  bool known_kind() const noexcept;
};

// Error counts of one stream, indexed by the errors a frame can produce. The
// decoder fills the framing errors; the reader records the errors it finds
// after framing (verification_failed, unknown_type, decode_failed) with
// frame_decoder::record so that one place counts everything a peer sent.
struct decode_counters {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t skipped_optional = 0;
  std::uint64_t frame_too_large = 0;
  std::uint64_t frame_too_small = 0;
  std::uint64_t unknown_frame_kind = 0;
  std::uint64_t bad_flags = 0;
  std::uint64_t bad_header = 0;
  std::uint64_t truncated = 0;
  std::uint64_t verification_failed = 0;
  std::uint64_t unknown_type = 0;
  std::uint64_t decode_failed = 0;
  std::uint64_t other = 0;

  std::uint64_t errors() const noexcept {
    return frame_too_large + frame_too_small + unknown_frame_kind + bad_flags + bad_header + truncated +
           verification_failed + unknown_type + decode_failed + other;
  }
};

// Frames a byte stream from a peer: finds where each frame ends and checks
// every header field before the payload is buffered, so that a reader never
// grows its buffer on an unchecked length. It never allocates and never reads
// past the span it is given. An error is final for the stream: the reader
// closes the connection. Confined to one thread (the connection's reader).
class frame_decoder {
 public:
  frame_decoder() = default;
  explicit frame_decoder(decode_limits limits) noexcept;

  // Looks at the front of `in` (the bytes buffered so far, starting at a frame
  // boundary). Returns the frame when it is whole; std::nullopt when more
  // bytes are needed (bytes_needed() says how many in total); or the first
  // rule the header breaks. Checks the header as soon as its 32 bytes are in.
  result<std::optional<frame_view>> next(std::span<const std::byte> in);

  // Checks a header alone (no payload needed): the length limit, the kind, the
  // flags and the per-kind field rules of PROTOCOL.md. Counts a failure.
  result<void> check(const frame_header& h);

  // The stream ended with `buffered` bytes of an unfinished frame: truncated
  // when nonzero. Counts it.
  result<void> finish(std::size_t buffered);

  // Total bytes the current frame needs, header included: frame_header::size
  // until a header is in, then the checked frame_size(). Never more than
  // frame_size(max_frame_size).
  std::size_t bytes_needed() const noexcept { return needed_; }

  // Counts an error found after framing (verification, dispatch) against this
  // stream and hands it back.
  herald::error record(herald::error e) noexcept;

  const decode_counters& counters() const noexcept { return counters_; }
  const decode_limits& limits() const noexcept { return limits_; }

 private:
  herald::error fail(errc code, const char* what, const frame_header& h);

  decode_limits limits_;
  decode_counters counters_;
  std::size_t needed_ = frame_header::size;
};

// True for the kinds this build knows (frame_kind's enumerators).
bool is_known_kind(std::uint8_t kind) noexcept;

}  // namespace herald::wire
