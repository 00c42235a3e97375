#include "herald/wire/frame_decoder.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace herald::wire {
namespace {

std::vector<std::byte> frame(frame_header h, std::size_t payload_bytes, std::byte fill = std::byte{0xAB}) {
  std::vector<std::byte> out(frame_size(payload_bytes), std::byte{0});
  encode_header(h, out.data());
  for (std::size_t i = 0; i < payload_bytes; ++i) out[frame_header::size + i] = fill;
  return out;
}

frame_header tell_header(std::uint32_t len) {
  frame_header h;
  h.kind = frame_kind::tell;
  h.payload_length = len;
  h.target = 7;
  h.type_id = 0x1234;
  return h;
}

TEST(FrameDecoder, ReturnsAWholeFrameWithItsPaddedSize) {
  frame_decoder d;
  auto bytes = frame(tell_header(5), 5);
  auto r = d.next(bytes);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value()) << "a whole frame is returned";
  const frame_view& f = **r;
  EXPECT_EQ(f.header.target, 7u);
  EXPECT_EQ(f.header.type_id, 0x1234u);
  EXPECT_EQ(f.payload.size(), 5u);
  EXPECT_EQ(f.total_size, 40u) << "32-byte header, 5 payload bytes, 3 bytes of padding";
  EXPECT_EQ(d.counters().frames, 1u);
  EXPECT_EQ(d.counters().errors(), 0u);
}

TEST(FrameDecoder, AsksForTheHeaderThenForTheCheckedFrameSize) {
  frame_decoder d;
  auto bytes = frame(tell_header(100), 100);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = d.next(std::span(bytes).first(n));
    ASSERT_TRUE(r) << "a prefix of a valid frame is never an error (" << n << " bytes)";
    EXPECT_FALSE(r->has_value()) << "a frame is not whole after " << n << " bytes";
    EXPECT_EQ(d.bytes_needed(), n < frame_header::size ? frame_header::size : bytes.size());
  }
  auto r = d.next(bytes);
  ASSERT_TRUE(r && r->has_value());
}

