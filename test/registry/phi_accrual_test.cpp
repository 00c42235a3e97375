#include "herald/registry/phi_accrual.hpp"

#include <gtest/gtest.h>

namespace herald::registry {
namespace {

using namespace std::chrono_literals;

// The first moment, in 10 ms steps, at which phi passes threshold.
std::chrono::milliseconds time_to_threshold(const phi_accrual& d, cluster_clock::time_point last, double threshold) {
  for (auto t = 0ms; t < 60s; t += 10ms) {
    if (d.phi(last + t) > threshold) return t;
  }
  return 60s;
}

TEST(PhiAccrual, RegularHeartbeatsKeepPhiLowAndSilenceRaisesItPastEightInUnderTwoSeconds) {
  phi_accrual d;
  auto t = cluster_clock::time_point(1000s);
  for (int i = 0; i < 50; ++i, t += 200ms) d.heartbeat(t);
  const auto last = t - 200ms;
  EXPECT_LT(d.phi(last + 200ms), 1.0);
  EXPECT_LT(d.phi(last + 1000ms), 8.0) << "the acceptable pause is tolerated";
  const auto when = time_to_threshold(d, last, 8.0);
  EXPECT_GT(when, 1200ms);
  EXPECT_LT(when, 2000ms) << "with the defaults a silent member is probed within 2 s";
}

TEST(PhiAccrual, IrregularHeartbeatsWidenTheTolerance) {
  phi_accrual steady;
  phi_accrual jittery;
  auto t = cluster_clock::time_point(1000s);
  for (int i = 0; i < 50; ++i) {
    steady.heartbeat(t + i * 200ms);
    jittery.heartbeat(t + i * 200ms + ((i % 2) ? 150ms : 0ms));
  }
  EXPECT_GT(time_to_threshold(jittery, t + 49 * 200ms + 150ms, 8.0), time_to_threshold(steady, t + 49 * 200ms, 8.0));
}

TEST(PhiAccrual, RestartingTheSilenceForgivesTheObserversOwnPause) {
  phi_accrual d;
  auto t = cluster_clock::time_point(1000s);
  for (int i = 0; i < 10; ++i, t += 200ms) d.heartbeat(t);
  EXPECT_GT(d.phi(t + 10s), 8.0);
  d.restart_silence(t + 10s);
  EXPECT_LT(d.phi(t + 10s + 200ms), 1.0);
}

TEST(PhiAccrual, NoHeartbeatYetMeansNoSuspicion) {
  phi_accrual d;
  EXPECT_EQ(d.phi(cluster_clock::time_point(1000s)), 0.0);
  EXPECT_FALSE(d.has_heartbeat());
}

}  // namespace
}  // namespace herald::registry
