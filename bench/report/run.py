#!/usr/bin/env python3
"""Runs herald-bench and the peer programs through every scenario, interleaved.

For each scenario the contenders take turns (herald, rawtcp, zmq, caf,
herald, rawtcp, ...) for --reps rounds, so that a slow patch of the machine
hits all of them alike. Every run is a separate process with a hard timeout;
a run that fails or hangs is recorded as failed and the rest goes on.

Writes <out>/results.json, <out>/report.md and <out>/*.png, then puts the
report into bench/RESULTS.md (section "Peer comparison (tools/bench)").
Standard library only; the charts need matplotlib (python3-matplotlib).
"""
import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import scenarios  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def machine():
    info = {"uname": " ".join(platform.uname()[i] for i in (0, 2, 4)), "nproc": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            info["memory_gib"] = round(kb / 1024 / 1024, 1)
    except OSError:
        pass
    info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or 0)
    return info


def versions():
    """What was measured: the herald commit and the peers' Debian packages."""
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    v = {"herald": out(["git", "describe", "--always", "--dirty"]),
         "compiler": out(["c++", "--version"]).splitlines()[0] if out(["c++", "--version"]) else ""}
    for pkg in ("libzmq3-dev", "libcaf-dev"):
        v[pkg] = out(["dpkg-query", "-W", "-f=${Version}", pkg])
    return v


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return None


def run_once(binary, args, seconds, warmup, timeout):
    """One process run: returns (status, result-or-message)."""
    cmd = [binary] + args + ["--seconds", str(seconds)] + (["--warmup", str(warmup)] if warmup is not None else [])
    cmd.append("--json")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return "failed", "timed out after %.0f s" % timeout
    if p.returncode == 2:
        return "unsupported", err.strip().splitlines()[-1] if err.strip() else "not implemented"
    lines = [l for l in out.splitlines() if l.strip().startswith("{")]
    if p.returncode != 0 or len(lines) != 1:
        tail = err.strip().splitlines()[-1] if err.strip() else ""
        return "failed", "exit %d: %s" % (p.returncode, tail)
    try:
        r = json.loads(lines[0])
    except ValueError as e:
        return "failed", "bad JSON: %s" % e
    if r.get("bench") != args[0].replace("-", "_"):
        return "failed", "answered %r to a %s run" % (r.get("bench"), args[0])
    return "ok", r


def human(v):
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= div:
            return "%.3g%s" % (v / div, suffix)
    return "%.3g" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer points, 1 s runs, 3 reps (under 3 minutes)")
    ap.add_argument("--reps", type=int, help="rounds per scenario (default 3)")
    ap.add_argument("--seconds", type=float, help="measured window per run (default 3, quick 1)")
    ap.add_argument("--warmup", type=float,
                    help="discarded warm-up per run (default: each program's own, 0.25 s for the peers)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"), help="folder of the binaries")
    ap.add_argument("--out", help="output folder (default bench/results/<UTC date-time>)")
    ap.add_argument("--only", help="run only scenarios whose id contains this text")
    ap.add_argument("--impls", help="comma-separated contenders (default: all that are built)")
    ap.add_argument("--no-results-md", action="store_true", help="do not update bench/RESULTS.md")
    ap.add_argument("--timeout-margin", type=float, default=30, help="seconds past a run's window before it is killed (default 30)")
    ap.add_argument("--command", help=argparse.SUPPRESS)  # what tools/bench was called with
    a = ap.parse_args()
    reps = a.reps or 3
    seconds = a.seconds or (1.0 if a.quick else 3.0)
    if a.quick and a.warmup is None:
        a.warmup = 0.15  # keeps --quick under 3 minutes on a busy 2-core machine
    started = datetime.datetime.now(datetime.timezone.utc)
    out = a.out or os.path.join(ROOT, "bench", "results", started.strftime("%Y-%m-%d-%H%M"))
    os.makedirs(out, exist_ok=True)

    wanted = a.impls.split(",") if a.impls else None
    impls = []
    built = {}
    for name, binary in scenarios.IMPLS:
        if wanted and name not in wanted:
            continue
        path = os.path.join(a.bin, binary)
        built[name] = os.access(path, os.X_OK)
        if built[name]:
            impls.append((name, path))
        else:
            print("bench: %s not built (%s missing), skipped" % (name, path), file=sys.stderr)
    if not impls:
        print("bench: nothing to run", file=sys.stderr)
        return 1

    plan = [s for s in scenarios.build(a.quick) if not a.only or a.only in s["id"]]
    total = sum(reps * (1 if s["herald_only"] else len(impls)) for s in plan)
    results = {
        "command": a.command or " ".join(["bench/report/run.py"] + sys.argv[1:]),
        "quick": a.quick,
        "reps": reps,
        "seconds": seconds,
        "warmup": a.warmup if a.warmup is not None else 0.25,
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "load_start": loadavg(),
        "impls": {name: {"binary": binary, "built": built.get(name, False)} for name, binary in scenarios.IMPLS
                  if not wanted or name in wanted},
        "scenarios": [],
    }
    timeout = seconds + (a.warmup or 0) + a.timeout_margin
    done = 0
    t_begin = time.time()
    for s in plan:
        entry = dict(s)
        entry["runs"] = {}
        entry["status"] = {}
        contenders = [(n, p) for n, p in impls if not s["herald_only"] or n == "herald"]
        for rep in range(reps):
            for name, path in contenders:
                if entry["status"].get(name) == "unsupported":
                    done += 1
                    continue
                t_run = time.time()
                status, r = run_once(path, s["args"], seconds, a.warmup, timeout)
                if status == "ok":
                    r["wall_s"] = round(time.time() - t_run, 2)
                done += 1
                elapsed = time.time() - t_begin
                eta = elapsed / done * (total - done)
                if status == "ok":
                    entry["runs"].setdefault(name, []).append(r)
                    entry["status"].setdefault(name, "ok")
                    shown = human(r.get(s["metric"], 0)) + " " + s["metric"].replace("_per_s", "/s")
                else:
                    if status == "unsupported":
                        entry["status"][name] = "unsupported"
                    else:
                        entry["runs"].setdefault(name, []).append({"error": r})
                        entry["status"].setdefault(name, "ok")
                    shown = status + ": " + str(r)[:60]
                print("[%3d/%d %4.0fs left] %-28s %-7s rep %d/%d  %s"
                      % (done, total, eta, s["title"], name, rep + 1, reps, shown), file=sys.stderr, flush=True)
        results["scenarios"].append(entry)
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    results["load_end"] = loadavg()
    results["wall_s"] = round(time.time() - t_begin, 1)

    path = os.path.join(out, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    md = report.write(results, out)
    print("bench: wrote %s, %s and charts in %.0f s" % (path, md, results["wall_s"]), file=sys.stderr)
    if not a.no_results_md:
        report.update_results_md(os.path.join(ROOT, "bench", "RESULTS.md"), results, out)
        print("bench: updated bench/RESULTS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
