#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
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

mac_bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::byte> data) {
  mac_bytes out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

mac_bytes sha256(std::span<const std::byte> data) {
  mac_bytes out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

result<mac_bytes> derive_handshake_key(std::string_view secret) {
  mac_bytes key{};
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                   &EVP_PKEY_CTX_free);
  std::size_t len = key.size();
  const bool ok =
      ctx && EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) == 1 &&
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), reinterpret_cast<const unsigned char*>(wire::key_salt.data()),
                                  static_cast<int>(wire::key_salt.size())) == 1 &&
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                                 static_cast<int>(secret.size())) == 1 &&
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<const unsigned char*>(wire::key_info.data()),
                                  static_cast<int>(wire::key_info.size())) == 1 &&
      EVP_PKEY_derive(ctx.get(), key.data(), &len) == 1 && len == key.size();
  if (!ok) return herald::error(errc::io_error, "OpenSSL cannot derive the handshake key (HKDF-SHA256)");
  return key;
}

mac_bytes handshake_proof(const mac_bytes& key, wire::handshake_role role, std::span<const std::byte> initiator_hello,
                          std::span<const std::byte> acceptor_hello) {
  const mac_bytes th = sha256(wire::transcript_input(initiator_hello, acceptor_hello));
  return hmac_sha256(key, wire::proof_input(role, th));
}

bool macs_equal(const mac_bytes& a, const mac_bytes& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace herald::runtime
