#include "herald/runtime/connection.hpp"

namespace herald::runtime {

connection::connection(const settings& s, std::shared_ptr<buffer_pool> pool)
    : settings_(s),
      pool_(std::move(pool)),
      control_ring_(std::make_unique<ring_buffer>(placeholder_ring_capacity)),
      reply_ring_(std::make_unique<ring_buffer>(placeholder_ring_capacity)),
      data_ring_(std::make_unique<ring_buffer>(placeholder_ring_capacity)),
      requests_(std::make_unique<request_table>(1)) {}

connection::~connection() = default;

result<void> connection::claim(ring_buffer& ring, std::size_t size, ring_buffer::reservation& r) {
  auto status = ring.try_claim(size, r);
  if (status == ring_buffer::claim_status::full) {
    counters_.backpressure_events.fetch_add(1, std::memory_order_relaxed);
    if (settings_.policy == backpressure_policy::fail || detail::on_io_thread())
      return herald::error(errc::backpressure, "send ring to " + peer_.node_name + " is full");
    status = ring.claim(size, clock::now() + settings_.backpressure_timeout, r);
    if (status == ring_buffer::claim_status::full)
      return herald::error(errc::backpressure, "send ring to " + peer_.node_name + " still full after " +
                                                   std::to_string(settings_.backpressure_timeout.count()) + " ms");
  }
  if (status == ring_buffer::claim_status::closed) {
    // A claim that lost the race with close left a skip record, which a
    // draining writer waits for (ring_buffer invariant 7): let it look.
    wake_if_idle();
    return herald::error(errc::node_down, "connection to " + peer_.node_name + " is closed");
  }
  return {};
}

herald::error connection::encode_error(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& ex) {
    return herald::error(errc::invalid_argument, std::string("encoding the message failed: ") + ex.what());
  } catch (...) {
    return herald::error(errc::invalid_argument, "encoding the message failed: an exception not derived from std::exception");
  }
}

std::size_t connection::drop_unsent(ring_buffer& ring) {
  std::size_t bytes = 0;
  const std::size_t frames = ring.for_each_committed([&](const ring_buffer::record& rec) {
    if (rec.tag == tag_external || rec.tag == tag_large) {
      auto* payload = std::launder(reinterpret_cast<pooled_buffer*>(rec.data + wire::frame_header::size));
      bytes += payload->size();
      payload->~pooled_buffer();
    }
    return true;
  });
  ring.release_to(ring.scan_position());
  release_pooled(bytes);
  return frames;
}

result<void> connection::reserve_pooled(std::size_t bytes) {
  auto fits = [&](std::uint64_t now) { return now == 0 || now + bytes <= settings_.ring_capacity; };
  std::uint64_t now = pooled_bytes_.load(std::memory_order_relaxed);
  while (fits(now)) {
    if (pooled_bytes_.compare_exchange_weak(now, now + bytes, std::memory_order_acq_rel)) return {};
  }
  counters_.backpressure_events.fetch_add(1, std::memory_order_relaxed);
  auto refused = [&](const char* how) {
    return herald::error(errc::backpressure, "large payloads queued to " + peer_.node_name + " fill the ring's " +
                                                 std::to_string(settings_.ring_capacity) + " bytes" + how);
  };
  if (settings_.policy == backpressure_policy::fail || detail::on_io_thread()) return refused("");
  const auto deadline = clock::now() + settings_.backpressure_timeout;
  std::unique_lock lock(pooled_mutex_);
  pooled_waiters_.fetch_add(1, std::memory_order_seq_cst);
  // Waits for the writer to release payloads (it notifies under the mutex
  // after its seq_cst subtraction, which this side re-reads after
  // announcing itself as a waiter: no release is missed), for the deadline,
  // or for the connection to close (close() notifies).
  for (;;) {
    now = pooled_bytes_.load(std::memory_order_seq_cst);
    if (!is_open()) {
      pooled_waiters_.fetch_sub(1, std::memory_order_seq_cst);
      return herald::error(errc::node_down, "connection to " + peer_.node_name + " is closed");
    }
    if (fits(now)) {
      if (pooled_bytes_.compare_exchange_weak(now, now + bytes, std::memory_order_acq_rel)) break;
      continue;
    }
    if (pooled_cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        !fits(pooled_bytes_.load(std::memory_order_seq_cst))) {
      pooled_waiters_.fetch_sub(1, std::memory_order_seq_cst);
      return refused((" after " + std::to_string(settings_.backpressure_timeout.count()) + " ms").c_str());
    }
  }
  pooled_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return {};
}

