// A fixed-size log-linear histogram of latencies in nanoseconds, so that a
// benchmark records every round trip without allocating in its timed window.
// Values below 128 ns are exact; above, each power of two is cut into 64
// buckets, so a reported percentile is within 1.6 % of the true value.
//
// Thread safety: distinct objects safe, shared unsafe (one recorder thread).
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace herald::bench {

class latency_histogram {
 public:
  void record(std::uint64_t ns) noexcept {
    ++buckets_[index_of(ns)];
    ++count_;
  }

  std::uint64_t count() const noexcept { return count_; }

  // The value at quantile q (0..1) in microseconds, 0 if nothing was recorded.
  double percentile_us(double q) const noexcept {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return midpoint_ns(i) / 1000.0;
    }
    return midpoint_ns(buckets_.size() - 1) / 1000.0;
  }

 private:
  static constexpr int sub_bits = 7;  // 128 exact values, then 64 per octave
  static constexpr std::size_t half = std::size_t{1} << (sub_bits - 1);
  static constexpr std::size_t bucket_count = (64 - sub_bits + 2) * half;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < 2 * half) return static_cast<std::size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - (sub_bits - 1);
    return static_cast<std::size_t>(shift) * half + static_cast<std::size_t>(v >> shift);
  }

  static double midpoint_ns(std::size_t i) noexcept {
    if (i < 2 * half) return static_cast<double>(i);
    std::size_t shift = i / half - 1;
    std::uint64_t low = static_cast<std::uint64_t>(i - shift * half) << shift;
    std::uint64_t width = std::uint64_t{1} << shift;
    return static_cast<double>(low) + static_cast<double>(width) / 2.0;
  }

  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
};

}  // namespace herald::bench
