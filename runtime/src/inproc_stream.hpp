#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "herald/result.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "stream.hpp"

namespace herald::runtime {

namespace detail {

// The listeners of an inproc_network by name. Safe for concurrent use.
struct inproc_registry {
  using accept_fn = std::function<void(std::unique_ptr<stream>)>;
  struct listener {
    asio::io_context* context;
    accept_fn accept;
  };

  std::mutex mutex;
  std::map<std::string, listener> listeners;
};

}  // namespace detail

// Registers a listener; invalid_argument if the name is taken.
result<void> inproc_listen(inproc_network& net, const std::string& name, asio::io_context& ctx,
                           detail::inproc_registry::accept_fn accept);
void inproc_unlisten(inproc_network& net, const std::string& name);

// Connects to a listener: the acceptor's end is handed to its accept
// function on its io thread; the caller gets the other end.
result<std::unique_ptr<stream>> inproc_connect(inproc_network& net, const std::string& name, asio::io_context& ctx);

}  // namespace herald::runtime
