#!/usr/bin/env python3
"""A real network partition {n1, n2} / {n3, n4, n5} of herald-node processes.

Usage: partition_test.py --bin DIR [--cut SECONDS] [--heal-bound SECONDS]

Each node runs in a network namespace of its own (herald-part-nX), linked by
a veth pair to a hub namespace (herald-part-hub) that routes between them;
the partition is a set of `ip rule ... blackhole` rules in the hub, so the
packets between the sides vanish without a reset, as on a cut network. Only
the 10.251.0.0/16 addresses of these namespaces are used. Checks: no node
suspects or declares down a node of its own side during the cut, the other
side is down, and after the heal every node holds all 5 up and the same
registry within --heal-bound seconds (printed). Needs root (ip netns); exits
77 (skipped) without it. Every process and namespace is removed on the way
out.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

SECRET = "partition-test-secret"
NODES = ["n1", "n2", "n3", "n4", "n5"]
LEFT, RIGHT = ["n1", "n2"], ["n3", "n4", "n5"]
HUB = "herald-part-hub"
PORT = 7000


def ns(n):
    return "herald-part-" + n


def addr(n):
    return f"10.251.{NODES.index(n) + 1}.2"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def in_ns(name, *args, check=True):
    return sh("ip", "netns", "exec", name, *args, check=check)


def setup():
    sh("ip", "netns", "add", HUB)
    in_ns(HUB, "ip", "link", "set", "lo", "up")
    in_ns(HUB, "sysctl", "-qw", "net.ipv4.ip_forward=1", check=False)
    for i, n in enumerate(NODES, start=1):
        sh("ip", "netns", "add", ns(n))
        sh("ip", "link", "add", f"hp{i}", "netns", HUB, "type", "veth", "peer", "name", "eth0", "netns", ns(n))
        in_ns(HUB, "ip", "addr", "add", f"10.251.{i}.1/24", "dev", f"hp{i}")
        in_ns(HUB, "ip", "link", "set", f"hp{i}", "up")
        in_ns(ns(n), "ip", "link", "set", "lo", "up")
        in_ns(ns(n), "ip", "addr", "add", f"{addr(n)}/24", "dev", "eth0")
        in_ns(ns(n), "ip", "link", "set", "eth0", "up")
        in_ns(ns(n), "ip", "route", "add", "default", "via", f"10.251.{i}.1")
    # sysctl may be missing: write the forwarding switch directly.
    in_ns(HUB, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")


def teardown():
    for name in [HUB] + [ns(n) for n in NODES]:
        sh("ip", "netns", "del", name, check=False)


def cut(on):
    for a in LEFT:
        for b in RIGHT:
            for src, dst in ((a, b), (b, a)):
                op = "add" if on else "del"
                in_ns(HUB, "ip", "rule", op, "from", addr(src), "to", addr(dst), "blackhole", "priority", "100",
                      check=on)


class Nodes:
    def __init__(self, bindir, workdir):
        self.bindir, self.workdir, self.procs = bindir, workdir, {}
        self.env = dict(os.environ, HERALD_SECRET=SECRET)

    def start(self, n):
        args = ["ip", "netns", "exec", ns(n), os.path.join(self.bindir, "herald-node"), "--name", n, "--listen",
                f"{addr(n)}:{PORT}", "--node-id", str(NODES.index(n) + 1)]
        if n != "n1":
            args += ["--seed", f"{addr('n1')}:{PORT}"]
        log = open(os.path.join(self.workdir, n + ".log"), "w+")
        self.procs[n] = (subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env), log)

    def output(self, n):
        self.procs[n][1].flush()
        with open(self.procs[n][1].name) as f:
            return f.read()

    def ctl(self, n, *cmd):
        args = ["ip", "netns", "exec", HUB, os.path.join(self.bindir, "herald-ctl"), "--node", f"{addr(n)}:{PORT}",
                "--timeout", "1", *cmd, "--json"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=10, env=self.env)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def stop_all(self):
        for p, log in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
            log.close()


def all_up_and_equal(c):
    names = None
    for n in NODES:
        m = c.ctl(n, "members")
        if not m or sorted(x["name"] for x in m if x["status"] == "up") != NODES:
            return False
        r = c.ctl(n, "registry")
        got = sorted((e["name"], e["node"], e["incarnation"]) for e in r) if r is not None else None
        if got is None or (names is not None and got != names):
            return False
        names = got
    return True


def eventually(what, check, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {limit} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cut", type=float, default=30.0)
    ap.add_argument("--heal-bound", type=float, default=3.0)
    a = ap.parse_args()
    if os.geteuid() != 0 or sh("ip", "netns", "list", check=False).returncode != 0:
        print("skipped: needs root and ip netns")
        return 77
    teardown()
    with tempfile.TemporaryDirectory() as work:
        c = Nodes(a.bin, work)
        try:
            try:
                setup()
            except subprocess.CalledProcessError as e:
                print(f"skipped: cannot build the namespaces: {e.stderr.strip()}")
                return 77
            for n in NODES:
                c.start(n)
            eventually("5 nodes up with equal registries", lambda: all_up_and_equal(c), 20)
            marks = {n: len(c.output(n)) for n in NODES}
            cut(True)
            time.sleep(a.cut)
            bad = []
            for n in NODES:
                side = LEFT if n in LEFT else RIGHT
                for line in c.output(n)[marks[n]:].splitlines():
                    m = re.search(r"member (n\d) \(\S+\) (suspect|down)", line)
                    if m and m.group(1) in side and m.group(1) != n:
                        bad.append(f"{n}: {line}")
            for n in NODES:
                other = RIGHT if n in LEFT else LEFT
                view = {x["name"]: x["status"] for x in (c.ctl(n, "members") or [])}
                for o in other:
                    if view.get(o) not in ("down", None):
                        bad.append(f"{n} holds {o} as {view.get(o)} after {a.cut:g} s of cut")
            t0 = time.monotonic()
            cut(False)
            eventually("all 5 up everywhere with equal registries after the heal", lambda: all_up_and_equal(c),
                       a.heal_bound + 30)
            took = time.monotonic() - t0
            print(f"partition {{2}}/{{3}} for {a.cut:g} s: all up and registries equal {took:.2f} s after the heal")
            if took > a.heal_bound:
                bad.append(f"healed after {took:.2f} s, bound {a.heal_bound:g} s")
            for b in bad:
                print("FAIL:", b)
            return 1 if bad else 0
        except BaseException:
            for n in c.procs:
                print(f"--- {n}\n{c.output(n)[-3000:]}", file=sys.stderr)
            raise
        finally:
            c.stop_all()
            teardown()


if __name__ == "__main__":
    sys.exit(main())
