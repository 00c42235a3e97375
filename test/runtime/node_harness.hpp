#pragma once

// Shared helpers of the runtime tests: a recording frame_sink, log capture,
// and a pair of connected nodes over each transport.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "herald/runtime/connection.hpp"
#include "herald/runtime/frame_sink.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "herald/runtime/node.hpp"
#include "support/test_support.hpp"

namespace herald::runtime::test {

using namespace std::chrono_literals;

enum class transport_kind { inproc, tcp, unix_socket };

inline std::string to_string(transport_kind k) {
  switch (k) {
    case transport_kind::inproc: return "InProc";
    case transport_kind::tcp: return "Tcp";
    case transport_kind::unix_socket: return "Unix";
  }
  return "?";
}

inline std::string listen_address(transport_kind k, const std::string& tag) {
  static std::atomic<int> counter{0};
  const std::string id = std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + tag;
  switch (k) {
    case transport_kind::inproc: return "inproc://" + id;
    case transport_kind::tcp: return "tcp://127.0.0.1:0";
    case transport_kind::unix_socket: return "unix:///tmp/herald-test-" + id + ".sock";
  }
  return {};
}

// Records everything a node hands up; tests wait on it with a deadline.
// on_frame_hook, when set, replaces recording of tells and asks.
class recording_sink : public frame_sink {
 public:
  std::function<void(const std::shared_ptr<connection>&, inbound_frame)> on_frame_hook;

  void on_frame(const std::shared_ptr<connection>& from, inbound_frame f) override {
    if (on_frame_hook) return on_frame_hook(from, std::move(f));
    std::lock_guard lock(mutex_);
    frames.push_back(std::move(f));
    cv_.notify_all();
  }
  void on_control(const std::shared_ptr<connection>&, inbound_frame f) override {
    std::lock_guard lock(mutex_);
    controls.push_back(std::move(f));
    cv_.notify_all();
  }
  void on_peer_up(const std::shared_ptr<connection>& c) override {
    std::lock_guard lock(mutex_);
    ups.push_back(c);
    cv_.notify_all();
  }
  void on_peer_down(const peer_info& p, const herald::error& e) override {
    std::lock_guard lock(mutex_);
    downs.emplace_back(p, e);
    cv_.notify_all();
  }

  // Waits until pred() (called under the lock) holds; false on timeout.
  // Wakes on every sink event and re-checks at least every 2 ms, for
  // predicates over counters that no sink event announces.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, 2ms);
    }
    return true;
  }
  template <class F>
  auto locked(F f) {
    std::lock_guard lock(mutex_);
    return f();
  }
  void notify() {
    std::lock_guard lock(mutex_);
    cv_.notify_all();
  }
  void clear_frames() {
    std::lock_guard lock(mutex_);
    frames.clear();
    controls.clear();
  }

  // Declared first: connections keep the buffer pool of frames alive.
  std::vector<std::shared_ptr<connection>> ups;
  std::vector<std::pair<peer_info, herald::error>> downs;
  std::vector<inbound_frame> frames;
  std::vector<inbound_frame> controls;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
};

