// A standalone driver for the fuzz targets, for builds without libFuzzer
// (g++, or any build with HERALD_BUILD_TESTS): it runs every file of the
// seed corpus, then a bounded number of deterministic mutations of them.
// It finds nothing new the way libFuzzer does; it keeps every target
// exercised, under whatever sanitizer the build uses, on every test run.
//
//   <target>_replay CORPUS_DIR... [--mutations N] [--seed S] [--max-seconds T]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using bytes = std::vector<std::uint8_t>;

class xorshift {
 public:
  explicit xorshift(std::uint64_t seed) : s_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  std::uint64_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t s_;
};

// Values that sit on boundaries of lengths, counts and tags.
constexpr std::uint8_t interesting[] = {0x00, 0x01, 0x02, 0x07, 0x08, 0x0C, 0x10, 0x1F, 0x20,
                                        0x7F, 0x80, 0x81, 0xFE, 0xFF};

bytes mutate(const bytes& seed, const std::vector<bytes>& corpus, xorshift& rng) {
  bytes b = seed;
  const int steps = 1 + static_cast<int>(rng.below(4));
  for (int i = 0; i < steps; ++i) {
    switch (rng.below(8)) {
      case 0:  // flip a bit
        if (!b.empty()) b[rng.below(b.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
        break;
      case 1:  // set an interesting byte
        if (!b.empty()) b[rng.below(b.size())] = interesting[rng.below(sizeof interesting)];
        break;
      case 2:  // set an interesting 32-bit little-endian word (lengths, counts)
        if (b.size() >= 4) {
          const std::size_t at = rng.below(b.size() - 3);
          const std::uint32_t words[] = {0, 1, 7, 8, 12, 31, 32, 4096, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000};
          const std::uint32_t w = words[rng.below(std::size(words))];
          for (int k = 0; k < 4; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(w >> (8 * k));
        }
        break;
      case 3:  // truncate
        if (!b.empty()) b.resize(rng.below(b.size()));
        break;
      case 4:  // insert random bytes
      {
        const std::size_t at = rng.below(b.size() + 1);
        const std::size_t n = 1 + rng.below(16);
        bytes ins(n);
        for (auto& x : ins) x = static_cast<std::uint8_t>(rng.next());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
        break;
      }
      case 5:  // erase a range
        if (!b.empty()) {
          const std::size_t at = rng.below(b.size());
          const std::size_t n = 1 + rng.below(std::min<std::size_t>(16, b.size() - at));
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        break;
      case 6:  // duplicate a range (repeated frames, repeated fields)
        if (!b.empty() && b.size() < (1u << 16)) {
          const std::size_t at = rng.below(b.size());
          const std::size_t n = 1 + rng.below(b.size() - at);
          bytes chunk(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(rng.below(b.size() + 1)), chunk.begin(), chunk.end());
        }
        break;
      case 7:  // splice with another corpus entry
      {
        const bytes& other = corpus[rng.below(corpus.size())];
        const std::size_t keep = rng.below(b.size() + 1);
        const std::size_t from = rng.below(other.size() + 1);
        b.resize(keep);
        b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
      }
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dirs;
  std::uint64_t mutations = 20000, seed = 1;
  double max_seconds = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) mutations = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--max-seconds" && i + 1 < argc) max_seconds = std::strtod(argv[++i], nullptr);
    else dirs.push_back(a);
  }
  std::vector<bytes> corpus;
  for (const auto& d : dirs) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(d, ec))
      if (e.is_regular_file()) files.push_back(e.path());
    if (ec) {
      std::fprintf(stderr, "replay: cannot read corpus %s: %s\n", d.c_str(), ec.message().c_str());
      return 2;
    }
    std::sort(files.begin(), files.end());  // deterministic order
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "replay: empty corpus\n");
    return 2;
  }
  for (const auto& c : corpus) LLVMFuzzerTestOneInput(c.data(), c.size());
  LLVMFuzzerTestOneInput(nullptr, 0);

  xorshift rng(seed);
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t ran = 0;
  for (; ran < mutations; ++ran) {
    if ((ran & 255) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_seconds)
      break;
    const bytes m = mutate(corpus[rng.below(corpus.size())], corpus, rng);
    LLVMFuzzerTestOneInput(m.data(), m.size());
  }
  std::printf("replay: %zu seeds, %llu mutations, no failure\n", corpus.size(), static_cast<unsigned long long>(ran));
  return 0;
}
