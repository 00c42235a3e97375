#include "inproc_stream.hpp"

#include <asio/error.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

namespace herald::runtime {

namespace {

constexpr std::size_t pipe_capacity = 256u << 10;

void post_completion(asio::io_context* ctx, stream::completion done, std::error_code ec, std::size_t n) {
  asio::post(*ctx, [d = std::move(done), ec, n]() mutable { d(ec, n); });
}

// One direction of a pipe: a bounded byte queue with at most one parked read
// (its reader's) and one parked write (its writer's). Guarded by the pipe's
// mutex.
struct channel {
  std::vector<std::byte> bytes = std::vector<std::byte>(pipe_capacity);
  std::size_t head = 0;
  std::size_t count = 0;
  bool writer_closed = false;  // reader gets eof once drained
  bool reader_closed = false;  // writes fail with broken_pipe

  std::span<std::byte> read_buf;
  stream::completion read_done;
  asio::io_context* read_ctx = nullptr;

  std::span<const asio::const_buffer> write_bufs;
  stream::completion write_done;
  asio::io_context* write_ctx = nullptr;

  std::size_t push(std::span<const asio::const_buffer> bufs) {
    std::size_t n = 0;
    for (const auto& b : bufs) {
      const auto* src = static_cast<const std::byte*>(b.data());
      std::size_t left = b.size();
      while (left != 0 && count < bytes.size()) {
        const std::size_t tail = (head + count) % bytes.size();
        const std::size_t chunk = std::min({left, bytes.size() - count, bytes.size() - tail});
        std::memcpy(bytes.data() + tail, src, chunk);
        src += chunk;
        left -= chunk;
        count += chunk;
        n += chunk;
      }
      if (left != 0) break;
    }
    return n;
  }

  std::size_t pop(std::span<std::byte> out) {
    std::size_t n = 0;
    while (n < out.size() && count != 0) {
      const std::size_t chunk = std::min({out.size() - n, count, bytes.size() - head});
      std::memcpy(out.data() + n, bytes.data() + head, chunk);
      head = (head + chunk) % bytes.size();
      count -= chunk;
      n += chunk;
    }
    return n;
  }

  // A parked read can proceed: data arrived or the writer closed.
  void serve_read() {
    if (!read_done) return;
    if (count != 0) {
      const std::size_t n = pop(read_buf);
      post_completion(read_ctx, std::move(read_done), {}, n);
    } else if (writer_closed) {
      post_completion(read_ctx, std::move(read_done), asio::error::eof, 0);
    }
  }

  // A parked write can proceed: space freed or the reader closed.
  void serve_write() {
    if (!write_done) return;
    if (reader_closed) {
      post_completion(write_ctx, std::move(write_done), asio::error::broken_pipe, 0);
    } else if (count < bytes.size()) {
      const std::size_t n = push(write_bufs);
      post_completion(write_ctx, std::move(write_done), {}, n);
    }
  }
};

struct pipe {
  std::mutex mutex;
  channel dir[2];  // dir[i]: written by end i, read by end 1 - i
};

// One end of a pipe. Confined to its io thread; the shared pipe state is
// guarded by the pipe's mutex (this transport serves tests and co-located
// nodes, not the hot path between machines).
class inproc_stream final : public stream {
 public:
  inproc_stream(std::shared_ptr<pipe> p, int end, asio::io_context& ctx, std::string remote)
      : pipe_(std::move(p)), end_(end), ctx_(ctx), remote_(std::move(remote)) {}
  ~inproc_stream() override { close(); }

  void async_read_some(std::span<std::byte> buf, completion done) override {
    std::lock_guard lock(pipe_->mutex);
    channel& in = pipe_->dir[1 - end_];
    if (closed_) return post_completion(&ctx_, std::move(done), asio::error::operation_aborted, 0);
    in.read_buf = buf;
    in.read_done = std::move(done);
    in.read_ctx = &ctx_;
    in.serve_read();
    in.serve_write();  // reading may have made room for the peer's parked write
  }

  void async_write_some(std::span<const asio::const_buffer> bufs, completion done) override {
    std::lock_guard lock(pipe_->mutex);
    channel& out = pipe_->dir[end_];
    if (closed_) return post_completion(&ctx_, std::move(done), asio::error::operation_aborted, 0);
    out.write_bufs = bufs;
    out.write_done = std::move(done);
    out.write_ctx = &ctx_;
    out.serve_write();
    out.serve_read();  // the peer's parked read may now have data
  }

  void close() override {
    std::lock_guard lock(pipe_->mutex);
    if (closed_) return;
    closed_ = true;
    channel& out = pipe_->dir[end_];
    channel& in = pipe_->dir[1 - end_];
    out.writer_closed = true;
    if (out.write_done) post_completion(out.write_ctx, std::move(out.write_done), asio::error::operation_aborted, 0);
    out.serve_read();
    in.reader_closed = true;
    in.count = 0;
    if (in.read_done) post_completion(in.read_ctx, std::move(in.read_done), asio::error::operation_aborted, 0);
    in.serve_write();
  }

  std::string remote_endpoint() const override { return remote_; }
  asio::io_context& context() override { return ctx_; }

 private:
  std::shared_ptr<pipe> pipe_;
  int end_;
  asio::io_context& ctx_;
  std::string remote_;
  bool closed_ = false;  // guarded by pipe_->mutex
};

}  // namespace

result<void> inproc_listen(inproc_network& net, const std::string& name, asio::io_context& ctx,
                           detail::inproc_registry::accept_fn accept) {
  auto& reg = net.registry();
  std::lock_guard lock(reg.mutex);
  if (!reg.listeners.emplace(name, detail::inproc_registry::listener{&ctx, std::move(accept)}).second)
    return herald::error(errc::invalid_argument, "inproc://" + name + " is already listening");
  return {};
}

void inproc_unlisten(inproc_network& net, const std::string& name) {
  auto& reg = net.registry();
  std::lock_guard lock(reg.mutex);
  reg.listeners.erase(name);
}

result<std::unique_ptr<stream>> inproc_connect(inproc_network& net, const std::string& name, asio::io_context& ctx) {
  auto& reg = net.registry();
  std::lock_guard lock(reg.mutex);
  auto it = reg.listeners.find(name);
  if (it == reg.listeners.end())
    return herald::error(errc::io_error, "inproc://" + name + ": connection refused (no listener)");
  auto p = std::make_shared<pipe>();
  std::unique_ptr<stream> theirs = std::make_unique<inproc_stream>(p, 1, *it->second.context, "inproc-peer");
  std::unique_ptr<stream> mine = std::make_unique<inproc_stream>(p, 0, ctx, "inproc://" + name);
  asio::post(*it->second.context,
             [accept = it->second.accept, s = std::move(theirs)]() mutable { accept(std::move(s)); });
  return mine;
}

}  // namespace herald::runtime

namespace herald::runtime {
inproc_network::inproc_network() : registry_(std::make_unique<detail::inproc_registry>()) {}
inproc_network::~inproc_network() = default;
}  // namespace herald::runtime
