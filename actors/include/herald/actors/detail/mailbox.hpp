#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "herald/actors/detail/envelope.hpp"

namespace herald::detail {

// A link in a mailbox: the stub of an empty mailbox is one, every message node
// (mailbox_node) starts with one.
struct mpsc_link {
  std::atomic<mpsc_link*> next{nullptr};
};

// One queued message. Nodes come from node_pool and go back to it once the
// message has run: no allocation per message once the pool is warm.
struct mailbox_node : mpsc_link {
  envelope env;
  // A user send admitted by a bounded mailbox (cell_base::offer): taking it
  // frees its place. Always false from node_pool::acquire().
  bool admitted = false;
};

// The nodes of every mailbox, cached per thread (runtime::detail::
// thread_cache): a thread that only sends (main) and one that only receives
// (a worker) trade whole batches instead of calling the allocator per
// message. Safe for concurrent use. The pool is an allocator, like malloc's
// own per-thread caches, which is why it is process-wide rather than per
// actor_system.
class node_pool {
 public:
  // Nodes per batch traded with the exchange, and the most a thread keeps.
  static constexpr std::size_t batch = 128;
  static constexpr std::size_t thread_cap = 2 * batch;
  // Batches the exchange keeps (262,144 nodes, 54 MB at most, kept only
  // after that much mail was queued at once); beyond that, released nodes
  // are freed. A burst of mail up to that size allocates once, not per burst.
  static constexpr std::size_t exchange_cap = 2048;

  // A node with an empty envelope. Throws std::bad_alloc.
  static mailbox_node* acquire();
  // Takes back a node whose envelope is empty.
  static void release(mailbox_node* n) noexcept;
  // Nodes ever taken from the allocator, process-wide (for tests and metrics).
  static std::uint64_t allocated() noexcept;
};

// A multi-producer, single-consumer queue of mailbox nodes (Vyukov's
// intrusive MPSC queue). Producers are lock-free and wait-free: one exchange
// and one store each. Every push is ordered by its exchange on head_ (seq_cst,
// which the actor's wake-up protocol relies on: see cell_base), one
// total order for all producers, so a push that finished before another began
// (in the same thread, or before a message that caused the other) is popped
// first.
//
// Thread safety: push() and looks_empty() from any thread; pop() and
// drained() only by the one consumer at a time (the actor's running worker,
// handed over through the cell's scheduled_ flag, which orders them).
class mpsc_queue {
 public:
  mpsc_queue() noexcept : head_(&stub_), tail_(&stub_) {}
  mpsc_queue(const mpsc_queue&) = delete;
  mpsc_queue& operator=(const mpsc_queue&) = delete;

  void push(mailbox_node* n) noexcept { push_link(n); }

  // Pushes the chain first..last (linked through next by the caller, who
  // owns every node of it) as one push: one exchange on head_ for all of
  // them, in chain order. The internal links are published by the release
  // store that links the chain in.
  void push_chain(mailbox_node* first, mailbox_node* last) noexcept {
    last->next.store(nullptr, std::memory_order_relaxed);
    mpsc_link* prev = head_.exchange(last, std::memory_order_acq_rel);
    prev->next.store(first, std::memory_order_release);
  }

  // The oldest node, or null when the queue is empty or its oldest push has
  // swapped head_ but not linked its node yet (it will, within a few
  // instructions of that producer). consumer only.
  mailbox_node* pop() noexcept {
    mpsc_link* tail = tail_;
    mpsc_link* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return static_cast<mailbox_node*>(tail);
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push is mid-way
    // `tail` is the last node: put the stub behind it so it can be handed out.
    push_link(&stub_);
    next = tail->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return static_cast<mailbox_node*>(tail);
    }
    return nullptr;  // a push slipped in before the stub's and is mid-way
  }

  // True when nothing is queued and no push is mid-way: the consumer may give
  // the queue up. consumer only.
  bool drained() const noexcept {
    return tail_ == &stub_ && stub_.next.load(std::memory_order_acquire) == nullptr &&
           head_.load(std::memory_order_acquire) == &stub_;
  }

  // After drained() returned true, true until the next push begins. Any thread.
  bool looks_empty() const noexcept { return head_.load(std::memory_order_seq_cst) == &stub_; }

 private:
  void push_link(mpsc_link* n) noexcept {
    n->next.store(nullptr, std::memory_order_relaxed);
    mpsc_link* prev = head_.exchange(n, std::memory_order_seq_cst);
    prev->next.store(n, std::memory_order_release);
  }

  // Invariants:
  //  1. head_ is the newest link, tail_ the oldest not yet popped; following
  //     next from tail_ reaches head_ once every mid-way push has linked.
  //  2. The stub is in the chain at most once, and only the consumer pushes
  //     it; so while the queue is drained head_ == &stub_, and the first push
  //     after that changes head_ (what looks_empty() reads).
  //  3. Nodes are popped in the order of their exchanges on head_.
  std::atomic<mpsc_link*> head_;
  mpsc_link* tail_;  // consumer only
  mpsc_link stub_;
};

}  // namespace herald::detail
