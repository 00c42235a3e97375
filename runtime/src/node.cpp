#include "herald/runtime/node.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "address.hpp"
#include "connection_impl.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "inproc_stream.hpp"
#include "io_threads.hpp"
#include "node_context.hpp"
#include "socket_stream.hpp"

namespace herald::runtime {

namespace {

using generic_socket = asio::generic::stream_protocol::socket;
using generic_acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;
using generic_endpoint = asio::generic::stream_protocol::endpoint;

// "127.0.0.1:53012", "[::1]:7000" or "unix" for a socket address.
std::string describe(const generic_endpoint& ep) {
  const auto* sa = reinterpret_cast<const sockaddr*>(ep.data());
  char host[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unix-peer";
}

std::uint16_t port_of(const generic_endpoint& ep) {
  const auto* sa = reinterpret_cast<const sockaddr*>(ep.data());
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

result<generic_endpoint> endpoint_of(const address& a) {
  if (a.kind == address::scheme::unix_socket) return generic_endpoint(asio::local::stream_protocol::endpoint(a.path));
  std::error_code ec;
  auto ip = asio::ip::make_address(a.host == "localhost" ? "127.0.0.1" : a.host, ec);
  if (ec) return herald::error(errc::invalid_argument, "'" + a.host + "' is not a numeric IP address");
  return generic_endpoint(asio::ip::tcp::endpoint(ip, a.port));
}

}  // namespace

class node::impl final : public node_context {
  // A peer address this node dials, and redials while it is unreachable.
  struct dial {
    std::string address;
    unsigned attempts = 0;
    std::uint64_t node_id = 0;  // learned from the first handshake
    bool in_progress = false;   // a connection of this dial is connecting or live
    bool redial_pending = false;
    std::unique_ptr<asio::steady_timer> timer;
  };

 public:
  impl(node_config cfg, std::string secret, frame_sink& sink)
      : cfg_(std::move(cfg)),
        secret_(std::move(secret)),
        pool_(std::make_shared<buffer_pool>()),
        sink_(sink),
        io_(cfg_.io_threads),
        rng_(std::random_device{}()) {
    hello_.node_id = cfg_.node_id;
    hello_.incarnation = cfg_.incarnation;
    hello_.schema_hash = cfg_.schema_hash;
    hello_.protocol_version = cfg_.protocol_version;
    hello_.node_name = cfg_.node_name;
  }

  ~impl() override { shutdown(); }

  const node_config& config() const noexcept override { return cfg_; }
  const std::string& secret() const noexcept override { return secret_; }
  const wire::hello& own_hello() const noexcept override { return hello_; }
  const std::shared_ptr<buffer_pool>& pool() const noexcept override { return pool_; }
  frame_sink& sink() noexcept override { return sink_; }
  const std::shared_ptr<std::atomic<std::uint64_t>>& frames_dropped() const noexcept override {
    return frames_dropped_;
  }

  void log(log_level level, std::string_view message) override {
    if (cfg_.log) return cfg_.log(level, message);
    if (level < log_level::warn) return;
    std::fprintf(stderr, "herald[%s] %s: %.*s\n", cfg_.node_name.c_str(), level == log_level::warn ? "warn" : "error",
                 static_cast<int>(message.size()), message.data());
  }

  // Binds every listen address, then names the first in this node's hello,
  // and only then starts accepting: no handshake reads a half-built hello.
  result<void> listen_all() {
    std::vector<std::pair<generic_acceptor*, bool>> sockets;
    std::vector<std::string> inproc_names;
    for (const auto& text : cfg_.listen) {
      auto a = parse_address(text);
      if (!a) return std::move(a).error();
      if (a->kind == address::scheme::inproc) {
        if (cfg_.inproc == nullptr)
          return herald::error(errc::invalid_argument, text + ": node_config::inproc is not set");
        inproc_names.push_back(a->path);
        bound_.push_back(text);
        continue;
      }
      auto ep = endpoint_of(*a);
      if (!ep) return std::move(ep).error();
      auto acc = std::make_unique<generic_acceptor>(io_.at(0));
      std::error_code ec;
      if (a->kind == address::scheme::unix_socket) ::unlink(a->path.c_str());
      acc->open(ep->protocol(), ec);
      if (!ec && a->kind == address::scheme::tcp) acc->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acc->bind(*ep, ec);
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return herald::error(errc::io_error, "cannot listen on " + text + ": " + ec.message());
      address bound = *a;
      if (a->kind == address::scheme::tcp) bound.port = port_of(acc->local_endpoint(ec));
      else unix_paths_.push_back(a->path);
      bound_.push_back(bound.to_string());
      sockets.emplace_back(acc.get(), a->kind == address::scheme::tcp);
      acceptors_.push_back(std::move(acc));
    }
    if (!bound_.empty()) hello_.listen_address = bound_.front();
    for (const auto& name : inproc_names) {
      auto ok = inproc_listen(*cfg_.inproc, name, io_.at(0),
                              [this](std::unique_ptr<stream> s) { adopt(std::move(s), {}); });
      if (!ok) return ok;
      inproc_names_.push_back(name);
    }
    for (auto [acc, tcp] : sockets) accept_next(*acc, tcp);
    return {};
  }

  void accept_next(generic_acceptor& acc, bool tcp) {
    auto& ctx = io_.next();
    acc.async_accept(ctx, [this, &acc, tcp](std::error_code ec, generic_socket sock) {
      if (ec == asio::error::operation_aborted || stopping()) return;
      if (!ec) {
        if (tcp) sock.set_option(asio::ip::tcp::no_delay(true), ec);
        std::error_code ignored;
        std::string remote = tcp ? describe(sock.remote_endpoint(ignored)) : "unix-peer";
        adopt(std::make_unique<socket_stream>(std::move(sock), std::move(remote)), {});
      } else {
        log(log_level::warn, "accept failed: " + ec.message());
      }
      accept_next(acc, tcp);
    });
  }

  // Wraps a connected stream in a connection and starts its handshake.
  void adopt(std::unique_ptr<stream> s, std::string dial_address) {
    auto conn = std::make_shared<connection_impl>(*this, std::move(s), std::move(dial_address));
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // the stream closes with conn
      if (pending_.size() + by_node_.size() >= max_connections) {
        log(log_level::warn, "refusing a connection from " + conn->remote_endpoint() + ": connection limit reached");
        return;
      }
      pending_.insert(conn);
    }
    conn->start();
  }

  void connect(const std::string& text) {
    std::lock_guard lock(mutex_);
    if (stopping_ || dials_.count(text) != 0) return;
    auto d = std::make_unique<dial>();
    d->address = text;
    d->timer = std::make_unique<asio::steady_timer>(io_.at(0));
    dial& ref = *d;
    dials_.emplace(text, std::move(d));
    start_dial(ref);
  }

  // Under mutex_.
  void start_dial(dial& d) {
    d.in_progress = true;
    const std::string text = d.address;
    auto a = parse_address(text);
    if (!a) {
      log(log_level::error, "cannot dial: " + a.error().message());
      return;
    }
    auto& ctx = io_.next();
    if (a->kind == address::scheme::inproc) {
      if (cfg_.inproc == nullptr) {
        log(log_level::error, "cannot dial " + text + ": node_config::inproc is not set");
        return;
      }
      asio::post(ctx, [this, text, path = a->path, &ctx] {
        auto s = inproc_connect(*cfg_.inproc, path, ctx);
        if (!s) return dial_failed(text, s.error());
        adopt(std::move(*s), text);
      });
      return;
    }
    auto ep = endpoint_of(*a);
    if (!ep) {
      log(log_level::error, "cannot dial: " + ep.error().message());
      return;
    }
    auto sock = std::make_shared<generic_socket>(ctx);
    const bool tcp = a->kind == address::scheme::tcp;
    sock->async_connect(*ep, [this, sock, text, tcp](std::error_code ec) {
      if (ec) return dial_failed(text, herald::error(errc::io_error, "cannot connect to " + text + ": " + ec.message()));
      if (tcp) sock->set_option(asio::ip::tcp::no_delay(true), ec);
      adopt(std::make_unique<socket_stream>(std::move(*sock), text), text);
    });
  }

  void dial_failed(const std::string& text, const herald::error& e) {
    log(log_level::info, e.message());
    std::lock_guard lock(mutex_);
    auto it = dials_.find(text);
    if (it == dials_.end()) return;
    it->second->in_progress = false;
    schedule_redial(*it->second);
  }

  // Under mutex_.
  void schedule_redial(dial& d) {
    if (stopping_ || d.in_progress || d.redial_pending) return;
    if (d.node_id != 0 && by_node_.count(d.node_id) != 0) return;  // reachable through another link
    const double base = static_cast<double>(cfg_.reconnect_min.count()) * static_cast<double>(1u << std::min(d.attempts, 16u));
    const double capped = std::min(base, static_cast<double>(cfg_.reconnect_max.count()));
    const double jitter = 0.8 + 0.4 * std::uniform_real_distribution<double>(0, 1)(rng_);
    ++d.attempts;
    d.redial_pending = true;
    d.timer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(capped * jitter)));
    d.timer->async_wait([this, text = d.address](std::error_code ec) {
      if (ec) return;
      std::lock_guard lock(mutex_);
      auto it = dials_.find(text);
      if (it == dials_.end() || stopping_) return;
      dial& dd = *it->second;
      dd.redial_pending = false;
      if (dd.in_progress || (dd.node_id != 0 && by_node_.count(dd.node_id) != 0)) return;
      start_dial(dd);
    });
  }

