#!/usr/bin/env python3
"""Runs builds of herald-bench (or peers) against each other, interleaved.

For --rounds rounds, runs every contender once in the order given (a, b, c,
a, b, c, ...) with the same scenario arguments, each a fresh pair of
processes, and prints per contender the median of each field of its JSON
line, with the range in brackets. Use it to measure a change as a ratio
against the build before it in the same run:

  git worktree add /tmp/base HEAD~1 && cmake -S /tmp/base -B /tmp/base/build \\
      -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_BENCHMARKS=ON && \\
      cmake --build /tmp/base/build --target herald-bench
  tools/herald-bench/ab.py --rounds 5 --fields p50_us,p99_us,rtt_per_s \\
      base=/tmp/base/build/bin/herald-bench new=build/bin/herald-bench \\
      raw=build/bin/peer-rawtcp -- ask --size 64 --seconds 2

--pin runs every process on core 0 (taskset -c 0).
"""
import argparse
import json
import statistics
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        raise SystemExit("usage: ab.py [--rounds N] [--pin] --fields F,... NAME=BINARY... -- SCENARIO ARGS...")
    cut = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("--fields", required=True)
    ap.add_argument("contenders", nargs="+", help="name=path")
    a = ap.parse_args(argv[:cut])
    scenario = argv[cut + 1:]
    fields = a.fields.split(",")
    contenders = [c.split("=", 1) for c in a.contenders]
    seen = {name: {f: [] for f in fields} for name, _ in contenders}
    for _ in range(a.rounds):
        for name, binary in contenders:
            cmd = (["taskset", "-c", "0"] if a.pin else []) + [binary] + scenario + ["--json"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                sys.stderr.write("%s failed (exit %d): %s\n" % (name, p.returncode, p.stderr[-500:]))
                continue
            line = json.loads(p.stdout.strip().splitlines()[-1])
            for f in fields:
                if isinstance(line.get(f), (int, float)):
                    seen[name][f].append(line[f])
    for name, _ in contenders:
        cells = []
        for f in fields:
            v = seen[name][f]
            if v:
                cells.append("%s=%.4g [%.4g-%.4g]" % (f, statistics.median(v), min(v), max(v)))
        print(name, " ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
