// The timed window of a round-trip run, driven by the client as replies come
// in: replies before the warm-up ends are discarded, every reply inside the
// window is counted and its latency recorded, and the first reply after the
// window closes it. The clock is read once per reply, which a round trip
// needs anyway.
//
// Thread safety: confined to the thread (or actor) that completes requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "cpu_time.hpp"
#include "latency_histogram.hpp"
#include "peer_cli.hpp"

namespace herald::bench {

class rtt_window {
 public:
  rtt_window(const peer_options& o, std::uint64_t (*allocations)() noexcept)
      : opts_(o), allocations_(allocations) {}

  void start(bench_clock::time_point now) {
    warm_end_ = now + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(opts_.warmup));
    end_ = warm_end_ + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(opts_.seconds));
  }

  // Records one completed round trip; false once the window has closed.
  bool complete(bench_clock::time_point sent, bench_clock::time_point now) {
    if (done_) return false;
    if (now < warm_end_) return true;
    if (!measuring_) {
      measuring_ = true;
      t0_ = now;
      a0_ = allocations_();
      c0_ = pair_cpu_seconds();
      return true;  // this reply opens the window
    }
    hist_.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count()));
    if (now >= end_) {
      done_ = true;
      t1_ = now;
      a1_ = allocations_();
      c1_ = pair_cpu_seconds();
      return false;
    }
    return true;
  }

  bool done() const { return done_; }
  double seconds() const { return seconds_between(t0_, t1_); }
  double per_second() const { return seconds() > 0 ? static_cast<double>(hist_.count()) / seconds() : 0; }
  double allocs_per_msg() const {
    return hist_.count() ? static_cast<double>(a1_ - a0_) / static_cast<double>(hist_.count()) : 0;
  }
  // CPU time of both processes per round trip (cpu_time.hpp).
  double cpu_ns_per_msg() const {
    return hist_.count() ? (c1_ - c0_) * 1e9 / static_cast<double>(hist_.count()) : 0;
  }
  const latency_histogram& histogram() const { return hist_; }

  void print_ask(const char* impl) const {
    std::fprintf(stderr, "%s ask %zu B inflight %d over %s: %.0f rtt/s, p50 %.1f us\n", impl, opts_.size,
                 opts_.inflight, opts_.transport.c_str(), per_second(), hist_.percentile_us(0.5));
    json_line()
        .str("bench", "ask")
        .str("impl", impl)
        .str("transport", opts_.transport)
        .integer("size", opts_.size)
        .integer("inflight", static_cast<std::uint64_t>(opts_.inflight))
        .integer("msgs", hist_.count())
        .num("seconds", seconds())
        .num("rtt_per_s", per_second())
        .num("p50_us", hist_.percentile_us(0.5))
        .num("p99_us", hist_.percentile_us(0.99))
        .num("p999_us", hist_.percentile_us(0.999))
        .num("allocs_per_msg", allocs_per_msg())
        .num("cpu_ns_per_msg", cpu_ns_per_msg())
        .print();
  }

  void print_reqresp(const char* impl, int clients) const {
    std::fprintf(stderr, "%s reqresp %zu B, %d client(s): %.0f req/s, p50 %.1f us\n", impl, opts_.size, clients,
                 per_second(), hist_.percentile_us(0.5));
    json_line()
        .str("bench", "reqresp")
        .str("impl", impl)
        .str("transport", opts_.transport)
        .integer("size", opts_.size)
        .integer("clients", static_cast<std::uint64_t>(clients))
        .integer("msgs", hist_.count())
        .num("seconds", seconds())
        .num("req_per_s", per_second())
        .num("p50_us", hist_.percentile_us(0.5))
        .num("p99_us", hist_.percentile_us(0.99))
        .num("p999_us", hist_.percentile_us(0.999))
        .num("allocs_per_msg", allocs_per_msg())
        .num("cpu_ns_per_msg", cpu_ns_per_msg())
        .print();
  }

  void print_local_ask(const char* impl) const {
    std::fprintf(stderr, "%s local ask: %.0f rtt/s, p50 %.2f us\n", impl, per_second(), hist_.percentile_us(0.5));
    json_line()
        .str("bench", "local_ask")
        .str("impl", impl)
        .integer("msgs", hist_.count())
        .num("seconds", seconds())
        .num("rtt_per_s", per_second())
        .num("p50_us", hist_.percentile_us(0.5))
        .num("p99_us", hist_.percentile_us(0.99))
        .num("p999_us", hist_.percentile_us(0.999))
        .num("allocs_per_msg", allocs_per_msg())
        .num("cpu_ns_per_msg", cpu_ns_per_msg())
        .print();
  }

 private:
  const peer_options& opts_;
  std::uint64_t (*allocations_)() noexcept;
  bench_clock::time_point warm_end_{}, end_{}, t0_{}, t1_{};
  std::uint64_t a0_ = 0, a1_ = 0;
  double c0_ = 0, c1_ = 0;
  bool measuring_ = false;
  bool done_ = false;
  latency_histogram hist_;
};

}  // namespace herald::bench
