#pragma once

#include <asio/generic/stream_protocol.hpp>

#include "stream.hpp"

namespace herald::runtime {

// A stream over a TCP or Unix domain socket (asio's generic stream socket
// holds either). Confined to its io thread.
class socket_stream final : public stream {
 public:
  socket_stream(asio::generic::stream_protocol::socket socket, std::string remote);

  void async_read_some(std::span<std::byte> buf, completion done) override;
  void async_write_some(std::span<const asio::const_buffer> bufs, completion done) override;
  void close() override;
  std::string remote_endpoint() const override { return remote_; }
  asio::io_context& context() override { return static_cast<asio::io_context&>(socket_.get_executor().context()); }

 private:
  asio::generic::stream_protocol::socket socket_;
  std::string remote_;
};

}  // namespace herald::runtime
