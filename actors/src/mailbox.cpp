#include "herald/actors/detail/mailbox.hpp"

#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>
#include <cassert>
#include <new>

namespace herald::detail {
namespace {

// node_pool::batch free nodes, as an array of pointers: a thread that takes
// nodes from it can start moving the cache lines of the ones it will take a
// few takes ahead, which a chain through the nodes' links would not tell it
// without a miss per node.
struct node_batch {
  mailbox_node* nodes[node_pool::batch];
};

// Full batches of free nodes, and empty ones to fill. Never destroyed:
// threads that exit after static destruction (a detached one, a late worker)
// still return their nodes to them safely.
moodycamel::ConcurrentQueue<node_batch*>& exchange() {
  static auto* q = new moodycamel::ConcurrentQueue<node_batch*>(node_pool::exchange_cap);
  return *q;
}
moodycamel::ConcurrentQueue<node_batch*>& empty_batches() {
  static auto* q = new moodycamel::ConcurrentQueue<node_batch*>(64);
  return *q;
}

// Takes after which a node taken from the list is first used: take() starts
// moving that one's lines here (a node refilled from the exchange was last
// written by the thread that released it, a worker for an io thread that
// queues remote mail), so that their misses overlap instead of queueing.
constexpr std::size_t prefetch_distance = 8;

void prefetch_node(const mailbox_node* n) noexcept {
  const auto* p = reinterpret_cast<const char*>(n);
  for (std::size_t off = 0; off < sizeof(mailbox_node); off += 64) __builtin_prefetch(p + off, 1);
}

// A thread's free nodes, a stack of pointers (only this thread touches it;
// a node released is not written).
struct free_list {
  mailbox_node* nodes[node_pool::thread_cap + 1];
  std::size_t count = 0;
  // Set when the thread's list has been destroyed (thread exit): a node
  // released after that (a static actor_system torn down late) is freed.
  static thread_local bool gone;

  ~free_list() {
    gone = true;
    while (count >= node_pool::batch) spill();
    while (count > 0) delete nodes[--count];
  }
  mailbox_node* take() noexcept {
    mailbox_node* n = nodes[--count];
    if (count >= prefetch_distance) prefetch_node(nodes[count - prefetch_distance]);
    return n;
  }
  void put(mailbox_node* n) noexcept { nodes[count++] = n; }
  // Hands the oldest `batch` nodes (the coldest here) to the exchange, or
  // frees them if it is full.
  void spill() noexcept {
    node_batch* b = batch_block();
    if (b == nullptr) {
      for (std::size_t i = 0; i < node_pool::batch; ++i) delete nodes[i];
    } else {
      std::copy(nodes, nodes + node_pool::batch, b->nodes);
      if (!exchange().enqueue(b)) {
        for (auto* n : b->nodes) delete n;
        recycle(b);
      }
    }
    count -= node_pool::batch;
    std::copy(nodes + node_pool::batch, nodes + node_pool::batch + count, nodes);
  }
  // A block to hand a batch to the exchange in; none when the exchange is
  // full or no block can be had (the nodes are freed instead).
  static node_batch* batch_block() noexcept {
    if (exchange().size_approx() >= node_pool::exchange_cap) return nullptr;
    node_batch* b = nullptr;
    if (empty_batches().try_dequeue(b)) return b;
    return new (std::nothrow) node_batch;
  }
  static void recycle(node_batch* b) noexcept {
    if (!empty_batches().enqueue(b)) delete b;
  }
  // Takes a whole batch from the exchange as this thread's list (which is
  // empty); false when it has none.
  bool refill() noexcept {
    assert(count == 0);
    node_batch* b = nullptr;
    if (!exchange().try_dequeue(b)) return false;
    std::copy(b->nodes, b->nodes + node_pool::batch, nodes);
    count = node_pool::batch;
    recycle(b);
    for (std::size_t i = 1; i <= prefetch_distance; ++i) prefetch_node(nodes[count - i]);
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
  if (f.count == 0 && !f.refill()) return allocate();
  mailbox_node* n = f.take();
  n->admitted = false;
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
