// peer-zmq: ZeroMQ 4.3 (libzmq, C API) in the same scenarios, two processes
// on loopback (or two threads of one process for --transport inproc).
//
// Settings (libzmq defaults unless said otherwise):
//   context   1 I/O thread (ZMQ_IO_THREADS default), ZMQ_LINGER 0.
//   tell      PUSH (sender, child process) -> PULL (receiver, measuring).
//             The sender copies each payload into a message with zmq_send;
//             the receiver takes each message with zmq_msg_recv, checks its
//             size and its last byte, and counts it. SNDHWM/RCVHWM 1000
//             (default); libzmq batches small messages into large writes.
//             --transport tcp (127.0.0.1), unix (ipc://), inproc (threads);
//             --connections C: C PUSH/PULL socket pairs, one thread each.
//   ask       --inflight 1: REQ -> REP. --inflight K > 1: DEALER -> ROUTER,
//             the first 8 payload bytes name the request slot; the ROUTER
//             echoes the message it received (zmq_msg_send, no copy).
//             TCP_NODELAY is set by libzmq.
//   reqresp   REQ -> REP with N-byte requests and replies, 1 client.
// Not implemented (exit 2): local-tell, local-ask.
#include "alloc_counter.hpp"

#include <zmq.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "peer_cli.hpp"
#include "rtt_window.hpp"
#include "throughput_window.hpp"

namespace {

using namespace herald::bench;

constexpr const char* impl = "zmq";
constexpr unsigned char fill_byte = 0x5a;
constexpr unsigned char last_byte = 0xa5;

[[noreturn]] void die_zmq(const char* what) {
  std::fprintf(stderr, "%s: %s: %s\n", impl, what, zmq_strerror(zmq_errno()));
  std::exit(1);
}

void* make_socket(void* ctx, int type) {
  void* s = zmq_socket(ctx, type);
  if (s == nullptr) die_zmq("zmq_socket");
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  return s;
}

// Binds to an ephemeral endpoint of the transport and returns its address.
std::string bind_any(void* s, const std::string& transport, int index) {
  std::string addr = transport == "unix" ? "ipc:///tmp/herald-zmq-" + std::to_string(getpid()) + "-" +
                                               std::to_string(index) + ".ipc"
                                         : "tcp://127.0.0.1:*";
  if (zmq_bind(s, addr.c_str()) != 0) die_zmq("zmq_bind");
  char buf[256];
  std::size_t len = sizeof buf;
  zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &len);
  return buf;
}

void connect_to(void* s, const std::string& endpoint) {
  if (zmq_connect(s, endpoint.c_str()) != 0) die_zmq("zmq_connect");
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::vector<char> make_payload(std::size_t size) {
  std::vector<char> p(size, static_cast<char>(fill_byte));
  if (size > 0) p.back() = static_cast<char>(last_byte);
  return p;
}

std::vector<std::string> child_args(const peer_options& o, const char* role) {
  return {o.scenario, "--role", role, "--size", std::to_string(o.size), "--transport", o.transport,
          "--connections", std::to_string(o.connections), "--inflight", std::to_string(o.inflight)};
}

// Sends copies of one payload until the context is shut down or the process
// is stopped.
void push_forever(void* push, std::size_t size) {
  std::vector<char> payload = make_payload(size);
  while (zmq_send(push, payload.data(), size, 0) >= 0) {
  }
}

int run_tell_sender(const peer_options& o) {
  void* ctx = zmq_ctx_new();
  std::vector<void*> sockets;
  std::string endpoints;
  for (int c = 0; c < o.connections; ++c) {
    void* push = make_socket(ctx, ZMQ_PUSH);
    if (c > 0) endpoints += ',';
    endpoints += bind_any(push, o.transport, c);
    sockets.push_back(push);
  }
  announce_ready(endpoints);
  std::vector<std::thread> senders;
  for (void* s : sockets) senders.emplace_back([s, size = o.size] { push_forever(s, size); });
  for (auto& t : senders) t.join();
  return 0;
}

struct alignas(64) padded_counter {
  std::atomic<std::uint64_t> n{0};
};

// Counts messages on a PULL socket until the context shuts down; false if a
// message had the wrong size or content.
bool pull_and_count(void* pull, std::size_t size, std::atomic<std::uint64_t>& counter) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  std::uint64_t n = 0;
  bool ok = true;
  while (zmq_msg_recv(&msg, pull, 0) >= 0) {
    auto* data = static_cast<const unsigned char*>(zmq_msg_data(&msg));
    if (zmq_msg_size(&msg) != size || (size > 0 && data[size - 1] != last_byte)) {
      std::fprintf(stderr, "%s: message of %zu bytes, expected %zu\n", impl, zmq_msg_size(&msg), size);
      ok = false;
      break;
    }
    counter.store(++n, std::memory_order_relaxed);
  }
  zmq_msg_close(&msg);
  zmq_close(pull);
  return ok;
}

