"""Knowledge discovery (知识发现): what the data says about customers.

Every function takes the store's engine tables (or customer-level pandas
frames) and keyword options, and returns a new pandas table. Heavy work —
scans of line items, basket pairs, purchase intervals — runs in the engine.

Definitions used throughout
---------------------------
visit frequency
    purchase occasions (distinct orders) per customer in the month.
average ticket (客单价)
    a group's sales / its visits.
brand loyalty (repeat-brand rate)
    for one customer: of all pairs of consecutive purchases in the same
    category (lines ordered by time), the share where the brand repeats.
    1.0 = always the same brand; a customer who picks among five brands at
    random scores about 0.2. Its expected value does not depend on how often
    the customer buys — unlike the top-brand share, which is 1.0 for anyone
    who bought a category once — so rare and frequent buyers compare fairly.
top-brand share
    also reported: ``sum_c top_brand_spend_c / sum_c spend_c`` over the
    categories bought on at least two orders.
promotion sensitivity
    for one customer: the share of spend on lines bought on promotion.
group figures
    means of the customers' figures (each customer counts once).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import ibis
import numpy as np
import pandas as pd

from .engine import buyers, distinct_orders, month_bounds, order_grain, parse_period, purchases_only
from .store import PERSONAL_FIELDS, Store
from .store.money import money_sum, units_sum
from .errors import DataError, EmptyGroupError, ParameterError

__all__ = [
    "pareto_table",
    "pareto_share",
    "customer_behaviour",
    "behaviour_table",
    "category_mix",
    "member_profile",
    "product_classes",
    "group_bestsellers",
    "bought_together",
    "repurchase_intervals",
    "repurchase_summary",
    "growth_kpis",
    "new_customer_repeat_rate",
    "recommend_target",
    "recommended_group",
    "target_choice",
    "target_group_tables",
    "store_member_profile",
    "profile_fields",
    "product_view",
    "skip_note",
    "pair_level",
    "TARGET_RULE_DEFAULTS",
]


def _window(month: Any, lookback_months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    if not isinstance(lookback_months, (int, np.integer)) or lookback_months < 1:
        raise ParameterError(f"lookback_months={lookback_months!r}: give a whole number of at least 1")
    start, end = month_bounds(month)
    return start - pd.DateOffset(months=lookback_months - 1), end


def _groups_memtable(groups: pd.DataFrame) -> Any:
    if not {"customer_id", "group"} <= set(groups.columns):
        raise DataError("the group table needs columns customer_id and group (use monthly_customer_list)")
    return ibis.memtable(groups[["customer_id", "group"]].astype({"customer_id": str, "group": "int64"}))


# ------------------------------------------------------------------ 80/20


def pareto_table(values: pd.DataFrame, *, value_col: str = "sales") -> pd.DataFrame:
    """Customers sorted by value with cumulative shares of customers and value (the Pareto curve).

    Parameters
    ----------
    values
        One row per customer.
    value_col
        The value column (e.g. sales over a period).

    Examples
    --------
    Five customers; the top two bring 80 % of the sales:

    >>> import pandas as pd
    >>> from crm_kit import discovery
    >>> customers = pd.DataFrame({"customer_id": list("abcde"),
    ...                           "sales": [50.0, 30.0, 10.0, 6.0, 4.0]})
    >>> discovery.pareto_table(customers)
       customer_share  value_share
    0             0.2         0.50
    1             0.4         0.80
    2             0.6         0.90
    3             0.8         0.96
    4             1.0         1.00
    """
    if value_col not in values.columns:
        raise DataError(f"pareto_table needs column '{value_col}'")
    v = values[value_col].astype(float).sort_values(ascending=False, kind="stable").to_numpy()
    if len(v) == 0 or v.sum() <= 0:
        raise DataError("pareto_table: no positive value to share out")
    return pd.DataFrame(
        {
            "customer_share": np.arange(1, len(v) + 1) / len(v),
            "value_share": np.cumsum(v) / v.sum(),
        }
    )


def pareto_share(values: pd.DataFrame, *, value_col: str = "sales", target: float = 0.8) -> float:
    """The smallest share of customers (top spenders first) that brings ``target`` of the value.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_kit import discovery
    >>> customers = pd.DataFrame({"customer_id": list("abcde"),
    ...                           "sales": [50.0, 30.0, 10.0, 6.0, 4.0]})
    >>> discovery.pareto_share(customers)  # 40 % of the customers bring 80 % of the sales
    0.4
    >>> discovery.pareto_share(customers, target=0.5)
    0.2
    """
    if not 0 < target <= 1:
        raise ParameterError(f"target={target!r} must be in (0, 1]")
    curve = pareto_table(values, value_col=value_col)
    idx = int(np.searchsorted(curve["value_share"].to_numpy(), target - 1e-12))
    return float(curve["customer_share"].iloc[min(idx, len(curve) - 1)])


# ------------------------------------------------------------------ behaviour


def customer_behaviour(store: Store, *, month: Any, lookback_months: int = 3) -> pd.DataFrame:
    """Per-customer brand loyalty, promotion sensitivity and recency.

    Parameters
    ----------
    store
        The loaded store.
    month
        The analysis month; recency is measured at its end.
    lookback_months
        Months (ending with ``month``) over which loyalty and promotion
        sensitivity are measured: one month holds too few purchases per
        category for a stable loyalty figure.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id: ``recency_days``, ``promo_share`` (NaN
        without a promo flag), ``brand_loyalty`` (repeat-brand rate; NaN
        without two purchases in a category, or without brand data) and
        ``top_brand_share``.
    """
    start, end = _window(month, lookback_months)
    t = store.transactions.filter((store.transactions.ts >= start) & (store.transactions.ts < end))
    aggs = {"last_ts": t.ts.max(), "spend": money_sum(t.amount)}
    if store.has_promo:
        aggs["promo_spend"] = money_sum(t.promo.ifelse(t.amount, 0.0))
    base = t.group_by("customer_id").aggregate(**aggs).to_pandas().set_index("customer_id")
    out = pd.DataFrame(index=base.index)
    out["recency_days"] = (end.normalize() - pd.to_datetime(base["last_ts"]).dt.normalize()).dt.days
    out["promo_share"] = base["promo_spend"] / base["spend"] if store.has_promo else np.nan
    if {"category", "brand"} <= set(t.columns):
        cb = t.group_by(["customer_id", "category", "brand"]).aggregate(spend=money_sum(t.amount))
        cat = (
            cb.group_by(["customer_id", "category"])
            .aggregate(top=cb.spend.max(), total=money_sum(cb.spend))
        )
        orders = t.group_by(["customer_id", "category"]).aggregate(orders=t.order_id.nunique())
        cat = cat.join(orders, ["customer_id", "category"]).filter(lambda x: x.orders >= 2)
        # every money sum exact (store.money.money_sum): a float sum depends on the order the engine adds the rows, and
        # these shares are clustering features, where the last bit moves k-means' inertia and silhouette
        loyal = cat.group_by("customer_id").aggregate(top=money_sum(cat.top), total=money_sum(cat.total))
        loyal = loyal.mutate(top_brand_share=loyal.top / loyal.total).to_pandas().set_index("customer_id")
        x = t.select("customer_id", "category", "brand", "ts", "order_id", "product_id")
        w = ibis.window(group_by=["customer_id", "category"], order_by=["ts", "order_id", "brand", "product_id"])
        x = x.mutate(prev=x.brand.lag().over(w))
        pairs = x.filter(x.prev.notnull())
        rep = (
            pairs.group_by("customer_id")
            .aggregate(pairs=pairs.count(), same=(pairs.brand == pairs.prev).ifelse(1, 0).sum())
            .to_pandas()
            .set_index("customer_id")
        )
        out["brand_loyalty"] = (rep["same"] / rep["pairs"]).reindex(out.index)
        out["top_brand_share"] = loyal["top_brand_share"].reindex(out.index)
    else:
        out["brand_loyalty"] = np.nan
        out["top_brand_share"] = np.nan
    return out.sort_index()


def skip_note(store: Store, step: str) -> str:
    """One line saying why a product step (``"the bestseller list"``, ``"the category mix"``...) does not run here.

    An export without a product column loads (a till's amounts, amounts per
    order); its product steps are skipped, and say so, never as an error.
    """
    if not store.has_products:
        return f"{step[:1].upper()}{step[1:]} is skipped: the export has no product column (map " \
               "tables.transactions.columns.product_id to run it)."
    if not store.has_categories:
        return f"No product categories in this data: {step} is skipped (add a products table with a category column)."
    return ""


def _skipped(store: Store, step: str, columns: Sequence[str]) -> pd.DataFrame:
    """An empty table of ``columns`` whose ``attrs["note"]`` is :func:`skip_note`."""
    out = pd.DataFrame(columns=list(columns))
    out.attrs["note"] = skip_note(store, step)
    return out


def category_mix(store: Store, groups: pd.DataFrame, *, month: Any, lookback_months: int = 1) -> pd.DataFrame:
    """Share of each group's spend per product category (rows: groups, columns: categories)."""
    if not store.has_categories:
        raise DataError("category mix needs product categories: add a products table with a category column")
    start, end = _window(month, lookback_months)
    g = _groups_memtable(groups)
    t = store.transactions.filter((store.transactions.ts >= start) & (store.transactions.ts < end))
    t = t.join(g, "customer_id")
    spend = t.group_by(["group", "category"]).aggregate(spend=money_sum(t.amount)).to_pandas()
    mix = spend.pivot(index="group", columns="category", values="spend").fillna(0.0)
    return mix.div(mix.sum(axis=1), axis=0).sort_index()


