#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>

#include "herald/result.hpp"
#include "herald/runtime/buffer_pool.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/runtime/latency_histogram.hpp"
#include "herald/runtime/node_config.hpp"
#include "herald/runtime/request_table.hpp"
#include "herald/runtime/ring_buffer.hpp"
#include "herald/wire/frame.hpp"

namespace herald::runtime {

namespace detail {
// True on the node's io threads. A send from an io thread never blocks on a
// full ring (the writer that would free it may be that very thread): it
// fails with backpressure at once, whatever the policy.
inline bool& on_io_thread() noexcept {
  thread_local bool flag = false;
  return flag;
}
}  // namespace detail

// A snapshot of one connection's counters.
struct connection_stats {
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t writev_calls = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t backpressure_events = 0;  // sends that found the ring full
  std::uint64_t late_replies = 0;         // replies dropped: their ask had timed out or was unknown
  std::uint64_t asks_timed_out = 0;
  std::uint64_t asks_failed_node_down = 0;
  // Frames whose send returned ok and that the connection discarded without
  // writing them whole to the stream: a link lost (stream error, drain
  // timeout) with frames still in its rings. A deliberate close drains first.
  std::uint64_t frames_dropped_unsent = 0;
  std::size_t asks_pending = 0;
  std::size_t ring_used = 0;  // bytes of the data ring not yet written
  std::size_t ring_capacity = 0;  // bytes of the data ring
  // Payloads above the large-payload threshold wait in pooled buffers, not
  // in the ring: their bytes, bounded by ring_capacity (one payload larger
  // than that is admitted alone).
  std::size_t pooled_payload_bytes = 0;
  // Time from sending an ask to its reply (or error reply), for the asks
  // answered on this link.
  latency_histogram::snapshot ask_latency;
  // Flow control (PROTOCOL.md §6.2).
  std::uint64_t credit_stalls = 0;      // the writer stopped at a data frame the peer's window did not admit
  std::uint64_t credit_violations = 0;  // the peer sent beyond the window this side granted (link closed)
  std::uint64_t credits_sent = 0;       // credit frames written
  std::uint64_t credits_received = 0;
  std::uint64_t send_window_bytes = 0;  // what the peer's window still admits now
  std::uint64_t send_window_asks = 0;
  std::uint64_t send_window_large_bytes = 0;
  // Large messages (PROTOCOL.md §6.3): sent in fragments, received whole,
  // and lost with the link (started and not finished when it closed, in
  // either direction; a sender also counts them in frames_dropped_unsent).
  std::uint64_t large_messages_sent = 0;
  std::uint64_t large_messages_received = 0;
  std::uint64_t large_messages_lost = 0;

  double frames_per_writev() const noexcept {
    return writev_calls == 0 ? 0.0 : static_cast<double>(frames_sent) / static_cast<double>(writev_calls);
  }
};

// One authenticated link to a peer node, over TCP, a Unix socket or the
// in-process transport. Senders serialize frames straight into its ring;
// a writer on the connection's io thread sends every committed frame with
// one vectored write; a reader hands each received frame to the frame_sink.
// Safe for concurrent use: any number of threads may send and ask at once.
class connection : public std::enable_shared_from_this<connection> {
 public:
  using clock = std::chrono::steady_clock;

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  virtual ~connection();

  // Sends one frame: h with payload_length set to payload_size, its payload
  // written in place by write_payload(std::span<std::byte>) (exactly
  // payload_size bytes). Payloads above the large-payload threshold are
  // written into a pooled buffer and sent from there without a copy; a tell,
  // ask or reply above node_config::fragment_size is sent from there as
  // fragments interleaved with the link's other frames (PROTOCOL.md §6.3).
  // Frames with frame_flags::control_lane go through the control ring, which
  // the writer drains first. Errors: message_too_large (a tell, ask or reply
  // above max_message_size), frame_too_large (any other frame above
  // max_frame_size), backpressure (policy),
  // node_down (connection closed), invalid_argument (write_payload threw:
  // the exception's what() is in the context; the space it claimed is
  // skipped, and frames behind it flow on).
  template <class F>
  result<void> send(const wire::frame_header& h, std::size_t payload_size, F&& write_payload);

  // send() with a payload that already exists.
  result<void> send_bytes(const wire::frame_header& h, std::span<const std::byte> payload) {
    return send(h, payload.size(), [&](std::span<std::byte> out) {
      if (!payload.empty()) std::memcpy(out.data(), payload.data(), payload.size());
    });
  }

