"""Benchmark: wall time and peak memory of a whole cycle (all notebooks, kernel starts and imports included).

    python benchmarks/bench_cycle.py --repeat 3
    python benchmarks/make_scale_store.py && \
        python benchmarks/bench_cycle.py --repeat 1 --params benchmarks/data/scale_1000000_50000000/run.yaml

Runs ``crm-kit run PARAMS`` in a subprocess each time (into a temporary
reports root), and prints the median total, the median per step read from
each run's ``run.log``, and the peak resident memory of the whole process
tree (the runner and every notebook kernel, sampled every 0.2 s). Targets:
the demo cycle 30 s; the 1M-customer, 50M-line store 10 minutes under 8 GB
(2 cores). The first run of a store includes loading it into the cache.
Not a test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def watch_tree(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for ``proc``; the peak resident memory of it and all its descendants, and their CPU seconds.

    CPU time (user + system, each process's last reading before it ended, sampled every 0.2 s) moves much less
    than wall time with a shared machine's load.
    """
    import psutil

    root, peak, cpu = psutil.Process(proc.pid), 0, {}
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.2)
    return peak, sum(cpu.values())


def _peak_tree_rss(proc: subprocess.Popen) -> int:
    """Wait for ``proc``; return the largest sum of resident memory over it and all its descendants."""
    return watch_tree(proc)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    args = parser.parse_args()
    totals, steps, peaks = [], {}, []
    # generate the demo store once, outside the timing
    subprocess.run([sys.executable, "-m", "crm_kit", "demo"], check=True, capture_output=True)
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            errors = Path(tmp) / "stderr.txt"
            with open(errors, "w") as err:  # a file, not a pipe: a long run's output cannot block it
                proc = subprocess.Popen([sys.executable, "-m", "crm_kit", "run", args.params, "--output", tmp,
                                         "--quiet"], stdout=subprocess.DEVNULL, stderr=err)
                peaks.append(_peak_tree_rss(proc))
            if proc.returncode != 0:
                raise SystemExit(f"the run failed: {errors.read_text()[-2000:]}")
            totals.append(time.perf_counter() - t0)
            log = next(Path(tmp).glob("*/2*/run.log")).read_text()
            for name, secs in re.findall(r"step (\S+) \(\S+\) done in ([\d.]+) s", log):
                steps.setdefault(name, []).append(float(secs))
    print(f"full cycle ({Path(args.params).name}): median {statistics.median(totals):.1f} s over {len(totals)} runs "
          f"(min {min(totals):.1f}, max {max(totals):.1f}); peak memory of the process tree "
          f"{max(peaks) / 2**30:.2f} GiB")
    for name, values in steps.items():
        print(f"  {name:<16} {statistics.median(values):6.1f} s")


if __name__ == "__main__":
    main()
