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
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "address.hpp"
#include "connection_impl.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "herald/runtime/log_limiter.hpp"
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

// The IP address alone: the source a per-address limit counts.
std::string host_of(const generic_endpoint& ep) {
  std::string d = describe(ep);
  const auto colon = d.rfind(':');
  return colon == std::string::npos ? d : d.substr(0, colon);
}

std::uint16_t port_of(const generic_endpoint& ep) {
  const auto* sa = reinterpret_cast<const sockaddr*>(ep.data());
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

// A listen or dial address without a name to resolve: a Unix path or a
// numeric IPv4/IPv6 address (brackets already stripped by parse_address).
// nullopt for a tcp:// address naming a host.
std::optional<generic_endpoint> numeric_endpoint_of(const address& a) {
  if (a.kind == address::scheme::unix_socket) return generic_endpoint(asio::local::stream_protocol::endpoint(a.path));
  std::error_code ec;
  auto ip = asio::ip::make_address(a.host, ec);
  if (ec) return std::nullopt;
  return generic_endpoint(asio::ip::tcp::endpoint(ip, a.port));
}

// For a listener: a numeric address as it is, a host name resolved now (the
// first address it resolves to).
result<generic_endpoint> listen_endpoint_of(const address& a, asio::io_context& ctx) {
  if (auto ep = numeric_endpoint_of(a)) return *ep;
  asio::ip::tcp::resolver resolver(ctx);
  std::error_code ec;
  auto results = resolver.resolve(a.host, std::to_string(a.port), asio::ip::resolver_base::numeric_service, ec);
  if (ec || results.empty())
    return herald::error(errc::invalid_argument, "cannot resolve '" + a.host + "': " +
                                                     (ec ? ec.message() : std::string("no addresses")));
  return generic_endpoint(results.begin()->endpoint());
}

// One dial attempt: resolve (tcp:// names), connect to each address in turn,
// all within the connect timeout. Confined to the io thread of its context.
struct dial_attempt {
  dial_attempt(asio::io_context& ctx, std::string text)
      : address(std::move(text)), socket(ctx), resolver(ctx), timer(ctx) {}

  std::string address;
  generic_socket socket;
  asio::ip::tcp::resolver resolver;
  asio::steady_timer timer;
  std::vector<generic_endpoint> endpoints;
  std::error_code last_error;
  bool finished = false;  // connected, failed or timed out: later completions are ignored
};

}  // namespace

class node::impl final : public node_context {
  // A peer address this node dials, and redials while it is unreachable.
  struct dial {
    std::string address;
    unsigned attempts = 0;
    std::uint64_t node_id = 0;  // learned from the first handshake
    bool in_progress = false;   // a connection of this dial is connecting or live
    bool redial_pending = false;
    std::chrono::steady_clock::time_point started{};  // of the latest attempt
    std::unique_ptr<asio::steady_timer> timer;
  };

  // A listening socket, and the timer of its backoff after accept fails for
  // want of descriptors. Both confined to io thread 0.
  struct listener {
    listener(asio::io_context& ctx, bool is_tcp) : acceptor(ctx), timer(ctx), tcp(is_tcp) {}
    generic_acceptor acceptor;
    asio::steady_timer timer;
    std::chrono::milliseconds backoff{0};
    const bool tcp;
  };
  struct log_limit {
    bool logged = false;
    std::chrono::steady_clock::time_point last;
    std::uint64_t suppressed = 0;
  };

 public:
  impl(node_config cfg, const mac_bytes& key, frame_sink& sink)
      : cfg_(std::move(cfg)),
        key_(key),
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
  const mac_bytes& handshake_key() const noexcept override { return key_; }
  const wire::hello& own_hello() const noexcept override { return hello_; }
  const std::shared_ptr<buffer_pool>& pool() const noexcept override { return pool_; }
  frame_sink& sink() noexcept override { return sink_; }
  const std::shared_ptr<std::atomic<std::uint64_t>>& frames_dropped() const noexcept override {
    return frames_dropped_;
  }

