#!/usr/bin/env python3
"""herald-node and herald-ctl end to end, as separate processes on loopback.

Usage: cluster_tools_test.py --bin DIR CASE
CASE: converge | registry | kill | leave | wrong_secret | restart | watch | spawnable

Each case starts three herald-node processes (n1 is the seed of n2 and n3) on
free ports, asks them with herald-ctl, and checks what they report. Every
wait is bounded; every process is killed on the way out.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SECRET = "tools-test-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir, workdir):
        self.bindir = bindir
        self.workdir = workdir
        self.procs = {}
        self.ports = {}
        self.env = dict(os.environ, HERALD_SECRET=SECRET)

    def start(self, name, seed=None, secret=SECRET, extra=()):
        port = free_port()
        args = [os.path.join(self.bindir, "herald-node"), "--name", name, "--listen", f"127.0.0.1:{port}", *extra]
        if seed:
            args += ["--seed", f"127.0.0.1:{self.ports[seed]}"]
        env = dict(self.env, HERALD_SECRET=secret)
        log = open(os.path.join(self.workdir, name + ".log"), "a+")
        self.procs[name] = (subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env), log)
        self.ports[name] = port
        return port

    def output(self, name):
        log = self.procs[name][1]
        log.flush()
        with open(log.name) as f:
            return f.read()

    def ctl(self, name, *cmd, port=None, secret=SECRET, timeout=10, ask_timeout="3"):
        port = port or self.ports[name]
        args = [os.path.join(self.bindir, "herald-ctl"), "--node", f"127.0.0.1:{port}", "--timeout", ask_timeout, *cmd]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              env=dict(self.env, HERALD_SECRET=secret))

    def members(self, name):
        r = self.ctl(name, "members", "--json")
        if r.returncode != 0:
            return None
        return {m["name"]: m for m in json.loads(r.stdout)}

    def member_rows(self, name):
        r = self.ctl(name, "members", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def stop_all(self):
        for p, log in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
            log.close()


def eventually(what, check, limit=10.0):
    """Polls check() (every 100 ms) until it returns something truthy."""
    until = time.monotonic() + limit
    last = None
    while time.monotonic() < until:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {limit} s (last seen: {last!r})")


def three_up(c):
    for n in ("n1", "n2", "n3"):
        eventually(f"{n} has 3 members up", lambda n=n: (lambda m: m if m and sum(
            1 for x in m.values() if x["status"] == "up") == 3 else None)(c.members(n)))


def case_converge(c):
    three_up(c)
    seen = {n: c.members(n) for n in ("n1", "n2", "n3")}
    for n, m in seen.items():
        assert set(m) == {"n1", "n2", "n3"}, f"{n} sees {sorted(m)}; herald-ctl itself is no member"
        for name, row in m.items():
            assert row["incarnation"] > 0, f"{n}: {name} has an incarnation"
            assert row["address"] == f"tcp://127.0.0.1:{c.ports[name]}", f"{n}: {name} at {row['address']}"
    assert seen["n1"] == seen["n2"] == seen["n3"], "every node sees the same members and incarnations"
    text = c.ctl("n1", "members")
    assert text.returncode == 0 and "INCARNATION" in text.stdout and text.stdout.count(" up ") == 3, text.stdout
    out = c.output("n1")
    assert "joined" in out, "n1 prints the membership changes:\n" + out


def case_registry(c):
    three_up(c)
    want = {f"{kind}-{n}" for kind in ("acct", "teller", "auditor") for n in ("n1", "n2", "n3")}

    def names(n):
        r = c.ctl(n, "registry", "--json")
        return r.returncode == 0 and want <= {e["name"] for e in json.loads(r.stdout)}

    for n in ("n1", "n2", "n3"):
        eventually(f"{n} has every example actor in its registry", lambda n=n: names(n))
    metrics = c.ctl("n2", "metrics", "--json")
    assert metrics.returncode == 0, metrics.stderr
    counters = json.loads(metrics.stdout)
    assert counters["registry_names"] >= 9 and counters["actors_alive"] >= 3, counters


def case_spawnable(c):
    three_up(c)
    r = c.ctl("n2", "spawnable", "--json")
    assert r.returncode == 0, r.stderr
    types = {t["wire_name"] for t in json.loads(r.stdout)}
    assert types == {"bank::account", "bank::auditor"}, types
    text = c.ctl("n2", "spawnable")
    assert text.returncode == 0 and "TYPE ID" in text.stdout and "bank::auditor" in text.stdout, text.stdout


def case_kill(c):
    three_up(c)
    c.procs["n3"][0].send_signal(signal.SIGKILL)
    t0 = time.monotonic()
    for n in ("n1", "n2"):
        eventually(f"{n} sees n3 down", lambda n=n: (c.members(n) or {}).get("n3", {}).get("status") == "down", 5)
    took = time.monotonic() - t0
    for n in ("n1", "n2"):
        m = c.members(n)
        assert m["n1"]["status"] == "up" and m["n2"]["status"] == "up", m
    r = c.ctl("n1", "registry", "--json")
    names = {e["name"] for e in json.loads(r.stdout)}
    assert "acct-n3" not in names and "acct-n2" in names, f"n3's names are removed: {sorted(names)}"
    print(f"n3 down on n1 and n2 after {took:.2f} s")


def case_leave(c):
    three_up(c)
    c.procs["n3"][0].send_signal(signal.SIGTERM)
    assert c.procs["n3"][0].wait(timeout=10) == 0, "herald-node exits 0 after SIGTERM"
    for n in ("n1", "n2"):
        eventually(f"{n} sees n3 leave", lambda n=n: (c.members(n) or {}).get("n3", {"status": "left"})["status"] == "left", 5)
    assert "left" in c.output("n3"), c.output("n3")
    out = c.output("n1")
    assert "n3" in out and "left" in out, "n1 prints that n3 left:\n" + out


def case_wrong_secret(c):
    three_up(c)
    r = c.ctl("n1", "members", secret="not-the-secret")
    assert r.returncode == 1, f"herald-ctl with a wrong secret fails: {r.returncode} {r.stdout}"
    assert "cannot ask" in r.stderr and ("auth" in r.stderr or "refused" in r.stderr), r.stderr
    c.start("intruder", seed="n1", secret="not-the-secret")
    time.sleep(1.5)  # a bounded window in which a wrong join would have happened
    m = c.members("n1")
    assert "intruder" not in m, f"a node with a wrong secret is refused: {m}"
    out = c.output("n1") + c.output("intruder")
    assert "auth" in out, "the refusal is logged:\n" + out
    print("herald-ctl:", r.stderr.strip())


def case_restart(c):
    three_up(c)
    state = os.path.join(c.workdir, "n4-state")
    c.start("n4", seed="n1", extra=("--state-dir", state))
    eventually("n1 sees n4 up", lambda: (c.members("n1") or {}).get("n4", {}).get("status") == "up")
    old = c.members("n1")["n4"]
    with open(os.path.join(state, "node-id")) as f:
        assert int(f.read()) == old["node"], "the state directory keeps the node id"
    c.procs["n4"][0].send_signal(signal.SIGKILL)
    c.procs["n4"][0].wait()
    c.procs["n4"][1].close()
    t0 = time.monotonic()
    c.start("n4", seed="n1", extra=("--state-dir", state))

    def replaced():
        rows = [m for m in (c.member_rows("n1") or []) if m["name"] == "n4"]
        if len(rows) != 1 or rows[0]["incarnation"] <= old["incarnation"] or rows[0]["status"] != "up":
            return None
        r = c.ctl("n1", "registry", "--json")
        acct = [e for e in json.loads(r.stdout) if e["name"] == "acct-n4"] if r.returncode == 0 else []
        return rows[0] if acct and acct[0]["incarnation"] == rows[0]["incarnation"] else None

    row = eventually("n1 holds one n4 record, a newer incarnation, with its names", replaced, 5)
    took = time.monotonic() - t0
    assert row["node"] == old["node"], f"the same node id: {row['node']} != {old['node']}"
    print(f"n4 restarted with the same node id: one record, incarnation {old['incarnation']} -> "
          f"{row['incarnation']}, names replaced {took:.2f} s after the restart (process start included)")
    assert took < 2.0, f"replaced within 2 s of the restart (process start included): {took:.2f} s"
    out = c.output("n1")
    assert "T" in out.split(" ", 1)[0] and out.split(" ", 1)[0].endswith("Z"), "log lines start with a UTC time:\n" + out


def case_watch(c):
    three_up(c)
    ok = c.ctl("n1", "members", "--wait", "3", "--json")
    assert ok.returncode == 0 and len(json.loads(ok.stdout)) == 3, ok.stdout + ok.stderr
    short = c.ctl("n1", "members", "--wait", "4", ask_timeout="1")
    assert short.returncode == 1 and "3 of 4 members up" in short.stderr, short.stderr
    args = [os.path.join(c.bindir, "herald-ctl"), "--node", f"127.0.0.1:{c.ports['n1']}", "watch", "--json",
            "--for", "8"]
    watcher = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env)
    time.sleep(1.5)
    c.procs["n3"][0].send_signal(signal.SIGKILL)
    out, err = watcher.communicate(timeout=20)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    members = [l for l in lines if l["kind"] == "member"]
    first = {l["name"]: l["event"] for l in members if l["detail"] == "present"}
    assert first == {"n1": "up", "n2": "up", "n3": "up"}, f"watch starts with every member: {lines}"
    assert any(l["name"] == "n3" and l["detail"] != "present" and l["event"] in ("suspect", "down") for l in members), lines
    assert not any(l["name"] in ("n1", "n2") and l["event"] not in ("up", "joined", "alive") for l in members), lines
    print("watch:", [(l["name"], l["event"], l["detail"]) for l in members])


def case_json_logs(c):
    three_up(c)
    c.start("n4", seed="n1", extra=("--log-format", "json", "--log-level", "debug"))
    eventually("n1 sees n4 up", lambda: (c.members("n1") or {}).get("n4", {}).get("status") == "up")
    c.procs["n1"][0].send_signal(signal.SIGKILL)  # n4 redials a dead seed: repeated lines of one cause
    time.sleep(3)
    lines = [l for l in c.output("n4").splitlines() if l.strip()]
    rows = [json.loads(l) for l in lines]  # every line is one JSON object
    assert all({"at", "node", "level", "source", "msg"} <= set(r) for r in rows), rows
    assert any(r["source"] == "cluster" for r in rows) and any(r["source"] == "transport" for r in rows), rows
    causes = {}
    for r in rows:
        key = (r["source"], "".join("#" if ch.isdigit() else ch for ch in r["msg"])[:60], r["at"][:19])
        causes[key] = causes.get(key, 0) + 1
    worst = max(causes.values())
    assert worst <= 6, f"at most 5 lines per second per cause (+1 for a window edge): {worst}"
    print(f"{len(rows)} JSON lines; at most {worst} of one cause in one second")


CASES = {f.__name__[5:]: f for f in (case_converge, case_registry, case_kill, case_leave, case_wrong_secret,
                                     case_restart, case_watch, case_json_logs, case_spawnable)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        c = Cluster(a.bin, work)
        try:
            c.start("n1")
            c.start("n2", seed="n1")
            c.start("n3", seed="n1")
            CASES[a.case](c)
        except BaseException:
            for n in c.procs:
                print(f"--- {n}\n{c.output(n)}", file=sys.stderr)
            raise
        finally:
            c.stop_all()
    print(f"{a.case}: ok")


if __name__ == "__main__":
    main()
