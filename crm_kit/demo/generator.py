"""The seeded demo membership store: a client of the package that plants the worked case.

The demo store reproduces the worked case of BRIEF.md: a membership
warehouse store whose base month (``2025-09``) has 11,550 paying members in
ten equal groups with monthly average sales of 8000, 6000, 5200, 4100, 2570,
2100, 1600, 1100, 600 and 100; group 8 visits about twice a month with a
ticket of about 550, is young, often a student, prefers WeChat, is promotion
sensitive and not brand loyal, and buys toiletries and snacks.

Thirteen months of history (2024-09 .. 2025-09) come with weekly and seasonal
patterns. Two campaign months follow: round one (2025-10) on group 8 with a
random control group, where only WeChat-using students really respond; round
two (2025-11) on round one's A4 members (SMS + phone ordering with free
delivery) with its own control group, where non-students respond. The true
effects are written to ``ground_truth.json`` and
``ground_truth_customers.parquet``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from ..campaign import assign_arms
from ..config import demo_dir
from ..engine import group_sizes
from ..errors import DataError, ParameterError
from ..results import classify_round_one, growth_table
from .plan import DEMO_GROUP_SALES, DEMO_GROUP_VISITS, DEMO_MONTHS, DEMO_ROUNDS, DEMO_SEED

__all__ = [
    "generate_demo_store",
    "demo_data_spec",
    "ensure_demo_store",
    "default_demo_dir",
]

#: bumped whenever the generator's output changes, so an older store in data/demo is regenerated
DEMO_VERSION = 3

CATEGORIES = (
    # name, share of spend for an ordinary member, price range of an item
    ("personal care", 0.09, (15, 90)),
    ("snacks", 0.08, (5, 40)),
    ("dairy", 0.08, (8, 45)),
    ("grains and oils", 0.08, (20, 120)),
    ("beverages", 0.08, (4, 60)),
    ("fresh produce", 0.12, (5, 50)),
    ("meat and seafood", 0.12, (30, 180)),
    ("household paper", 0.05, (15, 70)),
    ("cleaning", 0.05, (10, 60)),
    ("frozen", 0.06, (15, 80)),
    ("wine and spirits", 0.06, (40, 400)),
    ("baby", 0.04, (30, 250)),
    ("small appliances", 0.05, (99, 899)),
    ("home and apparel", 0.04, (29, 299)),
)
_GROUP8_MIX = {"personal care": 0.30, "snacks": 0.30}
_WEEKLY_SAMPLES = {
    "household paper": "Tissue paper 10-pack",
    "dairy": "Fresh milk 1L x 6",
    "personal care": "Shampoo 400ml",
    "grains and oils": "Mixed grains 2kg",
}
_SEASON = {1: 1.12, 2: 1.18, 3: 0.95, 4: 0.96, 5: 1.00, 6: 0.98, 7: 0.97, 8: 0.99, 9: 1.00, 10: 1.07, 11: 1.12, 12: 1.15}
_WEEKDAY_WEIGHT = np.array([0.85, 0.80, 0.85, 0.90, 1.05, 1.45, 1.40])  # Mon..Sun

AGE_BANDS = ("18-25", "26-35", "36-45", "46-55", "56-65", "65+")
OCCUPATIONS = (
    "trade", "marketing", "advertising", "commercial services", "finance/insurance", "technical",
    "medical", "real estate", "transport", "teacher", "military", "freelance", "student", "other",
)
JOB_LEVELS = ("head of unit", "head of department", "head of section", "staff")
PERSONAL_INCOME = ("<3000", "3001-6000", "6001-9000", ">9000")
HOUSEHOLD_INCOME = ("<8000", "8001-16000", "16001-24000", ">24000")
HOBBIES = ("travel", "beauty/fitness", "entertainment/shopping", "internet", "art", "literature", "other")
CHANNELS = ("WeChat", "SMS", "email", "Weibo")
HOUSING = ("owned without loan", "owned with loan", "rented", "with parents", "company dorm", "other")
HOUSING_AREA = ("<60", "60-90", "90-120", "120-150", ">150")
REGIONS = ("north district", "south district", "east district", "west district", "city centre", "suburbs")


def default_demo_dir() -> Path:
    """``data/demo`` in the project (git-ignored), or ``$CRM_KIT_DEMO_DIR``."""
    return demo_dir()


def _month_starts(first: str, n: int) -> list[pd.Timestamp]:
    start = pd.Timestamp(first + "-01")
    return [start + pd.DateOffset(months=i) for i in range(n)]


def _choose_rows(weights: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one column index per entry of ``rows`` from the row's weights (vectorised)."""
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int64)
    step = 2_000_000
    for lo in range(0, len(rows), step):
        hi = lo + step
        out[lo:hi] = (cum[rows[lo:hi]] < u[lo:hi, None]).sum(axis=1)
    return np.minimum(out, weights.shape[1] - 1)


