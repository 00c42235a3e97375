#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "herald/registry/registry_types.hpp"
#include "herald/result.hpp"

namespace herald::registry {

enum class member_status : std::uint8_t { up = 0, suspect = 1, down = 2, left = 3 };

std::string_view to_string(member_status s) noexcept;

// The most accusers a member record carries (more is refused on receipt).
inline constexpr std::size_t max_accusers = 16;

// What one node claims about one run of a member. Between claims about the
// same run the higher seq wins, then the graver status (left > down > suspect > up).
// A client member (a node without a listen address, reached only over the
// links it opened) has the address client_address(node).
struct member_info {
  member_key key;
  std::uint64_t seq = 0;
  member_status status = member_status::up;
  std::string name;
  std::string address;
  // Nodes that suspect this run at this seq from their own failed probes,
  // sorted, at most max_accusers. Empty unless status is suspect.
  std::vector<node_id> accusers;

  friend bool operator==(const member_info&, const member_info&) = default;
};

// The address of a client member: never dialled, reached over its own link.
inline std::string client_address(node_id node) { return "client:" + std::to_string(node); }
inline bool is_client_address(std::string_view address) noexcept { return address.starts_with("client:"); }

enum class gossip_phase : std::uint8_t { syn = 0, ack = 1, ack2 = 2 };

// A round of push-pull gossip (see wire/schemas/gossip.fbs).
struct gossip_msg {
  gossip_phase phase = gossip_phase::syn;
  member_info sender;
  std::vector<member_info> members;
  std::vector<stream_digest> digests;
  std::vector<stream_batch> batches;
};

struct heartbeat_msg {
  member_info sender;
};

enum class probe_kind : std::uint8_t { ping = 0, ping_req = 1, ack = 2 };

struct probe_msg {
  probe_kind kind = probe_kind::ping;
  member_info sender;
  node_id origin = 0;
  node_id subject = 0;
  std::uint64_t nonce = 0;
};

using cluster_message = std::variant<gossip_msg, heartbeat_msg, probe_msg>;

// Bounds a received control message must meet before any of it is used.
struct codec_limits {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_members = 1024;
  std::size_t max_string_bytes = 512;  // member names and addresses
  std::size_t max_depth = 16;
  std::size_t max_tables = 64 * 1024;
};

// Encodes one control message as a verified-on-receipt FlatBuffer.
std::vector<std::byte> encode(const cluster_message& msg);

// Decodes a buffer from the network: the size, then the FlatBuffers Verifier
// (herald::wire::verify_root: the buffer must start 8-byte aligned, as frame
// payloads do), then the semantic bounds, all before any field is copied out.
// frame_too_large, verification_failed, limit_exceeded or decode_failed.
result<cluster_message> decode(std::span<const std::byte> bytes, const codec_limits& limits);

}  // namespace herald::registry
