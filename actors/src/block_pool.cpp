#include "herald/actors/detail/block_pool.hpp"

#include <atomic>
#include <new>

#include "herald/runtime/detail/thread_cache.hpp"

namespace herald::detail {
namespace {

static_assert(block_pool::granularity % alignof(std::max_align_t) == 0);

std::atomic<std::size_t> blocks_allocated{0};

std::size_t class_of(std::size_t size) noexcept { return (size + block_pool::granularity - 1) / block_pool::granularity - 1; }
constexpr std::size_t block_size(std::size_t cls) noexcept { return (cls + 1) * block_pool::granularity; }

template <std::size_t Class>
struct class_policy {
  static constexpr std::size_t batch = block_pool::batch;
  static constexpr std::size_t thread_cap = block_pool::thread_cap;
  static constexpr std::size_t exchange_cap = block_pool::exchange_cap;
  static constexpr std::size_t block_bytes = block_size(Class);
  static void destroy(void* p) noexcept { ::operator delete(p); }
};

using caches = runtime::detail::class_caches<class_policy, block_pool::classes>;

}  // namespace

void* block_pool::allocate(std::size_t size) {
  if (size == 0) size = 1;
  if (size > max_size) return ::operator new(size);
  const std::size_t c = class_of(size);
  if (void* p = caches::take(c)) return p;
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
  caches::give(class_of(size), p);
}

std::size_t block_pool::allocated() noexcept { return blocks_allocated.load(std::memory_order_relaxed); }

}  // namespace herald::detail