int run_tell(const peer_options& o) {
  void* ctx = zmq_ctx_new();
  std::unique_ptr<child_process> sender;
  std::vector<std::string> endpoints;
  std::vector<std::thread> inproc_senders;
  if (o.transport == "inproc") {
    for (int c = 0; c < o.connections; ++c) {
      void* push = make_socket(ctx, ZMQ_PUSH);
      std::string ep = "inproc://tell-" + std::to_string(c);
      if (zmq_bind(push, ep.c_str()) != 0) die_zmq("zmq_bind");
      endpoints.push_back(ep);
      inproc_senders.emplace_back([push, size = o.size] {
        push_forever(push, size);
        zmq_close(push);
      });
    }
  } else {
    sender = std::make_unique<child_process>(child_args(o, "tell-sender"));
    endpoints = split(sender->endpoint());
  }
  auto counters = std::make_unique<padded_counter[]>(endpoints.size());
  std::atomic<bool> failed{false};
  std::vector<std::thread> receivers;
  for (std::size_t c = 0; c < endpoints.size(); ++c) {
    void* pull = make_socket(ctx, ZMQ_PULL);
    connect_to(pull, endpoints[c]);
    receivers.emplace_back([pull, &o, &failed, counter = &counters[c].n] {
      if (!pull_and_count(pull, o.size, *counter)) failed = true;
    });
  }
  auto received = [&] {
    std::uint64_t sum = 0;
    for (std::size_t c = 0; c < endpoints.size(); ++c) sum += counters[c].n.load(std::memory_order_relaxed);
    return sum;
  };
  window_result w = measure_window(received, o, allocations);
  if (sender) sender->stop();
  for (auto& ep : endpoints)  // the killed sender leaves its ipc:// files behind
    if (ep.rfind("ipc://", 0) == 0) unlink(ep.c_str() + 6);
  zmq_ctx_shutdown(ctx);
  for (auto& t : receivers) t.join();
  for (auto& t : inproc_senders) t.join();
  zmq_ctx_term(ctx);
  if (failed || w.msgs == 0) {
    std::fprintf(stderr, "%s: tell failed (%s)\n", impl, failed ? "bad message" : "nothing received");
    return 1;
  }
  print_tell(impl, o, w);
  return 0;
}

// REP (1 in flight) or ROUTER (K in flight) that sends back what it receives.
int run_echo_server(const peer_options& o, bool router) {
  void* ctx = zmq_ctx_new();
  void* s = make_socket(ctx, router ? ZMQ_ROUTER : ZMQ_REP);
  announce_ready(bind_any(s, o.transport, 0));
  zmq_msg_t id, body;
  zmq_msg_init(&id);
  zmq_msg_init(&body);
  for (;;) {
    if (router && zmq_msg_recv(&id, s, 0) < 0) break;
    if (zmq_msg_recv(&body, s, 0) < 0) break;
    if (zmq_msg_size(&body) != o.size) {
      std::fprintf(stderr, "%s: request of %zu bytes, expected %zu\n", impl, zmq_msg_size(&body), o.size);
      return 1;
    }
    if (router && zmq_msg_send(&id, s, ZMQ_SNDMORE) < 0) break;
    if (zmq_msg_send(&body, s, 0) < 0) break;
  }
  return 0;
}

int run_ask(peer_options o, bool reqresp) {
  if (o.transport == "inproc") unsupported(impl, "--transport inproc for ask");
  if (reqresp) o.inflight = 1;
  if (o.size < 16) usage_error(impl, "ask needs --size >= 16");
  bool router = o.inflight > 1;
  child_process server(child_args(o, router ? "router-server" : "rep-server"));
  void* ctx = zmq_ctx_new();
  void* s = make_socket(ctx, router ? ZMQ_DEALER : ZMQ_REQ);
  connect_to(s, server.endpoint());
  auto k = static_cast<std::size_t>(o.inflight);
  std::vector<char> request = make_payload(o.size);
  std::vector<char> reply(o.size + 1);
  std::vector<bench_clock::time_point> sent_at(k);
  auto send = [&](std::uint64_t slot) {
    std::memcpy(request.data(), &slot, 8);
    sent_at[slot] = bench_clock::now();
    return zmq_send(s, request.data(), request.size(), 0) >= 0;
  };
  rtt_window window(o, allocations);
  window.start(bench_clock::now());
  for (std::size_t slot = 0; slot < k; ++slot)
    if (!send(slot)) die_zmq("zmq_send");
  while (!window.done()) {
    int n = zmq_recv(s, reply.data(), reply.size(), 0);
    auto now = bench_clock::now();
    if (n < 0) die_zmq("zmq_recv");
    std::uint64_t slot;
    std::memcpy(&slot, reply.data(), 8);
    if (static_cast<std::size_t>(n) != o.size || slot >= k) {
      std::fprintf(stderr, "%s: malformed reply of %d bytes\n", impl, n);
      return 1;
    }
    if (window.complete(sent_at[slot], now) && !send(slot)) die_zmq("zmq_send");
  }
  zmq_close(s);
  zmq_ctx_term(ctx);
  server.stop();
  if (reqresp)
    window.print_reqresp(impl, 1);
  else
    window.print_ask(impl);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  peer_options o = parse_options(argc, argv);
  if (o.role == "tell-sender") return run_tell_sender(o);
  if (o.role == "rep-server") return run_echo_server(o, false);
  if (o.role == "router-server") return run_echo_server(o, true);
  if (!o.role.empty()) usage_error(argv[0], "unknown role " + o.role);
  if (o.scenario == "tell") return run_tell(o);
  if (o.scenario == "ask") return run_ask(o, false);
  if (o.scenario == "reqresp") return run_ask(o, true);
  if (o.scenario == "local-tell" || o.scenario == "local-ask") unsupported(impl, o.scenario);
  usage_error(argv[0], "unknown scenario " + o.scenario);
}
