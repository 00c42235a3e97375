#include "herald/runtime/ring_buffer.hpp"

#include <stdexcept>

namespace herald::runtime {

namespace {
bool is_power_of_two(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }
}  // namespace

std::size_t ring_buffer::checked_capacity(std::size_t capacity) {
  // A misconfigured capacity is a programming error caught at startup, not a
  // peer's doing, hence an exception at construction only.
  if (!is_power_of_two(capacity) || capacity < 4 * min_record || capacity > (std::size_t{size_mask} * alignment))
    throw std::invalid_argument("ring_buffer capacity must be a power of two between 128 B and 1 GiB");
  return capacity;
}

ring_buffer::ring_buffer(std::size_t capacity)
    : capacity_(checked_capacity(capacity)),
      mask_(capacity - 1),
      data_(static_cast<std::byte*>(::operator new[](capacity, std::align_val_t{64}))),
      markers_(new std::atomic<std::uint32_t>[capacity / min_record]) {
  for (std::size_t i = 0; i < capacity / min_record; ++i) markers_[i].store(0, std::memory_order_relaxed);
}

ring_buffer::claim_status ring_buffer::try_claim(std::size_t size, reservation& out) noexcept {
  assert(size % alignment == 0 && size >= min_record && size <= max_record());
  if (closed_.load(std::memory_order_acquire)) return claim_status::closed;
  // Bytes a claim at position r takes: the record, plus the ring's tail as a
  // skip when the record would not fit before the wrap.
  const auto need_at = [&](std::uint64_t r) -> std::uint64_t {
    const std::uint64_t offset = r & mask_;
    return offset + size > capacity_ ? (capacity_ - offset) + size : size;
  };
  std::uint64_t r = 0;
  std::uint64_t need = 0;
  for (;;) {
    // A recent release_ first (invariant 8): the producers' own cache line,
    // so a claim that fits does not take the consumer's line.
    std::uint64_t released = release_seen_.load(std::memory_order_acquire);
    r = reserve_.load(std::memory_order_acquire);
    need = need_at(r);
    if (r + need - released > capacity_) {
      // release_ first, then reserve_ (invariant 6): r >= released, so
      // r + need - released is the true fill after this claim. The other
      // order lets the consumer release past a stale r, and the difference
      // wraps to a huge value: a spurious full on a nearly empty ring.
      // seq_cst pairs with release_to(): a claimer that registered as a
      // waiter either sees the new release_ or is seen by the consumer.
      released = release_.load(std::memory_order_seq_cst);
      release_seen_.store(released, std::memory_order_release);
      r = reserve_.load(std::memory_order_acquire);
      need = need_at(r);
      if (r + need - released > capacity_) {
        // Full only if the release position read is still current: a
        // claimer preempted between the two loads may hold a stale one
        // while the consumer freed most of the ring.
        if (release_.load(std::memory_order_seq_cst) != released) continue;
        return claim_status::full;
      }
    }
    if (reserve_.compare_exchange_weak(r, r + need, std::memory_order_seq_cst, std::memory_order_relaxed)) break;
  }
  std::uint64_t start = r;
  if (need != size) {
    // Pad the tail; the record itself starts at offset 0.
    const auto pad = static_cast<std::uint32_t>(capacity_ - (r & mask_));
    marker_at(r).store(skip_bit | static_cast<std::uint32_t>(pad / alignment), std::memory_order_release);
    start = r + pad;
  }
  if (closed_.load(std::memory_order_seq_cst)) {
    // Lost the race with close() (invariant 7): give the space back as a skip.
    marker_at(start).store(skip_bit | static_cast<std::uint32_t>(size / alignment), std::memory_order_seq_cst);
    return claim_status::closed;
  }
  out.data = data_.get() + (start & mask_);
  out.size = static_cast<std::uint32_t>(size);
  out.position = start;
  return claim_status::claimed;
}

ring_buffer::claim_status ring_buffer::claim(std::size_t size, clock::time_point deadline, reservation& out) {
  if (auto s = try_claim(size, out); s != claim_status::full) return s;
  std::unique_lock lock(wait_mutex_);
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  claim_status s;
  for (;;) {
    s = try_claim(size, out);
    if (s != claim_status::full) break;
    if (space_.wait_until(lock, deadline) == std::cv_status::timeout) {
      s = try_claim(size, out);
      break;
    }
  }
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  return s;
}

void ring_buffer::commit(const reservation& r, std::uint8_t tag) noexcept {
  assert(tag <= 3);
  const std::uint32_t v = static_cast<std::uint32_t>(r.size / alignment) | (std::uint32_t{tag} << tag_shift);
  marker_at(r.position).store(v, std::memory_order_seq_cst);
}

void ring_buffer::commit_as_skip(const reservation& r) noexcept {
  marker_at(r.position).store(skip_bit | static_cast<std::uint32_t>(r.size / alignment), std::memory_order_seq_cst);
}

bool ring_buffer::has_committed() const noexcept {
  return marker_at(scan_).load(std::memory_order_seq_cst) != 0;
}

void ring_buffer::release_to(std::uint64_t position) {
  assert(position <= scan_);
  release_.store(position, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) {
    std::lock_guard lock(wait_mutex_);
    space_.notify_all();
  }
}

void ring_buffer::close() {
  closed_.store(true, std::memory_order_seq_cst);
  std::lock_guard lock(wait_mutex_);
  space_.notify_all();
}

}  // namespace herald::runtime
