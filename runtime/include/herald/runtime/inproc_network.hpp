#pragma once

#include <memory>

namespace herald::runtime {

namespace detail {
struct inproc_registry;
}

// The in-process transport: nodes of one process that share an
// inproc_network reach each other at "inproc://<name>" addresses through
// in-memory pipes (bounded, like a socket's buffers), with the same
// handshake, framing and backpressure as TCP. Give the same object to each
// node's node_config::inproc; it must outlive those nodes. Safe for
// concurrent use.
class inproc_network {
 public:
  inproc_network();
  ~inproc_network();
  inproc_network(const inproc_network&) = delete;
  inproc_network& operator=(const inproc_network&) = delete;

  detail::inproc_registry& registry() noexcept { return *registry_; }

 private:
  std::unique_ptr<detail::inproc_registry> registry_;
};

}  // namespace herald::runtime
