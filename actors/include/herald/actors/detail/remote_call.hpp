#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "herald/error.hpp"
#include "herald/runtime/connection.hpp"
#include "herald/runtime/inbound_frame.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/frame.hpp"
#include "herald/wire/message.hpp"

namespace herald::detail {

class cell_base;

// Gives back the link window of the remote calls destroyed on this thread
// while it lives (a worker's activation: cell_base::run): once per run of
// calls from one link, when the calls kept back reach a quarter of the
// window (connection::consume_batch_bytes), and at its end, instead of once
// per call. Without one on the thread a call gives its window back at once.
class window_batch {
 public:
  window_batch() noexcept;
  ~window_batch();
  window_batch(const window_batch&) = delete;
  window_batch& operator=(const window_batch&) = delete;

  // The window of the call with header `h` that came on `from` (see
  // connection::consumed): kept back when this thread has a window_batch.
  static void give_back(runtime::connection* from, const wire::frame_header& h) noexcept;

 private:
  void flush() noexcept;

  runtime::connection* conn_ = nullptr;
  std::uint64_t bytes_ = 0;
  std::uint64_t frames_ = 0;
  std::uint64_t limit_ = 0;
  window_batch* outer_;
};

// One tell or ask that came from another node, waiting in a mailbox: the
// frame (its payload in a pooled buffer, still encoded) and the connection
// to answer an ask on. Decoded by the receiving actor's worker.
//
// Flow control: the frame holds its share of the link's window until the
// call is destroyed (handled, rejected or dropped), which gives it back
// (connection::consumed, batched by window_batch). A coroutine handler
// moves the frame out; the header stays, and the window comes back when the
// envelope goes.
struct remote_call {
  runtime::inbound_frame frame;
  // Valid until the call gives the frame's window back: the connection
  // outlives the frames it handed up (connection::consumed), so the call
  // holds no reference to it.
  runtime::connection* from;

  remote_call(runtime::inbound_frame f, runtime::connection* c) noexcept : frame(std::move(f)), from(c) {}
  // The frame copied from the connection's read buffer, in place.
  remote_call(const wire::frame_header& h, std::span<const std::byte> payload, runtime::buffer_pool& pool,
              runtime::connection* c)
      : frame(h, payload, pool), from(c) {}
  remote_call(remote_call&& o) noexcept : frame(std::move(o.frame)), from(std::exchange(o.from, nullptr)) {}
  remote_call& operator=(remote_call&&) = delete;
  ~remote_call() {
    if (from) window_batch::give_back(from, frame.header);
  }

  bool is_ask() const noexcept { return frame.header.kind == wire::frame_kind::ask; }
  std::uint64_t request_id() const noexcept { return frame.header.request_id; }
};

// Decodes the frame's message and runs the handler for it. May throw (the
// handler's exception, for the supervisor).
using remote_handler = void (*)(cell_base& cell, remote_call& call);

// Sends an error_reply for an ask (counted and logged by the transport if the
// link is gone). Defined in remote.cpp.
void send_error_reply(runtime::connection& conn, std::uint64_t request_id, const error& e) noexcept;
// Counts a reply that could not be sent (the link closed, or backpressure).
void count_reply_failure(cell_base& cell, const error& e) noexcept;

// Sends the reply to a remote ask: the value encoded with its codec, or an
// error_reply.
template <class R>
void send_reply(cell_base& cell, runtime::connection& conn, std::uint64_t request_id, result<R> r) {
  if (!r) {
    send_error_reply(conn, request_id, r.error());
    return;
  }
  wire::frame_header h;
  h.kind = wire::frame_kind::reply;
  h.request_id = request_id;
  result<void> sent;
  if constexpr (std::is_void_v<R>) {
    sent = conn.send(h, 0, [](std::span<std::byte>) {});
  } else {
    const R& v = *r;
    h.type_id = wire::type_id_of<R>();
    sent = conn.send(h, wire::codec<R>::encoded_size(v), [&](std::span<std::byte> out) { wire::codec<R>::encode(v, out); });
  }
  if (!sent) count_reply_failure(cell, sent.error());
}

}  // namespace herald::detail
