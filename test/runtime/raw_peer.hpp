#pragma once

// A raw client socket for the runtime tests: speaks bytes, not frames, so a
// test can play a hostile or broken peer.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "herald/wire/control.hpp"
#include "herald/wire/frame.hpp"
#include "herald/wire/handshake.hpp"

namespace herald::runtime::test {

class raw_peer {
 public:
  // Connects to "tcp://127.0.0.1:port" or "unix:///path".
  explicit raw_peer(const std::string& address) {
    if (address.rfind("tcp://", 0) == 0) {
      const auto colon = address.rfind(':');
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
      ::inet_pton(AF_INET, address.substr(6, colon - 6).c_str(), &sa.sin_addr);
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    } else {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      const std::string path = address.substr(7);
      std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
  }
  ~raw_peer() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  bool connected() const { return connected_; }

  bool send(std::span<const std::byte> bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes; false on EOF, error or timeout.
  bool read_exact(std::byte* out, std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::size_t off = 0;
    while (off < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
      const auto r = ::recv(fd_, out + off, n - off, 0);
      if (r <= 0) return false;
      off += static_cast<std::size_t>(r);
    }
    return true;
  }

  struct frame {
    wire::frame_header header;
    std::vector<std::byte> payload;  // payload_length bytes, padding dropped
  };

  // Reads one whole frame; nullopt on EOF, error or timeout.
  std::optional<frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::byte header[32];
    if (!read_exact(header, 32, timeout)) return std::nullopt;
    frame f;
    f.header = wire::peek_header(header);
    if (f.header.payload_length > (1u << 20)) return std::nullopt;
    f.payload.resize(wire::frame_size(f.header.payload_length) - 32);
    if (!f.payload.empty() && !read_exact(f.payload.data(), f.payload.size(), timeout)) return std::nullopt;
    f.payload.resize(f.header.payload_length);
    return f;
  }

  // Reads frames until one of `kind` (skipping others); nullopt if none.
  std::optional<frame> read_until(wire::frame_kind kind, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    for (;;) {
      auto f = read_frame(timeout);
      if (!f || f->header.kind == kind) return f;
    }
  }

  bool send_frame(wire::frame_kind kind, std::span<const std::byte> payload) {
    wire::frame_header h;
    h.kind = kind;
    h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
    h.payload_length = static_cast<std::uint32_t>(payload.size());
    std::vector<std::byte> out(wire::frame_size(payload.size()), std::byte{0});
    wire::encode_header(h, out.data());
    std::memcpy(out.data() + wire::frame_header::size, payload.data(), payload.size());
    return send(out);
  }

  // Reads and discards until the peer closes; true when it did within timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::byte buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const auto r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// The handshake of PROTOCOL.md §5, computed here with OpenSSL from the spec
// alone (not with the runtime's code), so the tests check the spec.
using mac = std::array<std::uint8_t, 32>;

inline mac spec_key(std::string_view secret) {
  mac key{};
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  std::size_t len = key.size();
  const std::string_view salt = "herald-v2 key salt", info = "herald-v2 handshake mac key";
  EVP_PKEY_derive_init(ctx);
  EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256());
  EVP_PKEY_CTX_set1_hkdf_salt(ctx, reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()));
  EVP_PKEY_CTX_set1_hkdf_key(ctx, reinterpret_cast<const unsigned char*>(secret.data()), static_cast<int>(secret.size()));
  EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()), static_cast<int>(info.size()));
  EVP_PKEY_derive(ctx, key.data(), &len);
  EVP_PKEY_CTX_free(ctx);
  return key;
}

// The proof the side `initiator_side` (true: the dialler) sends.
inline mac spec_proof(std::string_view secret, bool initiator_side, std::span<const std::byte> initiator_hello,
                      std::span<const std::byte> acceptor_hello) {
  std::vector<unsigned char> t;
  for (auto part : {initiator_hello, acceptor_hello}) {
    const auto n = static_cast<std::uint32_t>(part.size());
    for (int i = 0; i < 4; ++i) t.push_back(static_cast<unsigned char>(n >> (8 * i)));
    for (auto b : part) t.push_back(static_cast<unsigned char>(b));
  }
  unsigned char th[32];
  SHA256(t.data(), t.size(), th);
  const std::string_view label = initiator_side ? "herald-v2 initiator" : "herald-v2 acceptor";
  std::vector<unsigned char> in(label.begin(), label.end());
  in.insert(in.end(), th, th + 32);
  const mac key = spec_key(secret);
  mac out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), in.data(), in.size(), out.data(), &len);
  return out;
}

// Plays a node that dialled `peer` by hand: reads the node's Hello, sends
// `mine` and the proof computed with `secret`. Returns the node's Hello
// bytes, or nullopt when the node's Hello did not come.
inline std::optional<std::vector<std::byte>> raw_dial_handshake(raw_peer& peer, const std::string& secret,
                                                                 const wire::hello& mine) {
  auto theirs = peer.read_until(wire::frame_kind::handshake);
  if (!theirs) return std::nullopt;
  const auto my_bytes = wire::encode(mine);
  if (!peer.send_frame(wire::frame_kind::handshake, my_bytes)) return std::nullopt;
  wire::proof p;
  p.mac = spec_proof(secret, true, my_bytes, theirs->payload);
  if (!peer.send_frame(wire::frame_kind::handshake_ack, wire::encode(p))) return std::nullopt;
  return theirs->payload;
}

// raw_dial_handshake as node 4242 ("raw"): the node accepts it when
// `secret` is the cluster's.
inline bool raw_handshake(raw_peer& peer, const std::string& secret) {
  wire::hello mine;
  mine.node_id = 4242;
  mine.incarnation = 1;
  mine.node_name = "raw";
  return raw_dial_handshake(peer, secret, mine).has_value();
}

// Reads until the node's close frame: its notice, or nullopt if the node
// hung up without one.
inline std::optional<wire::close_notice> read_close(raw_peer& peer,
                                                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto f = peer.read_until(wire::frame_kind::close, timeout);
  if (!f) return std::nullopt;
  alignas(8) std::byte aligned[4096];
  if (f->payload.size() > sizeof aligned) return std::nullopt;
  std::memcpy(aligned, f->payload.data(), f->payload.size());
  auto c = wire::decode_close(std::span<const std::byte>(aligned, f->payload.size()));
  if (!c) return std::nullopt;
  return *c;
}

}  // namespace herald::runtime::test
