#pragma once

// A raw client socket for the runtime tests: speaks bytes, not frames, so a
// test can play a hostile or broken peer.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace herald::runtime::test {

class raw_peer {
 public:
  // Connects to "tcp://127.0.0.1:port" or "unix:///path".
  explicit raw_peer(const std::string& address) {
    if (address.rfind("tcp://", 0) == 0) {
      const auto colon = address.rfind(':');
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
      ::inet_pton(AF_INET, address.substr(6, colon - 6).c_str(), &sa.sin_addr);
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    } else {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      const std::string path = address.substr(7);
      std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
  }
  ~raw_peer() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  bool connected() const { return connected_; }

  bool send(std::span<const std::byte> bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes; false on EOF, error or timeout.
  bool read_exact(std::byte* out, std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::size_t off = 0;
    while (off < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
      const auto r = ::recv(fd_, out + off, n - off, 0);
      if (r <= 0) return false;
      off += static_cast<std::size_t>(r);
    }
    return true;
  }

  // Reads and discards until the peer closes; true when it did within timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::byte buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const auto r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace herald::runtime::test