  // Sends an ask: allocates a request id (written into the frame), registers
  // on_reply and the deadline, then sends. On success, on_reply runs exactly
  // once: with the reply frame, errc::timeout at the deadline, or
  // errc::node_down when the connection is lost. On error (send's errors,
  // too_many_inflight) it never runs and the request id is free again.
  template <class F>
  result<std::uint64_t> request(wire::frame_header h, std::size_t payload_size, F&& write_payload,
                                clock::time_point deadline, reply_handler on_reply);

  // Closes the connection deliberately (idempotent). From this call on every
  // send fails with node_down (blocked senders wake with it); what the rings
  // accepted before is still written, then a close frame carrying `reason`,
  // then the connection waits for the peer's close frame (the peer drains
  // too) and closes the stream. Replies arriving meanwhile still complete
  // their asks. The whole drain is bounded by node_config::drain_timeout;
  // frames left then are counted in frames_dropped_unsent. At the end
  // pending asks fail with node_down and the sink hears on_peer_down. A
  // connection still in its handshake closes at once.
  virtual void close(herald::error reason) = 0;

  // Flow control, receiving side: the layer above is done with the tell or
  // ask frame of header `h` (see frame_sink::holds_credit). Gives its bytes
  // back to the peer's window; grants go out in batches, when half a window
  // has come back since the last grant. Any thread; three atomic adds and
  // a load in the common case (consumed_frames batches them). The
  // connection stays valid for the caller
  // until then without a reference: after the last frame's consumed() it
  // may be gone unless the caller holds one.
  void consumed(const wire::frame_header& h) noexcept {
    if (h.kind != wire::frame_kind::tell && h.kind != wire::frame_kind::ask) return;
    if ((h.flags & wire::frame_flags::fragmented) != 0) {
      // A large message: its share of the large window comes back at once.
      large_released_.fetch_add(h.payload_length + wire::large_message_overhead, std::memory_order_seq_cst);
      request_grant();
      return unpin(1);
    }
    consumed_frames(wire::frame_size(h.payload_length), 1);
  }
  // consumed() for `frames` tell or ask frames that were not fragmented,
  // `bytes` their wire size in total (what a worker gives back once for the
  // frames of a link it handled in one activation).
  void consumed_frames(std::uint64_t bytes, std::uint64_t frames) noexcept {
    const std::uint64_t after = credit_released_.fetch_add(bytes, std::memory_order_seq_cst) + bytes;
    frames_released_.fetch_add(frames, std::memory_order_relaxed);
    if (after >= grant_due_at_.load(std::memory_order_seq_cst)) request_grant();
    unpin(frames);
  }
  // Window a consumer may keep back before it gives it back with
  // consumed_frames: a quarter of the window, so that what is kept back
  // never delays a grant (one is due at half a window since the last).
  std::uint64_t consume_batch_bytes() const noexcept { return settings_.flow_window_bytes / 4; }

  bool is_open() const noexcept { return !data_ring_->closed(); }
  // Memory the node still holds for this link's tell and ask frames: those
  // handed to the layer above and not consumed yet, as wire bytes plus
  // frame_overhead per frame (mailbox node, call, pooled buffer: about
  // 1.7 KiB measured for a 1-byte ask). Any thread; the
  // node bounds it over closed links (node_config::max_closed_link_backlog).
  static constexpr std::uint64_t frame_overhead = 2048;
  std::uint64_t held_backlog() const noexcept {
    const std::uint64_t bytes = delivered_bytes_.load(std::memory_order_acquire);
    const std::uint64_t frames = delivered_frames_.load(std::memory_order_acquire);
    const std::uint64_t bytes_back = credit_released_.load(std::memory_order_relaxed);
    const std::uint64_t frames_back = frames_released_.load(std::memory_order_relaxed);
    const std::uint64_t b = bytes > bytes_back ? bytes - bytes_back : 0;
    const std::uint64_t f = frames > frames_back ? frames - frames_back : 0;
    return b + f * frame_overhead;
  }
  // The same for large messages (PROTOCOL.md §6.3), in large-window bytes:
  // bounded by the large window while the link is open; the node bounds
  // it over closed links by one large window.
  std::uint64_t held_large_backlog() const noexcept {
    const std::uint64_t large = delivered_large_.load(std::memory_order_acquire);
    const std::uint64_t large_back = large_released_.load(std::memory_order_relaxed);
    return large > large_back ? large - large_back : 0;
  }
  // Valid once the handshake is done (always, for a connection the sink sees).
  const peer_info& peer() const noexcept { return peer_; }
  connection_stats stats() const noexcept;

