#include "address.hpp"

#include <charconv>

namespace herald::runtime {

std::string address::to_string() const {
  switch (kind) {
    case scheme::tcp:
      return host.find(':') != std::string::npos ? "tcp://[" + host + "]:" + std::to_string(port)
                                                 : "tcp://" + host + ":" + std::to_string(port);
    case scheme::unix_socket: return "unix://" + path;
    case scheme::inproc: return "inproc://" + path;
  }
  return {};
}

result<address> parse_address(const std::string& text) {
  auto bad = [&](const char* why) { return herald::error(errc::invalid_argument, "address '" + text + "': " + why); };
  address a;
  if (text.rfind("unix://", 0) == 0) {
    a.kind = address::scheme::unix_socket;
    a.path = text.substr(7);
    if (a.path.empty()) return bad("empty socket path");
    return a;
  }
  if (text.rfind("inproc://", 0) == 0) {
    a.kind = address::scheme::inproc;
    a.path = text.substr(9);
    if (a.path.empty()) return bad("empty name");
    return a;
  }
  if (text.rfind("tcp://", 0) != 0) return bad("expected tcp://, unix:// or inproc://");
  std::string rest = text.substr(6);
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') return bad("bad [ipv6]:port");
    a.host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) return bad("missing :port");
    a.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (a.host.empty()) return bad("missing host");
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || p != port.data() + port.size() || value > 65535) return bad("bad port");
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

}  // namespace herald::runtime
