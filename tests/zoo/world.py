"""One synthetic truth per shape: customers, orders, lines, statuses, refunds and returns — and its monthly figures.

Every zoo shape is written from a :class:`World` made by :func:`make_world`; :func:`truth` computes the monthly
figures from the world with pandas, never through the kit, by the data-spec contract of issue 37:

* a *purchase order* is an order whose status is a purchase (``paid`` or ``partially_refunded``); ``cancelled``,
  ``unpaid`` and ``refunded`` (refunded in full) orders are not purchases;
* **buyers** of a month: distinct identified customers with at least one purchase order in the month (by the
  order's shop-local time); anonymous orders (walk-ins) have none;
* **visits**: distinct purchase orders of identified customers;
* **gross sales**: the purchase orders' line amounts (anonymous orders included: store totals);
* **net sales**: gross − money refunded on purchase orders (in the order's month) − returns (in the return's month).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: the generic statuses of the world; each shape writes them in its platform's words
PURCHASE = ("paid", "partially_refunded")
NOT_PURCHASE = ("cancelled", "unpaid", "refunded")

FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas")
LAST_NAMES = ("Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright",
              "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Lewis",
              "Martin", "Jackson", "Clarke", "Clark", "Turner", "Hill", "Scott", "Cooper", "Morris", "Ward",
              "Moore", "King", "Watson", "Baker", "Harrison", "Morgan", "Patel", "Young", "Allen", "Mitchell",
              "James", "Anderson", "Phillips", "Lee", "Bell", "Parker", "Davis", "Miller", "Carter", "Shaw")


@dataclass
class Features:
    """What a platform's export can hold: which statuses, refunds, returns, walk-ins, how many lines an order has."""

    customers: int = 100
    months: tuple[str, str] = ("2024-01", "2024-06")
    #: share of orders of each not-purchase status (cancelled, unpaid, refunded in full)
    cancelled: float = 0.0
    unpaid: float = 0.0
    refunded: float = 0.0
    #: share of purchase orders with part of one line refunded (status partially_refunded)
    partial_refunds: float = 0.0
    #: share of paid orders with one line returned later (a return event on its own date)
    returns: float = 0.0
    #: share of orders without a customer (walk-ins at a till)
    anonymous: float = 0.0
    max_lines: int = 3
    #: unit prices: "small" (dollars), "cny" (yuan, a few over 1,000), "yen" (whole yen)
    prices: str = "small"
    visits_per_month: float = 1.2


@dataclass
class World:
    """The truth one shape is written from."""

    customers: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    returns: pd.DataFrame
    features: Features = field(default_factory=Features)


def _products(rng: np.random.Generator, kind: str, n: int = 60) -> pd.DataFrame:
    if kind == "yen":
        price = rng.choice([108, 216, 324, 540, 980, 1280, 1980, 3240], n).astype(float)
    elif kind == "cny":
        price = np.round(rng.choice([9.9, 19.9, 39.0, 59.0, 128.0, 299.0, 458.5, 1286.01, 2399.0], n)
                         * rng.choice([1.0, 1.0, 0.9], n), 2)
    else:
        price = np.round(rng.gamma(2.0, 9.0, n) + 1.5, 2)
    names = [f"{adj} {noun}" for adj, noun in zip(rng.choice(["Blue", "Red", "Small", "Large", "Classic", "Soft"], n),
                                                    rng.choice(["Mug", "Shirt", "Candle", "Towel", "Tea", "Notebook",
                                                                "Scarf", "Soap"], n))]
    return pd.DataFrame({"pid": np.arange(n), "sku": [f"SKU-{i:04d}" for i in range(n)], "name": names,
                         "price": price, "category": rng.choice(["home", "apparel", "food", "gifts"], n)})


