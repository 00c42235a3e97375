#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace herald::runtime {

// A histogram of durations over fixed, exponential bucket bounds (1 us to
// 4 s, by factors of 4), cheap enough to record on the message path: one
// relaxed add per bucket, count and sum, no lock. Safe for concurrent use;
// a snapshot taken while others record may be off by the records in flight.
class latency_histogram {
 public:
  static constexpr std::size_t bucket_count = 12;
  // Upper bounds (inclusive) of the finite buckets, in nanoseconds; one more
  // bucket holds everything above the last.
  static constexpr std::array<std::uint64_t, bucket_count> bounds_ns = {
      1'000,      4'000,       16'000,      64'000,        256'000,       1'000'000,
      4'000'000,  16'000'000,  64'000'000,  256'000'000,   1'000'000'000, 4'000'000'000};

  // What a histogram held at one time. buckets are not cumulative; the last
  // one is above bounds_ns.back().
  struct snapshot {
    std::array<std::uint64_t, bucket_count + 1> buckets{};
    std::uint64_t count = 0;
    std::uint64_t sum_ns = 0;
    snapshot& operator+=(const snapshot& o) noexcept {
      for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
      count += o.count;
      sum_ns += o.sum_ns;
      return *this;
    }
  };

  // Records `n` observations of `ns` nanoseconds each.
  void record(std::uint64_t ns, std::uint64_t n = 1) noexcept {
    std::size_t i = 0;
    while (i < bucket_count && ns > bounds_ns[i]) ++i;
    buckets_[i].fetch_add(n, std::memory_order_relaxed);
    count_.fetch_add(n, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns * n, std::memory_order_relaxed);
  }
  void record(std::chrono::nanoseconds d, std::uint64_t n = 1) noexcept {
    record(d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count()), n);
  }

  snapshot read() const noexcept {
    snapshot s;
    for (std::size_t i = 0; i < buckets_.size(); ++i) s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count = count_.load(std::memory_order_relaxed);
    s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace herald::runtime
