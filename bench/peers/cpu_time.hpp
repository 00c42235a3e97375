// CPU time of a benchmark's process pair: the measuring process and the
// children it started (child_process registers them), read from the
// kernel's per-process CPU clocks. Divided by the messages of the window it
// gives the CPU cost per message, the honest measure of cost on a machine
// with fewer cores than threads.
//
// Thread safety: child_pids() is changed only by the thread that starts and
// stops children, before and after the windows that read it.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <vector>

namespace herald::bench {

inline std::vector<pid_t>& child_pids() {
  static std::vector<pid_t> pids;
  return pids;
}

inline double cpu_clock_seconds(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds (user + system) used so far by this process and its live
// benchmark children.
inline double pair_cpu_seconds() {
  double s = cpu_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (pid_t p : child_pids()) {
    clockid_t c;
    if (clock_getcpuclockid(p, &c) == 0) s += cpu_clock_seconds(c);
  }
  return s;
}

inline void forget_child_pid(pid_t p) {
  auto& v = child_pids();
  v.erase(std::remove(v.begin(), v.end(), p), v.end());
}

}  // namespace herald::bench
