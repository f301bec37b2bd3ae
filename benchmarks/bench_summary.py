"""Benchmark: per-customer summary through the kit vs an idiomatic pandas groupby.

Generates (once, with DuckDB) a synthetic line-item Parquet file of N rows, then
runs each contender in a fresh subprocess, several times, recording wall time
and peak resident memory (ru_maxrss of the child). Not part of the test suite.

    python benchmarks/bench_summary.py --rows 10000000 50000000 --repeat 3

Contenders
----------
kit-engine   crm_kit.engine.customer_summary straight on the file (Ibis/DuckDB)
kit-all      the three foundation operations on the file: customer summary,
             two-period metrics and the decile table
kit-full     crm_kit.load_store (parsing checks, every cleaning rule, the cleaned store
             written to a fresh cache) followed by customer_summary
kit-cached   customer_summary on the cleaned store already cached (the load before the clock)
bare-scan    lower bound: one DuckDB scan with one aggregate and a distinct count
order-pairs  floor for an exact per-customer order count: distinct customer-order pairs,
             counted per customer (the customer summary needs this and more)
floor-copy   the least a loader with the kit's checks does on this engine, written by hand: one
             pass of parsing checks, totals and typical line, one of repeated line hashes, one
             of rule masks, the cleaned lines written to a fresh DuckDB file, the order table
             from them, the summary from that (what kit-full does in the fewest passes)
floor-view   the same without writing the lines (the order table read from the file): the
             least a store that keeps no copy of its lines could do
pandas       pd.read_parquet + groupby(...).agg(...) with the same outputs
pandas-clean the same after the three rules that change this file, in pandas (exact duplicates,
             missing values, non-positive lines, lines without a customer id): the issue's
             reference for kit-full
pandas-rules the same after every default rule of the kit in pandas, each counted as the kit's
             cleaning report counts it (ids trimmed, summary rows, implausible lines...)

--memory-limit caps DuckDB's memory (it spills to benchmarks/data/spill).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AS_OF = "2026-01-01"


def make_file(rows: int) -> Path:
    """Write a synthetic transaction file of ``rows`` lines (cached)."""
    import duckdb

    DATA.mkdir(exist_ok=True)
    path = DATA / f"lines_{rows}.parquet"
    if path.exists():
        return path
    customers = max(1000, rows // 50)
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          SELECT
            'C' || lpad(CAST(hash(i // 5) % {customers} AS VARCHAR), 8, '0') AS customer_id,
            'O' || CAST(i // 5 AS VARCHAR) AS order_id,
            TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i // 5 + 7) % 63072000 AS BIGINT)) AS ts,  -- 2024-2025
            'P' || CAST(hash(i * 3) % 20000 AS VARCHAR) AS product_id,
            CAST(1 + hash(i * 5) % 4 AS DOUBLE) AS quantity,
            round(1 + (hash(i * 7) % 10000) / 100.0, 2) AS amount
          FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    return path


MEMORY_LIMIT = None  # set by --memory-limit, e.g. "8GB": DuckDB spills to disk beyond it


def _duckdb(path_ignored=None):
    import ibis

    con = ibis.duckdb.connect()
    if MEMORY_LIMIT:
        con.raw_sql(f"SET memory_limit='{MEMORY_LIMIT}'")
        con.raw_sql(f"SET temp_directory='{DATA / 'spill'}'")
    return con


def run_kit_engine(path: str) -> int:
    from crm_kit.engine import customer_summary

    con = _duckdb()
    t = con.read_parquet(path)
    return len(customer_summary(t, as_of=AS_OF))


def run_kit_all(path: str) -> int:
    """The three foundation operations: customer summary, two-period metrics, decile table."""
    from crm_kit.engine import customer_summary, decile_table, monthly_customer_list, period_metrics

    con = _duckdb()
    t = con.read_parquet(path)
    n = len(customer_summary(t, as_of=AS_OF))
    period_metrics(t, periods={"base": "2025-05", "campaign": "2025-06"})
    decile_table(monthly_customer_list(t, month="2025-06"))
    return n


def run_bare_scan(path: str) -> int:
    """Lower bound: the same file scanned once with one aggregate and a distinct count."""
    import duckdb

    con = duckdb.connect()
    if MEMORY_LIMIT:
        con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory='{DATA / 'spill'}'")
    n, _s = con.execute(f"SELECT count(DISTINCT customer_id), sum(amount) FROM read_parquet('{path}')").fetchone()
    return int(n)


def run_order_pairs(path: str) -> int:
    """Floor for any exact per-customer order count: one aggregation over distinct customer-order pairs."""
    import duckdb

    con = duckdb.connect()
    if MEMORY_LIMIT:
        con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory='{DATA / 'spill'}'")
    rows = con.execute(
        f"SELECT customer_id, count(*) FROM (SELECT DISTINCT customer_id, order_id FROM read_parquet('{path}')) "
        "GROUP BY customer_id"
    ).fetchall()
    return len(rows)


def _floor(path: str, *, copy: bool) -> int:
    """kit-full's work in the fewest passes, by hand (see the module docstring): no loader with its checks does less."""
    import tempfile

    import duckdb

    src = f"read_parquet('{path}')"
    keep = "ts IS NOT NULL AND amount > 0 AND quantity > 0 AND order_id IS NOT NULL AND product_id IS NOT NULL"
    with tempfile.TemporaryDirectory(dir=DATA, prefix="floor-") as folder:
        con = duckdb.connect(f"{folder}/store.duckdb")
        con.execute(f"SET temp_directory='{folder}/spill'")
        if MEMORY_LIMIT:
            con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
        flags = " + ".join(f"({c} <> trim({c}) OR {c} = '' OR lower({c}) IN ('total', '合计'))::INT"
                           for c in ("customer_id", "order_id", "product_id"))
        con.execute(f"SELECT count(*), sum(amount), approx_quantile(abs(amount), 0.5), "
                    f"approx_quantile(abs(quantity), 0.5), count(customer_id), "
                    f"sum(regexp_full_match(customer_id, '\\d+')::INT), sum({flags}) FROM {src}").fetchall()
        con.execute(f"SELECT count(*) FROM (SELECT hash(customer_id, order_id, ts, product_id, quantity, amount) "
                    f"AS h FROM {src} GROUP BY h HAVING count(*) > 1)").fetchall()
        con.execute(f"SELECT sum((NOT ({keep}))::INT), sum((quantity < 0)::INT), sum((quantity = 0)::INT), "
                    f"sum((customer_id IS NULL)::INT) FROM {src}").fetchall()
        lines = f"{src} WHERE {keep}"
        if copy:
            con.execute(f"CREATE TABLE lines AS SELECT * FROM {lines}")
            lines = "lines"
        con.execute(f"CREATE TABLE orders AS SELECT customer_id, order_id, min(ts) AS ts, max(ts) AS ts_last, "
                    f"sum(amount) AS amount, sum(quantity) AS quantity, count(*) AS lines FROM {lines} "
                    f"{'WHERE' if copy else 'AND'} customer_id IS NOT NULL GROUP BY ALL")
        rows = con.execute("SELECT customer_id, count(*), sum(amount), min(ts), max(ts) FROM orders "
                           "GROUP BY customer_id").fetchall()
        con.close()
    return len(rows)


