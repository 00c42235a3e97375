// The other process of a two-process benchmark: the program re-executes
// itself with a hidden `--role` flag, the child binds its listening endpoint,
// prints `ready <endpoint>` on its stdout (a pipe to the parent) and serves
// until it is stopped. The child dies with its parent (PR_SET_PDEATHSIG), so
// a killed benchmark never leaves a sender spinning.
//
// Thread safety: confined to the thread that spawned it.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cpu_time.hpp"

namespace herald::bench {

class child_process {
 public:
  // Starts /proc/self/exe with args (argv[1..]) and waits up to 20 s for its
  // ready line. Exits the program with a message if the child never gets ready.
  explicit child_process(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    pid_ = fork();
    if (pid_ < 0) die("fork");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      std::string self = "/proc/self/exe";
      argv.push_back(self.data());
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(self.c_str(), argv.data());
      std::perror("execv");
      _exit(127);
    }
    close(fds[1]);
    child_pids().push_back(pid_);
    read_ready_line(fds[0]);
    close(fds[0]);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() { stop(); }

  const std::string& endpoint() const { return endpoint_; }

  // SIGTERM, then SIGKILL if the child has not exited within a second.
  void stop() {
    if (pid_ <= 0) return;
    forget_child_pid(pid_);
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  [[noreturn]] static void die(const char* what) {
    std::perror(what);
    std::exit(1);
  }

  void read_ready_line(int fd) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        std::fprintf(stderr, "child process did not get ready within 20 s\n");
        stop();
        std::exit(1);
      }
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) {
        std::fprintf(stderr, "child process exited before it was ready\n");
        stop();
        std::exit(1);
      }
      line.append(buf, static_cast<std::size_t>(n));
    }
    line.resize(line.find('\n'));
    if (line.rfind("ready ", 0) != 0) {
      std::fprintf(stderr, "child process said '%s' instead of ready\n", line.c_str());
      stop();
      std::exit(1);
    }
    endpoint_ = line.substr(6);
  }

  pid_t pid_ = -1;
  std::string endpoint_;
};

// Called by the child once it listens: tells the parent where to connect.
inline void announce_ready(const std::string& endpoint) {
  std::printf("ready %s\n", endpoint.c_str());
  std::fflush(stdout);
}

}  // namespace herald::bench
