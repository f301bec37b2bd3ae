"""What changed between two months, and why: revenue tree, segment migration, cohorts, what is unusual.

The engine aggregates the line items (:func:`crm_kit.engine.customer_period_totals`,
:func:`crm_kit.engine.cohort_activity`, :func:`crm_kit.engine.customer_summary`);
everything here works on those customer-level or smaller tables in pandas.

Revenue tree
    sales = customers × orders per customer × order value, and order value =
    items per order × price per item. A change of sales between two periods is
    split between the factors with the additive **log-mean Divisia index**
    (LMDI-I, Ang 2005): the contribution of factor :math:`x` is

    .. math:: \\Delta_x = L(S_1, S_0)\\,\\ln(x_1 / x_0),\\qquad L(a, b) = \\frac{a - b}{\\ln a - \\ln b},\\ L(a, a) = a,

    and because the logs of the factor ratios add up to :math:`\\ln(S_1/S_0)`
    the contributions add up to :math:`S_1 - S_0` exactly — no residual, and
    the order the factors are listed in does not matter. The contribution of
    order value is exactly the sum of its two children's. A part that is empty
    in one period (a segment without customers then) has its whole change
    put on *customers*: the limit of LMDI as the empty side goes to zero
    (Ang & Liu 2007).

Segment migration
    each customer's value tier (ABC by share of sales, :class:`~crm_kit.segmentation.ValueTiers`)
    and RFM segment (:class:`~crm_kit.segmentation.RFMScorer`) last month and this
    month, both on last month's scale, and the action lists that follow.

Cohorts
    acquisition month × months since the first purchase: customers still
    buying and their sales (the first month of the data is a cohort of
    customers acquired *by* then, not *in* it).

What is unusual
    each headline change of the month against the spread of the same
    change over the months before it (a z-score on up to twelve month-on-month
    changes) and beside the same month a year earlier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .artifacts import MonthlyChanges
from .errors import DataError, ParameterError
from .segmentation import RFMScorer, ValueTiers

__all__ = [
    "MonthComparison",
    "compare_months",
    "FACTORS",
    "TREE",
    "lmdi",
    "factor_table",
    "revenue_tree",
    "contribution_table",
    "label_customers",
    "migration_table",
    "migration_matrix",
    "migration_flows",
    "action_lists",
    "cohort_table",
    "cohort_comparison",
    "monthly_history",
    "unusual_changes",
    "change_summary",
]

#: the leaves of the revenue tree, in the order of the identity sales = customers × orders/customer × items/order × price/item
FACTORS = ("customers", "orders_per_customer", "items_per_order", "price_per_item")
#: node -> parent of the revenue tree
TREE = {"sales": None, "customers": "sales", "orders_per_customer": "sales", "order_value": "sales",
        "items_per_order": "order_value", "price_per_item": "order_value"}
NO_PURCHASE = "no purchase"
#: the base tier of customers who did not buy last month: first purchase this month, or back after a pause
NEW_THIS_MONTH, REACTIVATED = "new this month", "reactivated"
NOT_YET = "not yet a customer"


# ------------------------------------------------------------------ the decomposition


def _logmean(a: float, b: float) -> float:
    """The logarithmic mean L(a, b) = (a - b) / (ln a - ln b), L(a, a) = a (positive a, b)."""
    if a == b:
        return float(a)
    return float((a - b) / (np.log(a) - np.log(b)))


def lmdi(before: Mapping[str, float], after: Mapping[str, float], *, factors: Sequence[str]) -> dict[str, float]:
    """Additive LMDI-I contributions of ``factors`` to the change of their product.

    Parameters
    ----------
    before, after
        Factor values in the two periods (each positive, or every one zero
        when the part is empty in that period).
    factors
        The factors whose product is the total; the first takes the whole
        change of a part that is empty in one period.

    Returns
    -------
    dict
        Factor -> contribution; they add up to ``prod(after) - prod(before)``.

    Examples
    --------
    >>> c = lmdi({"n": 10, "v": 5.0}, {"n": 12, "v": 5.0}, factors=["n", "v"])
    >>> round(c["n"], 9), c["v"]
    (10.0, 0.0)
    """
    x0 = np.array([float(before[f]) for f in factors])
    x1 = np.array([float(after[f]) for f in factors])
    s0, s1 = float(np.prod(x0)), float(np.prod(x1))
    out = dict.fromkeys(factors, 0.0)
    if s0 <= 0 or s1 <= 0:
        # a part empty in one period: its whole change is its customers' (Ang & Liu 2007, the zero-value limit)
        out[factors[0]] = s1 - s0
        return out
    weight = _logmean(s1, s0)
    for f, a, b in zip(factors, x0, x1):
        out[f] = weight * float(np.log(b / a))
    return out


def factor_table(totals: pd.DataFrame) -> pd.DataFrame:
    """The tree's factors from totals: ``customers``, ``orders``, ``items``, ``sales`` -> the ratios beside them.

    Adds ``orders_per_customer``, ``order_value`` (sales / orders),
    ``items_per_order`` and ``price_per_item`` (sales / items); an empty row
    has zeros.
    """
    _need(totals, ["customers", "orders", "items", "sales"], "the revenue tree")
    out = totals.copy()
    c, o, i, s = (out[k].astype(float) for k in ("customers", "orders", "items", "sales"))
    out["orders_per_customer"] = (o / c.where(c > 0)).fillna(0.0)
    out["order_value"] = (s / o.where(o > 0)).fillna(0.0)
    out["items_per_order"] = (i / o.where(o > 0)).fillna(0.0)
    out["price_per_item"] = (s / i.where(i > 0)).fillna(0.0)
    return out


def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{what} needs column(s) {missing}; compute them with crm_kit.engine.customer_period_totals")


def _totals(rows: pd.DataFrame) -> dict[str, float]:
    return {"customers": float(rows["customer_id"].nunique()), "orders": float(rows["orders"].sum()),
            "items": float(rows["items"].sum()), "sales": float(rows["sales"].sum())}


def _group_totals(rows: pd.DataFrame, by: str) -> dict[Any, dict[str, float]]:
    """:func:`_totals` of each value of ``by``, in one pass."""
    g = rows.groupby(by, dropna=True).agg(customers=("customer_id", "nunique"), orders=("orders", "sum"),
                                          items=("items", "sum"), sales=("sales", "sum"))
    return {k: {c: float(v) for c, v in row.items()} for k, row in g.to_dict("index").items()}


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


def _factors(t: dict[str, float]) -> dict[str, float]:
    """:func:`factor_table` for one row of totals, without building a frame."""
    return {**t, "orders_per_customer": _ratio(t["orders"], t["customers"]),
            "order_value": _ratio(t["sales"], t["orders"]), "items_per_order": _ratio(t["items"], t["orders"]),
            "price_per_item": _ratio(t["sales"], t["items"])}


def _tree_rows(segment: str, t0: dict[str, float], t1: dict[str, float], *, items: bool) -> list[dict[str, Any]]:
    f0, f1 = _factors(t0), _factors(t1)
    leaves = list(FACTORS) if items else ["customers", "orders_per_customer", "order_value"]
    contribution = lmdi(f0, f1, factors=leaves)
    if items:
        contribution["order_value"] = contribution["items_per_order"] + contribution["price_per_item"]
    contribution["sales"] = t1["sales"] - t0["sales"]
    rows = []
    for node, parent in TREE.items():
        if node not in contribution:
            continue
        before, after = float(f0[node]), float(f1[node])
        rows.append({"segment": segment, "node": node, "parent": parent, "before": before, "after": after,
                     "change": after - before, "relative_change": after / before - 1 if before else np.nan,
                     "contribution": contribution[node]})
    return rows


def revenue_tree(period_totals: pd.DataFrame, *, before: str, after: str, by: str | None = None,
                 items: bool = True) -> pd.DataFrame:
    """The revenue tree: each factor's contribution to the change of sales between two periods (LMDI-I).

    Parameters
    ----------
    period_totals
        One row per customer and period: ``customer_id``, ``period``,
        ``sales``, ``orders``, ``items`` (:func:`crm_kit.engine.customer_period_totals`),
        and the ``by`` column when given.
    before, after
        The names of the two periods in ``period``.
    by
        A column labelling each row (customer and period) with a segment:
        every segment gets its own tree beside the store's (``all``).
    items
        Split order value into items per order × price per item (needs
        meaningful quantities); ``False`` stops the tree at order value.

    Returns
    -------
    pandas.DataFrame
        ``segment``, ``node`` (sales, customers, orders_per_customer,
        order_value, items_per_order, price_per_item), ``parent``, ``before``,
        ``after``, ``change``, ``relative_change`` and ``contribution``. Per
        segment the leaves' contributions add up to the change of sales
        exactly, and the segments' sales changes add up to the store's.
    """
    _need(period_totals, ["customer_id", "period", "sales", "orders", "items"], "the revenue tree")
    known = set(period_totals["period"].unique())
    for name in (before, after):
        if name not in known and not period_totals.empty:
            raise ParameterError(f"period '{name}' is not in the table (it has {sorted(known)}); "
                                 "name a period passed to customer_period_totals")
    p0 = period_totals[period_totals["period"] == before]
    p1 = period_totals[period_totals["period"] == after]
    rows = _tree_rows("all", _totals(p0), _totals(p1), items=items)
    if by is not None:
        _need(period_totals, [by], "the revenue tree by segment")
        empty = {"customers": 0.0, "orders": 0.0, "items": 0.0, "sales": 0.0}
        g0, g1 = _group_totals(p0, by), _group_totals(p1, by)
        for segment in sorted(set(g0) | set(g1), key=str):
            rows += _tree_rows(str(segment), g0.get(segment, empty), g1.get(segment, empty), items=items)
    return pd.DataFrame(rows)


def contribution_table(tree: pd.DataFrame) -> pd.DataFrame:
    """One row per segment: sales last month and this month, the change and each factor's share of it (money).

    Columns ``sales_before``, ``sales_after``, ``sales_change`` and
    ``sales_from_<factor>`` for the first-level factors and the two parts of
    order value; the ``sales_from_`` columns of the leaves add up to ``sales_change``.
    """
    _need(tree, ["segment", "node", "before", "after", "contribution"], "the contribution table")
    sales = tree[tree["node"] == "sales"].set_index("segment")
    out = pd.DataFrame({"sales_before": sales["before"], "sales_after": sales["after"],
                        "sales_change": sales["contribution"]})
    wide = tree[tree["node"] != "sales"].pivot(index="segment", columns="node", values="contribution")
    for node in TREE:
        if node in wide.columns:
            out[f"sales_from_{node}"] = wide[node]
    order = ["all"] + [s for s in out.index if s != "all"]
    out = out.reindex(order)
    out.index.name = "segment"
    return out.reset_index()


# ------------------------------------------------------------------ labels and migration


def label_customers(period_totals: pd.DataFrame, *, before: str, after: str,
                    tier_shares: Sequence[float] = (0.5, 0.3, 0.15),
                    tier_labels: Sequence[str] = ("A", "B", "C", "D")) -> pd.DataFrame:
    """The table with two labels per row: ``customer_type`` and ``base_tier``.

    ``customer_type`` is ``new`` when the customer's first purchase falls in
    that row's period, else ``returning``. ``base_tier`` is the customer's
    value tier in the ``before`` period (ABC by share of that period's
    sales); customers who did not buy then are ``new this month`` (first
    purchase in ``after``) or ``reactivated``. Rows of other periods are kept unlabelled
    by tier.
    """
    _need(period_totals, ["customer_id", "period", "sales", "first_purchase", "start", "end"], "customer labels")
    out = period_totals.copy()
    out["customer_type"] = np.where(_first_in_period(out), "new", "returning")
    p0 = out[out["period"] == before]
    if p0.empty:
        raise DataError(f"no purchases in period '{before}': there is no last month to compare with")
    tiers = ValueTiers(shares=tier_shares, labels=tier_labels).fit_transform(p0[["customer_id", "sales"]])
    tier_of = tiers.set_index("customer_id")["tier"]
    base = out["customer_id"].map(tier_of)
    fresh = np.where(out["customer_type"] == "new", NEW_THIS_MONTH, REACTIVATED)
    out["base_tier"] = base.where(base.notna(), pd.Series(fresh, index=out.index))
    out.loc[~out["period"].isin([before, after]), "base_tier"] = None
    return out


def _first_in_period(df: pd.DataFrame) -> np.ndarray:
    """Whether each row's customer first bought in that row's period ``[start, end)``."""
    return ((df["first_purchase"] >= df["start"]) & (df["first_purchase"] < df["end"])).to_numpy()


def migration_table(period_totals: pd.DataFrame, summary_before: pd.DataFrame, summary_after: pd.DataFrame, *,
                    before: str, after: str, tier_shares: Sequence[float] = (0.5, 0.3, 0.15),
                    tier_labels: Sequence[str] = ("A", "B", "C", "D"), churn_days: int = 90) -> pd.DataFrame:
    """Every customer's value tier and RFM segment last month and this month, on last month's scale.

    Parameters
    ----------
    period_totals
        :func:`crm_kit.engine.customer_period_totals` with both periods.
    summary_before, summary_after
        :func:`crm_kit.engine.customer_summary` at the end of each period
        (all purchases before it): the RFM scorer is fitted on the first and
        scores the second with the same cut points.
    before, after
        The period names.
    tier_shares, tier_labels
        The value tiers (:class:`~crm_kit.segmentation.ValueTiers`), learned on
        last month's sales; this month's sales are placed by its thresholds.
    churn_days
        The recency (days) from which a customer counts as lost.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``tier_before``, ``tier_after`` (``no purchase``
        when the customer did not buy in that month), ``segment_before``,
        ``segment_after`` (``not yet a customer`` before the first purchase),
        ``sales_before``, ``sales_after``, ``orders_before``, ``orders_after``,
        ``first_purchase``, ``new_before`` (first purchase last month),
        ``recency_before``, ``recency_after``.
    """
    _need(summary_before, ["customer_id", "recency_days", "frequency", "sales"], "segment migration")
    _need(summary_after, ["customer_id", "recency_days", "frequency", "sales"], "segment migration")
    p0 = period_totals[period_totals["period"] == before].set_index("customer_id")
    p1 = period_totals[period_totals["period"] == after].set_index("customer_id")
    if p0.empty:
        raise DataError(f"no purchases in period '{before}': there is no last month to compare with")
    tiers = ValueTiers(shares=tier_shares, labels=tier_labels)
    tier0 = tiers.fit_transform(p0.reset_index()[["customer_id", "sales"]]).set_index("customer_id")["tier"]
    tier1 = tiers.transform(p1.reset_index()[["customer_id", "sales"]]).set_index("customer_id")["tier"]
    scorer = RFMScorer(churn_days=churn_days).fit(summary_before)
    seg0 = scorer.transform(summary_before).set_index(summary_before["customer_id"].to_numpy())["rfm_segment"]
    seg1 = scorer.transform(summary_after).set_index(summary_after["customer_id"].to_numpy())["rfm_segment"]
    ids = pd.Index(sorted(set(summary_after["customer_id"]) | set(p0.index) | set(p1.index)), name="customer_id")
    out = pd.DataFrame(index=ids)
    out["tier_before"] = tier0.reindex(ids).fillna(NO_PURCHASE)
    out["tier_after"] = tier1.reindex(ids).fillna(NO_PURCHASE)
    out["segment_before"] = seg0.reindex(ids).fillna(NOT_YET)
    out["segment_after"] = seg1.reindex(ids).fillna(NOT_YET)
    out["sales_before"] = p0["sales"].reindex(ids).fillna(0.0)
    out["sales_after"] = p1["sales"].reindex(ids).fillna(0.0)
    out["orders_before"] = p0["orders"].reindex(ids).fillna(0).astype("int64")
    out["orders_after"] = p1["orders"].reindex(ids).fillna(0).astype("int64")
    first = pd.concat([summary_after.set_index("customer_id")["first_purchase"],
                       period_totals.groupby("customer_id")["first_purchase"].min()])
    out["first_purchase"] = pd.to_datetime(first.groupby(level=0).min().reindex(ids))
    _need(period_totals, ["first_purchase", "start", "end"], "segment migration")
    new_before = pd.Series(_first_in_period(p0.reset_index()), index=p0.index)
    out["new_before"] = new_before.reindex(ids, fill_value=False).astype(bool)
    out["recency_before"] = summary_before.set_index("customer_id")["recency_days"].reindex(ids)
    out["recency_after"] = summary_after.set_index("customer_id")["recency_days"].reindex(ids)
    return out.reset_index()


def _order(labels: Sequence[str], first: Sequence[str]) -> list[str]:
    rest = sorted(set(labels) - set(first), key=str)
    ends = [x for x in (NO_PURCHASE, NOT_YET) if x in rest]
    return [x for x in first if x in set(labels)] + [x for x in rest if x not in ends] + ends


def migration_matrix(moves: pd.DataFrame, *, kind: str = "tier", value: str = "customers",
                     order: Sequence[str] = ("A", "B", "C", "D")) -> pd.DataFrame:
    """The migration matrix: rows = last month's tier (or segment), columns = this month's.

    Parameters
    ----------
    moves
        :func:`migration_table`.
    kind
        ``tier`` or ``segment``.
    value
        ``customers`` (counts), ``sales_after`` (this month's sales of each
        cell) or ``sales_before``.
    order
        Labels to put first (the rest follow sorted, "no purchase" last).

    Examples
    --------
    Five customers' tiers last month and this month (:func:`migration_table` gives these columns per customer):
    one ``A`` stayed, one fell to ``B``; of three ``B`` one rose, one stayed, one did not buy:

    >>> import pandas as pd
    >>> from crm_kit import changes
    >>> moves = pd.DataFrame({
    ...     "tier_before": ["A", "A", "B", "B", "B"],
    ...     "tier_after": ["A", "B", "A", "B", "no purchase"],
    ...     "sales_before": [300.0, 250.0, 90.0, 80.0, 70.0],
    ...     "sales_after": [320.0, 60.0, 280.0, 75.0, 0.0]})
    >>> changes.migration_matrix(moves)
    this month (tier)  A  B  no purchase
    last month (tier)
    A                  1  1            0
    B                  1  1            1
    >>> changes.migration_matrix(moves, value="sales_after")
    this month (tier)      A     B  no purchase
    last month (tier)
    A                  320.0  60.0          0.0
    B                  280.0  75.0          0.0
    """
    if kind not in ("tier", "segment"):
        raise ParameterError(f"kind={kind!r}: give 'tier' or 'segment'")
    if value not in ("customers", "sales_after", "sales_before"):
        raise ParameterError(f"value={value!r}: give 'customers', 'sales_after' or 'sales_before'")
    rows, cols = f"{kind}_before", f"{kind}_after"
    _need(moves, [rows, cols, "sales_after", "sales_before"], "the migration matrix")
    if value == "customers":
        m = pd.crosstab(moves[rows], moves[cols])
    else:
        m = moves.pivot_table(index=rows, columns=cols, values=value, aggfunc="sum", fill_value=0.0)
    m = m.reindex(index=_order(m.index, order), columns=_order(m.columns, order), fill_value=0)
    m.index.name, m.columns.name = f"last month ({kind})", f"this month ({kind})"
    return m


def migration_flows(matrix: pd.DataFrame) -> tuple[list[tuple[int, str, float]], list[tuple[str, str, float]]]:
    """Nodes and links of a migration matrix for :func:`crm_kit.plotting.plot_flow` (names get "last"/"this" month).

    Parameters
    ----------
    matrix
        :func:`migration_matrix`: rows last month, columns this month.

    Returns
    -------
    tuple of (list, list)
        The nodes ``(column, name, size)`` — column 0 last month, 1 this month, each sized by its row's or
        column's total — and the links ``(from, to, size)`` of every cell above zero.

    Examples
    --------
    Two ``A`` customers and three ``B`` last month; this month two ``A``, two ``B`` and one without a purchase:

    >>> import pandas as pd
    >>> from crm_kit import changes
    >>> matrix = pd.DataFrame([[1, 1, 0], [1, 1, 1]], index=["A", "B"], columns=["A", "B", "no purchase"])
    >>> nodes, links = changes.migration_flows(matrix)
    >>> nodes
    [(0, 'A (last month)', 2.0), (0, 'B (last month)', 3.0), (1, 'A (this month)', 2.0), (1, 'B (this month)', 2.0), (1, 'no purchase (this month)', 1.0)]
    >>> links[-1]  # the empty cell (A to no purchase) has no link
    ('B (last month)', 'no purchase (this month)', 1.0)
    >>> len(links)
    5
    """
    nodes = [(0, f"{r} (last month)", float(matrix.loc[r].sum())) for r in matrix.index]
    nodes += [(1, f"{c} (this month)", float(matrix[c].sum())) for c in matrix.columns]
    links = [(f"{r} (last month)", f"{c} (this month)", float(matrix.loc[r, c]))
             for r in matrix.index for c in matrix.columns if matrix.loc[r, c] > 0]
    return nodes, links


def action_lists(moves: pd.DataFrame, *, top_tiers: Sequence[str] = ("A", "B"), churn_days: int = 90,
                 regular_orders: int = 1) -> dict[str, pd.DataFrame]:
    """The lists a CRM team acts on, with customer ids and segment labels only (no personal fields).

    ``fell_from_top_tiers``
        in a top tier last month, in a lower tier (or no purchase) this month.
    ``new_became_regulars``
        first purchase last month and at least ``regular_orders`` orders this month.
    ``lost``
        bought within ``churn_days`` at the end of last month, not at the end of this one.
    """
    _need(moves, ["customer_id", "tier_before", "tier_after", "new_before", "orders_after", "recency_before",
                  "recency_after"], "the action lists")
    labels = list(dict.fromkeys(list(top_tiers)))
    rank = {t: i for i, t in enumerate(["A", "B", "C", "D"])}
    before_rank = moves["tier_before"].map(rank)
    after_rank = moves["tier_after"].map(rank).fillna(len(rank))
    fell = moves["tier_before"].isin(labels) & (after_rank > before_rank)
    regulars = moves["new_before"].astype(bool) & (moves["orders_after"] >= regular_orders)
    lost = (moves["recency_before"] < churn_days) & (moves["recency_after"] >= churn_days)
    keep = ["customer_id", "tier_before", "tier_after", "segment_before", "segment_after", "sales_before", "sales_after"]
    keep = [c for c in keep if c in moves.columns]
    return {"fell_from_top_tiers": moves.loc[fell, keep].reset_index(drop=True),
            "new_became_regulars": moves.loc[regulars, keep].reset_index(drop=True),
            "lost": moves.loc[lost, keep].reset_index(drop=True)}


# ------------------------------------------------------------------ cohorts


def cohort_table(activity: pd.DataFrame, *, value: str = "customers", share: bool = False,
                 through: Any = None) -> pd.DataFrame:
    """Acquisition month × months since the first purchase (0 = the first month).

    Parameters
    ----------
    activity
        :func:`crm_kit.engine.cohort_activity`.
    value
        ``customers`` (still buying) or ``sales``.
    share
        Divide each row by its month-0 value (the retention curve for customers).
    through
        The last calendar month to count (``'YYYY-MM'``); default all.
    """
    _need(activity, ["cohort", "month", value], "the cohort table")
    df = activity
    if through is not None:
        df = df[df["month"] <= pd.Period(str(through), "M")]
    age = (df["month"] - df["cohort"]).map(lambda offset: offset.n)
    table = df.assign(age=age.astype("int64")).pivot_table(index="cohort", columns="age", values=value,
                                                           aggfunc="sum")
    table.columns.name = "months since first purchase"
    table.index.name = "acquisition month"
    if share:
        table = table.div(table[0], axis=0)
    return table


def cohort_comparison(activity: pd.DataFrame, *, month: Any, cohorts: int = 6, ages: int = 3) -> pd.DataFrame:
    """The newest cohorts beside the same cohorts a year earlier: share still buying at each age.

    For each of the ``cohorts`` acquisition months up to ``month``, the share
    of its customers who bought again 1..``ages`` months after the first
    purchase (where the months have passed) beside the cohort twelve months
    earlier at the same age. A cohort in the data's first month gathers
    everybody who bought then, new or not: it is marked and not compared.
    """
    month = pd.Period(str(month), "M")
    retention = cohort_table(activity, share=True, through=month)
    first = activity["cohort"].min()
    rows = []
    for k in range(cohorts - 1, -1, -1):
        cohort = month - k
        earlier = cohort - 12
        for age in range(1, ages + 1):
            if cohort + age > month:
                continue
            now = retention.at[cohort, age] if cohort in retention.index and age in retention.columns else np.nan
            then = retention.at[earlier, age] if earlier in retention.index and age in retention.columns \
                and earlier != first else np.nan
            rows.append({"cohort": str(cohort), "age_months": age, "share_buying": now,
                         "year_earlier_cohort": str(earlier), "year_earlier_share": then,
                         "share_difference": now - then})
    out = pd.DataFrame(rows, columns=["cohort", "age_months", "share_buying", "year_earlier_cohort",
                                      "year_earlier_share", "share_difference"])
    out.attrs["note"] = ("" if out["year_earlier_share"].notna().any() else
                         "The data does not reach a year before these cohorts (or only its first month, whose "
                         "cohort mixes new and earlier customers): no year-earlier comparison.")
    return out


# ------------------------------------------------------------------ history and what is unusual

#: the headline figures judged against their own history
HEADLINES = ("sales", "customers", "new_customers", "returning_customers", "orders_per_customer", "order_value",
             "items_per_order", "price_per_item")


def monthly_history(activity: pd.DataFrame) -> pd.DataFrame:
    """The month-by-month headline figures, from the cohort activity (a calendar without gaps)."""
    _need(activity, ["cohort", "month", "customers", "orders", "items", "sales"], "the monthly history")
    new = activity[activity["month"] == activity["cohort"]].groupby("month")["customers"].sum()
    totals = activity.groupby("month")[["customers", "orders", "items", "sales"]].sum()
    calendar = pd.period_range(totals.index.min(), totals.index.max(), freq="M", name="month")
    totals = totals.reindex(calendar, fill_value=0)
    totals["new_customers"] = new.reindex(calendar).fillna(0).astype("int64")
    totals["returning_customers"] = totals["customers"] - totals["new_customers"]
    # in the data's first month everybody looks new: who was new then is unknown
    totals[["new_customers", "returning_customers"]] = totals[["new_customers", "returning_customers"]].astype(float)
    totals.loc[calendar[0], ["new_customers", "returning_customers"]] = np.nan
    return factor_table(totals).reset_index()


def unusual_changes(history: pd.DataFrame, *, month: Any, window: int = 12, threshold: float = 2.0,
                    min_history: int = 6) -> pd.DataFrame:
    """Each headline's month-on-month change against the spread of its last ``window`` changes.

    The change is the relative change on the month before. Its z-score is
    (change − mean of the earlier changes) / their standard deviation; a
    change with :math:`|z| >` ``threshold`` is unusual. The same month's
    change a year earlier stands beside it (a season repeats). Fewer than
    ``min_history`` earlier changes: not judged.

    Returns
    -------
    pandas.DataFrame
        ``figure``, ``previous``, ``current``, ``growth`` (this month's
        change), ``growth_mean``, ``growth_sd`` and ``months_judged`` (of the
        earlier changes), ``z``, ``growth_low``, ``growth_high`` (the usual
        range: mean ± threshold × sd), ``growth_last_year`` (the same month's
        change a year earlier) and
        ``verdict`` (``unusual``, ``usual`` or ``too little history``);
        unusual rows first, by the size of z.
    """
    if threshold <= 0:
        raise ParameterError(f"threshold={threshold!r}: give a positive number of standard deviations")
    month = pd.Period(str(month), "M")
    h = history.set_index("month")
    if month not in h.index or month - 1 not in h.index:
        raise DataError(f"the history has no {month} or no month before it; pick a month inside the data")
    rows = []
    for figure in HEADLINES:
        s = h[figure].astype(float)
        change = s / s.shift(1).where(s.shift(1) > 0) - 1
        earlier = change.loc[:month - 1].dropna().tail(window)
        now = change.get(month, np.nan)
        mean, sd = (earlier.mean(), earlier.std(ddof=1)) if len(earlier) >= 2 else (np.nan, np.nan)
        if np.isfinite(sd) and sd > 0:
            z = (now - mean) / sd
        elif np.isfinite(sd) and np.isfinite(now):  # a figure that never moved: any move is unusual
            z = 0.0 if abs(now - mean) < 1e-12 else np.copysign(np.inf, now - mean)
        else:
            z = np.nan
        if len(earlier) < min_history or np.isnan(z):
            verdict = "too little history"
        else:
            verdict = "unusual" if abs(z) > threshold else "usual"
        rows.append({"figure": figure, "previous": float(s.get(month - 1)), "current": float(s.get(month)),
                     "growth": now, "growth_mean": mean, "growth_sd": sd, "months_judged": len(earlier), "z": z,
                     "growth_low": mean - threshold * sd, "growth_high": mean + threshold * sd,
                     "growth_last_year": change.get(month - 12, np.nan), "verdict": verdict})
    out = pd.DataFrame(rows)
    out["_key"] = (out["verdict"] != "unusual").astype(int) * 1e9 - out["z"].abs().fillna(0)
    return out.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)


_NAMES = {"sales": "sales", "customers": "customers", "new_customers": "new customers",
          "returning_customers": "returning customers", "orders_per_customer": "orders per customer",
          "order_value": "order value", "items_per_order": "items per order", "price_per_item": "price per item"}


def change_summary(unusual: pd.DataFrame, tree: pd.DataFrame, *, month: Any, previous: Any) -> list[str]:
    """The report's summary, in sentences: the unusual changes first, then what drove sales.

    Says plainly when nothing is unusual.
    """
    lines = []
    odd = unusual[unusual["verdict"] == "unusual"]
    for row in odd.itertuples():
        lines.append(f"Unusual: {_NAMES[row.figure]} {row.growth:+.1%} in {month} against {previous} (z = {row.z:+.1f}; the usual "
                     f"range of the last {row.months_judged} monthly changes: {row.growth_low:+.1%} to "
                     f"{row.growth_high:+.1%}).")
    judged = unusual[unusual["verdict"] != "too little history"]
    if odd.empty:
        lines.append(f"Nothing is unusual in {month}: every headline change lies within its usual range "
                     f"({len(judged)} of {len(unusual)} figures had the history to judge)." if len(judged) else
                     f"Too little history to judge {month}'s changes (fewer months than the check needs).")
    overall = tree[tree["segment"] == "all"].set_index("node")
    change = overall.at["sales", "contribution"]
    first = overall[overall["parent"] == "sales"]["contribution"]
    first = first.reindex(first.abs().sort_values(ascending=False).index)
    parts = ", ".join(f"{_NAMES[node]} {value:+,.0f}" for node, value in first.items())
    lines.append(f"Sales {'rose' if change >= 0 else 'fell'} by {abs(change):,.0f} in {month} against {previous} "
                 f"({overall.at['sales', 'relative_change']:+.1%}): {parts} (largest first; they add up to the change).")
    return lines


# ------------------------------------------------------------------ the whole comparison, one call


@dataclass
class MonthComparison:
    """Everything the monthly report's "what changed" section shows (:func:`compare_months`)."""

    month: str
    previous: str
    year_earlier: str | None
    tree: pd.DataFrame
    tree_by_tier: pd.DataFrame
    tree_by_type: pd.DataFrame
    tree_year_earlier: pd.DataFrame | None
    moves: pd.DataFrame
    lists: dict[str, pd.DataFrame]
    activity: pd.DataFrame
    cohorts: pd.DataFrame
    cohort_comparison: pd.DataFrame
    history: pd.DataFrame
    unusual: pd.DataFrame
    summary: list[str]
    notes: list[str] = field(default_factory=list)

    def matrix(self, *, kind: str = "tier", value: str = "customers") -> pd.DataFrame:
        """The migration matrix of ``kind`` (tier or segment) in ``value`` (customers, sales_after, sales_before)."""
        return migration_matrix(self.moves, kind=kind, value=value)

    def list_sizes(self) -> pd.Series:
        """Customers on each action list."""
        return pd.Series({name: len(table) for name, table in self.lists.items()}, name="customers", dtype="int64")

    def artifact(self) -> MonthlyChanges:
        """The hand-off that goes to the run folder and ``metrics.json``."""
        def long(m: pd.DataFrame) -> list[dict[str, Any]]:
            stacked = m.stack()
            return [{"last_month": str(a), "this_month": str(b), "value": float(v)} for (a, b), v in stacked.items()]

        return MonthlyChanges(
            month=self.month, previous_month=self.previous, year_earlier_month=self.year_earlier,
            summary=self.summary, notes=self.notes, unusual=self.unusual, tree=self.tree,
            tree_by_tier=self.tree_by_tier, tree_by_type=self.tree_by_type,
            tree_year_earlier=self.tree_year_earlier if self.tree_year_earlier is not None else [],
            migration_customers=long(self.matrix()), migration_sales=long(self.matrix(value="sales_after")),
            action_list_sizes=self.list_sizes().to_dict(),
            cohort_comparison=self.cohort_comparison,
            migration=self.moves[["customer_id", "tier_before", "tier_after", "segment_before", "segment_after"]],
        )


