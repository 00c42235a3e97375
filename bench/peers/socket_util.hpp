// Blocking loopback sockets for the raw peer: listen on an ephemeral TCP port
// of 127.0.0.1 or on a Unix socket path, connect, write everything.
//
// Thread safety: free functions on file descriptors the caller owns.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace herald::bench {

[[noreturn]] inline void die_errno(const char* what) {
  std::perror(what);
  std::exit(1);
}

inline void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Listens on transport "tcp" (127.0.0.1, ephemeral port) or "unix" (a path in
// /tmp named after the pid); `endpoint` receives the port or the path.
inline int listen_on(const std::string& transport, std::string& endpoint) {
  if (transport == "unix") {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die_errno("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    endpoint = "/tmp/herald-peer-" + std::to_string(getpid()) + ".sock";
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", endpoint.c_str());
    unlink(addr.sun_path);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die_errno("bind");
    if (listen(fd, 16) != 0) die_errno("listen");
    return fd;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die_errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die_errno("bind");
  if (listen(fd, 16) != 0) die_errno("listen");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  endpoint = std::to_string(ntohs(addr.sin_port));
  return fd;
}

inline int accept_one(int listener, const std::string& transport) {
  int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) die_errno("accept");
  if (transport == "tcp") set_nodelay(fd);
  return fd;
}

inline int connect_to(const std::string& transport, const std::string& endpoint) {
  if (transport == "unix") {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", endpoint.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die_errno("connect");
    return fd;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(endpoint)));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die_errno("connect");
  set_nodelay(fd);
  return fd;
}

// Writes all of [p, p + n); false once the peer has gone.
inline bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

inline void put_u32le(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline std::uint32_t get_u32le(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

}  // namespace herald::bench