def _products(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    pid = 0
    for c, (cat, _share, (lo, hi)) in enumerate(CATEGORIES):
        n_brands = 5
        for b in range(n_brands):
            n_items = 8
            for k in range(n_items):
                pid += 1
                price = float(np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), 1))
                name = f"{cat.title()} {chr(65 + b)}-{k + 1}"
                if b == 0 and k == 0 and cat in _WEEKLY_SAMPLES:
                    name = _WEEKLY_SAMPLES[cat]
                rows.append((f"P{pid:04d}", name, cat, f"{cat[:3].upper()}-{chr(65 + b)}", price, c, b, k))
    df = pd.DataFrame(rows, columns=["product_id", "name", "category", "brand", "unit_price", "_c", "_b", "_k"])
    # popularity: Zipf within a brand, brands of unequal pull, a tail of slow movers
    brand_pull = np.array([1.0, 0.7, 0.45, 0.3, 0.15])
    df["_pop"] = brand_pull[df["_b"]] / (df["_k"] + 1.0) ** 1.3
    slow = rng.random(len(df)) < 0.12
    df.loc[slow, "_pop"] *= 0.02
    return df


def _members(rng: np.random.Generator, n: int, groups: np.ndarray, base_start: pd.Timestamp):
    g8 = groups == 8
    young = (groups >= 7) & (groups <= 9)
    # occupation: group 8 is mostly students; others mostly working
    p_student = np.where(g8, 0.6, np.where(groups == 9, 0.12, np.where(groups == 10, 0.10, 0.04)))
    student = rng.random(n) < p_student
    other_occ = np.array([o for o in OCCUPATIONS if o != "student"])
    occupation = np.where(student, "student", other_occ[rng.integers(0, len(other_occ), n)])
    # age: students 18-24, the rest mostly 25-34 (the source's 25-29 = 37.88% shape)
    age = np.where(
        student,
        rng.integers(18, 25, n),
        _choose_rows(np.array([[0.10, 0.44, 0.28, 0.10, 0.05, 0.03]]), np.zeros(n, dtype=int), rng),
    )
    edges = np.array([[18, 25], [25, 30], [30, 35], [35, 46], [46, 56], [56, 70]])
    non_student = ~student
    lo, hi = edges[age[non_student]].T
    age = age.astype(np.int64)
    age[non_student] = rng.integers(lo, hi)
    age_band = pd.cut(age, [17, 25, 35, 45, 55, 65, 200], labels=AGE_BANDS).astype(str)
    # channel: WeChat for most of group 8, above all its students
    p_wechat = np.where(g8, np.where(student, 0.92, 0.25), 0.30)
    wechat_pref = rng.random(n) < p_wechat
    others = np.array(["SMS", "email", "Weibo"])
    other_w = np.where(
        (age >= 36)[:, None], np.array([[0.7, 0.2, 0.1]]), np.array([[0.35, 0.25, 0.4]])
    )
    preferred = np.where(wechat_pref, "WeChat", others[_choose_rows(other_w, np.arange(n), rng)])
    uses_wechat = wechat_pref | (rng.random(n) < np.where(student, 0.9, np.where(age >= 46, 0.25, 0.55)))
    income_level = np.clip(
        np.where(student, 0, np.round(3.2 - 0.25 * groups + rng.normal(0, 0.8, n))), 0, 3
    ).astype(int)
    personal_income = np.array(PERSONAL_INCOME)[income_level]
    hh_level = np.clip(income_level + rng.integers(-1, 2, n), 0, 3)
    household_income = np.array(HOUSEHOLD_INCOME)[hh_level]
    single = np.where(student | young, rng.random(n) < 0.8, rng.random(n) < 0.3)
    marital = np.where(single, "single", "married")
    household_size = np.where(single, rng.integers(1, 3, n), rng.integers(2, 6, n))
    job_level = np.where(student, "none", np.array(JOB_LEVELS)[_choose_rows(np.array([[0.05, 0.12, 0.23, 0.6]]), np.zeros(n, dtype=int), rng)])
    housing = np.where(
        student, np.where(rng.random(n) < 0.6, "with parents", "company dorm"),
        np.array(HOUSING)[_choose_rows(np.array([[0.25, 0.35, 0.25, 0.08, 0.02, 0.05]]), np.zeros(n, dtype=int), rng)],
    )
    # tenure: group 10 holds the new members; others joined over the past years
    days_before = np.where(
        groups == 10,
        np.where(rng.random(n) < 0.5, rng.integers(0, 60, n), rng.integers(60, 2000, n)),
        rng.integers(400, 3000, n),
    )
    signup = (base_start + pd.Timedelta(days=29)) - pd.to_timedelta(days_before, unit="D")
    customers = pd.DataFrame(
        {
            "customer_id": [f"M{i + 1:06d}" for i in range(n)],
            "signup_date": signup.normalize(),
            "gender": np.where(rng.random(n) < np.where(g8, 0.6, 0.52), "female", "male"),
            "age": age,
            "age_band": age_band,
            "occupation": occupation,
            "job_level": job_level,
            "marital_status": marital,
            "personal_income": personal_income,
            "household_income": household_income,
            "household_size": household_size.astype(np.int64),
            "hobby": np.array(HOBBIES)[rng.integers(0, len(HOBBIES), n)],
            "preferred_channel": preferred,
            "uses_wechat": uses_wechat,
            "housing": housing,
            "housing_area": np.array(HOUSING_AREA)[np.clip(hh_level + rng.integers(0, 2, n), 0, 4)],
            "owns_car": rng.random(n) < (0.15 + 0.12 * hh_level),
            "region": np.array(REGIONS)[rng.integers(0, len(REGIONS), n)],
            "birthday_type": np.where(rng.random(n) < 0.3, "lunar", "solar"),
        }
    )
    birth_year = base_start.year - age
    personal = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "name": [f"Member {i + 1}" for i in range(n)],
            "phone": [f"1{3 + i % 6}{(i * 7919) % 10**9:09d}" for i in range(n)],
            "email": [f"member{i + 1}@example.com" for i in range(n)],
            "wechat_id": [f"wx_m{i + 1:06d}" for i in range(n)],
            "id_type": "resident id",
            "id_number": [f"110{(i * 104729) % 10**6:06d}{birth_year[i]}0101{i % 1000:03d}" for i in range(n)],
            "address": [f"{(i % 300) + 1} Example Road" for i in range(n)],
            "postcode": [f"{100000 + (i % 900):06d}" for i in range(n)],
            "birthday": pd.to_datetime([f"{y}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i, y in enumerate(birth_year)]),
        }
    )
    return customers, personal, student


