#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace herald::runtime {

class buffer_pool;

// A byte buffer on loan from a buffer_pool: goes back to the pool when
// destroyed. Move-only; confined to one thread at a time.
class pooled_buffer {
 public:
  pooled_buffer() noexcept = default;
  pooled_buffer(pooled_buffer&& o) noexcept
      : pool_(o.pool_), data_(o.data_), size_(o.size_), size_class_(o.size_class_) {
    o.pool_ = nullptr;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  pooled_buffer& operator=(pooled_buffer&& o) noexcept;
  pooled_buffer(const pooled_buffer&) = delete;
  pooled_buffer& operator=(const pooled_buffer&) = delete;
  ~pooled_buffer() { reset(); }

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<std::byte> span() const noexcept { return {data_, size_}; }
  explicit operator bool() const noexcept { return data_ != nullptr; }
  void reset() noexcept;

 private:
  friend class buffer_pool;
  pooled_buffer(buffer_pool* p, std::byte* d, std::size_t n, std::uint8_t c) noexcept
      : pool_(p), data_(d), size_(n), size_class_(c) {}

  buffer_pool* pool_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint8_t size_class_ = 0;
};

// Byte buffers in power-of-two size classes (64 B to 1 GiB), reused instead
// of freed so that inbound frames and large outbound payloads cost no
// allocation in steady state. Safe for concurrent use without a lock.
// Buffers of up to thread_cached_size bytes (an inbound tell or ask, copied
// out of the read buffer by an io thread and returned by the worker that ran
// it) are cached per thread, process-wide (detail::thread_cache): each
// thread keeps at most 64 idle buffers of a class, and the exchange at most
// 32 MiB of a class (a link's default flow window: what one stream can have
// in flight, and give back in one burst). Larger ones idle in the pool's own queue per class (a
// moodycamel ConcurrentQueue). Must outlive every buffer it lends.
class buffer_pool {
 public:
  struct stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;           // buffers allocated
    std::uint64_t bytes_allocated = 0;  // total bytes ever allocated
    std::uint64_t outstanding = 0;      // buffers on loan now
  };

  // Each class above thread_cached_size keeps at most max(4,
  // retained_bytes_per_class / class size) idle buffers (max(1, ...) for
  // classes above 1 MiB); more are freed on return.
  explicit buffer_pool(std::size_t retained_bytes_per_class = 8u << 20);
  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;
  ~buffer_pool();

  // A buffer of exactly `size` bytes (capacity rounded up to its class).
  // Precondition: size <= max_size.
  pooled_buffer acquire(std::size_t size);

  stats snapshot() const noexcept;

  static constexpr std::size_t max_size = std::size_t{1} << 30;
  static constexpr std::size_t thread_cached_size = 4096;

 private:
  friend class pooled_buffer;
  static constexpr unsigned min_shift = 6;
  static constexpr unsigned classes = 25;  // 2^6 .. 2^30

  void give_back(std::byte* data, std::uint8_t size_class) noexcept;

  // A buffer is usually acquired on one thread (an io thread reading a
  // frame) and returned on another (the worker that ran the message), so
  // each side's counters sit on a cache line of their own: neither writes a
  // line the other writes per buffer.
  struct size_class {
    moodycamel::ConcurrentQueue<std::byte*> idle{64};
    alignas(64) std::atomic<std::uint64_t> taken{0};  // dequeued from idle; acquiring threads write
    alignas(64) std::atomic<std::uint64_t> kept{0};   // enqueued to idle; returning threads write
    // Idle buffers now, approximately (the two reads are not one snapshot):
    // bounds retention only.
    std::uint64_t idle_approx() const noexcept {
      const std::uint64_t t = taken.load(std::memory_order_relaxed);
      const std::uint64_t k = kept.load(std::memory_order_relaxed);
      return k > t ? k - t : 0;
    }
  };

  // Invariants:
  //  1. Every buffer the pool allocated is either idle in the queue of its
  //     class or owned by exactly one pooled_buffer.
  //  2. Counters are statistics (relaxed), never synchronisation; hits is
  //     the sum of the classes' taken, outstanding is misses + hits - kept -
  //     freed (buffers returned and deleted).
  std::size_t retained_bytes_;
  std::array<size_class, classes> classes_;
  alignas(64) std::atomic<std::uint64_t> misses_{0};  // acquiring threads
  std::atomic<std::uint64_t> bytes_allocated_{0};
  alignas(64) std::atomic<std::uint64_t> freed_{0};  // returning threads
};

inline pooled_buffer& pooled_buffer::operator=(pooled_buffer&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = o.pool_;
    data_ = o.data_;
    size_ = o.size_;
    size_class_ = o.size_class_;
    o.pool_ = nullptr;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

inline void pooled_buffer::reset() noexcept {
  if (data_ != nullptr) pool_->give_back(data_, size_class_);
  pool_ = nullptr;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace herald::runtime
