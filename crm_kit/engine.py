"""Transaction-level operations, written once as Ibis expressions.

Every function here takes the (cleaned) line-item table as an Ibis table and
lets the engine — DuckDB by default, any Ibis backend otherwise — do the
scan; only customer-level results come back, as pandas.

Conventions
-----------
visit / purchase occasion
    one distinct ``order_id`` (receipt, invoice).
average ticket (客单价)
    sales / visits of the same customer and period.
periods
    half-open intervals ``[start, end)``; a month ``"2025-09"`` is
    ``[2025-09-01, 2025-10-01)``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from .errors import DataError, ParameterError
from .store.money import money_sum, units_sum

__all__ = [
    "pre_period_covariates",
    "distinct_orders",
    "buyers",
    "is_purchase",
    "purchases_only",
    "month_bounds",
    "lines_per_month",
    "parse_period",
    "previous_period",
    "customer_summary",
    "period_metrics",
    "monthly_customer_list",
    "decile_table",
    "group_sizes",
    "customer_period_totals",
    "cohort_activity",
]


def _ts(value: Any, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD") from exc


def month_bounds(month: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return ``[start, end)`` of a calendar month given as ``'YYYY-MM'`` or a date in it.

    Examples
    --------
    >>> from crm_kit import engine
    >>> engine.month_bounds("2025-09")
    (Timestamp('2025-09-01 00:00:00'), Timestamp('2025-10-01 00:00:00'))
    >>> engine.month_bounds("2025-02-14")  # a date: its month
    (Timestamp('2025-02-01 00:00:00'), Timestamp('2025-03-01 00:00:00'))
    """
    start = _ts(str(month) + ("-01" if len(str(month)) == 7 else ""), "month").to_period("M").start_time
    return start, (start + pd.offsets.MonthBegin(1)).normalize()


def parse_period(period: Any, name: str = "period") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Turn a period into a half-open ``[start, end)`` interval.

    Accepted: a month ``'YYYY-MM'``; an ISO 8601 interval
    ``'YYYY-MM-DD/YYYY-MM-DD'`` (start included, end excluded, as in a
    campaign running from its start date up to its end date); a
    ``(start, end)`` pair or a ``{"start": ..., "end": ...}`` mapping.
    """
    if isinstance(period, str) and len(period) == 7:
        return month_bounds(period)
    if isinstance(period, str) and period.count("/") == 1:
        period = tuple(part.strip() for part in period.split("/"))
    if isinstance(period, Mapping):
        period = (period.get("start"), period.get("end"))
    if not isinstance(period, Sequence) or isinstance(period, str) or len(period) != 2:
        raise ParameterError(
            f"{name}={period!r}: give a month 'YYYY-MM', an interval 'YYYY-MM-DD/YYYY-MM-DD' or a [start, end) pair"
        )
    start, end = _ts(period[0], f"{name}.start"), _ts(period[1], f"{name}.end")
    if end <= start:
        raise ParameterError(f"{name}: end {end.date()} must come after start {start.date()}")
    return start, end


def previous_period(period: Any, name: str = "period") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period of the same length just before ``period``: the month before a month.

    Used for a placebo check: treated and comparison customers should not
    already differ in how they changed between two periods before the campaign.

    Examples
    --------
    >>> from crm_kit import engine
    >>> engine.previous_period("2025-09")
    (Timestamp('2025-08-01 00:00:00'), Timestamp('2025-09-01 00:00:00'))
    """
    start, end = parse_period(period, name)
    if isinstance(period, str) and len(period) == 7:
        return month_bounds(start - pd.Timedelta(days=1))
    return start - (end - start), start


#: the order table standing for each store's customer lines (:func:`register_orders`)
_ORDER_TABLES: dict = {}


