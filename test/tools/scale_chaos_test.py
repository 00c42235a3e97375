#!/usr/bin/env python3
"""16 herald-node processes on loopback converge and survive SIGKILL of 4.

Usage: scale_chaos_test.py --bin DIR [--nodes 16] [--kill 4]

n1 and n2 are the seeds of every other node. Checks, each within a bound:
every node sees all 16 up with the same registry (every node's bank actors);
after SIGKILL of 4 nodes (a seed among them), every survivor sees exactly
those 4 down and the rest up, and the survivors' registries are equal and
hold no name of a killed node. Prints the times measured. Every process is
killed on the way out.
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_tools_test import Cluster, eventually  # noqa: E402


def statuses(c, n):
    m = c.members(n)
    return {name: row["status"] for name, row in m.items()} if m else None


def registry(c, n):
    r = c.ctl(n, "registry", "--json")
    if r.returncode != 0:
        return None
    return sorted((e["name"], e["node"], e["actor"]) for e in json.loads(r.stdout))


def agreed(c, names, want_status, want_names):
    """Every node of names sees want_status and holds exactly want_names."""
    regs = []
    for n in names:
        s = statuses(c, n)
        if s is None or {k: v for k, v in s.items() if k in want_status} != want_status:
            return None
        if any(v == "up" and k not in want_status for k, v in s.items()):
            return None
        reg = registry(c, n)
        if reg is None or {e[0] for e in reg} != want_names:
            return None
        regs.append(reg)
    return regs if all(r == regs[0] for r in regs) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--kill", type=int, default=4)
    a = ap.parse_args()
    names = [f"n{i}" for i in range(1, a.nodes + 1)]
    # A seed (n1) and every fourth node after it.
    killed = [names[i] for i in range(0, a.nodes, a.nodes // a.kill)][: a.kill]
    survivors = [n for n in names if n not in killed]
    with tempfile.TemporaryDirectory() as work:
        c = Cluster(a.bin, work)
        try:
            t0 = time.monotonic()
            c.start("n1", extra=("--workers", "1"))
            c.start("n2", seed="n1", extra=("--workers", "1"))
            for n in names[2:]:
                seeds = ("--seed", f"127.0.0.1:{c.ports['n2']}", "--workers", "1")
                c.start(n, seed="n1", extra=seeds)
            everyone = {f"{k}-{n}" for k in ("acct", "teller", "auditor") for n in names}
            eventually(f"all {a.nodes} nodes see {a.nodes} up and the same registry",
                       lambda: agreed(c, names, {n: "up" for n in names}, everyone), 60)
            joined = time.monotonic() - t0
            print(f"[ figures ] {a.nodes} processes converged (members and registry) {joined:.1f} s after the first start")

            t1 = time.monotonic()
            for n in killed:
                c.procs[n][0].kill()  # SIGKILL
            want = {n: "up" for n in survivors}
            want.update({n: "down" for n in killed})
            left = {f"{k}-{n}" for k in ("acct", "teller", "auditor") for n in survivors}
            eventually(f"the {len(survivors)} survivors see {killed} down and agree on the registry",
                       lambda: agreed(c, survivors, want, left), 60)
            detected = time.monotonic() - t1
            print(f"[ figures ] SIGKILL of {killed}: the {len(survivors)} survivors agree on members and registry "
                  f"after {detected:.1f} s")
            for n in survivors:
                assert c.procs[n][0].poll() is None, f"{n} survived the others' deaths"
        except BaseException:
            for n in c.procs:
                print(f"--- {n}\n{c.output(n)[-3000:]}", file=sys.stderr)
            raise
        finally:
            c.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
