// The messages and actors of herald-bench: what crosses the wire in each
// scenario and the handlers that count and check it.
//
//   pod64  a trivially copyable struct of 64 bytes: copied as bytes by its
//          codec, decoded without touching the heap (the POD path).
//   blob   a herald::wire::bytes of any size: a u32 count and the bytes on
//          the wire (std::vector<std::byte>'s encoding), read by the handler
//          where it arrived (no copy, no allocation); payloads above
//          node_config::large_payload_threshold (64 KiB) take the
//          transport's pooled large-payload path.
//
// Every payload is filled with fill_byte and ends with last_byte; handlers
// check the size and the last byte of each message, as the peers do. A tell
// also carries its sender's sequence number (1, 2, ...) in its first 8 bytes
// (pod64, and blobs of 16 bytes or more): the sink counts gaps, duplicates
// and reorders.
//
// Thread safety: the counters are written by the one actor that owns them
// (handlers of one actor never overlap) and read by the measuring thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "herald/herald.hpp"

namespace herald::bench {

inline constexpr std::byte fill_byte{0x5a};
inline constexpr std::byte last_byte{0xa5};
inline constexpr std::size_t pod_size = 64;

struct pod64 {
  static constexpr std::string_view wire_name = "herald.bench.pod64";
  std::array<std::byte, pod_size> bytes;
};

struct blob {
  static constexpr std::string_view wire_name = "herald.bench.blob";
  herald::wire::bytes bytes;
  auto fields() { return std::tie(bytes); }
};

inline pod64 make_pod() {
  pod64 m;
  m.bytes.fill(fill_byte);
  m.bytes.back() = last_byte;
  return m;
}

inline blob make_blob(std::size_t size) {
  std::vector<std::byte> v(size, fill_byte);
  if (size > 0) v.back() = last_byte;
  return blob{herald::wire::bytes(std::move(v))};
}

// Blobs shorter than this carry no sequence number.
inline constexpr std::size_t min_sequenced_blob = 16;

inline void stamp(pod64& m, std::uint64_t seq) { std::memcpy(m.bytes.data(), &seq, sizeof seq); }
inline void stamp(blob& m, std::uint64_t seq) {
  if (m.bytes.size() >= min_sequenced_blob) std::memcpy(m.bytes.writable().data(), &seq, sizeof seq);
}
// The sequence number of a message; 0 when it carries none.
inline std::uint64_t sequence_of(const pod64& m) {
  std::uint64_t seq;
  std::memcpy(&seq, m.bytes.data(), sizeof seq);
  return seq;
}
inline std::uint64_t sequence_of(const blob& m) {
  if (m.bytes.size() < min_sequenced_blob) return 0;
  std::uint64_t seq;
  std::memcpy(&seq, m.bytes.data(), sizeof seq);
  return seq;
}

inline bool well_formed(const pod64& m) { return m.bytes.back() == last_byte; }
inline bool well_formed(const blob& m, std::size_t size) {
  return m.bytes.size() == size && (size == 0 || m.bytes[size - 1] == last_byte);
}

// One receiver's count, on its own cache line.
struct alignas(64) handler_count {
  std::atomic<std::uint64_t> n{0};
};

// What the receiving handlers report to the measuring thread.
struct tell_counters {
  explicit tell_counters(std::size_t receivers, std::size_t size)
      : counts(std::make_unique<handler_count[]>(receivers)), receivers(receivers), size(size) {}

  std::uint64_t total() const noexcept {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < receivers; ++i) sum += counts[i].n.load(std::memory_order_relaxed);
    return sum;
  }

  std::unique_ptr<handler_count[]> counts;
  std::size_t receivers;
  std::size_t size;                   // expected payload bytes per message
  std::atomic<std::uint64_t> bad{0};  // messages of the wrong size or content
  // Sequence checks, summed over the sinks: messages missing (a later one
  // arrived first and they have not come since), arrived twice, or arrived
  // after a later one.
  std::atomic<std::uint64_t> missing{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> reorders{0};
};

// One sender's sequence as one sink sees it. Confined to that sink.
class sequence_check {
 public:
  void saw(std::uint64_t seq, tell_counters& c) {
    if (seq == 0) return;
    if (seq == next_) {
      ++next_;
    } else if (seq > next_) {
      // Remember what is missing (up to a bound: past it, a gap is counted
      // but a late arrival of it would read as a duplicate).
      for (std::uint64_t s = next_; s < seq && missing_.size() < max_tracked; ++s) missing_.insert(s);
      c.missing.fetch_add(seq - next_, std::memory_order_relaxed);
      next_ = seq + 1;
    } else if (missing_.erase(seq) != 0) {
      c.missing.fetch_sub(1, std::memory_order_relaxed);
      c.reorders.fetch_add(1, std::memory_order_relaxed);
    } else {
      c.duplicates.fetch_add(1, std::memory_order_relaxed);
    }
  }

 private:
  static constexpr std::size_t max_tracked = 1u << 20;
  std::uint64_t next_ = 1;
  std::unordered_set<std::uint64_t> missing_;
};

// Counts and checks the tells of one sender. Single writer of counts[index].
class sink : public actor<sink> {
 public:
  using messages = herald::messages<pod64, blob>;

  sink(tell_counters* c, std::size_t index) : c_(c), slot_(&c->counts[index].n) {}

  void on(const pod64& m) {
    if (c_->size != pod_size || !well_formed(m)) c_->bad.fetch_add(1, std::memory_order_relaxed);
    seq_.saw(sequence_of(m), *c_);
    slot_->store(++n_, std::memory_order_relaxed);
  }
  void on(const blob& m) {
    if (!well_formed(m, c_->size)) c_->bad.fetch_add(1, std::memory_order_relaxed);
    seq_.saw(sequence_of(m), *c_);
    slot_->store(++n_, std::memory_order_relaxed);
  }

 private:
  tell_counters* c_;
  sequence_check seq_;
  std::atomic<std::uint64_t>* slot_;
  std::uint64_t n_ = 0;
};

// Answers every request with the message it got (the peers' echo server).
class echo : public actor<echo> {
 public:
  using messages = herald::messages<pod64, blob>;

  explicit echo(std::atomic<std::uint64_t>* served) : served_(served) {}

  pod64 on(const pod64& m) {
    served_->store(++n_, std::memory_order_relaxed);
    return m;
  }
  blob on(const blob& m) {
    served_->store(++n_, std::memory_order_relaxed);
    return m;
  }

 private:
  std::atomic<std::uint64_t>* served_;
  std::uint64_t n_ = 0;
};

// Local scenarios: one std::uint64_t, as CAF's local peer sends.
struct local_tick {
  std::uint64_t n;
};

class local_sink : public actor<local_sink> {
 public:
  explicit local_sink(std::atomic<std::uint64_t>* received) : received_(received) {}
  void on(const local_tick&) { received_->store(++n_, std::memory_order_relaxed); }
  std::uint64_t on(const std::uint64_t& v) { return v + 1; }

 private:
  std::atomic<std::uint64_t>* received_;
  std::uint64_t n_ = 0;
};

}  // namespace herald::bench
