"""Benchmark: the whole demo cycle on DuckDB and on PySpark local, and the ratio (issue 42).

    python benchmarks/bench_spark.py                      # 3,000 members, each engine cold then warm
    python benchmarks/bench_spark.py --members 1000 --engines spark

Runs ``crm-kit run params/demo.yaml -p data={source: demo, n_members: N, engine: E}`` in a subprocess (into a
temporary reports root), twice per engine with a store cache of its own: **cold** (an empty cache: the month
check and the first step clean the store once, and on Spark export it as Parquet) and **warm** (the cache holds
the store, as on every later run of the same files). Prints the wall time, the CPU time of the whole process tree, the time per step read from
``run.log``, and the peak resident memory of the whole process tree (runner, kernels and their JVMs); appends
each figure to ``benchmarks/results/bench_spark.jsonl`` and prints Spark / DuckDB per mode. Generating the demo
store is outside the timing. Goal: Spark within 4x of DuckDB. Not a test; run it on a quiet machine and one at a
time (Spark local takes both cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cycle import watch_tree  # noqa: E402 - the process tree watcher both benchmarks use

RESULTS = Path(__file__).resolve().parent / "results" / "bench_spark.jsonl"


def _run(engine: str, members: int, cache: Path, params: str) -> dict:
    data = json.dumps({"source": "demo", "n_members": members, "engine": engine})
    with tempfile.TemporaryDirectory() as tmp:
        errors = Path(tmp) / "stderr.txt"
        env = {**os.environ, "CRM_KIT_CACHE": str(cache)}
        t0 = time.perf_counter()
        with open(errors, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "crm_kit", "run", params, "-p", f"data={data}",
                                     "--output", tmp, "--quiet"], stdout=subprocess.DEVNULL, stderr=err, env=env,
                                    cwd=ROOT)
            peak, cpu = watch_tree(proc)
        total = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"the {engine} run failed: {errors.read_text()[-2000:]}")
        log = next(Path(tmp).glob("*/2*/run.log")).read_text()
        steps = {name: float(secs) for name, secs in re.findall(r"step (\S+) \(\S+\) done in ([\d.]+) s", log)}
        metrics = json.loads(next(Path(tmp).glob("*/2*/metrics.json")).read_text())
    return {"total_s": round(total, 1), "cpu_s": round(cpu, 1), "peak_gib": round(peak / 2**30, 2), "steps": steps, "metrics": metrics}


#: what one Spark kernel of a run does first: load the store, then one customer-level query
KERNEL = """
import json, sys, time
from crm_kit.store import load_store
from crm_kit.engine import customer_summary
t0 = time.perf_counter()
store = load_store(json.loads(sys.argv[1]))
t1 = time.perf_counter()
customer_summary(store.transactions, as_of="2025-10-01")
print(json.dumps({"load_s": round(t1 - t0, 1), "query_s": round(time.perf_counter() - t1, 1)}))
"""


def kernel_load(members: int, cache: Path) -> None:
    """One Spark kernel's store load, as before (``cache: false``: Spark reads and cleans the source) and now (the
    cleaned store's Parquet), each in a fresh process (its JVM start included); wall and CPU seconds."""
    for label, extra in (("spark cleans the source (before)", {"cache": False}),
                         ("spark reads the cleaned Parquet (now)", {})):
        spec = {"source": "demo", "n_members": members, "engine": "spark", **extra}
        env = {**os.environ, "CRM_KIT_CACHE": str(cache)}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", KERNEL, json.dumps(spec)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, cwd=ROOT, text=True)
        peak, cpu = watch_tree(proc)
        out = json.loads(proc.stdout.read().strip().splitlines()[-1])
        total = time.perf_counter() - t0
        row = {"when": time.strftime("%Y-%m-%d %H:%M"), "engine": "spark", "mode": f"kernel: {label}",
               "members": members, "load_average": os.getloadavg()[0], "host": platform.node(),
               "total_s": round(total, 1), "cpu_s": round(cpu, 1), "peak_gib": round(peak / 2**30, 2), **out}
        with RESULTS.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"kernel, {label}: {total:.1f} s (load {out['load_s']} s, summary {out['query_s']} s), CPU {cpu:.1f} s, "
              f"peak {peak / 2**30:.2f} GiB", flush=True)