def register_orders(lines, orders) -> None:
    """Let the queries on ``lines`` that need no line detail read ``orders`` instead.

    ``orders`` holds one row per customer and order (each within one day):
    ``ts`` and ``ts_last`` (its first and last line's time), ``day``,
    ``amount`` (sales), ``quantity`` (items) and ``lines``. Any range of
    whole days selects the same purchases from it as from the lines, so
    visits, sales, items, active days and first and last purchases are the
    same, from about a fifth of the rows, and visits need no DISTINCT.
    :class:`crm_kit.store.Store` registers its own.
    """
    import weakref

    # by identity, not by equality: two stores' tables can look alike (the same session table name in two
    # connections). The entry lives exactly as long as the line table: it goes when the table is collected,
    # before its id can be reused, and however many stores a session loads, none is forgotten while alive
    key = id(lines)
    _ORDER_TABLES[key] = (weakref.ref(lines), orders)
    weakref.finalize(lines, _ORDER_TABLES.pop, key, None)


def order_grain(transactions, *, cut_at: Sequence[Any] = ()):
    """The order table registered for this very line-item table (:func:`register_orders`), else the line items.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    cut_at
        The times the query cuts the lines at (period bounds, an
        observation date). When one of them falls within a day, an order
        can lie on both sides of it, and only the lines are exact: they are
        returned.
    """
    entry = _ORDER_TABLES.get(id(transactions))
    if entry is None or entry[0]() is not transactions:
        return transactions
    for when in cut_at:
        if when is not None and pd.Timestamp(when) != pd.Timestamp(when).normalize():
            return transactions
    return entry[1]


@ibis.udf.scalar.builtin(name="bit_count")
def _bit_count(mask: dt.uint64) -> dt.int8:
    """Set bits of a mask (DuckDB ``BIT_COUNT``)."""


def _category_masks(t) -> list[str]:
    """The order table's category bit masks (``categories_0``, ...: bit ``i`` of mask ``k`` = category ``64k + i``)."""
    return [c for c in t.columns if c.startswith("categories_")]


def _distinct_categories(t):
    """Distinct categories bought, from the lines' category or the order table's category masks."""
    masks = _category_masks(t)
    if not masks:
        return t.category.nunique()
    total = _bit_count(t[masks[0]].bit_or()).cast("int64")
    for name in masks[1:]:
        total = total + _bit_count(t[name].bit_or()).cast("int64")
    return total


def is_purchase(t):
    """Whether a row (a line or an order) is a purchase, not a return; ``None`` when the table keeps no returns.

    Under ``cleaning.returns: net`` the returns stay in the store, negative,
    marked ``is_return``: they count in sales, never as a visit, and a
    customer with returns only is no buyer. Elsewhere every row is a purchase.
    """
    return ~t.is_return if "is_return" in t.columns else None


def purchases_only(t):
    """The rows that are purchases (:func:`is_purchase`): for days, first and last purchases, visits and buyers."""
    mark = is_purchase(t)
    return t if mark is None else t.filter(mark)


def _of_purchases(t, value, kind: str = "string"):
    """``value`` on purchase rows, null on returns (for a DISTINCT count or a min/max that returns must not reach)."""
    mark = is_purchase(t)
    return value if mark is None else mark.ifelse(value, ibis.null(kind))


def _visits(t):
    """Distinct purchase orders of one customer (grouped by customer): the order table's purchase rows, the lines'
    purchase order ids; a return order is no visit."""
    if "ts_last" in t.columns:
        mark = is_purchase(t)
        return t.count() if mark is None else mark.ifelse(1, 0).sum()
    return _of_purchases(t, t.order_id).nunique()


def buyers(t):
    """Distinct customers with a purchase (a customer with returns only is no buyer)."""
    return _of_purchases(t, t.customer_id).nunique()


def distinct_orders(t):
    """Purchases across customers: distinct (customer, order) pairs, as a till counts them; returns are none.

    An export may number orders per customer (1, 2, 3 for each); counting
    distinct order ids across customers would then merge different
    customers' purchases. On the order table every row is one such pair.
    """
    if "ts_last" in t.columns:
        return _visits(t)
    return _of_purchases(t, t.customer_id.fill_null("") + "\x1f" + t.order_id).nunique()