  void on_established(const std::shared_ptr<connection_impl>& conn) override {
    std::shared_ptr<connection_impl> replaced;
    bool keep = true;
    const std::uint64_t peer = conn->peer().node_id;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        keep = false;
      } else {
        pending_.erase(conn);
        auto& slot = by_node_[peer];
        if (slot) {
          // Simultaneous connects: both sides keep the link dialled by the
          // smaller node id (a node redialling replaces its own older link).
          auto dialer = [&](const connection_impl& c) { return c.initiator() ? hello_.node_id : peer; };
          keep = dialer(*conn) == dialer(*slot) || dialer(*conn) < dialer(*slot);
        }
        if (keep) {
          // The new link's data waits for the old one's drain (order).
          if (slot) conn->follow(slot);
          replaced = std::exchange(slot, conn);
          if (replaced) draining_.insert(replaced);
        } else {
          draining_.insert(conn);
        }
        if (conn->initiator()) {
          if (auto it = dials_.find(conn->dial_address()); it != dials_.end()) {
            it->second->node_id = peer;
            if (keep) it->second->attempts = 0;
          }
        }
      }
    }
    if (replaced) replaced->close(herald::error(errc::node_down, "replaced by a newer connection to the same node"));
    if (!keep) {
      conn->close(herald::error(stopping() ? errc::system_shutdown : errc::node_down,
                                "duplicate connection: the node is already connected"));
      return;
    }
    sink_.on_peer_up(conn);
  }

  void on_closed(const std::shared_ptr<connection_impl>& conn, bool was_established,
                 const herald::error& reason) override {
    bool down = false;
    const std::uint64_t peer = conn->peer().node_id;
    {
      std::lock_guard lock(mutex_);
      pending_.erase(conn);
      draining_.erase(conn);
      if (was_established) {
        auto it = by_node_.find(peer);
        if (it != by_node_.end() && it->second == conn) {
          by_node_.erase(it);
          down = true;
        }
      }
      if (conn->initiator()) {
        if (auto it = dials_.find(conn->dial_address()); it != dials_.end()) {
          it->second->in_progress = false;
          if (peer != 0) it->second->node_id = peer;
        }
      }
      for (auto& [text, d] : dials_) {
        const bool mine = conn->initiator() && text == conn->dial_address();
        if (mine || (down && d->node_id == peer)) schedule_redial(*d);
      }
      closed_cv_.notify_all();
    }
    if (down) sink_.on_peer_down(conn->peer(), reason);
  }

  std::shared_ptr<connection> connection_to(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = by_node_.find(id);
    return it == by_node_.end() ? nullptr : it->second;
  }

  std::vector<std::shared_ptr<connection>> connections() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<connection>> out;
    for (const auto& [id, c] : by_node_) out.push_back(c);
    return out;
  }

  bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  void shutdown() {
    std::vector<std::shared_ptr<connection_impl>> conns;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& [id, c] : by_node_) conns.push_back(c);
      for (auto& c : pending_) conns.push_back(c);
      for (auto& c : draining_) conns.push_back(c);
      for (auto& [text, d] : dials_) d->timer->cancel();
    }
    for (const auto& name : inproc_names_) inproc_unlisten(*cfg_.inproc, name);
    for (auto& acc : acceptors_) {
      asio::post(acc->get_executor(), [a = acc.get()] {
        std::error_code ignored;
        a->close(ignored);
      });
    }
    for (auto& c : conns) c->close(herald::error(errc::system_shutdown, "node " + cfg_.node_name + " shutting down"));
    // Let established links drain (bounded by drain_timeout) before the io
    // threads stop. An io thread cannot wait for its own connections.
    if (!detail::on_io_thread()) {
      std::unique_lock lock(mutex_);
      closed_cv_.wait_until(lock, std::chrono::steady_clock::now() + cfg_.drain_timeout + std::chrono::seconds(1), [&] {
        return std::all_of(conns.begin(), conns.end(), [](const auto& c) { return c->finished(); });
      });
    }
    // What has not finished by now closes without its drain, while the io
    // threads still run its handlers (stop() below runs the last of them).
    for (auto& c : conns)
      if (!c->finished()) c->abort(herald::error(errc::system_shutdown, "node " + cfg_.node_name + " shut down before the link drained"));
    conns.clear();
    io_.stop();
    {
      std::lock_guard lock(mutex_);
      by_node_.clear();
      pending_.clear();
      draining_.clear();
      dials_.clear();
    }
    acceptors_.clear();
    for (const auto& path : unix_paths_) ::unlink(path.c_str());
  }

  std::vector<std::string> bound_;

 private:
  static constexpr std::size_t max_connections = 4096;

  node_config cfg_;
  std::string secret_;
  wire::hello hello_;
  std::shared_ptr<buffer_pool> pool_;
  frame_sink& sink_;
  io_threads io_;  // declared after what handlers use; its stop() drains them
  std::vector<std::unique_ptr<generic_acceptor>> acceptors_;
  std::vector<std::string> inproc_names_;
  std::vector<std::string> unix_paths_;

  mutable std::mutex mutex_;  // connection management only, never on the data path
  std::condition_variable closed_cv_;  // a connection closed (shutdown waits for drains)
  bool stopping_ = false;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection_impl>> by_node_;
  std::unordered_set<std::shared_ptr<connection_impl>> pending_;  // handshaking
  // Closing and no longer in by_node_ (replaced, or a duplicate): shutdown
  // waits for them too.
  std::unordered_set<std::shared_ptr<connection_impl>> draining_;
  std::map<std::string, std::unique_ptr<dial>> dials_;
  std::mt19937_64 rng_;
  std::shared_ptr<std::atomic<std::uint64_t>> frames_dropped_ = std::make_shared<std::atomic<std::uint64_t>>(0);
};

