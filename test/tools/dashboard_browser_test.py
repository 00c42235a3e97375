#!/usr/bin/env python3
"""The dashboard in a real browser: three herald-node processes with
--metrics-listen, headless Chromium on n1's dashboard, driven over the
DevTools protocol (a minimal WebSocket client below, standard library only).

Checks, on one page load: the page fills with live data (its poll counter
grows), three members are up, and after n3 is killed its row turns down
within 10 s without a reload. Saves dashboard.png under --out.
Exit 77 (skipped) without chromium.

Usage: dashboard_browser_test.py --bin DIR --out DIR
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

SECRET = "dashboard-test-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevTools:
    """Just enough of RFC 6455 for the DevTools protocol: masked text frames out, text frames in."""

    def __init__(self, ws_url):
        host_port, path = ws_url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            resp += self.sock.recv(4096)
        assert b" 101 " in resp.split(b"\r\n")[0], resp
        self.buf = resp.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("devtools closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def call(self, method, **params):
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        head = bytes([0x81])
        if len(data) < 126:
            head += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))
        while True:
            op, payload = self._frame()
            if op != 1:
                continue
            msg = json.loads(payload)
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(msg["error"])
                return msg["result"]

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")


def eventually(what, check, limit):
    until = time.monotonic() + limit
    last = None
    while time.monotonic() < until:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {limit} s (last seen: {last!r})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("chromium not installed: skipped (Debian: apt-get install chromium)")
        sys.exit(77)
    os.makedirs(a.out, exist_ok=True)
    procs = []
    work = tempfile.mkdtemp()
    try:
        ports, http = {}, free_port()
        env = dict(os.environ, HERALD_SECRET=SECRET)
        for name in ("n1", "n2", "n3"):
            ports[name] = free_port()
            args = [os.path.join(a.bin, "herald-node"), "--name", name, "--listen", f"127.0.0.1:{ports[name]}"]
            if name == "n1":
                args += ["--metrics-listen", f"127.0.0.1:{http}"]
            else:
                args += ["--seed", f"127.0.0.1:{ports['n1']}"]
            log = open(os.path.join(work, name + ".log"), "w")
            procs.append((name, subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)))
        url = f"http://127.0.0.1:{http}/"
        def serving():
            try:
                return urllib.request.urlopen(url, timeout=2).status == 200
            except OSError:
                return None
        eventually("n1 serves its dashboard", serving, 10)
        debug = free_port()
        profile = os.path.join(work, "profile")
        chrome = subprocess.Popen([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                   f"--remote-debugging-port={debug}", f"--user-data-dir={profile}",
                                   "--window-size=1400,1000", "about:blank"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(("chromium", chrome))

        def page():
            try:
                tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{debug}/json", timeout=2))
                return next((t for t in tabs if t.get("type") == "page"), None)
            except OSError:
                return None
        tab = eventually("chromium is up", page, 30)
        t0 = time.monotonic()
        dt = DevTools(tab["webSocketDebuggerUrl"])
        dt.call("Page.enable")
        dt.call("Page.navigate", url=url)
        statuses = ("JSON.stringify(Object.fromEntries([...document.querySelectorAll('#members tr')]"
                    ".map(r => [r.dataset.name, r.dataset.status])))")
        # Until the navigation commits, document.body can be null and eval gives
        # no value: read 0 updates / no members then, and keep polling.
        def updates_now():
            return int(dt.eval("(document.body && document.body.dataset.updates) || '0'") or 0)

        def members_now():
            return json.loads(dt.eval(statuses) or "{}")
        eventually("the page polls live data", lambda: updates_now() >= 2, 15)
        eventually("three members up", lambda: members_now() == {"n1": "up", "n2": "up", "n3": "up"}, 15)
        loaded = time.monotonic() - t0
        updates = int(dt.eval("document.body.dataset.updates"))
        n3 = next(p for n, p in procs if n == "n3")
        n3.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        eventually("n3 turns down on the page", lambda: members_now().get("n3") == "down", 10)
        took = time.monotonic() - killed
        assert int(dt.eval("document.body.dataset.updates")) > updates, "the same page load, updated live"
        assert json.loads(dt.eval(statuses))["n1"] == "up"
        time.sleep(1.5)  # a few more chart points for the screenshot
        shot = dt.call("Page.captureScreenshot", format="png")
        path = os.path.join(a.out, "dashboard.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"page live with 3 members up {loaded:.1f} s after load; n3 down on the page {took:.1f} s after "
              f"SIGKILL; screenshot {path}")
    except BaseException:
        for name in ("n1", "n2", "n3"):
            p = os.path.join(work, name + ".log")
            if os.path.exists(p):
                print(f"--- {name}\n{open(p).read()}", file=sys.stderr)
        raise
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
