#include "socket_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>
#include <cstring>

namespace herald::runtime {

socket_stream::socket_stream(asio::generic::stream_protocol::socket socket, std::string remote)
    : socket_(std::move(socket)), remote_(std::move(remote)) {}

void socket_stream::async_read_some(std::span<std::byte> buf, completion done) {
  auto h = [d = std::move(done)](std::error_code ec, std::size_t n) mutable { d(ec, n); };
  const auto b = asio::buffer(buf.data(), buf.size());
  if (read_slot_ != nullptr) return socket_.async_read_some(b, detail::with_slot(*read_slot_, std::move(h)));
  socket_.async_read_some(b, std::move(h));
}

void socket_stream::async_write_some(std::span<const asio::const_buffer> bufs, completion done) {
  auto h = [d = std::move(done)](std::error_code ec, std::size_t n) mutable { d(ec, n); };
  if (write_slot_ != nullptr) return socket_.async_write_some(bufs, detail::with_slot(*write_slot_, std::move(h)));
  socket_.async_write_some(bufs, std::move(h));
}

void socket_stream::close() {
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

// ---- TLS ---------------------------------------------------------------------

namespace {

std::string subject_of(X509* cert) {
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

// A DNS subjectAltName equal to name, or (without DNS names) the subject CN.
bool names(X509* cert, std::string_view name) {
  return X509_check_host(cert, name.data(), name.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
}

bool is_ssl_error(const std::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated;
}

// Why a TLS handshake failed, in words an operator can act on.
std::string describe_failure(const std::error_code& ec, SSL* ssl) {
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
      ec == asio::error::connection_reset)
    return "the peer closed the connection during the TLS handshake (a peer without TLS, or one that refused "
           "this "
           "node's certificate: its log says why)";
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      const long v = SSL_get_verify_result(ssl);
      return std::string("the peer's certificate is refused: ") + X509_verify_cert_error_string(v) +
             (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                      v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                  ? " (not issued by this cluster's CA)"
                  : "");
    }
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return "the peer presented no certificate";
    if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA)
      return ec.message() + " (the peer does not trust the CA that issued this node's certificate)";
    if (reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)
      return ec.message() + " (the peer finds this node's certificate expired)";
    if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
      return ec.message() + " (the peer requires a certificate)";
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
        reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_UNEXPECTED_RECORD)
      return ec.message() + " (is the peer running without TLS?)";
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
      return ec.message() + " (this node speaks TLS 1.3 only)";
  }
  return ec.message();
}

}  // namespace

result<std::shared_ptr<asio::ssl::context>> make_tls_context(const tls_config& cfg,
                                                             const std::string& node_name) {
  auto bad = [](std::string why) { return herald::error(errc::invalid_argument, "TLS: " + std::move(why)); };
  if (cfg.ca_file.empty() || cfg.cert_file.empty() || cfg.key_file.empty())
    return bad("tls.enabled needs tls.ca_file, tls.cert_file and tls.key_file");
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_num_tickets(native, 0);  // sessions are never resumed
  std::error_code ec;
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  if (!ec) ctx->load_verify_file(cfg.ca_file, ec);
  if (ec) return bad("cannot load the CA file " + cfg.ca_file + ": " + ec.message());
  ctx->use_certificate_chain_file(cfg.cert_file, ec);
  if (ec) return bad("cannot load the certificate chain " + cfg.cert_file + ": " + ec.message());
  ctx->use_private_key_file(cfg.key_file, asio::ssl::context::pem, ec);
  if (ec) return bad("cannot load the private key " + cfg.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return bad("the private key " + cfg.key_file + " does not match the certificate " + cfg.cert_file);
  }
  X509* own = SSL_CTX_get0_certificate(native);
  if (own == nullptr || !names(own, node_name))
    return bad("the certificate " + cfg.cert_file + " (" + (own ? subject_of(own) : std::string("none")) +
               ") does not name this node '" + node_name +
               "' (a DNS subjectAltName or, without one, the CN)");
  return ctx;
}

struct tls_stream::core {
  core(asio::generic::stream_protocol::socket s, std::shared_ptr<asio::ssl::context> c)
      : tls(std::move(c)), ssl(std::move(s), *tls) {}

  enum class state { idle, handshaking, ready, failed };

  std::shared_ptr<asio::ssl::context> tls;  // before ssl: outlives it
  asio::ssl::stream<asio::generic::stream_protocol::socket> ssl;
  state st = state::idle;
  std::error_code failure;
  bool read_any = false;  // a read has returned data
  bool reported = false;  // the failure hook has run
  // Issued while handshaking.
  std::span<std::byte> read_buf;
  completion read_done;
  std::size_t write_size = 0;
  completion write_done;
  std::vector<std::byte> staging;
  std::string remote;
  failure_hook on_failed;

  void report(const std::string& why) {
    reported = true;
    if (on_failed) on_failed(why);
  }
};