 protected:
  struct settings {
    std::size_t ring_capacity;
    std::size_t control_ring_capacity;
    std::size_t large_payload_threshold;
    std::uint32_t max_frame_size;
    std::size_t max_inflight_asks;
    backpressure_policy policy;
    std::chrono::milliseconds backpressure_timeout;
    std::uint64_t flow_window_bytes;  // resolved: never 0
    std::uint64_t flow_window_asks;
    std::size_t fragment_size;  // resolved: at most max_frame_size - 16
    std::size_t max_message_size;
    std::uint64_t flow_window_large_bytes;  // resolved: never 0
    std::uint64_t fragment_window_bytes;
  };

  connection(const settings& s, std::shared_ptr<buffer_pool> pool);

  // Called by the sender that found the writer idle: schedule a drain on the
  // io thread.
  virtual void wake_writer() = 0;
  // A request was registered: make sure the deadline sweep runs.
  virtual void arm_sweep() = 0;
  // Flow control: window came back (consumed, a reply abandoned); the io
  // thread decides whether a credit frame is due. Any thread.
  virtual void request_grant() noexcept = 0;

  // The ring record of a large payload: the header, then the pooled_buffer
  // that owns the padded payload (constructed in place in the ring).
  static constexpr std::uint8_t tag_inline = 0;
  static constexpr std::uint8_t tag_external = 1;
  // An external record whose payload goes out as fragments: its header has
  // frame_flags::fragmented and payload_length = the message's length.
  static constexpr std::uint8_t tag_large = 2;
  static constexpr std::size_t external_record_size = 64;
  static_assert(wire::frame_header::size + sizeof(pooled_buffer) <= external_record_size);

  // Relaxed counters: statistics, each with a single writer except
  // backpressure_events_.
  struct counters {
    std::atomic<std::uint64_t> frames_sent{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> writev_calls{0};
    std::atomic<std::uint64_t> frames_received{0};
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> backpressure_events{0};
    std::atomic<std::uint64_t> late_replies{0};
    std::atomic<std::uint64_t> asks_timed_out{0};
    std::atomic<std::uint64_t> asks_failed_node_down{0};
    std::atomic<std::uint64_t> frames_dropped_unsent{0};
    latency_histogram ask_latency;
    std::atomic<std::uint64_t> credit_stalls{0};
    std::atomic<std::uint64_t> credit_violations{0};
    std::atomic<std::uint64_t> credits_sent{0};
    std::atomic<std::uint64_t> credits_received{0};
    std::atomic<std::uint64_t> send_window_bytes{0};
    std::atomic<std::uint64_t> send_window_asks{0};
    std::atomic<std::uint64_t> send_window_large_bytes{0};
    std::atomic<std::uint64_t> large_messages_sent{0};
    std::atomic<std::uint64_t> large_messages_received{0};
    std::atomic<std::uint64_t> large_messages_lost{0};
  };

  // Consumer (io thread): discards the committed records still in the rings,
  // freeing their pooled payloads, and returns how many frames that was.
  // Records committed later stay for a later call (the destructor's).
  std::size_t drop_unsent();
  std::size_t drop_unsent(ring_buffer& ring);

  // Pooled payloads queued on this link (their bytes in pooled_bytes_):
  // a send reserves its payload's bytes before it allocates them, and the
  // writer releases them once the payload is written or discarded. Any
  // thread.
  result<void> reserve_pooled(std::size_t bytes);
  void release_pooled(std::size_t bytes) noexcept;
  // Wakes the senders waiting in reserve_pooled (the connection closed).
  void wake_pooled_waiters() noexcept;

  // The rings and request table a connection starts with: the smallest
  // there are, so that a peer that never authenticates costs next to nothing.
  static constexpr std::size_t placeholder_ring_capacity = 4 * ring_buffer::min_record;
  // Replaces the placeholders with rings and a request table of the
  // configured sizes. Io thread, once, before the connection is published to
  // any sender (the placeholders are empty then).
  void allocate_buffers();

  // send() into a given ring.
  template <class F>
  result<void> send_on(ring_buffer& ring, const wire::frame_header& h, std::size_t payload_size, F&& write_payload);