def _visit_lines(
    rng, products, cust_idx, ticket, month_idx, months, cat_mix, fav_brand, loyalty, promo_sens
):
    """Expand visits into line items (all vectorised)."""
    n_visits = len(cust_idx)
    # visit timestamps: weekday-weighted day within the month, opening hours
    days_in = np.array([m.days_in_month for m in months])
    wd = np.zeros((len(months), 31))
    for i, m in enumerate(months):
        weekday = (m.dayofweek + np.arange(days_in[i])) % 7
        wd[i, : days_in[i]] = _WEEKDAY_WEIGHT[weekday]
    day = _choose_rows(wd, month_idx, rng)
    seconds = rng.integers(9 * 3600, 21 * 3600, n_visits)
    starts = np.array([m.value for m in months], dtype=np.int64)
    ts = starts[month_idx] + (day * 86400 + seconds).astype(np.int64) * 1_000_000_000
    # lines per visit, and each line's share of the ticket
    n_lines = np.minimum(1 + rng.poisson(ticket / 180.0), 30)
    visit_of_line = np.repeat(np.arange(n_visits), n_lines)
    w = rng.exponential(1.0, len(visit_of_line))
    w_sum = np.bincount(visit_of_line, weights=w, minlength=n_visits)
    amount = np.round(ticket[visit_of_line] * w / w_sum[visit_of_line], 2)
    amount = np.maximum(amount, 0.5)
    cust_line = cust_idx[visit_of_line]
    n_cat = cat_mix.shape[1]
    category = _choose_rows(cat_mix, cust_line, rng)
    # planted baskets: snacks pull beverages, meat pulls wine into the same receipt
    cat_names = [c[0] for c in CATEGORIES]
    same_visit_next = np.r_[visit_of_line[1:] == visit_of_line[:-1], False]
    for lead, follow, p in (("snacks", "beverages", 0.5), ("meat and seafood", "wine and spirits", 0.3)):
        pull = (category == cat_names.index(lead)) & same_visit_next & (rng.random(len(category)) < p)
        category[np.flatnonzero(pull) + 1] = cat_names.index(follow)
    n_brands = 5
    # a customer not sticking to a favourite picks any brand of the category
    random_brand = rng.integers(0, n_brands, len(cust_line))
    loyal = rng.random(len(cust_line)) < loyalty[cust_line]
    brand = np.where(loyal, fav_brand[cust_line, category], random_brand)
    pop = products["_pop"].to_numpy().reshape(n_cat * n_brands, -1)
    item = _choose_rows(pop, category * n_brands + brand, rng)
    prod_row = (category * n_brands + brand) * pop.shape[1] + item
    promo = rng.random(len(cust_line)) < promo_sens[cust_line]
    price = products["unit_price"].to_numpy()[prod_row] * np.where(promo, 0.8, 1.0)
    quantity = np.maximum(1, np.round(amount / price)).astype(np.int64)
    # one line per product per receipt: merge repeats of a product within a visit
    key = visit_of_line.astype(np.int64) * len(products) + prod_row
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return {
        "visit": visit_of_line[first],
        "ts": ts,
        "product_row": prod_row[first],
        "quantity": np.bincount(inverse, weights=quantity).astype(np.int64),
        "amount": np.round(np.bincount(inverse, weights=amount), 2),
        "promo": np.bincount(inverse, weights=promo).astype(bool),
    }


