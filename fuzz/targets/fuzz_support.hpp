#pragma once

// Shared by the fuzz targets: a bounds check that stops the run loudly, and
// an 8-aligned copy of the input (frame payloads are 8-aligned on receive).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

namespace herald::fuzz {

// An invariant of the code under test does not hold: crash so that both
// libFuzzer and the replay driver report the input.
inline void require(bool ok) {
  if (!ok) std::abort();
}

// The input copied to 8-aligned storage of exactly its size.
class aligned_input {
 public:
  aligned_input(const std::uint8_t* data, std::size_t size) : words_(size / 8 + 1), size_(size) {
    if (size != 0) std::memcpy(words_.data(), data, size);
  }
  explicit aligned_input(std::span<const std::byte> in)
      : aligned_input(reinterpret_cast<const std::uint8_t*>(in.data()), in.size()) {}
  std::span<const std::byte> bytes() const { return {reinterpret_cast<const std::byte*>(words_.data()), size_}; }

 private:
  std::vector<std::uint64_t> words_;
  std::size_t size_;
};

}  // namespace herald::fuzz
