#pragma once

#include <asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "auth.hpp"
#include "herald/runtime/connection.hpp"
#include "herald/wire/frame_decoder.hpp"
#include "herald/wire/handshake.hpp"
#include "node_context.hpp"
#include "stream.hpp"

namespace herald::runtime {

// The connection over one stream: handshake, writer task, reader, deadline
// sweep. Its state below the public connection API is confined to the io
// thread of its stream; start/close/wake_writer/arm_sweep may be called from
// any thread and post there.
class connection_impl final : public connection {
 public:
  // dial_address: the address this node dialled, empty for an accepted one.
  connection_impl(node_context& node, std::unique_ptr<stream> s, std::string dial_address);
  ~connection_impl() override;

  void start();
  void close(herald::error reason) override;

  bool initiator() const noexcept { return !dial_address_.empty(); }
  const std::string& dial_address() const noexcept { return dial_address_; }
  const std::string& remote_endpoint() const noexcept { return remote_; }
  // The node registers an established link under its mutex, before anyone
  // else can see the connection.
  void set_generation(std::uint64_t g) noexcept { peer_.generation = g; }

 private:
  enum class state { handshaking, established, closed };

  void wake_writer() override;
  void arm_sweep() override;
  std::shared_ptr<connection_impl> self() { return std::static_pointer_cast<connection_impl>(shared_from_this()); }

  // All below: io thread only.
  void begin();
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
  void on_hello(std::span<const std::byte> payload);
  void on_proof(std::span<const std::byte> payload);
  void on_close_frame(std::span<const std::byte> payload);
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
  std::unique_ptr<stream> stream_;
  const std::string dial_address_;
  const std::string remote_;
  std::unique_ptr<asio::steady_timer> handshake_timer_;
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  std::atomic<bool> sweep_armed_{false};
  std::atomic<bool> closing_{false};  // close() requested; set once
  state state_ = state::handshaking;

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
  std::uint64_t batch_data_end_ = 0;
  std::uint64_t batch_frames_ = 0;
  std::uint64_t batch_bytes_ = 0;
  bool writing_ = false;

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
