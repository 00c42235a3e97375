"""PNG charts of a tools/bench run (matplotlib, Debian's python3-matplotlib).

Every point is the median of its runs; the whiskers span min to max, so a
reader sees at once which differences are larger than the noise.
"""
import math
import os
import statistics

import scenarios

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
except ImportError:  # the report still gets written, without charts
    plt = None

# (file, caption) in the order the report shows them.
CHARTS = [
    ("tell_throughput.png", "Remote tell throughput by payload size"),
    ("latency.png", "Round-trip latency percentiles"),
    ("round_trips.png", "Round trips and requests per second"),
    ("transports.png", "Tell 64 B by transport and connection count"),
]

COLORS = {"herald": "#d62728", "rawtcp": "#7f7f7f", "zmq": "#1f77b4", "caf": "#2ca02c"}
MARKERS = {"herald": "o", "rawtcp": "s", "zmq": "^", "caf": "D"}


def _stats(entry, key, impl):
    runs = entry.get("runs", {}).get(impl, [])
    vals = [r[key] for r in runs if "error" not in r and key in r]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def _log_ticks(ax):
    """1-2-5 ticks on a short log axis, powers of ten on a long one."""
    lo, hi = ax.get_ylim()
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if decades > 3 else (1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_formatter(NullFormatter())


def summary_has_data(entry, key, impls):
    return any(_stats(entry, key, i) for i in impls)


def _impls(results):
    present = {i for s in results["scenarios"] for i in s.get("runs", {})}
    return [n for n, _ in scenarios.IMPLS if n in present]


def _si(v, _pos=None):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return "%.3g%s" % (v / div, suffix)
    return "%.3g" % v


def _us(v, _pos=None):
    return "%.0f" % v if v >= 100 else "%.3g" % v


def _line_panel(ax, results, group, key, ylabel, impls, logy=True):
    entries = [s for s in results["scenarios"] if s["group"] == group]
    for impl in impls:
        xs, ys, lo, hi = [], [], [], []
        for e in entries:
            st = _stats(e, key, impl)
            if st:
                xs.append(e["x"])
                ys.append(st[0])
                lo.append(st[0] - st[1])
                hi.append(st[2] - st[0])
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], label=impl, color=COLORS.get(impl), marker=MARKERS.get(impl),
                        capsize=3, linewidth=1.8, markersize=6)
    ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
        _log_ticks(ax)
    xs = sorted({e["x"] for e in entries})
    ax.set_xticks(xs)
    ax.set_xticklabels([scenarios.size_label(x) for x in xs])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(ylabel)
    ax.set_xlabel("payload")
    ax.grid(True, which="major", alpha=0.3)


def _bar_panel(ax, results, rows, impls, ylabel, logy=False, fmt=_si):
    """rows: (label, scenario_id, key). One bar group per row, one bar per impl."""
    by_id = {s["id"]: s for s in results["scenarios"]}
    rows = [r for r in rows if r[1] in by_id and any(_stats(by_id[r[1]], r[2], i) for i in impls)]
    impls = [i for i in impls if any(_stats(by_id[sid], key, i) for _, sid, key in rows)]
    width = 0.8 / max(len(impls), 1)
    any_bar = False
    labelled = set()
    for j, (_, sid, key) in enumerate(rows):
        # Bars of one group sit centred on its tick, whoever ran that row.
        present = [(impl, _stats(by_id[sid], key, impl)) for impl in impls]
        present = [(impl, st) for impl, st in present if st]
        for k, (impl, st) in enumerate(present):
            any_bar = True
            x = j + (k - (len(present) - 1) / 2) * width
            ax.bar([x], [st[0]], width, yerr=[[st[0] - st[1]], [st[2] - st[0]]], color=COLORS.get(impl),
                         capsize=2, error_kw={"linewidth": 1}, label=None if impl in labelled else impl)
            labelled.add(impl)
            ax.annotate(fmt(st[0]), (x, st[0]), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r[0] for r in rows])
    if logy:
        ax.set_yscale("log")
        _log_ticks(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(fmt))
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    return any_bar


