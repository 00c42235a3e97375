// peer-rawtcp: the physical limit of framed messages on this machine, with no
// runtime in the way. Two processes on loopback (TCP 127.0.0.1 or a Unix
// socket), blocking sockets, one thread per connection.
//
// Frame: u32 little-endian payload length, then the payload.
//
// Settings:
//   tell     the sender (child process) copies each payload behind its length
//            prefix into a 256 KiB batch buffer (or one frame, if larger) and
//            sends the batch with ONE write(); the receiver reads up to 1 MiB
//            per read(), walks every frame, checks its length and its last
//            byte, and counts it. --connections C: C sockets, C sender and C
//            receiver threads. TCP_NODELAY on, default kernel buffers.
//   ask      the latency floor: the client keeps --inflight K frames in
//            flight (first 8 payload bytes: the request slot); the server
//            reads, checks the frames and echoes every byte it read with one
//            write. The client answers all replies of one read() with one
//            write. TCP_NODELAY on.
//   reqresp  ask with 1 in flight and N-byte requests and replies, 1 client.
// Not implemented (exit 2): local-tell, local-ask, --transport inproc.
#include "alloc_counter.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "peer_cli.hpp"
#include "rtt_window.hpp"
#include "socket_util.hpp"
#include "throughput_window.hpp"

namespace {

using namespace herald::bench;

constexpr const char* impl = "rawtcp";
constexpr std::size_t batch_bytes = 256 * 1024;
constexpr std::size_t read_bytes = 1024 * 1024;
constexpr unsigned char fill_byte = 0x5a;
constexpr unsigned char last_byte = 0xa5;
constexpr std::size_t header = 4;

std::vector<std::string> child_args(const peer_options& o, const char* role) {
  return {o.scenario, "--role", role, "--size", std::to_string(o.size), "--transport", o.transport,
          "--connections", std::to_string(o.connections), "--seconds", "1"};
}

std::vector<char> make_payload(std::size_t size) {
  std::vector<char> p(size, static_cast<char>(fill_byte));
  if (size > 0) p.back() = static_cast<char>(last_byte);
  return p;
}

// Walks a byte stream of frames that must all carry `size` payload bytes.
// Confined to its connection's receiving thread.
class frame_walker {
 public:
  explicit frame_walker(std::size_t size) : size_(size) {}

  // Consumes [p, p + n); false on a malformed frame.
  bool feed(const unsigned char* p, std::size_t n) {
    while (n > 0) {
      if (!in_body_ && have_ == 0) {
        // Fast path: whole frames inside this read.
        while (n >= header + size_) {
          if (get_u32le(p) != size_) return bad(get_u32le(p));
          if (size_ > 0 && p[header + size_ - 1] != last_byte) return bad(size_);
          p += header + size_;
          n -= header + size_;
          ++frames_;
        }
        if (n == 0) break;
      }
      if (!in_body_) {
        std::size_t take = std::min(header - have_, n);
        std::memcpy(hdr_ + have_, p, take);
        have_ += take;
        p += take;
        n -= take;
        if (have_ < header) break;
        have_ = 0;
        if (get_u32le(hdr_) != size_) return bad(get_u32le(hdr_));
        left_ = size_;
        in_body_ = true;
        if (left_ == 0) {
          in_body_ = false;
          ++frames_;
        }
        continue;
      }
      std::size_t take = std::min(left_, n);
      left_ -= take;
      p += take;
      n -= take;
      if (left_ == 0) {
        if (p[-1] != last_byte) return bad(size_);
        in_body_ = false;
        ++frames_;
      }
    }
    return true;
  }

  std::uint64_t frames() const { return frames_; }

 private:
  bool bad(std::uint32_t len) {
    std::fprintf(stderr, "%s: malformed frame (length %u, expected %zu) after %llu frames\n", impl, len, size_,
                 static_cast<unsigned long long>(frames_));
    return false;
  }

  std::size_t size_;
  unsigned char hdr_[header] = {};
  std::size_t have_ = 0;
  std::size_t left_ = 0;
  bool in_body_ = false;
  std::uint64_t frames_ = 0;
};

int run_tell_sender(const peer_options& o) {
  std::string endpoint;
  int listener = listen_on(o.transport, endpoint);
  announce_ready(endpoint);
  std::vector<std::thread> senders;
  for (int c = 0; c < o.connections; ++c) {
    int fd = accept_one(listener, o.transport);
    senders.emplace_back([fd, size = o.size] {
      std::vector<char> payload = make_payload(size);
      std::size_t frame = header + size;
      std::size_t per_batch = std::max<std::size_t>(1, batch_bytes / frame);
      std::vector<char> batch(per_batch * frame);
      for (;;) {
        char* p = batch.data();
        for (std::size_t i = 0; i < per_batch; ++i) {
          put_u32le(p, static_cast<std::uint32_t>(size));
          std::memcpy(p + header, payload.data(), size);
          p += frame;
        }
        if (!write_all(fd, batch.data(), batch.size())) break;
      }
      close(fd);
    });
  }
  for (auto& t : senders) t.join();
  return 0;
}

struct alignas(64) padded_counter {
  std::atomic<std::uint64_t> n{0};
};

int run_tell(const peer_options& o) {
  if (o.transport == "inproc") unsupported(impl, "--transport inproc");
  child_process sender(child_args(o, "tell-sender"));
  auto counters = std::make_unique<padded_counter[]>(static_cast<std::size_t>(o.connections));
  std::atomic<bool> failed{false};
  std::vector<std::thread> receivers;
  for (int c = 0; c < o.connections; ++c) {
    int fd = connect_to(o.transport, sender.endpoint());
    receivers.emplace_back([fd, &o, &failed, counter = &counters[static_cast<std::size_t>(c)].n] {
      std::vector<unsigned char> buf(read_bytes);
      frame_walker walker(o.size);
      for (;;) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n <= 0) break;
        if (!walker.feed(buf.data(), static_cast<std::size_t>(n))) {
          failed = true;
          break;
        }
        counter->store(walker.frames(), std::memory_order_relaxed);
      }
      close(fd);
    });
  }
  auto received = [&] {
    std::uint64_t sum = 0;
    for (int c = 0; c < o.connections; ++c) sum += counters[static_cast<std::size_t>(c)].n.load(std::memory_order_relaxed);
    return sum;
  };
  window_result w = measure_window(received, o, allocations);
  sender.stop();
  if (o.transport == "unix") unlink(sender.endpoint().c_str());
  for (auto& t : receivers) t.join();
  if (failed || w.msgs == 0) {
    std::fprintf(stderr, "%s: tell failed (%s)\n", impl, failed ? "bad frame" : "nothing received");
    return 1;
  }
  print_tell(impl, o, w);
  return 0;
}

