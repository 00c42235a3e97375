#include "herald/wire/codec.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>

namespace herald::wire {
namespace {

struct pod64 {
  std::int64_t a;
  double b;
  std::uint32_t c[12];
};
struct empty_message {};
struct person {
  std::string name;
  std::vector<std::int32_t> scores;
  std::optional<std::string> nickname;
  bool admin = false;
  auto fields() { return std::tie(name, scores, nickname, admin); }
};
struct team {
  std::string title;
  std::vector<person> members;
  pod64 stats{};
  auto fields() { return std::tie(title, members, stats); }
};
// A type with a user codec: a 3-byte big-endian number.
struct u24 {
  std::uint32_t v = 0;
  std::map<int, int> not_trivial;
};
// Aggregates without any user code.
struct greeting {
  std::string who;
  std::int32_t times;
  std::optional<std::vector<std::string>> tags;
  pod64 blob;
  bool loud;
};
struct envelope_of_greetings {
  std::vector<greeting> items;
  std::array<std::string, 2> pair;
};
struct aggregate_with_map {
  std::string name;
  std::map<int, int> m;
};
struct holds_pointer {
  const char* p;
};
struct no_codec_member {
  std::map<int, int> m;
  auto fields() { return std::tie(m); }
};

}  // namespace

template <>
struct codec<u24> {
  static std::size_t encoded_size(const u24&) { return 3; }
  static void encode(const u24& x, std::span<std::byte> out) {
    for (int i = 0; i < 3; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>(x.v >> (16 - 8 * i));
  }
  static result<u24> decode(std::span<const std::byte> in) {
    if (in.size() != 3) return error(errc::decode_failed, "u24 is 3 bytes");
    u24 x;
    for (auto b : in) x.v = (x.v << 8) | static_cast<std::uint32_t>(b);
    return x;
  }
};

namespace {

static_assert(has_codec<pod64> && has_codec<empty_message> && has_codec<std::string> && has_codec<person> &&
              has_codec<team> && has_codec<u24> && has_codec<std::vector<u24>> && has_codec<std::optional<pod64>>);
static_assert(has_codec<greeting> && has_codec<envelope_of_greetings> && !has_codec<aggregate_with_map>,
              "aggregates of codec types need no user code; one member without a codec rules them out");
static_assert(!has_codec<holds_pointer*> && !has_codec<std::map<int, int>> && !has_codec<no_codec_member> &&
                  !has_codec<std::vector<std::map<int, int>>> && !has_codec<std::string_view>,
              "types without a codec are detected at compile time");

template <class T>
std::vector<std::byte> encode_vec(const T& v) {
  std::vector<std::byte> out(codec<T>::encoded_size(v));
  codec<T>::encode(v, out);
  return out;
}

template <class T>
T round_trip(const T& v) {
  auto bytes = encode_vec(v);
  auto back = codec<T>::decode(bytes);
  EXPECT_TRUE(back) << back.error().message();
  return back ? std::move(*back) : T{};
}

bool operator==(const pod64& x, const pod64& y) { return std::memcmp(&x, &y, sizeof x) == 0; }
bool operator==(const person& x, const person& y) {
  return x.name == y.name && x.scores == y.scores && x.nickname == y.nickname && x.admin == y.admin;
}
bool operator==(const team& x, const team& y) {
  return x.title == y.title && x.members == y.members && x.stats == y.stats;
}

TEST(Codec, TriviallyCopyableTypesAreTheirBytes) {
  pod64 p{};
  p.a = -5;
  p.b = 2.5;
  p.c[11] = 9;
  EXPECT_EQ(codec<pod64>::encoded_size(p), sizeof(pod64));
  EXPECT_EQ(round_trip(p), p);
  EXPECT_EQ(round_trip(std::int32_t{-77}), -77);
  EXPECT_EQ(codec<empty_message>::encoded_size({}), 0u) << "an empty message has an empty payload";
  EXPECT_TRUE(codec<empty_message>::decode({}));
  EXPECT_EQ((round_trip(std::array<std::uint16_t, 3>{1, 2, 3})), (std::array<std::uint16_t, 3>{1, 2, 3}));
}

TEST(Codec, StringsVectorsAndOptionalsRoundTrip) {
  EXPECT_EQ(round_trip(std::string()), "");
  EXPECT_EQ(round_trip(std::string(1000, 'q')), std::string(1000, 'q'));
  EXPECT_EQ(codec<std::string>::encoded_size("abc"), 7u) << "u32 length + bytes";
  EXPECT_EQ(round_trip(std::vector<std::uint64_t>{1, 2, 3}), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(round_trip(std::vector<std::string>{"a", "", "ccc"}), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(round_trip(std::vector<bool>{true, false, true}), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(round_trip(std::vector<empty_message>(3)).size(), 3u);
  EXPECT_EQ(round_trip(std::optional<std::string>{}), std::nullopt);
  EXPECT_EQ(round_trip(std::optional<std::string>{"x"}), std::optional<std::string>{"x"});
  EXPECT_EQ(round_trip(std::vector<std::optional<std::int8_t>>{1, std::nullopt, 3}),
            (std::vector<std::optional<std::int8_t>>{1, std::nullopt, 3}));
}

TEST(Codec, AggregatesWithFieldsRoundTripIncludingNestedOnes) {
  person ann{"ann", {1, 2, 3}, "annie", true};
  EXPECT_EQ(round_trip(ann), ann);
  team t{"core", {ann, person{"bob", {}, std::nullopt, false}}, pod64{}};
  t.stats.a = 42;
  EXPECT_EQ(round_trip(t), t);
}

TEST(Codec, PlainAggregatesRoundTripWithoutUserCode) {
  greeting g{"world", 3, std::vector<std::string>{"a", "b"}, pod64{}, true};
  g.blob.a = 9;
  EXPECT_EQ(codec<greeting>::encoded_size(g), (4 + 5) + 4 + (1 + 4 + 2 * 5) + sizeof(pod64) + 1)
      << "members back to back, each by its own codec";
  auto back = round_trip(g);
  EXPECT_EQ(back.who, "world");
  EXPECT_EQ(back.times, 3);
  EXPECT_EQ(back.tags, g.tags);
  EXPECT_EQ(back.blob.a, 9);
  EXPECT_TRUE(back.loud);
  envelope_of_greetings e{{g, greeting{"x", 0, std::nullopt, pod64{}, false}}, {"l", "r"}};
  auto e2 = round_trip(e);
  ASSERT_EQ(e2.items.size(), 2u);
  EXPECT_EQ(e2.items[1].who, "x");
  EXPECT_EQ(e2.pair[1], "r");
  std::vector<std::byte> bad = encode_vec(g);
  bad.back() = std::byte{7};
  EXPECT_EQ(codec<greeting>::decode(bad).error().code(), errc::decode_failed) << "a reflected bool is checked";
}

TEST(Codec, UserCodecsNestInsideContainersWithALengthPrefix) {
  std::vector<u24> v{{0x010203, {}}, {0xFFFFFF, {}}};
  auto bytes = encode_vec(v);
  EXPECT_EQ(bytes.size(), 4u + 2 * (4 + 3));
  auto back = codec<std::vector<u24>>::decode(bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ((*back)[0].v, 0x010203u);
  EXPECT_EQ((*back)[1].v, 0xFFFFFFu);
}

TEST(Codec, TruncatedInputIsTruncatedAtEveryLength) {
  team t{"core", {person{"ann", {1, 2}, "a", true}}, pod64{}};
  auto bytes = encode_vec(t);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = codec<team>::decode(std::span<const std::byte>(bytes).first(n));
    ASSERT_FALSE(r) << "cut to " << n << " of " << bytes.size() << " bytes";
    EXPECT_EQ(r.error().code(), errc::truncated) << r.error().message();
  }
}

TEST(Codec, HostileLengthsAreCheckedBeforeAllocating) {
  std::vector<std::byte> huge_string(8, std::byte{0});
  std::uint32_t n = 0xFFFFFFFFu;
  std::memcpy(huge_string.data(), &n, 4);
  auto s = codec<std::string>::decode(huge_string);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), errc::truncated);
  auto v = codec<std::vector<std::uint64_t>>::decode(huge_string);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), errc::truncated) << "4 billion elements are not in 4 bytes";
  auto ve = codec<std::vector<empty_message>>::decode(huge_string);
  ASSERT_FALSE(ve);
  EXPECT_EQ(ve.error().code(), errc::limit_exceeded) << "zero-size elements are bounded by count";
}

TEST(Codec, InvalidTagsAndTrailingBytesAreDecodeFailed) {
  const std::byte two[] = {std::byte{2}};
  EXPECT_EQ(codec<bool>::decode(two).error().code(), errc::decode_failed);
  EXPECT_EQ(codec<std::optional<int>>::decode(two).error().code(), errc::decode_failed);
  auto bytes = encode_vec(std::string("ab"));
  bytes.push_back(std::byte{0});
  auto r = codec<std::string>::decode(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::decode_failed);
  EXPECT_NE(r.error().context().find("left over"), std::string::npos) << r.error().message();
  EXPECT_EQ(codec<pod64>::decode(std::vector<std::byte>(sizeof(pod64) + 1)).error().code(), errc::decode_failed);
}

TEST(Codec, AFailingUserCodecInsideAContainerKeepsItsErrorCode) {
  std::vector<std::byte> bytes{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0},   // one element
                               std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0},   // of 2 bytes
                               std::byte{1}, std::byte{2}};
  auto r = codec<std::vector<u24>>::decode(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::decode_failed);
}

TEST(Codec, RequireCodecIsTrueForCodecTypes) { EXPECT_TRUE(require_codec<person>()); }

}  // namespace
}  // namespace herald::wire
