#include "herald/wire/serializer_pool.hpp"

#include <cstdint>

namespace herald::wire {

namespace {

// One thread's cache: the serializer of each kind it released last, and the
// pool it belongs to. A cache entry of another pool (possibly destroyed) is
// never handed out; it is freed when this thread caches for a new pool.
// Owners are pool ids, not addresses: a new pool may reuse a dead one's address.
struct thread_cache {
  std::uint64_t builder_owner = 0;
  std::unique_ptr<flatbuffers::FlatBufferBuilder> builder;
  std::uint64_t buffer_owner = 0;
  std::unique_ptr<std::vector<std::byte>> buffer;
};

// initial-exec: one instruction to reach, instead of a call to __tls_get_addr
// (herald is linked into executables, or into shared libraries loaded at start).
[[gnu::tls_model("initial-exec")]] thread_local thread_cache cache;

std::uint64_t next_pool_id() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

serializer_pool::serializer_pool(config cfg) : cfg_(cfg), id_(next_pool_id()) {}

serializer_pool::~serializer_pool() {
  if (cache.builder_owner == id_) cache.builder.reset();
  if (cache.buffer_owner == id_) cache.buffer.reset();
}

serializer_pool::builder_lease& serializer_pool::builder_lease::operator=(builder_lease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = o.pool_;
    b_ = std::move(o.b_);
    o.pool_ = nullptr;
  }
  return *this;
}

void serializer_pool::builder_lease::reset() noexcept {
  if (b_ != nullptr && pool_ != nullptr) pool_->give_back(std::move(b_));
  b_.reset();
  pool_ = nullptr;
}

serializer_pool::buffer_lease& serializer_pool::buffer_lease::operator=(buffer_lease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = o.pool_;
    v_ = std::move(o.v_);
    o.pool_ = nullptr;
  }
  return *this;
}

void serializer_pool::buffer_lease::reset() noexcept {
  if (v_ != nullptr && pool_ != nullptr) pool_->give_back(std::move(v_));
  v_.reset();
  pool_ = nullptr;
}

serializer_pool::shard& serializer_pool::my_shard() noexcept {
  // Threads' caches lie at distinct addresses: a cheap, stable spread.
  const auto a = reinterpret_cast<std::uintptr_t>(&cache);
  return shards_[((a >> 6) ^ (a >> 12)) % shard_count];
}

void serializer_pool::created() noexcept {
  const std::uint64_t now = live_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::uint64_t hw = high_water_.load(std::memory_order_relaxed);
  while (now > hw && !high_water_.compare_exchange_weak(hw, now, std::memory_order_relaxed)) {
  }
}

void serializer_pool::freed(shard& s) noexcept {
  s.dropped.fetch_add(1, std::memory_order_relaxed);
  live_.fetch_sub(1, std::memory_order_relaxed);
}

serializer_pool::builder_lease serializer_pool::builder() {
  shard& s = my_shard();
  std::unique_ptr<flatbuffers::FlatBufferBuilder> b;
  if (cache.builder_owner == id_ && cache.builder != nullptr) {
    b = std::move(cache.builder);
  } else if (!builders_.try_dequeue(b)) {
    b = std::make_unique<flatbuffers::FlatBufferBuilder>(cfg_.initial_capacity);
    s.misses.fetch_add(1, std::memory_order_relaxed);
    created();
    return builder_lease(this, std::move(b));
  }
  s.hits.fetch_add(1, std::memory_order_relaxed);
  return builder_lease(this, std::move(b));
}

serializer_pool::buffer_lease serializer_pool::buffer() {
  shard& s = my_shard();
  std::unique_ptr<std::vector<std::byte>> v;
  if (cache.buffer_owner == id_ && cache.buffer != nullptr) {
    v = std::move(cache.buffer);
  } else if (!buffers_.try_dequeue(v)) {
    v = std::make_unique<std::vector<std::byte>>();
    v->reserve(cfg_.initial_capacity);
    s.misses.fetch_add(1, std::memory_order_relaxed);
    created();
    return buffer_lease(this, std::move(v));
  }
  s.hits.fetch_add(1, std::memory_order_relaxed);
  return buffer_lease(this, std::move(v));
}

void serializer_pool::give_back(std::unique_ptr<flatbuffers::FlatBufferBuilder> b) noexcept {
  shard& s = my_shard();
  s.releases.fetch_add(1, std::memory_order_relaxed);
  // GetSize() after use approximates the capacity the builder has grown to.
  if (b->GetSize() > cfg_.max_retained_capacity) return freed(s);
  b->Clear();
  if (cache.builder == nullptr || cache.builder_owner != id_) {
    cache.builder = std::move(b);  // frees another pool's entry, if any
    cache.builder_owner = id_;
    return;
  }
  if (builders_.size_approx() >= cfg_.max_idle || !builders_.enqueue(std::move(b))) freed(s);
}

void serializer_pool::give_back(std::unique_ptr<std::vector<std::byte>> v) noexcept {
  shard& s = my_shard();
  s.releases.fetch_add(1, std::memory_order_relaxed);
  if (v->capacity() > cfg_.max_retained_capacity) return freed(s);
  v->clear();
  if (cache.buffer == nullptr || cache.buffer_owner != id_) {
    cache.buffer = std::move(v);
    cache.buffer_owner = id_;
    return;
  }
  if (buffers_.size_approx() >= cfg_.max_idle || !buffers_.enqueue(std::move(v))) freed(s);
}

serializer_pool::counters serializer_pool::stats() const noexcept {
  counters c;
  std::uint64_t releases = 0;
  for (const auto& s : shards_) {
    c.hits += s.hits.load(std::memory_order_relaxed);
    c.misses += s.misses.load(std::memory_order_relaxed);
    releases += s.releases.load(std::memory_order_relaxed);
    c.dropped += s.dropped.load(std::memory_order_relaxed);
  }
  const std::uint64_t acquired = c.hits + c.misses;
  c.outstanding = acquired > releases ? acquired - releases : 0;
  c.high_water = high_water_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace herald::wire
