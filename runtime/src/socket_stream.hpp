#pragma once

#include <asio/generic/stream_protocol.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "herald/runtime/node_config.hpp"
#include "stream.hpp"

namespace herald::runtime {

// A stream over a TCP or Unix domain socket (asio's generic stream socket
// holds either). Confined to its io thread.
class socket_stream final : public stream {
 public:
  socket_stream(asio::generic::stream_protocol::socket socket, std::string remote);

  void async_read_some(std::span<std::byte> buf, completion done) override;
  void async_write_some(std::span<const asio::const_buffer> bufs, completion done) override;
  void use_op_slots(detail::handler_slot& read, detail::handler_slot& write) override {
    read_slot_ = &read;
    write_slot_ = &write;
  }
  void close() override;
  std::string remote_endpoint() const override { return remote_; }
  asio::io_context& context() override {
    return static_cast<asio::io_context&>(socket_.get_executor().context());
  }

 private:
  asio::generic::stream_protocol::socket socket_;
  std::string remote_;
  detail::handler_slot* read_slot_ = nullptr;
  detail::handler_slot* write_slot_ = nullptr;
};

// The TLS settings of a node, loaded once and shared by its TLS streams:
// TLS 1.3 only, the peer's certificate required and verified against the
// cluster CA, no session tickets. Errors: invalid_argument naming the file
// that cannot be read or the key that does not match, or a certificate that
// does not name node_name.
result<std::shared_ptr<asio::ssl::context>> make_tls_context(const tls_config& cfg,
                                                             const std::string& node_name);

// A TLS 1.3 stream over a TCP or Unix domain socket. The TLS handshake starts
// with the first read or write (so that the connection's handshake timeout
// bounds it); operations issued meanwhile wait for it and fail with its error
// if it fails. A failed handshake is reported once to on_failed with a
// sentence naming the reason (an unknown CA, an expired or missing
// certificate, a peer without TLS). Confined to its io thread.
//
// Writes copy up to 64 KiB of the buffers into one staging buffer and write
// all of it: Asio's SSL layer writes one buffer per operation, so small
// frames would otherwise each cost a TLS record and a system call.
class tls_stream final : public stream {
 public:
  enum class role { client, server };
  using failure_hook = std::function<void(const std::string&)>;

  tls_stream(asio::generic::stream_protocol::socket socket, std::string remote,
             std::shared_ptr<asio::ssl::context> tls, role r, failure_hook on_failed);
  ~tls_stream() override;

  void async_read_some(std::span<std::byte> buf, completion done) override;
  void async_write_some(std::span<const asio::const_buffer> bufs, completion done) override;
  void close() override;
  std::string remote_endpoint() const override { return remote_; }
  asio::io_context& context() override;
  result<void> check_peer_name(std::string_view node_name) const override;

  static constexpr std::size_t max_staged = 64u << 10;

  // What pending handlers share with the stream: Asio's SSL operations refer
  // to the SSL stream until they complete, which may be after this object is
  // gone (a connection drops its stream with a read still pending).
  struct core;

 private:
  void start_handshake();

  std::shared_ptr<core> core_;
  std::string remote_;
  role role_;
};

}  // namespace herald::runtime
