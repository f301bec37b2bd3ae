"""Benchmark: generating the demo store, and simulating one campaign on it.

    python benchmarks/bench_demo.py                       # the default store (11,550 members)
    python benchmarks/bench_demo.py --members 100000      # a large one

Each size runs in a fresh subprocess (so its peak resident memory is its
own): ``generate_demo_store`` — the months without campaigns, the worked
case's two rounds simulated — then one more design played out by
``simulate_campaign`` (decile 9, half held out). Prints wall time, peak RSS
and the number of line items. Targets (issue 14): the default store under
30 s, 100,000 members under 3 minutes with under 4 GB peak. Not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pyarrow.parquet as pq
from crm_kit.campaign import assign_arms
from crm_kit.demo import Design, generate_demo_store, simulate_campaign

out, n = Path(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
folder = generate_demo_store(out, n_members=n, overwrite=True)
t1 = time.perf_counter()
truth = pd.read_parquet(folder / "natural" / "ground_truth_customers.parquet", columns=["customer_id", "base_month_group"])
arms = assign_arms(truth[truth["base_month_group"] == 9][["customer_id"]], control_share=0.5, seed=1)
arms["channel"] = np.where(arms["arm"] == "treatment", "SMS", "none")
simulate_campaign(folder, Design(campaign_id="B9", round=1, month="2025-10", arms=arms, channels=["SMS"],
                                 default_channel="SMS"))
t2 = time.perf_counter()
print(json.dumps({"generate_s": t1 - t0, "simulate_s": t2 - t1,
                  "lines": pq.ParquetFile(folder / "transactions.parquet").metadata.num_rows,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[11550])
    args = parser.parse_args()
    for n in args.members:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _CHILD, f"{tmp}/demo", str(n)], check=True,
                                  capture_output=True, text=True)
            wall = time.perf_counter() - t0
        r = json.loads(done.stdout.strip().splitlines()[-1])
        target = "30 s" if n <= 11550 else ("3 min, 4 GB" if n <= 100_000 else "-")
        print(f"{n:>9,} members: generate {r['generate_s']:6.1f} s, simulate one design {r['simulate_s']:5.1f} s, "
              f"{r['lines']:,} lines, peak RSS {r['peak_rss_gb']:.2f} GB (process wall {wall:.1f} s; target {target})")
    load = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"children's CPU: user {load.ru_utime:.1f} s, system {load.ru_stime:.1f} s")


if __name__ == "__main__":
    main()
