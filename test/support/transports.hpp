#pragma once

#include <unistd.h>

#include <atomic>
#include <string>

// The three transports a two-node test runs over, for TEST_P suites.
namespace herald::test {

enum class transport { tcp, unix_socket, inproc };

// A listen address of transport t, unique in this machine (tag names the
// test in Unix socket paths and inproc names).
inline std::string listen_address(transport t, const std::string& tag) {
  static std::atomic<int> counter{0};
  auto unique = std::to_string(::getpid()) + "-" + tag + "-" + std::to_string(counter.fetch_add(1));
  switch (t) {
    case transport::tcp: return "tcp://127.0.0.1:0";
    case transport::unix_socket: return "unix:///tmp/herald-test-" + unique + ".sock";
    case transport::inproc: return "inproc://" + unique;
  }
  return {};
}

// The parameter's name in test names: tcp, unix, inproc.
struct transport_name {
  template <class Info>
  std::string operator()(const Info& info) const {
    switch (info.param) {
      case transport::tcp: return "tcp";
      case transport::unix_socket: return "unix";
      case transport::inproc: return "inproc";
    }
    return "unknown";
  }
};

}  // namespace herald::test
