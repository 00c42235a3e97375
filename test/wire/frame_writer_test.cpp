#include "herald/wire/frame_writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::wire {
namespace {

struct deposit {
  static constexpr std::string_view wire_name = "bank.deposit";
  std::int64_t cents;
};

TEST(FrameWriter, WritesAFrameTheDecoderReadsBack) {
  const deposit d{500};
  const std::size_t n = message_frame_size(d);
  EXPECT_EQ(n, 40u) << "32-byte header + 8-byte payload, no padding";
  std::vector<std::byte> buf(n, std::byte{0xEE});
  frame_header h;
  h.kind = frame_kind::tell;
  h.target = 42;
  write_message_frame(h, d, buf);

  frame_decoder dec;
  auto f = dec.next(buf);
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->header.type_id, type_id_of<deposit>()) << "tell frames carry the message's type id";
  EXPECT_EQ((*f)->header.target, 42u);
  auto back = codec<deposit>::decode((*f)->payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->cents, 500);
}

TEST(FrameWriter, ZeroesThePadding) {
  const std::string s = "abc";  // 7 payload bytes, 1 byte of padding
  std::vector<std::byte> buf(message_frame_size(s), std::byte{0xEE});
  ASSERT_EQ(buf.size(), 40u);
  frame_header h;
  h.kind = frame_kind::reply;
  h.request_id = 3;
  write_message_frame(h, s, buf);
  EXPECT_EQ(buf[39], std::byte{0});
  EXPECT_EQ(peek_header(buf.data()).type_id, 0u) << "a reply's type id is the caller's to set";

  std::vector<std::byte> raw(frame_size(3), std::byte{0xEE});
  const std::byte payload[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  write_frame(h, payload, raw);
  EXPECT_EQ(peek_header(raw.data()).payload_length, 3u);
  for (std::size_t i = 35; i < 40; ++i) EXPECT_EQ(raw[i], std::byte{0}) << "padding byte " << i;
}

}  // namespace
}  // namespace herald::wire