def generate_demo_store(
    out_dir: str | os.PathLike | None = None,
    *,
    n_members: int = 11550,
    seed: int = DEMO_SEED,
    overwrite: bool = False,
) -> Path:
    """Generate the demo membership store as Parquet files.

    Parameters
    ----------
    out_dir
        Target folder (default :func:`default_demo_dir`). Files written:
        ``transactions``, ``customers``, ``customers_personal``, ``products``,
        ``contacts`` (``.parquet``), ``ground_truth.json`` and
        ``ground_truth_customers.parquet``.
    n_members
        Members paying in the base month (the case: 11,550); scales everything.
    seed
        Random seed: the same seed and size give byte-identical files.
    overwrite
        Replace an existing store in ``out_dir``.

    Returns
    -------
    pathlib.Path
        The folder written.
    """
    if not isinstance(n_members, (int, np.integer)) or n_members < 100:
        raise ParameterError(f"n_members={n_members!r}: the demo store needs at least 100 members")
    out = Path(out_dir) if out_dir is not None else default_demo_dir()
    if (out / "transactions.parquet").exists() and not overwrite:
        raise DataError(f"a demo store already exists in {out}; pass overwrite=True to replace it")
    rng = np.random.default_rng(seed)
    n = int(n_members)
    months = _month_starts(DEMO_MONTHS["history_start"], 15)
    base_m, r1_m, r2_m = 12, 13, 14
    base_start = months[base_m]

    # --- members and their planted base-month group -------------------------
    sizes = group_sizes(n, 10)
    groups = rng.permutation(np.repeat(np.arange(1, 11), sizes))
    customers, personal, student = _members(rng, n, groups, base_start)
    means = np.array(DEMO_GROUP_SALES)
    gaps = np.abs(np.diff(means))
    half = np.array([min(gaps[g - 1] if g > 0 else np.inf, gaps[g] if g < 9 else 0.9 * means[9] / 0.45) for g in range(10)])
    half = 0.45 * half
    gi = groups - 1
    base_sales = means[gi] + rng.uniform(-1, 1, n) * half[gi]
    mean_visits = np.array(DEMO_GROUP_VISITS)[gi]
    base_visits = np.where(
        groups == 8,
        _choose_rows(np.array([[0.0, 0.15, 0.7, 0.15]]), np.zeros(n, dtype=int), rng),
        np.where(mean_visits <= 1, 1, np.maximum(1, np.round(mean_visits + rng.normal(0, 0.8, n)))),
    ).astype(np.int64)

    # --- latent habits: level shrinks toward the store mean (regression to the mean)
    log_level = np.log(base_sales) + 0.18 * (np.log(2000.0) - np.log(base_sales)) + rng.normal(0, 0.15, n)
    level = np.exp(log_level)
    visit_rate = np.maximum(0.3, mean_visits * (level / base_sales) ** 0.5)
    dormant = (groups == 10) & (rng.random(n) < 0.5)
    visit_rate = np.where(dormant, 0.35, visit_rate)
    ticket_level = level / visit_rate
    g8 = groups == 8
    loyalty = np.clip(np.where(g8, 0.25, np.where(groups == 9, 0.1, 0.75)) + rng.normal(0, 0.08, n), 0.02, 0.98)
    promo_sens = np.clip(np.where(g8, 0.55, 0.18) + rng.normal(0, 0.07, n), 0.0, 0.95)
    shares = np.array([c[1] for c in CATEGORIES])
    cat_names = [c[0] for c in CATEGORIES]
    g8_mix = shares.copy()
    for cat, s in _GROUP8_MIX.items():
        g8_mix[cat_names.index(cat)] = s
    g8_mix[[i for i, c in enumerate(cat_names) if c not in _GROUP8_MIX]] *= (1 - sum(_GROUP8_MIX.values())) / shares[
        [i for i, c in enumerate(cat_names) if c not in _GROUP8_MIX]
    ].sum()
    alpha = np.where(g8[:, None], g8_mix[None, :], shares[None, :]) * 40
    cat_mix = rng.gamma(alpha)
    fav_brand = _choose_rows(np.array([[0.4, 0.25, 0.18, 0.12, 0.05]]), np.zeros(n * len(CATEGORIES), dtype=int), rng).reshape(
        n, len(CATEGORIES)
    )
    signup = customers["signup_date"].to_numpy()

    # --- visits per customer-month -------------------------------------------
    season = np.array([_SEASON[m.month] for m in months])
    visits = np.zeros((n, 15), dtype=np.int64)
    tickets_scale = np.ones((n, 15))
    for m in range(15):
        if m == base_m:
            visits[:, m] = base_visits
            continue
        active = signup <= np.datetime64(months[m] + pd.offsets.MonthEnd(0))
        lam = visit_rate * season[m] ** 0.6
        visits[:, m] = np.where(active, rng.poisson(lam), 0)
        tickets_scale[:, m] = season[m] ** 0.4 * rng.lognormal(0, 0.12, n)
    # a monthly churn hazard after the base month
    churned_r1 = rng.random(n) < 0.03
    churned_r2 = churned_r1 | (rng.random(n) < 0.03)
    visits[churned_r1, r1_m] = 0
    visits[churned_r2, r2_m] = 0

    # --- round one: group 8, random control, heterogeneous true effect -------
    ids = customers["customer_id"].to_numpy()
    r1 = DEMO_ROUNDS["round1"]
    target1 = customers.loc[g8, ["customer_id", "preferred_channel"]]
    arms1 = assign_arms(target1, control_share=r1["control_share"], stratify_by=r1["stratify_by"], seed=r1["seed"])
    idx1 = np.searchsorted(ids, arms1["customer_id"].to_numpy())
    treated1 = arms1["arm"].to_numpy() == "treatment"
    responder1 = student[idx1] & customers["uses_wechat"].to_numpy()[idx1]
    visit_mult = np.where(responder1, 1.6, 1.05)
    ticket_mult = np.where(responder1, 1.45, 1.03)
    u = rng.random(len(idx1))
    lam0 = visit_rate[idx1] * season[r1_m] ** 0.6
    v0 = np.where(churned_r1[idx1], 0, stats.poisson.ppf(u, lam0)).astype(np.int64)
    v1 = np.where(churned_r1[idx1], 0, stats.poisson.ppf(u, lam0 * visit_mult)).astype(np.int64)
    t0 = ticket_level[idx1] * tickets_scale[idx1, r1_m]
    t1 = t0 * ticket_mult
    visits[idx1, r1_m] = np.where(treated1, v1, v0)
    tickets_scale[idx1, r1_m] = np.where(treated1, tickets_scale[idx1, r1_m] * ticket_mult, tickets_scale[idx1, r1_m])
    responded1 = np.where(treated1, rng.random(len(idx1)) < np.where(responder1, 0.8, 0.08), False)

    # --- per-visit tickets -----------------------------------------------------
    cust_idx = np.repeat(np.arange(n), visits.sum(axis=1))
    month_idx = np.repeat(np.tile(np.arange(15), n), visits.ravel())  # customer-major, like cust_idx
    ticket = ticket_level[cust_idx] * tickets_scale[cust_idx, month_idx] * rng.lognormal(0, 0.25, len(cust_idx))
    # base month: split each member's planted base sales over their visits exactly
    is_base = month_idx == base_m
    bw = rng.gamma(4.0, 1.0, is_base.sum())
    base_cust = cust_idx[is_base]
    bw_sum = np.bincount(base_cust, weights=bw, minlength=n)
    ticket[is_base] = base_sales[base_cust] * bw / bw_sum[base_cust]

    # --- round two: round one's A4 (as the kit computes it), SMS + phone ordering
    treated_ids = arms1.loc[treated1, "customer_id"].to_numpy()
    tpos = np.searchsorted(ids, treated_ids)
    vb, vc = visits[tpos, base_m], visits[tpos, r1_m]
    r2 = DEMO_ROUNDS["round2"]

    prods = _products(rng)
    lines = _visit_lines(
        rng, prods, cust_idx, ticket, month_idx, months, cat_mix, fav_brand, loyalty, promo_sens
    )
    line_cust = cust_idx[lines["visit"]]
    line_month = month_idx[lines["visit"]]
    sales_cm = np.zeros((n, 15))
    np.add.at(sales_cm, (line_cust, line_month), lines["amount"])
    metrics = pd.DataFrame(
        {
            "visits_base": vb,
            "sales_base": sales_cm[tpos, base_m],
            "visits_campaign": vc,
            "sales_campaign": sales_cm[tpos, r1_m],
        },
        index=pd.Index(treated_ids, name="customer_id"),
    )
    metrics["ticket_base"] = metrics["sales_base"] / metrics["visits_base"].where(metrics["visits_base"] > 0)
    metrics["ticket_campaign"] = metrics["sales_campaign"] / metrics["visits_campaign"].where(metrics["visits_campaign"] > 0)
    groups_r1 = classify_round_one(growth_table(metrics), freq_goal=r1["freq_goal"], ticket_goal=r1["ticket_goal"])
    a4_ids = groups_r1.index[groups_r1 == "A4"].to_numpy()
    arms2 = assign_arms(pd.DataFrame({"customer_id": a4_ids}), control_share=r2["control_share"], seed=r2["seed"])
    idx2 = np.searchsorted(ids, arms2["customer_id"].to_numpy())
    treated2 = arms2["arm"].to_numpy() == "treatment"
    phone_rate = np.where(student[idx2], 0.1, 1.2)
    extra_orders = np.where(treated2 & ~churned_r2[idx2], rng.poisson(phone_rate), 0)
    phone_cust = np.repeat(idx2, extra_orders)
    phone_ticket = ticket_level[phone_cust] * 0.55 * rng.lognormal(0, 0.2, len(phone_cust))
    phone_month = np.full(len(phone_cust), r2_m)
    responded2 = np.where(treated2, extra_orders > 0, False)
    plines = _visit_lines(
        rng, prods, phone_cust, phone_ticket, phone_month, months, cat_mix, fav_brand, loyalty, promo_sens
    )
    expected_phone_sales = np.where(~churned_r2[idx2], phone_rate * ticket_level[idx2] * 0.55 * np.exp(0.2**2 / 2), 0.0)

    # --- assemble transactions ------------------------------------------------
    n_store_visits = len(cust_idx)
    all_visit_cust = np.concatenate([cust_idx, phone_cust])
    all_visit_ts = np.concatenate([lines["ts"], plines["ts"]])
    order_rank = np.argsort(all_visit_ts, kind="stable")
    order_no = np.empty(len(order_rank), dtype=np.int64)
    order_no[order_rank] = np.arange(len(order_rank))
    visit_all = np.concatenate([lines["visit"], plines["visit"] + n_store_visits])
    tx = pd.DataFrame(
        {
            "customer_id": ids[all_visit_cust[visit_all]],
            "order_id": np.char.add("O", np.char.zfill(order_no[visit_all].astype(str), 8)),
            "ts": pd.to_datetime(all_visit_ts[visit_all]),
            "product_id": prods["product_id"].to_numpy()[np.concatenate([lines["product_row"], plines["product_row"]])],
            "quantity": np.concatenate([lines["quantity"], plines["quantity"]]),
            "amount": np.concatenate([lines["amount"], plines["amount"]]),
            "promo": np.concatenate([lines["promo"], plines["promo"]]),
            "channel": np.concatenate([np.full(len(lines["visit"]), "store"), np.full(len(plines["visit"]), "phone")]),
        }
    )
    tx = tx.sort_values(["ts", "order_id", "product_id"], kind="stable").reset_index(drop=True)

    # --- products: stock on hand from recent sales -----------------------------
    recent = tx[tx["ts"] >= months[base_m] - pd.Timedelta(days=28)]
    weekly_units = recent.groupby("product_id")["quantity"].sum().reindex(prods["product_id"]).fillna(0) / 8.0
    cover = rng.uniform(2, 8, len(prods))
    stock = np.round(weekly_units.to_numpy() * cover + rng.integers(5, 40, len(prods))).astype(np.int64)
    products = prods[["product_id", "name", "category", "brand", "unit_price"]].assign(stock=stock)

    # --- contacts -------------------------------------------------------------
    def contacts_for(arms, round_no, cid, when, channel_name, responded):
        treated = arms["arm"].to_numpy() == "treatment"
        return pd.DataFrame(
            {
                "customer_id": arms["customer_id"].to_numpy(),
                "campaign_id": cid,
                "round": round_no,
                "arm": arms["arm"].to_numpy(),
                "channel": np.where(treated, channel_name, "none"),
                "contacted_at": pd.to_datetime(np.where(treated, np.datetime64(when, "ns"), np.datetime64("NaT", "ns"))),
                "responded": responded,
            }
        )

    contacts = pd.concat(
        [
            contacts_for(arms1, 1, r1["campaign_id"], months[r1_m], "WeChat", responded1),
            contacts_for(arms2, 2, r2["campaign_id"], months[r2_m], "SMS+phone", responded2),
        ],
        ignore_index=True,
    )

    # --- ground truth -----------------------------------------------------------
    true_visits1 = v1.astype(float) - v0
    # expected sales in both worlds: churned members buy nothing; a visit's ticket carries
    # lognormal(0, 0.25) noise whose mean is exp(0.25^2 / 2)
    alive1 = ~churned_r1[idx1]
    noise_mean = np.exp(0.25**2 / 2)
    exp_sales0 = np.where(alive1, lam0 * t0 * noise_mean, 0.0)
    exp_sales1 = np.where(alive1, lam0 * visit_mult * t1 * noise_mean, 0.0)
    truth_customers = pd.DataFrame({"customer_id": ids, "planted_group": groups, "student": student})
    truth_customers["r1_arm"] = pd.Series(dict(zip(arms1["customer_id"], arms1["arm"]))).reindex(ids).to_numpy()
    truth_customers["r1_responder_type"] = pd.Series(dict(zip(arms1["customer_id"], responder1))).reindex(ids).to_numpy()
    truth_customers["r1_expected_sales_effect"] = pd.Series(dict(zip(arms1["customer_id"], exp_sales1 - exp_sales0))).reindex(ids).to_numpy()
    truth_customers["r2_arm"] = pd.Series(dict(zip(arms2["customer_id"], arms2["arm"]))).reindex(ids).to_numpy()
    truth_customers["r2_expected_sales_effect"] = pd.Series(dict(zip(arms2["customer_id"], expected_phone_sales))).reindex(ids).to_numpy()
    truth = {
        "generator_version": DEMO_VERSION,
        "seed": int(seed),
        "n_members": n,
        "months": DEMO_MONTHS,
        "group_sales_targets": list(DEMO_GROUP_SALES),
        "rounds": DEMO_ROUNDS,
        "round1": {
            "target_size": int(len(arms1)),
            "treated": int(treated1.sum()),
            "control": int((~treated1).sum()),
            "responder_share": float(responder1.mean()),
            "expected_effect_sales_per_customer": float(np.mean(exp_sales1 - exp_sales0)),
            "expected_effect_visits_per_customer": float(np.mean(np.where(alive1, lam0 * (visit_mult - 1), 0.0))),
            "sample_effect_visits_treated": float(np.mean(true_visits1[treated1])),
            "responder_rule": "student and uses WeChat: visits x1.6, ticket x1.45; others visits x1.05, ticket x1.03",
        },
        "round2": {
            "target_size": int(len(arms2)),
            "treated": int(treated2.sum()),
            "control": int((~treated2).sum()),
            "expected_effect_sales_per_customer": float(np.mean(expected_phone_sales)),
            "responder_rule": "non-students place ~1.2 extra phone orders a month, students ~0.1",
        },
    }

    # --- write ------------------------------------------------------------------
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    _write_parquet(tx, tmp / "transactions.parquet")
    _write_parquet(customers, tmp / "customers.parquet")
    _write_parquet(personal, tmp / "customers_personal.parquet")
    _write_parquet(products, tmp / "products.parquet")
    _write_parquet(contacts, tmp / "contacts.parquet")
    _write_parquet(truth_customers, tmp / "ground_truth_customers.parquet")
    (tmp / "ground_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=str) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    # microsecond timestamps: Spark (and older readers) refuse Parquet's nanosecond type
    pq.write_table(table.replace_schema_metadata(None), path, compression="zstd", row_group_size=1_000_000,
                   coerce_timestamps="us", allow_truncated_timestamps=False)


def ensure_demo_store(out_dir: str | os.PathLike | None = None, *, n_members: int = 11550, seed: int = DEMO_SEED) -> Path:
    """Return the demo store folder, generating it first if it is missing or of another size/seed."""
    out = Path(out_dir) if out_dir is not None else default_demo_dir()
    if n_members != 11550 or seed != DEMO_SEED:
        if out_dir is None:
            out = out.with_name(f"demo_n{n_members}_s{seed}")
    out.parent.mkdir(parents=True, exist_ok=True)
    # parallel test workers and notebooks may ask at once: one generates, the others wait
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        truth = out / "ground_truth.json"
        if truth.exists():
            meta = json.loads(truth.read_text())
            if meta.get("n_members") == n_members and meta.get("seed") == seed and meta.get("generator_version") == DEMO_VERSION:
                return out
        return generate_demo_store(out, n_members=n_members, seed=seed, overwrite=True)


def demo_data_spec(*, n_members: int | None = None, seed: int | None = None, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The data spec of the demo store (generated on first use)."""
    folder = ensure_demo_store(folder, n_members=n_members or 11550, seed=seed or DEMO_SEED)
    return {
        "name": "demo",
        "currency": "¥",
        "tables": {
            name: {"path": str(folder / f"{name}.parquet")}
            for name in ("transactions", "customers", "products", "contacts")
        }
        | {"personal": {"path": str(folder / "customers_personal.parquet")}},
        "cleaning": {},
    }
