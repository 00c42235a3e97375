#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "herald/result.hpp"

namespace herald::wire {

// The protocol version this build speaks (PROTOCOL.md, "Versions").
inline constexpr std::uint16_t protocol_version = 4;

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

// The second message (frame kind handshake_ack), sent once the peer's Hello
// is in (PROTOCOL.md §5):
//   key   = HKDF-SHA256(ikm = secret, salt = key_salt, info = key_info), 32 bytes
//   th    = SHA-256(transcript_input(initiator's Hello bytes, acceptor's Hello bytes))
//   mac   = HMAC-SHA256(key, proof_input(role of the sender, th))
// The transport computes and checks it (runtime/src/auth.hpp).
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

// Which end of the connection a proof comes from: the side that dialled
// (initiator) or the side that accepted (acceptor).
enum class handshake_role : std::uint8_t { initiator, acceptor };

// HKDF-SHA256 parameters of the MAC key (ASCII, no terminator).
inline constexpr std::string_view key_salt = "herald-v2 key salt";
inline constexpr std::string_view key_info = "herald-v2 handshake mac key";

// "herald-v2 initiator" or "herald-v2 acceptor" (ASCII, no terminator).
std::string_view proof_label(handshake_role role) noexcept;

// The bytes whose SHA-256 is the transcript hash: both Hello payloads exactly
// as they travelled, initiator's first, each after its length as 4
// little-endian bytes.
std::vector<std::byte> transcript_input(std::span<const std::byte> initiator_hello,
                                        std::span<const std::byte> acceptor_hello);

// The bytes a proof's HMAC covers: proof_label(role) || transcript hash.
std::vector<std::byte> proof_input(handshake_role role, std::span<const std::uint8_t, 32> transcript_hash);

}  // namespace herald::wire
