#include "herald/registry/cluster_messages.hpp"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "herald/wire/gossip_generated.h"

namespace herald::registry {
namespace {

const codec_limits limits{};

member_info alice() {
  return member_info{member_key{1, 7}, 3, member_status::suspect, "alice", "10.0.0.1:7000", {2, 5}};
}

TEST(ClusterMessages, GossipSurvivesTheRoundTrip) {
  gossip_msg g{gossip_phase::ack, alice(), {alice()}, {stream_digest{member_key{2, 9}, 41, true}}, {}};
  g.batches.push_back(stream_batch{member_key{2, 9}, true, 40, 12,
                                   {name_delta{"bank/alice", 5, false, 77, 0xacc0}, name_delta{"gone", 6, true, 0, 0}}});
  auto out = decode(encode(g), limits);
  ASSERT_TRUE(out) << out.error().message();
  const auto& got = std::get<gossip_msg>(*out);
  EXPECT_EQ(got.phase, gossip_phase::ack);
  EXPECT_EQ(got.sender, alice());
  EXPECT_EQ(got.members, std::vector<member_info>{alice()});
  EXPECT_EQ(got.digests, g.digests);
  ASSERT_EQ(got.batches.size(), 1u);
  EXPECT_EQ(got.batches[0].owner, (member_key{2, 9}));
  EXPECT_TRUE(got.batches[0].reset);
  EXPECT_EQ(got.batches[0].reset_target, 40u);
  EXPECT_EQ(got.batches[0].floor, 12u);
  EXPECT_EQ(got.batches[0].deltas, g.batches[0].deltas);
}

TEST(ClusterMessages, HeartbeatsAndProbesSurviveTheRoundTrip) {
  auto hb = decode(encode(heartbeat_msg{alice()}), limits);
  ASSERT_TRUE(hb);
  EXPECT_EQ(std::get<heartbeat_msg>(*hb).sender, alice());
  auto pr = decode(encode(probe_msg{probe_kind::ping_req, alice(), 1, 5, 0xfeed}), limits);
  ASSERT_TRUE(pr);
  const auto& p = std::get<probe_msg>(*pr);
  EXPECT_EQ(p.kind, probe_kind::ping_req);
  EXPECT_EQ(p.subject, 5u);
  EXPECT_EQ(p.nonce, 0xfeedu);
}

TEST(ClusterMessages, EveryTruncationIntoTheDataOfAValidMessageIsRefused) {
  const std::vector<std::byte> whole = encode(gossip_msg{gossip_phase::syn, alice(), {alice(), alice()}, {}, {}});
  // The last bytes of a FlatBuffer may be alignment padding after the last
  // string's terminator, which no field refers to.
  for (std::size_t n = 0; n + 4 < whole.size(); ++n) {
    std::vector<std::byte> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    auto out = decode(cut, limits);
    EXPECT_FALSE(out) << "a buffer cut to " << n << " of " << whole.size() << " bytes was accepted";
  }
}

TEST(ClusterMessages, OversizedBuffersAreRefusedBeforeVerification) {
  codec_limits small = limits;
  small.max_message_bytes = 64;
  auto out = decode(encode(gossip_msg{gossip_phase::syn, alice(), {alice(), alice()}, {}, {}}), small);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), errc::frame_too_large);
}

TEST(ClusterMessages, SemanticBoundsAreCheckedAfterVerification) {
  codec_limits tight = limits;
  tight.max_members = 2;
  tight.max_string_bytes = 8;
  auto crowd = decode(encode(gossip_msg{gossip_phase::syn, member_info{}, {member_info{}, member_info{}, member_info{}}, {}, {}}), tight);
  ASSERT_FALSE(crowd);
  EXPECT_EQ(crowd.error().code(), errc::limit_exceeded);
  auto long_address = decode(encode(heartbeat_msg{alice()}), tight);
  ASSERT_FALSE(long_address);
  EXPECT_EQ(long_address.error().code(), errc::limit_exceeded);
}

TEST(ClusterMessages, AnEnumOutOfRangeIsRefused) {
  namespace fb = herald::wire::gossip;
  flatbuffers::FlatBufferBuilder b;
  auto m = fb::CreateMember(b, 1, 1, 0, static_cast<fb::MemberStatus>(9));
  auto hb = fb::CreateHeartbeat(b, m);
  b.Finish(fb::CreateClusterMessage(b, fb::ClusterBody::Heartbeat, hb.Union()));
  auto out = decode(std::span(reinterpret_cast<const std::byte*>(b.GetBufferPointer()), b.GetSize()), limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), errc::decode_failed);
}

TEST(ClusterMessages, AnAccusersVectorAtFourByteAlignmentIsRefusedNotReadMisaligned) {
  // The FlatBuffers verifier checks a vector's length at 4-byte alignment
  // only; a hostile peer can place a [ulong] so its elements are misaligned.
  namespace fb = herald::wire::gossip;
  flatbuffers::FlatBufferBuilder b;
  b.Align(8);
  b.PushElement<std::uint32_t>(0);  // the 8 element bytes now end 4 bytes off an 8-byte boundary
  b.StartVector(2, sizeof(std::uint32_t));
  b.PushElement<std::uint32_t>(0);
  b.PushElement<std::uint32_t>(5);
  const flatbuffers::Offset<flatbuffers::Vector<std::uint64_t>> accusers(b.EndVector(1));
  ASSERT_EQ((b.GetSize() - sizeof(std::uint32_t)) % 8, 4u);
  auto m = fb::CreateMember(b, 1, 1, 0, fb::MemberStatus::Suspect, 0, 0, accusers);
  auto hb = fb::CreateHeartbeat(b, m);
  b.Finish(fb::CreateClusterMessage(b, fb::ClusterBody::Heartbeat, hb.Union()));
  std::vector<std::uint64_t> aligned((b.GetSize() + 7) / 8);
  std::memcpy(aligned.data(), b.GetBufferPointer(), b.GetSize());
  const auto* bytes = reinterpret_cast<const std::byte*>(aligned.data());
  const auto* msg = fb::GetClusterMessage(aligned.data());
  ASSERT_NE(msg->body_as_Heartbeat()->sender()->accusers(), nullptr);
  ASSERT_NE(reinterpret_cast<std::uintptr_t>(msg->body_as_Heartbeat()->sender()->accusers()->data()) % 8, 0u);
  auto out = decode(std::span(bytes, b.GetSize()), limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), errc::decode_failed) << out.error().message();
}

TEST(ClusterMessages, AMessageWithoutABodyIsRefused) {
  namespace fb = herald::wire::gossip;
  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateClusterMessage(b));
  auto out = decode(std::span(reinterpret_cast<const std::byte*>(b.GetBufferPointer()), b.GetSize()), limits);
  ASSERT_FALSE(out);
  EXPECT_TRUE(out.error().code() == errc::decode_failed || out.error().code() == errc::verification_failed)
      << out.error().message();
}

TEST(ClusterMessages, TooManyAccusersAreRefusedWithTheirMessage) {
  member_info m = alice();
  m.accusers.clear();
  for (node_id a = 1; a <= max_accusers + 1; ++a) m.accusers.push_back(a);
  auto out = decode(encode(heartbeat_msg{m}), limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), errc::limit_exceeded);
}

}  // namespace
}  // namespace herald::registry
