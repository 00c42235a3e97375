#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

namespace herald::test {

// Resident memory of a process, from its /proc/<pid>/statm ("self" for this
// one), in bytes; 0 when it cannot be read.
inline std::size_t resident_bytes(const std::string& pid = "self") {
  const std::string path = "/proc/" + pid + "/statm";
  std::FILE* f = std::fopen(path.c_str(), "r");
  unsigned long pages = 0, resident = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A child process that runs `body` (which gets a way to say one line to the
// parent, typically its listen address) and never returns: it exits with 1
// if body returns false, else waits to be killed. Fork it before this
// process starts threads of its own. The destructor continues and kills it.
class child_process {
 public:
  explicit child_process(const std::function<bool(const std::function<void(const std::string&)>&)>& body) {
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid_ = ::fork();
    if (pid_ < 0) return;
    if (pid_ == 0) {
      ::close(ready[0]);
      const bool ok = body([&](const std::string& line) {
        const std::string l = line + "\n";
        if (::write(ready[1], l.data(), l.size()) < 0) ::_exit(1);
      });
      if (!ok) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    from_child_ = ready[0];
  }
  ~child_process() {
    if (from_child_ >= 0) ::close(from_child_);
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Waits for the child's line; false when the child exited or stayed
  // silent for `timeout`.
  bool wait_for_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[256];
    while (from_child_ >= 0 && line_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{from_child_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const auto got = ::read(from_child_, buf, sizeof buf);
      if (got <= 0) return false;
      line_.append(buf, static_cast<std::size_t>(got));
    }
    if (line_.empty() || line_.back() != '\n') return false;
    line_.pop_back();
    ::close(from_child_);
    from_child_ = -1;
    return true;
  }
  // The child's line, once wait_for_line() returned true.
  const std::string& line() const { return line_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int from_child_ = -1;
  std::string line_;
};

}  // namespace herald::test
