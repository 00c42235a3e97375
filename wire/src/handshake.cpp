#include "herald/wire/handshake.hpp"

#include <algorithm>
#include <cstring>

#include "herald/wire/fb_verify.hpp"
#include "herald/wire/handshake_generated.h"

namespace herald::wire {

namespace {

// A Hello is one table with two strings and a vector: depth 2, one table.
constexpr verify_limits handshake_limits{.max_depth = 3, .max_tables = 2};

std::vector<std::byte> finish(flatbuffers::FlatBufferBuilder& b) {
  const auto* p = reinterpret_cast<const std::byte*>(b.GetBufferPointer());
  return {p, p + b.GetSize()};
}

// Copies `in` into aligned storage when it is not 8-aligned, so that decoding
// a handshake never depends on how the caller buffered it.
template <class Table, class F>
auto with_verified(std::span<const std::byte> in, F&& read) -> decltype(read(static_cast<const Table*>(nullptr))) {
  if (in.size() > max_handshake_size)
    return herald::error(errc::limit_exceeded, "handshake message larger than 4096 bytes");
  alignas(8) std::byte aligned[max_handshake_size];
  if (reinterpret_cast<std::uintptr_t>(in.data()) % 8 != 0) {
    if (!in.empty()) std::memcpy(aligned, in.data(), in.size());
    in = std::span<const std::byte>(aligned, in.size());
  }
  auto root = verify_root<Table>(in, handshake_limits);
  if (!root) return std::move(root).error();
  return read(*root);
}

template <std::size_t N>
result<void> copy_fixed(const flatbuffers::Vector<std::uint8_t>* v, std::array<std::uint8_t, N>& out,
                        const char* field) {
  if (v == nullptr || v->size() != N)
    return herald::error(errc::decode_failed, std::string(field) + " must be exactly " + std::to_string(N) + " bytes");
  std::copy(v->begin(), v->end(), out.begin());
  return {};
}

result<void> copy_string(const flatbuffers::String* s, std::string& out, std::size_t max, const char* field) {
  if (s == nullptr) return {};
  if (s->size() > max)
    return herald::error(errc::decode_failed, std::string(field) + " longer than " + std::to_string(max) + " bytes");
  out.assign(s->data(), s->size());
  return {};
}

}  // namespace

std::vector<std::byte> encode(const hello& h) {
  flatbuffers::FlatBufferBuilder b(256);
  auto nonce = b.CreateVector(h.nonce.data(), h.nonce.size());
  auto name = b.CreateString(h.node_name);
  auto addr = b.CreateString(h.listen_address);
  b.Finish(fb::CreateHello(b, h.protocol_version, h.node_id, h.incarnation, h.schema_hash, nonce, name, addr));
  return finish(b);
}

std::vector<std::byte> encode(const proof& p) {
  flatbuffers::FlatBufferBuilder b(64);
  auto mac = b.CreateVector(p.mac.data(), p.mac.size());
  b.Finish(fb::CreateProof(b, mac));
  return finish(b);
}

result<hello> decode_hello(std::span<const std::byte> in) {
  return with_verified<fb::Hello>(in, [](const fb::Hello* m) -> result<hello> {
    hello h;
    h.protocol_version = m->protocol_version();
    h.node_id = m->node_id();
    h.incarnation = m->incarnation();
    h.schema_hash = m->schema_hash();
    if (auto ok = copy_fixed(m->nonce(), h.nonce, "hello.nonce"); !ok) return std::move(ok).error();
    if (auto ok = copy_string(m->node_name(), h.node_name, max_node_name, "hello.node_name"); !ok)
      return std::move(ok).error();
    if (auto ok = copy_string(m->listen_address(), h.listen_address, max_listen_address, "hello.listen_address"); !ok)
      return std::move(ok).error();
    return h;
  });
}

result<proof> decode_proof(std::span<const std::byte> in) {
  return with_verified<fb::Proof>(in, [](const fb::Proof* m) -> result<proof> {
    proof p;
    if (auto ok = copy_fixed(m->mac(), p.mac, "proof.mac"); !ok) return std::move(ok).error();
    return p;
  });
}

std::string_view proof_label(handshake_role role) noexcept {
  return role == handshake_role::initiator ? "herald-v2 initiator" : "herald-v2 acceptor";
}

std::vector<std::byte> transcript_input(std::span<const std::byte> initiator_hello,
                                        std::span<const std::byte> acceptor_hello) {
  std::vector<std::byte> out;
  out.reserve(8 + initiator_hello.size() + acceptor_hello.size());
  for (auto part : {initiator_hello, acceptor_hello}) {
    const auto n = static_cast<std::uint32_t>(part.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(n >> (8 * i)));
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::vector<std::byte> proof_input(handshake_role role, std::span<const std::uint8_t, 32> transcript_hash) {
  const std::string_view label = proof_label(role);
  std::vector<std::byte> out;
  out.reserve(label.size() + transcript_hash.size());
  for (char c : label) out.push_back(static_cast<std::byte>(c));
  for (auto b : transcript_hash) out.push_back(static_cast<std::byte>(b));
  return out;
}

}  // namespace herald::wire
