#include "herald/wire/serializer_pool.hpp"

#include <cstdint>
#include <utility>

namespace herald::wire {

namespace {

// One thread's cache: the pool it works for now (by id, not address: a new
// pool may reuse a dead one's address), this thread's counter slot in that
// pool, and the serializer of each kind it released last. Entries of a
// previous pool are freed, never handed out, when the thread attaches to a
// new one.
//
// The cache is trivially destructible so that reaching it costs no TLS guard;
// a separate reaper, touched once per thread, frees what the cache holds
// when the thread exits.
struct thread_cache {
  std::uint64_t owner;
  void* slot;  // the owner's counter_slot for this thread
  flatbuffers::FlatBufferBuilder* builder;
  std::vector<std::byte>* buffer;
  bool reaper_armed;
};

// initial-exec: one instruction to reach, instead of a call to __tls_get_addr
// (herald is linked into executables, or into shared libraries loaded at start).
[[gnu::tls_model("initial-exec")]] constinit thread_local thread_cache cache{};

struct cache_reaper {
  ~cache_reaper() {
    delete cache.builder;
    delete cache.buffer;
    cache.builder = nullptr;
    cache.buffer = nullptr;
    cache.owner = 0;
  }
};
thread_local cache_reaper reaper;

std::uint64_t next_pool_id() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

serializer_pool::serializer_pool(config cfg) : cfg_(cfg), id_(next_pool_id()) {}

serializer_pool::~serializer_pool() {
  if (cache.owner == id_) {
    delete std::exchange(cache.builder, nullptr);
    delete std::exchange(cache.buffer, nullptr);
    cache.owner = 0;
  }
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

inline serializer_pool::counter_slot& serializer_pool::attach() noexcept {
  if (cache.owner == id_) [[likely]]
    return *static_cast<counter_slot*>(cache.slot);
  return attach_slow();
}

serializer_pool::counter_slot& serializer_pool::attach_slow() noexcept {
  delete std::exchange(cache.builder, nullptr);
  delete std::exchange(cache.buffer, nullptr);
  if (!cache.reaper_armed) {
    cache.reaper_armed = true;
    [[maybe_unused]] volatile auto* armed = &reaper;  // the first odr-use registers its destructor
  }
  cache.owner = id_;
  cache.slot = &shared_;
  for (auto& s : slots_) {
    if (!s.claimed.load(std::memory_order_relaxed) && !s.claimed.exchange(true, std::memory_order_relaxed)) {
      cache.slot = &s;
      break;
    }
  }
  return *static_cast<counter_slot*>(cache.slot);
}

inline void serializer_pool::bump(std::atomic<std::uint64_t>& c, const counter_slot& s) noexcept {
  if (&s == &shared_) {
    c.fetch_add(1, std::memory_order_relaxed);
  } else {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // sole writer
  }
}

void serializer_pool::created() noexcept {
  const std::uint64_t now = live_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::uint64_t hw = high_water_.load(std::memory_order_relaxed);
  while (now > hw && !high_water_.compare_exchange_weak(hw, now, std::memory_order_relaxed)) {
  }
}

void serializer_pool::freed(counter_slot& s) noexcept {
  bump(s.dropped, s);
  live_.fetch_sub(1, std::memory_order_relaxed);
}

serializer_pool::builder_lease serializer_pool::builder() {
  counter_slot& s = attach();
  std::unique_ptr<flatbuffers::FlatBufferBuilder> b(std::exchange(cache.builder, nullptr));
  if (b != nullptr || builders_.try_dequeue(b)) {
    bump(s.hits, s);
  } else {
    b = std::make_unique<flatbuffers::FlatBufferBuilder>(cfg_.initial_capacity);
    bump(s.misses, s);
    created();
  }
  return builder_lease(this, std::move(b));
}

serializer_pool::buffer_lease serializer_pool::buffer() {
  counter_slot& s = attach();
  std::unique_ptr<std::vector<std::byte>> v(std::exchange(cache.buffer, nullptr));
  if (v != nullptr || buffers_.try_dequeue(v)) {
    bump(s.hits, s);
  } else {
    v = std::make_unique<std::vector<std::byte>>();
    v->reserve(cfg_.initial_capacity);
    bump(s.misses, s);
    created();
  }
  return buffer_lease(this, std::move(v));
}

void serializer_pool::give_back(std::unique_ptr<flatbuffers::FlatBufferBuilder> b) noexcept {
  counter_slot& s = attach();
  bump(s.releases, s);
  // GetSize() after use approximates the capacity the builder has grown to.
  if (b->GetSize() > cfg_.max_retained_capacity) return freed(s);
  b->Clear();
  if (cache.builder == nullptr) {
    cache.builder = b.release();
    return;
  }
  if (builders_.size_approx() >= cfg_.max_idle || !builders_.enqueue(std::move(b))) freed(s);
}

void serializer_pool::give_back(std::unique_ptr<std::vector<std::byte>> v) noexcept {
  counter_slot& s = attach();
  bump(s.releases, s);
  if (v->capacity() > cfg_.max_retained_capacity) return freed(s);
  v->clear();
  if (cache.buffer == nullptr) {
    cache.buffer = v.release();
    return;
  }
  if (buffers_.size_approx() >= cfg_.max_idle || !buffers_.enqueue(std::move(v))) freed(s);
}

serializer_pool::counters serializer_pool::stats() const noexcept {
  counters c;
  std::uint64_t releases = 0;
  auto add = [&](const counter_slot& s) {
    c.hits += s.hits.load(std::memory_order_relaxed);
    c.misses += s.misses.load(std::memory_order_relaxed);
    releases += s.releases.load(std::memory_order_relaxed);
    c.dropped += s.dropped.load(std::memory_order_relaxed);
  };
  for (const auto& s : slots_) add(s);
  add(shared_);
  const std::uint64_t acquired = c.hits + c.misses;
  c.outstanding = acquired > releases ? acquired - releases : 0;
  c.high_water = high_water_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace herald::wire
