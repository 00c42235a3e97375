#include "herald/actors/detail/block_pool.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <new>
#include <vector>

namespace herald::detail {
namespace {

struct free_block {
  free_block* next;
};

static_assert(block_pool::granularity % alignof(std::max_align_t) == 0);

std::atomic<std::size_t> blocks_allocated{0};

// Full batches per size class. Guarded by its mutex; touched once per batch.
struct exchange {
  std::mutex mutex;
  std::array<std::vector<free_block*>, block_pool::classes> batches;
};

exchange& the_exchange() {
  static auto* x = new exchange();  // never destroyed (invariant 3)
  return *x;
}

std::size_t class_of(std::size_t size) noexcept { return (size + block_pool::granularity - 1) / block_pool::granularity - 1; }
std::size_t block_size(std::size_t cls) noexcept { return (cls + 1) * block_pool::granularity; }

void free_chain(free_block* b) noexcept {
  while (b != nullptr) {
    free_block* n = b->next;
    ::operator delete(static_cast<void*>(b));
    b = n;
  }
}

struct thread_lists {
  std::array<free_block*, block_pool::classes> head{};
  std::array<std::size_t, block_pool::classes> count{};
  // Set once this thread's lists are destroyed (thread exit): a block freed
  // after that goes straight back to operator delete.
  static thread_local bool gone;

  ~thread_lists() {
    gone = true;
    for (std::size_t c = 0; c < block_pool::classes; ++c) {
      while (count[c] >= block_pool::batch) spill(c);
      free_chain(head[c]);
      head[c] = nullptr;
      count[c] = 0;
    }
  }

  // Hands the newest `batch` blocks of class c to the exchange, or frees them.
  void spill(std::size_t c) noexcept {
    free_block* first = head[c];
    free_block* last = first;
    for (std::size_t i = 1; i < block_pool::batch; ++i) last = last->next;
    head[c] = last->next;
    count[c] -= block_pool::batch;
    last->next = nullptr;
    auto& x = the_exchange();
    {
      std::lock_guard lock(x.mutex);
      auto& v = x.batches[c];
      if (v.size() < block_pool::exchange_cap) {
        try {
          v.push_back(first);
          return;
        } catch (...) {
          // No room to record the batch: free it below.
        }
      }
    }
    free_chain(first);
  }

  // Takes a whole batch of class c from the exchange; false when it has none.
  bool refill(std::size_t c) noexcept {
    auto& x = the_exchange();
    free_block* first = nullptr;
    {
      std::lock_guard lock(x.mutex);
      auto& v = x.batches[c];
      if (v.empty()) return false;
      first = v.back();
      v.pop_back();
    }
    head[c] = first;
    count[c] = block_pool::batch;
    return true;
  }
};

thread_local bool thread_lists::gone = false;
thread_local thread_lists lists_of_thread;

}  // namespace

void* block_pool::allocate(std::size_t size) {
  if (size == 0) size = 1;
  if (size > max_size) return ::operator new(size);
  const std::size_t c = class_of(size);
  if (!thread_lists::gone) {
    thread_lists& l = lists_of_thread;
    if (l.head[c] != nullptr || l.refill(c)) {
      free_block* b = l.head[c];
      l.head[c] = b->next;
      --l.count[c];
      return b;
    }
  }
  blocks_allocated.fetch_add(1, std::memory_order_relaxed);
  return ::operator new(block_size(c));
}

void block_pool::deallocate(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  if (size == 0) size = 1;
  if (size > max_size) {
    ::operator delete(p);
    return;
  }
  const std::size_t c = class_of(size);
  if (thread_lists::gone) {
    ::operator delete(p);
    return;
  }
  thread_lists& l = lists_of_thread;
  auto* b = static_cast<free_block*>(p);
  b->next = l.head[c];
  l.head[c] = b;
  if (++l.count[c] > thread_cap) l.spill(c);
}

std::size_t block_pool::allocated() noexcept { return blocks_allocated.load(std::memory_order_relaxed); }

}  // namespace herald::detail
