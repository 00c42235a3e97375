#!/usr/bin/env python3
"""herald-ctl and /metrics against an application unlike the bank example.

Usage: admin_tools_test.py --bin DIR --app PATH CASE
CASE: any_app | prometheus

Starts two admin_test_app processes (an inventory application whose schema
hash differs from the bank example's) on free ports and asks them with
herald-ctl (members, registry, metrics, top, watch), or scrapes their
Prometheus endpoint. Every wait is bounded; every process is killed.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SECRET = "admin-tools-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(what, check, limit=10.0):
    until = time.monotonic() + limit
    last = None
    while time.monotonic() < until:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {limit} s (last seen: {last!r})")


class Apps:
    def __init__(self, bindir, app, work):
        self.bindir, self.app, self.work = bindir, app, work
        self.procs, self.ports, self.http = {}, {}, {}
        self.env = dict(os.environ, HERALD_SECRET=SECRET)

    def start(self, name, seed=None):
        port, http = free_port(), free_port()
        args = [self.app, "--name", name, "--listen", f"127.0.0.1:{port}", "--metrics-listen", f"127.0.0.1:{http}"]
        if seed:
            args += ["--seed", f"127.0.0.1:{self.ports[seed]}"]
        log = open(os.path.join(self.work, name + ".log"), "a+")
        self.procs[name] = (subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env), log)
        self.ports[name], self.http[name] = port, http

    def ctl(self, name, *cmd, timeout=15):
        args = [os.path.join(self.bindir, "herald-ctl"), "--node", f"127.0.0.1:{self.ports[name]}", "--timeout", "3", *cmd]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=self.env)

    def scrape(self, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http[name]}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
            return r.read().decode()

    def output(self, name):
        log = self.procs[name][1]
        log.flush()
        with open(log.name) as f:
            return f.read()

    def stop_all(self):
        for p, log in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
            log.close()


def both_up(a):
    def check():
        r = a.ctl("a", "members", "--json")
        if r.returncode != 0:
            return None
        rows = json.loads(r.stdout)
        return rows if sorted(m["name"] for m in rows if m["status"] == "up") == ["a", "b"] else None
    return eventually("a sees a and b up", check)


def case_any_app(a):
    rows = both_up(a)
    assert all(m["incarnation"] > 0 for m in rows), rows
    want = {"shelf-a", "picker-a", "shelf-b", "picker-b"}
    for node in ("a", "b"):
        eventually(f"{node}'s registry has both nodes' actors",
                   lambda: want <= {e["name"] for e in json.loads(a.ctl(node, "registry", "--json").stdout or "[]")})
    m = a.ctl("a", "metrics", "--json")
    assert m.returncode == 0, m.stderr
    counters = json.loads(m.stdout)
    assert counters["actors_alive"] >= 2 and counters["registry_names"] >= 4, counters
    assert counters["rejected_schema_mismatch"] == 0, "herald-ctl is admitted, not refused"
    top = a.ctl("a", "top", "--json", "--interval", "500")
    assert top.returncode == 0, top.stderr
    types = {t["actor_type"]: t for t in json.loads(top.stdout)["types"]}
    assert types["inventory::shelf"]["messages_per_second"] > 20, types
    assert "inventory::picker" in types and "bank::account" not in types, types
    text = a.ctl("a", "top")
    assert "inventory::shelf" in text.stdout and "MSG/S" in text.stdout, text.stdout
    args = [os.path.join(a.bindir, "herald-ctl"), "--node", f"127.0.0.1:{a.ports['a']}", "watch", "--json", "--for", "6"]
    watcher = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=a.env)
    time.sleep(1.5)
    a.procs["b"][0].send_signal(signal.SIGKILL)
    out, err = watcher.communicate(timeout=20)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert {l["name"] for l in lines if l["detail"] == "present"} == {"a", "b"}, lines
    assert any(l["kind"] == "member" and l["name"] == "b" and l["event"] in ("suspect", "down") for l in lines), lines
    assert any(l["kind"] == "registry" and l["name"] == "shelf-b" and l["event"] == "removed" for l in lines) or \
        any(l["name"] == "b" and l["event"] == "suspect" for l in lines), lines
    print("watch:", [(l["kind"], l["name"], l["event"]) for l in lines])


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (\S+)$')


def parse(text):
    """The text exposition format, strictly: returns {family: type}, [(name, labels, value)]."""
    types, helped, samples = {}, set(), []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ")
            assert fam in helped and fam not in types, line
            assert typ in ("counter", "gauge", "histogram"), line
            assert typ != "counter" or fam.endswith("_total"), f"a counter is named *_total: {fam}"
            types[fam] = typ
        else:
            m = SAMPLE.match(line)
            assert m, f"unparsable: {line}"
            name = m.group(1)
            fam = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in types else name
            assert fam in types, f"sample before its TYPE: {line}"
            float(m.group(3))
            samples.append((name, m.group(2), float(m.group(3))))
    return types, samples


def case_prometheus(a):
    both_up(a)
    types, samples = parse(a.scrape("a"))
    for fam in ("herald_link_frames_sent_total", "herald_actor_messages_handled_total", "herald_members",
                "herald_ask_duration_seconds", "herald_connections_rejected_total", "herald_actor_mailbox_depth"):
        assert fam in types, f"{fam} exported: {sorted(types)}"

    def handled():
        _, s = parse(a.scrape("a"))
        return sum(v for n, l, v in s if n == "herald_actor_messages_handled_total" and "inventory::shelf" in l)
    h0 = handled()
    eventually("the shelf's handled counter grows", lambda: handled() > h0 + 50, 5)
    reasons = {l for n, l, v in samples if n == "herald_connections_rejected_total"}
    assert any('reason="auth_failed"' in l for l in reasons), reasons


CASES = {"any_app": case_any_app, "prometheus": case_prometheus}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        a = Apps(args.bin, args.app, work)
        try:
            a.start("a")
            a.start("b", seed="a")
            CASES[args.case](a)
        except BaseException:
            for n in a.procs:
                print(f"--- {n}\n{a.output(n)}", file=sys.stderr)
            raise
        finally:
            a.stop_all()
    print(f"{args.case}: ok")


if __name__ == "__main__":
    main()
