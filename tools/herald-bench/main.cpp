// herald-bench: herald's contender in the end-to-end benchmark suite
// (tools/bench, docs/benchmarks.md). It speaks the command line and JSON of
// bench/peers/peer_cli.hpp, like the raw TCP, ZeroMQ and CAF peers:
//
//   herald-bench tell --size N --seconds S [--transport tcp|unix|inproc] [--connections C] --json
//   herald-bench ask --size N --inflight K --seconds S --json
//   herald-bench reqresp --size N --seconds S --json
//   herald-bench local-tell --senders 1|2 --seconds S --json
//   herald-bench local-ask --seconds S --json
//
// What it measures: herald actors over herald's own transport, two processes
// on loopback (or two nodes of one process for inproc), messages counted in
// the receiving actor's handler, round trips timed by the client. Messages:
// a 64-byte trivially copyable struct for --size 64, a std::vector<std::byte>
// of N bytes otherwise (bench_actors.hpp). Settings: herald's defaults
// (runtime/include/herald/runtime/node_config.hpp: 4 MiB ring per
// connection, 1 io thread, blocking backpressure, 64 KiB large-payload
// threshold), 1 worker thread per node in the two-process scenarios, 2 in
// the local ones. allocs_per_msg is counted in the measuring process (the
// receiver of tell, the client of ask); the other process reports its own
// count over a pipe (sender_allocs_per_msg, server_allocs_per_msg).
// tell adds what the peers' contract leaves out: every message carries a
// sequence number, and the JSON has lost, duplicates, reorders (counted by
// the sinks), sent, backpressure_events and node_down_errors (the sender's
// totals); it exits 1 when a message was lost or duplicated. The sender is
// a client node (no listen address) and keeps sending after an error.
// Machine: whatever runs it; tools/bench records it with the results.
#include "alloc_counter.hpp"

#include <csignal>

#include "scenarios.hpp"

namespace herald::bench {
std::uint64_t process_allocations() noexcept { return allocations(); }
}  // namespace herald::bench

int main(int argc, char** argv) {
  using namespace herald::bench;
  std::signal(SIGPIPE, SIG_IGN);
  peer_options o = parse_options(argc, argv);
  if (o.role == "tell-sender") return run_tell_sender(o);
  if (o.role == "echo-server") return run_echo_server(o);
  if (!o.role.empty()) usage_error(argv[0], "unknown role " + o.role);
  if (o.scenario == "tell") return run_tell(o);
  if (o.scenario == "ask") return run_ask(o, false);
  if (o.scenario == "reqresp") return run_ask(o, true);
  if (o.scenario == "local-tell") return run_local_tell(o);
  if (o.scenario == "local-ask") return run_local_ask(o);
  usage_error(argv[0], "unknown scenario " + o.scenario);
}
