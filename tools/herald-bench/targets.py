#!/usr/bin/env python3
"""Checks herald-bench against the targets of its issue, peers in the same run.

Runs each comparison interleaved (herald, peer, herald, peer, ...) for --reps
rounds, takes the medians and prints one line per target with the ratio and
whether it is met, plus the load average around each comparison.

  tell 64 B        >= 2x   ZeroMQ PUSH/PULL msgs/s
  tell 1 KiB       >= 0.5x raw TCP bytes/s
  ask 1 in flight  p50 <= 1.5x raw TCP ping-pong p50
  ask 32 in flight >= 1.5x ZeroMQ DEALER/ROUTER round trips/s
  tell 64 B        0 allocations per message, sender and receiver

Usage: targets.py [--bin build/bin] [--reps 3] [--seconds 2] [--only TEXT]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

TARGETS = [
    # name, args, metric, peer, how herald must compare: (op, factor)
    ("tell 64 B vs zmq", ["tell", "--size", "64"], "msgs_per_s", "peer-zmq", (">=", 2.0)),
    ("tell 1 KiB vs rawtcp", ["tell", "--size", "1024"], "mb_per_s", "peer-rawtcp", (">=", 0.5)),
    ("ask 1 in flight p50 vs rawtcp", ["ask", "--size", "64", "--inflight", "1"], "p50_us", "peer-rawtcp", ("<=", 1.5)),
    ("ask 32 in flight vs zmq", ["ask", "--size", "64", "--inflight", "32"], "rtt_per_s", "peer-zmq", (">=", 1.5)),
]


def run(binary, args, seconds):
    cmd = [binary] + args + ["--seconds", str(seconds), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-1500:])
        raise SystemExit("failed: " + " ".join(cmd))
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    herald = os.path.join(a.bin, "herald-bench")
    for name, args, metric, peer, (op, factor) in TARGETS:
        if a.only not in name:
            continue
        load0 = os.getloadavg()[0]
        h, p, halloc, salloc = [], [], [], []
        for _ in range(a.reps):
            r = run(herald, args, a.seconds)
            h.append(r[metric])
            halloc.append(r.get("allocs_per_msg", 0))
            salloc.append(r.get("sender_allocs_per_msg", r.get("server_allocs_per_msg", float("nan"))))
            p.append(run(os.path.join(a.bin, peer), args, a.seconds)[metric])
        load1 = os.getloadavg()[0]
        hm, pm = statistics.median(h), statistics.median(p)
        ratio = hm / pm if pm else float("inf")
        met = ratio >= factor if op == ">=" else ratio <= factor
        print("%-32s herald %s (%s) | %s %s (%s) | ratio %.2f, target %s %.1f: %s | allocs/msg %s / other %s | load %.1f-%.1f"
              % (name, "%.4g" % hm, ", ".join("%.4g" % x for x in h), peer, "%.4g" % pm,
                 ", ".join("%.4g" % x for x in p), ratio, op, factor, "met" if met else "MISSED",
                 "%.3g" % statistics.median(halloc), "%.3g" % statistics.median(salloc), load0, load1))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
