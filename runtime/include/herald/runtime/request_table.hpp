#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "herald/result.hpp"
#include "herald/runtime/detail/unique_function.hpp"
#include "herald/runtime/inbound_frame.hpp"
#include "herald/runtime/latency_histogram.hpp"

namespace herald::runtime {

// Completes one ask: the reply frame (kind reply or error_reply), or
// errc::timeout, or errc::node_down. Runs on an io thread; keep it short.
using reply_handler = detail::unique_function<void(result<inbound_frame>)>;

// The asks of one connection that wait for a reply: a fixed array of slots
// (its size is the connection's in-flight limit), so that registering,
// completing and expiring take no lock and allocate nothing. A request id is
// (generation << 20 | slot) and is never 0. Whoever takes a request first
// (reply, deadline sweep, connection loss) runs its handler; the others find
// it gone. Safe for concurrent use.
class request_table {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr unsigned slot_bits = 20;

  // capacity: a power of two, at most 2^20. latency, when given, records
  // the time from add() to complete() of every answered request.
  explicit request_table(std::size_t capacity, latency_histogram* latency = nullptr);
  request_table(const request_table&) = delete;
  request_table& operator=(const request_table&) = delete;
  ~request_table();

  // Registers a request; too_many_inflight when every slot is taken.
  result<std::uint64_t> add(reply_handler handler, clock::time_point deadline);

  // Runs the handler of `id` with r. False when the id is unknown or already
  // taken (a reply after its deadline): the caller counts it as late.
  bool complete(std::uint64_t id, result<inbound_frame> r);

  // Whether `id` is registered and not taken yet (a reply for it would
  // complete it). A snapshot: a deadline may take it right after.
  bool waiting(std::uint64_t id) const noexcept {
    const std::uint64_t index = id & ((std::uint64_t{1} << slot_bits) - 1);
    return id != 0 && index < capacity_ && slots_[index].id.load(std::memory_order_acquire) == id;
  }

  // Takes a request back without running its handler (its frame could not be
  // sent). False when someone else took it first.
  bool cancel(std::uint64_t id);

  // Fails every request whose deadline is at or before now with timeout.
  std::size_t expire(clock::time_point now);

  // Fails every pending request with e (connection lost).
  std::size_t fail_all(const herald::error& e);

  std::size_t pending() const noexcept { return pending_.load(std::memory_order_seq_cst); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct slot {
    std::atomic<std::uint64_t> id{0};
    std::atomic<clock::rep> deadline{0};
    std::uint64_t generation = 0;
    clock::time_point added;
    reply_handler handler;
  };

  // Takes slot s if it still holds id; then runs its handler with r.
  bool take(slot& s, std::uint64_t id, result<inbound_frame>&& r, bool run, bool answered = false);

  // Invariants:
  //  1. A slot index is either in free_ or owned: by add() until it publishes
  //     id (release), then by whoever moves id from its value to 0 (CAS).
  //  2. handler, generation and added are touched only by the slot's owner.
  //  3. pending_ counts slots with a nonzero id (published, not yet taken);
  //     add() raises it seq_cst so that a deadline sweep that goes idle and
  //     re-checks it cannot miss a new request (connection::arm_sweep).
  const std::size_t capacity_;
  latency_histogram* const latency_;
  std::unique_ptr<slot[]> slots_;
  moodycamel::ConcurrentQueue<std::uint32_t> free_;
  std::atomic<std::size_t> pending_{0};
};

}  // namespace herald::runtime
