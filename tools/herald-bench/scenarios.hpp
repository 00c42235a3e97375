// The scenarios of herald-bench (see main.cpp for what each measures) and the
// settings every node of a run shares.
//
// Thread safety: plain functions; each scenario runs on the main thread and
// starts the threads and processes it needs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>

#include "herald/runtime/node_config.hpp"
#include "peer_cli.hpp"

namespace herald::runtime {
class inproc_network;
}

namespace herald::bench {

inline constexpr const char* impl = "herald";

// The allocation counter of this process (alloc_counter.hpp lives in main.cpp).
std::uint64_t process_allocations() noexcept;

int run_tell(const peer_options& o);
int run_tell_sender(const peer_options& o);  // the child of `tell`
int run_ask(peer_options o, bool reqresp);
int run_echo_server(const peer_options& o);  // the child of `ask` and `reqresp`
int run_local_tell(const peer_options& o);
int run_local_ask(const peer_options& o);

// A fresh listen address on the transport of the run.
inline std::string listen_address(const std::string& transport, const std::string& tag) {
  if (transport == "unix") return "unix:///tmp/herald-bench-" + std::to_string(::getpid()) + "-" + tag + ".sock";
  if (transport == "inproc") return "inproc://herald-bench-" + tag;
  return "tcp://127.0.0.1:0";
}

// Default transport settings (4 MiB ring, 1 io thread, blocking backpressure,
// 64 KiB large-payload threshold, 64 KiB fragments); every node of a run uses
// the same secret.
inline runtime::node_config node_settings(const peer_options& o, const std::string& name, bool listen,
                                          runtime::inproc_network* inproc = nullptr) {
  runtime::node_config c;
  c.node_name = name;
  c.secret.value = "herald-bench";
  c.inproc = inproc;
  if (listen) c.listen = {listen_address(o.transport, name)};
  // A --size above the default largest message (64 MiB) raises it to fit the
  // encoded message (its length prefix included).
  if (o.size + 4096 > c.max_message_size) c.max_message_size = o.size + 4096;
  return c;
}

// Removes the socket file of a Unix listen address, if it is one.
inline void unlink_address(const std::string& address) {
  const std::string scheme = "unix://";
  if (address.rfind(scheme, 0) == 0) ::unlink(address.substr(scheme.size()).c_str());
}

}  // namespace herald::bench
