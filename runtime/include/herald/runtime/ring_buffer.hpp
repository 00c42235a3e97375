#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>

namespace herald::runtime {

// A bounded multi-producer single-consumer byte ring with claim/commit
// records. A producer claims space for a whole record with one CAS, writes it
// in place, and commits it; the consumer walks the committed prefix in claim
// order and releases the space once it is done with the bytes (for a
// connection: once they are written to the socket). A record is never split
// across the end of the ring: a claim that would straddle it pads the tail
// with a skip record, so a consumer sees every record as one contiguous span.
//
// Thread safety: claim/commit/close are safe from any number of threads;
// for_each_committed/release_to/has_committed belong to one consumer thread.
class ring_buffer {
 public:
  using clock = std::chrono::steady_clock;

  // Records are 8-byte aligned and at least 32 bytes long (a frame header).
  static constexpr std::size_t alignment = 8;
  static constexpr std::size_t min_record = 32;

  // A committed record as the consumer sees it. tag is the producer's 0-3.
  struct record {
    std::byte* data;
    std::uint32_t size;
    std::uint8_t tag;
  };

  // Space a producer owns between claim and commit.
  struct reservation {
    std::byte* data = nullptr;
    std::uint32_t size = 0;
    std::uint64_t position = 0;
  };

  enum class claim_status { claimed, full, closed };

  // capacity: a power of two, at least 4 * min_record.
  explicit ring_buffer(std::size_t capacity);
  ring_buffer(const ring_buffer&) = delete;
  ring_buffer& operator=(const ring_buffer&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }
  // The largest record a claim accepts: half the ring, so that a record
  // padded past the end always fits once the ring drains.
  std::size_t max_record() const noexcept { return capacity_ / 2; }
  // Bytes claimed and not yet released (skip padding included), between 0
  // and capacity(). Any thread; a snapshot that may be stale by the time it
  // returns. release_ is read first (invariant 6), so the difference never
  // goes negative; producers may claim past the release read, hence the clamp.
  std::size_t used() const noexcept {
    const std::uint64_t released = release_.load(std::memory_order_acquire);
    const std::uint64_t reserved = reserve_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(std::min<std::uint64_t>(reserved - released, capacity_));
  }

  // Producer: claims `size` bytes (a multiple of alignment, min_record..max_record)
  // without waiting. full when the ring lacks the space now.
  claim_status try_claim(std::size_t size, reservation& out) noexcept;

  // Producer: like try_claim, but waits for the consumer to release space
  // until `deadline`. Wakes on release or close; never spins.
  claim_status claim(std::size_t size, clock::time_point deadline, reservation& out);

  // Producer: publishes a claimed record. tag (0-3) travels with it to the
  // consumer. Sequentially consistent, so that a producer that commits and
  // then reads the consumer's idle flag cannot miss a consumer that sets the
  // flag and then checks has_committed() (connection's writer wake-up).
  void commit(const reservation& r, std::uint8_t tag = 0) noexcept;

  // Producer: publishes a claimed record as padding the consumer steps over
  // without handing it to f: for a producer that cannot fill what it claimed
  // (its encoder threw). The records behind it flow on.
  void commit_as_skip(const reservation& r) noexcept;

  // Consumer: true when the record at the scan cursor is committed.
  bool has_committed() const noexcept;

  // Consumer: true when the walk has reached every claimed byte: nothing is
  // committed and unwalked, and no producer holds a claim. After close(),
  // once true it stays true (invariant 7): the consumer has seen every record
  // whose claim succeeded.
  bool drained() const noexcept { return scan_ == reserve_.load(std::memory_order_seq_cst); }

  // Consumer: calls f(record) for each committed record from the scan cursor,
  // in claim order, stopping at the first uncommitted one, after max_records,
  // or before a record that would take the walk past max_bytes (the first
  // record is always taken). f returns false to stop after that record.
  // Advances the scan cursor past what it walked; the bytes stay valid until
  // release_to(). Returns the number of records handed to f.
  template <class F>
  std::size_t for_each_committed(F&& f, std::size_t max_bytes = SIZE_MAX, std::size_t max_records = SIZE_MAX);

  // Consumer: for_each_committed, but admit(record) is asked before each
  // record is taken; a record it refuses stays at the scan cursor, unwalked,
  // for a later walk (a connection's writer holding frames the peer's window
  // does not admit yet). f's return value is as for for_each_committed.
  template <class A, class F>
  std::size_t for_each_admitted(A&& admit, F&& f, std::size_t max_bytes = SIZE_MAX);

  // Consumer: the position just past the last walked record.
  std::uint64_t scan_position() const noexcept { return scan_; }

  // Consumer: frees every byte before `position` (a scan_position() value)
  // and wakes producers waiting for space.
  void release_to(std::uint64_t position);

  // Any thread: fails every present and future claim with closed. Committed
  // records stay readable, and so do records claimed before close that their
  // producers commit afterwards (invariant 7).
  void close();
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

