"""The catalogue seen from the lines: product names from receipt descriptions, and lines that sell no product.

Real exports often have no product table but a description on every line
(UCI Online Retail); the most common description of a product id becomes its
name. And some lines sell nothing: postage, fees, gift cards, carrier bags,
discounts and adjustments. They stay in every sales total, but a bestseller
list, a weekly sample or a bought-together pair must not be "POSTAGE"; the
``non_products`` cleaning rule (ids and description patterns) marks them.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import pandas as pd

from .money import money_sum

__all__: list[str] = []  # used through crm_kit.store.load


def _product_lines(con, lines) -> pd.DataFrame:
    """Per product id: its most common description (when the lines carry one), lines and sales."""
    stats = lines.group_by("product_id").aggregate(lines=lines.count(), sales=money_sum(lines.amount))
    df = con.to_pandas(stats)
    if "description" in lines.columns:
        named = lines.filter(lines.description.notnull() & (lines.description.strip() != ""))
        counts = con.to_pandas(named.group_by(["product_id", "description"]).aggregate(n=named.count()))
        # the most frequent description; ties go to the alphabetically first, so the name is deterministic
        counts = counts.sort_values(["product_id", "n", "description"], ascending=[True, False, True], kind="stable")
        names = counts.drop_duplicates("product_id").set_index("product_id")["description"].str.strip()
        df["description"] = df["product_id"].map(names)
    return df


def name_products(products: pd.DataFrame | None, per_product: pd.DataFrame) -> pd.DataFrame | None:
    """The product table with names from the lines' descriptions where it has none (or a new table of names)."""
    if "description" not in per_product.columns:
        return products
    names = per_product.set_index("product_id")["description"]
    if products is None:
        return pd.DataFrame({"product_id": names.index.astype(str), "name": names.to_numpy()})
    out = products.copy()
    from_lines = out["product_id"].map(names)
    out["name"] = out["name"].fillna(from_lines) if "name" in out.columns else from_lines
    return out


def find_non_products(per_product: pd.DataFrame, products: pd.DataFrame | None,
                      rule: Mapping[str, Any]) -> pd.DataFrame:
    """The product ids the ``non_products`` rule matches, with their name, lines and sales."""
    df = per_product[["product_id", "lines", "sales"]].copy()
    names = products.set_index("product_id")["name"] if products is not None and "name" in products.columns else None
    df["name"] = df["product_id"].map(names) if names is not None else None
    if "description" in per_product.columns:
        df["name"] = df["name"].fillna(per_product["description"])
    ids = [p for p in rule.get("ids", [])]
    patterns = [p for p in rule.get("patterns", [])]
    hit = pd.Series(False, index=df.index)
    if ids:
        whole = re.compile("^(?:" + "|".join(f"(?:{p})" for p in ids) + ")$", re.IGNORECASE)
        hit |= df["product_id"].fillna("").astype(str).str.strip().map(lambda v: bool(whole.match(v)))
    if patterns:
        anywhere = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        hit |= df["name"].fillna("").astype(str).str.strip().map(lambda v: bool(anywhere.search(v)))
    df["name"] = df["name"].fillna("")
    out = df[hit].sort_values("sales", ascending=False, kind="stable").reset_index(drop=True)
    out = out[["product_id", "name", "lines", "sales"]]
    return out.astype({"product_id": str, "name": str, "lines": "int64", "sales": "float64"})
