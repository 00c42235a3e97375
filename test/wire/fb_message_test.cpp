#include "herald/wire/fb_message.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "herald/wire/control_generated.h"

namespace herald::wire {
namespace {

using heartbeat_msg = fb_message<fb::Heartbeat>;

TEST(FbMessage, WireNameIsTheSchemaName) {
  static_assert(heartbeat_msg::wire_name == "herald.wire.fb.Heartbeat");
  static_assert(has_codec<heartbeat_msg>);
  EXPECT_EQ(type_id_of<heartbeat_msg>(), fnv1a64("herald.wire.fb.Heartbeat"));
}

TEST(FbMessage, BuildsFromAPooledBuilderAndDecodesAsAZeroCopyView) {
  serializer_pool pool;
  auto m = heartbeat_msg::build(pool, [](auto& b) { return fb::CreateHeartbeat(b, 9, 1234, true); });
  EXPECT_TRUE(m.owns_buffer());
  EXPECT_EQ(m->sequence(), 9u);
  EXPECT_EQ(pool.stats().outstanding, 1u) << "the message holds its builder";

  alignas(8) std::byte rx[256];
  const std::size_t n = codec<heartbeat_msg>::encoded_size(m);
  ASSERT_LE(n, sizeof rx);
  codec<heartbeat_msg>::encode(m, std::span<std::byte>(rx, n));
  auto view = codec<heartbeat_msg>::decode(std::span<const std::byte>(rx, n));
  ASSERT_TRUE(view) << view.error().message();
  EXPECT_FALSE(view->owns_buffer());
  EXPECT_EQ(view->bytes().data(), rx) << "the view points into the receive buffer";
  EXPECT_EQ((*view)->sequence(), 9u);
  EXPECT_EQ((*view)->sent_at_ns(), 1234u);
  EXPECT_TRUE((*view)->reply());
  m = heartbeat_msg{};
  EXPECT_EQ(pool.stats().outstanding, 0u) << "the builder returns when the message dies";
}

TEST(FbMessage, AMovedFromMessageIsEmpty) {
  serializer_pool pool;
  auto a = heartbeat_msg::build(pool, [](auto& b) { return fb::CreateHeartbeat(b, 1, 2, false); });
  heartbeat_msg b = std::move(a);
  EXPECT_FALSE(a) << "the moved-from message does not point into b's buffer";
  EXPECT_TRUE(a.bytes().empty());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->sent_at_ns(), 2u);
}

TEST(FbMessage, AViewHandedItsBufferKeepsItAliveThroughMoves) {
  serializer_pool pool;
  auto built = heartbeat_msg::build(pool, [](auto& b) { return fb::CreateHeartbeat(b, 7, 99, false); });
  struct alignas(8) block {
    std::byte bytes[256];
  };
  auto owner = std::make_shared<block>();
  const std::size_t n = codec<heartbeat_msg>::encoded_size(built);
  ASSERT_LE(n, sizeof owner->bytes);
  codec<heartbeat_msg>::encode(built, std::span<std::byte>(owner->bytes, n));
  auto view = heartbeat_msg::view(std::span<const std::byte>(owner->bytes, n));
  ASSERT_TRUE(view);
  std::weak_ptr<block> watch = owner;
  view->keep_alive(std::move(owner));
  heartbeat_msg moved = std::move(*view);
  EXPECT_FALSE(watch.expired()) << "the message holds the buffer it views";
  EXPECT_EQ(moved->sequence(), 7u);
  EXPECT_FALSE(moved.owns_buffer()) << "still a view, not a built message";
  moved = heartbeat_msg{};
  EXPECT_TRUE(watch.expired()) << "the buffer goes with the message";
}

TEST(FbMessage, RejectsUnverifiableAndMisalignedBuffers) {
  alignas(8) std::byte junk[64];
  for (auto& b : junk) b = std::byte{0x7F};
  auto r = heartbeat_msg::view(junk);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::verification_failed);
  auto mis = heartbeat_msg::view(std::span<const std::byte>(junk + 1, 32));
  ASSERT_FALSE(mis);
  EXPECT_EQ(mis.error().code(), errc::verification_failed);
  EXPECT_NE(mis.error().context().find("aligned"), std::string::npos) << mis.error().message();
}

// The view API stays strict; the codec, which also decodes nested messages,
// copies a misaligned buffer into an aligned one the message owns.
TEST(FbMessage, TheCodecCopiesAMisalignedBufferIntoOneTheMessageOwns) {
  serializer_pool pool;
  auto m = heartbeat_msg::build(pool, [](auto& b) { return fb::CreateHeartbeat(b, 5, 77, true); });
  alignas(8) std::byte rx[256];
  const std::size_t n = codec<heartbeat_msg>::encoded_size(m);
  ASSERT_LE(n + 3, sizeof rx);
  codec<heartbeat_msg>::encode(m, std::span<std::byte>(rx + 3, n));
  auto d = codec<heartbeat_msg>::decode(std::span<const std::byte>(rx + 3, n));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(d->owns_buffer());
  EXPECT_NE(d->bytes().data(), rx + 3) << "a copy, not a view of the misaligned bytes";
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(d->bytes().data()) % 8, 0u);
  for (auto& b : rx) b = std::byte{0};
  EXPECT_EQ((*d)->sequence(), 5u) << "the copy outlives the bytes it came from";
  EXPECT_EQ((*d)->sent_at_ns(), 77u);
  heartbeat_msg moved = std::move(*d);
  EXPECT_EQ(moved->sequence(), 5u) << "the copy moves with the message";

  std::byte junk[40];
  for (auto& b : junk) b = std::byte{0x7F};
  auto bad = codec<heartbeat_msg>::decode(std::span<const std::byte>(junk + 1, 32));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::verification_failed) << "a copy is verified as a view is";
}

// A FlatBuffers table as a member and as vector elements of another message:
// after a one-byte member and a 4-byte length its bytes are misaligned.
struct tagged_heartbeats {
  std::uint8_t tag;
  heartbeat_msg first;
  std::vector<heartbeat_msg> more;
  auto fields() { return std::tie(tag, first, more); }
};

TEST(FbMessage, NestsInAnotherMessage) {
  serializer_pool pool;
  tagged_heartbeats out{3, heartbeat_msg::build(pool, [](auto& b) { return fb::CreateHeartbeat(b, 1, 10, false); }),
                        {}};
  for (std::uint64_t i = 2; i <= 4; ++i)
    out.more.push_back(heartbeat_msg::build(pool, [&](auto& b) { return fb::CreateHeartbeat(b, i, 10 * i, true); }));
  std::vector<std::uint64_t> rx((codec<tagged_heartbeats>::encoded_size(out) + 7) / 8);
  auto* base = reinterpret_cast<std::byte*>(rx.data());
  const std::size_t n = codec<tagged_heartbeats>::encoded_size(out);
  codec<tagged_heartbeats>::encode(out, std::span<std::byte>(base, n));
  auto in = codec<tagged_heartbeats>::decode(std::span<const std::byte>(base, n));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->tag, 3);
  ASSERT_TRUE(in->first);
  EXPECT_EQ(in->first->sequence(), 1u);
  EXPECT_EQ(in->first->sent_at_ns(), 10u);
  ASSERT_EQ(in->more.size(), 3u);
  for (std::uint64_t i = 2; i <= 4; ++i) {
    EXPECT_EQ(in->more[i - 2]->sequence(), i);
    EXPECT_EQ(in->more[i - 2]->sent_at_ns(), 10 * i);
    EXPECT_TRUE(in->more[i - 2]->reply());
  }
}

}  // namespace
}  // namespace herald::wire