def behaviour_table(
    store: Store,
    customer_list: pd.DataFrame,
    *,
    month: Any,
    lookback_months: int = 3,
    top_categories: int = 2,
) -> pd.DataFrame:
    r"""The consumer-behaviour table (消费者行为表) per group.

    Parameters
    ----------
    store
        The loaded store.
    customer_list
        The month's ranked list (:func:`crm_kit.engine.monthly_customer_list`).
    month
        The month of the list.
    lookback_months
        Window for loyalty and promotion sensitivity (see :func:`customer_behaviour`).
    top_categories
        How many top categories to name per group.

    Returns
    -------
    pandas.DataFrame
        Per group: customers, visits per customer, average ticket, sales per
        customer, mean recency (days since last purchase at the month end),
        top categories with their share of spend, mean brand loyalty and mean
        promotion sensitivity.

    Examples
    --------
    Four receipts of three customers in September (:func:`crm_kit.load_store`), ranked into two groups by
    :func:`crm_kit.engine.monthly_customer_list`: ``a`` (two visits, 90) and ``c`` (one, 45) in group 1,
    ``b`` (one, 40) in group 2:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import crm_kit
    >>> from crm_kit import discovery, engine
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "receipt,member,time,sku,qty,paid\n"
    ...     "r1,a,2025-09-03 10:00,tea,1,30\n"
    ...     "r1,a,2025-09-03 10:00,cups,1,10\n"
    ...     "r2,a,2025-09-20 11:00,tea,2,50\n"
    ...     "r3,b,2025-09-05 12:00,tea,1,20\n"
    ...     "r3,b,2025-09-05 12:00,cups,2,20\n"
    ...     "r4,c,2025-09-10 18:30,jam,3,45\n")
    >>> store = crm_kit.load_store({"tables": {"transactions": {
    ...     "path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "receipt", "customer_id": "member", "ts": "time",
    ...                 "product_id": "sku", "quantity": "qty", "amount": "paid"}}}})
    >>> ranked = engine.monthly_customer_list(store.transactions, month="2025-09", groups=2)
    >>> table = discovery.behaviour_table(store, ranked, month="2025-09")
    >>> print(table.to_string())
       group  customers  visits_per_customer  ticket  sales_per_customer  recency_days
    0      1          2                  1.5    45.0                67.5          16.0
    1      2          1                  1.0    40.0                40.0          26.0

    Group 1's ticket is (90 + 45) / 3 visits; its recency the mean of 11 and 21 days (20 and 10 September to
    1 October). The export has no brands and no promotion flag, so those columns are left out, and the table
    says why:

    >>> print(table.attrs["note"])
    Left out: brand loyalty (the data has no brands: map products.brand); promotion sensitivity (the lines carry no promotion flag: map transactions.promo).
    """
    per = customer_behaviour(store, month=month, lookback_months=lookback_months)
    cl = customer_list.set_index("customer_id")
    joined = cl.join(per, how="left")
    g = joined.groupby("group")
    table = pd.DataFrame(
        {
            "customers": g.size(),
            "visits_per_customer": g["visits"].mean(),
            "ticket": g["sales"].sum() / g["visits"].sum(),
            "sales_per_customer": g["sales"].mean(),
            "recency_days": g["recency_days"].mean(),
            "brand_loyalty": g["brand_loyalty"].mean(),
            "promo_share": g["promo_share"].mean(),
        }
    )
    if store.has_categories:
        mix = category_mix(store, customer_list, month=month)
        names = mix.apply(
            lambda row: ", ".join(f"{c} {row[c]:.0%}" for c in row.nlargest(top_categories).index), axis=1
        )
        table["top_categories"] = names
    table = table.reset_index()
    return _leave_out_empty(table, {
        "brand_loyalty": ("brand loyalty (skipped: the export has no product column)" if not store.has_products
                          else "brand loyalty (the data has no brands: map products.brand)"),
        "promo_share": "promotion sensitivity (the lines carry no promotion flag: map transactions.promo)",
    })


