#!/usr/bin/env python3
"""Turns a tools/bench results.json into report.md, PNG charts, and the
"Peer comparison (tools/bench)" section of bench/RESULTS.md.

Regenerate from saved results: report.py bench/results/<date>/results.json
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charts  # noqa: E402
import scenarios  # noqa: E402

SECTION = "## Peer comparison (tools/bench)"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

METRIC_LABEL = {
    "msgs_per_s": "msgs/s",
    "mb_per_s": "MB/s",
    "rtt_per_s": "round trips/s",
    "req_per_s": "requests/s",
    "p50_us": "p50 µs",
    "p99_us": "p99 µs",
    "p999_us": "p99.9 µs",
    "allocs_per_msg": "allocs/msg",
    "cpu_ns_per_msg": "CPU ns/msg",
}
LOWER_IS_BETTER = {"p50_us", "p99_us", "p999_us", "allocs_per_msg", "other_allocs_per_msg", "cpu_ns_per_msg"}


def summarize(entry, key):
    """{impl: (median, min, max, n)} of `key` over the successful runs."""
    out = {}
    for impl, runs in entry.get("runs", {}).items():
        vals = [r[key] for r in runs if "error" not in r and key in r]
        if vals:
            out[impl] = (statistics.median(vals), min(vals), max(vals), len(vals))
    return out


def fmt(v, key):
    if key in ("p50_us", "p99_us", "p999_us"):
        return "%.3g" % v if v < 1000 else "%.0f" % v
    if key.endswith("allocs_per_msg"):
        return "%.2f" % v
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= div:
            return "%.3g%s" % (v / div, suffix)
    return "%.3g" % v


def cell(stat, key):
    med, lo, hi, n = stat
    if n == 1 or lo == hi:
        return fmt(med, key)
    return "%s (%s–%s)" % (fmt(med, key), fmt(lo, key), fmt(hi, key))


def ratio(a, b, key):
    """How much better a is than b: >1 means a is better."""
    if not a or not b:
        return "–"
    r = b / a if key in LOWER_IS_BETTER else a / b
    return "%.2f×" % r


class Tables:
    """Markdown tables over the contenders present in one results file."""

    def __init__(self, results):
        self.results = results
        self.by_id = {s["id"]: s for s in results["scenarios"]}
        present = {i for s in results["scenarios"] for i in s.get("runs", {})}
        self.impls = [n for n, _ in scenarios.IMPLS if n in present]
        self.herald = "herald" in present
        # Ratios: herald against each peer; without herald, each peer against
        # the physical limit (rawtcp).
        if self.herald:
            self.pairs = [("herald", p) for p in self.impls if p != "herald"]
        else:
            self.pairs = [(p, "rawtcp") for p in self.impls if p != "rawtcp"] if "rawtcp" in self.impls else []

    def table(self, rows, first_header, ratios=True, ranges=True):
        """rows: (label, scenario_id, key). One column per contender, then ratios."""
        pairs = self.pairs if ratios else []
        head = [first_header] + self.impls + ["%s vs %s" % p for p in pairs]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        any_row = False
        for label, sid, key in rows:
            entry = self.by_id.get(sid)
            if not entry:
                continue
            st = summarize(entry, key)
            if not st:
                continue
            any_row = True
            cells = [label]
            for impl in self.impls:
                if impl in st:
                    cells.append(cell(st[impl], key) if ranges else fmt(st[impl][0], key))
                elif entry.get("status", {}).get(impl) == "unsupported":
                    cells.append("n/a")
                elif entry.get("runs", {}).get(impl) and all("error" in r for r in entry["runs"][impl]):
                    cells.append("failed")
                else:
                    cells.append("–")
            for a, b in pairs:
                cells.append(ratio(st.get(a, (None,))[0], st.get(b, (None,))[0], key))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) if any_row else ""


def with_other_process_allocs(results):
    """Copies results, adding other_allocs_per_msg to runs whose program reports
    the other process's allocations (herald-bench: sender_/server_allocs_per_msg)."""
    results = dict(results)
    scen = []
    for s in results["scenarios"]:
        s = dict(s)
        runs = {}
        for impl, rs in s.get("runs", {}).items():
            runs[impl] = []
            for r in rs:
                for k in ("sender_allocs_per_msg", "server_allocs_per_msg"):
                    if k in r:
                        r = dict(r, other_allocs_per_msg=r[k])
                runs[impl].append(r)
        s["runs"] = runs
        scen.append(s)
    results["scenarios"] = scen
    return results


