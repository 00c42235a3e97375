#!/usr/bin/env python3
"""Smoke test of one benchmark program (a peer or herald-bench).

Runs every scenario for a short window and checks the contract that
tools/bench relies on: exit 0 with exactly one JSON object on stdout whose
counts come from the receiving side, or exit 2 for a scenario the program
does not implement. Every program must implement remote tell and ask.
Usage: smoke_test.py BINARY
"""
import json
import subprocess
import sys

SHORT = ["--seconds", "0.3", "--json"]
CASES = [
    (["tell", "--size", "64"], "tell", "msgs_per_s", True),
    (["tell", "--size", "1048576"], "tell", "msgs_per_s", True),
    (["tell", "--size", "64", "--transport", "unix"], "tell", "msgs_per_s", False),
    (["tell", "--size", "1024", "--connections", "2"], "tell", "msgs_per_s", False),
    (["ask", "--size", "64", "--inflight", "1"], "ask", "rtt_per_s", True),
    (["ask", "--size", "64", "--inflight", "32"], "ask", "rtt_per_s", True),
    (["reqresp", "--size", "10240"], "reqresp", "req_per_s", False),
    (["local-tell", "--senders", "2"], "local_tell", "msgs_per_s", False),
    (["local-ask"], "local_ask", "rtt_per_s", False),
]


def main():
    binary = sys.argv[1]
    failures = skipped = 0
    for args, bench, rate_key, required in CASES:
        cmd = [binary] + args + SHORT
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            print("FAIL (timeout):", " ".join(cmd))
            failures += 1
            continue
        if p.returncode == 2 and not required:
            print("skip (not implemented):", " ".join(args))
            skipped += 1
            continue
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        ok = p.returncode == 0 and len(lines) == 1
        why = "exit %d, %d stdout lines" % (p.returncode, len(lines))
        if ok:
            r = json.loads(lines[0])
            if r.get("bench") != bench:
                ok, why = False, "bench is %r" % r.get("bench")
            elif not r.get("msgs", 0) > 0 or not r.get(rate_key, 0) > 0:
                ok, why = False, "no messages counted: %s" % lines[0]
            elif "size" in args and r.get("size") != int(args[args.index("--size") + 1]):
                ok, why = False, "size echoed wrong: %s" % lines[0]
        print(("ok:   " if ok else "FAIL: ") + " ".join(args) + ("" if ok else " -- " + why))
        if not ok:
            sys.stderr.write(p.stderr[-2000:])
            failures += 1
    passed = len(CASES) - failures - skipped
    print("%d passed, %d failed, %d skipped" % (passed, failures, skipped))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
