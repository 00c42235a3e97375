#pragma once

#include <asio/steady_timer.hpp>
#include <flatbuffers/flatbuffers.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth.hpp"
#include "herald/runtime/connection.hpp"
#include "herald/runtime/detail/handler_slot.hpp"
#include "herald/wire/frame_decoder.hpp"
#include "herald/wire/handshake.hpp"
#include "node_context.hpp"
#include "stream.hpp"

namespace herald::runtime {

// node_config::flow_window_bytes with 0 resolved (see there).
std::uint64_t resolved_flow_window(const node_config& c);
// node_config::flow_window_large_bytes with 0 resolved.
std::uint64_t resolved_large_window(const node_config& c);
// node_config::fragment_size, at most max_frame_size - 16.
std::size_t resolved_fragment_size(const node_config& c);

// The connection over one stream: handshake, writer task, reader, deadline
// sweep, the drain of a deliberate close. Its state below the public
// connection API is confined to the io thread of its stream;
// start/close/wake_writer/arm_sweep may be called from any thread and post
// there.
//
// Closing: close() (or a close frame from the peer) moves an established
// connection to draining: the rings refuse new claims, the writer sends what
// they hold, then a close frame; the connection closes once it has sent its
// close frame and received the peer's (or at drain_timeout). A stream error
// closes at once and counts what the rings still held.
//
// Order across a replacement: a connection that replaces a live one to the
// same peer follows it (follow()): until the predecessor has closed, its
// writer sends control frames only and its reader stops at the first data
// frame (tell, ask, reply, error_reply), so that no data frame of the new
// link overtakes the old link's drained ones, in either direction.
class connection_impl final : public connection {
 public:
  // dial_address: the address this node dialled, empty for an accepted one.
  connection_impl(node_context& node, std::unique_ptr<stream> s, std::string dial_address);
  ~connection_impl() override;

  void start();
  void close(herald::error reason) override;
  // Closes at once, without draining (the frames left are counted as
  // dropped). Any thread.
  void abort(herald::error reason);

  // Holds this connection's data frames until `predecessor` has closed (see
  // the class comment). Call before the connection is published to senders,
  // on its io thread. Does nothing when the predecessor is closed already.
  void follow(const std::shared_ptr<connection_impl>& predecessor);
  // True once the connection is closed for good (its node heard on_closed).
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

  bool initiator() const noexcept { return !dial_address_.empty(); }
  const std::string& dial_address() const noexcept { return dial_address_; }
  const std::string& remote_endpoint() const noexcept { return remote_; }
  // The node registers an established link under its mutex, before anyone
  // else can see the connection.
  void set_generation(std::uint64_t g) noexcept { peer_.generation = g; }

 private:
  enum class state { handshaking, established, draining, closed };
  struct outgoing_large;

  void wake_writer() override;
  void arm_sweep() override;
  void request_grant() noexcept override;
  std::shared_ptr<connection_impl> self() { return std::static_pointer_cast<connection_impl>(shared_from_this()); }

