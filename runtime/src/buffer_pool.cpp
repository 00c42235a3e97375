#include "herald/runtime/buffer_pool.hpp"

#include <algorithm>
#include <bit>
#include <cassert>

#include "herald/runtime/detail/thread_cache.hpp"

namespace herald::runtime {
namespace {

constexpr std::size_t smallest_class = 64;

// The exchange holds up to 32 MiB of a class: a link's default flow window
// (node_config::flow_window_bytes) of small frames can be in flight at once
// and comes back in bursts; at 4 MiB a 1 KiB stream freed and reallocated
// 0.2 buffers a message (bench/RESULTS.md, "Receive buffers cached per thread").
template <std::size_t Class>
struct class_policy {
  static constexpr std::size_t block_bytes = smallest_class << Class;
  static constexpr std::size_t batch = 32;
  static constexpr std::size_t thread_cap = 2 * batch;
  static constexpr std::size_t exchange_cap = std::max<std::size_t>(4, (std::size_t{32} << 20) / block_bytes / batch);
  static void destroy(void* p) noexcept { delete[] static_cast<std::byte*>(p); }
};

constexpr std::size_t cached_classes =
    std::countr_zero(buffer_pool::thread_cached_size) - std::countr_zero(smallest_class) + 1;
using caches = detail::class_caches<class_policy, cached_classes>;

}  // namespace

buffer_pool::buffer_pool(std::size_t retained_bytes_per_class) : retained_bytes_(retained_bytes_per_class) {}

buffer_pool::~buffer_pool() {
  for (auto& c : classes_) {
    std::byte* p = nullptr;
    while (c.idle.try_dequeue(p)) delete[] p;
  }
}

pooled_buffer buffer_pool::acquire(std::size_t size) {
  assert(size <= max_size);
  const std::size_t rounded = std::max<std::size_t>(std::bit_ceil(std::max<std::size_t>(size, 1)), std::size_t{1} << min_shift);
  const auto cls = static_cast<std::uint8_t>(std::countr_zero(rounded) - min_shift);
  auto& c = classes_[cls];
  std::byte* p = nullptr;
  if (cls < cached_classes ? (p = static_cast<std::byte*>(caches::take(cls))) != nullptr : c.idle.try_dequeue(p)) {
    c.taken.fetch_add(1, std::memory_order_relaxed);
  } else {
    p = new std::byte[rounded];
    misses_.fetch_add(1, std::memory_order_relaxed);
    bytes_allocated_.fetch_add(rounded, std::memory_order_relaxed);
  }
  return pooled_buffer(this, p, size, cls);
}

void buffer_pool::give_back(std::byte* data, std::uint8_t cls) noexcept {
  auto& c = classes_[cls];
  if (cls < cached_classes) {
    c.kept.fetch_add(1, std::memory_order_relaxed);
    caches::give(cls, data);
    return;
  }
  const std::size_t class_bytes = std::size_t{1} << (cls + min_shift);
  // Small classes keep a few buffers whatever the budget; a class above
  // 1 MiB keeps one (the next large message of that size reuses it), so
  // that idle large buffers cost at most one per class.
  const std::size_t floor = class_bytes <= (std::size_t{1} << 20) ? 4 : 1;
  const std::size_t keep = std::max<std::size_t>(floor, retained_bytes_ / class_bytes);
  if (c.idle_approx() < keep && c.idle.enqueue(data)) {
    c.kept.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  freed_.fetch_add(1, std::memory_order_relaxed);
  delete[] data;
}

buffer_pool::stats buffer_pool::snapshot() const noexcept {
  // The returns first: a buffer returned was acquired before, so counts
  // read after it include its acquisition (outstanding does not go
  // negative; the clamp covers the relaxed reads' reordering).
  std::uint64_t returned = freed_.load(std::memory_order_relaxed);
  for (const auto& c : classes_) returned += c.kept.load(std::memory_order_relaxed);
  stats s;
  s.misses = misses_.load(std::memory_order_relaxed);
  s.bytes_allocated = bytes_allocated_.load(std::memory_order_relaxed);
  for (const auto& c : classes_) s.hits += c.taken.load(std::memory_order_relaxed);
  const std::uint64_t acquired = s.hits + s.misses;
  s.outstanding = acquired > returned ? acquired - returned : 0;
  return s;
}

}  // namespace herald::runtime
