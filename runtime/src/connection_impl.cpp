#include "connection_impl.hpp"

#include <asio/post.hpp>
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>

#include "herald/wire/control.hpp"

namespace herald::runtime {

namespace {

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool is_frame_error(errc c) {
  return c == errc::limit_exceeded || c == errc::message_too_large || c == errc::frame_too_large ||
         c == errc::frame_too_small || c == errc::unknown_frame_kind || c == errc::bad_flags || c == errc::bad_header || c == errc::truncated ||
         c == errc::verification_failed || c == errc::decode_failed;
}

// Frames a successor holds back until its predecessor has closed.
bool is_data_kind(wire::frame_kind k) {
  return k == wire::frame_kind::tell || k == wire::frame_kind::ask || k == wire::frame_kind::reply ||
         k == wire::frame_kind::error_reply;
}

bool is_refusal(errc c) {
  return c == errc::handshake_failed || c == errc::auth_failed || c == errc::version_mismatch ||
         c == errc::schema_mismatch || c == errc::duplicate_link || is_frame_error(c);
}

// How long a refusing side waits for its close frame to be written.
constexpr std::chrono::milliseconds refusal_grace{250};

bool is_windowed(wire::frame_kind k) { return k == wire::frame_kind::tell || k == wire::frame_kind::ask; }

// Padding of fragment frames (their payloads are not padded in the buffer).
constexpr std::array<std::byte, wire::frame_header::alignment> zero_padding{};

bool is_reply_kind(std::byte k) {
  return k == static_cast<std::byte>(wire::frame_kind::reply) || k == static_cast<std::byte>(wire::frame_kind::error_reply);
}

}  // namespace

std::uint64_t resolved_flow_window(const node_config& c) {
  if (c.flow_window_bytes != 0) return c.flow_window_bytes;
  return std::max<std::uint64_t>(1u << 20, 2 * wire::frame_size(c.max_frame_size));
}

std::uint64_t resolved_large_window(const node_config& c) {
  if (c.flow_window_large_bytes != 0) return c.flow_window_large_bytes;
  return c.max_message_size + wire::large_message_overhead;
}

std::size_t resolved_fragment_size(const node_config& c) {
  return std::min<std::size_t>(c.fragment_size, c.max_frame_size - wire::fragment_prefix_size);
}

namespace {

}  // namespace

connection_impl::connection_impl(node_context& node, std::unique_ptr<stream> s, std::string dial_address)
    : connection(
          settings{node.config().ring_capacity, node.config().control_ring_capacity,
                   node.config().large_payload_threshold, node.config().max_frame_size,
                   node.config().max_inflight_asks, node.config().backpressure, node.config().backpressure_timeout,
                   resolved_flow_window(node.config()), node.config().flow_window_asks,
                   resolved_fragment_size(node.config()), node.config().max_message_size,
                   resolved_large_window(node.config()), node.config().fragment_window_bytes},
          node.pool()),
      node_(node),
      ctx_(s->context()),
      stream_(std::move(s)),
      dial_address_(std::move(dial_address)),
      remote_(stream_->remote_endpoint()),
      handshake_timer_(std::make_unique<asio::steady_timer>(ctx_)),
      sweep_timer_(std::make_unique<asio::steady_timer>(ctx_)),
      drain_timer_(std::make_unique<asio::steady_timer>(ctx_)),
      node_dropped_(node.frames_dropped()),
      hs_ring_(std::make_unique<ring_buffer>(hs_ring_capacity)),
      read_buf_(new std::byte[handshake_read_size]),
      read_cap_(handshake_read_size),
      decoder_(wire::decode_limits{static_cast<std::uint32_t>(wire::max_handshake_size)}) {
  batch_external_.reserve(max_iov);
  stream_->use_op_slots(read_slot_, write_slot_);
  peer_.remote_endpoint = remote_;
  peer_.node_name = remote_;  // until the handshake names the peer
}

connection_impl::~connection_impl() {
  // A batch cut short by close still owns its pooled payloads.
  release_pooled(free_batch_external() + drop_large_out());
  if (hs_ring_) drop_unsent(*hs_ring_);
  // Records committed after do_close walked the rings (their claims raced
  // the close of a lost link).
  const std::size_t late = drop_unsent();
  if (late != 0 && was_established_) {
    counters_.frames_dropped_unsent.fetch_add(late, std::memory_order_relaxed);
    node_dropped_->fetch_add(late, std::memory_order_relaxed);
  }
}

herald::error connection_impl::stream_error(const char* op, std::error_code ec) const {
  if (state_ == state::handshaking)
    return herald::error(errc::handshake_failed, std::string("connection closed during the handshake (") + op + ": " +
                                                     ec.message() + "); the peer's log says why");
  return herald::error(errc::node_down, std::string("connection lost (") + op + ": " + ec.message() + ")");
}

std::string connection_impl::who() const {
  if (got_hello_) return peer_hello_.node_name + " (" + remote_ + ")";
  return remote_;
}

void connection_impl::start() {
  asio::post(ctx_, [s = self()] { s->begin(); });
}

void connection_impl::close(herald::error reason) {
  if (closing_.exchange(true)) return;
  // Refuse sends from now on. Before allocate_buffers() no sender has the
  // connection, and begin_drain closes the rings on the io thread anyway.
  if (buffers_allocated_.load(std::memory_order_acquire)) {
    data_ring_->close();
    control_ring_->close();
    reply_ring_->close();
    wake_pooled_waiters();
  }
  asio::post(ctx_, [s = self(), r = std::move(reason)]() mutable { s->begin_drain(std::move(r)); });
}

void connection_impl::abort(herald::error reason) {
  asio::post(ctx_, [s = self(), r = std::move(reason)]() mutable { s->do_close(std::move(r)); });
}

void connection_impl::follow(const std::shared_ptr<connection_impl>& predecessor) {
  std::lock_guard lock(predecessor->link_mutex_);
  if (predecessor->finished_.load(std::memory_order_acquire)) return;
  predecessor->successor_ = self();
  held_.store(true, std::memory_order_release);
}

void connection_impl::wake_writer() {
  // A draining writer still needs wakes (frames claimed before the close).
  if (finished_.load(std::memory_order_acquire)) return;
  // A worker's wake-up takes its operation from wake_slot_ (no allocation).
  asio::post(ctx_, detail::with_slot(wake_slot_, [s = self()] { s->write_batch(); }));
}

void connection_impl::arm_sweep() {
  if (finished_.load(std::memory_order_acquire)) return;
  if (sweep_armed_.load(std::memory_order_seq_cst) || sweep_armed_.exchange(true, std::memory_order_seq_cst)) return;
  asio::post(ctx_, [s = self()] { s->schedule_sweep(); });
}

void connection_impl::request_grant() noexcept {
  if (finished_.load(std::memory_order_acquire)) return;
  if (grant_posted_.load(std::memory_order_relaxed) || grant_posted_.exchange(true, std::memory_order_acq_rel)) return;
  try {
    asio::post(ctx_, detail::with_slot(grant_slot_, [s = self()] {
      s->grant_posted_.store(false, std::memory_order_release);
      s->maybe_grant();
    }));
  } catch (...) {
    // Out of memory for the handler: the next reply written or window
    // crossing asks again.
    grant_posted_.store(false, std::memory_order_release);
  }
}

void connection_impl::begin() {
  if (state_ == state::closed) return;
  wire::hello h = node_.own_hello();
  const mac_bytes nonce = random_nonce();
  std::memcpy(h.nonce.data(), nonce.data(), nonce.size());
  own_hello_bytes_ = wire::encode(h);
  if (auto ok = send_handshake(wire::frame_kind::handshake, own_hello_bytes_); !ok)
    return do_close(std::move(ok).error());
  handshake_timer_->expires_after(node_.config().handshake_timeout);
  handshake_timer_->async_wait([s = self()](std::error_code ec) {
    if (ec || s->state_ != state::handshaking || s->refusing_) return;
    s->timed_out_ = true;
    s->refuse(herald::error(errc::handshake_failed, "no complete handshake from " + s->who() + " within " +
                                                        std::to_string(s->node_.config().handshake_timeout.count()) +
                                                        " ms"));
  });
  read_more();
}

void connection_impl::start_close(herald::error reason) {
  if (!closing_.exchange(true)) {
    data_ring_->close();
    control_ring_->close();
    reply_ring_->close();
  }
  begin_drain(std::move(reason));
}

void connection_impl::begin_drain(herald::error reason) {
  if (state_ == state::handshaking) return do_close(std::move(reason));  // nothing was accepted yet
  if (state_ != state::established) return;                              // draining or closed already
  state_ = state::draining;
  data_ring_->close();
  control_ring_->close();
  reply_ring_->close();
  wake_pooled_waiters();
  drain_reason_ = std::move(reason);
  drain_timer_->expires_after(node_.config().drain_timeout);
  drain_timer_->async_wait([s = self()](std::error_code ec) {
    if (ec || s->state_ != state::draining) return;
    s->do_close(herald::error(s->drain_reason_.code(),
                              s->drain_reason_.context() + " (drain timed out after " +
                                  std::to_string(s->node_.config().drain_timeout.count()) + " ms)"));
  });
  write_batch();  // sends what is left, then the close frame
}

void connection_impl::write_close_frame() {
  close_writing_ = true;
  flatbuffers::FlatBufferBuilder b;
  wire::build_close(b, wire::close_notice{drain_reason_.code(), drain_reason_.context()});
  wire::frame_header h;
  h.kind = wire::frame_kind::close;
  h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  h.payload_length = static_cast<std::uint32_t>(b.GetSize());
  close_frame_.assign(wire::frame_size(b.GetSize()), std::byte{0});
  wire::encode_header(h, close_frame_.data());
  std::memcpy(close_frame_.data() + wire::frame_header::size, b.GetBufferPointer(), b.GetSize());
  close_written_ = 0;
  iov_[0] = asio::const_buffer(close_frame_.data(), close_frame_.size());
  stream_->async_write_some(std::span<const asio::const_buffer>(iov_.data(), 1),
                            [s = self()](std::error_code ec, std::size_t n) { s->on_close_written(ec, n); });
}

void connection_impl::on_close_written(std::error_code ec, std::size_t n) {
  if (state_ == state::closed) return;
  // Every accepted frame is written; a lost close frame loses nothing else.
  if (ec) return do_close(drain_reason_);
  close_written_ += n;
  if (close_written_ < close_frame_.size()) {
    iov_[0] = asio::const_buffer(close_frame_.data() + close_written_, close_frame_.size() - close_written_);
    stream_->async_write_some(std::span<const asio::const_buffer>(iov_.data(), 1),
                              [s = self()](std::error_code ec2, std::size_t m) { s->on_close_written(ec2, m); });
    return;
  }
  close_writing_ = false;
  close_sent_ = true;
  if (peer_closed_) do_close(drain_reason_);
  // else: the reader waits for the peer's close frame (or EOF).
}

result<void> connection_impl::send_handshake(wire::frame_kind kind, std::span<const std::byte> payload) {
  wire::frame_header fh;
  fh.kind = kind;
  fh.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  return send_on(*hs_ring_, fh, payload.size(), [&](std::span<std::byte> out) {
    if (!payload.empty()) std::memcpy(out.data(), payload.data(), payload.size());
  });
}

bool connection_impl::rings_drained() const noexcept {
  return (!hs_ring_ || hs_ring_->drained()) && control_ring_->drained() && reply_ring_->drained() &&
         data_ring_->drained() && large_out_.empty();
}

void connection_impl::predecessor_done() {
  held_.store(false, std::memory_order_release);
  if (state_ == state::closed) return;
  write_batch();
  if (read_paused_) {
    read_paused_ = false;
    on_read(shared_from_this(), {}, 0);  // resume where the reader stopped
  }
}

void connection_impl::do_close(herald::error reason) {
  if (state_ == state::closed) return;
  const bool was_established = was_established_;
  if (was_established && !held_for_.empty()) {
    // Whole messages that waited behind a large one lost with the link are
    // delivered: the large one is lost (counted), nothing else is.
    auto me = shared_from_this();
    for (auto& [target, queue] : held_for_)
      for (held_message& m : queue)
        if (m.ready) deliver(me, std::move(m.frame));
    held_for_.clear();
  }
  state_ = state::closed;
  std::shared_ptr<connection_impl> successor;
  {
    std::lock_guard lock(link_mutex_);
    finished_.store(true, std::memory_order_release);
    successor = successor_.lock();
    successor_.reset();
  }
  closing_.store(true);
  data_ring_->close();
  control_ring_->close();
  reply_ring_->close();
  wake_pooled_waiters();
  stream_->close();
  handshake_timer_->cancel();
  sweep_timer_->cancel();
  drain_timer_->cancel();
  if (was_established) {
    // A batch cut short and what the rings still hold (a drain that
    // finished leaves nothing).
    // A large message started and not finished is lost whole: one frame.
    // (A message whose last fragment went out in a finished batch has left
    // large_out_ already.)
    const std::size_t unfinished = large_out_.size();
    const std::size_t dropped = (writing_ ? batch_frames_ - batch_fragments_ : 0) + drop_unsent() + unfinished;
    const std::size_t lost = unfinished + large_in_.size();
    if (lost != 0) counters_.large_messages_lost.fetch_add(lost, std::memory_order_relaxed);
    release_pooled(drop_large_out());
    large_in_.clear();
    large_in_dropping_ = 0;
    if (dropped != 0) {
      counters_.frames_dropped_unsent.fetch_add(dropped, std::memory_order_relaxed);
      node_dropped_->fetch_add(dropped, std::memory_order_relaxed);
      node_.log(log_level::warn, "connection with " + who() + ": " + std::to_string(dropped) +
                                     " accepted frames discarded unsent (" + reason.message() + ")");
    }
  }
  const std::size_t failed =
      requests_->fail_all(herald::error(errc::node_down, "connection to " + who() + " lost: " + reason.message()));
  counters_.asks_failed_node_down.fetch_add(failed, std::memory_order_relaxed);
  if (!was_established && reason.code() != errc::system_shutdown) {
    // Refusals and failed handshakes: counted by reason, logged rate-limited.
    rejection why = rejection::handshake_failed;
    switch (reason.code()) {
      case errc::auth_failed: why = rejection::auth_failed; break;
      case errc::version_mismatch: why = rejection::version_mismatch; break;
      case errc::schema_mismatch: why = rejection::schema_mismatch; break;
      case errc::duplicate_link: why = rejection::duplicate_link; break;
      default:
        if (is_frame_error(reason.code())) why = rejection::frame_error;
        break;
    }
    if (timed_out_) why = rejection::handshake_timeout;
    if (closed_by_peer_refusal_) why = rejection::refused_by_peer;
    node_.reject(why, is_refusal(reason.code()) ? log_level::error : log_level::info,
                 "connection with " + who() + " refused: " + reason.message());
  } else if (is_frame_error(reason.code())) {
    node_.reject(rejection::frame_error, log_level::error, "connection with " + who() + " closed: " + reason.message());
  } else if (reason.code() != errc::system_shutdown) {
    node_.log(was_established ? log_level::warn : log_level::info,
              "connection with " + who() + " closed: " + reason.message());
  }
  node_.on_closed(self(), was_established, reason);
  if (successor) asio::post(successor->ctx_, [successor] { successor->predecessor_done(); });
  // Release every Asio object now, on the io thread: the connection may be
  // held (closed) after its node and io threads are gone.
  stream_.reset();
  handshake_timer_.reset();
  sweep_timer_.reset();
  drain_timer_.reset();
  // The 1 of an open link and the pins taken ahead (connection::pins_):
  // from here on the connection lives while a frame it handed up is not
  // consumed, or a reference holds it. Last: this may destroy it.
  unpin(1 + std::exchange(pins_ahead_, 0));
}

// ---- writer ----------------------------------------------------------------

void connection_impl::write_batch() {
  if (state_ == state::closed || writing_ || close_writing_ || close_sent_) return;
  if (hs_ring_ && state_ != state::handshaking && hs_ring_->drained()) hs_ring_.reset();  // all of it written
  for (;;) {
    iov_first_ = 0;
    iov_count_ = 0;
    batch_frames_ = 0;
    batch_bytes_ = 0;
    batch_replies_ = 0;
    batch_fragments_ = 0;
    const std::byte* last_end = nullptr;
    auto append = [&](const std::byte* p, std::size_t n) {
      if (p == last_end && iov_count_ != 0) {
        iov_[iov_count_ - 1] = asio::const_buffer(iov_[iov_count_ - 1].data(), iov_[iov_count_ - 1].size() + n);
      } else {
        iov_[iov_count_++] = asio::const_buffer(p, n);
      }
      last_end = p + n;
    };
    auto add = [&](const ring_buffer::record& rec) {
      if (is_reply_kind(rec.data[4])) ++batch_replies_;
      if (rec.tag == tag_large) {
        start_large(rec);
        last_end = nullptr;
      } else if (rec.tag == tag_external) {
        append(rec.data, wire::frame_header::size);
        auto* payload = std::launder(reinterpret_cast<pooled_buffer*>(rec.data + wire::frame_header::size));
        iov_[iov_count_++] = asio::const_buffer(payload->data(), payload->size());
        last_end = nullptr;
        batch_external_.push_back(payload);
        batch_bytes_ += wire::frame_header::size + payload->size();
      } else {
        append(rec.data, rec.size);
        batch_bytes_ += rec.size;
      }
      ++batch_frames_;
      return iov_count_ + 3 <= max_iov;  // room for one more external record
    };
    if (hs_ring_) {
      hs_ring_->for_each_committed(add, max_batch_bytes);
      batch_hs_end_ = hs_ring_->scan_position();
    }
    control_ring_->for_each_committed(add, max_batch_bytes);
    batch_control_end_ = control_ring_->scan_position();
    if (!large_out_.empty()) {
      add_fragments();
      last_end = nullptr;
    }
    const bool held = held_.load(std::memory_order_acquire);
    if (!held && iov_count_ + 3 <= max_iov) reply_ring_->for_each_committed(add, max_batch_bytes);
    batch_reply_end_ = reply_ring_->scan_position();
    if (grant_pending_ && state_ != state::handshaking) {
      // The credit frame is the writer's own, outside the rings (it must go
      // out while a drain has closed them).
      grant_pending_ = false;
      const wire::credit_grant g{credit_released_.load(std::memory_order_acquire) + settings_.flow_window_bytes,
                                 replies_written_ + replies_abandoned_.load(std::memory_order_acquire) +
                                     settings_.flow_window_asks,
                                 large_released_.load(std::memory_order_acquire) + settings_.flow_window_large_bytes,
                                 recv_frag_ + settings_.fragment_window_bytes};
      granted_bytes_ = std::max(granted_bytes_, g.max_bytes);
      granted_asks_ = std::max(granted_asks_, g.max_asks);
      granted_large_ = std::max(granted_large_, g.max_large_bytes);
      granted_frag_ = std::max(granted_frag_, g.max_fragment_bytes);
      const std::uint64_t due = granted_bytes_ - settings_.flow_window_bytes / 2;
      grant_due_at_.store(due, std::memory_order_seq_cst);
      if (credit_released_.load(std::memory_order_seq_cst) >= due) request_grant();  // released meanwhile
      flatbuffers::FlatBufferBuilder& b = credit_builder_;
      b.Clear();
      wire::build_credit(b, wire::credit_grant{granted_bytes_, granted_asks_, granted_large_, granted_frag_});
      wire::frame_header h;
      h.kind = wire::frame_kind::credit;
      h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
      h.payload_length = static_cast<std::uint32_t>(b.GetSize());
      credit_frame_.assign(wire::frame_size(b.GetSize()), std::byte{0});
      wire::encode_header(h, credit_frame_.data());
      std::memcpy(credit_frame_.data() + wire::frame_header::size, b.GetBufferPointer(), b.GetSize());
      iov_[iov_count_++] = asio::const_buffer(credit_frame_.data(), credit_frame_.size());
      last_end = nullptr;
      batch_bytes_ += credit_frame_.size();
      counters_.credits_sent.fetch_add(1, std::memory_order_relaxed);
    }
    if (!held && !credit_blocked_ && iov_count_ + 3 <= max_iov)
      data_ring_->for_each_admitted([&](const ring_buffer::record& rec) { return admit_data(rec); }, add,
                                    max_batch_bytes);
    batch_data_end_ = data_ring_->scan_position();
    counters_.send_window_bytes.store(send_limit_bytes_ - sent_bytes_, std::memory_order_relaxed);
    counters_.send_window_asks.store(send_limit_asks_ - sent_asks_, std::memory_order_relaxed);
    counters_.send_window_large_bytes.store(send_limit_large_ - sent_large_, std::memory_order_relaxed);
    if (iov_count_ != 0) break;
    // Nothing to send, but the walk may have stepped over skip records: free
    // them (no batch is in flight).
    if (hs_ring_) hs_ring_->release_to(batch_hs_end_);
    control_ring_->release_to(batch_control_end_);
    reply_ring_->release_to(batch_reply_end_);
    data_ring_->release_to(batch_data_end_);
    if (refusing_) return do_close(refusal_);  // the close frame is out
    // Draining and everything accepted is written: the close frame is last.
    if (state_ == state::draining && rings_drained()) return write_close_frame();
    // Go idle, then re-check (see invariant 2 of connection). Held data
    // frames wait for predecessor_done(), which calls write_batch.
    writer_idle_.store(true, std::memory_order_seq_cst);
    if ((!hs_ring_ || !hs_ring_->has_committed()) && !control_ring_->has_committed() &&
        (held || (!reply_ring_->has_committed() && (credit_blocked_ || !data_ring_->has_committed()))))
      return;
    // A sender committed meanwhile. Whoever flips idle back owns the drain:
    // if a sender did, its wake is already posted.
    if (!writer_idle_.exchange(false, std::memory_order_seq_cst)) return;
  }
  writing_ = true;
  write_more();
}

void connection_impl::write_more() {
  counters_.writev_calls.fetch_add(1, std::memory_order_relaxed);
  stream_->async_write_some(std::span<const asio::const_buffer>(iov_.data() + iov_first_, iov_count_ - iov_first_),
                            [s = self()](std::error_code ec, std::size_t n) { s->on_written(ec, n); });
}

void connection_impl::on_written(std::error_code ec, std::size_t n) {
  if (state_ == state::closed) return;
  if (ec) return do_close(refusing_ ? refusal_ : stream_error("write", ec));
  while (n != 0 && iov_first_ < iov_count_) {
    const std::size_t sz = iov_[iov_first_].size();
    if (n >= sz) {
      n -= sz;
      ++iov_first_;
    } else {
      iov_[iov_first_] = asio::const_buffer(static_cast<const std::byte*>(iov_[iov_first_].data()) + n, sz - n);
      n = 0;
    }
  }
  if (iov_first_ < iov_count_) return write_more();  // partial write: send the rest first
  std::size_t released = free_batch_external();
  if (!large_out_.empty()) {
    const std::size_t before = large_out_.size();
    std::size_t kept = 0;
    for (std::size_t i = 0; i != before; ++i) {
      std::unique_ptr<outgoing_large>& m = large_out_[i];
      if (m->sent != m->header.payload_length) {
        if (kept != i) large_out_[kept] = std::move(m);
        ++kept;
        continue;
      }
      released += m->payload.size();
      m->payload = pooled_buffer{};
      if (spare_out_.size() < spare_capacity) spare_out_.push_back(std::move(m));
    }
    large_out_.resize(kept);
    counters_.large_messages_sent.fetch_add(before - kept, std::memory_order_relaxed);
  }
  release_pooled(released);
  if (hs_ring_) hs_ring_->release_to(batch_hs_end_);
  control_ring_->release_to(batch_control_end_);
  reply_ring_->release_to(batch_reply_end_);
  data_ring_->release_to(batch_data_end_);
  counters_.frames_sent.store(counters_.frames_sent.load(std::memory_order_relaxed) + batch_frames_,
                              std::memory_order_relaxed);
  counters_.bytes_sent.store(counters_.bytes_sent.load(std::memory_order_relaxed) + batch_bytes_,
                             std::memory_order_relaxed);
  writing_ = false;
  if (batch_replies_ != 0) {
    // Each reply written gives its ask back to the peer's window.
    replies_written_ += batch_replies_;
    batch_replies_ = 0;
    maybe_grant();
  }
  write_batch();
}

std::size_t connection_impl::free_batch_external() noexcept {
  std::size_t bytes = 0;
  for (pooled_buffer* b : batch_external_) {
    bytes += b->size();
    b->~pooled_buffer();
  }
  batch_external_.clear();
  return bytes;
}

std::size_t connection_impl::drop_large_out() noexcept {
  std::size_t bytes = 0;
  for (const auto& m : large_out_) bytes += m->payload.size();
  large_out_.clear();
  return bytes;
}

std::size_t connection_impl::next_chunk(const outgoing_large& m) const noexcept {
  return std::min<std::size_t>(settings_.fragment_size, m.header.payload_length - m.sent);
}

void connection_impl::start_large(const ring_buffer::record& rec) {
  std::unique_ptr<outgoing_large> m;
  if (spare_out_.empty()) {
    m = std::make_unique<outgoing_large>();
  } else {
    m = std::move(spare_out_.back());
    spare_out_.pop_back();
    m->sent = 0;
  }
  m->header = wire::peek_header(rec.data);
  auto* payload = std::launder(reinterpret_cast<pooled_buffer*>(rec.data + wire::frame_header::size));
  m->payload = std::move(*payload);
  payload->~pooled_buffer();
  m->id = next_message_id_++;
  emit_fragment(*m);
  large_out_.push_back(std::move(m));
}

void connection_impl::add_fragments() {
  std::size_t budget = max_batch_fragment_bytes;
  for (bool progress = true; progress && budget != 0;) {
    progress = false;
    for (auto& m : large_out_) {
      if (m->sent == m->header.payload_length) continue;
      if (iov_count_ + 3 > max_iov || batch_fragments_ == frag_heads_.size()) return;
      if (!peer_closed_ && sent_frag_ + wire::frame_size(next_chunk(*m)) > send_limit_frag_) {
        frag_paced_ = true;  // on_credit runs the writer again
        return;
      }
      const std::size_t before = m->sent;
      emit_fragment(*m);
      ++batch_frames_;
      budget -= std::min(budget, m->sent - before);
      progress = true;
      if (budget == 0) break;
    }
  }
}

void connection_impl::emit_fragment(outgoing_large& m) {
  // Each fragment takes at least two iovecs: the batch runs out of those
  // first (invariant 2 of the sending side).
  assert(batch_fragments_ < frag_heads_.size());
  std::byte* head = frag_heads_[batch_fragments_].data();
  const bool first = m.sent == 0;
  const std::size_t chunk = next_chunk(m);
  wire::frame_header fh;
  std::size_t head_size = wire::frame_header::size;
  if (first) {
    fh = m.header;
    fh.payload_length = static_cast<std::uint32_t>(wire::fragment_prefix_size + chunk);
    wire::detail::store_le<std::uint64_t>(head + wire::frame_header::size, m.header.payload_length);
    wire::detail::store_le<std::uint64_t>(head + wire::frame_header::size + 8, m.id);
    head_size += wire::fragment_prefix_size;
  } else {
    fh.kind = wire::frame_kind::fragment;
    fh.request_id = m.id;
    fh.payload_length = static_cast<std::uint32_t>(chunk);
  }
  wire::encode_header(fh, head);
  iov_[iov_count_++] = asio::const_buffer(head, head_size);
  iov_[iov_count_++] = asio::const_buffer(m.payload.data() + m.sent, chunk);
  const std::size_t size = wire::frame_size(fh.payload_length);
  const std::size_t padding = size - wire::frame_header::size - fh.payload_length;
  if (padding != 0) iov_[iov_count_++] = asio::const_buffer(zero_padding.data(), padding);
  m.sent += chunk;
  sent_frag_ += size;
  batch_bytes_ += size;
  ++batch_fragments_;  // batch_frames_ is the caller's
}

// ---- reader ----------------------------------------------------------------

void connection_impl::read_more() {
  stream_->async_read_some(std::span<std::byte>(read_buf_.get() + read_filled_, read_cap_ - read_filled_),
                           [s = shared_from_this()](std::error_code ec, std::size_t n) {
                             static_cast<connection_impl&>(*s).on_read(s, ec, n);
                           });
}

void connection_impl::on_read(const std::shared_ptr<connection>& me, std::error_code ec, std::size_t n) {
  if (state_ == state::closed) return;
  if (refusing_) {
    // Input after a refusal is read and dropped (unread bytes would turn the
    // close into a reset that can destroy the close frame in flight).
    if (ec) return;  // the writer or the grace timer closes
    read_filled_ = 0;
    return read_more();
  }
  if (ec) {
    // After our close frame, the peer closing its end is the normal end.
    if (state_ == state::draining && close_sent_) return do_close(drain_reason_);
    return do_close(stream_error("read", ec));
  }
  counters_.bytes_received.store(counters_.bytes_received.load(std::memory_order_relaxed) + n,
                                 std::memory_order_relaxed);
  read_filled_ += n;
  std::size_t off = 0;
  while (state_ != state::closed && !refusing_ && off < read_filled_) {
    if (assembling_) {
      const std::size_t avail = read_filled_ - off;
      const std::size_t take = std::min(avail, asm_left_);
      const std::size_t payload_take = std::min(take, asm_header_.payload_length - asm_have_);
      std::memcpy(asm_buf_.data() + asm_have_, read_buf_.get() + off, payload_take);
      asm_have_ += payload_take;
      asm_left_ -= take;
      off += take;
      if (asm_left_ != 0) break;
      assembling_ = false;
      if (asm_header_.kind == wire::frame_kind::fragment || (asm_header_.flags & wire::frame_flags::fragmented) != 0) {
        // A fragment larger than the read buffer (another implementation's
        // fragment size): on to the message it belongs to.
        const pooled_buffer part = std::move(asm_buf_);
        on_frame(me, asm_header_, std::span<const std::byte>(part.data(), asm_header_.payload_length));
        continue;
      }
      counters_.frames_received.store(counters_.frames_received.load(std::memory_order_relaxed) + 1,
                                      std::memory_order_relaxed);
      deliver(me, inbound_frame(asm_header_, std::move(asm_buf_)));
      continue;
    }
    if (held_.load(std::memory_order_acquire) && state_ != state::handshaking &&
        read_filled_ - off >= wire::frame_header::size &&
        is_data_kind(wire::peek_header(read_buf_.get() + off).kind)) {
      read_paused_ = true;  // predecessor_done() resumes here
      break;
    }
    auto r = decoder_.next(std::span<const std::byte>(read_buf_.get() + off, read_filled_ - off));
    if (!r) return state_ == state::handshaking ? refuse(std::move(r).error()) : do_close(std::move(r).error());
    if (r->has_value()) {
      const wire::frame_view& v = **r;
      off += v.total_size;
      if (v.known_kind()) on_frame(me, v.header, v.payload);
      continue;
    }
    const std::size_t needed = decoder_.bytes_needed();
    if (needed > read_cap_) {
      // Checked header of a frame larger than the read buffer: assemble it in
      // a buffer of its own (the decoder bounded its size).
      asm_header_ = wire::peek_header(read_buf_.get() + off);
      // The window is checked before anything is allocated for the frame.
      if (state_ != state::handshaking && is_windowed(asm_header_.kind) &&
          (asm_header_.flags & wire::frame_flags::fragmented) == 0 && !take_window(asm_header_))
        return;
      asm_buf_ = pool_->acquire(asm_header_.payload_length);
      asm_have_ = 0;
      asm_left_ = needed - wire::frame_header::size;
      assembling_ = true;
      off += wire::frame_header::size;
      continue;
    }
    break;
  }
  if (state_ == state::closed) return;
  if (refusing_) {
    read_filled_ = 0;
    return read_more();
  }
  if (off != 0) {
    std::memmove(read_buf_.get(), read_buf_.get() + off, read_filled_ - off);
    read_filled_ -= off;
  }
  if (read_paused_) return;
  if (state_ != state::handshaking && read_cap_ == handshake_read_size) {
    // Authenticated: the configured read buffer replaces the handshake's.
    const std::size_t cap = std::max<std::size_t>(node_.config().read_buffer_size, 64u << 10);
    std::unique_ptr<std::byte[]> buf(new std::byte[cap]);
    std::memcpy(buf.get(), read_buf_.get(), read_filled_);
    read_buf_ = std::move(buf);
    read_cap_ = cap;
  }
  read_more();
}

void connection_impl::on_frame(const std::shared_ptr<connection>& me, const wire::frame_header& h,
                               std::span<const std::byte> payload) {
  counters_.frames_received.store(counters_.frames_received.load(std::memory_order_relaxed) + 1,
                                  std::memory_order_relaxed);
  if (state_ == state::handshaking) {
    if (h.kind == wire::frame_kind::handshake) return on_hello(payload);
    if (h.kind == wire::frame_kind::handshake_ack) return on_proof(payload);
    if (h.kind == wire::frame_kind::close) return on_close_frame(payload);
    return refuse(herald::error(errc::handshake_failed,
                                "frame of kind " + std::to_string(static_cast<unsigned>(h.kind)) +
                                    " before the handshake finished"));
  }
  switch (h.kind) {
    case wire::frame_kind::handshake:
    case wire::frame_kind::handshake_ack:
      return do_close(herald::error(errc::handshake_failed, "handshake frame after the handshake"));
    case wire::frame_kind::credit: return on_credit(payload);
    case wire::frame_kind::fragment:
      on_fragment(me, h, payload);
      return fragment_read(h);
    case wire::frame_kind::close: {
      // The peer sends nothing after its close frame; drain ours, answer
      // with our own close frame, then close (see begin_drain). Its close
      // frame lifts its window: what we still send is bounded by our ring.
      peer_closed_ = true;
      credit_blocked_ = false;
      if (state_ == state::draining) {
        if (close_sent_) do_close(drain_reason_);
        else write_batch();
        return;
      }
      auto c = wire::decode_close(payload);
      std::string why = !c ? "unreadable close frame: " + c.error().message()
                           : !c->reason.empty() ? c->reason : std::string(to_string(c->code));
      return start_close(herald::error(errc::node_down, "the peer closed the connection: " + why));
    }
    default: break;
  }
  if ((h.flags & wire::frame_flags::fragmented) != 0) {
    on_first_fragment(me, h, payload);
    return fragment_read(h);
  }
  if (is_windowed(h.kind) && !take_window(h)) return;
  if (is_windowed(h.kind) && !held_for_.empty()) {
    if (auto it = held_for_.find(h.target); it != held_for_.end()) {
      // Behind a large message to the same target (see deliver_held).
      it->second.push_back(held_message{0, inbound_frame(h, payload, *pool_), true});
      return;
    }
  }
  if (is_windowed(h.kind)) {
    // A tell or an ask: the sink builds its record of it in place.
    if (state_ != state::established && state_ != state::draining) return;
    return hand_up(me, h, [&] { node_.sink().on_frame_view(me, h, payload, *pool_); });
  }
  deliver(me, inbound_frame(h, payload, *pool_));
}

void connection_impl::fragment_read(const wire::frame_header& h) {
  recv_frag_ += wire::frame_size(h.payload_length);
  maybe_grant();  // the pacing window moves as fragments are read (due at half a window)
}

void connection_impl::fragment_error(errc code, const std::string& what) {
  do_close(decoder_.record(herald::error(code, what + " (from " + who() + ")")));
}

void connection_impl::on_first_fragment(const std::shared_ptr<connection>& me, const wire::frame_header& h,
                                        std::span<const std::byte> payload) {
  // The decoder checked the kind and that the prefix and a byte are there.
  const std::uint64_t length = wire::detail::load_le<std::uint64_t>(payload.data());
  const std::uint64_t id = wire::detail::load_le<std::uint64_t>(payload.data() + 8);
  const std::span<const std::byte> chunk = payload.subspan(wire::fragment_prefix_size);
  if (length > settings_.max_message_size)
    return fragment_error(errc::message_too_large, "a message of " + std::to_string(length) +
                                                       " bytes announced, above max_message_size " +
                                                       std::to_string(settings_.max_message_size));
  if (chunk.size() > length)
    return fragment_error(errc::bad_header, "a first fragment longer than its message");
  if (id == 0 || large_in_.contains(id))
    return fragment_error(errc::bad_header, "message id " + std::to_string(id) + " zero or already in progress");
  incoming_large m;
  m.header = h;
  m.header.payload_length = static_cast<std::uint32_t>(length);
  if (h.kind == wire::frame_kind::reply) {
    // Outside every window, bounded by this side's own asks: a reply that no
    // ask waits for (late) is read and dropped without a buffer.
    if (requests_->waiting(h.request_id)) {
      m.payload = pool_->acquire(length);
    } else if (++large_in_dropping_ > settings_.max_inflight_asks) {
      return fragment_error(errc::limit_exceeded, "more large replies in progress than asks this side can have");
    }
  } else {
    recv_large_ += length + wire::large_message_overhead;
    if (h.kind == wire::frame_kind::ask) ++recv_asks_;
    if (!close_sent_ && !close_writing_ && (recv_large_ > granted_large_ || recv_asks_ > granted_asks_)) {
      counters_.credit_violations.fetch_add(1, std::memory_order_relaxed);
      return do_close(herald::error(errc::limit_exceeded,
                                    "peer " + who() + " sent beyond its large-message window (" +
                                        std::to_string(recv_large_) + " bytes against " +
                                        std::to_string(granted_large_) + ")"));
    }
    m.payload = pool_->acquire(length);
    auto q = held_for_.find(h.target);
    if (q == held_for_.end()) {
      if (spare_held_) {
        spare_held_.key() = h.target;
        q = held_for_.insert(std::move(spare_held_)).position;
      } else {
        q = held_for_.try_emplace(h.target).first;
      }
    }
    q->second.push_back(held_message{id, inbound_frame(), false});
  }
  if (m.payload) std::memcpy(m.payload.data(), chunk.data(), chunk.size());
  m.have = chunk.size();
  const bool whole = m.have == length;
  if (!spare_large_.empty()) {
    auto node = std::move(spare_large_.back());
    spare_large_.pop_back();
    node.key() = id;
    node.mapped() = std::move(m);
    large_in_.insert(std::move(node));
  } else {
    large_in_.emplace(id, std::move(m));
  }
  if (whole) complete_large(me, id);
}

void connection_impl::on_fragment(const std::shared_ptr<connection>& me, const wire::frame_header& h,
                                  std::span<const std::byte> payload) {
  const auto it = large_in_.find(h.request_id);
  if (it == large_in_.end())
    return fragment_error(errc::bad_header, "a fragment of message " + std::to_string(h.request_id) +
                                                ", which is not in progress");
  incoming_large& m = it->second;
  if (payload.size() > m.header.payload_length - m.have)
    return fragment_error(errc::bad_header, "a fragment past the end of message " + std::to_string(h.request_id));
  if (m.payload) std::memcpy(m.payload.data() + m.have, payload.data(), payload.size());
  m.have += payload.size();
  if (m.have == m.header.payload_length) complete_large(me, h.request_id);
}

void connection_impl::complete_large(const std::shared_ptr<connection>& me, std::uint64_t message_id) {
  auto node = large_in_.extract(message_id);
  incoming_large m = std::move(node.mapped());
  node.mapped() = incoming_large{};
  if (spare_large_.size() < spare_capacity) spare_large_.push_back(std::move(node));
  counters_.large_messages_received.fetch_add(1, std::memory_order_relaxed);
  counters_.frames_received.store(counters_.frames_received.load(std::memory_order_relaxed) + 1,
                                  std::memory_order_relaxed);
  if (m.header.kind == wire::frame_kind::reply) {
    if (!m.payload) {
      --large_in_dropping_;
      counters_.late_replies.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    return deliver(me, inbound_frame(m.header, std::move(m.payload)));
  }
  const std::uint64_t target = m.header.target;
  auto q = held_for_.find(target);
  assert(q != held_for_.end());
  for (held_message& h : q->second) {
    if (h.message_id == message_id && !h.ready) {
      h.frame = inbound_frame(m.header, std::move(m.payload));
      h.ready = true;
      break;
    }
  }
  deliver_held(me, target);
}

void connection_impl::deliver_held(const std::shared_ptr<connection>& me, std::uint64_t target) {
  auto q = held_for_.find(target);
  if (q == held_for_.end()) return;
  while (!q->second.empty() && q->second.front().ready) {
    inbound_frame f = std::move(q->second.front().frame);
    q->second.pop_front();
    deliver(me, std::move(f));
    if (state_ == state::closed) return;  // do_close cleared held_for_
  }
  if (q->second.empty()) spare_held_ = held_for_.extract(q);  // its queue keeps its storage for the next
}

bool connection_impl::take_window(const wire::frame_header& h) {
  recv_bytes_ += wire::frame_size(h.payload_length);
  if (h.kind == wire::frame_kind::ask) ++recv_asks_;
  // After our close frame the peer drains what it accepted without a window.
  if (close_sent_ || close_writing_) return true;
  if (recv_bytes_ <= granted_bytes_ && recv_asks_ <= granted_asks_) return true;
  counters_.credit_violations.fetch_add(1, std::memory_order_relaxed);
  do_close(herald::error(errc::limit_exceeded,
                         "peer " + who() + " sent beyond its flow-control window (" + std::to_string(recv_bytes_) +
                             " bytes and " + std::to_string(recv_asks_) + " asks against a window of " +
                             std::to_string(granted_bytes_) + " bytes and " + std::to_string(granted_asks_) +
                             " asks)"));
  return false;
}

bool connection_impl::admit_data(const ring_buffer::record& rec) {
  const auto kind = static_cast<wire::frame_kind>(rec.data[4]);
  if (!is_windowed(kind) || peer_closed_) return true;
  const bool ask = kind == wire::frame_kind::ask;
  if (rec.tag == tag_large) {
    // The large window, and for an ask the ask window; not the byte window.
    const std::uint64_t charge = wire::peek_header(rec.data).payload_length + wire::large_message_overhead;
    if (sent_large_ + charge > send_limit_large_ || (ask && sent_asks_ + 1 > send_limit_asks_)) {
      credit_blocked_ = true;
      counters_.credit_stalls.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    sent_large_ += charge;
    sent_asks_ += ask ? 1 : 0;
    return true;
  }
  std::uint64_t size = rec.size;
  if (rec.tag == tag_external)
    size = wire::frame_header::size +
           std::launder(reinterpret_cast<pooled_buffer*>(rec.data + wire::frame_header::size))->size();
  if (sent_bytes_ + size > send_limit_bytes_ || (ask && sent_asks_ + 1 > send_limit_asks_)) {
    credit_blocked_ = true;  // on_credit runs the writer again
    counters_.credit_stalls.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  sent_bytes_ += size;
  sent_asks_ += ask ? 1 : 0;
  return true;
}

void connection_impl::on_credit(std::span<const std::byte> payload) {
  auto c = wire::decode_credit(payload);
  if (!c) return do_close(herald::error(c.error().code(), "unreadable credit frame from " + who() + ": " + c.error().message()));
  counters_.credits_received.fetch_add(1, std::memory_order_relaxed);
  send_limit_bytes_ = std::max(send_limit_bytes_, c->max_bytes);
  send_limit_asks_ = std::max(send_limit_asks_, c->max_asks);
  send_limit_large_ = std::max(send_limit_large_, c->max_large_bytes);
  send_limit_frag_ = std::max(send_limit_frag_, c->max_fragment_bytes);
  counters_.send_window_large_bytes.store(send_limit_large_ - sent_large_, std::memory_order_relaxed);
  counters_.send_window_bytes.store(send_limit_bytes_ - sent_bytes_, std::memory_order_relaxed);
  counters_.send_window_asks.store(send_limit_asks_ - sent_asks_, std::memory_order_relaxed);
  if (credit_blocked_ || frag_paced_) {
    credit_blocked_ = false;
    frag_paced_ = false;
    write_batch();
  }
}

void connection_impl::maybe_grant(bool force) {
  if (state_ != state::established && state_ != state::draining) return;
  if (close_writing_ || close_sent_) return;
  const std::uint64_t want_bytes = credit_released_.load(std::memory_order_acquire) + settings_.flow_window_bytes;
  const std::uint64_t want_asks =
      replies_written_ + replies_abandoned_.load(std::memory_order_acquire) + settings_.flow_window_asks;
  const std::uint64_t want_large = large_released_.load(std::memory_order_acquire) + settings_.flow_window_large_bytes;
  // Large messages are few: any of their window that came back is granted.
  const std::uint64_t want_frag = recv_frag_ + settings_.fragment_window_bytes;
  const bool due = force || want_large > granted_large_ ||
                   want_frag - granted_frag_ >= settings_.fragment_window_bytes / 2 ||
                   want_bytes - granted_bytes_ >= settings_.flow_window_bytes / 2 ||
                   want_asks - granted_asks_ >= std::max<std::uint64_t>(1, settings_.flow_window_asks / 2);
  if (!due) return;
  grant_due_at_.store(~std::uint64_t{0}, std::memory_order_relaxed);  // one is on its way (invariant 4)
  grant_pending_ = true;
  write_batch();
}

void connection_impl::deliver(const std::shared_ptr<connection>& me, inbound_frame f) {
  if (state_ != state::established && state_ != state::draining) return;
  switch (f.header.kind) {
    case wire::frame_kind::tell:
    case wire::frame_kind::ask: {
      const wire::frame_header h = f.header;
      hand_up(me, h, [&] { node_.sink().on_frame(me, std::move(f)); });
      break;
    }
    case wire::frame_kind::reply:
    case wire::frame_kind::error_reply: {
      const std::uint64_t id = f.header.request_id;
      if (!requests_->complete(id, std::move(f)))
        counters_.late_replies.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case wire::frame_kind::heartbeat:
    case wire::frame_kind::gossip:
    case wire::frame_kind::membership:
      node_.sink().on_control(me, std::move(f));
      break;
    default: break;  // handled in on_frame; optional kinds are skipped
  }
}

// ---- handshake ---------------------------------------------------------------

void connection_impl::on_hello(std::span<const std::byte> payload) {
  if (got_hello_) return refuse(herald::error(errc::handshake_failed, "second hello from " + who()));
  auto h = wire::decode_hello(payload);
  if (!h) return refuse(herald::error(errc::handshake_failed, "unreadable hello: " + h.error().message()));
  const wire::hello& own = node_.own_hello();
  if (h->protocol_version != own.protocol_version || own.protocol_version != wire::protocol_version)
    return refuse(herald::error(errc::version_mismatch, "peer " + h->node_name + " speaks protocol version " +
                                                            std::to_string(h->protocol_version) + ", this node " +
                                                            std::to_string(own.protocol_version)));
  // An admin client (herald-ctl) speaks only the admin service, which every
  // node has: it is admitted whatever the node's schema, and admits any.
  const node_config& cfg = node_.config();
  const bool admin_peer = cfg.admin_schema_hash != 0 && h->schema_hash == cfg.admin_schema_hash;
  if (h->schema_hash != own.schema_hash && !admin_peer && !cfg.admin_client)
    return refuse(herald::error(errc::schema_mismatch, "peer " + h->node_name + " has schema hash " +
                                                           hex64(h->schema_hash) + ", this node " +
                                                           hex64(own.schema_hash)));
  if (h->node_id == 0 || h->node_id == own.node_id)
    return refuse(herald::error(errc::handshake_failed, "peer claims node id " + hex64(h->node_id) +
                                                            (h->node_id == 0 ? " (zero)" : ", this node's own id")));
  if (auto named = stream_->check_peer_name(h->node_name); !named) return refuse(std::move(named).error());
  peer_hello_ = std::move(*h);
  peer_hello_bytes_.assign(payload.begin(), payload.end());
  got_hello_ = true;
  // The duplicate-link rule runs before any proof is sent, on both ends.
  if (auto ok = node_.admit_hello(*this, peer_hello_); !ok) return refuse(std::move(ok).error());
  const std::span<const std::byte> initiator_hello = initiator() ? own_hello_bytes_ : peer_hello_bytes_;
  const std::span<const std::byte> acceptor_hello = initiator() ? peer_hello_bytes_ : own_hello_bytes_;
  const auto peer_role = initiator() ? wire::handshake_role::acceptor : wire::handshake_role::initiator;
  expected_proof_ = handshake_proof(node_.handshake_key(), peer_role, initiator_hello, acceptor_hello);
  wire::proof p;
  p.mac = handshake_proof(node_.handshake_key(), role(), initiator_hello, acceptor_hello);
  if (auto ok = send_handshake(wire::frame_kind::handshake_ack, wire::encode(p)); !ok)
    return do_close(std::move(ok).error());
}

void connection_impl::on_proof(std::span<const std::byte> payload) {
  if (!got_hello_) return refuse(herald::error(errc::handshake_failed, "proof before hello from " + who()));
  auto p = wire::decode_proof(payload);
  if (!p) return refuse(herald::error(errc::handshake_failed, "unreadable proof: " + p.error().message()));
  if (!macs_equal(p->mac, expected_proof_))
    return refuse(herald::error(errc::auth_failed, "peer " + who() + " did not prove the cluster secret"));
  allocate_buffers();
  buffers_allocated_.store(true, std::memory_order_release);
  state_ = state::established;
  was_established_ = true;
  handshake_timer_->cancel();
  peer_.node_id = peer_hello_.node_id;
  peer_.incarnation = peer_hello_.incarnation;
  peer_.node_name = peer_hello_.node_name;
  peer_.listen_address = peer_hello_.listen_address;
  own_hello_bytes_ = {};
  peer_hello_bytes_ = {};
  decoder_ = wire::frame_decoder(wire::decode_limits{node_.config().max_frame_size});
  node_.log(log_level::debug, "connected to " + who());
  maybe_grant(true);  // the peer's first window
  node_.on_established(self());
}

void connection_impl::on_close_frame(std::span<const std::byte> payload) {
  auto c = wire::decode_close(payload);
  if (!c) return refuse(herald::error(c.error().code(), "unreadable close frame: " + c.error().message()));
  closed_by_peer_refusal_ = true;
  const errc code = c->code == errc::ok ? errc::handshake_failed : c->code;
  do_close(herald::error(code, "refused by the peer: " + c->reason));
}

void connection_impl::refuse(herald::error reason) {
  if (state_ == state::closed || refusing_) return;
  refusing_ = true;
  refusal_ = std::move(reason);
  flatbuffers::FlatBufferBuilder b(256);
  wire::build_close(b, wire::close_notice{refusal_.code(), refusal_.context()});
  wire::frame_header fh;
  fh.kind = wire::frame_kind::close;
  fh.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(b.GetBufferPointer()), b.GetSize());
  // Before authentication only the handshake ring has room for it.
  auto ok = hs_ring_ ? send_on(*hs_ring_, fh, bytes.size(),
                               [&](std::span<std::byte> out) { std::memcpy(out.data(), bytes.data(), bytes.size()); })
                     : send_bytes(fh, bytes);
  if (!ok) return do_close(refusal_);
  handshake_timer_->expires_after(refusal_grace);
  handshake_timer_->async_wait([s = self()](std::error_code ec) {
    if (!ec) s->do_close(s->refusal_);
  });
}

// ---- ask deadlines -------------------------------------------------------------

void connection_impl::schedule_sweep() {
  if (state_ == state::closed) return;
  sweep_timer_->expires_after(node_.config().ask_sweep_interval);
  sweep_timer_->async_wait([s = self()](std::error_code ec) {
    if (ec || s->state_ == state::closed) return;
    const std::size_t n = s->requests_->expire(clock::now());
    s->counters_.asks_timed_out.fetch_add(n, std::memory_order_relaxed);
    if (s->requests_->pending() != 0) return s->schedule_sweep();
    s->sweep_armed_.store(false, std::memory_order_seq_cst);
    if (s->requests_->pending() != 0 && !s->sweep_armed_.exchange(true, std::memory_order_seq_cst))
      s->schedule_sweep();
  });
}

}  // namespace herald::runtime
