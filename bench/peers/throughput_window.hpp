// The timed window of a throughput run: wait for the first message, let the
// pipeline warm up, then read the receiving handler's counter at the start and
// the end of the window. The receiving side only bumps a counter; the clock is
// read here, on the measuring thread, so the handler pays nothing for timing.
//
// Thread safety: `received` is written by the receiving thread(s) and read
// here; everything else is confined to the calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "cpu_time.hpp"
#include "peer_cli.hpp"

namespace herald::bench {

struct window_result {
  std::uint64_t msgs = 0;
  double seconds = 0;
  std::uint64_t allocs = 0;
  double cpu_seconds = 0;  // both processes (cpu_time.hpp)

  double cpu_ns_per_msg() const { return msgs > 0 ? cpu_seconds * 1e9 / static_cast<double>(msgs) : 0; }
  double per_second() const { return seconds > 0 ? static_cast<double>(msgs) / seconds : 0; }
  double allocs_per_msg() const { return msgs > 0 ? static_cast<double>(allocs) / static_cast<double>(msgs) : 0; }
};

// `allocations` reads the process's allocation counter (alloc_counter.hpp),
// passed in because only the program's main translation unit may include it.
// Returns msgs == 0 if nothing arrived within 20 s.
template <class Counter>
window_result measure_window(const Counter& received, const peer_options& o,
                             std::uint64_t (*allocations)() noexcept) {
  using namespace std::chrono;
  auto give_up = bench_clock::now() + seconds(20);
  while (received() == 0) {
    if (bench_clock::now() > give_up) return {};
    std::this_thread::sleep_for(milliseconds(1));
  }
  std::this_thread::sleep_for(duration<double>(o.warmup));
  window_result r;
  auto t0 = bench_clock::now();
  std::uint64_t m0 = received();
  std::uint64_t a0 = allocations();
  const double c0 = pair_cpu_seconds();
  std::this_thread::sleep_for(duration<double>(o.seconds));
  const double c1 = pair_cpu_seconds();
  std::uint64_t a1 = allocations();
  std::uint64_t m1 = received();
  auto t1 = bench_clock::now();
  r.msgs = m1 - m0;
  r.seconds = seconds_between(t0, t1);
  r.allocs = a1 - a0;
  r.cpu_seconds = c1 - c0;
  return r;
}

inline void print_tell(const char* impl, const peer_options& o, const window_result& w) {
  std::fprintf(stderr, "%s tell %zu B over %s x%d: %.0f msgs/s\n", impl, o.size, o.transport.c_str(),
               o.connections, w.per_second());
  json_line()
      .str("bench", "tell")
      .str("impl", impl)
      .str("transport", o.transport)
      .integer("connections", static_cast<std::uint64_t>(o.connections))
      .integer("size", o.size)
      .integer("msgs", w.msgs)
      .num("seconds", w.seconds)
      .num("msgs_per_s", w.per_second())
      .num("mb_per_s", w.per_second() * static_cast<double>(o.size) / 1e6)
      .num("allocs_per_msg", w.allocs_per_msg())
      .num("cpu_ns_per_msg", w.cpu_ns_per_msg())
      .print();
}

inline void print_local_tell(const char* impl, const peer_options& o, const window_result& w) {
  std::fprintf(stderr, "%s local tell %d->1: %.0f msgs/s\n", impl, o.senders, w.per_second());
  json_line()
      .str("bench", "local_tell")
      .str("impl", impl)
      .integer("senders", static_cast<std::uint64_t>(o.senders))
      .integer("size", o.size)
      .integer("msgs", w.msgs)
      .num("seconds", w.seconds)
      .num("msgs_per_s", w.per_second())
      .num("allocs_per_msg", w.allocs_per_msg())
      .num("cpu_ns_per_msg", w.cpu_ns_per_msg())
      .print();
}

}  // namespace herald::bench
