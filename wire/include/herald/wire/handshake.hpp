#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "herald/result.hpp"

namespace herald::wire {

// The protocol version this build speaks (PROTOCOL.md, "Versions").
inline constexpr std::uint16_t protocol_version = 1;

// Bounds a handshake must respect; a decoder rejects anything beyond them.
inline constexpr std::size_t max_node_name = 255;
inline constexpr std::size_t max_listen_address = 255;
inline constexpr std::size_t max_handshake_size = 4096;

// The first message each side sends (frame kind handshake). A value type.
struct hello {
  std::uint16_t protocol_version = wire::protocol_version;
  std::uint64_t node_id = 0;
  std::uint64_t incarnation = 0;
  std::uint64_t schema_hash = 0;
  std::array<std::uint8_t, 32> nonce{};  // fresh random bytes for the peer's proof
  std::string node_name;
  std::string listen_address;

  friend bool operator==(const hello&, const hello&) = default;
};

// The second message (frame kind handshake_ack):
//   mac = HMAC-SHA256(secret, "herald-v1" || peer's nonce || own node_id || peer's node_id)
// with node ids as 8 little-endian bytes. The transport computes and checks it.
struct proof {
  std::array<std::uint8_t, 32> mac{};

  friend bool operator==(const proof&, const proof&) = default;
};

// Encodes into a finished FlatBuffers buffer: the payload of its frame.
// Fields beyond the bounds above are a caller bug: encode truncates nothing
// and the peer will reject the handshake.
std::vector<std::byte> encode(const hello& h);
std::vector<std::byte> encode(const proof& p);

// Verifies `in` with the FlatBuffers Verifier (depth and table limits of the
// schema) before reading any field, then checks every bound. Errors:
// limit_exceeded (input over max_handshake_size), verification_failed (not a
// well-formed Hello/Proof), decode_failed (a field missing or out of bounds,
// with its name). A version or schema mismatch is the transport's to judge.
result<hello> decode_hello(std::span<const std::byte> in);
result<proof> decode_proof(std::span<const std::byte> in);

// The bytes the proof's HMAC covers, in order (the transport feeds them to
// HMAC-SHA256 with the cluster secret).
std::vector<std::byte> proof_input(std::span<const std::uint8_t, 32> peer_nonce, std::uint64_t own_node_id,
                                   std::uint64_t peer_node_id);

}  // namespace herald::wire