  const settings settings_;
  std::shared_ptr<buffer_pool> pool_;
  // Invariants:
  //  1. Bytes of a ring are written only by the producer that claimed them
  //     and read only by the writer (io thread) after commit.
  //  2. writer_idle_ is true only while no drain is scheduled or running:
  //     the one sender that flips it to false wakes the writer, and the
  //     writer, before going idle, stores true and then re-checks both rings
  //     (seq_cst on both sides), so no committed frame is left unsent.
  //  3. control_ring_, reply_ring_, data_ring_ and requests_ change once, in
  //     allocate_buffers(), before any thread but the io thread can reach the
  //     connection; the pointers are constant from then on.
  std::unique_ptr<ring_buffer> control_ring_;
  // Replies and error replies to the peer's asks, of the control ring's
  // size: outside the flow-control window, so they never wait behind tells
  // and asks held for window (which would deadlock two sides asking each
  // other, each side's asks waiting for replies queued behind them).
  std::unique_ptr<ring_buffer> reply_ring_;
  std::unique_ptr<ring_buffer> data_ring_;
  std::atomic<bool> writer_idle_{true};
  // Invariant: pooled_bytes_ is the sum of the sizes of the pooled payloads
  // reserved and not yet released; a reservation that would take it past
  // ring_capacity waits (policy) unless it is 0.
  std::atomic<std::uint64_t> pooled_bytes_{0};
  std::atomic<std::uint32_t> pooled_waiters_{0};
  std::mutex pooled_mutex_;
  std::condition_variable pooled_cv_;
  std::unique_ptr<request_table> requests_;
  counters counters_;
  peer_info peer_;
  // Flow control, receiving side (PROTOCOL.md §6.2): bytes of tell and ask
  // frames the layer above is done with, and replies to the peer's asks that
  // could not be sent (each gives its ask back to the window as a written
  // reply does). Cumulative; written by any thread, read by the io thread.
  std::atomic<std::uint64_t> credit_released_{0};
  std::atomic<std::uint64_t> frames_released_{0};
  // credit_released_ at which the next grant is due (half a window past the
  // last one); the maximum while a grant is on its way. Written by the io
  // thread: see connection_impl's flow-control invariant 4.
  std::atomic<std::uint64_t> grant_due_at_{~std::uint64_t{0}};
  std::atomic<std::uint64_t> replies_abandoned_{0};
  std::atomic<std::uint64_t> large_released_{0};
  // Tell and ask frames handed to the layer above, and their wire bytes.
  // Written by the io thread only (a load and a store, no read-modify-write),
  // on a cache line of their own: consumers write the counters above.
  alignas(64) std::atomic<std::uint64_t> delivered_bytes_{0};
  std::atomic<std::uint64_t> delivered_frames_{0};
  // The same for fragmented tells and asks, in large-window bytes
  // (message_length + large_message_overhead each).
  std::atomic<std::uint64_t> delivered_large_{0};
  // The connection outlives every tell and ask it handed up: the layer
  // above refers to it by a plain pointer until it calls consumed(), so no
  // reference count moves per message. pins_ counts the frames handed up
  // and not consumed, plus 1 until the connection is closed; while it is
  // above 0 the connection holds itself (self_pin_), and the thread that
  // takes it to 0 drops that reference as its last use of the connection.
  // Invariants:
  //  1. pins_ rises only on the io thread, before the frame it counts is
  //     handed up, and only while the 1 of an open link is there: it never
  //     rises from 0. The io thread takes pins a batch ahead (pins_ahead_,
  //     which pins_ includes) and draws one per frame, so no atomic moves
  //     per frame; it gives back what is left with the 1, at close.
  //  2. self_pin_ is set on the io thread while pins_ >= 1 and moved out
  //     only by the thread that takes pins_ to 0 (an acq_rel RMW orders the
  //     two).
  //  3. consumed() and consumed_frames() end with unpin(): nothing of the
  //     connection is touched after it.
  std::atomic<std::uint64_t> pins_{1};
  std::shared_ptr<connection> self_pin_;
  std::uint64_t pins_ahead_ = 0;  // io thread
  static constexpr std::uint64_t pin_batch = 256;

  // A tell or ask is handed up (io thread). The first one makes the
  // connection hold itself.
  void pin(const std::shared_ptr<connection>& me) noexcept {
    if (!self_pin_) [[unlikely]] self_pin_ = me;
    if (pins_ahead_ == 0) [[unlikely]] {
      pins_.fetch_add(pin_batch, std::memory_order_relaxed);
      pins_ahead_ = pin_batch;
    }
    --pins_ahead_;
  }
  void unpin(std::uint64_t n) noexcept {
    if (pins_.fetch_sub(n, std::memory_order_acq_rel) == n) {
      auto last = std::move(self_pin_);  // may destroy *this: nothing after
    }
  }

