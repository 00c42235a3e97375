#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "herald/result.hpp"
#include "herald/wire/handshake.hpp"

namespace herald::runtime {

using mac_bytes = std::array<std::uint8_t, 32>;

// 32 bytes from OpenSSL's CSPRNG: the nonce of a Hello.
mac_bytes random_nonce();
// HMAC-SHA256(key, data).
mac_bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::byte> data);
mac_bytes sha256(std::span<const std::byte> data);
// The handshake MAC key: HKDF-SHA256 of the secret's bytes with
// wire::key_salt and wire::key_info (PROTOCOL.md §5.3). Error: io_error when
// OpenSSL cannot derive it.
result<mac_bytes> derive_handshake_key(std::string_view secret);
// The proof `role` sends on a connection whose Hellos were these bytes.
mac_bytes handshake_proof(const mac_bytes& key, wire::handshake_role role, std::span<const std::byte> initiator_hello,
                          std::span<const std::byte> acceptor_hello);
// Constant-time comparison.
bool macs_equal(const mac_bytes& a, const mac_bytes& b) noexcept;

}  // namespace herald::runtime
