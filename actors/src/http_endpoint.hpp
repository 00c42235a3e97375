#pragma once

#include <memory>
#include <string>
#include <thread>

#include "herald/result.hpp"

namespace httplib {
class Server;
}

namespace herald::detail {

class network;

// The node's HTTP listener (node_config::metrics_listen): Prometheus metrics
// at /metrics, the live dashboard at /, and the dashboard's JSON at
// /api/state. cpp-httplib on a thread of its own, with a pool of two
// request threads: never an io thread of the message path. Its handlers
// read snapshots (relaxed counters, the id table, the cluster's thread by a
// call) and never write. Safe for concurrent use; stop() is idempotent.
class http_endpoint {
 public:
  // Binds "HOST:PORT" (port 0 picks one) and starts serving.
  // Errors: invalid_argument (address), io_error (bind).
  static result<std::unique_ptr<http_endpoint>> start(const std::string& listen, network& net);
  ~http_endpoint();
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  // "HOST:PORT" as bound.
  const std::string& address() const noexcept { return address_; }
  void stop();

 private:
  explicit http_endpoint(network& net);

  network& net_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
};

// The text exposition format (version 0.0.4) of everything the node counts.
std::string prometheus_text(network& net);
// The dashboard's state: members, registry, links, actor types, recent events.
std::string dashboard_state_json(network& net);
// The dashboard page (HTML, CSS and script in one, no external assets).
const char* dashboard_html() noexcept;

}  // namespace herald::detail
