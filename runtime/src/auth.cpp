#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <random>

namespace herald::runtime {

mac_bytes random_nonce() {
  mac_bytes n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    // The CSPRNG failing is exceptional; a std::random_device nonce keeps the
    // challenge unpredictable enough to refuse replays.
    std::random_device rd;
    for (auto& b : n) b = static_cast<std::uint8_t>(rd());
  }
  return n;
}

mac_bytes hmac_sha256(std::string_view key, std::span<const std::byte> data) {
  mac_bytes out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

bool macs_equal(const mac_bytes& a, const mac_bytes& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace herald::runtime
