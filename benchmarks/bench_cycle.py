"""Benchmark: wall time of the full demo cycle (all notebooks, kernel starts and imports included).

    python benchmarks/bench_cycle.py --repeat 3

Runs ``crm-kit run params/demo.yaml`` in a subprocess each time (into a
temporary reports root), and prints the median total and the median per step
read from each run's ``run.log``. Target: 45 s on 2 cores. Not a test.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    args = parser.parse_args()
    totals, steps = [], {}
    # generate the demo store once, outside the timing
    subprocess.run([sys.executable, "-m", "crm_kit", "demo"], check=True, capture_output=True)
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "crm_kit", "run", args.params, "--output", tmp, "--quiet"],
                           check=True, capture_output=True)
            totals.append(time.perf_counter() - t0)
            log = next(Path(tmp).glob("*/2*/run.log")).read_text()
            for name, secs in re.findall(r"step (\S+) \(\S+\) done in ([\d.]+) s", log):
                steps.setdefault(name, []).append(float(secs))
    print(f"full demo cycle: median {statistics.median(totals):.1f} s over {len(totals)} runs "
          f"(min {min(totals):.1f}, max {max(totals):.1f}); target 45 s")
    for name, values in steps.items():
        print(f"  {name:<16} {statistics.median(values):6.1f} s")


if __name__ == "__main__":
    main()