def _customers(n: int) -> pd.DataFrame:
    idx = np.arange(n)
    first = [FIRST_NAMES[i % len(FIRST_NAMES)] for i in idx]
    last = [LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)] + ("" if i < 500 else str(i // 500)) for i in idx]
    return pd.DataFrame({
        "cid": idx, "code": [f"C{i:05d}" for i in idx],
        "first": first, "last": last, "name": [f"{f} {s}" for f, s in zip(first, last)],
        "email": [f"{f.lower()}.{s.lower()}{i}@example.com" for i, (f, s) in enumerate(zip(first, last))],
        "phone": [f"+1 555 {1000 + i:04d}" for i in idx],
        "mobile_cn": [f"138{i:08d}" for i in idx],
        "nick": [f"user_{i:04d}" for i in idx],
        "city": np.array(["Springfield", "Riverside", "Fairview", "Madison", "Georgetown"])[idx % 5],
        "address": [f"{10 + i} Main Street" for i in idx],
    })


def make_world(features: Features, seed: int) -> World:
    """Customers, orders with lines, statuses, partial refunds and later returns, all seeded."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(features.months[0] + "-01")
    end = (pd.Period(features.months[1], "M") + 1).to_timestamp()
    span_days = (end - start).days
    customers = _customers(features.customers)
    products = _products(rng, features.prices)
    n_months = len(pd.period_range(features.months[0], features.months[1], freq="M"))
    n_orders = int(features.customers * n_months * features.visits_per_month)
    # customers differ in how often they come (a skewed activity), and walk-ins have none
    weight = rng.gamma(1.2, 1.0, features.customers)
    cid = rng.choice(features.customers, n_orders, p=weight / weight.sum()).astype("float64")
    cid[rng.random(n_orders) < features.anonymous] = np.nan
    seconds = rng.integers(0, span_days * 86400, n_orders)
    ts = start + pd.to_timedelta(seconds, unit="s")
    # shops open 8:00-22:00: move the hour, keep the day (an order at 00:30 on the 1st stays on the 1st)
    ts = ts.normalize() + pd.to_timedelta(rng.integers(8 * 3600, 22 * 3600, n_orders), unit="s")
    order = pd.DataFrame({"cid": cid, "ts": ts}).sort_values("ts", kind="stable").reset_index(drop=True)
    order["order_no"] = np.arange(1, n_orders + 1)
    order["cid"] = order["cid"].astype("Int64")
    u = rng.random(n_orders)
    status = np.full(n_orders, "paid", dtype=object)
    cuts = np.cumsum([features.cancelled, features.unpaid, features.refunded])
    status[u < cuts[2]] = "refunded"
    status[u < cuts[1]] = "unpaid"
    status[u < cuts[0]] = "cancelled"
    order["status"] = status

    n_lines = rng.integers(1, features.max_lines + 1, n_orders)
    lines = pd.DataFrame({"order_no": np.repeat(order["order_no"].to_numpy(), n_lines)})
    lines["line_no"] = lines.groupby("order_no").cumcount() + 1
    # distinct products within an order
    lines["pid"] = (lines["order_no"] * 7 + lines["line_no"] * 13 + rng.integers(0, 3, len(lines))) % len(products)
    lines = lines.drop_duplicates(["order_no", "pid"]).reset_index(drop=True)
    lines["line_no"] = lines.groupby("order_no").cumcount() + 1
    lines["qty"] = rng.choice([1, 1, 1, 2, 2, 3], len(lines))
    lines["price"] = products["price"].to_numpy()[lines["pid"].to_numpy()]
    lines["amount"] = np.round(lines["qty"] * lines["price"], 2)
    lines = lines.merge(products[["pid", "sku", "name", "category"]], on="pid", how="left")

    # partial refunds: some units of the first line of a paid order, refunded on the order
    paid = order.index[order["status"] == "paid"].to_numpy()
    partial = paid[rng.random(len(paid)) < features.partial_refunds]
    order["refunded"] = 0.0
    first_line = lines[lines["line_no"] == 1].set_index("order_no")
    if len(partial):
        nos = order.loc[partial, "order_no"].to_numpy()
        units = np.minimum(first_line.loc[nos, "qty"].to_numpy(), rng.integers(1, 3, len(nos)))
        order.loc[partial, "refunded"] = np.round(units * first_line.loc[nos, "price"].to_numpy(), 2)
        order.loc[partial, "refund_units"] = units
        order.loc[partial, "status"] = "partially_refunded"
    order["refund_units"] = order.get("refund_units", pd.Series(np.nan, index=order.index)).fillna(0).astype(int)

    # returns: the whole first line of a paid order, brought back 2-20 days later (inside the data's months)
    still_paid = order.index[order["status"] == "paid"].to_numpy()
    back = still_paid[rng.random(len(still_paid)) < features.returns]
    nos = order.loc[back, "order_no"].to_numpy()
    rts = order.loc[back, "ts"].to_numpy() + pd.to_timedelta(rng.integers(2 * 86400, 20 * 86400, len(back)), unit="s")
    returns = pd.DataFrame({"order_no": nos, "cid": order.loc[back, "cid"].to_numpy(), "ts": pd.to_datetime(rts)})
    returns = returns.merge(first_line[["pid", "sku", "name", "qty", "price", "amount"]], left_on="order_no",
                            right_index=True, how="left")
    returns = returns[(returns["ts"] < end) & (returns["ts"].dt.hour.between(8, 21))]
    returns = returns.sort_values("ts", kind="stable").reset_index(drop=True)
    returns["return_no"] = np.arange(1, len(returns) + 1)
    returns["cid"] = returns["cid"].astype("Int64")
    return World(customers, products, order, lines, returns, features)


def order_totals(world: World) -> pd.Series:
    """Each order's merchandise total (the sum of its lines), by order_no."""
    return world.lines.groupby("order_no")["amount"].sum().round(2)


def truth(world: World) -> pd.DataFrame:
    """Monthly buyers, visits, gross and net sales of the world (see the module docstring), one row per month."""
    o = world.orders.copy()
    o["sales"] = o["order_no"].map(order_totals(world)).fillna(0.0)
    p = o[o["status"].isin(PURCHASE)].copy()
    p["month"] = p["ts"].dt.to_period("M")
    known = p[p["cid"].notna()]
    months = pd.period_range(world.features.months[0], world.features.months[1], freq="M", name="month")
    r = world.returns.assign(month=world.returns["ts"].dt.to_period("M"))
    out = pd.DataFrame({
        "buyers": known.groupby("month")["cid"].nunique(),
        "visits": known.groupby("month")["order_no"].nunique(),
        "gross": p.groupby("month")["sales"].sum(),
        "refunds": p.groupby("month")["refunded"].sum(),
        "returns": r.groupby("month")["amount"].sum(),
    }).reindex(months).fillna(0)
    out["net"] = out["gross"] - out["refunds"] - out["returns"]
    out[["buyers", "visits"]] = out[["buyers", "visits"]].astype("int64")
    return out[["buyers", "visits", "gross", "net"]].round(2)
