// The second process's own figures: how many heap allocations it made per
// message over its steady-state window. The parent opens a pipe, names its
// write end in the environment (HERALD_BENCH_REPORT_FD) before it starts the
// child, and reads one line "msgs M allocs A seconds S" back after its own
// window; a sender adds "sent N backpressure B errors E" (its totals since it
// started: tells accepted, tells refused with backpressure, tells refused
// with another error such as node_down). The child measures its window the same way the parent does: from
// its first message, after the warm-up, for --seconds.
//
// Thread safety: report_pipe is confined to the parent's main thread;
// report_window runs on a thread of its own and only reads atomics.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "peer_cli.hpp"

namespace herald::bench {

inline constexpr const char* report_fd_env = "HERALD_BENCH_REPORT_FD";

struct side_figures {
  std::uint64_t msgs = 0;
  std::uint64_t allocs = 0;
  double seconds = 0;
  // A sender's totals, when it reports them.
  std::optional<std::uint64_t> sent, backpressure, errors;
  double allocs_per_msg() const { return msgs ? static_cast<double>(allocs) / static_cast<double>(msgs) : 0; }
};

// Parent side. Construct it before the child_process, call child_started()
// after, then read() once the parent's window is over.
class report_pipe {
 public:
  report_pipe() {
    if (::pipe(fds_) != 0) {
      std::perror("pipe");
      std::exit(1);
    }
    ::setenv(report_fd_env, std::to_string(fds_[1]).c_str(), 1);
  }
  report_pipe(const report_pipe&) = delete;
  report_pipe& operator=(const report_pipe&) = delete;
  ~report_pipe() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    child_started();
  }

  void child_started() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
    ::unsetenv(report_fd_env);
  }

  // The child's line, or nothing if it has not come within `timeout`.
  std::optional<side_figures> read(std::chrono::milliseconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fds_[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[256];
      ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      line.append(buf, static_cast<std::size_t>(n));
    }
    side_figures f;
    unsigned long long m = 0, a = 0;
    unsigned long long sent = 0, bp = 0, errors = 0;
    const int got = std::sscanf(line.c_str(), "msgs %llu allocs %llu seconds %lf sent %llu backpressure %llu errors %llu",
                                &m, &a, &f.seconds, &sent, &bp, &errors);
    if (got < 3) return std::nullopt;
    f.msgs = m;
    f.allocs = a;
    if (got == 6) {
      f.sent = sent;
      f.backpressure = bp;
      f.errors = errors;
    }
    return f;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Child side: waits for the first message, lets the warm-up pass, samples
// messages and allocations around a window of o.seconds and writes the line.
// Does nothing when the parent asked for no report.
// extra() gives the text appended to the line (" sent N ..."), read after the window.
template <class Counter, class Extra = std::string (*)()>
void report_window(const Counter& msgs, const peer_options& o, std::uint64_t (*allocations)() noexcept,
                   Extra extra = [] { return std::string(); }) {
  const char* fd_text = std::getenv(report_fd_env);
  if (fd_text == nullptr) return;
  int fd = std::atoi(fd_text);
  using namespace std::chrono;
  while (msgs() == 0) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(duration<double>(o.warmup));
  auto t0 = bench_clock::now();
  std::uint64_t m0 = msgs(), a0 = allocations();
  std::this_thread::sleep_for(duration<double>(o.seconds));
  std::uint64_t a1 = allocations(), m1 = msgs();
  double s = seconds_between(t0, bench_clock::now());
  char line[256];
  int n = std::snprintf(line, sizeof line, "msgs %llu allocs %llu seconds %.6f%s\n",
                        static_cast<unsigned long long>(m1 - m0), static_cast<unsigned long long>(a1 - a0), s,
                        extra().c_str());
  if (n > 0) (void)!::write(fd, line, static_cast<std::size_t>(n));
  ::close(fd);
}

}  // namespace herald::bench
