// The command line and the JSON result line shared by herald-bench and every
// peer program, so that tools/bench drives all contenders alike:
//
//   <binary> tell --size N --seconds S [--transport tcp|unix|inproc] [--connections C] --json
//   <binary> ask --size N --inflight K --seconds S --json
//   <binary> reqresp --size N --seconds S --json
//   <binary> local-tell --senders 1|2 --seconds S --json
//   <binary> local-ask --seconds S --json
//
// Progress goes to stderr; exactly one JSON object goes to stdout. A scenario
// a program does not implement exits with code 2 (exit_unsupported). The
// hidden `--role NAME` and `--endpoint E` options start the other process of
// a two-process run (see child_process.hpp).
//
// Thread safety: plain values; parse on one thread, then share read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace herald::bench {

inline constexpr int exit_unsupported = 2;

struct peer_options {
  std::string scenario;        // tell, ask, reqresp, local-tell, local-ask
  std::size_t size = 64;       // payload bytes per message
  double seconds = 3.0;        // length of the measured window
  double warmup = 0.25;        // discarded time before the window
  std::string transport = "tcp";
  int connections = 1;
  int inflight = 1;
  int senders = 1;
  bool json = false;
  std::string role;            // hidden: set in the child process
  std::string endpoint;        // hidden: where the child listens
};

[[noreturn]] inline void usage_error(const char* program, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", program, why.c_str());
  std::fprintf(stderr,
               "usage: %s tell|ask|reqresp|local-tell|local-ask [--size N] [--seconds S]\n"
               "       [--transport tcp|unix|inproc] [--connections C] [--inflight K]\n"
               "       [--senders N] [--warmup S] --json\n",
               program);
  std::exit(64);
}

[[noreturn]] inline void unsupported(const char* impl, const std::string& what) {
  std::fprintf(stderr, "%s: not implemented by this peer: %s\n", impl, what.c_str());
  std::exit(exit_unsupported);
}

inline peer_options parse_options(int argc, char** argv) {
  peer_options o;
  if (argc < 2) usage_error(argv[0], "missing scenario");
  o.scenario = argv[1];
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage_error(argv[0], std::string("missing value for ") + argv[i]);
    return argv[++i];
  };
  auto number = [&](int& i) -> double {
    std::string name = argv[i];
    std::string v = value(i);
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || d < 0) usage_error(argv[0], "bad number for " + name + ": " + v);
    return d;
  };
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--size") o.size = static_cast<std::size_t>(number(i));
    else if (a == "--seconds") o.seconds = number(i);
    else if (a == "--warmup") o.warmup = number(i);
    else if (a == "--transport") o.transport = value(i);
    else if (a == "--connections") o.connections = static_cast<int>(number(i));
    else if (a == "--inflight") o.inflight = static_cast<int>(number(i));
    else if (a == "--senders") o.senders = static_cast<int>(number(i));
    else if (a == "--json") o.json = true;
    else if (a == "--role") o.role = value(i);
    else if (a == "--endpoint") o.endpoint = value(i);
    else usage_error(argv[0], "unknown option " + std::string(a));
  }
  if (o.connections < 1 || o.inflight < 1 || o.senders < 1) usage_error(argv[0], "counts must be >= 1");
  if (o.seconds <= 0) usage_error(argv[0], "--seconds must be > 0");
  if (o.transport != "tcp" && o.transport != "unix" && o.transport != "inproc")
    usage_error(argv[0], "--transport must be tcp, unix or inproc");
  return o;
}

// Builds the one JSON object a run prints. Keys and numbers only; no escaping
// is needed for the fixed key names and the short string values used here.
class json_line {
 public:
  json_line& str(const char* key, const std::string& v) {
    j_[key] = v;
    return *this;
  }
  json_line& num(const char* key, double v) {
    j_[key] = v;  // a NaN or infinity prints as null, which stays JSON
    return *this;
  }
  json_line& integer(const char* key, std::uint64_t v) {
    j_[key] = v;
    return *this;
  }
  void print() const {
    std::printf("%s\n", j_.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    std::fflush(stdout);
  }

 private:
  nlohmann::ordered_json j_ = nlohmann::ordered_json::object();  // keys in the order they were added
};

using bench_clock = std::chrono::steady_clock;

inline double seconds_between(bench_clock::time_point a, bench_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace herald::bench