int run_echo_server(const peer_options& o) {
  std::string endpoint;
  int listener = listen_on(o.transport, endpoint);
  announce_ready(endpoint);
  int fd = accept_one(listener, o.transport);
  std::vector<unsigned char> buf(read_bytes);
  frame_walker walker(o.size);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    if (!walker.feed(buf.data(), static_cast<std::size_t>(n))) return 1;
    if (!write_all(fd, reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n))) break;
  }
  return 0;
}

// Reads reply frames, handing each request slot (first 8 payload bytes) to
// on_reply. Confined to the client thread.
class reply_walker {
 public:
  explicit reply_walker(std::size_t size) : size_(size) {}

  template <class OnReply>
  bool feed(const unsigned char* p, std::size_t n, OnReply&& on_reply) {
    constexpr std::size_t prefix = header + 8;
    while (n > 0) {
      if (have_ < prefix) {
        std::size_t take = std::min(prefix - have_, n);
        std::memcpy(prefix_ + have_, p, take);
        have_ += take;
        p += take;
        n -= take;
        if (have_ < prefix) break;
        if (get_u32le(prefix_) != size_) return false;
        left_ = size_ - 8;
      }
      std::size_t take = std::min(left_, n);
      left_ -= take;
      p += take;
      n -= take;
      if (left_ == 0) {
        std::uint64_t slot;
        std::memcpy(&slot, prefix_ + header, 8);
        have_ = 0;
        on_reply(slot);
      }
    }
    return true;
  }

 private:
  std::size_t size_;
  unsigned char prefix_[header + 8] = {};
  std::size_t have_ = 0;
  std::size_t left_ = 0;
};

int run_ask(peer_options o, bool reqresp) {
  if (o.transport == "inproc") unsupported(impl, "--transport inproc");
  if (reqresp) o.inflight = 1;
  if (o.size < 16) usage_error(impl, "ask needs --size >= 16 (slot and check byte)");
  child_process server(child_args(o, "echo-server"));
  int fd = connect_to(o.transport, server.endpoint());
  auto k = static_cast<std::size_t>(o.inflight);
  std::size_t frame = header + o.size;
  std::vector<char> request(frame);
  put_u32le(request.data(), static_cast<std::uint32_t>(o.size));
  std::vector<char> payload = make_payload(o.size);
  std::memcpy(request.data() + header, payload.data(), o.size);
  std::vector<char> out;
  out.reserve(k * frame);
  std::vector<bench_clock::time_point> sent_at(k);
  std::vector<std::uint64_t> queued;
  queued.reserve(k);
  auto queue = [&](std::uint64_t slot) {
    std::size_t at = out.size();
    out.insert(out.end(), request.begin(), request.end());
    std::memcpy(out.data() + at + header, &slot, 8);
    queued.push_back(slot);
  };
  auto flush = [&] {
    auto now = bench_clock::now();
    for (auto s : queued) sent_at[s] = now;
    bool ok = write_all(fd, out.data(), out.size());
    out.clear();
    queued.clear();
    return ok;
  };
  rtt_window window(o, allocations);
  window.start(bench_clock::now());
  for (std::size_t s = 0; s < k; ++s) queue(s);
  if (!flush()) return 1;
  std::vector<unsigned char> buf(read_bytes);
  reply_walker walker(o.size);
  bool bad_slot = false;
  while (!window.done()) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) {
      std::fprintf(stderr, "%s: server closed the connection\n", impl);
      return 1;
    }
    auto now = bench_clock::now();
    bool ok = walker.feed(buf.data(), static_cast<std::size_t>(n), [&](std::uint64_t slot) {
      if (slot >= k) {
        bad_slot = true;
        return;
      }
      if (window.complete(sent_at[slot], now)) queue(slot);
    });
    if (!ok || bad_slot) {
      std::fprintf(stderr, "%s: malformed reply\n", impl);
      return 1;
    }
    if (!out.empty() && !flush()) return 1;
  }
  close(fd);
  server.stop();
  if (o.transport == "unix") unlink(server.endpoint().c_str());
  if (reqresp)
    window.print_reqresp(impl, 1);
  else
    window.print_ask(impl);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  peer_options o = parse_options(argc, argv);
  if (o.role == "tell-sender") return run_tell_sender(o);
  if (o.role == "echo-server") return run_echo_server(o);
  if (!o.role.empty()) usage_error(argv[0], "unknown role " + o.role);
  if (o.scenario == "tell") return run_tell(o);
  if (o.scenario == "ask") return run_ask(o, false);
  if (o.scenario == "reqresp") return run_ask(o, true);
  if (o.scenario == "local-tell" || o.scenario == "local-ask") unsupported(impl, o.scenario);
  usage_error(argv[0], "unknown scenario " + o.scenario);
}
