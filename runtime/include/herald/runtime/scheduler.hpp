#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "herald/runtime/schedulable.hpp"

namespace herald::runtime {

// A pool of worker threads that run schedulables which have work. Safe for
// concurrent use: schedule() may be called from any thread.
//
// Whoever schedules an object promises that it is not already queued or
// running (the actor mailbox guarantees this with its empty -> non-empty
// transition), so an object never runs on two threads at once.
//
// Shape (as CAF's and Tokio's): each worker has its own run queue
// (detail::steal_queue) and a hand-off slot. An object scheduled from a
// worker goes into that worker's slot and runs there next, right after the
// activation that woke it (ping-pong and rings stay on one core and wake
// nobody); what the slot held before goes to the back of the worker's queue.
// Objects scheduled from other threads go to a shared injection queue. A
// worker without work takes, in order, its slot, its queue, the injection
// queue (first every 61 activations, so outside work is never starved), then
// steals from the other workers' queues, and from their slots an object that
// has waited there while its worker began no activation (a long handler; a
// sleeping worker looks again every millisecond while another is awake). An idle worker spins up to
// 20 us looking for work when every worker has a core of its own (none
// otherwise, e.g. under `taskset -c 0`), then sleeps on a semaphore that
// whoever queues work for others signals: an idle scheduler uses no CPU.
class scheduler {
 public:
  struct counters {
    std::uint64_t activations = 0;
    std::uint64_t sleeps = 0;
    std::uint64_t steals = 0;  // objects a worker took from another's queue or slot
  };

  // Starts `workers` threads (at least one); `budget` is the most units of
  // work one run() call may do before the object goes to the back of the queue.
  scheduler(std::size_t workers, std::size_t budget);
  ~scheduler();  // stop()

  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Queues `s` to run on some worker (on a worker: that worker's hand-off
  // slot). After stop(), runs it on the calling thread instead, so that late
  // work (draining a stopped actor) still happens.
  void schedule(schedulable* s) noexcept;
  // As schedule(), but behind the work already queued: for an object that
  // used up its budget and must let the others run first.
  void yield(schedulable* s) noexcept;

  // Lets the workers finish what is queued, then joins them. Idempotent. Must
  // not be called from a worker thread.
  void stop() noexcept;

  // True when the calling thread is one of this scheduler's workers.
  bool on_worker_thread() const noexcept;
  // True when the calling thread is a worker whose hand-off slot holds an
  // object: whatever that object would send the caller cannot come before
  // the caller's activation ends, so waiting for it is pointless.
  bool handoff_pending() const noexcept;

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
  struct worker;
  void worker_loop(std::size_t index) noexcept;
  schedulable* next_for(worker& w) noexcept;
  schedulable* steal(worker& w, bool slots) noexcept;
  schedulable* search(worker& w) noexcept;
  schedulable* sleep(worker& w) noexcept;
  void stop_sleeping() noexcept;
  void push_local(worker& w, schedulable* s) noexcept;
  void inject(schedulable* s) noexcept;
  void notify() noexcept;
  void drain() noexcept;

  // Invariants:
  //  1. An object is in at most one place: a slot, a worker queue or the
  //     injection queue, or running.
  //  2. No lost wake-up: a worker about to sleep counts itself in idle_
  //     (seq_cst), then looks at every queue once more; whoever queues work
  //     for others (a worker queue or the injection queue) publishes it
  //     (seq_cst), then reads idle_. One of the two sees the other. A slot
  //     needs no wake-up: its worker is running and takes it next.
  //  3. Each signal of the semaphore is matched with one decrement of idle_,
  //     so idle_ counts the sleeps not yet answered.
  std::unique_ptr<queue> queue_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::size_t budget_;
  bool spinning_pays_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> idle_{0};
  std::atomic<std::uint64_t> activations_{0};
  std::atomic<std::uint64_t> sleeps_{0};
  std::atomic<std::uint64_t> steals_{0};
};

}  // namespace herald::runtime
