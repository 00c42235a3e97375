#include "herald/wire/control.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace herald::wire {
namespace {

// The finished buffer of b, copied to 8-aligned storage like a frame payload.
struct payload {
  explicit payload(const flatbuffers::FlatBufferBuilder& b) : words(b.GetSize() / 8 + 1), size(b.GetSize()) {
    std::memcpy(words.data(), b.GetBufferPointer(), size);
  }
  std::span<const std::byte> bytes() const { return {reinterpret_cast<const std::byte*>(words.data()), size}; }
  std::vector<std::uint64_t> words;
  std::size_t size;
};

TEST(Control, ErrorReplyRoundTripsTheCodeAndContext) {
  flatbuffers::FlatBufferBuilder b;
  build_error_reply(b, error(errc::actor_stopped, "bank/alice stopped"));
  auto r = decode_error_reply(payload(b).bytes());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->to_error(), error(errc::actor_stopped, "bank/alice stopped"));
}

TEST(Control, CloseAndHeartbeatRoundTrip) {
  flatbuffers::FlatBufferBuilder b;
  build_close(b, close_notice{errc::schema_mismatch, "schema hash differs"});
  auto c = decode_close(payload(b).bytes());
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, (close_notice{errc::schema_mismatch, "schema hash differs"}));
  build_heartbeat(b, heartbeat{7, 99, true});
  auto h = decode_heartbeat(payload(b).bytes());
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(*h, (heartbeat{7, 99, true}));
}

TEST(Control, CreditRoundTripsItsLimitsAndMeetsTheFlatBuffersMinimumWhenZero) {
  flatbuffers::FlatBufferBuilder b;
  build_credit(b, credit_grant{std::uint64_t{1} << 40, 1024});
  auto c = decode_credit(payload(b).bytes());
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, (credit_grant{std::uint64_t{1} << 40, 1024}));
  build_credit(b, credit_grant{0, 0});
  EXPECT_GE(b.GetSize(), 12u) << "a credit frame passes the 12-byte check of PROTOCOL.md §2";
  auto z = decode_credit(payload(b).bytes());
  ASSERT_TRUE(z);
  EXPECT_EQ(*z, (credit_grant{0, 0}));
}

TEST(Control, LongTextIsCutOnSendAndRefusedOnReceive) {
  flatbuffers::FlatBufferBuilder b;
  build_close(b, close_notice{errc::ok, std::string(5000, 'r')});
  auto c = decode_close(payload(b).bytes());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reason.size(), max_control_text);

  b.Clear();
  b.Finish(fb::CreateClose(b, 0, b.CreateString(std::string(max_control_text + 1, 'x'))));
  auto bad = decode_close(payload(b).bytes());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::decode_failed);
}

TEST(Control, EveryTruncationIsRejectedWithoutReadingOutOfBounds) {
  flatbuffers::FlatBufferBuilder b;
  build_error_reply(b, error(errc::timeout, "no reply within 200ms"));
  payload p(b);
  // The last string ends with up to 3 bytes of alignment padding that a
  // buffer may lose and stay valid; every cut into data is refused.
  for (std::size_t n = 0; n + 3 < p.size; ++n) {
    auto r = decode_error_reply(p.bytes().first(n));
    ASSERT_FALSE(r) << "cut to " << n << " of " << p.size << " bytes";
    EXPECT_EQ(r.error().code(), errc::verification_failed);
  }
  for (std::size_t n = p.size - 3; n <= p.size; ++n) {
    auto r = decode_error_reply(p.bytes().first(n));
    if (r) {
      EXPECT_EQ(r->context, "no reply within 200ms") << "a cut into padding loses nothing";
    }
  }
}

}  // namespace
}  // namespace herald::wire
