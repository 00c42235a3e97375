#pragma once

#include <cstdint>
#include <string>

#include "herald/result.hpp"

namespace herald::runtime {

// A parsed listen or dial address.
struct address {
  enum class scheme { tcp, unix_socket, inproc };
  scheme kind = scheme::tcp;
  std::string host;  // tcp: numeric IPv4/IPv6 or "localhost"
  std::uint16_t port = 0;
  std::string path;  // unix: socket path; inproc: name

  std::string to_string() const;
};

// "tcp://127.0.0.1:7000", "tcp://[::1]:7000", "unix:///tmp/x.sock", "inproc://a".
result<address> parse_address(const std::string& text);

}  // namespace herald::runtime
