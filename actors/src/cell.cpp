#include "herald/actors/detail/cell.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "herald/actors/actor_ref.hpp"
#include "herald/actors/actor_system.hpp"
#include "system_core.hpp"

namespace herald::detail {
namespace {

thread_local cell_base* tls_current = nullptr;
thread_local cell_base* tls_constructing = nullptr;

// Thrown inside a parent's activation when a child escalates a failure, so
// the parent's own policy applies to it.
class child_failure : public std::runtime_error {
 public:
  explicit child_failure(const escalation& e)
      : std::runtime_error("child actor " + std::to_string(e.who) +
                           (e.name.empty() ? std::string() : " '" + e.name + "'") + " escalated: " + e.reason.message()) {}
};

struct noop_ops {
  static void invoke(cell_base&, envelope&) {}
  static void reject(cell_base&, envelope&, const error&) noexcept {}
  static void fail_reply(envelope&, const error&) noexcept {}
  static void relocate(envelope&, envelope&) noexcept {}
  static void destroy(envelope&) noexcept {}
  static constexpr envelope_ops ops{&invoke, &reject, &fail_reply, &relocate, &destroy, &typeid(void)};
};

struct escalation_ops {
  static void invoke(cell_base&, envelope& e) { throw child_failure(e.message<escalation>()); }
  static void reject(cell_base&, envelope&, const error&) noexcept {}
  static void fail_reply(envelope&, const error&) noexcept {}
  static void relocate(envelope& dst, envelope& src) noexcept { dst.relocate_message<escalation>(src); }
  static void destroy(envelope& e) noexcept { e.destroy_message<escalation>(); }
  static constexpr envelope_ops ops{&invoke, &reject, &fail_reply, &relocate, &destroy, &typeid(escalation)};
};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Where senders wait for room in a bounded mailbox: a few mutex and
// condition variable pairs shared by every cell (hashed by address), so an
// actor carries no waiting state of its own beyond a counter.
struct room_stripe {
  std::mutex mutex;
  std::condition_variable room;
};

room_stripe& stripe_of(const void* cell) noexcept {
  static room_stripe stripes[16];
  return stripes[(reinterpret_cast<std::uintptr_t>(cell) >> 6) % 16];
}

spawn_options with_mailbox(spawn_options opts, const mailbox_limit& fallback) {
  if (!opts.mailbox) opts.mailbox = fallback;
  return opts;
}

std::string describe(std::exception_ptr ex) {
  try {
    std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

cell_base* current_cell() noexcept { return tls_current; }
cell_base* constructing_cell() noexcept { return tls_constructing; }

current_cell_scope::current_cell_scope(cell_base* c) noexcept : previous_(std::exchange(tls_current, c)) {}
current_cell_scope::~current_cell_scope() { tls_current = previous_; }
constructing_scope::constructing_scope(cell_base* c) noexcept : previous_(std::exchange(tls_constructing, c)) {}
constructing_scope::~constructing_scope() { tls_constructing = previous_; }

envelope make_noop_envelope() noexcept {
  envelope e;
  e.ops = &noop_ops::ops;
  return e;
}

void report_dead_letter(cell_base& target, const std::type_info& type, const error& why) noexcept {
  target.core().dead_letter(target, type, why);
}

actor_system& system_of(cell_base& c) noexcept { return c.core().owner(); }

void arm_ask_timeout(cell_base& target, std::chrono::nanoseconds timeout, std::function<void()> on_expiry) {
  target.core().timers().after(timeout, std::move(on_expiry));
}

void count_ask_timeout(cell_base& target) noexcept { target.core().count_ask_timeout(); }

void count_quorum_late_reply(system_core& core) noexcept { core.count_quorum_late_reply(); }

cell_base::cell_base(system_core& sys, actor_id id, spawn_options opts, ref_ptr<cell_base> parent)
    : sys_(sys), id_(id), opts_(with_mailbox(std::move(opts), sys.config().mailbox)), parent_(std::move(parent)) {}

// Mail left in the mailbox (only possible if the actor never ran) is destroyed
// with it: asks among it fail with errc::broken_promise.
cell_base::~cell_base() {
  while (mailbox_node* n = mailbox_.pop()) {
    n->env.reset();
    node_pool::release(n);
  }
}

mailbox_node* cell_base::acquire_node() noexcept {
  try {
    return node_pool::acquire();
  } catch (...) {
    return nullptr;  // out of memory for a mailbox node
  }
}

void cell_base::enqueue(envelope&& e) noexcept {
  mailbox_node* n = acquire_node();
  if (n == nullptr) {
    // Out of memory for a mailbox node: the message cannot be queued.
    reject(e);
    return;
  }
  n->env = std::move(e);
  push_node(n);
}

result<void> cell_base::offer(envelope&& e) noexcept {
  if (opts_.mailbox->capacity == 0) {
    enqueue(std::move(e));
    return {};
  }
  mailbox_node* n = acquire_node();
  if (n == nullptr) {
    reject(e);
    return {};
  }
  if (!reserve() &&
      (opts_.mailbox->on_full == when_full::fail || current_cell() != nullptr || !wait_for_room())) {
    node_pool::release(n);
    return refuse(e);
  }
  n->env = std::move(e);
  n->admitted = true;
  push_node(n);
  return {};
}

bool cell_base::reserve() noexcept {
  const auto before = admitted_.fetch_add(1, std::memory_order_seq_cst);
  const auto taken = admitted_taken_.load(std::memory_order_seq_cst);
  if (before < taken || before - taken < opts_.mailbox->capacity) return true;
  admitted_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

bool cell_base::wait_for_room() noexcept {
  sys_.count_mailbox_wait();
  const auto deadline = std::chrono::steady_clock::now() + opts_.mailbox->block_timeout;
  auto& stripe = stripe_of(this);
  std::unique_lock lock(stripe.mutex);
  room_waiters_.fetch_add(1, std::memory_order_seq_cst);
  // Tries again at each wake-up and once more at the deadline.
  const bool admitted = stripe.room.wait_until(lock, deadline, [this] { return reserve(); });
  room_waiters_.fetch_sub(1, std::memory_order_relaxed);
  return admitted;
}

void cell_base::took() noexcept {
  admitted_taken_.store(admitted_taken_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  if (room_waiters_.load(std::memory_order_seq_cst) != 0) {
    auto& stripe = stripe_of(this);
    { std::lock_guard lock(stripe.mutex); }
    stripe.room.notify_all();
  }
}

error cell_base::refuse(envelope& e) noexcept {
  sys_.count_mailbox_full();
  if (stats_) stats_->mailbox_full.fetch_add(1, std::memory_order_relaxed);
  error why(errc::mailbox_full, "the mailbox of actor " + std::to_string(id_) +
                                    (opts_.name.empty() ? "" : " '" + opts_.name + "'") + " is full (capacity " +
                                    std::to_string(opts_.mailbox->capacity) + ")");
  e.ops->fail_reply(e, why);
  e.reset();
  return why;
}

void cell_base::enqueue_chain(mailbox_node* first, mailbox_node* last, std::size_t count, bool run_here) noexcept {
  pushed_.fetch_add(count, std::memory_order_relaxed);
  mailbox_.push_chain(first, last);
  // As in push_node(): one fence for the whole chain.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!scheduled_.load(std::memory_order_relaxed) && !scheduled_.exchange(true, std::memory_order_acq_rel)) {
    if (run_here && opts_.non_blocking) {
      // Owner now, as a worker would be: the chain just pushed, and no more
      // (what arrives meanwhile goes to a worker), so the io thread's other
      // links wait at most that long.
      sys_.count_io_thread_activation();
      run(count);
      return;
    }
    schedule();
  }
}

void cell_base::push_node(mailbox_node* n) noexcept {
  pushed_.fetch_add(1, std::memory_order_relaxed);
  mailbox_.push(n);
  // The push's exchange and this load are seq_cst, as are run()'s clearing
  // store and final look: either we see scheduled_ cleared, or run() sees our
  // message. (No separate fence: on x86 the exchange is already one.)
  if (!scheduled_.load(std::memory_order_seq_cst) && !scheduled_.exchange(true, std::memory_order_acq_rel)) {
    schedule();
  }
}

void cell_base::schedule() noexcept { sys_.scheduler().schedule(this); }

void cell_base::request_stop(error reason) noexcept {
  {
    std::lock_guard lock(monitors_mutex_);
    if (stop_requested_.load(std::memory_order_relaxed)) return;
    stop_reason_ = std::move(reason);
    stop_requested_.store(true, std::memory_order_release);
  }
  enqueue(make_noop_envelope());
}

void cell_base::add_monitor(ref_ptr<cell_base> watcher, down_fn deliver) {
  error reason;
  {
    std::lock_guard lock(monitors_mutex_);
    if (!closed_.load(std::memory_order_relaxed)) {
      monitors_.emplace_back(std::move(watcher), deliver);
      return;
    }
    reason = close_reason_;
  }
  deliver(*watcher, down{id_, std::move(reason)});
}

void cell_base::run(std::size_t budget) noexcept {
  current_cell_scope scope(this);
  window_batch window;  // remote calls give their link's window back once per activation
  std::size_t taken = 0;
  const auto began = std::chrono::steady_clock::now();
  while (taken < budget) {
    mailbox_node* n = mailbox_.pop();
    if (n == nullptr && taken > 0 && should_spin()) n = spin_for_mail();
    if (n == nullptr) break;
    ++taken;
    if (n->admitted) took();
    handle(n->env);
    n->env.reset();
    node_pool::release(n);
  }
  account(taken, began);
  if (taken == budget && !mailbox_.drained()) {
    // Still owner; more mail may wait. Back of the queue, for fairness.
    sys_.scheduler().yield(this);
    return;
  }
  if (!mailbox_.drained()) {
    // A producer is between its two steps of push (it was preempted there):
    // its message is next in line, so keep the actor and look again after
    // the others that are ready have run, letting that producer's thread run.
    std::this_thread::yield();
    sys_.scheduler().yield(this);
    return;
  }
  scheduled_.store(false, std::memory_order_seq_cst);
  // After this store another worker may already run this actor: touch only
  // what is safe from any thread.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!mailbox_.looks_empty() && !scheduled_.exchange(true, std::memory_order_acq_rel)) schedule();
}

// Once per activation: the per-type counters and the mailbox depth. Before
// scheduled_ is released, so only this worker touches taken_ here.
void cell_base::account(std::size_t taken, std::chrono::steady_clock::time_point began) noexcept {
  if (taken == 0) return;
  taken_.store(taken_.load(std::memory_order_relaxed) + taken, std::memory_order_relaxed);
  if (stats_ == nullptr) return;
  stats_->handled.fetch_add(taken, std::memory_order_relaxed);
  stats_->handler_time.record((std::chrono::steady_clock::now() - began) / taken, taken);
}

bool cell_base::should_spin() noexcept {
  if (!sys_.scheduler().spinning_pays()) return false;
  // Not on an io thread (a non_blocking actor run there): its links wait.
  if (!sys_.scheduler().on_worker_thread()) return false;
  // The actor this one just woke waits in this worker's hand-off slot: its
  // answer cannot come before this activation ends.
  if (sys_.scheduler().handoff_pending()) return false;
  if (spin_hits_ > 0) return true;
  // It has not paid off lately: try again now and then, as the pattern of
  // the actor's senders may have changed.
  return (++spin_probe_ % 64) == 0;
}

// A sender that is mid-exchange with this actor (ping-pong, a request and
// its reply) usually has the next message ready within a microsecond or
// two; looking again briefly is cheaper than giving up the actor and having
// the sender schedule it anew (and wake a sleeping worker). Bounded in time;
// spin_hits_ remembers whether it paid off.
mailbox_node* cell_base::spin_for_mail() noexcept {
  constexpr auto limit = std::chrono::microseconds(4);
  auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    cpu_relax();
    if (mailbox_node* n = mailbox_.pop()) {
      if (spin_hits_ < max_spin_hits) ++spin_hits_;
      return n;
    }
    if (i % 16 == 0 && std::chrono::steady_clock::now() - start > limit) break;
  }
  if (spin_hits_ > 0) spin_hits_ = static_cast<std::uint8_t>(spin_hits_ / 2);
  return nullptr;
}

void cell_base::handle(envelope& e) noexcept {
  if (!closed_.load(std::memory_order_relaxed)) {
    if (stop_requested_.load(std::memory_order_acquire)) {
      error reason;
      {
        std::lock_guard lock(monitors_mutex_);
        reason = stop_reason_;
      }
      do_stop(std::move(reason));
    } else if (!started_) {
      start();
    }
  }
  if (closed_.load(std::memory_order_relaxed)) {
    reject(e);
    return;
  }
  try {
    e.ops->invoke(*this, e);
  } catch (...) {
    handle_failure(e, std::current_exception());
  }
}

void cell_base::start() noexcept {
  started_ = true;
  try {
    construct_state();
    has_state_ = true;
    call_on_start();
  } catch (...) {
    do_stop(error(errc::handler_failed, "failed to start: " + describe(std::current_exception())));
  }
}

void cell_base::handle_failure(envelope& current, std::exception_ptr ex) noexcept {
  error reason(errc::handler_failed, describe(ex));
  current.ops->fail_reply(current, reason);
  sys_.count_failure();
  if (closed_.load(std::memory_order_relaxed)) return;
  switch (opts_.policy.action) {
    case on_failure::restart: {
      auto now = std::chrono::steady_clock::now();
      std::erase_if(restarts_, [&](auto t) { return now - t > opts_.policy.within; });
      if (restarts_.size() >= opts_.policy.max_restarts) {
        do_stop(error(errc::restart_limit, std::to_string(restarts_.size()) + " restarts within " +
                                               std::to_string(opts_.policy.within.count()) +
                                               " ms; last failure: " + reason.context()));
        return;
      }
      restarts_.push_back(now);
      sys_.count_restart();
      if (stats_) stats_->restarts.fetch_add(1, std::memory_order_relaxed);
      destroy_state();
      has_state_ = false;
      ++generation_;
      try {
        construct_state();
        has_state_ = true;
        call_on_start();
      } catch (...) {
        do_stop(error(errc::handler_failed, "failed to restart: " + describe(std::current_exception())));
      }
      return;
    }
    case on_failure::stop:
      do_stop(std::move(reason));
      return;
    case on_failure::escalate: {
      auto parent = parent_;  // do_stop() lets go of it
      do_stop(reason);
      escalate(parent, reason);
      return;
    }
  }
}

void cell_base::escalate(const ref_ptr<cell_base>& parent, const error& reason) noexcept {
  escalation info{id_, opts_.name, reason};
  if (parent && !parent->stopped()) {
    envelope e;
    e.emplace_message<escalation>(std::move(info));
    e.ops = &escalation_ops::ops;
    parent->enqueue(std::move(e));
  } else {
    sys_.escalate(info);
  }
}

void cell_base::do_stop(error reason) noexcept {
  if (has_state_) {
    try {
      call_on_stop();
    } catch (...) {
      // on_stop is the last word of a stopping actor; an exception from it changes nothing.
    }
    destroy_state();
    has_state_ = false;
  }
  ++generation_;
  std::vector<std::pair<ref_ptr<cell_base>, down_fn>> watchers;
  {
    std::lock_guard lock(monitors_mutex_);
    close_reason_ = reason;
    closed_.store(true, std::memory_order_release);
    watchers.swap(monitors_);
  }
  parent_ = {};
  sys_.remove(*this);
  for (auto& [w, deliver] : watchers) deliver(*w, down{id_, reason});
}

void cell_base::reject(envelope& e) noexcept {
  error why;
  {
    std::lock_guard lock(monitors_mutex_);
    why = close_reason_;
  }
  if (why.code() != errc::system_shutdown) {
    why = error(errc::actor_stopped, "actor " + std::to_string(id_) + (opts_.name.empty() ? "" : " '" + opts_.name + "'") +
                                         " has stopped");
  }
  e.ops->reject(*this, e, why);
}

}  // namespace herald::detail