def compare_months(transactions, *, month: Any, tier_shares: Sequence[float] = (0.5, 0.3, 0.15),
                   churn_days: int = 90, window: int = 12, threshold: float = 2.0, cohorts: int = 6,
                   items: bool = True) -> MonthComparison:
    """This month against the month before (and the same month a year earlier): tree, migration, cohorts, unusual.

    Four engine queries (customer totals per month, two customer summaries,
    cohort activity); the rest is customer-level pandas.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items (``store.transactions``).
    month
        ``'YYYY-MM'``: the month of the report; it is compared with the month before.
    tier_shares
        Value-tier shares (A, B, C; D the rest), learned on the month before.
    churn_days
        Recency from which a customer counts as lost.
    window, threshold
        What is unusual: a change more than ``threshold`` standard deviations
        from the mean of the last ``window`` month-on-month changes.
    cohorts
        The newest cohorts compared with the same cohorts a year earlier.
    items
        Split order value into items per order × price per item.

    Examples
    --------
    Three customers spent 60 in August and three spent 100 in September, in as many orders: the whole rise is
    the larger order value (20 → 33.33 per order):

    >>> import ibis
    >>> import pandas as pd
    >>> from crm_kit import changes
    >>> lines = ibis.memtable(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c", "d"],
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
    ...     "ts": pd.to_datetime(["2025-08-03", "2025-09-20", "2025-08-05",
    ...                           "2025-08-30", "2025-09-10", "2025-09-12"]),
    ...     "quantity": [1, 2, 1, 1, 3, 1],
    ...     "amount": [30.0, 50.0, 20.0, 10.0, 45.0, 5.0]}))
    >>> report = changes.compare_months(lines, month="2025-09")
    >>> report.previous
    '2025-08'
    >>> print(report.summary[1])  # doctest: +NORMALIZE_WHITESPACE
    Sales rose by 40 in 2025-09 against 2025-08 (+66.7%): order value +40, customers +0, orders per customer +0
    (largest first; they add up to the change).
    """
    from .engine import cohort_activity, customer_period_totals, customer_summary, month_bounds

    current = pd.Period(str(month), "M")
    previous = current - 1
    activity = cohort_activity(transactions)
    missing = [str(m) for m in (previous, current) if m not in set(activity["month"])]
    if missing:
        raise DataError(f"the data has no purchases in {' or '.join(missing)}: comparing {current} with {previous} "
                        "needs both; pick a month whose month before is inside the data too")
    year = current - 12
    notes = []
    first = activity["month"].min()
    periods = {"previous": str(previous), "current": str(current)}
    if year >= first:
        periods["year_earlier"] = str(year)
        if year == first:
            notes.append(f"{year} is the data's first month: its 'new' customers include everybody who bought "
                         "then, so the year-on-year new/returning split is not meaningful.")
    else:
        notes.append(f"The data begins in {first}: no year-earlier month to compare {current} with.")
    if previous == first:
        notes.append(f"{previous} is the data's first month: its 'new' customers include everybody who bought then.")
    totals = customer_period_totals(transactions, periods=periods)
    labelled = label_customers(totals, before="previous", after="current", tier_shares=tier_shares)
    tree = revenue_tree(labelled, before="previous", after="current", items=items)
    by_tier = revenue_tree(labelled, before="previous", after="current", by="base_tier", items=items)
    by_type = revenue_tree(labelled, before="previous", after="current", by="customer_type", items=items)
    tree_year = revenue_tree(labelled, before="year_earlier", after="current", items=items) \
        if "year_earlier" in periods else None
    summary_before = customer_summary(transactions, as_of=month_bounds(str(previous))[1])
    summary_after = customer_summary(transactions, as_of=month_bounds(str(current))[1])
    moves = migration_table(totals, summary_before, summary_after, before="previous", after="current",
                            tier_shares=tier_shares, churn_days=churn_days)
    lists = action_lists(moves, churn_days=churn_days)
    history = monthly_history(activity)
    unusual = unusual_changes(history, month=current, window=window, threshold=threshold)
    summary = change_summary(unusual, tree, month=current, previous=previous)
    return MonthComparison(
        month=str(current), previous=str(previous), year_earlier=periods.get("year_earlier"), tree=tree,
        tree_by_tier=by_tier, tree_by_type=by_type, tree_year_earlier=tree_year, moves=moves, lists=lists,
        activity=activity, cohorts=cohort_table(activity, share=True, through=current),
        cohort_comparison=cohort_comparison(activity, month=current, cohorts=cohorts), history=history,
        unusual=unusual, summary=summary, notes=notes)
