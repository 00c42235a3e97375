#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "herald/runtime/schedulable.hpp"

namespace moodycamel {
struct ConsumerToken;
}

namespace herald::runtime {

// A pool of worker threads that run schedulables which have work. Safe for
// concurrent use: schedule() may be called from any thread.
//
// Whoever schedules an object promises that it is not already queued or
// running (the actor mailbox guarantees this with its empty -> non-empty
// transition), so an object never runs on two threads at once. Idle workers
// spin up to 20 us when every worker has a core of its own (none otherwise,
// e.g. under `taskset -c 0`), then sleep on a semaphore: an idle scheduler
// uses no CPU.
class scheduler {
 public:
  struct counters {
    std::uint64_t activations = 0;
    std::uint64_t sleeps = 0;
  };

  // Starts `workers` threads (at least one); `budget` is the most units of
  // work one run() call may do before the object goes to the back of the queue.
  scheduler(std::size_t workers, std::size_t budget);
  ~scheduler();  // stop()

  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Queues `s` to run on some worker. After stop(), runs it on the calling
  // thread instead, so that late work (draining a stopped actor) still happens.
  void schedule(schedulable* s) noexcept;

  // Lets the workers finish what is queued, then joins them. Idempotent. Must
  // not be called from a worker thread.
  void stop() noexcept;

  // True when the calling thread is one of this scheduler's workers.
  bool on_worker_thread() const noexcept;

  std::size_t worker_count() const noexcept { return threads_.size(); }
  // Whether a worker may spin briefly waiting for more work: only when every
  // worker can have a core of its own (no more workers than the CPUs this
  // process may run on). With more, a spinning worker takes the core from
  // the very thread it waits for.
  bool spinning_pays() const noexcept { return spinning_pays_; }
  std::size_t budget() const noexcept { return budget_; }
  counters snapshot() const noexcept;

 private:
  struct queue;
  void worker_loop(std::size_t index) noexcept;
  bool spin_dequeue(moodycamel::ConsumerToken& token, schedulable*& s) noexcept;
  void drain() noexcept;

  std::unique_ptr<queue> queue_;
  std::vector<std::thread> threads_;
  std::size_t budget_;
  bool spinning_pays_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> activations_{0};
  std::atomic<std::uint64_t> sleeps_{0};
};

}  // namespace herald::runtime
