#include "latency_histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace {

using herald::bench::latency_histogram;

TEST(LatencyHistogram, ReportsZeroWhenNothingWasRecorded) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile_us(0.5), 0.0) << "an empty run has no latency, not a garbage one";
}

TEST(LatencyHistogram, KeepsSmallValuesExact) {
  latency_histogram h;
  for (std::uint64_t ns = 1; ns <= 100; ++ns) h.record(ns);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_DOUBLE_EQ(h.percentile_us(0.5), 0.050) << "below 128 ns every value has its own bucket";
  EXPECT_DOUBLE_EQ(h.percentile_us(1.0), 0.100);
}

TEST(LatencyHistogram, PercentilesOfAUniformSpreadStayWithinTheBucketResolution) {
  latency_histogram h;
  // 1..100000 microseconds, one sample each.
  for (std::uint64_t us = 1; us <= 100000; ++us) h.record(us * 1000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double want = q * 100000;
    double got = h.percentile_us(q);
    EXPECT_LT(std::fabs(got - want) / want, 0.02) << "q=" << q << " got " << got << " us, want about " << want;
  }
}

TEST(LatencyHistogram, ATailOfSlowRoundTripsShowsInTheHighPercentilesOnly) {
  latency_histogram h;
  for (int i = 0; i < 990; ++i) h.record(20'000);    // 20 us
  for (int i = 0; i < 10; ++i) h.record(5'000'000);  // 5 ms
  EXPECT_NEAR(h.percentile_us(0.5), 20, 0.5);
  EXPECT_NEAR(h.percentile_us(0.99), 20, 0.5) << "990 of 1000 samples are fast";
  EXPECT_NEAR(h.percentile_us(0.999), 5000, 100) << "the slow tenth of a percent sets p99.9";
}

TEST(LatencyHistogram, AcceptsTheLargestValueWithoutOverflowingItsBuckets) {
  latency_histogram h;
  h.record(~std::uint64_t{0});
  EXPECT_EQ(h.count(), 1u);
  EXPECT_GT(h.percentile_us(0.5), 1e12);
}

}  // namespace