def _leave_out_empty(table: pd.DataFrame, why: Mapping[str, str]) -> pd.DataFrame:
    """Drop the columns of ``why`` that hold no value at all; ``attrs["note"]`` says which and why."""
    empty = [c for c in why if c in table.columns and table[c].isna().all()]
    out = table.drop(columns=empty)
    out.attrs["note"] = ("Left out: " + "; ".join(why[c] for c in empty) + ".") if empty else ""
    return out


# ------------------------------------------------------------------ member profile


def member_profile(
    customers: pd.DataFrame | None,
    groups: pd.DataFrame,
    *,
    fields: Sequence[str] = (
        "age_band", "gender", "occupation", "personal_income", "household_income",
        "marital_status", "preferred_channel", "housing",
    ),
    as_of: Any = None,
) -> dict[str, pd.DataFrame]:
    """Member-form profile per group: the share of each level of each field.

    Personal fields (name, phone, ID number...) are refused.

    Parameters
    ----------
    customers
        The member table.
    groups
        customer_id and group.
    fields
        Member-form fields to profile (those absent are skipped).
    as_of
        Date for membership years (default: today).

    Returns
    -------
    dict of pandas.DataFrame
        ``summary`` (per group: customers, members with a member record and
        their share, then over those members: student share, WeChat users,
        mean membership years, mean household size) and one share table per
        field (rows: groups, columns: levels; shares of the members with a
        record). Buyers without a member record are counted, never profiled
        as if they had answered "not a student".
    """
    if customers is None:
        raise DataError("no member table (customers) in this data: the member profile cannot be built")
    personal = PERSONAL_FIELDS & set(fields)
    if personal:
        raise ParameterError(f"member_profile will not profile personal field(s) {sorted(personal)}")
    df = groups[["customer_id", "group"]].merge(customers, on="customer_id", how="left", indicator="_record")
    df["_member"] = df["_record"] == "both"
    everyone = df.groupby("group")
    # shares are over the members with a record: a buyer without a member form is no non-student
    members = df[df["_member"]]
    g = members.groupby("group")
    summary = pd.DataFrame({"customers": everyone.size(), "members": g.size()}).fillna({"members": 0})
    summary["members"] = summary["members"].astype(int)
    summary["with_member_record"] = summary["members"] / summary["customers"]
    if "occupation" in members:
        summary["student_share"] = g["occupation"].apply(lambda s: (s == "student").mean())
    if "uses_wechat" in members:
        summary["wechat_users"] = g["uses_wechat"].mean()
    if "signup_date" in members:
        ref = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.today().normalize()
        years = (ref - pd.to_datetime(members["signup_date"])).dt.days / 365.25
        summary["membership_years"] = years.groupby(members["group"]).mean()
    if "household_size" in members:
        summary["household_size"] = g["household_size"].mean()
    df = members
    out = {"summary": summary.reset_index()}
    for f in fields:
        if f in df.columns:
            out[f] = pd.crosstab(df["group"], df[f], normalize="index")
    return out


