#pragma once

#include <cstddef>

namespace herald::detail {

// Fixed-size blocks for small objects that are made on one thread and freed
// on another (the reply state of an ask: made by the asker, freed by the io
// thread or the worker that drops the last reference). Blocks come in size
// classes of 64 bytes up to max_size, each cached per thread
// (runtime::detail::thread_cache), so a thread that only allocates and one
// that only frees swap whole batches instead of calling the allocator per
// object. Safe for concurrent use.
class block_pool {
 public:
  static constexpr std::size_t granularity = 64;
  static constexpr std::size_t max_size = 1024;
  static constexpr std::size_t classes = max_size / granularity;
  // Blocks per batch traded with the exchange, and the most a thread keeps
  // per class.
  static constexpr std::size_t batch = 64;
  static constexpr std::size_t thread_cap = 2 * batch;
  // Batches the exchange keeps per class; beyond that, blocks are freed.
  static constexpr std::size_t exchange_cap = 256;

  // A block of at least `size` bytes, aligned for any object; sizes above
  // max_size come from operator new. Throws std::bad_alloc.
  static void* allocate(std::size_t size);
  // Takes back a block allocate(size) returned (the same size).
  static void deallocate(void* p, std::size_t size) noexcept;
  // Blocks ever taken from operator new, process-wide (for tests).
  static std::size_t allocated() noexcept;
};

}  // namespace herald::detail
