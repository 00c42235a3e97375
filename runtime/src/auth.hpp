#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace herald::runtime {

using mac_bytes = std::array<std::uint8_t, 32>;

// 32 bytes from OpenSSL's CSPRNG: the nonce a peer must sign.
mac_bytes random_nonce();
// HMAC-SHA256(key, data).
mac_bytes hmac_sha256(std::string_view key, std::span<const std::byte> data);
// Constant-time comparison.
bool macs_equal(const mac_bytes& a, const mac_bytes& b) noexcept;

}  // namespace herald::runtime