TEST(FrameDecoder, FramesABackToBackStreamAtEightByteBoundaries) {
  frame_decoder d;
  std::vector<std::byte> stream;
  for (std::uint32_t len : {0u, 1u, 7u, 8u, 9u, 64u}) {
    auto f = frame(tell_header(len), len);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::size_t at = 0, n = 0;
  while (at < stream.size()) {
    auto r = d.next(std::span(stream).subspan(at));
    ASSERT_TRUE(r && r->has_value()) << "frame " << n;
    at += (*r)->total_size;
    EXPECT_EQ(at % 8, 0u) << "every frame starts 8-byte aligned";
    ++n;
  }
  EXPECT_EQ(n, 6u);
}

TEST(FrameDecoder, RejectsAnOversizedLengthBeforeThePayloadArrives) {
  frame_decoder d(decode_limits{.max_frame_size = 1024});
  auto h = tell_header(0xFFFFFFFFu);
  std::vector<std::byte> bytes(frame_header::size);
  encode_header(h, bytes.data());
  auto r = d.next(bytes);
  ASSERT_FALSE(r) << "a 4 GiB length is refused from the header alone";
  EXPECT_EQ(r.error().code(), errc::frame_too_large);
  EXPECT_EQ(d.counters().frame_too_large, 1u);
  EXPECT_LE(d.bytes_needed(), frame_size(1024)) << "the reader is never told to buffer an unchecked length";

  h.payload_length = 1025;
  encode_header(h, bytes.data());
  EXPECT_EQ(d.next(bytes).error().code(), errc::frame_too_large);
  h.payload_length = 1024;
  encode_header(h, bytes.data());
  auto ok = d.next(bytes);
  ASSERT_TRUE(ok) << "exactly max_frame_size is allowed";
  EXPECT_FALSE(ok->has_value());
  EXPECT_EQ(d.bytes_needed(), frame_size(1024));
}

TEST(FrameDecoder, EachBadHeaderHasItsOwnErrorAndCounter) {
  struct bad_case {
    const char* what;
    frame_header h;
    errc expected;
    std::uint64_t decode_counters::*counter;
  };
  frame_header unknown = tell_header(0);
  unknown.kind = static_cast<frame_kind>(0x33);
  frame_header flags = tell_header(0);
  flags.flags = 0x08;
  frame_header fragmented_credit{};
  fragmented_credit.kind = frame_kind::credit;
  fragmented_credit.flags = frame_flags::fragmented;
  fragmented_credit.payload_length = 24;
  frame_header short_first_fragment = tell_header(16);
  short_first_fragment.flags = frame_flags::fragmented;
  frame_header fragment_no_id{};
  fragment_no_id.kind = frame_kind::fragment;
  fragment_no_id.payload_length = 8;
  frame_header empty_fragment{};
  empty_fragment.kind = frame_kind::fragment;
  empty_fragment.request_id = 7;
  frame_header tiny_heartbeat{};
  tiny_heartbeat.kind = frame_kind::heartbeat;
  tiny_heartbeat.payload_length = 11;
  frame_header tell_no_type = tell_header(0);
  tell_no_type.type_id = 0;
  frame_header ask_no_request = tell_header(0);
  ask_no_request.kind = frame_kind::ask;
  frame_header reply_no_request{};
  reply_no_request.kind = frame_kind::reply;
  frame_header big_handshake{};
  big_handshake.kind = frame_kind::handshake;
  big_handshake.payload_length = 4097;

  const bad_case cases[] = {
      {"unknown kind", unknown, errc::unknown_frame_kind, &decode_counters::unknown_frame_kind},
      {"reserved flag", flags, errc::bad_flags, &decode_counters::bad_flags},
      {"fragmented flag on a credit frame", fragmented_credit, errc::bad_flags, &decode_counters::bad_flags},
      {"first fragment without a byte after its prefix", short_first_fragment, errc::frame_too_small,
       &decode_counters::frame_too_small},
      {"fragment without a message id", fragment_no_id, errc::bad_header, &decode_counters::bad_header},
      {"empty fragment", empty_fragment, errc::frame_too_small, &decode_counters::frame_too_small},
      {"heartbeat shorter than a FlatBuffers buffer", tiny_heartbeat, errc::frame_too_small,
       &decode_counters::frame_too_small},
      {"tell without type id", tell_no_type, errc::bad_header, &decode_counters::bad_header},
      {"ask without request id", ask_no_request, errc::bad_header, &decode_counters::bad_header},
      {"reply without request id", reply_no_request, errc::bad_header, &decode_counters::bad_header},
      {"handshake over 4 KiB", big_handshake, errc::frame_too_large, &decode_counters::frame_too_large},
  };
  for (const auto& c : cases) {
    frame_decoder d;
    auto bytes = frame(c.h, 0);
    auto r = d.next(bytes);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code(), c.expected) << c.what << ": " << r.error().message();
    EXPECT_EQ(d.counters().*(c.counter), 1u) << c.what;
    EXPECT_EQ(d.counters().errors(), 1u) << c.what << " counts exactly once";
  }
}

TEST(FrameDecoder, IgnorableFlagBitsAndOptionalKindsPass) {
  frame_decoder d;
  auto h = tell_header(3);
  h.flags = frame_flags::control_lane | 0x80;
  auto bytes = frame(h, 3);
  ASSERT_TRUE(d.next(bytes)) << "flag bits 4-7 are hints";
  frame_header opt{};
  opt.kind = static_cast<frame_kind>(0x90);
  opt.flags = 0x0F;
  bytes = frame(opt, 10);
  auto r = d.next(bytes);
  ASSERT_TRUE(r && r->has_value()) << "an unknown kind >= 0x80 is skippable";
  EXPECT_FALSE((*r)->known_kind());
  EXPECT_EQ(d.counters().skipped_optional, 1u);
}

TEST(FrameDecoder, AStreamEndingInsideAFrameIsTruncated) {
  frame_decoder d;
  EXPECT_TRUE(d.finish(0));
  auto r = d.finish(17);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::truncated);
  EXPECT_EQ(d.counters().truncated, 1u);
}

TEST(FrameDecoder, RecordsErrorsFoundAfterFraming) {
  frame_decoder d;
  auto e = d.record(error(errc::unknown_type, "type 0x99"));
  EXPECT_EQ(e.code(), errc::unknown_type);
  (void)d.record(error(errc::verification_failed));
  (void)d.record(error(errc::decode_failed));
  EXPECT_EQ(d.counters().unknown_type, 1u);
  EXPECT_EQ(d.counters().verification_failed, 1u);
  EXPECT_EQ(d.counters().decode_failed, 1u);
}

TEST(FrameDecoder, CapsTheConfiguredLimit) {
  frame_decoder d(decode_limits{.max_frame_size = 0xFFFFFFFFu});
  EXPECT_EQ(d.limits().max_frame_size, max_frame_size_cap);
}

}  // namespace
}  // namespace herald::wire
