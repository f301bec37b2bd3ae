"""Purchases as a till counts them: the kit's buyers, purchases, sales and monthly table against pandas.

Random exports with zero-value lines, returns (never purchases, their customers no buyers) written either way (a negative quantity, or a negative amount with a
positive quantity, or a negative quantity with a positive amount), ids ending in odd spaces, months without a sale,
order ids numbered per customer, and exports without order ids (where identical lines of a day are separate items):
the kit's figures must equal a pandas computation of the same definitions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_kit import load_store
from crm_kit.discovery import growth_kpis

#: what an id may carry around it in an export: nothing, an ordinary space, a tab, a no-break or a full-width space
DECORATIONS = ["", " ", "\t", "\u00a0", "\u3000"]
#: a line: (customer, month offset, day, product, quantity, amount, how a return is written, decoration)
LINE = st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 3, 4]), st.integers(1, 28), st.integers(0, 3),
                 st.integers(1, 4), st.sampled_from([0.0, 2.5, 10.0, 99.99]),
                 st.sampled_from(["sale", "sale", "sale", "neg_both", "neg_amount", "neg_quantity"]),
                 st.sampled_from(DECORATIONS))


def _export(lines, *, with_orders: bool, repeat_first: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export as a till writes it, and the truth: trimmed ids, signed amounts, the purchase each line is in."""
    rows, truth = [], []
    per_customer: dict[int, int] = {}
    for cust, month, day, product, qty, amount, kind, deco in lines:
        ts = pd.Timestamp(2025, 1 + month, day, 10)
        cid = f"M{cust:02d}"
        per_customer[cust] = per_customer.get(cust, 0) + 1
        # order ids numbered per customer (1, 2, 3...): the same id names another customer's purchase elsewhere
        order = str(per_customer[cust])
        q, a = qty, amount
        if kind == "neg_both":
            q, a = -qty, -amount
        elif kind == "neg_amount":
            a = -amount
        elif kind == "neg_quantity":
            q = -qty
        returned = kind != "sale" and not (kind == "neg_amount" and amount == 0)
        rows.append({"customer_id": deco + cid + deco[::-1], "order_id": order, "ts": ts, "product_id": f"P{product}",
                     "quantity": q, "amount": a})
        truth.append({"customer_id": cid, "purchase": (cid, order) if with_orders else (cid, ts.date()),
                      "month": ts.to_period("M"), "signed": -abs(a) if returned else a, "returned": returned})
    export, truth = pd.DataFrame(rows), pd.DataFrame(truth)
    if repeat_first and not with_orders:
        # the same item twice on one day: without order ids, two items bought, both kept
        export = pd.concat([export, export.iloc[[0]]], ignore_index=True)
        truth = pd.concat([truth, truth.iloc[[0]]], ignore_index=True)
    return export, truth


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, min_size=3, max_size=30), with_orders=st.booleans(), returns=st.sampled_from(["net", "drop"]),
       repeat_first=st.booleans())
def test_buyers_purchases_sales_and_the_month_table_equal_pandas(lines, with_orders, returns, repeat_first):
    export, truth = _export(lines, with_orders=with_orders, repeat_first=repeat_first)
    kept = truth if returns == "net" else truth[~truth["returned"]]
    if kept.empty:
        return  # every line a return, dropped: the kit refuses an empty store (tested elsewhere)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.parquet"
        (export if with_orders else export.drop(columns="order_id")).to_parquet(path, index=False)
        columns = {} if with_orders else {"order_id": None}
        store = load_store({"tables": {"transactions": {"path": str(path), "columns": columns}},
                            "cleaning": {"returns": returns}, "cache": False})
        health = store.health().set_index("figure")["value"]
        # a return is never a purchase, and a customer with returns only is no buyer; it still nets the sales
        bought = kept[~kept["returned"]]
        assert health["customers"] == bought["customer_id"].nunique()
        assert health["orders"] == bought["purchase"].nunique()
        assert health["sales (all lines)"] == pytest.approx(kept["signed"].sum(), abs=1e-6)
        lost = truth["customer_id"].nunique() - kept["customer_id"].nunique()
        assert int(store.cleaning_report["customers_removed"].max()) == lost
        monthly = growth_kpis(store).set_index("month")
        months = pd.period_range(kept["month"].min(), kept["month"].max(), freq="M")
        expected = kept.groupby("month").agg(sales=("signed", "sum")).join(
            bought.groupby("month").agg(customers=("customer_id", "nunique"), orders=("purchase", "nunique"))
        ).fillna(0).reindex(months, fill_value=0)
        assert list(monthly.index) == list(months)  # a month without a sale is a row of zeros
        np.testing.assert_allclose(monthly["sales"].to_numpy(float), expected["sales"].to_numpy(float), atol=1e-6)
        assert monthly["customers"].tolist() == expected["customers"].tolist()
        assert monthly["orders"].tolist() == expected["orders"].tolist()


def test_a_zero_value_purchase_keeps_its_customer_and_a_rule_that_removes_customers_says_how_many(tmp_path):
    lines = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "order_id": ["1", "2", "3", "4"],
                          "ts": pd.to_datetime(["2025-01-02", "2025-01-09", "2025-01-03", "2025-01-04"]),
                          "product_id": ["p", "p", "free sample", "p"], "quantity": [1, 1, 1, 2],
                          "amount": [10.0, 5.0, 0.0, 8.0]})
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path, index=False)
    spec = {"tables": {"transactions": {"path": str(path)}}, "cache": False}
    health = load_store(spec).health().set_index("figure")["value"]
    assert (health["customers"], health["orders"]) == (3, 4)  # b's free purchase is a visit of a customer
    dropped = load_store({**spec, "cleaning": {"nonpositive_price": "drop"}})
    report = dropped.cleaning_report.set_index("rule")
    row = report.loc["zero price (free lines: purchases with no revenue)"]
    assert (row["rows_removed"], row["customers_removed"]) == (1, 1)