def run_floor_copy(path: str) -> int:
    """kit-full's passes by hand, the cleaned lines copied: the floor of the kit's design."""
    return _floor(path, copy=True)


def run_floor_view(path: str) -> int:
    """The same without a copy of the lines: the floor of a store that keeps none."""
    return _floor(path, copy=False)


def run_kit_full(path: str) -> int:
    """Raw file to cleaned, cached store to summary: a cold cache (a fresh folder each run) is written."""
    import os
    import tempfile

    from crm_kit import load_store
    from crm_kit.engine import customer_summary

    with tempfile.TemporaryDirectory(dir=DATA) as cache:
        os.environ["CRM_KIT_CACHE"] = cache
        store = load_store(_spec(path))
        return len(customer_summary(store.transactions, as_of=AS_OF))


def run_kit_cached(path: str) -> int:
    """The summary on the cleaned store already in the cache (loaded once before the timing starts)."""
    return _summary_of_cached()


def _spec(path: str) -> dict:
    spec: dict = {"tables": {"transactions": {"path": path}}}
    if MEMORY_LIMIT:
        spec["engine"] = {"memory_limit": MEMORY_LIMIT, "temp_directory": str(DATA / "spill")}
    return spec


_CACHED = None


def _summary_of_cached() -> int:
    from crm_kit.engine import customer_summary

    return len(customer_summary(_CACHED.transactions, as_of=AS_OF))


