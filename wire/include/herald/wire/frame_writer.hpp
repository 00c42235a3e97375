#pragma once

#include <cstddef>
#include <cstring>
#include <span>

#include "herald/wire/codec.hpp"
#include "herald/wire/frame.hpp"
#include "herald/wire/frame_decoder.hpp"

namespace herald::wire {

// Bytes of the frame that carries m (header, payload, padding), or
// `unencodable` when m is beyond any max_frame_size. A sender claims this many
// bytes in its ring buffer, then calls write_message_frame.
template <class M>
std::size_t message_frame_size(const M& m) noexcept {
  static_assert(require_codec<M>());
  if constexpr (has_codec<M>) {  // keeps the diagnostic to the static_assert's one line
    const std::size_t n = codec<M>::encoded_size(m);
    return n > max_frame_size_cap ? unencodable : frame_size(n);
  } else {
    return unencodable;
  }
}

// Writes h (payload_length set to the payload's size), the payload and zero
// padding into out. Precondition: out.size() == frame_size(payload.size()).
inline void write_frame(frame_header h, std::span<const std::byte> payload, std::span<std::byte> out) noexcept {
  h.payload_length = static_cast<std::uint32_t>(payload.size());
  encode_header(h, out.data());
  if (!payload.empty()) std::memcpy(out.data() + frame_header::size, payload.data(), payload.size());
  const std::size_t end = frame_header::size + payload.size();
  std::memset(out.data() + end, 0, out.size() - end);
}

// Encodes m straight into out as a whole frame: h with payload_length and,
// for tell and ask, type_id filled in. Precondition: out.size() ==
// message_frame_size(m) (not unencodable).
template <class M>
void write_message_frame(frame_header h, const M& m, std::span<std::byte> out) noexcept {
  static_assert(require_codec<M>());
  if constexpr (has_codec<M>) {
    const std::size_t n = codec<M>::encoded_size(m);
    h.payload_length = static_cast<std::uint32_t>(n);
    if (h.kind == frame_kind::tell || h.kind == frame_kind::ask) h.type_id = type_id_of<M>();
    encode_header(h, out.data());
    codec<M>::encode(m, out.subspan(frame_header::size, n));
    const std::size_t end = frame_header::size + n;
    std::memset(out.data() + end, 0, out.size() - end);
  }
}

}  // namespace herald::wire