def _require(table, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{what} needs column(s) {missing} in transactions; map them in params")


def customer_summary(transactions, *, as_of: Any, since: Any = None) -> pd.DataFrame:
    """Per-customer summary of all purchases before an observation date.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    as_of
        Observation date; purchases strictly before it count.
    since
        Optional first date to include.

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``first_purchase``, ``last_purchase``,
        ``tenure_days`` (as_of - first purchase date), ``recency_days``
        (as_of - last purchase date), ``frequency`` (purchase occasions =
        distinct orders), ``repeat_frequency`` (distinct purchase days - 1:
        the BG/NBD convention), ``active_days``, ``sales``, ``mean_ticket``
        (sales / frequency), ``items`` (units) and, when products carry
        categories, ``distinct_categories``. Sorted by customer_id.

    Examples
    --------
    Five receipts of three customers (``a`` twice in September, ``c`` in August and September):

    >>> import ibis
    >>> import pandas as pd
    >>> from crm_kit import engine
    >>> lines = ibis.memtable(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "ts": pd.to_datetime(["2025-09-03", "2025-09-20", "2025-09-05",
    ...                           "2025-08-30", "2025-09-28"]),
    ...     "quantity": [1, 2, 1, 1, 3],
    ...     "amount": [30.0, 50.0, 20.0, 10.0, 15.0]}))
    >>> summary = engine.customer_summary(lines, as_of="2025-10-01")
    >>> summary[["customer_id", "recency_days", "frequency", "sales", "mean_ticket"]]
      customer_id  recency_days  frequency  sales  mean_ticket
    0           a            11          2   80.0         40.0
    1           b            26          1   20.0         20.0
    2           c             3          2   25.0         12.5
    """
    as_of = _ts(as_of, "as_of")
    since = None if since is None else _ts(since, "since")
    with_categories = "category" in transactions.columns
    grain = order_grain(transactions, cut_at=(as_of, since))
    if not with_categories or _category_masks(grain):
        # distinct categories come from the order table's masks when it has them, else from the lines
        transactions = grain
    t = transactions.filter(transactions.ts < as_of)
    if since is not None:
        t = t.filter(t.ts >= since)
    aggs = dict(
        first_purchase=_of_purchases(t, t.ts, "timestamp").min(),
        last_purchase=_of_purchases(t, t.ts_last if "ts_last" in t.columns else t.ts, "timestamp").max(),
        frequency=_visits(t),
        active_days=_of_purchases(t, t.day if "day" in t.columns else t.ts.date(), "date").nunique(),
        sales=money_sum(t.amount),
        items=units_sum(t.quantity),
    )
    if with_categories:
        aggs["distinct_categories"] = _distinct_categories(t)
    per = t.group_by("customer_id").aggregate(**aggs)
    if is_purchase(t) is not None:
        per = per.filter(per.frequency > 0)  # returns only: no buyer
    df = per.to_pandas()
    df = df.sort_values("customer_id", kind="stable").reset_index(drop=True)
    day = as_of.normalize()
    first = pd.to_datetime(df["first_purchase"])
    last = pd.to_datetime(df["last_purchase"])
    df["tenure_days"] = (day - first.dt.normalize()).dt.days.astype("int64")
    df["recency_days"] = (day - last.dt.normalize()).dt.days.astype("int64")
    df["repeat_frequency"] = df["active_days"].astype("int64") - 1
    df["frequency"] = df["frequency"].astype("int64")
    df["active_days"] = df["active_days"].astype("int64")
    df["mean_ticket"] = df["sales"] / df["frequency"]
    cols = [
        "customer_id", "first_purchase", "last_purchase", "tenure_days", "recency_days",
        "frequency", "repeat_frequency", "active_days", "sales", "mean_ticket", "items",
    ]
    if "distinct_categories" in df.columns:
        df["distinct_categories"] = df["distinct_categories"].astype("int64")
        cols.append("distinct_categories")
    return df[cols]


def lines_per_month(transactions) -> pd.Series:
    """How many line items each month of the data holds: a Series indexed by ``'YYYY-MM'``, months in order;
    months without a line are absent.

    Examples
    --------
    >>> import ibis
    >>> import pandas as pd
    >>> from crm_kit import engine
    >>> days = pd.to_datetime(["2025-08-30", "2025-09-03", "2025-09-20"])
    >>> lines = ibis.memtable(pd.DataFrame({"ts": days}))
    >>> engine.lines_per_month(lines).to_dict()
    {'2025-08': 1, '2025-09': 2}
    """
    t = transactions
    df = t.group_by(month=t.ts.strftime("%Y-%m")).aggregate(lines=t.count()).to_pandas()
    return df.set_index("month")["lines"].astype("int64").sort_index().rename_axis("month")


def _labelled_periods(transactions, periods: Mapping[str, Any], caller: str):
    """The periods' bounds, the lines at order grain, and those lines labelled ``period`` (lines in none left out).

    Periods may not overlap: a line counts in one only.
    """
    if not periods:
        raise ParameterError(f"{caller} needs at least one period")
    bounds = {name: parse_period(p, name) for name, p in periods.items()}
    ordered = sorted(bounds.items(), key=lambda kv: kv[1][0])
    for (n1, (_, e1)), (n2, (s2, _)) in zip(ordered, ordered[1:]):
        if s2 < e1:
            raise ParameterError(f"periods '{n1}' and '{n2}' overlap; a line can count in one only")
    t = order_grain(transactions, cut_at=[when for bound in bounds.values() for when in bound])
    label = ibis.cases(*[((t.ts >= s) & (t.ts < e), name) for name, (s, e) in bounds.items()], else_=None)
    return bounds, t, t.mutate(period=label).filter(lambda x: x.period.notnull())


def period_metrics(
    transactions,
    *,
    periods: Mapping[str, Any],
    customer_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Visits, sales and average ticket per customer for named periods.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    periods
        ``{"base": "2025-09", "campaign": ("2025-10-01", "2025-11-01")}``:
        names to months or ``[start, end)`` pairs. Periods may not overlap.
    customer_ids
        The customers to report (e.g. a target group). Customers without
        purchases in a period get 0 visits and sales and a missing ticket.
        When omitted, every customer with a purchase in any period.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id with columns ``visits_<name>``, ``sales_<name>``
        and ``ticket_<name>`` for each period.

    Examples
    --------
    >>> import ibis
    >>> import pandas as pd
    >>> from crm_kit import engine
    >>> lines = ibis.memtable(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "ts": pd.to_datetime(["2025-09-03", "2025-09-20", "2025-09-05",
    ...                           "2025-08-30", "2025-09-28"]),
    ...     "quantity": [1, 2, 1, 1, 3],
    ...     "amount": [30.0, 50.0, 20.0, 10.0, 15.0]}))
    >>> m = engine.period_metrics(lines, periods={"base": "2025-08", "campaign": "2025-09"},
    ...                           customer_ids=["a", "c", "z"])
    >>> m[["visits_base", "visits_campaign", "sales_campaign", "ticket_campaign"]]
                 visits_base  visits_campaign  sales_campaign  ticket_campaign
    customer_id
    a                      0                2            80.0             40.0
    c                      1                1            15.0             15.0
    z                      0                0             0.0              NaN
    """
    bounds, _grain, t = _labelled_periods(transactions, periods, "period_metrics")
    if customer_ids is not None:
        ids = pd.Index(pd.unique(pd.Series(customer_ids, dtype="string").astype(str)))
        t = t.filter(t.customer_id.isin(list(ids)))
    agg = (
        t.group_by(["customer_id", "period"])
        .aggregate(visits=_visits(t), sales=money_sum(t.amount))
        .to_pandas()
    )
    wide = agg.pivot(index="customer_id", columns="period", values=["visits", "sales"])
    wide.columns = [f"{m}_{p}" for m, p in wide.columns]
    if customer_ids is None:
        ids = pd.Index(sorted(agg["customer_id"].unique()))
    wide = wide.reindex(ids)
    wide.index.name = "customer_id"
    out = pd.DataFrame(index=wide.index)
    for name in bounds:
        visits = wide.get(f"visits_{name}", pd.Series(0, index=wide.index)).fillna(0).astype("int64")
        sales = wide.get(f"sales_{name}", pd.Series(0.0, index=wide.index)).fillna(0.0).astype(float)
        out[f"visits_{name}"] = visits
        out[f"sales_{name}"] = sales
        out[f"ticket_{name}"] = (sales / visits.where(visits > 0)).astype(float)
    return out


def group_sizes(n: int, groups: int) -> np.ndarray:
    """Sizes of ``groups`` equal-count groups of ``n`` ranked items (SQL ``NTILE``: the first ``n % groups`` get one more).

    Examples
    --------
    >>> from crm_kit import engine
    >>> engine.group_sizes(11, 3)  # 11 customers in 3 groups: the first 11 % 3 = 2 groups get one more
    array([4, 4, 3])
    """
    base, extra = divmod(n, groups)
    return np.array([base + (1 if g < extra else 0) for g in range(groups)], dtype="int64")


def monthly_customer_list(transactions, *, month: Any, groups: int = 10) -> pd.DataFrame:
    """The monthly customer list (月客户清单): customers ranked by spend, cut into groups.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    month
        ``'YYYY-MM'`` or a ``[start, end)`` pair.
    groups
        Number of equal-count groups (10 = deciles). Group 1 spends most.
        Ranked on spend rounded to cents; ties are broken by customer id, so
        the list is deterministic on every engine. The engine sums each
        customer's month; the ranking and the groups (SQL ``NTILE``'s) are
        made on that customer-level table in pandas, so no query holds a
        window over all customers (which a distributed engine runs in one
        partition).

    Returns
    -------
    pandas.DataFrame
        customer_id, rank (1 = top spender), group, sales, visits, ticket, items.

    Examples
    --------
    September's three buyers ranked by spend and cut into two groups (the first group gets the spare customer):

    >>> import ibis
    >>> import pandas as pd
    >>> from crm_kit import engine
    >>> lines = ibis.memtable(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "ts": pd.to_datetime(["2025-09-03", "2025-09-20", "2025-09-05",
    ...                           "2025-08-30", "2025-09-28"]),
    ...     "quantity": [1, 2, 1, 1, 3],
    ...     "amount": [30.0, 50.0, 20.0, 10.0, 15.0]}))
    >>> engine.monthly_customer_list(lines, month="2025-09", groups=2)
      customer_id  rank  group  sales  visits  ticket  items
    0           a     1      1   80.0       2    40.0      3
    1           b     2      1   20.0       1    20.0      1
    2           c     3      2   15.0       1    15.0      3
    """
    if not isinstance(groups, (int, np.integer)) or groups < 2:
        raise ParameterError(f"groups={groups!r}: give a whole number of at least 2")
    start, end = parse_period(month, "month")
    transactions = order_grain(transactions, cut_at=(start, end))
    t = transactions.filter((transactions.ts >= start) & (transactions.ts < end))
    per = t.group_by("customer_id").aggregate(
        sales=money_sum(t.amount), visits=_visits(t), items=units_sum(t.quantity)
    )
    if is_purchase(t) is not None:
        per = per.filter(per.visits > 0)  # a customer who only returned in the month bought nothing in it
    # rank on spend in cents (rounded by the engine): float sums differ in the last bit between engines
    # and summation orders, which must not reorder customers of equal spend
    df = per.mutate(_cents=per.sales.round(2)).to_pandas()
    if df.empty:
        raise DataError(
            f"no customer purchases between {start.date()} and {end.date()}; pick a month inside the data"
        )
    if len(df) < groups:
        raise DataError(f"{len(df)} customers in the month cannot fill {groups} groups; lower groups")
    # ranked here, on the customer-level table the function returns whole anyway (one row per customer of the
    # month: small by design), not by a window over all customers in the engine — a window with no partition
    # runs in a single partition on a distributed engine (Spark: one executor doing all the work)
    df = df.sort_values(["_cents", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1, dtype="int64")
    # equal-count groups as SQL NTILE cuts them: the first n % groups groups hold one customer more
    df["group"] = np.repeat(np.arange(1, groups + 1, dtype="int64"), group_sizes(len(df), groups))
    df["visits"] = df["visits"].astype("int64")
    df["ticket"] = df["sales"] / df["visits"]
    return df[["customer_id", "rank", "group", "sales", "visits", "ticket", "items"]]


def decile_table(customer_list: pd.DataFrame, *, value_col: str = "sales", group_col: str = "group") -> pd.DataFrame:
    """Decile analysis (十分位分析) of a ranked customer list.

    Parameters
    ----------
    customer_list
        Output of :func:`monthly_customer_list` (one row per customer).
    value_col
        The value summed per group.
    group_col
        The group column.

    Returns
    -------
    pandas.DataFrame
        Per group: customers, sales, mean sales per customer, share of
        customers and of sales, their cumulative shares, visits per customer
        and average ticket (sales / visits), min and max spend.

    Examples
    --------
    A ranked list of three customers in two groups (as :func:`monthly_customer_list` returns it):

    >>> import pandas as pd
    >>> from crm_kit import engine
    >>> ranked = pd.DataFrame({"customer_id": ["a", "b", "c"], "group": [1, 1, 2],
    ...                        "sales": [80.0, 20.0, 15.0], "visits": [2, 1, 1]})
    >>> table = engine.decile_table(ranked)
    >>> table[["group", "customers", "sales", "sales_share", "ticket"]].round(2)
       group  customers  sales  sales_share  ticket
    0      1          2  100.0         0.87   33.33
    1      2          1   15.0         0.13   15.00
    """
    for c in (value_col, group_col):
        if c not in customer_list.columns:
            raise DataError(f"decile_table needs column '{c}' in the customer list")
    df = customer_list
    agg = {value_col: ["count", "sum", "mean", "min", "max"]}
    if "visits" in df.columns:
        agg["visits"] = ["sum"]
    g = df.groupby(group_col).agg(agg)
    out = pd.DataFrame(
        {
            "customers": g[(value_col, "count")].astype("int64"),
            "sales": g[(value_col, "sum")],
            "sales_per_customer": g[(value_col, "mean")],
        }
    )
    total_c, total_s = out["customers"].sum(), out["sales"].sum()
    out["customer_share"] = out["customers"] / total_c
    out["sales_share"] = out["sales"] / total_s if total_s else np.nan
    out["cum_customer_share"] = out["customer_share"].cumsum()
    out["cum_sales_share"] = out["sales_share"].cumsum()
    if "visits" in df.columns:
        visits = g[("visits", "sum")]
        out["visits_per_customer"] = visits / out["customers"]
        out["ticket"] = out["sales"] / visits
    out["min_sales"] = g[(value_col, "min")]
    out["max_sales"] = g[(value_col, "max")]
    out["tied_with"] = _tied_groups(out["min_sales"], out["max_sales"])
    out.index.name = group_col
    return out.reset_index()


def _tied_groups(low: pd.Series, high: pd.Series) -> list[str]:
    """Per group, the other groups it shares a spend value with: a cut of equal-count groups that fell inside
    a tie (customers who spend the same, split between groups by the order of their ids), '' where none."""
    groups = list(low.index)
    out = []
    for g in groups:
        shared = [str(h) for h in groups if h != g and low[h] <= high[g] and low[g] <= high[h]]
        out.append(", ".join(shared))
    return out


def pre_period_covariates(transactions, customer_ids, *, base: Any, periods: int = 12) -> pd.DataFrame:
    """Each customer's mean visits and sales per period over the ``periods`` periods before ``base``.

    These covariates adjust the lift (:func:`crm_kit.results.adjusted_lift`) and the power check
    (:func:`crm_kit.campaign.adjusted_power`). They end before
    the base period on purpose: a group picked *because* of its base month
    (a decile, round one's A4) is selected on it, and only months that
    selected nobody are honest predictors of what each customer would have
    done anyway. A customer without purchases in a period counts 0 there
    (so are periods before the data begins: give fewer ``periods`` for a
    short history). The default, a year, averages out the season.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id: ``visits_pre``, ``sales_pre`` and
        ``periods_pre`` (how many periods were averaged).
    """
    if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1:
        raise ParameterError(f"periods={periods!r}: give a whole number of periods (at least 1) before the base")
    named: dict[str, Any] = {}
    if isinstance(base, str) and len(base) == 7:
        month = pd.Period(base, "M")
        for k in range(1, periods + 1):
            named[f"pre{k}"] = (month - k).strftime("%Y-%m")
    else:
        current = base
        for k in range(1, periods + 1):
            current = previous_period(current, "base")
            named[f"pre{k}"] = current
    ids = [str(i) for i in customer_ids]
    metrics = period_metrics(transactions, periods=named, customer_ids=ids).reindex(ids).fillna(0.0)
    out = pd.DataFrame({
        "visits_pre": metrics[[f"visits_pre{k}" for k in range(1, periods + 1)]].mean(axis=1),
        "sales_pre": metrics[[f"sales_pre{k}" for k in range(1, periods + 1)]].mean(axis=1),
    }, index=pd.Index(ids, name="customer_id"))
    out["periods_pre"] = periods
    return out


def customer_period_totals(transactions, *, periods: Mapping[str, Any]) -> pd.DataFrame:
    """Sales, orders and items of every customer in each named period, with the customer's first purchase.

    The customer-level input of the revenue tree (:func:`crm_kit.changes.revenue_tree`):
    one row per customer and period in which the customer bought.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    periods
        ``{"previous": "2025-08", "current": "2025-09"}``: names to months or
        ``[start, end)`` pairs; they may not overlap.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``period``, ``sales``, ``orders`` (distinct orders),
        ``items`` (units), ``first_purchase`` (the customer's first
        purchase anywhere in the data) and the period's ``start`` and ``end``
        (``[start, end)``), sorted by period and customer.
    """
    bounds, t, tp = _labelled_periods(transactions, periods, "customer_period_totals")
    per = tp.group_by(["customer_id", "period"]).aggregate(
        sales=money_sum(tp.amount), orders=_visits(tp), items=units_sum(tp.quantity))
    first = t.group_by("customer_id").aggregate(first_purchase=t.ts.min())
    df = per.join(first, "customer_id").to_pandas()
    df["orders"] = df["orders"].astype("int64")
    df["items"] = df["items"].astype(float)
    df["sales"] = df["sales"].astype(float)
    df["first_purchase"] = pd.to_datetime(df["first_purchase"])
    df["start"] = df["period"].map({name: b[0] for name, b in bounds.items()}).astype("datetime64[ns]")
    df["end"] = df["period"].map({name: b[1] for name, b in bounds.items()}).astype("datetime64[ns]")
    df = df.sort_values(["period", "customer_id"], kind="stable").reset_index(drop=True)
    return df[["customer_id", "period", "sales", "orders", "items", "first_purchase", "start", "end"]]


def cohort_activity(transactions) -> pd.DataFrame:
    """Customers, orders, items and sales per acquisition month and calendar month.

    A customer's cohort is the month of their first purchase in the data.
    Each customer belongs to one cohort, so summing the rows of a month over
    cohorts gives the month's customers; the row where ``month == cohort``
    holds the month's new customers. The input of cohort tables and of the
    monthly history (:mod:`crm_kit.changes`).

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``month`` (pandas monthly periods), ``customers``,
        ``orders``, ``items``, ``sales``; sorted by cohort and month.
    """
    t = order_grain(transactions)  # months are whole days: the order table gives the same figures
    first = t.group_by("customer_id").aggregate(cohort=t.ts.min().truncate("M"))
    tm = t.mutate(month=t.ts.truncate("M")).join(first, "customer_id")
    df = (
        tm.group_by(["cohort", "month"])
        .aggregate(customers=tm.customer_id.nunique(), orders=distinct_orders(tm), items=units_sum(tm.quantity),
                   sales=money_sum(tm.amount))
        .to_pandas()
    )
    df["cohort"] = pd.to_datetime(df["cohort"]).dt.to_period("M")
    df["month"] = pd.to_datetime(df["month"]).dt.to_period("M")
    for col in ("customers", "orders"):
        df[col] = df[col].astype("int64")
    df[["items", "sales"]] = df[["items", "sales"]].astype(float)
    return df.sort_values(["cohort", "month"], kind="stable").reset_index(drop=True)