def _pandas_every_rule(df):
    """The kit's default rules in pandas, each counted as the kit's cleaning report counts them (first rule wins)."""
    import pandas as pd

    from crm_kit.store.spec import IMPLAUSIBLE_FACTOR, SUMMARY_LABELS

    ids = ["customer_id", "order_id", "product_id"]
    for col in ids:  # ids trimmed, a blank one missing
        trimmed = df[col].str.strip()
        df[col] = trimmed.mask(trimmed == "")
    repeated = df.duplicated()
    report = {"exact duplicate lines": (int(repeated.sum()), float(df["amount"][repeated].sum()))}
    df = df[~repeated]
    labels = pd.Series(False, index=df.index)
    for col in ids:
        labels |= df[col].str.lower().isin(SUMMARY_LABELS)
    implausible = ((df["amount"].abs() > IMPLAUSIBLE_FACTOR * df["amount"].abs().median())
                   | (df["quantity"].abs() > IMPLAUSIBLE_FACTOR * df["quantity"].abs().median()))
    if df["customer_id"].str.fullmatch(r"\d+").sum() >= 0.99 * df["customer_id"].notna().sum():
        implausible |= df["customer_id"].notna() & ~df["customer_id"].str.contains(r"\d", na=False)
    returns = (df["quantity"] < 0) | (df["amount"] < 0)  # a return: a negative quantity or a negative amount
    rules = {"missing values": df[["ts", "amount", "quantity", "order_id", "product_id"]].isna().any(axis=1),
             "summary rows": labels, "implausible lines": implausible, "returns": returns,
             "zero price": (df["quantity"] > 0) & (df["amount"] == 0) & ~returns, "zero quantity": df["quantity"] == 0}
    kept = {"zero price"}  # free lines are purchases: found, not removed
    earlier = pd.Series(False, index=df.index)
    for rule, mask in rules.items():
        first = mask.fillna(False) & ~earlier
        money = -df["amount"].abs() if rule == "returns" else df["amount"]
        report[rule] = (int(first.sum()), 0.0 if rule in kept else float(money[first].sum()))
        if rule not in kept:
            earlier |= mask.fillna(False)
    anonymous = df["customer_id"].isna() & ~earlier
    report["no customer id"] = (int(anonymous.sum()), float(df["amount"][anonymous].sum()))
    return df[~earlier & df["customer_id"].notna()], report