  void log(log_level level, std::string_view message) override {
    if (!cfg_.log && level < log_level::warn) return;
    auto line = log_limit_.admit(message);
    if (!line) return;
    if (cfg_.log) return cfg_.log(level, *line);
    std::fprintf(stderr, "herald[%s] %s: %s\n", cfg_.node_name.c_str(), level == log_level::warn ? "warn" : "error",
                 line->c_str());
  }

  void reject(rejection why, log_level level, std::string_view message) override {
    const auto i = static_cast<std::size_t>(why);
    rejections_[i].fetch_add(1, std::memory_order_relaxed);
    std::uint64_t suppressed = 0;
    {
      std::lock_guard lock(log_mutex_);
      auto& l = log_limits_[i];
      const auto now = std::chrono::steady_clock::now();
      if (l.logged && now - l.last < std::chrono::seconds(1)) {
        ++l.suppressed;
        return;
      }
      l.logged = true;
      l.last = now;
      suppressed = std::exchange(l.suppressed, 0);
    }
    if (suppressed == 0) return log(level, message);
    log(level, std::string(message) + " (and " + std::to_string(suppressed) +
                   " more of this kind since the last such line)");
  }

  admission_stats admission() const {
    admission_stats a;
    auto at = [&](rejection r) { return rejections_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed); };
    a.auth_failed = at(rejection::auth_failed);
    a.handshake_timeout = at(rejection::handshake_timeout);
    a.version_mismatch = at(rejection::version_mismatch);
    a.schema_mismatch = at(rejection::schema_mismatch);
    a.duplicate_link = at(rejection::duplicate_link);
    a.handshake_failed = at(rejection::handshake_failed);
    a.refused_by_peer = at(rejection::refused_by_peer);
    a.frame_errors = at(rejection::frame_error);
    a.pending_cap = at(rejection::pending_cap);
    a.per_source_cap = at(rejection::per_source_cap);
    a.connection_cap = at(rejection::connection_cap);
    a.closed_link_backlog = at(rejection::closed_link_backlog);
    a.accept_errors = at(rejection::accept_error);
    std::lock_guard lock(mutex_);
    a.handshaking = pending_.size();
    return a;
  }

  // Binds every listen address, then names the first in this node's hello,
  // and only then starts accepting: no handshake reads a half-built hello.
  result<void> listen_all() {
    std::vector<listener*> sockets;
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
      auto ep = listen_endpoint_of(*a, io_.at(0));
      if (!ep) return herald::error(errc::invalid_argument, "cannot listen on " + text + ": " + ep.error().message());
      auto acc = std::make_unique<listener>(io_.at(0), a->kind == address::scheme::tcp);
      std::error_code ec;
      if (a->kind == address::scheme::unix_socket) ::unlink(a->path.c_str());
      acc->acceptor.open(ep->protocol(), ec);
      if (!ec && a->kind == address::scheme::tcp) acc->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acc->acceptor.bind(*ep, ec);
      if (!ec) acc->acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return herald::error(errc::io_error, "cannot listen on " + text + ": " + ec.message());
      address bound = *a;
      if (a->kind == address::scheme::tcp) bound.port = port_of(acc->acceptor.local_endpoint(ec));
      else unix_paths_.push_back(a->path);
      bound_.push_back(bound.to_string());
      sockets.push_back(acc.get());
      acceptors_.push_back(std::move(acc));
    }
    if (!bound_.empty()) hello_.listen_address = bound_.front();
    for (const auto& name : inproc_names) {
      auto ok = inproc_listen(*cfg_.inproc, name, io_.at(0),
                              [this](std::unique_ptr<stream> s) { adopt(std::move(s), {}, {}); });
      if (!ok) return ok;
      inproc_names_.push_back(name);
    }
    for (listener* l : sockets) accept_next(*l);
    return {};
  }

  void accept_next(listener& l) {
    auto& ctx = io_.next();
    l.acceptor.async_accept(ctx, [this, &l](std::error_code ec, generic_socket sock) {
      if (ec == asio::error::operation_aborted || stopping()) return;
      if (!ec) {
        l.backoff = std::chrono::milliseconds(0);
        if (l.tcp) sock.set_option(asio::ip::tcp::no_delay(true), ec);
        std::error_code ignored;
        const auto ep = sock.remote_endpoint(ignored);
        std::string remote = l.tcp ? describe(ep) : "unix-peer";
        std::string source = l.tcp ? host_of(ep) : std::string();
        adopt(wrap(std::move(sock), std::move(remote), tls_stream::role::server), {}, std::move(source));
        return accept_next(l);
      }
      const bool out_of_resources = ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
                                    ec.value() == ENOMEM;
      if (!out_of_resources) {
        reject(rejection::accept_error, log_level::warn, "accept failed: " + ec.message());
        return accept_next(l);
      }
      // Out of descriptors or memory: retrying at once would spin (the
      // pending connection stays in the backlog). Back off, doubling.
      l.backoff = std::clamp(l.backoff * 2, accept_backoff_min, accept_backoff_max);
      reject(rejection::accept_error, log_level::error,
             "accept failed: " + ec.message() + "; accepting again in " + std::to_string(l.backoff.count()) + " ms");
      l.timer.expires_after(l.backoff);
      l.timer.async_wait([this, &l](std::error_code tec) {
        if (tec || stopping()) return;
        accept_next(l);
      });
    });
  }

  // Wraps a connected stream in a connection and starts its handshake.
  // source: the peer's IP address for an accepted TCP connection, else empty.
  void adopt(std::unique_ptr<stream> s, std::string dial_address, std::string source) {
    const bool accepted = dial_address.empty();
    std::optional<std::pair<rejection, std::string>> refused;
    {
      // Admission, before anything is allocated for the connection.
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // the stream closes here
      const auto from_source = [&]() -> std::size_t {
        auto it = pending_by_source_.find(source);
        return it == pending_by_source_.end() ? 0 : it->second;
      };
      std::uint64_t large_backlog = 0;
      const std::uint64_t backlog = closed_link_backlog_locked(large_backlog);
      if (pending_.size() + by_node_.size() >= max_connections) {
        refused.emplace(rejection::connection_cap, "connection limit (" + std::to_string(max_connections) + ") reached");
      } else if (cfg_.max_closed_link_backlog != 0 && backlog > cfg_.max_closed_link_backlog) {
        refused.emplace(rejection::closed_link_backlog,
                        std::to_string(backlog) + " bytes of messages from closed links wait for their actors "
                                                  "(node_config::max_closed_link_backlog)");
      } else if (cfg_.max_closed_link_backlog != 0 && large_backlog > resolved_large_window(cfg_)) {
        refused.emplace(rejection::closed_link_backlog,
                        std::to_string(large_backlog) + " bytes of large messages from closed links wait for their "
                                                        "actors (more than one large window, "
                                                        "node_config::flow_window_large_bytes)");
      } else if (accepted && pending_accepted_ >= cfg_.max_pending_handshakes) {
        refused.emplace(rejection::pending_cap, std::to_string(pending_accepted_) +
                                                    " connections are handshaking (node_config::max_pending_handshakes)");
      } else if (accepted && !source.empty() && from_source() >= cfg_.max_pending_per_source) {
        refused.emplace(rejection::per_source_cap, std::to_string(from_source()) + " connections from " + source +
                                                       " are handshaking (node_config::max_pending_per_source)");
      }
    }
    if (refused) {
      const std::string who = s->remote_endpoint();
      s->close();
      reject(refused->first, log_level::warn, "refusing a connection from " + who + ": " + refused->second);
      if (!accepted) dial_failed(dial_address, herald::error(errc::limit_exceeded, refused->second));
      return;
    }
    auto conn = std::make_shared<connection_impl>(*this, std::move(s), std::move(dial_address));
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // the stream closes with conn
      pending_.emplace(conn, source);
      if (accepted) {
        ++pending_accepted_;
        if (!source.empty()) ++pending_by_source_[source];
      }
    }
    conn->start();
  }

  // Under mutex_: what the closed links in closed_backlog_ still hold (the
  // large messages' share in `large`); drops those that hold nothing or are
  // gone.
  std::uint64_t closed_link_backlog_locked(std::uint64_t& large) {
    std::uint64_t total = 0;
    large = 0;
    std::erase_if(closed_backlog_, [&](const std::weak_ptr<connection_impl>& w) {
      auto c = w.lock();
      const std::uint64_t held = c ? c->held_backlog() : 0;
      const std::uint64_t held_large = c ? c->held_large_backlog() : 0;
      total += held;
      large += held_large;
      return held == 0 && held_large == 0;
    });
    return total;
  }

  // Under mutex_: conn leaves the handshaking set.
  void forget_pending(const std::shared_ptr<connection_impl>& conn) {
    if (auto d = dialled_admitted_.find(conn.get()); d != dialled_admitted_.end()) dialled_admitted_.erase(d);
    auto it = pending_.find(conn);
    if (it == pending_.end()) return;
    if (!conn->initiator()) {
      --pending_accepted_;
      if (!it->second.empty()) {
        auto s = pending_by_source_.find(it->second);
        if (s != pending_by_source_.end() && --s->second == 0) pending_by_source_.erase(s);
      }
    }
    pending_.erase(it);
  }

  // Dials text, or, for an address already dialled whose link is down and
  // which waits for its backoff, dials it again now: the cluster layer calls
  // this whenever it has something to send there (gossip, probes), so a
  // healed link comes back at the protocol's pace, not at the backoff's.
  // At most one attempt per dial is in flight, and attempts start at least
  // reconnect_min apart.
  void connect(const std::string& text) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (auto it = dials_.find(text); it != dials_.end()) {
      dial& d = *it->second;
      if (d.in_progress || (d.node_id != 0 && by_node_.count(d.node_id) != 0)) return;
      if (std::chrono::steady_clock::now() - d.started < cfg_.reconnect_min) return;
      if (d.redial_pending) {
        d.redial_pending = false;
        d.timer->cancel();
      }
      start_dial(d);
      return;
    }
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
    d.started = std::chrono::steady_clock::now();
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
        adopt(std::move(*s), text, {});
      });
      return;
    }
    auto at = std::make_shared<dial_attempt>(ctx, text);
    asio::post(ctx, [this, at, a = std::move(*a)] { run_attempt(at, a); });
  }

  // On the attempt's io thread: arms the connect timeout, resolves a host
  // name (again on every attempt: its addresses may have changed), connects.
  void run_attempt(const std::shared_ptr<dial_attempt>& at, const address& a) {
    at->timer.expires_after(cfg_.connect_timeout);
    at->timer.async_wait([this, at, during = numeric_endpoint_of(a) ? std::string("connecting")
                                                                     : "resolving '" + a.host + "' or connecting"](
                             std::error_code ec) {
      if (ec || at->finished) return;
      // Ends the attempt now: a getaddrinfo in progress cannot be
      // interrupted, and its late result is ignored.
      at->resolver.cancel();
      attempt_timed_out(at, during);
    });
    if (auto ep = numeric_endpoint_of(a)) {
      at->endpoints.push_back(*ep);
      return try_endpoint(at, 0);
    }
    at->resolver.async_resolve(
        a.host, std::to_string(a.port), asio::ip::resolver_base::numeric_service,
        [this, at, host = a.host](std::error_code ec, asio::ip::tcp::resolver::results_type results) {
          if (at->finished) return;
          if (ec || results.empty()) {
            resolves_failed_.fetch_add(1, std::memory_order_relaxed);
            const std::string why = "cannot resolve '" + host + "': " + (ec ? ec.message() : "no addresses");
            return finish_attempt(at, herald::error(errc::io_error, "cannot dial " + at->address + ": " + why));
          }
          for (const auto& r : results) at->endpoints.emplace_back(r.endpoint());
          try_endpoint(at, 0);
        });
  }

  void try_endpoint(const std::shared_ptr<dial_attempt>& at, std::size_t i) {
    if (i == at->endpoints.size())
      return finish_attempt(at, herald::error(errc::io_error, "cannot connect to " + at->address + ": " +
                                                                  at->last_error.message()));
    std::error_code ignored;
    at->socket.close(ignored);
    at->socket.async_connect(at->endpoints[i], [this, at, i](std::error_code ec) {
      if (at->finished) return;
      if (ec) {
        at->last_error = ec;
        return try_endpoint(at, i + 1);
      }
      at->finished = true;
      at->timer.cancel();
      const bool tcp = at->endpoints[i].protocol().family() != AF_UNIX;
      if (tcp) at->socket.set_option(asio::ip::tcp::no_delay(true), ec);
      adopt(wrap(std::move(at->socket), at->address, tls_stream::role::client), at->address, {});
    });
  }

  void attempt_timed_out(const std::shared_ptr<dial_attempt>& at, const std::string& during) {
    dials_timed_out_.fetch_add(1, std::memory_order_relaxed);
    finish_attempt(at, herald::error(errc::timeout, "cannot connect to " + at->address + ": timed out " + during +
                                                        " after " + std::to_string(cfg_.connect_timeout.count()) +
                                                        " ms"));
  }

  void finish_attempt(const std::shared_ptr<dial_attempt>& at, const herald::error& e) {
    at->finished = true;
    at->timer.cancel();
    std::error_code ignored;
    at->socket.close(ignored);
    dial_failed(at->address, e);
  }

  // A connected socket as this node's stream: TLS when configured.
  std::unique_ptr<stream> wrap(generic_socket sock, std::string remote, tls_stream::role role) {
    if (!tls_) return std::make_unique<socket_stream>(std::move(sock), std::move(remote));
    return std::make_unique<tls_stream>(std::move(sock), std::move(remote), tls_, role, [this](const std::string& why) {
      tls_failures_.fetch_add(1, std::memory_order_relaxed);
      log(log_level::warn, why);
    });
  }

  // The first failure of a dial in a row is a warning, the retries that
  // follow are info: an unreachable peer is one line, not one per attempt.
  void dial_failed(const std::string& text, const herald::error& e) {
    dials_failed_.fetch_add(1, std::memory_order_relaxed);
    unsigned attempts = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = dials_.find(text);
      if (it == dials_.end()) return;
      dial& d = *it->second;
      attempts = d.attempts;
      d.in_progress = false;
      schedule_redial(d);
    }
    // Outside the lock: the log hook may call into the node.
    log(attempts == 0 ? log_level::warn : log_level::info,
        e.message() + (attempts == 0 ? "; retrying" : " (attempt " + std::to_string(attempts + 1) + ")"));
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
      if (!dd.redial_pending) return;  // connect() dialled it meanwhile
      dd.redial_pending = false;
      if (dd.in_progress || (dd.node_id != 0 && by_node_.count(dd.node_id) != 0)) return;
      start_dial(dd);
    });
  }

  transport_stats stats() const {
    transport_stats s;
    s.dials_failed = dials_failed_.load(std::memory_order_relaxed);
    s.dials_timed_out = dials_timed_out_.load(std::memory_order_relaxed);
    s.resolves_failed = resolves_failed_.load(std::memory_order_relaxed);
    s.tls_handshakes_failed = tls_failures_.load(std::memory_order_relaxed);
    return s;
  }

  result<void> load_tls() {
    if (!cfg_.tls.enabled) return {};
    auto ctx = make_tls_context(cfg_.tls, cfg_.node_name);
    if (!ctx) return std::move(ctx).error();
    tls_ = std::move(*ctx);
    return {};
  }

  // Under mutex_. Whether a new link to a node replaces the live one. Both
  // ends reach the same answer from the same two links (PROTOCOL.md §5.5):
  // the higher incarnation; else the link dialled by the smaller node id;
  // else (one side dialled both) the newer one.
  bool prefer_new(const connection_impl& live, const connection_impl& fresh, std::uint64_t peer,
                  std::uint64_t fresh_incarnation) const {
    if (fresh_incarnation != live.peer().incarnation) return fresh_incarnation > live.peer().incarnation;
    auto dialer = [&](const connection_impl& c) { return c.initiator() ? hello_.node_id : peer; };
    if (dialer(live) != dialer(fresh)) return dialer(fresh) < dialer(live);
    return true;
  }

  result<void> admit_hello(const connection_impl& conn, const wire::hello& h) override {
    std::lock_guard lock(mutex_);
    auto it = by_node_.find(h.node_id);
    if (conn.initiator()) {
      // A second link this node dialled to one node, while the first is live
      // or past its Hello: the dialler keeps the first and refuses the second
      // before its proof, so the acceptor never holds two authenticated links
      // of one dialler (it might establish them in the other order). Only a
      // restart of the peer (a new incarnation) lets the new one through.
      const bool live_mine = it != by_node_.end() && it->second->initiator() &&
                             it->second->peer().incarnation == h.incarnation;
      bool pending_mine = false;
      for (const auto& [other, id] : dialled_admitted_) pending_mine |= id == h.node_id && other != &conn;
      if (live_mine || pending_mine)
        return herald::error(errc::duplicate_link, "this node already has a link it dialled to " + h.node_name +
                                                       (live_mine ? "" : " in its handshake"));
    }
    if (it != by_node_.end() && !prefer_new(*it->second, conn, h.node_id, h.incarnation)) {
      const connection_impl& live = *it->second;
      return herald::error(errc::duplicate_link,
                           "node " + h.node_name + " is already connected over the link " +
                               (live.initiator() ? "dialled by " + hello_.node_name : "dialled by " + h.node_name) +
                               ", which wins (PROTOCOL.md §5.5)");
    }
    if (conn.initiator()) dialled_admitted_.emplace(&conn, h.node_id);
    return {};
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
        forget_pending(conn);
        auto& slot = by_node_[peer];
        // Two links that passed admit_hello concurrently: the same rule.
        if (slot) keep = prefer_new(*slot, *conn, peer, conn->peer().incarnation);
        if (keep) {
          conn->set_generation(++generation_);
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
      if (stopping()) return conn->close(herald::error(errc::system_shutdown, "the node is shutting down"));
      reject(rejection::duplicate_link, log_level::info, "duplicate connection to " + conn->peer().node_name + " closed");
      conn->close(herald::error(errc::duplicate_link, "duplicate connection: the node is already connected"));
      return;
    }
    // After the mutex: a replaced link's announcement can run later than
    // this one on another io thread; sinks order them by generation.
    if (cfg_.on_link_up) cfg_.on_link_up(conn);
    sink_.on_peer_up(conn);
  }

  void on_closed(const std::shared_ptr<connection_impl>& conn, bool was_established,
                 const herald::error& reason) override {
    bool down = false;
    const std::uint64_t peer = conn->peer().node_id;
    {
      std::lock_guard lock(mutex_);
      forget_pending(conn);
      draining_.erase(conn);
      if (conn->held_backlog() != 0 || conn->held_large_backlog() != 0) closed_backlog_.push_back(conn);
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
      for (auto& [c, source] : pending_) conns.push_back(c);
      for (auto& c : draining_) conns.push_back(c);
      for (auto& [text, d] : dials_) d->timer->cancel();
    }
    for (const auto& name : inproc_names_) inproc_unlisten(*cfg_.inproc, name);
    for (auto& acc : acceptors_) {
      asio::post(acc->acceptor.get_executor(), [a = acc.get()] {
        std::error_code ignored;
        a->acceptor.close(ignored);
        a->timer.cancel();
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
      pending_by_source_.clear();
      dialled_admitted_.clear();
      pending_accepted_ = 0;
      draining_.clear();
      dials_.clear();
    }
    acceptors_.clear();
    for (const auto& path : unix_paths_) ::unlink(path.c_str());
  }

  std::vector<std::string> bound_;

 private:
  static constexpr std::size_t max_connections = 4096;
  static constexpr std::chrono::milliseconds accept_backoff_min{100};
  static constexpr std::chrono::milliseconds accept_backoff_max{1000};

  node_config cfg_;
  mac_bytes key_;
  wire::hello hello_;
  std::shared_ptr<buffer_pool> pool_;
  frame_sink& sink_;
  io_threads io_;  // declared after what handlers use; its stop() drains them
  std::vector<std::unique_ptr<listener>> acceptors_;
  std::vector<std::string> inproc_names_;
  std::vector<std::string> unix_paths_;

  mutable std::mutex mutex_;  // connection management only, never on the data path
  std::condition_variable closed_cv_;  // a connection closed (shutdown waits for drains)
  bool stopping_ = false;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection_impl>> by_node_;
  // Handshaking connections, with the source address of accepted TCP ones.
  // Invariants (under mutex_):
  //  1. pending_accepted_ counts the accepted connections in pending_.
  //  2. pending_by_source_[s] counts those with source s, and holds no zero.
  std::unordered_map<std::shared_ptr<connection_impl>, std::string> pending_;
  std::size_t pending_accepted_ = 0;
  std::unordered_map<std::string, std::size_t> pending_by_source_;
  //  3. dialled_admitted_ holds the dialled connections of pending_ whose
  //     Hello admit_hello accepted, with the peer's node id.
  std::unordered_map<const connection_impl*, std::uint64_t> dialled_admitted_;
  std::uint64_t generation_ = 0;  // of the last link registered
  // Closing and no longer in by_node_ (replaced, or a duplicate): shutdown
  // waits for them too.
  std::unordered_set<std::shared_ptr<connection_impl>> draining_;
  // Closed links whose delivered messages were not all handled yet when they
  // closed (node_config::max_closed_link_backlog); pruned at each admission.
  std::vector<std::weak_ptr<connection_impl>> closed_backlog_;
  std::map<std::string, std::unique_ptr<dial>> dials_;
  std::mt19937_64 rng_;
  std::shared_ptr<asio::ssl::context> tls_;  // null without TLS; set before the listeners start
  std::atomic<std::uint64_t> dials_failed_{0};
  std::atomic<std::uint64_t> dials_timed_out_{0};
  std::atomic<std::uint64_t> resolves_failed_{0};
  std::atomic<std::uint64_t> tls_failures_{0};
  std::shared_ptr<std::atomic<std::uint64_t>> frames_dropped_ = std::make_shared<std::atomic<std::uint64_t>>(0);

  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(rejection::count_)> rejections_{};
  std::mutex log_mutex_;  // log_limits_
  // Every line the node logs, by cause (node_config::log_lines_per_second).
  log_limiter log_limit_{cfg_.log_lines_per_second};
  std::array<log_limit, static_cast<std::size_t>(rejection::count_)> log_limits_{};
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
  if (resolved_flow_window(cfg) < wire::frame_size(cfg.max_frame_size))
    return herald::error(errc::invalid_argument,
                         "flow_window_bytes must admit the largest frame (max_frame_size + 32 bytes)");
  if (cfg.flow_window_asks < 2) return herald::error(errc::invalid_argument, "flow_window_asks must be at least 2");
  if (cfg.max_message_size > wire::max_message_size_cap)
    return herald::error(errc::invalid_argument, "max_message_size above 1 GiB");
  if (cfg.fragment_size < 1024)
    return herald::error(errc::invalid_argument, "fragment_size below 1 KiB");
  if (cfg.max_frame_size <= wire::fragment_prefix_size + 1024)
    return herald::error(errc::invalid_argument, "max_frame_size must leave room for a fragment of 1 KiB");
  if (cfg.fragment_window_bytes < 2 * wire::frame_size(resolved_fragment_size(cfg) + wire::fragment_prefix_size))
    return herald::error(errc::invalid_argument, "fragment_window_bytes must admit two fragments");
  if (resolved_large_window(cfg) < cfg.max_message_size + wire::large_message_overhead)
    return herald::error(errc::invalid_argument,
                         "flow_window_large_bytes must admit the largest message (max_message_size + 4096 bytes)");
  if (cfg.node_id == 0) {
    std::random_device rd;
    while (cfg.node_id == 0) cfg.node_id = (std::uint64_t{rd()} << 32) | rd();
  }
  if (cfg.incarnation == 0)
    cfg.incarnation = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  auto key = derive_handshake_key(*secret);
  if (!key) return std::move(key).error();
  if (cfg.max_pending_handshakes == 0 || cfg.max_pending_per_source == 0)
    return herald::error(errc::invalid_argument, "max_pending_handshakes and max_pending_per_source must be positive");
  auto i = std::make_unique<impl>(std::move(cfg), *key, sink);
  if (auto ok = i->load_tls(); !ok) return std::move(ok).error();
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
node::transport_stats node::transport_counters() const { return impl_->stats(); }
admission_stats node::admission() const { return impl_->admission(); }
std::uint64_t node::frames_dropped_unsent() const noexcept {
  return impl_->frames_dropped()->load(std::memory_order_relaxed);
}
void node::shutdown() { impl_->shutdown(); }

}  // namespace herald::runtime