 private:
  // A marker describes the record that starts in its 32-byte granule:
  // bit 31 skip, bits 28-29 tag, bits 0-27 size / 8. Zero means uncommitted.
  static constexpr std::uint32_t skip_bit = 1u << 31;
  static constexpr unsigned tag_shift = 28;
  static constexpr std::uint32_t size_mask = (1u << tag_shift) - 1;

  static std::size_t checked_capacity(std::size_t capacity);

  std::atomic<std::uint32_t>& marker_at(std::uint64_t position) const noexcept {
    return markers_[(position & mask_) / min_record];
  }

  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };

  const std::size_t capacity_;
  const std::uint64_t mask_;
  std::unique_ptr<std::byte[], aligned_delete> data_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> markers_;

  // Invariants:
  //  1. release_ <= scan_ <= reserve_ <= release_ + capacity_ (positions grow
  //     forever; offset = position & mask_).
  //  2. Bytes in [release_, reserve_) belong to their claimant until commit,
  //     then to the consumer until release_to() moves release_ past them.
  //     A producer writes only bytes it claimed; the consumer reads only
  //     committed bytes before release_.
  //  3. Every record starts at a multiple of alignment and is at least
  //     min_record long except a tail skip record, which runs to the end of
  //     the ring and is followed by a record at offset 0; so no two live
  //     records share a marker granule. A skip record is either that tail
  //     padding or a whole record its producer gave up (commit_as_skip).
  //  4. A marker is nonzero exactly while its record is committed and not yet
  //     walked: a producer sets it (after writing the record), the consumer
  //     clears it before moving release_ past the record.
  //  5. Records become visible to the consumer in claim order: the walk stops
  //     at the first zero marker.
  //  6. A reader that loads release_ and then reserve_ sees
  //     reserve >= release: the consumer only releases positions it walked,
  //     which were claimed (reserve_ moved past them) before their marker
  //     was published.
  //  7. A claim returns claimed only if its CAS on reserve_ precedes the
  //     store of closed_ (both seq_cst, and the claimer re-reads closed_
  //     after its CAS; one that finds it set publishes its space as a skip
  //     record and returns closed). So a consumer that reads reserve_ after
  //     seeing closed_ covers every successful claim.
  //  8. release_seen_ is a value release_ had, published by a producer that
  //     read it (release/acquire): a producer that loads it and then
  //     reserve_ sees reserve >= it, as for invariant 6, and the space it
  //     shows free is free. A claim that finds the ring full by it reads
  //     release_ itself before it says full.
  alignas(64) std::atomic<std::uint64_t> reserve_{0};  // producers: next free position
  std::atomic<std::uint64_t> release_seen_{0};         // producers: a recent release_ (invariant 8)
  alignas(64) std::atomic<std::uint64_t> release_{0};  // consumer: everything before is free
  std::uint64_t scan_ = 0;                              // consumer only: next record to walk
  alignas(64) std::atomic<bool> closed_{false};
  std::atomic<std::uint32_t> waiters_{0};  // producers blocked in claim()
  std::mutex wait_mutex_;                  // slow path only: producers waiting for space
  std::condition_variable space_;
};

template <class F>
std::size_t ring_buffer::for_each_committed(F&& f, std::size_t max_bytes, std::size_t max_records) {
  std::size_t count = 0;
  std::size_t bytes = 0;
  while (count < max_records) {
    auto& m = marker_at(scan_);
    std::uint32_t v = m.load(std::memory_order_acquire);
    if (v == 0) break;
    const std::uint32_t size = (v & size_mask) * static_cast<std::uint32_t>(alignment);
    if (v & skip_bit) {
      m.store(0, std::memory_order_relaxed);
      scan_ += size;
      continue;
    }
    if (count > 0 && bytes + size > max_bytes) break;
    m.store(0, std::memory_order_relaxed);
    std::byte* p = data_.get() + (scan_ & mask_);
    scan_ += size;
    bytes += size;
    ++count;
    if (!f(record{p, size, static_cast<std::uint8_t>((v >> tag_shift) & 3u)})) break;
  }
  return count;
}

template <class A, class F>
std::size_t ring_buffer::for_each_admitted(A&& admit, F&& f, std::size_t max_bytes) {
  std::size_t count = 0;
  std::size_t bytes = 0;
  for (;;) {
    auto& m = marker_at(scan_);
    std::uint32_t v = m.load(std::memory_order_acquire);
    if (v == 0) break;
    const std::uint32_t size = (v & size_mask) * static_cast<std::uint32_t>(alignment);
    if (v & skip_bit) {
      m.store(0, std::memory_order_relaxed);
      scan_ += size;
      continue;
    }
    if (count > 0 && bytes + size > max_bytes) break;
    const record rec{data_.get() + (scan_ & mask_), size, static_cast<std::uint8_t>((v >> tag_shift) & 3u)};
    if (!admit(rec)) break;
    m.store(0, std::memory_order_relaxed);
    scan_ += size;
    bytes += size;
    ++count;
    if (!f(rec)) break;
  }
  return count;
}

}  // namespace herald::runtime
