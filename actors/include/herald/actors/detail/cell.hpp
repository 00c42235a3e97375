#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "herald/actors/detail/envelope.hpp"
#include "herald/actors/detail/mailbox.hpp"
#include "herald/actors/detail/remote_call.hpp"
#include "herald/actors/detail/ref_counted.hpp"
#include "herald/actors/detail/type_stats.hpp"
#include "herald/actors/messages.hpp"
#include "herald/runtime/schedulable.hpp"

namespace herald::detail {

class system_core;

// The runtime half of an actor: its mailbox, its scheduling state, its
// lifecycle and supervision. The user's object (the state) lives in cell<T>.
//
// Thread safety: enqueue(), request_stop(), add_monitor() and the reference
// count are safe from any thread. run() is called by the scheduler on one
// worker at a time, and everything marked "worker" below is touched only there.
class cell_base : public runtime::schedulable {
 public:
  cell_base(system_core& sys, actor_id id, spawn_options opts, ref_ptr<cell_base> parent);
  cell_base(const cell_base&) = delete;
  cell_base& operator=(const cell_base&) = delete;

  actor_id id() const noexcept { return id_; }
  const std::string& name() const noexcept { return opts_.name; }
  system_core& core() const noexcept { return sys_; }
  bool stopped() const noexcept { return closed_.load(std::memory_order_acquire); }
  bool stop_requested() const noexcept { return stop_requested_.load(std::memory_order_acquire); }

  // Puts a message in the mailbox and schedules the actor if the mailbox was
  // empty. A stopped actor rejects it (dead letter, or the ask fails). Not
  // bound by the mailbox's capacity: for system messages and remote
  // deliveries (which their link's window bounds).
  void enqueue(envelope&& e) noexcept;
  // A local user send (tell, ask): as enqueue(), within the mailbox's bound.
  // When the mailbox is full the bound's policy applies: fail at once, or
  // (outside a handler) wait for room up to its block_timeout. A refused
  // message is destroyed, an ask's reply fails with the same error, and the
  // error (errc::mailbox_full) is returned.
  result<void> offer(envelope&& e) noexcept;
  const mailbox_limit& mailbox_bound() const noexcept { return *opts_.mailbox; }
  // As enqueue() for a chain of nodes from node_pool, their envelopes filled
  // and linked first..last through next: one push, one fence, at most one
  // schedule for all of them, in chain order.
  // run_here: the caller is an io thread between reads; a non_blocking
  // actor that was idle then runs on it instead of through the scheduler.
  void enqueue_chain(mailbox_node* first, mailbox_node* last, std::size_t count, bool run_here = false) noexcept;
  // As enqueue(), with the envelope built by build(envelope&), which must not
  // throw, right inside its mailbox node: a large message (a remote frame) is
  // written once instead of moved through temporaries.
  template <class Build>
  void enqueue_built(Build&& build) noexcept {
    mailbox_node* n = acquire_node();
    if (n == nullptr) {
      envelope e;
      build(e);
      reject(e);
      return;
    }
    build(n->env);
    push_node(n);
  }

  // Makes the actor stop after the message it is running, if any; mail still
  // queued is rejected with `reason`. Idempotent: the first reason wins.
  void request_stop(error reason) noexcept;

  // Arranges for `deliver(*watcher, down)` when this actor stops (at once if it
  // already has).
  using down_fn = void (*)(cell_base& watcher, const down& d);
  void add_monitor(ref_ptr<cell_base> watcher, down_fn deliver);

  // The counters of this actor's type; set once by system_core::add before
  // the actor is published (null for an actor never added).
  type_stats* stats() const noexcept { return stats_; }
  void set_stats(type_stats* s) noexcept { stats_ = s; }
  // Messages in the mailbox now (pushed minus taken; any thread, a snapshot).
  std::uint64_t mailbox_depth() const noexcept {
    const auto taken = taken_.load(std::memory_order_relaxed);
    const auto pushed = pushed_.load(std::memory_order_relaxed);
    return pushed > taken ? pushed - taken : 0;
  }

  // User sends a bounded mailbox has admitted and its actor not yet taken
  // (any thread, a snapshot; it may exceed the capacity by the places that
  // senders about to be refused hold for an instant).
  std::uint64_t admitted_queued() const noexcept {
    const auto taken = admitted_taken_.load(std::memory_order_relaxed);
    const auto in = admitted_.load(std::memory_order_relaxed);
    return in > taken ? in - taken : 0;
  }

  // worker: the state generation, bumped by every restart.
  std::uint64_t generation() const noexcept { return generation_; }

  void run(std::size_t budget) noexcept override;
  void retain() noexcept override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // worker: the user's object.
  virtual void* state() noexcept = 0;
  // The handler for a message that came from another node, by type id; null
  // when the actor's type has no remote interface or no such message.
  virtual remote_handler find_remote_handler(std::uint64_t type_id) const noexcept = 0;

 protected:
  ~cell_base() override;

  virtual void construct_state() = 0;   // may throw
  virtual void destroy_state() noexcept = 0;
  virtual void call_on_start() = 0;     // may throw
  virtual void call_on_stop() = 0;      // may throw (logged and ignored)