result<std::unique_ptr<node>> node::start(node_config cfg, frame_sink& sink) {
  auto secret = load_secret(cfg.secret);
  if (!secret) return std::move(secret).error();
  auto pow2 = [](std::size_t n) { return n != 0 && (n & (n - 1)) == 0; };
  if (!pow2(cfg.ring_capacity) || !pow2(cfg.control_ring_capacity) || cfg.control_ring_capacity < 4096)
    return herald::error(errc::invalid_argument, "ring capacities must be powers of two (control ring >= 4 KiB)");
  if (!pow2(cfg.max_inflight_asks) || cfg.max_inflight_asks > (std::size_t{1} << request_table::slot_bits))
    return herald::error(errc::invalid_argument, "max_inflight_asks must be a power of two up to 2^20");
  if (cfg.max_frame_size > wire::max_frame_size_cap)
    return herald::error(errc::invalid_argument, "max_frame_size above 1 GiB");
  if (cfg.node_id == 0) {
    std::random_device rd;
    while (cfg.node_id == 0) cfg.node_id = (std::uint64_t{rd()} << 32) | rd();
  }
  if (cfg.incarnation == 0)
    cfg.incarnation = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  auto i = std::make_unique<impl>(std::move(cfg), std::move(*secret), sink);
  if (auto ok = i->listen_all(); !ok) return std::move(ok).error();
  return std::unique_ptr<node>(new node(std::move(i)));
}

node::node(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
node::~node() { shutdown(); }

std::uint64_t node::id() const noexcept { return impl_->own_hello().node_id; }
std::uint64_t node::incarnation() const noexcept { return impl_->own_hello().incarnation; }
const std::string& node::name() const noexcept { return impl_->own_hello().node_name; }
std::vector<std::string> node::listen_addresses() const { return impl_->bound_; }
void node::connect(const std::string& address) { impl_->connect(address); }
std::shared_ptr<connection> node::connection_to(std::uint64_t id) const { return impl_->connection_to(id); }
std::vector<std::shared_ptr<connection>> node::connections() const { return impl_->connections(); }
buffer_pool::stats node::pool_stats() const { return impl_->pool()->snapshot(); }
std::uint64_t node::frames_dropped_unsent() const noexcept {
  return impl_->frames_dropped()->load(std::memory_order_relaxed);
}
void node::shutdown() { impl_->shutdown(); }

}  // namespace herald::runtime
