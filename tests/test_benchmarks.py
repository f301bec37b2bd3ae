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


def test_pandas_rules_is_the_kits_cleaning(tmp_path):
    """bench_summary.py's pandas-rules reference counts every kind of bad line as the kit's cleaning report does
    (rows and sales per rule), so kit-full is timed against pandas doing the same cleaning."""
    import numpy as np
    import pandas as pd

    from crm_kit import load_store

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_summary
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame({
        "customer_id": rng.integers(1, 300, n).astype(str), "order_id": rng.integers(1, 1500, n).astype(str),
        "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300 * 86400, n), unit="s"),
        "product_id": [f"P{i}" for i in rng.integers(1, 200, n)],
        "quantity": rng.integers(1, 5, n).astype(float), "amount": rng.gamma(2, 20, n).round(2)})
    df.loc[0:40, "quantity"] = -1.0  # returns
    df.loc[41:60, "amount"] = 0.0  # free lines
    df.loc[61:70, "quantity"] = 0.0
    df.loc[71:90, "customer_id"] = None
    df.loc[91:95, "customer_id"] = "  "  # blank: no customer
    df.loc[96:99, "customer_id"] = " " + df.loc[96:99, "customer_id"] + " "  # padded: trimmed, kept
    df.loc[100:103, "order_id"] = "Total"
    df.loc[104:110, "ts"] = pd.NaT
    df.loc[111, "amount"] = 1e12
    df.loc[112:113, "customer_id"] = "abc"  # a wordless id among member numbers
    df = pd.concat([df, df.iloc[200:260]], ignore_index=True)  # exact repeats
    df.to_parquet(tmp_path / "lines.parquet", index=False)

    cleaned, counted = bench_summary._pandas_every_rule(pd.read_parquet(tmp_path / "lines.parquet"))
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "lines.parquet")}},
                        "cleaning": {"summary_rows": "drop", "missing_values": "drop"}})
    report = store.cleaning_report.set_index("rule")
    kit = {rule: (int(report.loc[rule, "rows_found"]), float(report.loc[rule, "sales_removed"]))
           for rule in report.index if not rule.startswith("non-products")}
    assert [n for n, _ in kit.values()] == [n for n, _ in counted.values()] == [60, 7, 4, 3, 41, 20, 10, 25]
    np.testing.assert_allclose([s for _, s in kit.values()], [s for _, s in counted.values()], rtol=1e-9)
    assert len(cleaned) == int(store.con.execute(store.transactions.count()))
