"""Own data in a minute: ``crm-kit init`` on a large export, and init + run (discovery, segmentation) on a small one.

    .venv/bin/python benchmarks/bench_init.py                  # 50M-line CSV for init, 70,000-line export end to end
    .venv/bin/python benchmarks/bench_init.py --lines 5000000  # a smaller large file

The large export is written by DuckDB (a till's shape: Chinese headers, no order id, money with a currency sign
and thousands separators, GBK is left out so DuckDB can write it); init reads every row (a profile
scan) and loads its draft to check it, so its time grows with the file: one scan more than the load. The small export goes through ``crm-kit init`` then ``crm-kit run``
with the drafted run file's discovery and segmentation steps (the README's "own data in ten minutes" path).
Prints each figure beside the target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "crm_kit"]


def write_export(path: Path, lines: int, customers: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=false")
    con.execute(f"""
        COPY (
            SELECT 'VIP' || lpad(CAST(i % {customers} AS VARCHAR), 7, '0') AS "会员卡号",
                   strftime(DATE '2024-01-01' + CAST(i * 540 // {lines} AS INTEGER), '%Y/%m/%d') AS "销售日期",
                   'SP' || lpad(CAST(hash(i) % 5000 AS VARCHAR), 5, '0') AS "商品编码",
                   CAST(1 + hash(i + 1) % 3 AS INTEGER) AS "数量",
                   '￥' || format('{{:,.2f}}', (1 + hash(i + 2) % 200000) / 100.0) AS "实收金额"
            FROM range({lines}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, out.returncode, out.stdout + out.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=50_000_000, help="lines of the large export")
    parser.add_argument("--small", type=int, default=70_000, help="lines of the export run end to end")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        big = work / "big.csv"
        t0 = time.perf_counter()
        write_export(big, args.lines, max(args.lines // 50, 100))
        print(f"large export: {args.lines:,} lines, {big.stat().st_size / 1e9:.2f} GB, written in "
              f"{time.perf_counter() - t0:.1f} s")
        seconds, code, out = timed([*CLI, "init", str(big), "--output", str(work / "big")], ROOT)
        print(f"init on {args.lines:,} lines: {seconds:.1f} s (exit {code})   target: seconds")
        if code not in (0, 1):
            print(out)
            return 1
        big.unlink()
        small = work / "small.csv"
        write_export(small, args.small, max(args.small // 40, 10))
        t0 = time.perf_counter()
        seconds_init, code, out = timed([*CLI, "init", str(small), "--output", str(work / "small")], ROOT)
        if code not in (0, 1):
            print(out)
            return 1
        seconds_run, code, out = timed([*CLI, "run", str(work / "small" / "run.yaml"), "--steps",
                                        "discovery,segmentation", "--output", str(work / "reports"), "--quiet"], ROOT)
        total = time.perf_counter() - t0
        print(f"{args.small:,}-line export, init {seconds_init:.1f} s + run of discovery and segmentation "
              f"{seconds_run:.1f} s = {total:.1f} s (exit {code})   target: under 60 s on 2 cores")
        if code != 0:
            print(out[-3000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