 private:
  result<void> claim(ring_buffer& ring, std::size_t size, ring_buffer::reservation& r);
  // The error a send returns when its payload writer threw `e`.
  static herald::error encode_error(std::exception_ptr e);
  void wake_if_idle() {
    if (writer_idle_.load(std::memory_order_seq_cst) && writer_idle_.exchange(false, std::memory_order_seq_cst))
      wake_writer();
  }
};

template <class F>
result<void> connection::send(const wire::frame_header& h, std::size_t payload_size, F&& write_payload) {
  const bool reply = h.kind == wire::frame_kind::reply || h.kind == wire::frame_kind::error_reply;
  ring_buffer& ring = (h.flags & wire::frame_flags::control_lane) != 0 ? *control_ring_
                      : reply                                         ? *reply_ring_
                                                                      : *data_ring_;
  auto sent = send_on(ring, h, payload_size, std::forward<F>(write_payload));
  if (!sent && reply) {
    // The peer's ask holds a slot of its window until its reply is written;
    // a reply that will never be written gives it back now.
    replies_abandoned_.fetch_add(1, std::memory_order_relaxed);
    request_grant();
  }
  return sent;
}

template <class F>
result<void> connection::send_on(ring_buffer& ring, const wire::frame_header& h0, std::size_t payload_size,
                                 F&& write_payload) {
  const bool message = h0.kind == wire::frame_kind::tell || h0.kind == wire::frame_kind::ask ||
                       h0.kind == wire::frame_kind::reply;
  const bool fragmented = message && payload_size > settings_.fragment_size;
  if (fragmented && payload_size > settings_.max_message_size)
    return herald::error(errc::message_too_large, "message of " + std::to_string(payload_size) +
                                                      " bytes exceeds max_message_size " +
                                                      std::to_string(settings_.max_message_size));
  if (!fragmented && payload_size > settings_.max_frame_size)
    return herald::error(errc::frame_too_large, "payload of " + std::to_string(payload_size) +
                                                    " bytes exceeds max_frame_size " +
                                                    std::to_string(settings_.max_frame_size));
  wire::frame_header h = h0;
  h.payload_length = static_cast<std::uint32_t>(payload_size);
  const std::size_t total = wire::frame_size(payload_size);
  const std::size_t padding = total - wire::frame_header::size - payload_size;
  ring_buffer::reservation r;
  if (!fragmented && total <= settings_.large_payload_threshold + wire::frame_header::size &&
      total <= ring.max_record()) {
    if (auto ok = claim(ring, total, r); !ok) return ok;
    wire::encode_header(h, r.data);
    std::byte* payload = r.data + wire::frame_header::size;
    try {
      write_payload(std::span<std::byte>(payload, payload_size));
    } catch (...) {
      // A claimed slot left uncommitted would stop the writer for good.
      ring.commit_as_skip(r);
      wake_if_idle();
      return encode_error(std::current_exception());
    }
    if (padding != 0) std::memset(payload + payload_size, 0, padding);
    ring.commit(r, tag_inline);
  } else {
    // A fragmented message's buffer holds the message alone: each fragment
    // is padded by the writer.
    const std::size_t bytes = fragmented ? payload_size : total - wire::frame_header::size;
    if (auto ok = reserve_pooled(bytes); !ok) return ok;
    pooled_buffer buf = pool_->acquire(bytes);
    try {
      write_payload(std::span<std::byte>(buf.data(), payload_size));
    } catch (...) {
      release_pooled(bytes);
      return encode_error(std::current_exception());  // nothing claimed yet; buf goes back to the pool
    }
    if (fragmented) h.flags |= wire::frame_flags::fragmented;
    else if (padding != 0) std::memset(buf.data() + payload_size, 0, padding);
    if (auto ok = claim(ring, external_record_size, r); !ok) {
      release_pooled(bytes);
      return ok;
    }
    wire::encode_header(h, r.data);
    ::new (static_cast<void*>(r.data + wire::frame_header::size)) pooled_buffer(std::move(buf));
    ring.commit(r, fragmented ? tag_large : tag_external);
  }
  wake_if_idle();
  return {};
}

template <class F>
result<std::uint64_t> connection::request(wire::frame_header h, std::size_t payload_size, F&& write_payload,
                                          clock::time_point deadline, reply_handler on_reply) {
  if (!is_open()) return herald::error(errc::node_down, "connection to " + peer_.node_name + " is closed");
  auto id = requests_->add(std::move(on_reply), deadline);
  if (!id) return std::move(id).error();
  arm_sweep();
  h.request_id = *id;
  if (auto ok = send(h, payload_size, std::forward<F>(write_payload)); !ok) {
    // Someone else (deadline, connection loss) took the request first: its
    // handler runs, so this call reports success.
    if (requests_->cancel(*id)) return std::move(ok).error();
  }
  return id;
}

}  // namespace herald::runtime
