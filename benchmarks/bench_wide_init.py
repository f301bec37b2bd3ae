"""``crm-kit init``'s profile of a wide file: every column over all rows, in one engine query.

    .venv/bin/python benchmarks/bench_wide_init.py                   # 2,000 columns x 1,000 rows
    .venv/bin/python benchmarks/bench_wide_init.py --columns 5000 --rows 500

A wide export (a feature table, a survey, a pivoted report: issue 38 measured 145 CPU seconds for init on
2,007 columns with the old sampler) is written with a few line-item columns among many others (integers,
decimals, money with a currency sign and thousands separators, dates, text, blanks). Prints the time of
sniffing, of the profile (one query, all rows) and of the whole ``init`` (draft, load to check it, write), in
wall-clock and CPU seconds, beside the target of a few seconds.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_wide(path: Path, rows: int, columns: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    data = {"customer_id": [f"C{i % 200:05d}" for i in range(rows)],
            "order_id": [f"O{i // 3:07d}" for i in range(rows)],
            "date": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 180, rows), "D")).strftime("%d.%m.%Y"),
            "sku": [f"SKU{v:04d}" for v in rng.integers(0, 500, rows)], "qty": rng.integers(1, 5, rows),
            "amount": [f"€{v:,.2f}" for v in rng.random(rows) * 3000]}
    for j in range(columns - len(data)):
        kind = j % 6
        if kind == 0:
            data[f"f{j}"] = rng.integers(0, 10_000, rows)
        elif kind == 1:
            data[f"f{j}"] = np.round(rng.random(rows) * 100, 2)
        elif kind == 2:
            data[f"f{j}"] = [f"${v:,.2f}" for v in rng.random(rows) * 5000]
        elif kind == 3:
            data[f"f{j}"] = rng.choice(["yes", "no"], rows)
        elif kind == 4:
            data[f"f{j}"] = rng.choice(["red", "green", "blue", "Ünïcode"], rows)
        else:
            data[f"f{j}"] = ""
    pd.DataFrame(data).to_csv(path, index=False)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    from crm_kit.draft import draft, write_draft
    from crm_kit.store.profile import profile_table
    from crm_kit.store.sniff import sniff

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wide.csv"
        write_wide(path, args.rows, args.columns)
        print(f"wide export: {args.columns:,} columns x {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
        t0, c0 = time.perf_counter(), cpu()
        found = sniff(path)
        t1, c1 = time.perf_counter(), cpu()
        prof = profile_table({"path": str(path), **found.options(), "delimiter": found.delimiter})
        t2, c2 = time.perf_counter(), cpu()
        print(f"sniff:   {t1 - t0:6.2f} s wall, {c1 - c0:6.2f} s CPU")
        print(f"profile: {t2 - t1:6.2f} s wall, {c2 - c1:6.2f} s CPU ({len(prof.columns):,} columns, "
              f"{prof.rows:,} rows, one query)")
        t3, c3 = time.perf_counter(), cpu()
        d = draft([path])
        write_draft(d, Path(folder) / "init")
        t4, c4 = time.perf_counter(), cpu()
        lines = d.table("transactions")
        print(f"init (sniff, profile, decide, load to check, write): {t4 - t3:6.2f} s wall, {c4 - c3:6.2f} s CPU "
              f"(this process; the engine's threads included) — target: seconds (the old sampler: 145 CPU s)")
        if lines is not None:
            print(f"  drafted: {lines.columns}; month {d.month}; undecided: {len(d.undecided)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
