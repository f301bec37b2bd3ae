"""The :class:`Store`: validated, cleaned engine tables and what cleaning did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from .money import money_sum

__all__ = ["Store", "NO_PRODUCTS_RULE", "NO_PRODUCTS_NOTE"]


#: the start of the cleaning report's row that says the export has no product column (kept in the cached report)
NO_PRODUCTS_RULE = "no product column in the export"
#: what a product step says when it is skipped for want of products
NO_PRODUCTS_NOTE = "skipped: the export has no product column (map tables.transactions.columns.product_id to run it)"


@dataclass
class Store:
    """A validated, cleaned store: engine tables plus what cleaning did.

    Attributes
    ----------
    con
        The Ibis backend connection (DuckDB by default).
    transactions
        Ibis table of customer line items after cleaning (canonical columns,
        plus ``category``/``brand`` joined from products when available).
    all_lines
        Ibis table of every valid line, anonymous ones included: store totals.
    customers
        The member form as a pandas frame (``None`` when the source has none).
    products
        The catalogue as a pandas frame (``None`` when the source has none).
    contacts
        The campaigns' contact lists as a pandas frame (``None`` when the source has none).
    cleaning_report
        One row per cleaning rule: rows and sales it removed and the action.
    spec
        The data spec the store was loaded from.
    non_products
        Product ids the ``non_products`` rule marked (postage, fees, gift
        cards...): ``product_id, name, lines, sales``. Their lines stay in
        :attr:`transactions`; :attr:`product_lines` leaves them out.
    """

    con: Any
    transactions: Any
    all_lines: Any
    customers: pd.DataFrame | None
    products: pd.DataFrame | None
    contacts: pd.DataFrame | None
    cleaning_report: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)
    non_products: pd.DataFrame | None = None
    #: how the tables match each other: one row per join (matched, of, coverage)
    coverage: pd.DataFrame | None = None
    #: one row per customer, order and day (``ts``, ``ts_last``, ``amount``, ``quantity``, ``lines``): what the
    #: per-customer and per-period queries read in place of :attr:`transactions` (DuckDB; ``None`` elsewhere)
    orders: Any = None

    def __post_init__(self) -> None:
        if self.orders is not None:
            from ..engine import register_orders

            register_orders(self.transactions, self.orders)

    @property
    def currency(self) -> str:
        """The currency sign the data spec names (``currency: ¥``), or empty."""
        return str(self.spec.get("currency", "") or "")

    @property
    def product_lines(self):
        """The customer line items that sell a product: :attr:`transactions` without the non-product lines."""
        t = self.transactions
        if "line_type" in t.columns:  # an order's total or refund without a line of its own names no product
            t = t.filter(t.product_id.notnull())
        if self.non_products is None or self.non_products.empty:
            return t
        return t.filter(~t.product_id.isin(self.non_products["product_id"].tolist()))

    @property
    def has_products(self) -> bool:
        """Whether the line items name products: an export without a product column loads, its product steps skip."""
        rules = self.cleaning_report["rule"].astype(str) if self.cleaning_report is not None else pd.Series([], dtype=str)
        return not rules.str.startswith(NO_PRODUCTS_RULE).any()

    @property
    def has_promo(self) -> bool:
        """Whether line items carry a promotion flag."""
        return "promo" in self.transactions.columns

    @property
    def has_categories(self) -> bool:
        """Whether line items carry a product category."""
        return "category" in self.transactions.columns

    def health(self) -> pd.DataFrame:
        """Data-health figures: rows, customers, date range, anonymous share of sales."""
        t = self.all_lines
        bought = ~t.is_return if "is_return" in t.columns else ibis.literal(True)
        agg = t.aggregate(
            rows=t.count(),
            sales=money_sum(t.amount),
            anon_rows=t.customer_id.isnull().sum(),
            anon_sales=money_sum(t.customer_id.isnull().ifelse(t.amount, 0)),
            customers=bought.ifelse(t.customer_id, ibis.null("string")).nunique(),
            # purchases as a till counts them: distinct (customer, order) pairs; a return order is none
            orders=bought.ifelse(t.customer_id.fill_null("") + "\x1f" + t.order_id, ibis.null("string")).nunique(),
            first=t.ts.min(),
            last=t.ts.max(),
        )
        row = self.con.to_pandas(agg).iloc[0]
        removed = int(self.cleaning_report["rows_removed"].sum())
        items = [
            ("line items kept (all)", int(row["rows"])),
            ("line items removed by cleaning", removed),
            ("orders", int(row["orders"])),
            ("customers", int(row["customers"])),
            ("first transaction", pd.Timestamp(row["first"])),
            ("last transaction", pd.Timestamp(row["last"])),
            ("sales (all lines)", round(float(row["sales"] or 0), 2)),
            ("anonymous line items", int(row["anon_rows"])),
            (
                "anonymous share of sales",
                round(float(row["anon_sales"] or 0) / float(row["sales"]), 4) if row["sales"] else 0.0,
            ),
        ]
        return pd.DataFrame(items, columns=["figure", "value"])


