#!/usr/bin/env python3
"""Runs every herald-bench subcommand for about a second and checks its JSON.

Beyond bench/peers/smoke_test.py (the contract all contenders share), this
checks the keys herald-bench adds: the allocation counts of the second
process, and that a 64-byte tell allocates nothing in steady state on either
side. Usage: subcommands_test.py BINARY
"""
import json
import subprocess
import sys

RUN = ["--seconds", "0.7", "--warmup", "0.2", "--json"]
COMMON = {"bench", "impl", "msgs", "seconds", "allocs_per_msg"}
CASES = [
    (["tell", "--size", "64"], "tell", {"size", "msgs_per_s", "mb_per_s", "transport", "connections",
                                         "sender_allocs_per_msg", "receiver_allocs_per_msg"}),
    (["tell", "--size", "1048576"], "tell", {"msgs_per_s", "mb_per_s", "sender_allocs_per_msg"}),
    (["tell", "--size", "64", "--transport", "unix"], "tell", {"msgs_per_s", "sender_allocs_per_msg"}),
    (["tell", "--size", "64", "--transport", "inproc"], "tell", {"msgs_per_s"}),
    (["tell", "--size", "64", "--connections", "2"], "tell", {"msgs_per_s", "sender_allocs_per_msg"}),
    (["ask", "--size", "64", "--inflight", "1"], "ask", {"rtt_per_s", "p50_us", "p99_us", "p999_us",
                                                          "inflight", "server_allocs_per_msg"}),
    (["ask", "--size", "64", "--inflight", "32"], "ask", {"rtt_per_s", "p50_us", "p99_us"}),
    (["ask", "--size", "64", "--inflight", "4", "--transport", "inproc"], "ask", {"rtt_per_s", "p50_us"}),
    (["reqresp", "--size", "10240"], "reqresp", {"req_per_s", "p50_us", "p99_us", "clients"}),
    (["local-tell", "--senders", "1"], "local_tell", {"msgs_per_s", "senders"}),
    (["local-tell", "--senders", "2"], "local_tell", {"msgs_per_s", "senders"}),
    (["local-ask"], "local_ask", {"rtt_per_s", "p50_us", "p99_us"}),
]


def main():
    binary = sys.argv[1]
    failures = 0
    for args, bench, keys in CASES:
        cmd = [binary] + args + RUN
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=40)
        except subprocess.TimeoutExpired:
            print("FAIL (timeout):", " ".join(args))
            failures += 1
            continue
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        why = None
        if p.returncode != 0 or len(lines) != 1:
            why = "exit %d, %d stdout lines" % (p.returncode, len(lines))
        else:
            r = json.loads(lines[0])
            missing = sorted((COMMON | keys) - set(r))
            if r.get("bench") != bench or r.get("impl") != "herald":
                why = "bench/impl: %s" % lines[0]
            elif missing:
                why = "missing keys %s: %s" % (missing, lines[0])
            elif not r["msgs"] > 0:
                why = "nothing counted: %s" % lines[0]
            elif args[:3] == ["tell", "--size", "64"] and len(args) == 3:
                # The target: no heap allocation per steady-state POD
                # tell on either side. A few stray allocations of the runtime
                # (timers, gossip) over ~1M messages stay far below 0.01.
                if r["allocs_per_msg"] > 0.01 or r["sender_allocs_per_msg"] > 0.01:
                    why = "a 64-byte tell allocates: %s" % lines[0]
        print(("ok:   " if why is None else "FAIL: ") + " ".join(args) + ("" if why is None else " -- " + why))
        if why is not None:
            sys.stderr.write(p.stderr[-2000:])
            failures += 1
    print("%d passed, %d failed" % (len(CASES) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
