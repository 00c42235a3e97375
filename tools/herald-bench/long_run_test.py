#!/usr/bin/env python3
"""A long herald-bench tell keeps its rate and loses nothing.

The sender is a client node (no listen address): it must stay a member for
the whole run rather than be declared down after a few seconds. Runs
`tell --seconds 3`, `tell --seconds LONG` and `tell --seconds 3` again, and
checks that the long run exits 0, reports no lost, duplicated or refused
(node_down) tells, and that its rate is within 20 % of the short runs' mean.
On a shared machine the rates move with the neighbours' load, so a rate out
of bounds repeats the three runs, up to 3 attempts; a defect (a sender
declared down after a few seconds halves the long rate) fails every attempt.
Loss or an error fails at once.
Usage: long_run_test.py BINARY [LONG]  (LONG defaults to 20)
"""
import json
import re
import subprocess
import sys


def tell(binary, seconds):
    cmd = [binary, "tell", "--size", "64", "--seconds", str(seconds), "--warmup", "0.5", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if not lines:
        raise AssertionError(f"tell --seconds {seconds}: exit {p.returncode}, no JSON; stderr:\n{p.stderr[-2000:]}")
    r = json.loads(lines[-1])
    print(f"tell --seconds {seconds}: exit {p.returncode}, {r['msgs_per_s']:.0f} msgs/s, lost {r['lost']}, "
          f"duplicates {r['duplicates']}, reorders {r['reorders']}, backpressure {r.get('backpressure_events')}, "
          f"node_down {r.get('node_down_errors')}")
    return p.returncode, r, p.stderr


def attempt(binary, long_s):
    """Failures that no repetition excuses, and the long/short rate ratio."""
    rc1, short1, _ = tell(binary, 3)
    rc, long_run, err = tell(binary, long_s)
    rc2, short2, _ = tell(binary, 3)
    failures = []
    for name, code, r in (("short", rc1, short1), ("long", rc, long_run), ("short again", rc2, short2)):
        if code != 0:
            failures.append(f"{name} run exited {code}")
        if r["lost"] or r["duplicates"] or r.get("node_down_errors"):
            failures.append(f"{name} run: lost {r['lost']}, duplicates {r['duplicates']}, "
                            f"node_down {r.get('node_down_errors')}")
    # The link closing when the run ends is expected; the cluster declaring
    # the sender (or the receiver) down during the run is the defect.
    if "declared down" in err or re.search(r"member sender-\d+ \(\S+\) (suspect|down)", err):
        failures.append("the long run's sender was suspected or declared down:\n" + err[-2000:])
    base = (short1["msgs_per_s"] + short2["msgs_per_s"]) / 2
    ratio = long_run["msgs_per_s"] / base if base else 0
    print(f"long/short rate: {ratio:.3f}")
    return failures, ratio


def main():
    binary = sys.argv[1]
    long_s = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    for n in range(3):
        failures, ratio = attempt(binary, long_s)
        if failures:
            break
        if 0.8 <= ratio <= 1.2:
            print(f"attempt {n + 1}: the {long_s:g} s rate is within 20 % of the 3 s rate")
            return 0
        failures = [f"the {long_s:g} s rate is {ratio:.2f}x the 3 s rate (want within 20 %)"]
        print(f"attempt {n + 1}:", failures[0])
    for f in failures:
        print("FAIL:", f)
    return 1


if __name__ == "__main__":
    sys.exit(main())
