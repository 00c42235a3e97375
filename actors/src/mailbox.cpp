#include "herald/actors/detail/mailbox.hpp"

#include <concurrentqueue/concurrentqueue.h>

#include <cassert>
#include <new>

namespace herald::detail {
namespace {

// Full batches of free nodes, each a chain of node_pool::batch nodes through
// `next`. Never destroyed: threads that exit after static destruction (a
// detached one, a late worker) still return their nodes to it safely.
moodycamel::ConcurrentQueue<mpsc_link*>& exchange() {
  static auto* q = new moodycamel::ConcurrentQueue<mpsc_link*>(node_pool::exchange_cap);
  return *q;
}

// A thread's free nodes, a chain through `next` (only this thread touches it).
struct free_list {
  mpsc_link* head = nullptr;
  std::size_t count = 0;
  // Set when the thread's list has been destroyed (thread exit): a node
  // released after that (a static actor_system torn down late) is freed.
  static thread_local bool gone;

  ~free_list() {
    gone = true;
    while (count >= node_pool::batch) spill();
    while (head != nullptr) delete static_cast<mailbox_node*>(take());
  }
  mpsc_link* take() noexcept {
    mpsc_link* n = head;
    head = n->next.load(std::memory_order_relaxed);
    --count;
    return n;
  }
  void put(mpsc_link* n) noexcept {
    n->next.store(head, std::memory_order_relaxed);
    head = n;
    ++count;
  }
  // Hands the newest `batch` nodes to the exchange, or frees them if it is full.
  void spill() noexcept {
    mpsc_link* first = head;
    mpsc_link* last = head;
    for (std::size_t i = 1; i < node_pool::batch; ++i) last = last->next.load(std::memory_order_relaxed);
    head = last->next.load(std::memory_order_relaxed);
    count -= node_pool::batch;
    last->next.store(nullptr, std::memory_order_relaxed);
    auto& x = exchange();
    if (x.size_approx() < node_pool::exchange_cap && x.enqueue(first)) return;
    while (first != nullptr) {
      mpsc_link* n = first;
      first = n->next.load(std::memory_order_relaxed);
      delete static_cast<mailbox_node*>(n);
    }
  }
  // Takes a whole batch from the exchange as this thread's list (which is
  // empty); false when it has none. The batch's chain becomes the list as
  // it is: walking it here would take its nodes' cache lines from the
  // thread that released them one after another, a miss each (a fifth of an
  // io thread's time in herald-bench's 64-byte tell); take() meets them one
  // at a time instead, each prefetched by the take before it.
  bool refill() noexcept {
    assert(head == nullptr && count == 0);
    mpsc_link* first = nullptr;
    if (!exchange().try_dequeue(first)) return false;
    head = first;
    count = node_pool::batch;
    return true;
  }
};

std::atomic<std::uint64_t> allocations{0};

mailbox_node* allocate() {
  auto* n = new mailbox_node;
  allocations.fetch_add(1, std::memory_order_relaxed);
  return n;
}

thread_local bool free_list::gone = false;
thread_local free_list tls_free;

}  // namespace

mailbox_node* node_pool::acquire() {
  if (free_list::gone) return allocate();
  free_list& f = tls_free;
  if (f.head == nullptr && !f.refill()) return allocate();
  auto* n = static_cast<mailbox_node*>(f.take());
  n->admitted = false;
  // The next node was last written by the thread that released it (a
  // worker, for an io thread that queues remote mail): start moving its
  // lines here while this one is filled.
  if (f.head != nullptr) {
    const auto* next = reinterpret_cast<const char*>(static_cast<mailbox_node*>(f.head));
    for (std::size_t off = 0; off < sizeof(mailbox_node); off += 64) __builtin_prefetch(next + off, 1);
  }
  return n;
}

void node_pool::release(mailbox_node* n) noexcept {
  if (free_list::gone) {
    delete n;
    return;
  }
  free_list& f = tls_free;
  f.put(n);
  if (f.count > thread_cap) f.spill();
}

std::uint64_t node_pool::allocated() noexcept { return allocations.load(std::memory_order_relaxed); }

}  // namespace herald::detail
