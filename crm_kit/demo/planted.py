"""A known change planted between two months of the demo store, for the monthly report to recover.

:func:`plant_change` takes the months without campaigns (``natural/``) and
makes one value tier buy less often in one month: each member of the tier
(by the month before's sales, the kit's ABC rule) keeps their first order of
the month and loses each other order with probability ``1 - keep_share``.
Customers, order values and every other tier are untouched, so the revenue
tree (:func:`crm_kit.changes.revenue_tree`) should put the lost sales on
*orders per customer* of that tier, and the migration matrix should show
the tier's members moving down. The truth is written beside the variant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..engine import month_bounds
from ..errors import ParameterError
from ..segmentation import ValueTiers
from .generator import empty_contacts, store_spec, write_parquet

__all__ = ["plant_change", "read_planted"]

TRUTH_FILE = "planted_change.json"


def _folder_name(month: str, tier: str, keep_share: float, seed: int) -> str:
    return f"planted_{month}_{tier}_{round(keep_share * 100)}_{seed}"


def plant_change(top: str | Path, *, month: str, tier: str = "A", keep_share: float = 0.5, seed: int = 0,
                 shares: tuple[float, ...] = (0.5, 0.3, 0.15), labels: tuple[str, ...] = ("A", "B", "C", "D")
                 ) -> dict[str, Any]:
    """Write a variant of the demo's natural months in which ``tier`` buys less often in ``month``.

    Parameters
    ----------
    top
        The demo store folder (:func:`crm_kit.demo.ensure_demo_store`).
    month
        ``'YYYY-MM'``: the month that changes (the month before it sets the tiers).
    tier
        The value tier (by the month before's sales) whose members lose orders.
    keep_share
        The chance each of a member's orders after their first in the month is kept (0 < keep_share < 1).
    seed
        Which orders go.

    Returns
    -------
    dict
        The data spec of the variant (``crm_kit.load_store`` reads it); its
        truth is in ``planted_change.json`` of the variant folder
        (:func:`read_planted`).
    """
    if not 0 < float(keep_share) < 1:
        raise ParameterError(f"keep_share={keep_share!r}: give the share of orders kept, between 0 and 1")
    if tier not in labels:
        raise ParameterError(f"tier={tier!r}: give one of the value tiers {list(labels)}")
    top = Path(top)
    start, end = month_bounds(month)
    before = month_bounds(start - pd.Timedelta(days=1))
    month = start.strftime("%Y-%m")
    variant = top / "variants" / _folder_name(month, tier, float(keep_share), int(seed))
    if (variant / TRUTH_FILE).exists():
        return store_spec(top, variant)
    table = pq.read_table(top / "natural" / "transactions.parquet")
    ts = table.column("ts")
    window = pc.and_(pc.greater_equal(ts, pa.scalar(before[0], pa.timestamp("us"))),
                     pc.less(ts, pa.scalar(end, pa.timestamp("us"))))
    lines = table.filter(window).select(["customer_id", "order_id", "ts", "amount", "quantity"]).to_pandas()
    base = lines[lines["ts"] < before[1]]
    tiers = ValueTiers(shares=shares, labels=labels).fit_transform(
        base.groupby("customer_id", as_index=False)["amount"].sum().rename(columns={"amount": "sales"}))
    members = set(tiers.loc[tiers["tier"] == tier, "customer_id"])
    orders = (lines[(lines["ts"] >= start) & lines["customer_id"].isin(members)]
              .groupby(["customer_id", "order_id"], as_index=False)
              .agg(ts=("ts", "min"), amount=("amount", "sum"), quantity=("quantity", "sum"))
              .sort_values(["customer_id", "ts", "order_id"], kind="stable"))
    first = ~orders.duplicated("customer_id")
    rng = np.random.default_rng(seed)
    drop = ~first.to_numpy() & (rng.random(len(orders)) >= keep_share)
    dropped = orders[drop]
    # order ids are unique across the store and an order lies within one day: dropping its id drops its lines
    kept = table.filter(pc.invert(pc.is_in(table.column("order_id"), pa.array(dropped["order_id"].tolist()))))
    variant.mkdir(parents=True, exist_ok=True)
    pq.write_table(kept.replace_schema_metadata(None), variant / "transactions.parquet", compression="snappy",
                   row_group_size=1_000_000)
    write_parquet(empty_contacts(), variant / "contacts.parquet")
    write_parquet(pd.DataFrame({"customer_id": sorted(members)}), variant / "planted_customers.parquet")
    truth = {"month": month, "tiers_from": before[0].strftime("%Y-%m"), "tier": tier, "keep_share": float(keep_share),
             "seed": int(seed), "factor": "orders_per_customer", "customers_in_tier": len(members),
             "customers_who_lost_orders": int(dropped["customer_id"].nunique()),
             "orders_removed": int(len(dropped)), "sales_removed": float(dropped["amount"].sum()),
             "items_removed": float(dropped["quantity"].sum())}
    (variant / TRUTH_FILE).write_text(json.dumps(truth, indent=2) + "\n")
    return store_spec(top, variant)


def read_planted(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The planted change of a variant written by :func:`plant_change` (``None`` for any other store)."""
    path = Path(spec["tables"]["transactions"]["path"]).parent / TRUTH_FILE
    return json.loads(path.read_text()) if path.exists() else None
