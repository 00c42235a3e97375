#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace herald::runtime {

// Runs callbacks at deadlines on one dedicated thread (ask timeouts, restart
// windows, delayed sends). Safe for concurrent use.
//
// A callback runs at most once, on the timer thread, never under the queue's
// lock. Callbacks must be short: they usually only complete a future or post
// a message. Timers are not cancelled; a callback whose work was already done
// (the ask got its reply) finds that out and does nothing.
class timer_queue {
 public:
  using clock = std::chrono::steady_clock;

  timer_queue();
  ~timer_queue();  // stop()

  timer_queue(const timer_queue&) = delete;
  timer_queue& operator=(const timer_queue&) = delete;

  void at(clock::time_point deadline, std::function<void()> fn);
  void after(clock::duration delay, std::function<void()> fn) { at(clock::now() + delay, std::move(fn)); }

  // Runs every callback still pending now (they see their deadline not yet
  // passed only if they check; ask timeouts treat it as shutdown), then joins.
  void stop();

  std::size_t pending() const;

 private:
  struct entry {
    clock::time_point deadline;
    std::uint64_t seq;
    std::function<void()> fn;
    bool operator>(const entry& o) const { return deadline != o.deadline ? deadline > o.deadline : seq > o.seq; }
  };
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
  std::uint64_t next_seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace herald::runtime
