"""The benchmarks still run (on the demo store) and what they claim holds there; their timings are not tested."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_integer_keys_give_the_kits_results_unchanged(demo_dir):
    """bench_keys.py on the demo: the kit's queries on the order-keyed and all-keyed copies of the cleaned lines,
    mapped back to text ids, equal those on the text ids (keys numbered in sorted id order keep every tie-break)."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_keys.py"), "--data", "demo"],
                         capture_output=True, text=True, cwd=ROOT, check=False, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    queries = [line for line in out.stdout.splitlines() if line.rstrip().endswith((" yes", " NO"))]
    assert len(queries) == 4, out.stdout
    assert all(line.rstrip().endswith(" yes") for line in queries), out.stdout
    rows = [int(line.split()[-2].replace(",", "")) for line in queries]
    assert min(rows) > 10_000, out.stdout  # real results, not empty frames compared equal
    assert "lines written" in out.stdout and "dictionaries" in out.stdout
