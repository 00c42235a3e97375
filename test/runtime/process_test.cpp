#include "herald/runtime/node.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <future>

#include "node_harness.hpp"

// Two nodes in two processes: the test forks a child that runs a node over
// loopback TCP and reports what it saw through ask replies and its exit code.

namespace herald::runtime::test {
namespace {

constexpr std::uint64_t report_type = 99;
constexpr std::uint64_t silent_type = 2;

// The child's sink: checks the order of tells per sender, answers report asks
// with {received, errors}, ignores silent asks, echoes other asks.
class child_sink : public frame_sink {
 public:
  void on_frame(const std::shared_ptr<connection>& from, inbound_frame f) override {
    if (f.header.kind == wire::frame_kind::tell) {
      const auto sender = read_pod<std::uint32_t>(f.bytes());
      const auto seq = read_pod<std::uint64_t>(f.bytes(), 8);
      if (sender >= next_.size() || seq != next_[sender]) ++errors_;
      else ++next_[sender];
      ++received_;
      return;
    }
    if (f.header.type_id == silent_type) return;
    wire::frame_header h;
    h.kind = wire::frame_kind::reply;
    h.request_id = f.header.request_id;
    if (f.header.type_id == report_type) {
      std::array<std::uint64_t, 2> r{received_, errors_};
      (void)from->send_bytes(h, std::as_bytes(std::span(r)));
    } else {
      (void)from->send_bytes(h, f.bytes());
    }
  }
  void on_control(const std::shared_ptr<connection>&, inbound_frame) override {}
  void on_peer_up(const std::shared_ptr<connection>&) override {}
  void on_peer_down(const peer_info&, const herald::error&) override { down_.set_value(); }

  std::future<void> down() { return down_.get_future(); }

 private:
  std::array<std::uint64_t, 4> next_{};  // b's io thread only
  std::uint64_t received_ = 0;
  std::uint64_t errors_ = 0;
  std::promise<void> down_;
};

// Runs in the forked child: a node on an ephemeral port, announced on fd.
[[noreturn]] void run_child(int fd) {
  child_sink sink;
  auto down = sink.down();
  node_config c;
  c.node_name = "child";
  c.listen = {"tcp://127.0.0.1:0"};
  c.secret.value = "test-secret";
  c.log = [](log_level, std::string_view) {};
  auto n = node::start(c, sink);
  if (!n) ::_exit(2);
  const std::string address = (*n)->listen_addresses().front();
  if (::write(fd, address.data(), address.size()) != static_cast<ssize_t>(address.size())) ::_exit(3);
  ::close(fd);
  const bool parent_left = down.wait_for(120s) == std::future_status::ready;
  (*n)->shutdown();
  ::_exit(parent_left ? 0 : 4);
}

struct child_process {
  pid_t pid = -1;
  std::string address;

  static child_process spawn() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    child_process c;
    c.pid = ::fork();
    if (c.pid == 0) {
      ::close(fds[0]);
      run_child(fds[1]);
    }
    ::close(fds[1]);
    char buf[256];
    const auto n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    if (n > 0) c.address.assign(buf, static_cast<std::size_t>(n));
    return c;
  }

  int wait_exit() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
};

struct parent_side {
  recording_sink sink;
  std::unique_ptr<node> n;
  std::shared_ptr<connection> conn;

  explicit parent_side(const std::string& address) {
    node_config c;
    c.node_name = "parent";
    c.secret.value = "test-secret";
    c.backpressure_timeout = 60s;
    auto started = node::start(c, sink);
    EXPECT_TRUE(started);
    if (!started) return;
    n = std::move(*started);
    n->connect(address);
    EXPECT_TRUE(sink.wait([&] { return !sink.ups.empty(); }, 30s));
    conn = sink.locked([&] { return sink.ups.empty() ? nullptr : sink.ups.front(); });
  }
  ~parent_side() {
    conn.reset();
    if (n) n->shutdown();
  }

  result<inbound_frame> ask(std::uint64_t type, std::chrono::milliseconds timeout = 10s) {
    wire::frame_header h;
    h.kind = wire::frame_kind::ask;
    h.type_id = type;
    auto done = std::make_shared<std::promise<result<inbound_frame>>>();
    auto f = done->get_future();
    auto id = conn->request(h, 0, [](std::span<std::byte>) {}, connection::clock::now() + timeout,
                            [done](result<inbound_frame> r) { done->set_value(std::move(r)); });
    if (!id) return std::move(id).error();
    return f.get();
  }
};

TEST(TwoProcesses, FramesOfFourSendersArriveInOrderInAnotherProcess) {
  auto child = child_process::spawn();
  ASSERT_GT(child.pid, 0);
  ASSERT_FALSE(child.address.empty()) << "the child announces its address";
  {
    parent_side parent(child.address);
    ASSERT_TRUE(parent.conn);
    const std::uint64_t per_sender = herald::test::scaled(1'000'000) / 4;
    std::vector<std::thread> senders;
    for (std::uint32_t s = 0; s < 4; ++s) {
      senders.emplace_back([&, s] {
        for (std::uint64_t seq = 0; seq < per_sender; ++seq) {
          auto ok = parent.conn->send(tell_header(), 16, [&](std::span<std::byte> out) {
            std::memcpy(out.data(), &s, 4);
            std::memcpy(out.data() + 8, &seq, 8);
          });
          ASSERT_TRUE(ok) << ok.error().message();
        }
      });
    }
    for (auto& t : senders) t.join();
    // Frames and asks share one ordered stream: the report sees every tell.
    auto report = parent.ask(report_type, 60s);
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(read_pod<std::uint64_t>(report->bytes()), 4 * per_sender) << "every tell arrived";
    EXPECT_EQ(read_pod<std::uint64_t>(report->bytes(), 8), 0u) << "no gap, duplicate or reordering";
  }
  EXPECT_EQ(child.wait_exit(), 0) << "the child saw the parent leave and exited cleanly";
}

TEST(TwoProcesses, KillingThePeerProcessFailsPendingAsksWithNodeDown) {
  auto child = child_process::spawn();
  ASSERT_GT(child.pid, 0);
  ASSERT_FALSE(child.address.empty());
  parent_side parent(child.address);
  ASSERT_TRUE(parent.conn);
  auto echo = parent.ask(1);
  ASSERT_TRUE(echo) << "the child serves asks: " << echo.error().message();
  std::atomic<int> node_down{0};
  wire::frame_header h;
  h.kind = wire::frame_kind::ask;
  h.type_id = silent_type;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(parent.conn->request(h, 0, [](std::span<std::byte>) {}, connection::clock::now() + 60s,
                                     [&](result<inbound_frame> r) {
                                       if (!r && r.error().code() == errc::node_down) node_down.fetch_add(1);
                                       parent.sink.notify();
                                     }));
  }
  ::kill(child.pid, SIGKILL);
  EXPECT_EQ(child.wait_exit(), -SIGKILL);
  EXPECT_TRUE(parent.sink.wait([&] { return node_down.load() == 50; }, 10s))
      << "every pending ask fails with node_down, " << node_down.load() << " did";
  EXPECT_TRUE(parent.sink.wait([&] { return !parent.sink.downs.empty(); }));
}

}  // namespace
}  // namespace herald::runtime::test
