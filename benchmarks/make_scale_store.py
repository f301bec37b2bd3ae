"""A store at retail scale, written by the engine: members, products, line items and two campaigns.

    python benchmarks/make_scale_store.py --customers 1000000 --lines 50000000

Writes ``benchmarks/data/scale_<customers>_<lines>/`` (git-ignored): the
canonical tables the kit reads (``customers``, ``products``,
``transactions``, ``contacts`` as Parquet), a data spec ``data.yaml`` and a
run file ``run.yaml`` for ``crm-kit run`` (the demo cycle's months: base
month 2025-09, round one in October, round two in November). Every table is
a DuckDB ``COPY`` of a ``range()``: no Python loop, no pandas frame of lines
(1M customers and 50M lines in about a minute on 2 cores).

This is a store for timing, not for teaching: no campaign effect is
planted, purchases are drawn from hashes (customers skewed, products
Zipf-like, 2024-01 to 2025-12), five lines per order, five different products. The demo generator
(``crm_kit.demo``) is the one with personas, responders and ground truth.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CATEGORIES = ["fresh food", "dairy", "bakery", "snacks", "drinks", "frozen", "household", "personal care",
              "baby", "pet", "alcohol", "tobacco", "stationery", "toys", "electronics", "clothing",
              "home", "garden", "health", "seasonal"]


def _u(expr: str, salt: int) -> str:
    """A uniform number in [0, 1) drawn from a hash of ``expr`` (reproducible: no random state)."""
    return f"((hash({expr}, {salt}) % 1000003) / 1000003.0)"


def make_store(customers: int, lines: int, out: Path) -> Path:
    """Write the store's tables, data spec and run file into ``out``; return ``out``."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=false")
    products = 20_000
    orders = lines // 5
    cats = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    steps = {
        "customers": f"""
            SELECT 'M' || lpad(CAST(i AS VARCHAR), 8, '0') AS customer_id,
                   DATE '2015-01-01' + CAST(hash(i, 1) % 3650 AS INTEGER) AS signup_date,
                   CASE WHEN hash(i, 2) % 2 = 0 THEN 'female' ELSE 'male' END AS gender,
                   18 + CAST(hash(i, 3) % 60 AS INTEGER) AS age,
                   ['city centre', 'suburbs', 'new town', 'county'][1 + CAST(hash(i, 4) % 4 AS INTEGER)] AS region,
                   ['WeChat', 'SMS', 'email', 'phone'][1 + CAST(hash(i, 5) % 4 AS INTEGER)] AS preferred_channel,
                   hash(i, 6) % 3 <> 0 AS uses_wechat,
                   1 + CAST(hash(i, 7) % 5 AS INTEGER) AS household_size
            FROM range({customers}) t(i)""",
        "products": f"""
            SELECT 'P' || lpad(CAST(i AS VARCHAR), 6, '0') AS product_id,
                   'Product ' || CAST(i AS VARCHAR) AS name,
                   {cats}[1 + CAST(i % {len(CATEGORIES)} AS INTEGER)] AS category,
                   'B' || CAST(i % {len(CATEGORIES)} AS VARCHAR) || '-' || CAST(hash(i, 8) % 5 AS VARCHAR) AS brand,
                   round(2 + (i * 7919 % 19800) / 100.0, 2) AS unit_price,
                   CAST(hash(i, 9) % 5000 AS INTEGER) AS stock
            FROM range({products}) t(i)""",
        # customer skewed (a few buy often), product Zipf-like; the price is the product's, so no join is needed
        "transactions": f"""
            SELECT 'M' || lpad(CAST(CAST(floor({customers} * pow({_u('o', 10)}, 1.6)) AS BIGINT) AS VARCHAR), 8, '0')
                       AS customer_id,
                   'O' || CAST(o AS VARCHAR) AS order_id,
                   TIMESTAMP '2024-01-01 08:00:00'
                       + to_days(CAST(hash(o, 11) % 731 AS INTEGER))
                       + to_seconds(CAST(hash(o, 12) % 46800 AS BIGINT)) AS ts,
                   'P' || lpad(CAST(p AS VARCHAR), 6, '0') AS product_id,
                   q AS quantity,
                   round(q * (2 + (p * 7919 % 19800) / 100.0), 2) AS amount,
                   hash(i, 13) % 5 = 0 AS promo,
                   CASE WHEN hash(o, 14) % 4 = 0 THEN 'online' ELSE 'store' END AS channel
            FROM (SELECT i, i // 5 AS o,
                         -- Zipf-like, and never the same product twice in one order (that would be an exact repeat)
                         (CAST(floor({products} * pow({_u('o', 15)}, 3)) AS BIGINT) + (i % 5) * 4001) % {products} AS p,
                         CAST(1 + hash(i, 16) % 3 AS INTEGER) AS q
                  FROM range({lines}) t(i))""",
        # round one: 2 % of the members, 80 % by WeChat, 20 % held out; round two: a quarter of the treated, by SMS
        "contacts": f"""
            SELECT customer_id, 'R1-2025-10' AS campaign_id, 1 AS round,
                   CASE WHEN hash(i, 21) % 5 = 0 THEN 'control' ELSE 'treatment' END AS arm,
                   'WeChat' AS channel, DATE '2025-10-01' AS contacted_at,
                   hash(i, 21) % 5 <> 0 AND hash(i, 22) % 3 = 0 AS responded
            FROM (SELECT i, 'M' || lpad(CAST(i AS VARCHAR), 8, '0') AS customer_id FROM range({customers}) t(i))
            WHERE hash(i, 20) % 50 = 0
            UNION ALL
            SELECT customer_id, 'R2-2025-11', 2,
                   CASE WHEN hash(i, 24) % 5 = 0 THEN 'control' ELSE 'treatment' END,
                   'SMS', DATE '2025-11-01', hash(i, 24) % 5 <> 0 AND hash(i, 25) % 4 = 0
            FROM (SELECT i, 'M' || lpad(CAST(i AS VARCHAR), 8, '0') AS customer_id FROM range({customers}) t(i))
            WHERE hash(i, 20) % 50 = 0 AND hash(i, 21) % 5 <> 0 AND hash(i, 23) % 4 = 0""",
    }
    for name, sql in steps.items():
        start = time.perf_counter()
        con.execute(f"COPY ({sql}) TO '{out / (name + '.parquet')}' (FORMAT parquet, COMPRESSION zstd)")
        print(f"{name:<13} {time.perf_counter() - start:6.1f} s", flush=True)
    (out / "data.yaml").write_text(
        "# written by benchmarks/make_scale_store.py: a store for timing, without planted effects\n"
        f"name: scale_{customers}_{lines}\n"
        "currency: \"¥\"\n"
        "tables:\n"
        + "".join(f"  {t}:\n    path: {out / (t + '.parquet')}\n" for t in ("transactions", "customers", "products",
                                                                           "contacts"))
    )
    (out / "run.yaml").write_text(
        "# the whole cycle on the scale store (benchmarks/bench_cycle.py --params this file)\n"
        f"run_name: scale_{customers}_{lines}\n"
        f"common:\n  data: {out / 'data.yaml'}\n"
        "steps:\n"
        "  - {name: discovery, notebook: 01_knowledge_discovery, params: {month: \"2025-09\"}}\n"
        "  - {name: segmentation, notebook: 02_segmentation, after: [],\n"
        "     params: {as_of: \"2025-10-01\", month: \"2025-09\", clv_calibration_end: \"2025-06-01\"}}\n"
        "  - {name: design_round1, notebook: 03_campaign_design, after: [discovery], params: {round_no: 1}}\n"
        "  - {name: results_round1, notebook: 04_campaign_results, params: {round_no: 1}}\n"
        "  - {name: design_round2, notebook: 03_campaign_design, params: {round_no: 2}}\n"
        "  - {name: results_round2, notebook: 04_campaign_results, params: {round_no: 2}}\n"
        "  - {name: summary, notebook: 05_cycle_summary, params: {}}\n"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=50_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or HERE / "data" / f"scale_{args.customers}_{args.lines}"
    start = time.perf_counter()
    make_store(args.customers, args.lines, out)
    print(f"store written to {out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