def _title(fig, results, text):
    m = results["machine"]
    fig.suptitle("%s\n%s, %s cores; median of %d run%s, whiskers min–max%s"
                 % (text, m.get("cpu", "?"), m.get("nproc", "?"), results["reps"], "" if results["reps"] == 1 else "s",
                    "; herald not built" if "herald" not in _impls(results) else ""), fontsize=10)


def draw(results, out_dir):
    if plt is None:
        print("bench: matplotlib missing (apt-get install python3-matplotlib): no charts")
        return []
    impls = _impls(results)
    written = []
    for name, _ in CHARTS:  # a chart with no data this time must not linger
        if os.path.exists(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))

    def save(fig, name):
        fig.savefig(os.path.join(out_dir, name), dpi=110)
        plt.close(fig)
        written.append(name)

    if any(s["group"] == "tell" and summary_has_data(s, "msgs_per_s", impls) for s in results["scenarios"]):
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
        _line_panel(a, results, "tell", "msgs_per_s", "messages/s (log)", impls)
        a.yaxis.set_major_formatter(FuncFormatter(_si))
        a.set_title("messages per second")
        _line_panel(b, results, "tell", "mb_per_s", "MB/s (log)", impls)
        b.yaxis.set_major_formatter(FuncFormatter(_si))
        b.set_title("payload bandwidth")
        a.legend()
        _title(fig, results, "Remote tell over TCP loopback, 1 connection (counted at the receiver)")
        save(fig, "tell_throughput.png")

    lat_rows = [("ask 64 B %s" % p, "ask-inflight-1", k) for p, k in (("p50", "p50_us"), ("p99", "p99_us"),
                                                                      ("p99.9", "p999_us"))]
    rr = [s for s in results["scenarios"] if s["group"] == "reqresp"]
    rr_rows = [("req/resp %s p50" % scenarios.size_label(s["x"]), s["id"], "p50_us") for s in rr]
    if any(s["id"] == "ask-inflight-1" for s in results["scenarios"]) or rr:
        fig, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
        if _bar_panel(ax, results, lat_rows + rr_rows, impls, "µs (log, lower is better)", logy=True, fmt=_us):
            ax.legend()
            ax.set_title("1 request in flight")
            _title(fig, results, "Round-trip latency over TCP loopback")
            save(fig, "latency.png")
        else:
            plt.close(fig)

    rate_rows = [("ask 64 B\n32 in flight", "ask-inflight-32", "rtt_per_s"),
                 ("ask 64 B\n1 in flight", "ask-inflight-1", "rtt_per_s")]
    rate_rows += [("req/resp\n%s" % scenarios.size_label(s["x"]), s["id"], "req_per_s") for s in rr]
    local_rows = [("local tell\n1→1", "local-tell-1", "msgs_per_s"), ("local tell\n2→1", "local-tell-2", "msgs_per_s"),
                  ("local ask", "local-ask", "rtt_per_s")]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained",
                           gridspec_kw={"width_ratios": [len(rate_rows), 3]})
    if _bar_panel(a, results, rate_rows, impls, "per second (log)", logy=True) | \
            _bar_panel(b, results, local_rows, impls, "per second"):
        a.set_title("remote round trips/s and requests/s")
        b.set_title("local (one process)")
        a.legend(fontsize=8)
        _title(fig, results, "Round trips and local messaging")
        save(fig, "round_trips.png")
    else:
        plt.close(fig)

    tr = [("tcp\n1 conn", "tell-64", "msgs_per_s")]
    for s in results["scenarios"]:
        if s["group"] == "transport":
            args = s["args"]
            c = int(args[args.index("--connections") + 1])
            t = args[args.index("--transport") + 1]
            tr.append(("%s\n%d conn" % (t, c), s["id"], "msgs_per_s"))
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    by_id = {s["id"]: s for s in results["scenarios"]}
    with_data = [r for r in tr if r[1] in by_id and summary_has_data(by_id[r[1]], r[2], impls)]
    if len(with_data) > 1 and _bar_panel(ax, results, tr, impls, "messages/s (log)", logy=True):
        ax.legend(fontsize=8)
        _title(fig, results, "Tell 64 B by transport and connection count")
        save(fig, "transports.png")
    else:
        plt.close(fig)
    return written
