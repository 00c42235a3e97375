#include "herald/runtime/scheduler.hpp"

#include <concurrentqueue/concurrentqueue.h>
#include <concurrentqueue/lightweightsemaphore.h>
#include <sched.h>

#include <cassert>
#include <chrono>
#include <utility>
#include <vector>

#include "herald/runtime/detail/steal_queue.hpp"

namespace herald::runtime {

struct scheduler::worker {
  worker(std::size_t i, std::size_t n) : index(i), seen(n) {}
  const std::size_t index;
  detail::steal_queue local;
  // The hand-off slot: written by its worker, emptied by its worker or a
  // thief (exchange), so an object in it is taken exactly once.
  std::atomic<schedulable*> slot{nullptr};
  // worker only
  unsigned slot_runs = 0;   // activations in a row taken from the slot
  std::uint64_t ticks = 0;  // activations, for the injection queue's turn
  // Activations begun, for thieves: a slot is stolen only when its object
  // sat there while its worker began none (its worker is stuck in a long
  // activation), never while the worker is about to take it.
  std::atomic<std::uint64_t> progress{0};
  // thief only: what this worker saw in each victim's slot at its last look.
  struct sighting {
    schedulable* in_slot = nullptr;
    std::uint64_t progress = 0;
  };
  std::vector<sighting> seen;
};

namespace {
// Identifies the scheduler whose worker the current thread is, for
// on_worker_thread() and the debug assertion in stop().
thread_local const scheduler* current_scheduler = nullptr;
thread_local void* current_worker = nullptr;
// The stopped scheduler whose drain() loop runs on this thread, if any. Work
// it runs that schedules itself again (an actor with more mail than one
// budget) is queued for that loop instead of run nested: nested runs grew the
// stack by a run() per budget of messages and overflowed it on shutdown with
// a large mailbox.
thread_local const scheduler* draining = nullptr;
// The CPUs this process may run on (its affinity mask: 1 under `taskset -c 0`).
std::size_t usable_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::thread::hardware_concurrency();
  return static_cast<std::size_t>(CPU_COUNT(&set));
}
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
// Activations taken from the slot in a row while the worker's queue has work:
// past this, the slot's object goes to the back of the queue (two actors
// handing each other the slot would otherwise starve the queue).
constexpr unsigned max_slot_runs = 3;
// Every this many activations a worker looks at the injection queue first.
constexpr std::uint64_t injection_turn = 61;
}  // namespace

struct scheduler::queue {
  moodycamel::ConcurrentQueue<schedulable*> injected;
  // No spinning of its own: a worker spins itself, bounded in time and only
  // when spinning pays.
  moodycamel::LightweightSemaphore wake{0, 0};
};

scheduler::scheduler(std::size_t workers, std::size_t budget)
    : queue_(std::make_unique<queue>()), budget_(budget == 0 ? 1 : budget) {
  if (workers == 0) workers = 1;
  std::size_t cpus = usable_cpus();
  spinning_pays_ = cpus > 1 && workers <= cpus;
  workers_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<worker>(i, workers));
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

scheduler::~scheduler() { stop(); }

void scheduler::schedule(schedulable* s) noexcept {
  if (current_scheduler == this) {
    s->retain();
    auto& w = *static_cast<worker*>(current_worker);
    schedulable* previous = w.slot.exchange(s, std::memory_order_acq_rel);
    if (previous != nullptr) push_local(w, previous);
    return;
  }
  s->retain();
  inject(s);
}

void scheduler::yield(schedulable* s) noexcept {
  s->retain();
  if (current_scheduler == this) {
    push_local(*static_cast<worker*>(current_worker), s);
    return;
  }
  inject(s);
}

void scheduler::push_local(worker& w, schedulable* s) noexcept {
  if (!w.local.push(s)) {
    inject(s);
    return;
  }
  notify();
}

void scheduler::inject(schedulable* s) noexcept {
  if (stopped_.load(std::memory_order_acquire)) {
    queue_->injected.enqueue(s);
    if (draining != this) drain();
    return;
  }
  queue_->injected.enqueue(s);
  // Pairs with the fence in stop(): either stop() drains what we just queued,
  // or we see stopped_ and drain it here. Nothing queued is ever stranded.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (stopped_.load(std::memory_order_relaxed)) {
    drain();
    return;
  }
  notify();
}

// Wakes one sleeping worker, if any (invariant 2).
void scheduler::notify() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  int n = idle_.load(std::memory_order_seq_cst);
  while (n > 0) {
    if (idle_.compare_exchange_weak(n, n - 1, std::memory_order_seq_cst)) {
      queue_->wake.signal();
      return;
    }
  }
}

void scheduler::drain() noexcept {
  const scheduler* outer = std::exchange(draining, this);
  schedulable* s = nullptr;
  while (queue_->injected.try_dequeue(s)) {
    s->run(budget_);
    s->release();
  }
  draining = outer;
}

bool scheduler::on_worker_thread() const noexcept { return current_scheduler == this; }

bool scheduler::handoff_pending() const noexcept {
  return current_scheduler == this &&
         static_cast<worker*>(current_worker)->slot.load(std::memory_order_relaxed) != nullptr;
}

// The worker's next object from its own places and the injection queue.
schedulable* scheduler::next_for(worker& w) noexcept {
  schedulable* s = nullptr;
  if (w.ticks % injection_turn == 0 && queue_->injected.try_dequeue(s)) return s;
  if (w.slot.load(std::memory_order_relaxed) != nullptr) {
    if (w.slot_runs < max_slot_runs || w.local.looks_empty()) {
      s = w.slot.exchange(nullptr, std::memory_order_acq_rel);
      if (s != nullptr) {
        ++w.slot_runs;
        return s;
      }
    } else if ((s = w.slot.exchange(nullptr, std::memory_order_acq_rel)) != nullptr) {
      push_local(w, s);
    }
  }
  w.slot_runs = 0;
  if ((s = w.local.pop()) != nullptr) return s;
  if (queue_->injected.try_dequeue(s)) return s;
  return nullptr;
}