def run_pandas(path: str, *, clean: str = "") -> int:
    import pandas as pd

    df = pd.read_parquet(path)
    if clean == "three":
        # the three rules that change such a file: exact repeats, missing values, returns and
        # non-positive lines dropped, lines without a customer id left out of the customer summary
        df = df.drop_duplicates()
        df = df.dropna(subset=["ts", "amount", "quantity", "order_id", "product_id"])
        df = df[(df["quantity"] > 0) & (df["amount"] > 0)]
        df = df[df["customer_id"].notna() & (df["customer_id"] != "")]
    elif clean == "every":
        df, _report = _pandas_every_rule(df)
    df = df[df["ts"] < pd.Timestamp(AS_OF)]
    df["day"] = df["ts"].dt.normalize()
    g = df.groupby("customer_id")
    out = g.agg(
        first_purchase=("ts", "min"),
        last_purchase=("ts", "max"),
        frequency=("order_id", "nunique"),
        active_days=("day", "nunique"),
        sales=("amount", "sum"),
        items=("quantity", "sum"),
    )
    as_of = pd.Timestamp(AS_OF)
    out["tenure_days"] = (as_of - out["first_purchase"].dt.normalize()).dt.days
    out["recency_days"] = (as_of - out["last_purchase"].dt.normalize()).dt.days
    out["repeat_frequency"] = out["active_days"] - 1
    out["mean_ticket"] = out["sales"] / out["frequency"]
    return len(out)


def run_pandas_clean(path: str) -> int:
    """pandas doing the three rules that change this file first: the issue's reference for ``kit-full``."""
    return run_pandas(path, clean="three")


def run_pandas_rules(path: str) -> int:
    """pandas doing every default rule of the kit, each counted, as ``load_store`` does."""
    return run_pandas(path, clean="every")


CONTENDERS = {"kit-engine": run_kit_engine, "kit-all": run_kit_all, "kit-full": run_kit_full,
              "kit-cached": run_kit_cached, "floor-copy": run_floor_copy, "floor-view": run_floor_view,
              "bare-scan": run_bare_scan, "order-pairs": run_order_pairs, "pandas": run_pandas,
              "pandas-clean": run_pandas_clean, "pandas-rules": run_pandas_rules}


#: what each contender is measured against: kit-full does the cleaning pandas-clean does; the cached summary
#: is held to the exact floor of any per-customer order count
REFERENCE = {"kit-full": "pandas-clean", "floor-copy": "pandas-clean", "floor-view": "pandas-clean",
             "kit-cached": "order-pairs"}


def _child(name: str, path: str, memory_limit: str) -> None:
    global MEMORY_LIMIT, _CACHED
    MEMORY_LIMIT = memory_limit or None
    if name == "kit-cached":
        import os

        from crm_kit import load_store

        os.environ["CRM_KIT_CACHE"] = str(DATA / "cache")
        _CACHED = load_store(_spec(path))
    start = time.perf_counter()
    n = CONTENDERS[name](path)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"customers": n, "wall_s": wall, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--contenders", nargs="+", default=["kit-engine", "kit-full", "pandas"],
                        choices=list(CONTENDERS))
    parser.add_argument("--memory-limit", default="", help="DuckDB memory cap, e.g. 8GB (spills to disk beyond it)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    results = []
    for rows in args.rows:
        path = make_file(rows)
        for name in args.contenders:
            runs = []
            for _ in range(args.repeat):
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", name, str(path), args.memory_limit], capture_output=True, text=True
                )
                if proc.returncode != 0:
                    print(f"{name} at {rows:,} rows failed: {proc.stderr.strip().splitlines()[-1:]}")
                    break
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if not runs:
                continue
            row = {
                "rows": rows,
                "contender": name,
                "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 2),
                "peak_mb": round(max(r["peak_mb"] for r in runs)),
                "customers": runs[0]["customers"],
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    print("\nrows        contender     median s   peak MB   reference      time vs it   memory vs it")
    for r in results:
        ref = REFERENCE.get(r["contender"], "pandas")
        base = next((b for b in results if b["rows"] == r["rows"] and b["contender"] == ref), None)
        ratio_t = f"{base['median_wall_s'] / r['median_wall_s']:.2f}x faster" if base else "-"
        ratio_m = f"{r['peak_mb'] / base['peak_mb']:.2f}x" if base else "-"
        print(f"{r['rows']:>11,} {r['contender']:<13} {r['median_wall_s']:>8} {r['peak_mb']:>9}   {ref:<13} "
              f"{ratio_t:>12} {ratio_m:>14}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"summary_{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