 private:
  void start() noexcept;
  // A mailbox node from the pool, or null when out of memory.
  static mailbox_node* acquire_node() noexcept;
  // Bounded mailboxes: takes a place for one user send if fewer than the
  // capacity are queued (counted in admitted_ at once, so concurrent
  // senders never overshoot it); wait_for_room() retries until the policy's
  // deadline; refuse() counts and fails a message that found no room;
  // took() frees the place of an admitted message the worker took and wakes
  // senders waiting for one.
  bool reserve() noexcept;
  bool wait_for_room() noexcept;
  error refuse(envelope& e) noexcept;
  void took() noexcept;
  // Queues n (its envelope filled) and schedules the actor if needed.
  void push_node(mailbox_node* n) noexcept;
  void handle(envelope& e) noexcept;
  void handle_failure(envelope& current, std::exception_ptr ex) noexcept;
  void escalate(const ref_ptr<cell_base>& parent, const error& reason) noexcept;
  void do_stop(error reason) noexcept;
  void reject(envelope& e) noexcept;
  void schedule() noexcept;
  bool should_spin() noexcept;
  void account(std::size_t taken, std::chrono::steady_clock::time_point began) noexcept;
  mailbox_node* spin_for_mail() noexcept;

  // Invariants:
  //  1. scheduled_ is the right to run this actor. It is set only by a
  //     successful exchange(false -> true), by a producer after its push or
  //     by run() after its final look at the mailbox; whoever sets it queues
  //     the actor on the scheduler. Only run() clears it, as its last act. So
  //     the actor is queued or running at most once: never on two workers,
  //     and the mailbox has one consumer at a time.
  //  2. run() clears scheduled_ only when mailbox_.drained() (nothing queued,
  //     no push mid-way); a push seen mid-way keeps it and reschedules.
  //  3. No lost wake-up: a producer pushes (its seq_cst exchange on the
  //     mailbox's head), then reads scheduled_ (seq_cst); run() clears
  //     scheduled_ (seq_cst), then reads the head (looks_empty(), seq_cst).
  //     By 2 the head was the stub, so at least one of them sees the other
  //     (one total order of seq_cst operations), and schedules.
  //  4. While scheduled_ is set, producers only read it (no read-modify-write
  //     of the flag per message), so a busy actor's flag stays in every
  //     core's cache.
  //  5. Once closed_ is set (worker, in do_stop), every message taken from the
  //     mailbox is rejected; nothing runs a handler again.
  //  6. stop_reason_ is written under monitors_mutex_ before stop_requested_ is
  //     set (release); the worker reads it after seeing the flag (acquire).
  //  7. Messages run in the order of their pushes (mpsc_queue): one order for
  //     every producer, so per-sender FIFO and causal order hold.
  //  8. Bounded mailbox: a user send is admitted only by reserve()'s
  //     increment of admitted_ finding admitted_ - admitted_taken_ below the
  //     capacity, so at most `capacity` admitted user sends are queued at
  //     once (system messages and remote deliveries take no place and are
  //     never refused). A sender that waits registers in room_waiters_
  //     (seq_cst) before it looks at admitted_taken_ again; took() stores
  //     admitted_taken_ (seq_cst) before it reads room_waiters_: one of them
  //     sees the other, so no waiter sleeps through the room it waits for.
  system_core& sys_;
  const actor_id id_;
  const spawn_options opts_;
  ref_ptr<cell_base> parent_;
  std::atomic<std::uint32_t> refs_{1};
  mpsc_queue mailbox_;
  // Mailbox depth for the exporter: pushed_ counts enqueues (relaxed, next
  // to the mailbox the producer writes anyway), taken_ is written by the
  // worker once per activation.
  std::atomic<std::uint64_t> pushed_{0};
  std::atomic<std::uint64_t> taken_{0};
  // A bounded mailbox's places (invariant 8): user sends admitted, and those
  // the worker has taken (written by the worker only, per message).
  std::atomic<std::uint64_t> admitted_{0};
  std::atomic<std::uint64_t> admitted_taken_{0};
  std::atomic<std::uint32_t> room_waiters_{0};  // senders in wait_for_room()
  type_stats* stats_ = nullptr;
  std::atomic<bool> scheduled_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> closed_{false};

  std::mutex monitors_mutex_;
  error stop_reason_;
  std::vector<std::pair<ref_ptr<cell_base>, down_fn>> monitors_;

  // worker only
  static constexpr std::uint8_t max_spin_hits = 4;
  bool started_ = false;
  bool has_state_ = false;
  std::uint8_t spin_hits_ = 0;    // recent spins that found mail (a probe finds out first)
  std::uint8_t spin_probe_ = 0;   // spins skipped since it last paid off
  std::uint64_t generation_ = 0;
  std::vector<std::chrono::steady_clock::time_point> restarts_;  // within policy.within; empty until a failure
  error close_reason_;
};

// An envelope that only gets the actor scheduled (its start, a stop request).
envelope make_noop_envelope() noexcept;

// The actor whose handler runs on this thread (nullptr outside handlers).
cell_base* current_cell() noexcept;
// The cell whose state is being constructed on this thread (for actor<T>'s constructor).
cell_base* constructing_cell() noexcept;

// Sets current_cell() for the scope of one activation.
class current_cell_scope {
 public:
  explicit current_cell_scope(cell_base* c) noexcept;
  ~current_cell_scope();
  current_cell_scope(const current_cell_scope&) = delete;
  current_cell_scope& operator=(const current_cell_scope&) = delete;

 private:
  cell_base* previous_;
};

class constructing_scope {
 public:
  explicit constructing_scope(cell_base* c) noexcept;
  ~constructing_scope();
  constructing_scope(const constructing_scope&) = delete;
  constructing_scope& operator=(const constructing_scope&) = delete;

 private:
  cell_base* previous_;
};

}  // namespace herald::detail
