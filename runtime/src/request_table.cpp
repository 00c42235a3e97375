#include "herald/runtime/request_table.hpp"

#include <stdexcept>
#include <string>

namespace herald::runtime {

request_table::request_table(std::size_t capacity, latency_histogram* latency)
    : capacity_(capacity), latency_(latency), slots_(new slot[capacity]), free_(capacity) {
  if (capacity == 0 || (capacity & (capacity - 1)) != 0 || capacity > (std::size_t{1} << slot_bits))
    throw std::invalid_argument("request_table capacity must be a power of two up to 2^20");
  for (std::uint32_t i = 0; i < capacity; ++i) free_.enqueue(i);
}

request_table::~request_table() { fail_all(herald::error(errc::system_shutdown, "connection destroyed")); }

result<std::uint64_t> request_table::add(reply_handler handler, clock::time_point deadline) {
  std::uint32_t index = 0;
  if (!free_.try_dequeue(index))
    return herald::error(errc::too_many_inflight,
                         "more than " + std::to_string(capacity_) + " asks in flight on one connection");
  slot& s = slots_[index];
  ++s.generation;
  const std::uint64_t id = (s.generation << slot_bits) | index;
  s.handler = std::move(handler);
  if (latency_) s.added = clock::now();
  s.deadline.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  pending_.fetch_add(1, std::memory_order_seq_cst);
  s.id.store(id, std::memory_order_release);
  return id;
}

bool request_table::take(slot& s, std::uint64_t id, result<inbound_frame>&& r, bool run, bool answered) {
  std::uint64_t expected = id;
  if (id == 0 || !s.id.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return false;
  if (answered && latency_) latency_->record(clock::now() - s.added);
  reply_handler h = std::move(s.handler);
  pending_.fetch_sub(1, std::memory_order_acq_rel);
  free_.enqueue(static_cast<std::uint32_t>(&s - slots_.get()));
  if (run && h) h(std::move(r));
  return true;
}

bool request_table::complete(std::uint64_t id, result<inbound_frame> r) {
  const std::uint64_t index = id & ((std::uint64_t{1} << slot_bits) - 1);
  if (index >= capacity_) return false;
  return take(slots_[index], id, std::move(r), true, true);
}

bool request_table::cancel(std::uint64_t id) {
  const std::uint64_t index = id & ((std::uint64_t{1} << slot_bits) - 1);
  if (index >= capacity_) return false;
  return take(slots_[index], id, herald::error(errc::broken_promise), false);
}

std::size_t request_table::expire(clock::time_point now) {
  std::size_t n = 0;
  const auto now_rep = now.time_since_epoch().count();
  for (std::size_t i = 0; i < capacity_ && pending_.load(std::memory_order_relaxed) != 0; ++i) {
    slot& s = slots_[i];
    const std::uint64_t id = s.id.load(std::memory_order_acquire);
    if (id == 0 || s.deadline.load(std::memory_order_relaxed) > now_rep) continue;
    if (take(s, id, herald::error(errc::timeout, "no reply before the deadline"), true)) ++n;
  }
  return n;
}

std::size_t request_table::fail_all(const herald::error& e) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < capacity_ && pending_.load(std::memory_order_relaxed) != 0; ++i) {
    slot& s = slots_[i];
    const std::uint64_t id = s.id.load(std::memory_order_acquire);
    if (id != 0 && take(s, id, herald::error(e), true)) ++n;
  }
  return n;
}

}  // namespace herald::runtime
