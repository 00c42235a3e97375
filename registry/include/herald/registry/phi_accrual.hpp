#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace herald::registry {

using cluster_clock = std::chrono::steady_clock;

// Tuning of phi_accrual; see docs/cluster.md for the detection times they give.
struct phi_accrual_params {
  // Assumed interval until real samples exist.
  std::chrono::milliseconds first_heartbeat_estimate{200};
  // Floor of the standard deviation, so that a perfectly regular sender is not
  // declared dead after one interval of jitter.
  std::chrono::milliseconds min_std_deviation{100};
  // Silence tolerated on top of the mean (GC, scheduling, a busy io thread).
  std::chrono::milliseconds acceptable_pause{1000};
  std::size_t max_samples = 100;
};

// The phi-accrual failure detector (Hayashibara et al.) over the arrival times
// of one member's heartbeats: phi grows with the silence, scaled by how
// regular the heartbeats have been. phi = 8 means a 1e-8 chance that a live
// member would be this late.
// Distinct objects safe, shared unsafe.
class phi_accrual {
 public:
  using params = phi_accrual_params;

  explicit phi_accrual(params p = {});

  void heartbeat(cluster_clock::time_point now);
  // Forget the last arrival time and start the silence from now, keeping the
  // interval statistics (the observer itself was paused).
  void restart_silence(cluster_clock::time_point now) { last_ = now; }
  double phi(cluster_clock::time_point now) const;
  bool has_heartbeat() const noexcept { return started_; }

 private:
  void add_interval(double ms);

  params params_;
  bool started_ = false;
  cluster_clock::time_point last_{};
  std::vector<double> intervals_;  // ring of the last max_samples intervals, ms
  std::size_t next_ = 0;
  double sum_ = 0;
  double sum_sq_ = 0;
};

}  // namespace herald::registry