# ------------------------------------------------------------------ products


def product_classes(
    store: Store,
    *,
    period: Any,
    bestseller_sales_share: float = 0.5,
    slow_weekly_units: float = 1.0,
) -> pd.DataFrame:
    """Bestsellers, regular items and slow movers (畅销品清单), with stock and weeks of cover.

    Rules (parameters): products are ranked by sales in ``period``;
    **bestsellers** are the top products that together make
    ``bestseller_sales_share`` of sales; **slow movers** sell fewer than
    ``slow_weekly_units`` units a week (or nothing); the rest are **regular**.
    Weeks of cover = stock on hand / average weekly units.
    """
    if not 0 < bestseller_sales_share < 1:
        raise ParameterError("bestseller_sales_share must be between 0 and 1")
    if not store.has_products:
        return _skipped(store, "the bestseller list", ["product_id", "units", "sales", "orders", "buyers",
                                                       "weekly_units", "sales_rank", "class"])
    start, end = parse_period(period, "period")
    weeks = (end - start).days / 7.0
    lines = store.product_lines
    t = lines.filter((lines.ts >= start) & (lines.ts < end))
    sold = (
        t.group_by("product_id")
        .aggregate(units=units_sum(t.quantity), sales=money_sum(t.amount), orders=distinct_orders(t), buyers=t.customer_id.nunique())
        .to_pandas()
        .set_index("product_id")
    )
    products = _catalogue(store)
    if products is not None and set(products.columns) - {"product_id", "name"}:
        # a real catalogue: products that sold nothing in the period are slow movers too
        df = products.set_index("product_id").join(sold, how="outer")  # sold but uncatalogued products stay
    elif products is not None:  # names only (from the lines' descriptions): the products sold in the period
        df = sold.join(products.set_index("product_id")[["name"]], how="left")
    else:
        df = sold.copy()
    df[["units", "sales", "orders", "buyers"]] = df[["units", "sales", "orders", "buyers"]].fillna(0)
    # ties of sales and units broken by product id: the engine returns products in any order
    df = df.rename_axis("product_id").reset_index()
    df = df.sort_values(["sales", "units", "product_id"], ascending=[False, False, True], kind="stable").set_index("product_id")
    total = df["sales"].sum()
    cum_before = (df["sales"].cumsum() - df["sales"]) / total if total else 0
    df["weekly_units"] = df["units"] / weeks
    df["sales_rank"] = np.arange(1, len(df) + 1)
    df["class"] = np.where(
        cum_before < bestseller_sales_share, "bestseller",
        np.where(df["weekly_units"] < slow_weekly_units, "slow mover", "regular"),
    )
    if "stock" in df.columns:
        df["weeks_of_cover"] = df["stock"] / df["weekly_units"].where(df["weekly_units"] > 0)
    return df.reset_index()


def group_bestsellers(store: Store, customer_ids: Iterable[str], *, period: Any, top: int = 10) -> pd.DataFrame:
    """The products a customer group buys most in ``period`` (by sales), with buyers and units."""
    start, end = parse_period(period, "period")
    ids = [str(c) for c in customer_ids]
    if not ids:
        raise DataError("group_bestsellers: the customer group is empty")
    if not store.has_products:
        return _skipped(store, "the group's bestsellers", ["product_id", "sales", "units", "buyers", "buyer_share"])
    lines = store.product_lines
    t = lines.filter((lines.ts >= start) & (lines.ts < end) & lines.customer_id.isin(ids))
    keys = ["product_id"] + [c for c in ("category", "brand") if c in t.columns]
    df = (
        t.group_by(keys)
        .aggregate(sales=money_sum(t.amount), units=units_sum(t.quantity), buyers=t.customer_id.nunique())
        .order_by([ibis.desc("sales"), "product_id"])
        .limit(top)
        .to_pandas()
    )
    if store.products is not None and "name" in store.products.columns:
        df = df.merge(store.products[["product_id", "name"]], on="product_id", how="left")
    df["buyer_share"] = df["buyers"] / len(set(ids))
    return df


