#pragma once

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "herald/result.hpp"
#include "herald/runtime/detail/handler_slot.hpp"
#include "herald/runtime/detail/unique_function.hpp"

namespace herald::runtime {

// A connected byte stream: a TCP or Unix socket, or one end of an in-process
// pipe. Every transport looks like this to a connection. Confined to the
// io thread of its io_context; completions run there too.
class stream {
 public:
  using completion = detail::unique_function<void(std::error_code, std::size_t)>;

  virtual ~stream() = default;

  // Reads at least one byte into buf (or fails: asio::error::eof at the end).
  virtual void async_read_some(std::span<std::byte> buf, completion done) = 0;
  // Writes a prefix of the buffers (at most 64 of them), one vectored write.
  // The buffers must stay valid until done runs.
  virtual void async_write_some(std::span<const asio::const_buffer> bufs, completion done) = 0;
  // Memory for the operations the stream starts on its socket: its reads
  // take `read`, its writes `write` (a thread's Asio cache, shared with
  // every other operation of the thread, frees and allocates as their sizes
  // alternate). The slots must outlive every operation: the connection that
  // owns the stream owns them, and each completion holds the connection. A
  // stream without socket operations of its own ignores them.
  virtual void use_op_slots(detail::handler_slot& read, detail::handler_slot& write) {
    (void)read;
    (void)write;
  }
  // Cancels pending operations (they complete with an error) and closes.
  virtual void close() = 0;
  virtual std::string remote_endpoint() const = 0;
  // Checks that the peer is entitled to the node name its hello announces.
  // A TLS stream checks the name against the peer's certificate
  // (errc::auth_failed when it names another node); other streams have no
  // say and accept any name.
  virtual result<void> check_peer_name(std::string_view /*node_name*/) const { return {}; }
  virtual asio::io_context& context() = 0;
};

}  // namespace herald::runtime