  // All below: io thread only.
  void begin();
  // Starts a deliberate close: closes the rings, then begin_drain.
  void start_close(herald::error reason);
  void begin_drain(herald::error reason);
  void write_close_frame();
  void on_close_written(std::error_code ec, std::size_t n);
  void predecessor_done();
  // The handshake's own frames, through hs_ring_.
  result<void> send_handshake(wire::frame_kind kind, std::span<const std::byte> payload);
  bool rings_drained() const noexcept;
  void do_close(herald::error reason);
  void write_batch();
  void write_more();
  void on_written(std::error_code ec, std::size_t n);
  void read_more();
  // `me` is this connection, held by the pending read: passed down so that
  // handing a frame to the sink costs no reference count per frame.
  void on_read(const std::shared_ptr<connection>& me, std::error_code ec, std::size_t n);
  void on_frame(const std::shared_ptr<connection>& me, const wire::frame_header& h, std::span<const std::byte> payload);
  void deliver(const std::shared_ptr<connection>& me, inbound_frame f);
  // Hands a tell or ask of header h to the sink (`to_sink` calls it):
  // pinned and counted as delivered first (held_backlog), its window given
  // back at once unless the sink holds credit.
  template <class F>
  void hand_up(const std::shared_ptr<connection>& me, const wire::frame_header& h, F&& to_sink) {
    pin(me);  // connection::pins_, invariant 1
    if ((h.flags & wire::frame_flags::fragmented) != 0) {
      delivered_large_.store(delivered_large_.load(std::memory_order_relaxed) + h.payload_length +
                                 wire::large_message_overhead,
                             std::memory_order_release);
    } else {
      delivered_bytes_.store(delivered_bytes_.load(std::memory_order_relaxed) + wire::frame_size(h.payload_length),
                             std::memory_order_release);
      delivered_frames_.store(delivered_frames_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    to_sink();
    if (!node_.sink().holds_credit()) consumed(h);
  }
  void on_hello(std::span<const std::byte> payload);
  void on_proof(std::span<const std::byte> payload);
  void on_close_frame(std::span<const std::byte> payload);
  // Flow control (PROTOCOL.md §6.2), io thread.
  void on_credit(std::span<const std::byte> payload);
  // Whether the peer's window admits the data-ring record `rec` now; takes
  // its share of the window when it does.
  bool admit_data(const ring_buffer::record& rec);
  // Marks a credit frame due when half a window (bytes or asks) has come
  // back since the last grant, or always with `force`; the writer sends it.
  void maybe_grant(bool force = false);
  // Counts a tell or ask against the window granted; false (and the link is
  // closed) when the peer overstepped it.
  bool take_window(const wire::frame_header& h);
  // Large messages (PROTOCOL.md §6.3), io thread. Sending: start_large takes
  // a tag_large record's payload out of the ring into large_out_ and adds
  // its first fragment to the batch; add_fragments adds the next fragments
  // of the messages started in earlier batches, round-robin.
  void start_large(const ring_buffer::record& rec);
  void add_fragments();
  void emit_fragment(outgoing_large& m);
  // Bytes of m's next fragment.
  std::size_t next_chunk(const outgoing_large& m) const noexcept;
  // Destroy the batch's pooled payloads, or every message of large_out_;
  // return their bytes, for release_pooled.
  std::size_t free_batch_external() noexcept;
  std::size_t drop_large_out() noexcept;
  // Receiving: a first fragment (a tell, ask or reply with the fragmented
  // flag), a later one, and the message they complete. Tells and asks to a
  // target with a large message in progress wait in held_for_ behind it, so
  // that each target sees this link's messages in the order they were sent.
  void on_first_fragment(const std::shared_ptr<connection>& me, const wire::frame_header& h,
                         std::span<const std::byte> payload);
  void on_fragment(const std::shared_ptr<connection>& me, const wire::frame_header& h,
                   std::span<const std::byte> payload);
  void complete_large(const std::shared_ptr<connection>& me, std::uint64_t message_id);
  // Counts a fragment read against the pacing window and grants when half
  // of it has been read since the last grant.
  void fragment_read(const wire::frame_header& h);
  // Delivers the front of held_for_[target] up to the next message still in
  // progress.
  void deliver_held(const std::shared_ptr<connection>& me, std::uint64_t target);
  // Closes the link for a broken fragment sequence (a stream error).
  void fragment_error(errc code, const std::string& what);
  // Refuses the peer during the handshake: queues a close frame with the
  // code and reason, stops acting on input, and closes once the frame is
  // written (or after a short grace period).
  void refuse(herald::error reason);
  wire::handshake_role role() const noexcept {
    return initiator() ? wire::handshake_role::initiator : wire::handshake_role::acceptor;
  }
  void schedule_sweep();
  std::string who() const;
  // The error a failed read or write closes the connection with.
  herald::error stream_error(const char* op, std::error_code ec) const;

  node_context& node_;
  asio::io_context& ctx_;
  // The operations of wake_writer() and request_grant(), posted from other
  // threads (see handler_slot).
  detail::handler_slot wake_slot_;
  detail::handler_slot grant_slot_;
  // The stream's reads and writes (stream::use_op_slots).
  detail::handler_slot read_slot_;
  detail::handler_slot write_slot_;
  std::unique_ptr<stream> stream_;
  const std::string dial_address_;
  const std::string remote_;
  std::unique_ptr<asio::steady_timer> handshake_timer_;
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  std::unique_ptr<asio::steady_timer> drain_timer_;
  std::atomic<bool> sweep_armed_{false};
  std::atomic<bool> closing_{false};  // close() requested; set once
  state state_ = state::handshaking;
  std::shared_ptr<std::atomic<std::uint64_t>> node_dropped_;  // the node's frames_dropped()
  // Set (release) once allocate_buffers() has run: from then on another thread
  // may touch the rings (close()).
  std::atomic<bool> buffers_allocated_{false};

  // Memory before authentication: a handshaking connection holds the
  // placeholder rings, hs_ring_ for its own handshake frames and a read
  // buffer of handshake_read_size; the configured rings and read buffer are
  // allocated when the handshake succeeds. The writer sends hs_ring_ first
  // and frees it once it is drained after the handshake.
  static constexpr std::size_t hs_ring_capacity = 4096;
  static constexpr std::size_t handshake_read_size = 8192;
  std::unique_ptr<ring_buffer> hs_ring_;
  std::uint64_t batch_hs_end_ = 0;

  // Drain (io thread): why we close, our close frame and how much of it is
  // written, and whether the peer's close frame has arrived.
  herald::error drain_reason_;
  std::vector<std::byte> close_frame_;
  std::size_t close_written_ = 0;
  bool close_writing_ = false;
  bool close_sent_ = false;
  bool peer_closed_ = false;
  bool was_established_ = false;

  // Replacement order. held_: a predecessor is still closing (set by
  // follow(), cleared on this io thread by predecessor_done()). successor_ is
  // the connection that follows this one, released when this one closes;
  // finished_ is set under link_mutex_, so a follow() that comes too late
  // sees it.
  std::atomic<bool> held_{false};
  bool read_paused_ = false;  // the reader stopped at a data frame while held
  std::mutex link_mutex_;
  std::weak_ptr<connection_impl> successor_;
  std::atomic<bool> finished_{false};

  // Writer: one batch in flight at a time. iov_[iov_first_, iov_count_) is
  // what is left to write; the ring space and pooled payloads of the batch are
  // released when all of it is written.
  static constexpr std::size_t max_iov = 64;
  static constexpr std::size_t max_batch_bytes = 1u << 20;
  std::array<asio::const_buffer, max_iov> iov_;
  std::size_t iov_first_ = 0;
  std::size_t iov_count_ = 0;
  std::vector<pooled_buffer*> batch_external_;
  std::uint64_t batch_control_end_ = 0;
  std::uint64_t batch_reply_end_ = 0;
  std::uint64_t batch_data_end_ = 0;
  std::uint64_t batch_frames_ = 0;
  std::uint64_t batch_bytes_ = 0;
  bool writing_ = false;

  // Flow control (PROTOCOL.md §6.2), io thread. Invariants:
  //  1. sent_bytes_ <= send_limit_bytes_ and sent_asks_ <= send_limit_asks_
  //     until the peer's close frame lifts the limit (peer_closed_): the
  //     writer walks a tell or ask only when it fits (admit_data).
  //  2. credit_blocked_ is true only while the data ring's next record is one
  //     the window refused: the writer ignores the data ring until a credit
  //     frame arrives (on_credit clears it and runs the writer).
  //  3. granted_bytes_ = credit_released_ + window at the last grant, never
  //     decreasing; the peer is within its window while recv_bytes_ <=
  //     granted_bytes_ (likewise for asks, with replies written + abandoned).
  //  4. No grant is missed: grant_due_at_ is granted_bytes_ - window / 2
  //     once a grant is written (the maximum from the moment one is due until
  //     then), and every consumed() that leaves credit_released_ at or past
  //     it asks for a grant. The writer stores it (seq_cst) before it reads
  //     credit_released_ again, a consumer adds (seq_cst) before it reads
  //     it: one of them sees the other's write, so the release that makes a
  //     grant due always leads to one. (Comparing against fixed multiples of
  //     half a window instead stalled a link for good when a grant was taken
  //     just past one: the next multiple lay beyond what the peer could send.)
  // Grants are not ring records: the writer emits credit_frame_ itself, so a
  // grant goes out even while the rings are closed for a drain.
  std::uint64_t send_limit_bytes_ = 0;
  std::uint64_t send_limit_asks_ = 0;
  std::uint64_t sent_bytes_ = 0;
  std::uint64_t sent_asks_ = 0;
  bool credit_blocked_ = false;
  std::uint64_t granted_bytes_ = 0;
  std::uint64_t granted_asks_ = 0;
  std::uint64_t recv_bytes_ = 0;
  std::uint64_t recv_asks_ = 0;
  std::uint64_t replies_written_ = 0;
  std::uint64_t batch_replies_ = 0;
  bool grant_pending_ = false;
  std::atomic<bool> grant_posted_{false};  // a request_grant() is queued on the io thread
  std::vector<std::byte> credit_frame_;
  // Builds every grant of the link: cleared, not reallocated, each time.
  flatbuffers::FlatBufferBuilder credit_builder_{128};
  // The large window (fragmented tells and asks, PROTOCOL.md §6.3), counted
  // like the byte window above: message_length + large_message_overhead per
  // message, at its first fragment.
  std::uint64_t send_limit_large_ = 0;
  std::uint64_t sent_large_ = 0;
  std::uint64_t granted_large_ = 0;
  std::uint64_t recv_large_ = 0;
  // Fragment pacing (PROTOCOL.md §6.3): frame bytes of fragments sent and
  // the peer's limit; fragment bytes read here and the limit granted. A
  // message's first fragment is not held for it (it keeps the ring's order).
  std::uint64_t send_limit_frag_ = 0;
  std::uint64_t sent_frag_ = 0;
  std::uint64_t granted_frag_ = 0;
  std::uint64_t recv_frag_ = 0;
  // A fragment is due now that the pacing window would not admit.
  bool frag_paced_ = false;

  // Large messages, sending side (io thread). Invariants:
  //  1. A message is in large_out_ from the batch that carries its first
  //     fragment until the batch that carries its last one is written; its
  //     fragments go out in order, at most one batch's worth at a time.
  //  2. Every fragment header of the batch in flight is in frag_heads_
  //     (iov_ points at it), indexed by its place among the batch's
  //     fragments.
  struct outgoing_large {
    wire::frame_header header;  // the message's: flags has fragmented, payload_length its length
    pooled_buffer payload;
    std::uint64_t id = 0;
    std::size_t sent = 0;  // bytes handed to fragments so far
  };
  std::vector<std::unique_ptr<outgoing_large>> large_out_;
  // Records of finished messages kept for the next ones, as many as were
  // in progress at once up to spare_capacity: a stream of large messages
  // allocates no records.
  static constexpr std::size_t spare_capacity = 64;
  std::vector<std::unique_ptr<outgoing_large>> spare_out_;
  std::uint64_t next_message_id_ = 1;
  // Fragments of messages started before this batch, at most this many
  // bytes per batch: what a small frame behind them waits for at most.
  static constexpr std::size_t max_batch_fragment_bytes = 128u << 10;
  std::array<std::array<std::byte, wire::frame_header::size + wire::fragment_prefix_size>, max_iov / 2> frag_heads_{};
  std::uint64_t batch_fragments_ = 0;

  // Large messages, receiving side (io thread): the messages in progress by
  // message id, bounded by the large window (tells, asks) and by this
  // side's pending asks (replies: one nobody waits for is read and dropped,
  // up to max_inflight_asks of them at once).
  struct incoming_large {
    wire::frame_header header;  // as delivered: payload_length is the message's length
    pooled_buffer payload;      // empty for a reply nobody waits for
    std::size_t have = 0;
  };
  std::unordered_map<std::uint64_t, incoming_large> large_in_;
  std::size_t large_in_dropping_ = 0;
  struct held_message {
    std::uint64_t message_id = 0;  // of a large message in progress; 0 for a whole frame
    inbound_frame frame;
    bool ready = false;
  };
  // A FIFO of held messages that keeps its storage while it empties and
  // refills (a deque frees a block at every block boundary it pops past).
  class held_queue {
   public:
    bool empty() const noexcept { return head_ == items_.size(); }
    held_message& front() noexcept { return items_[head_]; }
    void push_back(held_message m) { items_.push_back(std::move(m)); }
    void pop_front() noexcept {
      items_[head_++] = held_message{};
      if (head_ != items_.size()) return;
      head_ = 0;
      items_.clear();
      // What a burst held (up to a flow window of small frames) is not kept.
      if (items_.capacity() > kept_capacity) items_ = std::vector<held_message>();
    }
    auto begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    auto end() noexcept { return items_.end(); }

   private:
    static constexpr std::size_t kept_capacity = 256;
    std::vector<held_message> items_;
    std::size_t head_ = 0;
  };
  std::unordered_map<std::uint64_t, held_queue> held_for_;
  // Map nodes taken out, kept for the next messages: of large_in_ as many
  // as were in progress at once up to spare_capacity, of held_for_ the last
  // (one per target with a large message in progress). A stream of large
  // messages allocates no map nodes.
  std::vector<decltype(large_in_)::node_type> spare_large_;
  decltype(held_for_)::node_type spare_held_;

  // Reader: one buffer; frames larger than it are assembled in a pooled
  // buffer (asm_*), with asm_left_ payload-and-padding bytes still to come.
  std::unique_ptr<std::byte[]> read_buf_;
  std::size_t read_cap_;
  std::size_t read_filled_ = 0;
  wire::frame_decoder decoder_;
  bool assembling_ = false;
  wire::frame_header asm_header_;
  pooled_buffer asm_buf_;
  std::size_t asm_have_ = 0;
  std::size_t asm_left_ = 0;

  // Handshake (PROTOCOL.md §5). The transcript is both Hellos exactly as
  // they travelled; the peer's proof is checked against expected_proof_.
  std::vector<std::byte> own_hello_bytes_;
  std::vector<std::byte> peer_hello_bytes_;
  mac_bytes expected_proof_{};
  bool got_hello_ = false;
  bool timed_out_ = false;
  bool refusing_ = false;  // a close frame is queued; input is ignored
  bool closed_by_peer_refusal_ = false;
  herald::error refusal_;
  wire::hello peer_hello_;
};

}  // namespace herald::runtime
