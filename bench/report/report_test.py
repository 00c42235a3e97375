#!/usr/bin/env python3
"""Tests of the report generator on made-up results (no benchmark runs)."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import scenarios  # noqa: E402


def run(bench, impl, **kv):
    r = {"bench": bench, "impl": impl}
    r.update(kv)
    return r


def fake_results(with_herald=True):
    plan = {s["id"]: s for s in scenarios.build(quick=True)}
    tell = dict(plan["tell-64"])
    tell["runs"] = {
        "rawtcp": [run("tell", "rawtcp", msgs_per_s=v, mb_per_s=v * 64 / 1e6, allocs_per_msg=0, msgs=1)
                   for v in (10e6, 12e6, 11e6)],
        "zmq": [run("tell", "zmq", msgs_per_s=1e6, mb_per_s=64, allocs_per_msg=0, msgs=1), {"error": "exit 1: boom"}],
    }
    tell["status"] = {"rawtcp": "ok", "zmq": "ok", "caf": "unsupported"}
    ask = dict(plan["ask-inflight-1"])
    ask["runs"] = {"rawtcp": [run("ask", "rawtcp", rtt_per_s=50e3, p50_us=20, p99_us=40, p999_us=80,
                                  allocs_per_msg=0, msgs=1)]}
    ask["runs"]["caf"] = [run("ask", "caf", rtt_per_s=5e3, p50_us=200, p99_us=400, p999_us=800,
                              allocs_per_msg=14, msgs=1)]
    ask["status"] = {"rawtcp": "ok", "caf": "ok"}
    if with_herald:
        tell["runs"]["herald"] = [run("tell", "herald", msgs_per_s=v, mb_per_s=v * 64 / 1e6, allocs_per_msg=0.5,
                                      msgs=1) for v in (5e6, 6e6, 7e6)]
        ask["runs"]["herald"] = [run("ask", "herald", rtt_per_s=25e3, p50_us=40, p99_us=80, p999_us=160,
                                     allocs_per_msg=2, server_allocs_per_msg=3, msgs=1)]
    return {
        "command": "tools/bench --quick", "quick": True, "reps": 3, "seconds": 1.0, "warmup": 0.25,
        "started": "2026-01-01T10:00:00+00:00", "finished": "2026-01-01T10:02:00+00:00", "wall_s": 120,
        "machine": {"cpu": "Test CPU", "nproc": 2, "memory_gib": 4, "uname": "Linux"},
        "load_start": 0.1, "load_end": 3.0, "impls": {}, "scenarios": [tell, ask],
    }


class RenderTest(unittest.TestCase):
    def test_cells_show_the_median_and_the_range_of_the_runs(self):
        md = report.render(fake_results())
        self.assertIn("| 64 B | 6 M (5 M–7 M) | 11 M (10 M–12 M) |", md, md)

    def test_ratios_say_how_much_better_herald_is_for_throughput_and_latency(self):
        md = report.render(fake_results())
        row = next(l for l in md.splitlines() if l.startswith("| 64 B | 6 M"))
        self.assertTrue(row.rstrip(" |").endswith("0.55× | 6.00× | –"), row)  # vs rawtcp, zmq, caf
        p50 = next(l for l in md.splitlines() if "p50 µs" in l)
        self.assertIn("0.50×", p50, "40 µs against 20 µs is half as good, not twice")

    def test_failed_and_unimplemented_runs_are_told_apart(self):
        md = report.render(fake_results())
        self.assertIn("n/a", md, "caf does not implement this tell")
        self.assertIn("zmq: 1 of 2 runs failed (exit 1: boom)", md)

    def test_the_other_process_allocations_get_their_own_table_when_reported(self):
        md = report.render(fake_results())
        self.assertIn("In the other process", md)
        self.assertIn("| ask 64 B, 1 in flight | 3.00 |", md)
        self.assertNotIn("In the other process", report.render(fake_results(with_herald=False)))

    def test_a_busy_machine_is_flagged(self):
        self.assertIn("treat the figures as noisy", report.render(fake_results()))

    def test_without_herald_the_report_says_so_and_compares_with_raw_tcp(self):
        md = report.render(fake_results(with_herald=False))
        self.assertIn("herald-bench was not built", md)
        self.assertIn("zmq vs rawtcp", md)
        self.assertNotIn("herald vs", md)


class ResultsMdTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.md = os.path.join(self.dir, "RESULTS.md")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_the_section_is_replaced_and_the_other_sections_are_kept(self):
        with open(self.md, "w") as f:
            f.write("# results\n\n## Ring buffer\n\nring text\n\n" + report.SECTION +
                    "\n\nold report\n\n### old table\n\n## Registry\n\nregistry text\n")
        report.update_results_md(self.md, fake_results(), self.dir)
        text = open(self.md).read()
        self.assertIn("ring text", text)
        self.assertIn("registry text", text)
        self.assertNotIn("old report", text)
        self.assertEqual(text.count(report.SECTION), 1)
        self.assertIn("### Remote tell, 1 connection", text, "subsections sit one level below the section")

    def test_a_missing_section_is_appended(self):
        with open(self.md, "w") as f:
            f.write("# results\n\n## Ring buffer\n\nring text\n")
        report.update_results_md(self.md, fake_results(), self.dir)
        text = open(self.md).read()
        self.assertLess(text.index("ring text"), text.index(report.SECTION))


if __name__ == "__main__":
    unittest.main()
