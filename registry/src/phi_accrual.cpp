#include "herald/registry/phi_accrual.hpp"

#include <algorithm>
#include <cmath>

namespace herald::registry {

phi_accrual::phi_accrual(params p) : params_(p) { intervals_.reserve(params_.max_samples); }

void phi_accrual::add_interval(double ms) {
  if (intervals_.size() < params_.max_samples) {
    intervals_.push_back(ms);
  } else {
    const double old = intervals_[next_];
    sum_ -= old;
    sum_sq_ -= old * old;
    intervals_[next_] = ms;
    next_ = (next_ + 1) % params_.max_samples;
  }
  sum_ += ms;
  sum_sq_ += ms * ms;
}

void phi_accrual::heartbeat(cluster_clock::time_point now) {
  if (!started_) {
    // Seed with the estimate (and a spread of a quarter of it) so that phi is
    // meaningful from the second heartbeat on.
    const double est = static_cast<double>(params_.first_heartbeat_estimate.count());
    add_interval(est - est / 4);
    add_interval(est + est / 4);
    started_ = true;
  } else if (now > last_) {
    add_interval(std::chrono::duration<double, std::milli>(now - last_).count());
  }
  last_ = std::max(last_, now);
}

double phi_accrual::phi(cluster_clock::time_point now) const {
  if (!started_ || intervals_.empty()) return 0.0;
  const double n = static_cast<double>(intervals_.size());
  const double mean = sum_ / n + static_cast<double>(params_.acceptable_pause.count());
  const double var = std::max(0.0, sum_sq_ / n - (sum_ / n) * (sum_ / n));
  const double std_dev = std::max(std::sqrt(var), static_cast<double>(params_.min_std_deviation.count()));
  const double elapsed = std::chrono::duration<double, std::milli>(now - last_).count();
  // Logistic approximation of the normal CDF (as in Akka and Cassandra).
  const double y = (elapsed - mean) / std_dev;
  const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsed > mean) return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

}  // namespace herald::registry
