#include "herald/wire/handshake.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "herald/wire/handshake_generated.h"

namespace herald::wire {
namespace {

hello sample_hello() {
  hello h;
  h.node_id = 0x1122334455667788ull;
  h.incarnation = 3;
  h.schema_hash = 0xdeadbeefcafef00dull;
  for (std::size_t i = 0; i < h.nonce.size(); ++i) h.nonce[i] = static_cast<std::uint8_t>(i * 7);
  h.node_name = "node-a";
  h.listen_address = "127.0.0.1:7000";
  return h;
}

// Copies into 8-aligned storage, as a frame payload would be.
struct aligned_bytes {
  explicit aligned_bytes(const std::vector<std::byte>& v) : words((v.size() + 7) / 8 + 1), size(v.size()) {
    if (!v.empty()) std::memcpy(words.data(), v.data(), v.size());
  }
  std::span<const std::byte> span() const { return {reinterpret_cast<const std::byte*>(words.data()), size}; }
  std::vector<std::uint64_t> words;
  std::size_t size;
};

TEST(Handshake, HelloRoundTrips) {
  const hello h = sample_hello();
  auto bytes = encode(h);
  aligned_bytes a(bytes);
  auto back = decode_hello(a.span());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, h);
  EXPECT_EQ(back->protocol_version, protocol_version);
}

TEST(Handshake, ProofRoundTrips) {
  proof p;
  for (std::size_t i = 0; i < p.mac.size(); ++i) p.mac[i] = static_cast<std::uint8_t>(255 - i);
  aligned_bytes a(encode(p));
  auto back = decode_proof(a.span());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, p);
}

TEST(Handshake, DecodesFromAMisalignedBuffer) {
  auto bytes = encode(sample_hello());
  std::vector<std::byte> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  auto back = decode_hello(std::span<const std::byte>(shifted).subspan(1));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, sample_hello());
}

TEST(Handshake, RejectsGarbageAsVerificationFailed) {
  std::vector<std::byte> junk(64, std::byte{0xFF});
  aligned_bytes a(junk);
  auto r = decode_hello(a.span());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::verification_failed) << r.error().message();
  EXPECT_EQ(decode_proof(a.span()).error().code(), errc::verification_failed);
  EXPECT_EQ(decode_hello({}).error().code(), errc::verification_failed) << "an empty buffer is not a Hello";
}

TEST(Handshake, EveryTruncationOfAHelloIsRejected) {
  auto bytes = encode(sample_hello());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    aligned_bytes a(std::vector<std::byte>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_FALSE(decode_hello(a.span())) << "a Hello cut to " << n << " bytes";
  }
}

TEST(Handshake, RejectsAnOversizedMessageBeforeVerifying) {
  std::vector<std::byte> big(max_handshake_size + 8);
  aligned_bytes a(big);
  EXPECT_EQ(decode_hello(a.span()).error().code(), errc::limit_exceeded);
}

TEST(Handshake, RejectsAWrongNonceLengthAndALongName) {
  flatbuffers::FlatBufferBuilder b;
  std::uint8_t short_nonce[16] = {};
  b.Finish(fb::CreateHello(b, 1, 1, 1, 1, b.CreateVector(short_nonce, 16), b.CreateString("n"), 0));
  std::vector<std::byte> v(reinterpret_cast<const std::byte*>(b.GetBufferPointer()),
                           reinterpret_cast<const std::byte*>(b.GetBufferPointer()) + b.GetSize());
  auto r = decode_hello(aligned_bytes(v).span());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::decode_failed);
  EXPECT_NE(r.error().context().find("nonce"), std::string::npos) << r.error().message();

  hello h = sample_hello();
  h.node_name.assign(max_node_name + 1, 'x');
  auto r2 = decode_hello(aligned_bytes(encode(h)).span());
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), errc::decode_failed);
  EXPECT_NE(r2.error().context().find("node_name"), std::string::npos) << r2.error().message();
}

TEST(Handshake, TranscriptInputIsBothHellosLengthPrefixedInitiatorFirst) {
  const std::vector<std::byte> i{std::byte{1}, std::byte{2}, std::byte{3}};
  const std::vector<std::byte> a{std::byte{9}};
  auto in = transcript_input(i, a);
  ASSERT_EQ(in.size(), 4u + 3u + 4u + 1u);
  EXPECT_EQ(in[0], std::byte{3}) << "initiator's length, little-endian";
  EXPECT_EQ(in[1], std::byte{0});
  EXPECT_EQ(in[4], std::byte{1});
  EXPECT_EQ(in[7], std::byte{1}) << "acceptor's length";
  EXPECT_EQ(in[11], std::byte{9});
  EXPECT_NE(transcript_input(a, i), in) << "the order of the two Hellos matters";
}

TEST(Handshake, ProofInputIsTheRoleLabelThenTheTranscriptHash) {
  std::array<std::uint8_t, 32> th{};
  th[0] = 0xAA;
  auto in = proof_input(handshake_role::initiator, th);
  ASSERT_EQ(in.size(), 19u + 32u);
  EXPECT_EQ(std::memcmp(in.data(), "herald-v2 initiator", 19), 0);
  EXPECT_EQ(in[19], std::byte{0xAA});
  auto acc = proof_input(handshake_role::acceptor, th);
  ASSERT_EQ(acc.size(), 18u + 32u);
  EXPECT_EQ(std::memcmp(acc.data(), "herald-v2 acceptor", 18), 0);
}

}  // namespace
}  // namespace herald::wire
