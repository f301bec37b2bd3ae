"""Own data, the zoo's way: ``crm-kit init`` and init + run on a 70,000-line zoo export, init on a 20M-line file.

    .venv/bin/python benchmarks/bench_zoo.py                      # 70k-line export end to end, then the 20M-line file
    .venv/bin/python benchmarks/bench_zoo.py --big-lines 0        # the 70k-line export only
    .venv/bin/python benchmarks/bench_zoo.py --shape membership --lines 70000 --steps discovery,segmentation

The small export is a zoo shape (tests/zoo) grown to about ``--lines`` line items: ``crm-kit init`` on its files,
the monthly figures of the drafted spec checked against the shape's truth, then ``crm-kit run`` of the drafted
run file (``--steps``). The large file has the same layout as the membership shape's line items (会员卡号, 小票号,
交易时间, 商品编码, 数量, 实收金额), written by DuckDB into benchmarks/data/ (git-ignored) and kept for the next
run. Prints each figure beside the issue's target (issue 37: init + run on a 70k-line export within 60 s on
2 cores; init at most one scan more than the load) and appends them as one JSON line to
benchmarks/results/bench_zoo.jsonl.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "crm_kit"]
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "bench_zoo.jsonl"


#: CPU seconds (user + system) of each command timed, by its first argument after the program: on a shared machine
#: the wall time grows with the load, the CPU time much less
CPU: dict[str, float] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    t0, c0 = time.perf_counter(), _children_cpu()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    CPU[cmd[len(CLI)]] = CPU.get(cmd[len(CLI)], 0.0) + _children_cpu() - c0
    return time.perf_counter() - t0, out.returncode, out.stdout + out.stderr


def write_big(path: Path, lines: int) -> None:
    """The membership shape's line items, ``lines`` of them, by DuckDB (about 50 lines per customer, 2 per receipt)."""
    import duckdb

    customers = max(lines // 50, 100)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=false")
    con.execute(f"""
        COPY (
            SELECT 'M' || lpad(CAST(r % {customers} AS VARCHAR), 7, '0') AS "会员卡号",
                   CAST(880000000 + r AS VARCHAR) AS "小票号",
                   strftime(TIMESTAMP '2024-01-01 08:00:00' + to_seconds(CAST(r * 15552000 // {lines // 2} AS BIGINT)),
                            '%Y-%m-%d %H:%M:%S') AS "交易时间",
                   'SKU-' || lpad(CAST(hash(i) % 5000 AS VARCHAR), 4, '0') AS "商品编码",
                   CAST(1 + hash(i + 1) % 3 AS INTEGER) AS "数量",
                   format('{{:.2f}}', (100 + hash(i + 2) % 20000) / 100.0) AS "实收金额"
            FROM (SELECT i, i // 2 AS r FROM range({lines}) t(i))
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def small_run(shape: str, lines: int, steps: str, work: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_zoo import compare, kit_monthly
    from zoo import SHAPES, generate

    # about 2 lines per order and 1.2 orders per customer a month over six months
    per_customer = 6 * SHAPES[shape].features.visits_per_month * 2.0
    export = generate(shape, work / "export", customers=max(int(lines / per_customer), 10))
    n = sum(sum(1 for _ in open(f, encoding="utf-8", errors="replace")) - 1 for f in export.files[:1])
    CPU.clear()
    seconds_init, code, out = timed([*CLI, "init", *map(str, export.files), "--output", str(work / "init")], ROOT)
    if code not in (0, 1):
        raise SystemExit(f"init failed (exit {code}):\n{out[-3000:]}")
    t0 = time.perf_counter()
    problems = compare(kit_monthly(work / "init" / "data.yaml", gross=False), export.truth)
    seconds_load = time.perf_counter() - t0
    seconds_run, code, out = timed([*CLI, "run", str(work / "init" / "run.yaml"), "--steps", steps, "--output",
                                    str(work / "reports"), "--quiet"], ROOT)
    if code != 0:
        print(out[-3000:])
    return {"shape": shape, "lines": n, "init_s": round(seconds_init, 1), "load_check_s": round(seconds_load, 1),
            "run_s": round(seconds_run, 1), "run_exit": code, "steps": steps,
            "init_plus_run_s": round(seconds_init + seconds_run, 1), "truth_matches": not problems,
            "init_cpu_s": round(CPU.get("init", 0.0), 1), "run_cpu_s": round(CPU.get("run", 0.0), 1),
            "load_average": round(__import__("os").getloadavg()[0], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="membership", help="zoo shape grown to --lines (default: membership)")
    parser.add_argument("--lines", type=int, default=70_000, help="line items of the export run end to end")
    parser.add_argument("--steps", default="discovery,segmentation", help="steps of the drafted run file to run")
    parser.add_argument("--big-lines", type=int, default=20_000_000, help="lines of the large file (0: skip it)")
    args = parser.parse_args()
    record = {"when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with tempfile.TemporaryDirectory() as folder:
        small = small_run(args.shape, args.lines, args.steps, Path(folder))
    record["small"] = small
    print(f"{small['shape']} export, {small['lines']:,} lines: init {small['init_s']:.1f} s + run of {small['steps']} "
          f"{small['run_s']:.1f} s = {small['init_plus_run_s']:.1f} s (run exit {small['run_exit']})   target: under "
          f"60 s on 2 cores; the drafted spec's monthly figures {'equal' if small['truth_matches'] else 'DIFFER from'} "
          f"the truth (load and check {small['load_check_s']:.1f} s); CPU: init {small['init_cpu_s']:.1f} s, run "
          f"{small['run_cpu_s']:.1f} s; load average {small['load_average']}")
    if args.big_lines:
        DATA.mkdir(parents=True, exist_ok=True)
        big = DATA / f"zoo_membership_{args.big_lines}.csv"
        if not big.exists():
            t0 = time.perf_counter()
            write_big(big, args.big_lines)
            print(f"large file written: {big} ({big.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f} s")
        CPU.clear()
        with tempfile.TemporaryDirectory() as folder:
            seconds, code, out = timed([*CLI, "init", str(big), "--output", str(Path(folder) / "big")], ROOT)
            check, check_code, check_out = timed([*CLI, "check", str(Path(folder) / "big" / "data.yaml")], ROOT) \
                if code in (0, 1) else (0.0, -1, "")
        record["big"] = {"lines": args.big_lines, "bytes": big.stat().st_size, "init_s": round(seconds, 1),
                         "init_exit": code, "check_s": round(check, 1), "check_exit": check_code,
                         "init_cpu_s": round(CPU.get("init", 0.0), 1), "check_cpu_s": round(CPU.get("check", 0.0), 1)}
        print(f"init on {args.big_lines:,} lines ({big.stat().st_size / 1e9:.2f} GB): {seconds:.1f} s (exit {code}); "
              f"crm-kit check (the full load) {check:.1f} s (exit {check_code}); CPU: init "
              f"{record['big']['init_cpu_s']:.1f} s, check {record['big']['check_cpu_s']:.1f} s   target: init at most one "
              "scan more than the load")
        if code not in (0, 1):
            print(out[-3000:])
        elif check_code != 0:
            print(check_out[-3000:])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0 if small["run_exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
