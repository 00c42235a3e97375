#pragma once

#include <concurrentqueue/concurrentqueue.h>
#include <flatbuffers/flatbuffers.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace herald::wire {

// A pool of serializers (FlatBufferBuilders and byte scratch buffers) that are
// reset and reused, never freed in steady state. Safe for concurrent use: it
// takes no lock. Each thread keeps the serializer it released last in a
// one-entry cache of its own (the common case, acquire and release on one
// thread, touches no shared memory); the rest wait in a moodycamel
// ConcurrentQueue per kind, which also carries serializers from a releasing
// thread to an acquiring one. The pool must outlive every lease it hands out.
// A thread's cached serializer outlives the pool until that thread exits or
// caches for another pool: at most one builder and one buffer per thread.
class serializer_pool {
 public:
  struct config {
    std::size_t max_idle = 1024;              // idle serializers queued per kind (plus one per thread)
    std::size_t initial_capacity = 1024;      // bytes a new serializer reserves
    std::size_t max_retained_capacity = 1u << 20;  // larger ones are freed on release
  };

  // Counters of the pool's life so far. Exact when no lease is changing hands;
  // a snapshot while threads acquire and release.
  struct counters {
    std::uint64_t hits = 0;         // acquisitions served by an idle serializer
    std::uint64_t misses = 0;       // acquisitions that had to create one
    std::uint64_t outstanding = 0;  // leases alive now
    // Most serializers that existed at once, idle or leased: the pool's
    // footprint. An upper bound when threads come and go, because a thread's
    // cached serializer is freed at its exit without the pool's knowledge.
    std::uint64_t high_water = 0;
    std::uint64_t dropped = 0;      // serializers freed on release (too big, or the pool full)
  };

  // A FlatBufferBuilder on loan; goes back to the pool, cleared, when the
  // lease ends. Move-only; confined to one thread at a time.
  class builder_lease {
   public:
    builder_lease() = default;
    builder_lease(builder_lease&& o) noexcept : pool_(o.pool_), b_(std::move(o.b_)) { o.pool_ = nullptr; }
    builder_lease& operator=(builder_lease&& o) noexcept;
    ~builder_lease() { reset(); }

    flatbuffers::FlatBufferBuilder& operator*() const noexcept { return *b_; }
    flatbuffers::FlatBufferBuilder* operator->() const noexcept { return b_.get(); }
    explicit operator bool() const noexcept { return b_ != nullptr; }
    void reset() noexcept;

   private:
    friend class serializer_pool;
    builder_lease(serializer_pool* p, std::unique_ptr<flatbuffers::FlatBufferBuilder> b) noexcept
        : pool_(p), b_(std::move(b)) {}
    serializer_pool* pool_ = nullptr;
    std::unique_ptr<flatbuffers::FlatBufferBuilder> b_;
  };

  // A byte buffer on loan (size 0, capacity kept from earlier use).
  class buffer_lease {
   public:
    buffer_lease() = default;
    buffer_lease(buffer_lease&& o) noexcept : pool_(o.pool_), v_(std::move(o.v_)) { o.pool_ = nullptr; }
    buffer_lease& operator=(buffer_lease&& o) noexcept;
    ~buffer_lease() { reset(); }

    std::vector<std::byte>& operator*() const noexcept { return *v_; }
    std::vector<std::byte>* operator->() const noexcept { return v_.get(); }
    explicit operator bool() const noexcept { return v_ != nullptr; }
    void reset() noexcept;

   private:
    friend class serializer_pool;
    buffer_lease(serializer_pool* p, std::unique_ptr<std::vector<std::byte>> v) noexcept
        : pool_(p), v_(std::move(v)) {}
    serializer_pool* pool_ = nullptr;
    std::unique_ptr<std::vector<std::byte>> v_;
  };

  serializer_pool() : serializer_pool(config{}) {}
  explicit serializer_pool(config cfg);
  ~serializer_pool();
  serializer_pool(const serializer_pool&) = delete;
  serializer_pool& operator=(const serializer_pool&) = delete;

  builder_lease builder();
  buffer_lease buffer();

  counters stats() const noexcept;

 private:
  // The counters of one thread (claimed on its first use of the pool, and
  // then written by that thread alone: plain increments, no locked
  // instruction), or the shared fallback for threads beyond slot_count,
  // written with atomic increments.
  struct alignas(64) counter_slot {
    std::atomic<bool> claimed{false};
    std::atomic<std::uint64_t> hits{0};
    std::atomic<std::uint64_t> misses{0};
    std::atomic<std::uint64_t> releases{0};
    std::atomic<std::uint64_t> dropped{0};
  };
  static constexpr std::size_t slot_count = 64;

  counter_slot& attach() noexcept;
  [[gnu::noinline]] counter_slot& attach_slow() noexcept;
  void bump(std::atomic<std::uint64_t>& c, const counter_slot& s) noexcept;
  void created() noexcept;
  void freed(counter_slot& s) noexcept;
  void give_back(std::unique_ptr<flatbuffers::FlatBufferBuilder> b) noexcept;
  void give_back(std::unique_ptr<std::vector<std::byte>> v) noexcept;

  // Invariants:
  // 1. Every serializer of this pool is in exactly one place: a lease, an
  //    idle queue, or one thread's cache.
  // 2. An idle or cached serializer is cleared (size 0) and holds at most
  //    max_retained_capacity bytes.
  // 3. A claimed slot is written only by the thread that claimed it; a slot
  //    is never unclaimed (a thread that exits leaves its counts behind).
  // 4. live_ counts serializers created minus those the pool freed;
  //    high_water_ >= live_ whenever no miss is in flight. Both change only
  //    on a miss or a drop, never on the fast path.
  // 5. All counters are relaxed: statistics, not synchronisation. The queue
  //    orders a serializer's reuse after its release.
  config cfg_;
  std::uint64_t id_;  // unique in the process: names this pool in threads' caches
  moodycamel::ConcurrentQueue<std::unique_ptr<flatbuffers::FlatBufferBuilder>> builders_;
  moodycamel::ConcurrentQueue<std::unique_ptr<std::vector<std::byte>>> buffers_;
  counter_slot slots_[slot_count];
  counter_slot shared_;
  std::atomic<std::uint64_t> live_{0};
  std::atomic<std::uint64_t> high_water_{0};
};

}  // namespace herald::wire