// Another worker's queue, round from the next worker; with `slots`, also a
// slot whose object has waited since this thief's previous look while its
// worker began no activation.
schedulable* scheduler::steal(worker& w, bool slots) noexcept {
  const std::size_t n = workers_.size();
  for (std::size_t k = 1; k < n; ++k) {
    const std::size_t v = (w.index + k) % n;
    worker& victim = *workers_[v];
    schedulable* s = victim.local.pop();
    if (s == nullptr && slots) {
      schedulable* in_slot = victim.slot.load(std::memory_order_relaxed);
      std::uint64_t progress = victim.progress.load(std::memory_order_relaxed);
      auto& seen = w.seen[v];
      if (in_slot != nullptr && in_slot == seen.in_slot && progress == seen.progress &&
          victim.slot.compare_exchange_strong(in_slot, nullptr, std::memory_order_acq_rel)) {
        s = in_slot;
      }
      seen = {in_slot, progress};
    }
    if (s != nullptr) {
      steals_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
  }
  return nullptr;
}

// An idle worker looks for work a little longer before it sleeps: waking a
// sleeping worker costs the scheduling side a system call and the woken one
// tens of microseconds. Bounded: an idle system still goes to sleep at once.
schedulable* scheduler::search(worker& w) noexcept {
  if (!spinning_pays_) return nullptr;
  constexpr auto limit = std::chrono::microseconds(20);
  auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    cpu_relax();
    if (schedulable* s = next_for(w)) return s;
    if (schedulable* s = steal(w, i % 16 == 0)) return s;
    if (i % 16 == 0) {
      if (stopping_.load(std::memory_order_relaxed)) return nullptr;
      if (std::chrono::steady_clock::now() - start > limit) return nullptr;
    }
  }
}

// Sleeps until work is queued for others (invariant 2); returns work found
// on the last look before sleeping, or null after a wake-up. While another
// worker is awake the sleep lasts at most a millisecond: filling a slot wakes
// nobody, so an object left in the slot of a worker stuck in a long
// activation (a handler that blocks, even one waiting for the very actor it
// woke) is stolen by a later look rather than waiting for that activation to
// end. The last worker to fall asleep sleeps until woken: an idle scheduler
// uses no CPU.
schedulable* scheduler::sleep(worker& w) noexcept {
  idle_.fetch_add(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  schedulable* s = next_for(w);
  if (s == nullptr) s = steal(w, true);
  if (s != nullptr || stopping_.load(std::memory_order_seq_cst)) {
    stop_sleeping();
    return s;
  }
  sleeps_.fetch_add(1, std::memory_order_relaxed);
  bool others_awake = idle_.load(std::memory_order_relaxed) < static_cast<int>(workers_.size());
  if (!others_awake) {
    queue_->wake.wait();
  } else if (!queue_->wake.wait(1000)) {
    stop_sleeping();
  }
  return nullptr;
}

// Takes back this worker's count in idle_ when it leaves sleep() without a
// signal. If a notifier took the count first, its signal is on the way:
// take it (invariant 3; which sleeper's count it was does not matter).
void scheduler::stop_sleeping() noexcept {
  int n = idle_.load(std::memory_order_seq_cst);
  while (n > 0 && !idle_.compare_exchange_weak(n, n - 1, std::memory_order_seq_cst)) {
  }
  if (n == 0) queue_->wake.wait();
}

void scheduler::worker_loop(std::size_t index) noexcept {
  worker& w = *workers_[index];
  current_scheduler = this;
  current_worker = &w;
  bool woken = false;
  for (;;) {
    schedulable* s = next_for(w);
    if (s == nullptr) s = steal(w, false);
    if (s == nullptr) {
      // Whatever real work is still queued when the workers leave, stop()
      // runs itself; a worker leaves only with its own slot and queue empty.
      if (stopping_.load(std::memory_order_acquire)) break;
      s = search(w);
      if (s == nullptr) s = sleep(w);
      if (s == nullptr) {
        woken = true;
        continue;
      }
    }
    if (std::exchange(woken, false)) {
      // A worker woken for work passes the wake-up on to one more sleeper,
      // if any, before it runs it: what this activation wakes goes into the
      // slot and wakes nobody, so one worker should stay awake to steal it
      // should this activation block.
      notify();
    }
    activations_.fetch_add(1, std::memory_order_relaxed);
    w.progress.store(++w.ticks, std::memory_order_relaxed);
    s->run(budget_);
    s->release();
  }
  current_worker = nullptr;
  current_scheduler = nullptr;
}

void scheduler::stop() noexcept {
  assert(!on_worker_thread() && "scheduler::stop() called from one of its workers");
  if (stopping_.exchange(true)) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // One signal per worker: each sleeping worker wakes, sees stopping_ and,
  // with nothing of its own left, leaves. Surplus signals die with the queue.
  queue_->wake.signal(static_cast<int>(threads_.size()));
  for (auto& t : threads_) t.join();
  stopped_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Whatever was queued between the workers' last look and stopped_ runs here.
  drain();
}

scheduler::counters scheduler::snapshot() const noexcept {
  return {activations_.load(std::memory_order_relaxed), sleeps_.load(std::memory_order_relaxed),
          steals_.load(std::memory_order_relaxed)};
}

}  // namespace herald::runtime
