#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "herald/result.hpp"
#include "herald/wire/control_generated.h"

namespace herald::wire {

// Bound on the text of an error reply or a close (PROTOCOL.md, "Control").
inline constexpr std::size_t max_control_text = 1024;

// The payload of a heartbeat frame. A value type.
struct heartbeat {
  std::uint64_t sequence = 0;
  std::uint64_t sent_at_ns = 0;  // sender's monotonic clock
  bool reply = false;            // true when answering a heartbeat

  friend bool operator==(const heartbeat&, const heartbeat&) = default;
};

// The payload of an error_reply frame: why an ask failed. A value type.
struct error_reply {
  errc code = errc::ok;
  std::string context;

  herald::error to_error() const { return herald::error(code, context); }
  friend bool operator==(const error_reply&, const error_reply&) = default;
};

// The payload of a close frame: why the sender is closing. A value type.
struct close_notice {
  errc code = errc::ok;  // ok for an orderly shutdown
  std::string reason;

  friend bool operator==(const close_notice&, const close_notice&) = default;
};

// The payload of a credit frame: the cumulative window the peer may use for
// data frames (PROTOCOL.md §6.2). A value type.
struct credit_grant {
  std::uint64_t max_bytes = 0;
  std::uint64_t max_asks = 0;
  std::uint64_t max_large_bytes = 0;     // fragmented messages (PROTOCOL.md §6.3)
  std::uint64_t max_fragment_bytes = 0;  // fragment frames on the wire (pacing, §6.3)

  friend bool operator==(const credit_grant&, const credit_grant&) = default;
};

// Each build_* finishes `b` (cleared first) with one control message; the
// finished buffer (b.GetBufferPointer(), b.GetSize()) is the frame payload.
// Text beyond max_control_text is cut at that length.
void build_error_reply(flatbuffers::FlatBufferBuilder& b, const herald::error& e);
void build_close(flatbuffers::FlatBufferBuilder& b, const close_notice& c);
void build_heartbeat(flatbuffers::FlatBufferBuilder& b, const heartbeat& h);
void build_credit(flatbuffers::FlatBufferBuilder& b, const credit_grant& c);

// Each decode_* verifies `in` (8-byte aligned: a frame payload) with the
// FlatBuffers Verifier before reading a field. Errors: verification_failed,
// decode_failed (text over max_control_text). An error code this build does
// not know is kept as its number.
result<error_reply> decode_error_reply(std::span<const std::byte> in);
result<close_notice> decode_close(std::span<const std::byte> in);
result<heartbeat> decode_heartbeat(std::span<const std::byte> in);
result<credit_grant> decode_credit(std::span<const std::byte> in);

}  // namespace herald::wire
