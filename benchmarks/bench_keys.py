"""Benchmark: the cleaned store with integer keys in place of its text ids (issue 18, item 2), measured first.

    python benchmarks/make_scale_store.py
    python benchmarks/bench_keys.py                     # the 1M-customer, 50M-line scale store
    python benchmarks/bench_keys.py --data params/data/online_retail_ii.yaml --month 2010-11 --as-of 2010-12-01

Loads the store (from the cleaned-store cache when it is there) and writes
its cleaned lines into scratch DuckDB files three times: as the kit kept
them (text ids), with the order ids replaced by INTEGER keys, and with
customer, order and product ids all replaced by keys (numbered in each id's
sorted order, so that sorting by key sorts by id). Each copy gets the
kit's own order table (``_write_orders``). Then the kit's own queries run
on each — ``customer_summary``, ``customer_behaviour`` (brand loyalty: the
biggest line-level query), ``repurchase_intervals`` and ``clv_summary`` —
keyed customers mapped back to their text ids at the end, as a keyed store
would have to, and every result compared with the text layout's. Prints
the layouts side by side: the cost of the keys at load (dictionaries and
the keyed write against the plain write) and what they save on every later
query. Not a test (``tests/test_benchmarks.py`` runs it on the demo for the
equality only).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCALE = ROOT / "benchmarks" / "data" / "scale_1000000_50000000" / "data.yaml"
KEYED = {"customer_id": "customers", "order_id": "orders", "product_id": "products"}


def _timed(label: tuple[str, str], times: dict, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    times[label] = time.perf_counter() - t0
    return out


def _store_on(store, con, lines, orders):
    from crm_kit.store import Store

    return Store(con=con, transactions=lines.filter(lines.customer_id.notnull()), all_lines=lines, customers=None,
                 products=None, contacts=None, cleaning_report=store.cleaning_report, spec=store.spec, orders=orders)


def _queries(store, *, month, as_of, calibration_end):
    from crm_kit import clv, discovery, engine

    return {
        "customer_summary (order table)": lambda: engine.customer_summary(store.transactions, as_of=as_of),
        "customer_behaviour (brand loyalty, lines)": lambda: discovery.customer_behaviour(store, month=month),
        "repurchase_intervals": lambda: discovery.repurchase_intervals(store, as_of=as_of),
        "clv_summary": lambda: clv.clv_summary(store.transactions, calibration_end=calibration_end),
    }


def _ids_back(frame, customers):
    """A keyed query's result with its customer keys turned back into the text ids (index or column)."""
    import pandas as pd

    names = customers.set_index("key")["customer_id"]
    frame = frame.copy()
    if frame.index.name == "customer_id":
        frame.index = pd.Index(names.reindex(frame.index).to_numpy(), name="customer_id")
    if "customer_id" in frame.columns:
        frame["customer_id"] = names.reindex(frame["customer_id"]).to_numpy()
    return frame


def _same(a, b) -> bool:
    import pandas as pd

    def norm(f):
        f = f.reset_index() if f.index.name == "customer_id" else f
        return f.sort_values(list(f.columns)).reset_index(drop=True)

    try:
        pd.testing.assert_frame_equal(norm(a), norm(b), check_dtype=False, check_index_type=False)
        return True
    except AssertionError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SCALE), help="data spec of the store (default: the scale store)")
    parser.add_argument("--month", default="2025-09", help="month of customer_behaviour (default 2025-09)")
    parser.add_argument("--as-of", default="2025-10-01", help="as-of date of the summaries (default 2025-10-01)")
    parser.add_argument("--scratch", default=None, help="folder of the scratch database (default: a temporary one)")
    args = parser.parse_args()
    if args.data == str(SCALE) and not SCALE.exists():
        raise SystemExit(f"{SCALE} is missing: write it first with python benchmarks/make_scale_store.py")

    import crm_kit
    from crm_kit.store.cache import _quoted, _write_orders

    store = crm_kit.load_store(args.data)
    con = store.con
    lines = store.all_lines
    n = int(con.execute(lines.count()))
    layouts = {"text": {}, "order keys": {"order_id": "orders"}, "all keys": KEYED}
    with tempfile.TemporaryDirectory(dir=args.scratch, prefix="crm-kit-keys-") as scratch:
        load, results, stores = {}, {}, {}
        for i, layout in enumerate(layouts):
            con.raw_sql(f"ATTACH {_quoted(Path(scratch) / f'layout{i}.duckdb')} AS layout{i}")
        _timed(("text", "lines written"), load, con.raw_sql, f"CREATE TABLE layout0.main.lines AS {con.compile(lines)}")
        text = "layout0.main.lines"

        for column, table in KEYED.items():
            _timed(("dictionaries", table), load, con.raw_sql,
                   f"CREATE TABLE layout2.main.{table} AS SELECT {column}, "
                   f"CAST(row_number() OVER (ORDER BY {column}) AS INTEGER) AS key "
                   f"FROM (SELECT DISTINCT {column} FROM {text} WHERE {column} IS NOT NULL)")
        for i, (layout, keyed) in enumerate(layouts.items()):
            if keyed:
                joins = " ".join(f"LEFT JOIN layout2.main.{table} AS d_{table} ON l.{column} = d_{table}.{column}"
                                 for column, table in keyed.items())
                columns = ", ".join(f"d_{keyed[c]}.key AS {c}" if c in keyed else f"l.{c}" for c in lines.columns)
                _timed((layout, "lines written"), load, con.raw_sql,
                       f"CREATE TABLE layout{i}.main.lines AS SELECT {columns} FROM {text} AS l {joins}")
            layout_lines = con.table("lines", database=f"layout{i}")
            orders = _timed((layout, "order table"), load, _write_orders, con, layout_lines, f"layout{i}")
            stores[layout] = _store_on(store, con, layout_lines, orders)
        customers = con.to_pandas(con.table("customers", database="layout2"))
        for layout, s in stores.items():
            for name, query in _queries(s, month=args.month, as_of=args.as_of, calibration_end=args.as_of).items():
                t0 = time.perf_counter()
                out = query()
                if "customer_id" in layouts[layout]:
                    out = _ids_back(out, customers)
                results[(layout, name)] = (time.perf_counter() - t0, out)
        for i in range(len(layouts)):
            con.raw_sql(f"DETACH layout{i}")

    print(f"{args.data}: {n:,} cleaned lines, {len(customers):,} customers")
    names = list(layouts)
    print("load (once per store), seconds:")
    print(f"  {'':<16}" + "".join(f"{layout:>12}" for layout in names))
    dictionary = {layout: sum(load[("dictionaries", KEYED[c])] for c in keyed) for layout, keyed in layouts.items()}
    rows = {"dictionaries": dictionary,
            **{step: {layout: load[(layout, step)] for layout in names} for step in ("lines written", "order table")}}
    rows["total"] = {layout: sum(r[layout] for r in rows.values()) for layout in names}
    for step, row in rows.items():
        print(f"  {step:<16}" + "".join(f"{row[layout]:>12.1f}" for layout in names))
    print("queries (every run; keyed customer results mapped back to text ids, then compared with the text layout):")
    print(f"  {'query':<44}" + "".join(f"{layout:>12}" for layout in names) + f"{'rows':>11}  same result")
    for name in _queries(stores["text"], month=args.month, as_of=args.as_of, calibration_end=args.as_of):
        first = results[("text", name)][1]
        same = all(_same(first, results[(layout, name)][1]) for layout in names[1:])
        print(f"  {name:<44}" + "".join(f"{results[(layout, name)][0]:>11.1f}s" for layout in names)
              + f"{len(first):>11,}  {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