namespace {

// Handlers hold the core only: they may run after the stream is gone.
void issue_read(const std::shared_ptr<tls_stream::core>& c, std::span<std::byte> buf,
                stream::completion done) {
  c->ssl.async_read_some(asio::buffer(buf.data(), buf.size()),
                         [c, d = std::move(done)](std::error_code ec, std::size_t n) mutable {
                           if (!ec) {
                             c->read_any = true;
                           } else if (!c->read_any && !c->reported && is_ssl_error(ec) &&
                                      c->failure != asio::error::operation_aborted) {
                             // TLS 1.3: a client learns that the server refused its
                             // certificate from an alert on its first read, after its own
                             // handshake is done.
                             c->report("TLS peer " + c->remote +
                                       " refused this node: " + describe_failure(ec, c->ssl.native_handle()));
                           }
                           // Nodes close without close_notify (frames carry their
                           // length; herald's close frame ends a conversation): the
                           // end of a TLS stream is an end of file like any other.
                           if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
                           d(ec, n);
                         });
}

void issue_write(const std::shared_ptr<tls_stream::core>& c, std::size_t n, stream::completion done) {
  asio::async_write(
      c->ssl, asio::buffer(c->staging.data(), n),
      [c, d = std::move(done)](std::error_code ec, std::size_t written) mutable { d(ec, written); });
}

}  // namespace

tls_stream::tls_stream(asio::generic::stream_protocol::socket socket, std::string remote,
                       std::shared_ptr<asio::ssl::context> tls, role r, failure_hook on_failed)
    : core_(std::make_shared<core>(std::move(socket), std::move(tls))), remote_(std::move(remote)), role_(r) {
  core_->remote = remote_;
  core_->on_failed = std::move(on_failed);
}

tls_stream::~tls_stream() {
  close();
}

asio::io_context& tls_stream::context() {
  return static_cast<asio::io_context&>(core_->ssl.get_executor().context());
}

void tls_stream::start_handshake() {
  core_->st = core::state::handshaking;
  const auto type = role_ == role::client ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
  core_->ssl.async_handshake(type, [c = core_](std::error_code ec) {
    // A stream closed meanwhile (its state no longer handshaking) counts as
    // aborted, whatever the handshake's own outcome.
    if (ec == asio::error::operation_aborted || c->st != core::state::handshaking)
      ec = asio::error::operation_aborted;
    completion rd = std::move(c->read_done), wr = std::move(c->write_done);
    if (ec) {
      c->st = core::state::failed;
      c->failure = ec;
      if (ec != asio::error::operation_aborted)
        c->report("TLS handshake with " + c->remote +
                  " failed: " + describe_failure(ec, c->ssl.native_handle()));
      if (rd) rd(ec, 0);
      if (wr) wr(ec, 0);
      return;
    }
    c->st = core::state::ready;
    if (rd) issue_read(c, c->read_buf, std::move(rd));
    if (wr) issue_write(c, c->write_size, std::move(wr));
  });
}

void tls_stream::async_read_some(std::span<std::byte> buf, completion done) {
  switch (core_->st) {
    case core::state::ready:
      return issue_read(core_, buf, std::move(done));
    case core::state::failed:
      return asio::post(context(), [d = std::move(done), ec = core_->failure]() mutable { d(ec, 0); });
    case core::state::idle:
      start_handshake();
      [[fallthrough]];
    case core::state::handshaking:
      core_->read_buf = buf;
      core_->read_done = std::move(done);
      return;
  }
}

void tls_stream::async_write_some(std::span<const asio::const_buffer> bufs, completion done) {
  std::size_t total = 0;
  for (const auto& b : bufs) total += b.size();
  const std::size_t n = std::min(total, max_staged);
  if (core_->staging.size() < n)
    core_->staging.resize(std::max(n, std::min(2 * core_->staging.size(), max_staged)));
  std::size_t at = 0;
  for (const auto& b : bufs) {
    const std::size_t take = std::min(b.size(), n - at);
    std::memcpy(core_->staging.data() + at, b.data(), take);
    at += take;
    if (at == n) break;
  }
  switch (core_->st) {
    case core::state::ready:
      return issue_write(core_, n, std::move(done));
    case core::state::failed:
      return asio::post(context(), [d = std::move(done), ec = core_->failure]() mutable { d(ec, 0); });
    case core::state::idle:
      start_handshake();
      [[fallthrough]];
    case core::state::handshaking:
      core_->write_size = n;
      core_->write_done = std::move(done);
      return;
  }
}

void tls_stream::close() {
  // Pending operations complete with operation_aborted; no close_notify is
  // sent (herald's own close frame ends a conversation).
  if (core_->st == core::state::handshaking) core_->st = core::state::failed;
  core_->failure = asio::error::operation_aborted;
  std::error_code ignored;
  auto& sock = core_->ssl.next_layer();
  sock.shutdown(asio::socket_base::shutdown_both, ignored);
  sock.close(ignored);
}

result<void> tls_stream::check_peer_name(std::string_view node_name) const {
  X509* peer = SSL_get1_peer_certificate(core_->ssl.native_handle());
  if (peer == nullptr) return herald::error(errc::auth_failed, "the peer presented no TLS certificate");
  const bool ok = names(peer, node_name);
  const std::string subject = subject_of(peer);
  X509_free(peer);
  if (ok) return {};
  return herald::error(errc::auth_failed, "the peer announces the name '" + std::string(node_name) +
                                              "' but its TLS certificate (" + subject +
                                              ") names another node");
}

}  // namespace herald::runtime
