#include "herald/wire/serializer_pool.hpp"

namespace herald::wire {

serializer_pool::serializer_pool(config cfg) : cfg_(cfg) {}

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

void serializer_pool::on_acquire(bool hit) noexcept {
  (hit ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t now = outstanding_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::uint64_t hw = high_water_.load(std::memory_order_relaxed);
  while (now > hw && !high_water_.compare_exchange_weak(hw, now, std::memory_order_relaxed)) {
  }
}

serializer_pool::builder_lease serializer_pool::builder() {
  std::unique_ptr<flatbuffers::FlatBufferBuilder> b;
  const bool hit = builders_.try_dequeue(b);
  if (!hit) b = std::make_unique<flatbuffers::FlatBufferBuilder>(cfg_.initial_capacity);
  on_acquire(hit);
  return builder_lease(this, std::move(b));
}

serializer_pool::buffer_lease serializer_pool::buffer() {
  std::unique_ptr<std::vector<std::byte>> v;
  const bool hit = buffers_.try_dequeue(v);
  if (!hit) {
    v = std::make_unique<std::vector<std::byte>>();
    v->reserve(cfg_.initial_capacity);
  }
  on_acquire(hit);
  return buffer_lease(this, std::move(v));
}

void serializer_pool::give_back(std::unique_ptr<flatbuffers::FlatBufferBuilder> b) noexcept {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  // GetSize() after use approximates the capacity the builder has grown to.
  const bool too_big = b->GetSize() > cfg_.max_retained_capacity;
  b->Clear();
  if (too_big || builders_.size_approx() >= cfg_.max_idle || !builders_.enqueue(std::move(b)))
    dropped_.fetch_add(1, std::memory_order_relaxed);
}

void serializer_pool::give_back(std::unique_ptr<std::vector<std::byte>> v) noexcept {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  const bool too_big = v->capacity() > cfg_.max_retained_capacity;
  v->clear();
  if (too_big || buffers_.size_approx() >= cfg_.max_idle || !buffers_.enqueue(std::move(v)))
    dropped_.fetch_add(1, std::memory_order_relaxed);
}

serializer_pool::counters serializer_pool::stats() const noexcept {
  counters c;
  c.hits = hits_.load(std::memory_order_relaxed);
  c.misses = misses_.load(std::memory_order_relaxed);
  c.outstanding = outstanding_.load(std::memory_order_relaxed);
  c.high_water = high_water_.load(std::memory_order_relaxed);
  c.dropped = dropped_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace herald::wire
