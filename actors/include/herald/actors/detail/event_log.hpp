#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "herald/actors/detail/node_protocol.hpp"

namespace herald::detail {

// The node's recent membership and registry events, numbered from 1, for
// the admin service's event stream and the dashboard. Bounded: it keeps the
// newest `capacity` events; a reader that fell further behind is told how
// many it missed. Safe for concurrent use (one mutex, taken per cluster
// event and per query, never on the message path).
class event_log {
 public:
  static constexpr std::size_t default_capacity = 1024;
  explicit event_log(std::size_t capacity = default_capacity) : capacity_(capacity) {}

  void add(event_row e) {
    e.at_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    std::lock_guard lock(mutex_);
    e.seq = ++last_;
    events_.push_back(std::move(e));
    if (events_.size() > capacity_) events_.pop_front();
  }

  // The events after `after`, at most `max` of them (the oldest first).
  events_reply since(std::uint64_t after, std::size_t max = default_capacity) const {
    events_reply out;
    std::lock_guard lock(mutex_);
    out.last = last_;
    const std::uint64_t first = events_.empty() ? last_ + 1 : events_.front().seq;
    if (after + 1 < first) out.dropped = first - after - 1;
    for (const auto& e : events_) {
      if (e.seq <= after) continue;
      if (out.events.size() == max) break;
      out.events.push_back(e);
    }
    if (!out.events.empty()) out.last = out.events.back().seq;
    return out;
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<event_row> events_;  // ascending seq, at most capacity_
  std::uint64_t last_ = 0;
};

}  // namespace herald::detail