def figures_of(tree, path: str = "") -> dict[str, object]:
    """Every leaf of metrics.json by its path (``discovery.deciles[3].sales``); tests/test_backends.py uses it too."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in figures_of(sub, f"{path}.{key}" if path else key).items()}
    if isinstance(tree, list):
        return {k: v for i, sub in enumerate(tree) for k, v in figures_of(sub, f"{path}[{i}]").items()}
    return {path: tree}


#: what differs between any two runs by design: where the run folder is and how long it took
_RUN_FIELDS = re.compile(r"^run\.(folder|seconds|started|finished)")


def compare_figures(a: dict, b: dict) -> tuple[int, list[str]]:
    """How many figures two runs' metrics.json share, and the ones that differ (exactly: no tolerance)."""
    fa, fb = figures_of(a), figures_of(b)
    keys = sorted(k for k in set(fa) | set(fb) if not _RUN_FIELDS.search(k))
    differ = [f"{k}: {fa.get(k, '(absent)')!r} vs {fb.get(k, '(absent)')!r}" for k in keys if fa.get(k) != fb.get(k)]
    return len(keys), differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--modes", nargs="+", default=["cold", "warm"], choices=["cold", "warm"])
    parser.add_argument("--params", default="params/demo.yaml")
    parser.add_argument("--kernel", action="store_true",
                        help="only one Spark kernel's load, before (Spark cleans) and now (Parquet)")
    args = parser.parse_args()
    # the demo store generated once, outside the timing
    subprocess.run([sys.executable, "-c", f"from crm_kit.demo import demo_data_spec; demo_data_spec(n_members={args.members})"],
                   check=True, cwd=ROOT)
    if args.kernel:
        with tempfile.TemporaryDirectory(prefix="crm-kit-bench-cache-") as cache:
            code = f"from crm_kit.store import store_calendar_of; store_calendar_of('demo:{args.members}')"
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                           env={**os.environ, "CRM_KIT_CACHE": cache})  # the cleaned store, outside the timing
            kernel_load(args.members, Path(cache))
        return
    found: dict[tuple[str, str], dict] = {}
    for engine in args.engines:
        with tempfile.TemporaryDirectory(prefix="crm-kit-bench-cache-") as cache:
            for mode in ("cold", "warm"):
                result = _run(engine, args.members, Path(cache), args.params)
                if mode not in args.modes:
                    continue
                found[(engine, mode)] = result
                row = {"when": time.strftime("%Y-%m-%d %H:%M"), "engine": engine, "mode": mode,
                       "members": args.members, "load_average": os.getloadavg()[0], "host": platform.node(),
                       **{k: v for k, v in result.items() if k != "metrics"}}
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                with RESULTS.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{engine:<7} {mode:<5} {result['total_s']:7.1f} s  CPU {result['cpu_s']:7.1f} s  peak {result['peak_gib']:.2f} GiB  "
                      + "  ".join(f"{k} {v:.1f}" for k, v in result["steps"].items()), flush=True)
    for mode in args.modes:
        if ("spark", mode) in found and ("duckdb", mode) in found:
            ratio = found[("spark", mode)]["total_s"] / found[("duckdb", mode)]["total_s"]
            cpu = found[("spark", mode)]["cpu_s"] / found[("duckdb", mode)]["cpu_s"]
            print(f"{mode}: Spark / DuckDB = {ratio:.1f}x wall, {cpu:.1f}x CPU (goal: at most 4x)")
            n, differ = compare_figures(found[("duckdb", mode)]["metrics"], found[("spark", mode)]["metrics"])
            print(f"{mode}: metrics.json, {n - len(differ):,} of {n:,} figures equal on both engines"
                  + "".join(f"\n  differs: {d}" for d in differ[:40]))


if __name__ == "__main__":
    main()