def render(results, level=1, image_prefix="", docs_link="docs/benchmarks.md"):
    results = with_other_process_allocs(results)
    h = "#" * level
    t = Tables(results)
    m = results["machine"]
    out = []
    out.append("%s herald end-to-end benchmarks" % h if level == 1 else SECTION)
    out.append("")
    out.append("- Command: `%s` (%s, %d round%s of %g s after a %g s warm-up per run, %.0f s in all)"
               % (results["command"], "quick" if results["quick"] else "full", results["reps"],
                  "" if results["reps"] == 1 else "s",
                  results["seconds"], results["warmup"], results.get("wall_s", 0)))
    def when(t):
        return t.replace("T", " ").replace("+00:00", "")

    out.append("- Run: %s to %s UTC" % (when(results["started"]), when(results.get("finished", "?"))))
    out.append("- Machine: %s, %s cores (nproc), %s GiB, %s" % (m.get("cpu", "?"), m.get("nproc", "?"),
                                                              m.get("memory_gib", "?"), m.get("uname", "?")))
    v = results.get("versions")
    if v:
        out.append("- Versions: herald %s; %s; libzmq3-dev %s; libcaf-dev %s" % (
            v.get("herald") or "?", v.get("compiler") or "?", v.get("libzmq3-dev") or "?", v.get("libcaf-dev") or "?"))
    la, lb = results.get("load_start"), results.get("load_end")
    noisy = (la or 0) > 0.5 * (m.get("nproc") or 2) or (lb or 0) > 0.5 * (m.get("nproc") or 2)
    out.append("- Load average (1 min): %s at the start, %s at the end%s" % (
        la, lb, " — **the machine was busy with other work: treat the figures as noisy**" if noisy else ""))
    out.append("- Each cell: median of the runs (min–max in brackets). Contenders run interleaved "
               "(herald, rawtcp, zmq, caf, herald, ...), all on loopback, each run a fresh pair of processes.")
    if t.pairs:
        out.append("- `A vs B`: how much better A is than B (throughput A/B, latency B/A); above 1× A is better.")
    if not t.herald:
        out.append("- **herald-bench was not built**: this report covers the peers only; the ratios compare "
                   "each peer with the raw TCP limit.")
    out.append("- What each contender is and its settings: [docs/benchmarks.md](%s)." % docs_link)
    out.append("")

    def section(title, body, note=None):
        if not body:
            return
        out.append("%s# %s" % (h, title))
        out.append("")
        if note:
            out.append(note)
            out.append("")
        out.append(body)
        out.append("")

    glance = [("tell 64 B: msgs/s", "tell-64", "msgs_per_s"), ("tell 1 MiB: MB/s", "tell-1048576", "mb_per_s"),
              ("ask, 1 in flight: p50 µs", "ask-inflight-1", "p50_us"),
              ("ask, 32 in flight: round trips/s", "ask-inflight-32", "rtt_per_s"),
              ("request/response 1 KiB: requests/s", "reqresp-1024", "req_per_s"),
              ("local tell 1->1: msgs/s", "local-tell-1", "msgs_per_s"),
              ("local ask: round trips/s", "local-ask", "rtt_per_s")]
    section("At a glance", t.table(glance, "medians", ranges=False))
    tell_ids = [s for s in results["scenarios"] if s["group"] == "tell"]
    section("Remote tell, 1 connection (TCP loopback)",
            t.table([(scenarios.size_label(s["x"]), s["id"], "msgs_per_s") for s in tell_ids], "payload"),
            "Messages per second counted at the receiving handler.")
    section("Remote tell bandwidth",
            t.table([(scenarios.size_label(s["x"]), s["id"], "mb_per_s") for s in tell_ids], "payload"),
            "Payload MB/s (10^6 bytes) at the receiver.")
    rows = []
    for s in results["scenarios"]:
        if s["group"] == "ask":
            lbl = "%d in flight" % s["x"]
            rows += [(lbl + ": round trips/s", s["id"], "rtt_per_s"), (lbl + ": p50 µs", s["id"], "p50_us"),
                     (lbl + ": p99 µs", s["id"], "p99_us"), (lbl + ": p99.9 µs", s["id"], "p999_us")]
    section("Ask round trip, 64 B (TCP loopback)", t.table(rows, "ask"))
    rows = []
    for s in results["scenarios"]:
        if s["group"] == "reqresp":
            lbl = scenarios.size_label(s["x"])
            rows += [(lbl + ": requests/s", s["id"], "req_per_s"), (lbl + ": p50 µs", s["id"], "p50_us"),
                     (lbl + ": p99 µs", s["id"], "p99_us")]
    section("Request/response (TCP loopback)", t.table(rows, "payload"),
            "Request of N bytes, reply of N bytes, 1 client with 1 request in flight.")
    rows = []
    for s in results["scenarios"]:
        if s["group"] == "local":
            if s["id"] == "local-ask":
                rows += [("ask: round trips/s", s["id"], "rtt_per_s"), ("ask: p50 µs", s["id"], "p50_us")]
            else:
                rows.append((s["title"].replace("local ", "") + ": msgs/s", s["id"], "msgs_per_s"))
    section("Local (one process)", t.table(rows, "scenario"))
    rows = [("tcp, 1 connection", "tell-64", "msgs_per_s")]
    for s in results["scenarios"]:
        if s["group"] == "transport":
            args = s["args"]
            conns = int(args[args.index("--connections") + 1])
            transport = args[args.index("--transport") + 1]
            rows.append(("%s, %d connection%s" % (transport, conns, "s" if conns > 1 else ""), s["id"], "msgs_per_s"))
    section("Tell 64 B by transport and connection count", t.table(rows, "transport"),
            "Messages per second at the receiver. Peers run the shapes they support.")
    rows = [(s["title"], s["id"], "allocs_per_msg") for s in results["scenarios"]]
    other = [(s["title"], s["id"], "other_allocs_per_msg") for s in results["scenarios"]]
    section("Heap allocations per message", t.table(rows, "scenario", ratios=False) +
            ("\n\nIn the other process (the sender of tell, the server of ask), where the program reports it:\n\n" +
             t.table(other, "scenario", ratios=False) if t.table(other, "scenario", ratios=False) else ""),
            "operator new calls in the measuring process during the timed window, divided by messages "
            "(bench/peers/alloc_counter.hpp). malloc called directly (libzmq's message bodies) is not "
            "counted.")
    rows = [(s["title"], s["id"], "cpu_ns_per_msg") for s in results["scenarios"]]
    cpu = t.table(rows, "scenario")
    if cpu:
        section("CPU time per message", cpu,
                "CPU time (user + system) of both processes of a run over its timed window, divided by its "
                "messages (round trips for ask and request/response), in ns (bench/peers/cpu_time.hpp). "
                "On a machine with fewer cores than busy threads this, not throughput, is the cost.")
    problems = []
    for s in results["scenarios"]:
        for impl, runs in s.get("runs", {}).items():
            errs = [r["error"] for r in runs if "error" in r]
            if errs:
                problems.append("- %s, %s: %d of %d runs failed (%s)" % (s["title"], impl, len(errs), len(runs),
                                                                       errs[0]))
    if problems:
        section("Failed runs", "\n".join(problems))
    imgs = [(f, cap) for f, cap in charts.CHARTS if os.path.exists(os.path.join(results.get("_out", ""), f))]
    if imgs:
        out.append("%s# Charts" % h)
        out.append("")
        for f, cap in imgs:
            out.append("![%s](%s%s)" % (cap, image_prefix, f))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def write(results, out_dir):
    results = dict(results)
    results["_out"] = out_dir
    charts.draw(results, out_dir)
    path = os.path.join(out_dir, "report.md")
    docs = os.path.relpath(os.path.join(ROOT, "docs", "benchmarks.md"), out_dir)
    with open(path, "w") as f:
        f.write(render(results, 1, "", docs))
    return path


def update_results_md(path, results, out_dir):
    """Replaces (or appends) the tools/bench section of bench/RESULTS.md."""
    results = dict(results)
    results["_out"] = out_dir
    rel = os.path.relpath(out_dir, os.path.dirname(path)) + "/"
    docs = os.path.relpath(os.path.join(ROOT, "docs", "benchmarks.md"), os.path.dirname(path))
    body = render(results, 2, rel, docs)
    text = open(path).read() if os.path.exists(path) else "# herald benchmark results\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.strip() == SECTION), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + body + ("\n" + tail if tail else "")
    with open(path, "w") as f:
        f.write(new)


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        print("usage: report.py RESULTS_JSON [--results-md]   (--results-md: also update bench/RESULTS.md)")
        return 64
    src = sys.argv[1]
    with open(src) as f:
        results = json.load(f)
    out = os.path.dirname(os.path.abspath(src))
    print(write(results, out))
    if "--results-md" in sys.argv[2:]:
        update_results_md(os.path.join(ROOT, "bench", "RESULTS.md"), results, out)
        print(os.path.join(ROOT, "bench", "RESULTS.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
