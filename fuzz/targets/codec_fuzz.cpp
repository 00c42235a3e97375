// Fuzz target: decode of the built-in codecs. The first byte picks a message
// type; the rest is its payload. The built-in encodings are canonical, so a
// payload that decodes must encode back to exactly the same bytes.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "herald/wire/codec.hpp"

namespace {

struct pod64 {
  std::int64_t a;
  double b;
  std::uint32_t c[12];
};
struct member {
  std::string name;
  std::vector<std::int32_t> scores;
  std::optional<std::string> nickname;
  bool admin = false;  // a plain aggregate: reflected, no user code
};
struct team {
  std::string title;
  std::vector<member> members;
  std::optional<pod64> stats;
  auto fields() { return std::tie(title, members, stats); }
};

template <class T>
void check(std::span<const std::byte> in) {
  using herald::wire::codec;
  auto v = codec<T>::decode(in);
  if (!v) {
    herald::fuzz::require(v.error().code() != herald::errc::ok);
    return;
  }
  const std::size_t n = codec<T>::encoded_size(*v);
  herald::fuzz::require(n == in.size());
  std::vector<std::byte> out(n);
  codec<T>::encode(*v, out);
  herald::fuzz::require(n == 0 || std::memcmp(out.data(), in.data(), n) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 10) {
    case 0: check<pod64>(in); break;
    case 1: check<std::int64_t>(in); break;
    case 2: check<bool>(in); break;
    case 3: check<std::string>(in); break;
    case 4: check<std::vector<std::uint64_t>>(in); break;
    case 5: check<std::vector<std::string>>(in); break;
    case 6: check<std::optional<std::string>>(in); break;
    case 7: check<std::vector<std::optional<std::int8_t>>>(in); break;
    case 8: check<team>(in); break;
    case 9: check<std::vector<std::vector<bool>>>(in); break;
  }
  return 0;
}
