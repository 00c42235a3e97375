#include "socket_stream.hpp"

namespace herald::runtime {

socket_stream::socket_stream(asio::generic::stream_protocol::socket socket, std::string remote)
    : socket_(std::move(socket)), remote_(std::move(remote)) {}

void socket_stream::async_read_some(std::span<std::byte> buf, completion done) {
  socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                          [d = std::move(done)](std::error_code ec, std::size_t n) mutable { d(ec, n); });
}

void socket_stream::async_write_some(std::span<const asio::const_buffer> bufs, completion done) {
  socket_.async_write_some(bufs, [d = std::move(done)](std::error_code ec, std::size_t n) mutable { d(ec, n); });
}

void socket_stream::close() {
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace herald::runtime
