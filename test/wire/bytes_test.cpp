#include "herald/wire/bytes.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herald/wire/views.hpp"

namespace herald::wire {
namespace {

std::vector<std::byte> pattern(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(i * 7 + 1);
  return v;
}

template <class T>
std::vector<std::byte> encode(const T& v) {
  std::vector<std::byte> out(codec<T>::encoded_size(v));
  codec<T>::encode(v, out);
  return out;
}

struct chunk {
  std::uint64_t seq;
  bytes data;
  std::optional<bytes> trailer;
  std::vector<bytes> parts;
  auto fields() { return std::tie(seq, data, trailer, parts); }
};
struct plain {
  std::uint64_t seq;
  std::vector<std::byte> data;
};

static_assert(views_input<bytes>);
static_assert(views_input<chunk>);
static_assert(views_input<std::vector<bytes>>);
static_assert(views_input<std::optional<chunk>>);
static_assert(!views_input<plain>);
static_assert(!views_input<std::string>);
static_assert(!views_input<std::uint64_t>);

TEST(Bytes, IsEncodedAsAVectorOfBytesAndDecodesAsAViewOfTheInput) {
  const auto v = pattern(300);
  const auto as_vector = encode(v);
  const bytes owned(v);
  EXPECT_TRUE(owned.owns());
  EXPECT_EQ(encode(owned), as_vector) << "bytes and std::vector<std::byte> must be interchangeable on the wire";
  auto decoded = codec<bytes>::decode(as_vector);
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_FALSE(decoded->owns());
  EXPECT_EQ(decoded->data(), as_vector.data() + 4) << "a decoded bytes views its input in place";
  EXPECT_EQ(decoded->size(), 300u);
  EXPECT_EQ(*decoded, owned);
  // And the other way: what a vector decoder reads from a bytes encoding.
  auto back = codec<std::vector<std::byte>>::decode(encode(*decoded));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, v);
}

TEST(Bytes, AdoptsAVectorWithoutCopying) {
  auto v = pattern(4096);
  const std::byte* p = v.data();
  bytes b(std::move(v));
  EXPECT_EQ(b.data(), p);
  bytes moved(std::move(b));
  EXPECT_EQ(moved.data(), p) << "a move keeps the storage";
  EXPECT_TRUE(b.empty());
  auto out = moved.release();
  EXPECT_EQ(out.data(), p) << "release() hands the owned vector back";
  EXPECT_TRUE(moved.empty());
}

TEST(Bytes, ACopyOfAViewWithoutItsOwnerCopiesTheBytes) {
  auto frame = std::make_unique<std::vector<std::byte>>(encode(bytes(pattern(64))));
  auto view = codec<bytes>::decode(*frame).value();
  bytes copy = view;
  EXPECT_TRUE(copy.owns());
  EXPECT_NE(copy.data(), view.data());
  frame.reset();  // the viewed input is gone; the copy must not be affected
  EXPECT_EQ(copy, bytes(pattern(64)));
}

TEST(Bytes, ACopyOfAViewWithItsOwnerSharesTheOwner) {
  auto owner = std::make_shared<const std::vector<std::byte>>(encode(bytes(pattern(64))));
  std::weak_ptr<const std::vector<std::byte>> watch = owner;
  auto view = codec<bytes>::decode(*owner).value();
  view.keep_alive(owner);
  owner.reset();
  ASSERT_FALSE(watch.expired()) << "the view keeps its owner";
  bytes copy = view;
  EXPECT_EQ(copy.data(), view.data()) << "a copy of an owned view is another view";
  view = bytes();
  ASSERT_FALSE(watch.expired()) << "the copy keeps the owner";
  EXPECT_EQ(copy, bytes(pattern(64)));
  copy = bytes();
  EXPECT_TRUE(watch.expired());
}

TEST(Bytes, WritableTurnsAViewIntoAnOwnedCopy) {
  const auto frame = encode(bytes(pattern(32)));
  auto view = codec<bytes>::decode(frame).value();
  auto w = view.writable();
  EXPECT_TRUE(view.owns());
  w[0] = std::byte{0xff};
  EXPECT_EQ(frame[4], pattern(32)[0]) << "writing must not reach the viewed input";
  EXPECT_EQ(view[0], std::byte{0xff});
}

TEST(Bytes, HostileCountsAreTruncated) {
  auto frame = encode(bytes(pattern(16)));
  for (std::size_t cut = 0; cut < frame.size(); ++cut) {
    auto r = codec<bytes>::decode(std::span<const std::byte>(frame.data(), cut));
    ASSERT_FALSE(r) << "decoded from " << cut << " of " << frame.size() << " bytes";
    EXPECT_EQ(r.error().code(), errc::truncated);
  }
  const std::uint32_t huge = 0xffffffffu;
  std::memcpy(frame.data(), &huge, 4);
  auto r = codec<bytes>::decode(frame);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::truncated);
}

TEST(Bytes, KeepViewsAliveReachesEveryViewInAStruct) {
  chunk c{7, bytes(pattern(10)), bytes(pattern(3)), {}};
  c.parts.emplace_back(pattern(5));
  c.parts.emplace_back(pattern(6));
  auto owner = std::make_shared<const std::vector<std::byte>>(encode(c));
  std::weak_ptr<const std::vector<std::byte>> watch = owner;
  auto d = codec<chunk>::decode(*owner).value();
  EXPECT_FALSE(d.data.owns());
  EXPECT_FALSE(d.trailer->owns());
  EXPECT_FALSE(d.parts[1].owns());
  keep_views_alive(d, std::shared_ptr<const void>(owner));
  owner.reset();
  // Each view holds the owner: dropping all but one keeps the input alive.
  d.data = bytes();
  d.trailer.reset();
  d.parts.erase(d.parts.begin());
  ASSERT_FALSE(watch.expired());
  EXPECT_EQ(d.parts[0], bytes(pattern(6)));
  d.parts.clear();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(d.seq, 7u);
}

}  // namespace
}  // namespace herald::wire