// Collects a node's log lines.
class log_capture {
 public:
  std::function<void(log_level, std::string_view)> hook() {
    return [this](log_level, std::string_view m) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(m);
      cv_.notify_all();
    };
  }
  // Waits for a line containing `needle`.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& l : lines_)
        if (l.find(needle) != std::string::npos) return true;
      return false;
    });
  }
  std::string all() {
    std::lock_guard lock(mutex_);
    std::string s;
    for (const auto& l : lines_) s += l + "\n";
    return s;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

inline node_config base_config(const std::string& name, transport_kind k, inproc_network* net) {
  node_config c;
  c.node_name = name;
  c.listen = {listen_address(k, name)};
  c.secret.value = "test-secret";
  c.inproc = net;
  c.ring_capacity = 1u << 20;
  c.handshake_timeout = 5s;
  return c;
}

// Drops what a test sink keeps (its recorded frames, and what a sink that
// holds frames for flow control keeps): they hold buffers of the node's pool.
template <class Sink>
void drop_frames(Sink& s) {
  if constexpr (requires { s.drop_all(); }) s.drop_all();
  s.clear_frames();
}

// Two nodes, a dialling b, both sides up; each side's sink a recording_sink
// or a sink derived from it.
template <class SinkA, class SinkB>
struct basic_node_pair {
  inproc_network net;
  SinkA sink_a;
  SinkB sink_b;
  log_capture log_a, log_b;
  std::unique_ptr<node> a, b;
  std::shared_ptr<connection> a_to_b, b_to_a;

  // Declared after the sinks and destroyed first.
  ~basic_node_pair() {
    a_to_b.reset();
    b_to_a.reset();
    drop_frames(sink_a);
    drop_frames(sink_b);
    if (a) a->shutdown();
    if (b) b->shutdown();
    // What arrived while the links drained: a frame never consumed would
    // keep its connection (frame_sink::holds_credit).
    drop_frames(sink_a);
    drop_frames(sink_b);
  }
};
using node_pair = basic_node_pair<recording_sink, recording_sink>;

template <class SinkA = recording_sink, class SinkB = recording_sink>
std::unique_ptr<basic_node_pair<SinkA, SinkB>> connect_pair(transport_kind k,
                                                            std::function<void(node_config&)> tweak_a = {},
                                                            std::function<void(node_config&)> tweak_b = {}) {
  auto p = std::make_unique<basic_node_pair<SinkA, SinkB>>();
  auto ca = base_config("a", k, &p->net);
  auto cb = base_config("b", k, &p->net);
  ca.log = p->log_a.hook();
  cb.log = p->log_b.hook();
  if (tweak_a) tweak_a(ca);
  if (tweak_b) tweak_b(cb);
  auto b = node::start(cb, p->sink_b);
  EXPECT_TRUE(b.has_value()) << (b ? "" : b.error().message());
  if (!b) return p;
  p->b = std::move(*b);
  auto a = node::start(ca, p->sink_a);
  EXPECT_TRUE(a.has_value()) << (a ? "" : a.error().message());
  if (!a) return p;
  p->a = std::move(*a);
  p->a->connect(p->b->listen_addresses().front());
  return p;
}

// connect_pair, then waits for both sides to be up.
template <class SinkA = recording_sink, class SinkB = recording_sink>
std::unique_ptr<basic_node_pair<SinkA, SinkB>> up_pair(transport_kind k, std::function<void(node_config&)> tweak_a = {},
                                                       std::function<void(node_config&)> tweak_b = {}) {
  auto p = connect_pair<SinkA, SinkB>(k, std::move(tweak_a), std::move(tweak_b));
  if (!p->a || !p->b) return p;
  EXPECT_TRUE(p->sink_a.wait([&] { return !p->sink_a.ups.empty(); })) << "a up\n" << p->log_a.all();
  EXPECT_TRUE(p->sink_b.wait([&] { return !p->sink_b.ups.empty(); })) << "b up\n" << p->log_b.all();
  p->a_to_b = p->a->connection_to(p->b->id());
  p->b_to_a = p->b->connection_to(p->a->id());
  EXPECT_NE(p->a_to_b, nullptr);
  EXPECT_NE(p->b_to_a, nullptr);
  return p;
}

inline wire::frame_header tell_header(std::uint64_t target = 1, std::uint64_t type = 1) {
  wire::frame_header h;
  h.kind = wire::frame_kind::tell;
  h.target = target;
  h.type_id = type;
  return h;
}

template <class T>
T read_pod(std::span<const std::byte> b, std::size_t offset = 0) {
  T v;
  std::memcpy(&v, b.data() + offset, sizeof v);
  return v;
}

}  // namespace herald::runtime::test