def bought_together(
    store: Store,
    *,
    period: Any,
    level: str = "category",
    min_support: float = 0.01,
    top: int = 20,
    customer_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    r"""Items bought together: association rules A → B with support, confidence and lift.

    Computed in the engine as a self-join of distinct (order, item) pairs, so
    it scales past what a dense basket matrix allows.

    support(A, B) = orders with both / all orders; confidence(A → B) =
    orders with both / orders with A; lift = confidence / support(B).

    Parameters
    ----------
    store
        The loaded store.
    period
        Month or ``[start, end)``.
    level
        ``"category"`` (needs products) or ``"product"``.
    min_support
        Pairs below this support are dropped.
    top
        Rules returned, by lift then support.
    customer_ids
        Restrict to the orders of these customers (e.g. a target group).

    Examples
    --------
    Four orders; tea is in three of them, cups in two, always with tea:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import crm_kit
    >>> from crm_kit import discovery
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "receipt,member,time,sku,qty,paid\n"
    ...     "r1,a,2025-09-03 10:00,tea,1,30\n"
    ...     "r1,a,2025-09-03 10:00,cups,1,10\n"
    ...     "r2,a,2025-09-20 11:00,tea,2,50\n"
    ...     "r3,b,2025-09-05 12:00,tea,1,20\n"
    ...     "r3,b,2025-09-05 12:00,cups,2,20\n"
    ...     "r4,c,2025-09-10 18:30,jam,3,45\n")
    >>> store = crm_kit.load_store({"tables": {"transactions": {
    ...     "path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "receipt", "customer_id": "member", "ts": "time",
    ...                 "product_id": "sku", "quantity": "qty", "amount": "paid"}}}})
    >>> discovery.bought_together(store, period="2025-09", level="product").round(3)
      antecedent consequent  orders_with_both  support  confidence   lift
    0       cups        tea                 2      0.5       1.000  1.333
    1        tea       cups                 2      0.5       0.667  1.333

    Support is 2 of 4 orders; cups → tea holds in both orders with cups, tea → cups in 2 of the 3 with tea;
    the lift is that confidence over the consequent's own share (1 / 0.75 = 0.667 / 0.5 = 1.333).
    """
    if level not in ("category", "product"):
        raise ParameterError(f"level={level!r}: use 'category' or 'product'")
    if not store.has_products:
        return _skipped(store, "the bought-together pairs", ["antecedent", "consequent", "orders_with_both",
                                                             "support", "confidence", "lift"])
    col = "category" if level == "category" else "product_id"
    if col not in store.transactions.columns:
        raise DataError("category-level pairs need product categories; use level='product' or add products")
    start, end = parse_period(period, "period")
    lines = store.product_lines
    t = lines.filter((lines.ts >= start) & (lines.ts < end) & lines[col].notnull())
    if customer_ids is not None:
        t = t.filter(t.customer_id.isin([str(c) for c in customer_ids]))
    # a basket is one customer's order: order ids numbered per customer must not merge two customers' baskets
    baskets = t.select(order_id=t.customer_id.fill_null("") + "\x1f" + t.order_id, item=t[col].cast("string")).distinct()
    n_orders = int(store.con.execute(baskets.order_id.nunique()))
    if n_orders == 0:
        raise DataError("no orders in the period: nothing is bought together")
    item_orders = baskets.group_by("item").aggregate(orders=baskets.order_id.nunique())
    min_count = max(1, int(np.ceil(min_support * n_orders)))
    frequent = item_orders.filter(item_orders.orders >= min_count)
    b = baskets.semi_join(frequent, "item")
    left = b.rename(item_a="item")
    right = b.rename(item_b="item")
    pairs = left.join(right, "order_id").filter(lambda x: x.item_a != x.item_b)
    counts = pairs.group_by(["item_a", "item_b"]).aggregate(both=pairs.order_id.nunique())
    counts = counts.filter(counts.both >= min_count)
    counts = counts.join(item_orders.rename(orders_a="orders", item_a="item"), "item_a")
    counts = counts.join(item_orders.rename(orders_b="orders", item_b="item"), "item_b")
    rules = counts.mutate(
        support=counts.both / n_orders,
        confidence=counts.both / counts.orders_a,
        lift=(counts.both / counts.orders_a) / (counts.orders_b / n_orders),
    )
    df = rules.order_by([ibis.desc("lift"), ibis.desc("support"), "item_a", "item_b"]).limit(top).to_pandas()
    df = df.rename(columns={"item_a": "antecedent", "item_b": "consequent", "both": "orders_with_both"})
    columns = ["antecedent", "consequent", "orders_with_both", "support", "confidence", "lift"]
    products = _catalogue(store)
    if level == "product" and products is not None and "name" in products.columns:
        names = products.set_index("product_id")["name"]
        df["antecedent_name"], df["consequent_name"] = df["antecedent"].map(names), df["consequent"].map(names)
        columns = ["antecedent", "antecedent_name", "consequent", "consequent_name", *columns[2:]]
    return df[columns]


def _catalogue(store: Store) -> pd.DataFrame | None:
    """The product table without the non-products (postage, fees...), or ``None``."""
    if store.products is None:
        return None
    if store.non_products is None or store.non_products.empty:
        return store.products
    return store.products[~store.products["product_id"].isin(store.non_products["product_id"])]


# ------------------------------------------------------------------ repurchase


def repurchase_intervals(store: Store, *, as_of: Any, since: Any = None) -> pd.DataFrame:
    r"""Per customer: the days between consecutive purchase days, summarised, and the expected next purchase.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id: ``purchase_days``, ``median_interval`` and
        ``mean_interval`` (days; NaN with a single purchase day),
        ``last_purchase`` and ``expected_next`` (last purchase + median interval).

    Examples
    --------
    A store of five receipts (:func:`crm_kit.load_store`): ``a`` bought on 3 August and 20 September
    (48 days apart), ``b`` once, ``c`` on 30 August and 10 September (11 days):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import crm_kit
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "receipt,member,time,sku,qty,paid\n"
    ...     "r1,a,2025-08-03 10:00,p1,1,30\n"
    ...     "r2,a,2025-09-20 11:00,p2,2,50\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n"
    ...     "r4,c,2025-08-30 09:00,p3,1,10\n"
    ...     "r5,c,2025-09-10 18:30,p1,3,45\n")
    >>> store = crm_kit.load_store({"tables": {"transactions": {
    ...     "path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "receipt", "customer_id": "member", "ts": "time",
    ...                 "product_id": "sku", "quantity": "qty", "amount": "paid"}}}})
    >>> from crm_kit import discovery
    >>> intervals = discovery.repurchase_intervals(store, as_of="2025-10-01")
    >>> intervals[["purchase_days", "median_interval", "expected_next"]]
                 purchase_days  median_interval expected_next
    customer_id
    a                        2             48.0    2025-11-07
    b                        1              NaN           NaT
    c                        2             11.0    2025-09-21
    """
    as_of = pd.Timestamp(as_of)
    since = None if since is None else pd.Timestamp(since)
    t = purchases_only(order_grain(store.transactions, cut_at=(as_of, since)))  # a return day is no purchase day
    t = t.filter(t.ts < as_of)
    if since is not None:
        t = t.filter(t.ts >= since)
    days = t.select(customer_id=t.customer_id, day=t.ts.date()).distinct()
    w = ibis.window(group_by="customer_id", order_by="day")
    gaps = days.mutate(prev=days.day.lag().over(w))
    gaps = gaps.mutate(gap=gaps.day.delta(gaps.prev, unit="day"))
    per = gaps.group_by("customer_id").aggregate(
        purchase_days=gaps.day.count(),
        median_interval=gaps.gap.median(),
        mean_interval=gaps.gap.mean(),
        last_purchase=gaps.day.max(),
    )
    df = per.to_pandas().set_index("customer_id").sort_index()
    df["median_interval"] = df["median_interval"].astype(float)
    df["last_purchase"] = pd.to_datetime(df["last_purchase"])
    df["expected_next"] = df["last_purchase"] + pd.to_timedelta(df["median_interval"], unit="D")
    return df


def repurchase_summary(intervals: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Per group: customers with a repeat purchase and quartiles of their median intervals."""
    df = groups[["customer_id", "group"]].set_index("customer_id").join(intervals, how="left")
    g = df.groupby("group")["median_interval"]
    return pd.DataFrame(
        {
            "customers": df.groupby("group").size(),
            "with_repeat": g.count(),
            "q25_days": g.quantile(0.25),
            "median_days": g.median(),
            "q75_days": g.quantile(0.75),
        }
    ).reset_index()


# ------------------------------------------------------------------ KPIs


def growth_kpis(store: Store) -> pd.DataFrame:
    r"""Monthly KPIs: sales, customers, new and returning customers, month-on-month and year-on-year growth.

    A customer is *new* in the month of their first purchase in the data
    (with a member table, the sign-up date is not used: members may join
    long before buying). Store sales include anonymous lines.

    Examples
    --------
    A store of five receipts (:func:`crm_kit.load_store`), August and September 2025:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import crm_kit
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "receipt,member,time,sku,qty,paid\n"
    ...     "r1,a,2025-08-03 10:00,p1,1,30\n"
    ...     "r2,a,2025-09-20 11:00,p2,2,50\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n"
    ...     "r4,c,2025-08-30 09:00,p3,1,10\n"
    ...     "r5,c,2025-09-10 18:30,p1,3,45\n")
    >>> store = crm_kit.load_store({"tables": {"transactions": {
    ...     "path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "receipt", "customer_id": "member", "ts": "time",
    ...                 "product_id": "sku", "quantity": "qty", "amount": "paid"}}}})
    >>> from crm_kit import discovery
    >>> kpis = discovery.growth_kpis(store)
    >>> kpis[["month", "sales", "customers", "new_customers", "sales_mom"]].round({"sales_mom": 3})
         month  sales  customers  new_customers  sales_mom
    0  2025-08   60.0          3              3        NaN
    1  2025-09   95.0          2              0      0.583
    """
    t = order_grain(store.transactions)  # months are whole days: the order table gives the same figures
    bought = purchases_only(t)  # a customer's first month is their first purchase's, never a return's
    first = bought.group_by("customer_id").aggregate(first_month=bought.ts.min().truncate("M"))
    tm = t.mutate(month=t.ts.truncate("M")).left_join(first, "customer_id")
    new = (tm.month == tm.first_month).fill_null(False)
    if "is_return" in tm.columns:
        new = new & ~tm.is_return
    cust = (
        tm.group_by("month")
        .aggregate(
            customer_sales=money_sum(tm.amount),
            customers=buyers(tm),
            new_customers=new.ifelse(tm.customer_id, ibis.null("string")).nunique(),
            orders=distinct_orders(tm),
        )
        .to_pandas()
    )
    a = store.all_lines
    allm = a.mutate(month=a.ts.truncate("M"))
    store_sales = allm.group_by("month").aggregate(sales=money_sum(allm.amount)).to_pandas()
    df = store_sales.merge(cust, on="month", how="left")
    df["month"] = pd.to_datetime(df["month"]).dt.to_period("M")
    # a calendar keeps its empty months: a month with no sale is a row of zeros, and the next month's
    # month-on-month compares with it, not with the month before the gap
    calendar = pd.period_range(df["month"].min(), df["month"].max(), freq="M", name="month") if len(df) else \
        pd.PeriodIndex([], freq="M", name="month")
    df = df.set_index("month").reindex(calendar)
    df[["sales", "customer_sales"]] = df[["sales", "customer_sales"]].fillna(0.0)
    df[["customers", "new_customers", "orders"]] = df[["customers", "new_customers", "orders"]].fillna(0).astype("int64")
    df = df.reset_index()
    df["returning_customers"] = df["customers"] - df["new_customers"]
    s = df.set_index("month")["sales"]
    previous = s.shift(1)
    df["sales_mom"] = (s / previous.where(previous != 0) - 1).to_numpy()
    yoy = s.copy()
    yoy.index = yoy.index + 12
    last_year = yoy.reindex(s.index)
    df["sales_yoy"] = (s / last_year.where(last_year != 0) - 1).to_numpy()
    return df


def new_customer_repeat_rate(store: Store, *, within_days: int = 90, as_of: Any = None) -> pd.DataFrame:
    """Repeat-purchase rate of new customers per cohort month.

    For each month, the customers whose first purchase falls in it, and the
    share of them who bought again (another day) within ``within_days`` of the
    first purchase. Cohorts whose window is not over by ``as_of`` (default:
    the last transaction) are marked incomplete.
    """
    t = purchases_only(order_grain(store.transactions))
    days = t.select(customer_id=t.customer_id, day=t.ts.date()).distinct()
    first = days.group_by("customer_id").aggregate(first_day=days.day.min())
    d = days.join(first, "customer_id")
    d = d.mutate(after=d.day.delta(d.first_day, unit="day"))
    rep = d.group_by(["customer_id", "first_day"]).aggregate(
        repeat=((d.after > 0) & (d.after <= within_days)).any()
    )
    df = rep.to_pandas()
    df["cohort"] = pd.to_datetime(df["first_day"]).dt.to_period("M")
    latest = t.ts_last if "ts_last" in t.columns else t.ts  # an order's last line
    last = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(store.con.execute(latest.max()))
    out = df.groupby("cohort").agg(new_customers=("customer_id", "size"), repeat_rate=("repeat", "mean"))
    if len(out):
        # a month that brought no new customer is a cohort of zero (its rate undefined), not a missing row
        out = out.reindex(pd.period_range(out.index.min(), out.index.max(), freq="M", name="cohort"))
        out["new_customers"] = out["new_customers"].fillna(0).astype("int64")
    out["complete"] = [(p.end_time + pd.Timedelta(days=within_days)) <= last for p in out.index]
    return out.reset_index()


# ------------------------------------------------------------------ target choice

#: the transparent rule behind the target recommendation, as parameters
TARGET_RULE_DEFAULTS: dict[str, float] = {
    # the bottom groups by sales are the low-value candidates for uplift
    "low_value_groups": 3,
    # ticket below this share of the median group ticket: new or dormant
    "dormant_ticket_ratio": 0.3,
    # fewer visits a month than this, with brand loyalty below min_loyalty_ratio x the
    # median group loyalty: rare and not loyal (relative, since the level of the
    # loyalty figure depends on how many brands a catalogue has)
    "min_visits": 1.5,
    "min_loyalty_ratio": 0.9,
}


def recommend_target(behaviour: pd.DataFrame, *, rules: Mapping[str, float] | None = None, override: int | None = None) -> pd.DataFrame:
    """Recommend the group to lift, with the reason each group was kept or dropped.

    The rule reproduces the worked case's reasoning:

    1. only the ``low_value_groups`` lowest groups by sales are candidates
       (the top groups are key customers: keep, do not discount);
    2. drop a group whose ticket is below ``dormant_ticket_ratio`` x the median
       group ticket: it looks new or dormant (a job for acquisition);
    3. drop a group visiting less than ``min_visits`` a month whose brand
       loyalty is below ``min_loyalty_ratio`` x the median group loyalty:
       rare and not loyal, hard to move;
    4. of the rest, pick the group with the highest sales per customer: the
       real visit and ticket base that a campaign can build on.

    Parameters
    ----------
    behaviour
        Output of :func:`behaviour_table`.
    rules
        Overrides of :data:`TARGET_RULE_DEFAULTS`.
    override
        A group the analyst chooses instead; recorded as such.

    Returns
    -------
    pandas.DataFrame
        Per group: ``decision`` (target / candidate / dropped / not low value)
        and ``reason``.
    """
    rules = {**TARGET_RULE_DEFAULTS, **(rules or {})}
    unknown = set(rules) - set(TARGET_RULE_DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown target rule(s) {sorted(unknown)}; known: {sorted(TARGET_RULE_DEFAULTS)}")
    b = behaviour.set_index("group").sort_index()
    n_low = int(rules["low_value_groups"])
    spend = b["sales_per_customer"]
    # groups that spend the same as the n-th lowest are as low as it: a tie is never cut by the order of the rows
    cut = spend.nsmallest(n_low).max()
    low = set(spend.index[np.isclose(spend, cut, rtol=1e-9, atol=1e-9) | (spend < cut)])
    median_ticket = b["ticket"].median()
    min_loyalty = rules["min_loyalty_ratio"] * b["brand_loyalty"].median() if "brand_loyalty" in b else np.nan
    decisions, reasons = {}, {}
    for grp, row in b.iterrows():
        if grp not in low:
            decisions[grp] = "not low value"
            reasons[grp] = f"sales {row['sales_per_customer']:,.0f} per customer: a key or frequent group, keep and serve"
            continue
        if row["ticket"] < rules["dormant_ticket_ratio"] * median_ticket:
            decisions[grp] = "dropped"
            reasons[grp] = (
                f"ticket {row['ticket']:,.0f} < {rules['dormant_ticket_ratio']:.0%} of the median ticket "
                f"{median_ticket:,.0f}: looks new or dormant — acquisition, not uplift"
            )
            continue
        loyalty = row.get("brand_loyalty", np.nan)
        rare = row["visits_per_customer"] < rules["min_visits"]
        if rare and not pd.isna(loyalty) and not pd.isna(min_loyalty) and loyalty < min_loyalty:
            decisions[grp] = "dropped"
            reasons[grp] = (
                f"{row['visits_per_customer']:.1f} visits a month < {rules['min_visits']} and brand loyalty {loyalty:.2f} "
                f"< {min_loyalty:.2f} ({rules['min_loyalty_ratio']:.0%} of the median group): visits rarely and is not loyal"
            )
            continue
        decisions[grp] = "candidate"
        reasons[grp] = (
            f"{row['visits_per_customer']:.1f} visits x ticket {row['ticket']:,.0f}: a real base but low value"
        )
        if rare and (pd.isna(loyalty) or pd.isna(min_loyalty)):
            # the rule drops rare *and* disloyal groups; without brands the second half cannot be shown
            reasons[grp] += "; visits rarely, but brand loyalty is unknown (no brands in the data), so not dropped"
    candidates = [g for g, d in decisions.items() if d == "candidate"]
    if override is not None:
        if override not in b.index:
            raise ParameterError(f"target_group={override!r} is not a group; groups are {list(b.index)}")
        decisions[override] = "target"
        reasons[override] = "chosen by the analyst (target_group parameter); rule said: " + reasons[override]
    elif candidates:
        top = max(b.loc[g, "sales_per_customer"] for g in candidates)
        equals = [g for g in candidates if np.isclose(b.loc[g, "sales_per_customer"], top, rtol=1e-9, atol=1e-9)]
        # among equals the lowest-ranked group is taken (the case lifts a group from the bottom); said as a tie
        best = max(equals)
        decisions[best] = "target"
        if len(equals) > 1:
            reasons[best] += (f" — tied with group(s) {', '.join(str(g) for g in sorted(equals) if g != best)} on sales "
                              "per customer: the pick among equals is arbitrary (the lowest-ranked is taken); "
                              "recommended")
        else:
            reasons[best] += " — highest sales per customer among the candidates: recommended"
    ties = [g for g in b.index if np.isclose(spend, spend[g], rtol=1e-9, atol=1e-9).sum() > 1]
    for g in ties:
        same = [str(h) for h in sorted(b.index) if np.isclose(spend[h], spend[g], rtol=1e-9, atol=1e-9)]
        reasons[g] += f" (a tie: groups {', '.join(same)} spend the same per customer)"
    out = pd.DataFrame({"decision": pd.Series(decisions), "reason": pd.Series(reasons)})
    out.index.name = "group"
    return out.reset_index()


def recommended_group(recommendation: pd.DataFrame) -> int:
    """The group :func:`recommend_target` marked ``target``; a clear error when every group was ruled out."""
    chosen = recommendation.loc[recommendation["decision"] == "target", "group"]
    if chosen.empty:
        why = "; ".join(f"{int(r.group)}: {r.reason}" for r in recommendation.itertuples() if r.decision == "dropped")
        raise EmptyGroupError(
            "no group passes the target rule (" + (why or "no low-value group") + "); "
            "choose one with target_value (or target_group in discovery), or relax the rule's thresholds"
        )
    return int(chosen.iloc[0])


def target_choice(recommendation: pd.DataFrame) -> tuple[int | None, str]:
    """The group :func:`recommend_target` marked ``target`` (or ``None``) and one sentence saying so."""
    chosen = recommendation.loc[recommendation["decision"] == "target", "group"]
    if chosen.empty:
        return None, "No group passes the rule: set target_group, or relax the thresholds above"
    return int(chosen.iloc[0]), f"Target group: {int(chosen.iloc[0])}"


def target_group_tables(store: Store, customer_list: pd.DataFrame, *, group: int | None, period: Any,
                        profile: dict[str, pd.DataFrame] | None = None, top: int = 10) -> list[pd.DataFrame]:
    """What the chosen group buys (its bestsellers) and, with a member profile, its profile row; none without a group."""
    if group is None:
        return []
    ids = customer_list.loc[customer_list["group"] == group, "customer_id"]
    bestsellers = group_bestsellers(store, ids, period=period, top=top)
    if bestsellers.attrs.get("note"):  # skipped (no product column): its one line, as a table of one cell
        bestsellers = pd.DataFrame({"the group's bestsellers": [bestsellers.attrs["note"]]})
    tables = [bestsellers]
    if profile is not None:
        tables.append(profile["summary"].set_index("group").loc[[group]])
    return tables


def store_member_profile(store: Store, customer_list: pd.DataFrame, *, month: Any) -> dict[str, pd.DataFrame] | None:
    """:func:`member_profile` of the month's groups, membership years at the month's end; ``None`` without members."""
    if store.customers is None:
        return None
    return member_profile(store.customers, customer_list, as_of=month_bounds(month)[1])


def profile_fields(profile: dict[str, pd.DataFrame] | None,
                   fields: Sequence[str] = ("occupation", "preferred_channel", "age_band")) -> list[str]:
    """The fields of ``fields`` the profile has share tables for (charted in notebook 01)."""
    return [f for f in fields if profile is not None and f in profile]


_PRODUCT_COLUMNS = ("product_id", "name", "category", "brand", "units", "sales", "weekly_units", "stock",
                    "weeks_of_cover", "class")


def product_view(classes: pd.DataFrame, *, product_class: str | None = None, top: int = 10) -> pd.DataFrame:
    """The product table as shown: the columns the data has, optionally one class only, the first ``top`` rows."""
    shown = classes if product_class is None else classes[classes["class"] == product_class]
    return shown[[c for c in _PRODUCT_COLUMNS if c in classes.columns]].head(top)


def pair_level(store: Store, requested: str) -> str:
    """The level of the bought-together analysis: ``requested``, or product level when the data has no categories."""
    if requested not in ("category", "product"):
        raise ParameterError(f"pair_level={requested!r}: use 'category' or 'product'")
    return requested if (requested == "product" or store.has_categories) else "product"
