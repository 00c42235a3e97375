#!/usr/bin/env python3
"""Checks herald-bench against the targets of its issue, peers in the same run.

Runs each comparison interleaved (herald, peer, herald, peer, ...) for --reps
rounds, takes the medians and prints one line per target with the ratio
(herald / peer) and whether it is met, plus the load average around each
comparison. --pin runs every process on core 0 (taskset -c 0), the
one-core figure of a round trip.

  tell 64 B          >= 2.5x  ZeroMQ PUSH/PULL msgs/s, >= 0.25x raw batched TCP
  tell 1 KiB         >= 0.5x  raw TCP bytes/s
  tell 1 MiB         >= 1x    ZeroMQ bytes/s, >= 0.8x raw TCP
  ask 1 in flight    p50 <= 1.5x, p99 <= 3x raw TCP ping-pong
  ask 32 in flight   >= 3x    ZeroMQ DEALER/ROUTER round trips/s
  request/response   >= 0.8x  raw TCP requests/s at 1, 10 and 100 KiB
  local ask          >= 2x    CAF round trips/s
  allocations        printed per target: herald's process / the other one

Usage: targets.py [--bin build/bin] [--reps 3] [--seconds 2] [--only TEXT] [--pin]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ASK1 = ["ask", "--size", "64", "--inflight", "1"]
TARGETS = [
    # name, args, metric, peer, how herald / peer must compare: (op, factor)
    ("tell 64 B vs zmq", ["tell", "--size", "64"], "msgs_per_s", "peer-zmq", (">=", 2.5)),
    ("tell 64 B vs rawtcp", ["tell", "--size", "64"], "msgs_per_s", "peer-rawtcp", (">=", 0.25)),
    ("tell 1 KiB vs rawtcp", ["tell", "--size", "1024"], "mb_per_s", "peer-rawtcp", (">=", 0.5)),
    ("tell 1 MiB vs zmq", ["tell", "--size", "1048576"], "mb_per_s", "peer-zmq", (">=", 1.0)),
    ("tell 1 MiB vs rawtcp", ["tell", "--size", "1048576"], "mb_per_s", "peer-rawtcp", (">=", 0.8)),
    ("ask 1 in flight p50 vs rawtcp", ASK1, "p50_us", "peer-rawtcp", ("<=", 1.5)),
    ("ask 1 in flight p99 vs rawtcp", ASK1, "p99_us", "peer-rawtcp", ("<=", 3.0)),
    ("ask 32 in flight vs zmq", ["ask", "--size", "64", "--inflight", "32"], "rtt_per_s", "peer-zmq", (">=", 3.0)),
    ("reqresp 1 KiB vs rawtcp", ["reqresp", "--size", "1024"], "req_per_s", "peer-rawtcp", (">=", 0.8)),
    ("reqresp 10 KiB vs rawtcp", ["reqresp", "--size", "10240"], "req_per_s", "peer-rawtcp", (">=", 0.8)),
    ("reqresp 100 KiB vs rawtcp", ["reqresp", "--size", "102400"], "req_per_s", "peer-rawtcp", (">=", 0.8)),
    ("local ask vs caf", ["local-ask", "--size", "64"], "rtt_per_s", "peer-caf", (">=", 2.0)),
]


def run(binary, args, seconds, pin):
    cmd = (["taskset", "-c", "0"] if pin else []) + [binary] + args + ["--seconds", str(seconds), "--json"]
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
    ap.add_argument("--pin", action="store_true", help="every process on core 0")
    a = ap.parse_args()
    herald = os.path.join(a.bin, "herald-bench")
    for name, args, metric, peer, (op, factor) in TARGETS:
        if a.only not in name:
            continue
        load0 = os.getloadavg()[0]
        h, p, halloc, salloc = [], [], [], []
        for _ in range(a.reps):
            r = run(herald, args, a.seconds, a.pin)
            h.append(r[metric])
            halloc.append(r.get("allocs_per_msg", 0))
            salloc.append(r.get("sender_allocs_per_msg", r.get("server_allocs_per_msg", float("nan"))))
            p.append(run(os.path.join(a.bin, peer), args, a.seconds, a.pin)[metric])
        load1 = os.getloadavg()[0]
        hm, pm = statistics.median(h), statistics.median(p)
        ratio = hm / pm if pm else float("inf")
        met = ratio >= factor if op == ">=" else ratio <= factor
        print("%-32s herald %s (%s) | %s %s (%s) | ratio %.2f, target %s %.3g: %s | allocs/msg %s / other %s | load %.1f-%.1f"
              % (name, "%.4g" % hm, ", ".join("%.4g" % x for x in h), peer, "%.4g" % pm,
                 ", ".join("%.4g" % x for x in p), ratio, op, factor, "met" if met else "MISSED",
                 "%.3g" % statistics.median(halloc), "%.3g" % statistics.median(salloc), load0, load1))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
