"""Command line: ``crm-kit demo`` (generate the demo store, print its decile table),
``crm-kit run PARAMS.yaml`` (the whole cycle) and ``crm-kit params NOTEBOOK``."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from .errors import CRMKitError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .data import load_store
    from .datasets import DEMO_MONTHS, ensure_demo_store
    from .engine import decile_table, monthly_customer_list

    folder = ensure_demo_store(n_members=args.n_members, seed=args.seed)
    store = load_store({"source": "demo", "n_members": args.n_members, "seed": args.seed})
    month = args.month or DEMO_MONTHS["base"]
    table = decile_table(monthly_customer_list(store.transactions, month=month, groups=args.groups))
    shown = table[["group", "customers", "sales_per_customer", "sales_share", "cum_sales_share", "visits_per_customer", "ticket"]]
    print(f"Demo store in {folder}")
    print(f"Decile table of {month}: {int(table['customers'].sum()):,} members, total sales {table['sales'].sum():,.0f}")
    with pd.option_context("display.width", 120, "display.float_format", "{:,.2f}".format):
        print(shown.to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crm-kit`` console script."""
    parser = argparse.ArgumentParser(prog="crm-kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate the demo store (if needed) and print its base-month decile table")
    demo.add_argument("--n-members", type=int, default=11550)
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--month", default=None, help="YYYY-MM (default: the demo base month)")
    demo.add_argument("--groups", type=int, default=10)
    args = parser.parse_args(argv)
    if getattr(args, "seed", 0) is None:
        from .datasets import DEMO_SEED

        args.seed = DEMO_SEED
    try:
        return {"demo": _demo}[args.command](args)
    except CRMKitError as exc:
        print(f"crm-kit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
