#include "http_endpoint.hpp"

#include <httplib.h>

#include <chrono>

#include "network.hpp"

namespace herald::detail {

http_endpoint::http_endpoint(network& net) : net_(net), server_(std::make_unique<httplib::Server>()) {}

http_endpoint::~http_endpoint() { stop(); }

result<std::unique_ptr<http_endpoint>> http_endpoint::start(const std::string& listen, network& net) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
    return error(errc::invalid_argument, "metrics_listen '" + listen + "' is not HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) return error(errc::invalid_argument, "metrics_listen '" + listen + "' has no valid port");

  std::unique_ptr<http_endpoint> h(new http_endpoint(net));
  auto& srv = *h->server_;
  srv.new_task_queue = [] { return new httplib::ThreadPool(2); };
  srv.set_read_timeout(5, 0);
  srv.set_write_timeout(5, 0);
  srv.set_keep_alive_max_count(100);
  network* n = &net;
  srv.Get("/metrics", [n](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_text(*n), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/api/state", [n](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(dashboard_state_json(*n), "application/json");
  });
  srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(dashboard_html(), "text/html; charset=utf-8");
  });
  const int bound = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return error(errc::io_error, "cannot listen for HTTP on " + listen);
  h->address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(bound);
  h->thread_ = std::thread([s = h->server_.get()] { s->listen_after_bind(); });
  // A stop() before the loop runs would be lost (httplib ignores it): wait.
  while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return h;
}

void http_endpoint::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace herald::detail
