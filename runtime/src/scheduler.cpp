#include "herald/runtime/scheduler.hpp"

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <sched.h>

#include <cassert>
#include <chrono>
#include <utility>

namespace herald::runtime {
namespace {
// Identifies the scheduler whose worker the current thread is, for
// on_worker_thread() and the debug assertion in stop().
thread_local const scheduler* current_scheduler = nullptr;
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
}  // namespace

// The semaphore's own spin (10,000 tries) before a worker sleeps is off: the
// worker spins itself, bounded in time and only when spinning pays.
struct ready_traits : moodycamel::ConcurrentQueueDefaultTraits {
  static const int MAX_SEMA_SPINS = 0;
};

struct scheduler::queue {
  moodycamel::BlockingConcurrentQueue<schedulable*, ready_traits> ready;
};

scheduler::scheduler(std::size_t workers, std::size_t budget)
    : queue_(std::make_unique<queue>()), budget_(budget == 0 ? 1 : budget) {
  if (workers == 0) workers = 1;
  std::size_t cpus = usable_cpus();
  spinning_pays_ = cpus > 1 && workers <= cpus;
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

scheduler::~scheduler() { stop(); }

void scheduler::schedule(schedulable* s) noexcept {
  s->retain();
  if (stopped_.load(std::memory_order_acquire)) {
    queue_->ready.enqueue(s);
    if (draining != this) drain();
    return;
  }
  queue_->ready.enqueue(s);
  // Pairs with the fence in stop(): either stop() drains what we just queued,
  // or we see stopped_ and drain it here. Nothing queued is ever stranded.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (stopped_.load(std::memory_order_relaxed)) drain();
}

void scheduler::drain() noexcept {
  const scheduler* outer = std::exchange(draining, this);
  schedulable* s = nullptr;
  while (queue_->ready.try_dequeue(s)) {
    if (s == nullptr) continue;
    s->run(budget_);
    s->release();
  }
  draining = outer;
}

bool scheduler::on_worker_thread() const noexcept { return current_scheduler == this; }

// An idle worker looks for work a little longer before it sleeps: waking a
// sleeping worker costs the scheduling side a system call and the woken one
// tens of microseconds. Bounded: an idle system still goes to sleep at once.
bool scheduler::spin_dequeue(moodycamel::ConsumerToken& token, schedulable*& s) noexcept {
  constexpr auto limit = std::chrono::microseconds(20);
  auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (queue_->ready.try_dequeue(token, s)) return true;
    if (i % 16 == 0 && std::chrono::steady_clock::now() - start > limit) return false;
  }
}

void scheduler::worker_loop(std::size_t) noexcept {
  current_scheduler = this;
  moodycamel::ConsumerToken token(queue_->ready);
  schedulable* s = nullptr;
  for (;;) {
    if (!queue_->ready.try_dequeue(token, s)) {
      if (stopping_.load(std::memory_order_acquire)) break;
      if (!spinning_pays_ || !spin_dequeue(token, s)) {
        sleeps_.fetch_add(1, std::memory_order_relaxed);
        queue_->ready.wait_dequeue(token, s);
      }
    }
    // stop()'s wake-up: one per worker, so each worker leaves on the first it
    // takes; whatever real work is still queued, stop() runs itself.
    if (s == nullptr) break;
    activations_.fetch_add(1, std::memory_order_relaxed);
    s->run(budget_);
    s->release();
  }
  current_scheduler = nullptr;
}

void scheduler::stop() noexcept {
  assert(!on_worker_thread() && "scheduler::stop() called from one of its workers");
  if (stopping_.exchange(true)) return;
  for (std::size_t i = 0; i < threads_.size(); ++i) queue_->ready.enqueue(nullptr);
  for (auto& t : threads_) t.join();
  stopped_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Whatever was queued between the workers' last look and stopped_ runs here.
  drain();
}

scheduler::counters scheduler::snapshot() const noexcept {
  return {activations_.load(std::memory_order_relaxed), sleeps_.load(std::memory_order_relaxed)};
}

}  // namespace herald::runtime
