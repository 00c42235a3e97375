// Fuzz target: the frame decoder on an arbitrary byte stream delivered in
// chunks split at input-chosen points, the way a socket delivers it. The
// first 8 bytes choose the split points; the rest is the stream.
//
// Checks: the decoder never reads past what it is given, never asks for more
// than frame_size(max_frame_size), never errs on a prefix of a stream it
// accepts whole, and frames the same sequence however the stream is split.
// Each whole frame's payload also goes through the decoder of its kind.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_support.hpp"
#include "herald/wire/control.hpp"
#include "herald/wire/frame_decoder.hpp"
#include "herald/wire/handshake.hpp"

namespace {

using namespace herald::wire;

constexpr std::uint32_t max_frame = 1u << 16;

struct seen {
  std::uint8_t kind;
  std::uint32_t length;
  std::uint64_t target;
  bool operator==(const seen&) const = default;
};

void decode_payload(const frame_view& f) {
  switch (f.header.kind) {
    case frame_kind::handshake: (void)decode_hello(f.payload); break;
    case frame_kind::handshake_ack: (void)decode_proof(f.payload); break;
    case frame_kind::error_reply: (void)decode_error_reply(f.payload); break;
    case frame_kind::close: (void)decode_close(f.payload); break;
    case frame_kind::heartbeat: (void)decode_heartbeat(f.payload); break;
    case frame_kind::credit: (void)decode_credit(f.payload); break;
    default: break;
  }
}

// Feeds `stream` to a decoder in chunks ending at `cuts`, buffering like a
// reader that keeps its buffer 8-aligned and compacts after each frame.
// Returns the frames seen and whether the stream ended in an error.
std::pair<std::vector<seen>, bool> run(std::span<const std::byte> stream, const std::vector<std::size_t>& cuts,
                                       bool decode_payloads) {
  frame_decoder d(decode_limits{.max_frame_size = max_frame});
  // Uninitialised on purpose: only bytes copied in are ever read.
  constexpr std::size_t capacity = frame_size(max_frame);
  std::unique_ptr<std::uint64_t[]> storage(new std::uint64_t[capacity / 8]);
  auto* buf = reinterpret_cast<std::byte*>(storage.get());
  std::size_t buffered = 0, fed = 0;
  std::vector<seen> frames;
  std::size_t cut_index = 0;
  while (fed < stream.size()) {
    std::size_t until = cut_index < cuts.size() ? std::min(cuts[cut_index++], stream.size()) : stream.size();
    if (until <= fed) until = stream.size();
    // Never buffer past what the decoder asked for: a reader sizes its reads by bytes_needed().
    until = std::min(until, fed + (capacity - buffered));
    std::memcpy(buf + buffered, stream.data() + fed, until - fed);
    buffered += until - fed;
    fed = until;
    for (;;) {
      auto r = d.next(std::span<const std::byte>(buf, buffered));
      if (!r) {
        herald::fuzz::require(d.counters().errors() == 1);
        return {frames, true};
      }
      herald::fuzz::require(d.bytes_needed() <= frame_size(max_frame));
      if (!r->has_value()) {
        herald::fuzz::require(d.bytes_needed() > buffered);
        break;
      }
      const frame_view& f = **r;
      herald::fuzz::require(f.total_size <= buffered && f.total_size % frame_header::alignment == 0);
      herald::fuzz::require(f.payload.data() == buf + frame_header::size);
      herald::fuzz::require(f.payload.size() == f.header.payload_length);
      frames.push_back({static_cast<std::uint8_t>(f.header.kind), f.header.payload_length, f.header.target});
      if (decode_payloads) decode_payload(f);
      std::memmove(buf, buf + f.total_size, buffered - f.total_size);
      buffered -= f.total_size;
    }
  }
  (void)d.finish(buffered);
  return {frames, false};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::vector<std::size_t> cuts;
  const std::size_t stream_size = size - 8;
  std::size_t at = 0;
  for (std::size_t i = 0; i < 8 && stream_size > 0; ++i) {
    at += 1 + data[i] * (stream_size / 256 + 1) / 4;
    cuts.push_back(at);
  }
  std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + 8), stream_size);
  auto split = run(stream, cuts, true);
  auto whole = run(stream, {}, false);
  herald::fuzz::require(split.first == whole.first);
  herald::fuzz::require(split.second == whole.second);
  return 0;
}