void connection::wake_pooled_waiters() noexcept {
  std::lock_guard lock(pooled_mutex_);
  pooled_cv_.notify_all();
}

void connection::release_pooled(std::size_t bytes) noexcept {
  if (bytes == 0) return;
  pooled_bytes_.fetch_sub(bytes, std::memory_order_seq_cst);
  if (pooled_waiters_.load(std::memory_order_seq_cst) != 0) {
    std::lock_guard lock(pooled_mutex_);
    pooled_cv_.notify_all();
  }
}

std::size_t connection::drop_unsent() {
  return drop_unsent(*control_ring_) + drop_unsent(*reply_ring_) + drop_unsent(*data_ring_);
}

void connection::allocate_buffers() {
  control_ring_ = std::make_unique<ring_buffer>(settings_.control_ring_capacity);
  reply_ring_ = std::make_unique<ring_buffer>(settings_.control_ring_capacity);
  data_ring_ = std::make_unique<ring_buffer>(settings_.ring_capacity);
  requests_ = std::make_unique<request_table>(settings_.max_inflight_asks, &counters_.ask_latency);
}

connection_stats connection::stats() const noexcept {
  connection_stats s;
  s.frames_sent = counters_.frames_sent.load(std::memory_order_relaxed);
  s.bytes_sent = counters_.bytes_sent.load(std::memory_order_relaxed);
  s.writev_calls = counters_.writev_calls.load(std::memory_order_relaxed);
  s.frames_received = counters_.frames_received.load(std::memory_order_relaxed);
  s.bytes_received = counters_.bytes_received.load(std::memory_order_relaxed);
  s.backpressure_events = counters_.backpressure_events.load(std::memory_order_relaxed);
  s.late_replies = counters_.late_replies.load(std::memory_order_relaxed);
  s.asks_timed_out = counters_.asks_timed_out.load(std::memory_order_relaxed);
  s.asks_failed_node_down = counters_.asks_failed_node_down.load(std::memory_order_relaxed);
  s.frames_dropped_unsent = counters_.frames_dropped_unsent.load(std::memory_order_relaxed);
  s.credit_stalls = counters_.credit_stalls.load(std::memory_order_relaxed);
  s.credit_violations = counters_.credit_violations.load(std::memory_order_relaxed);
  s.credits_sent = counters_.credits_sent.load(std::memory_order_relaxed);
  s.credits_received = counters_.credits_received.load(std::memory_order_relaxed);
  s.send_window_bytes = counters_.send_window_bytes.load(std::memory_order_relaxed);
  s.send_window_asks = counters_.send_window_asks.load(std::memory_order_relaxed);
  s.send_window_large_bytes = counters_.send_window_large_bytes.load(std::memory_order_relaxed);
  s.large_messages_sent = counters_.large_messages_sent.load(std::memory_order_relaxed);
  s.large_messages_received = counters_.large_messages_received.load(std::memory_order_relaxed);
  s.large_messages_lost = counters_.large_messages_lost.load(std::memory_order_relaxed);
  s.asks_pending = requests_->pending();
  s.ring_used = data_ring_->used();
  s.ring_capacity = data_ring_->capacity();
  s.pooled_payload_bytes = pooled_bytes_.load(std::memory_order_relaxed);
  s.ask_latency = counters_.ask_latency.read();
  return s;
}

}  // namespace herald::runtime
