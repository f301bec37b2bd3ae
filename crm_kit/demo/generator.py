"""The seeded demo membership store: a client of the package that plants the worked case.

Every member has latent traits drawn once (:mod:`crm_kit.demo.model`): a value
rank, a gamma-mixed visit rate and mean ticket, a persona, a dropout
probability per visit and per-channel responsiveness. Fifteen months
(``2024-09`` .. ``2025-11``) are drawn from those traits with weekly and
seasonal patterns: Poisson visits, gamma spend per visit, a small monthly
mood; a member who drops out buys nothing more. The value rank's levels are
calibrated so that the base month (``2025-09``) reproduces the worked case:
11,550 paying members in ten equal groups with monthly average sales of
8000, 6000, 5200, 4100, 2570, 2100, 1600, 1100, 600 and 100, group 8 visiting
about twice with a ticket of about 550 — and the same members keep differing
in the months before and after, as real shoppers do.

:func:`write_natural_store` writes ``natural/``: the months as they would be
without any campaign, the state the campaign simulator needs, and the latent
truth (``ground_truth_customers.parquet``, the model in
``ground_truth.json``); :func:`crm_kit.demo.store.generate_demo_store` adds
the worked case's two rounds on top.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import special, stats

from ..config import demo_dir
from ..engine import group_sizes
from ..errors import DataError
from .model import DROPOUT_BY_GROUP, PERSONA_SHARES_BY_GROUP, PERSONAS, RESPONSE_MODEL, SHAPES
from .plan import DEMO_GROUP_SALES, DEMO_GROUP_VISITS, DEMO_MONTHS

__all__ = [
    "default_demo_dir",
    "write_natural_store",
    "store_spec",
    "N_MONTHS",
]

#: bumped whenever the generator's output changes, so an older store in data/demo is regenerated
DEMO_VERSION = 6
#: months in the store: 13 of history up to the base month, then the two campaign months
N_MONTHS = 15
BASE_MONTH_INDEX = 12

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
_WEEKLY_SAMPLES = {
    "household paper": "Tissue paper 10-pack",
    "dairy": "Fresh milk 1L x 6",
    "personal care": "Shampoo 400ml",
    "grains and oils": "Mixed grains 2kg",
}
SEASON = {1: 1.12, 2: 1.18, 3: 0.95, 4: 0.96, 5: 1.00, 6: 0.98, 7: 0.97, 8: 0.99, 9: 1.00, 10: 1.07, 11: 1.12, 12: 1.15}
#: the season moves visits by season ** VISIT_SEASON and tickets by season ** TICKET_SEASON
VISIT_SEASON, TICKET_SEASON = 0.6, 0.4
_WEEKDAY_WEIGHT = np.array([0.85, 0.80, 0.85, 0.90, 1.05, 1.45, 1.40])  # Mon..Sun
#: the calibration's visits of groups 9 and 10: a paying member visits at least once, so the case's 1.0 is out of
#: reach; aiming just above it brings them as close as Poisson visits allow
_CALIBRATION_VISITS = tuple(v if v > 1 else 1.05 for v in DEMO_GROUP_VISITS)

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
PERSONA_NAMES = tuple(PERSONAS)


def default_demo_dir() -> Path:
    """``data/demo`` in the project (git-ignored), or ``$CRM_KIT_DEMO_DIR``."""
    return demo_dir()


def month_starts(first: str = DEMO_MONTHS["history_start"], n: int = N_MONTHS) -> list[pd.Timestamp]:
    """The first day of each of the store's months."""
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


# ------------------------------------------------------------------ latent traits and their calibration


def _latent(rng: np.random.Generator, n_pop: int, months: list[pd.Timestamp]) -> dict[str, np.ndarray]:
    """Every latent draw of ``n_pop`` candidate members (before the levels are calibrated)."""
    value_rank = rng.random(n_pop)
    latent_group = 10 - np.minimum((value_rank * 10).astype(int), 9)  # 1 = highest value
    k_rate, k_ticket, k_drop = SHAPES["visit_rate"], SHAPES["mean_ticket"], SHAPES["dropout"]
    rate_mix = rng.gamma(k_rate, 1 / k_rate, n_pop)
    ticket_mix = rng.gamma(k_ticket, 1 / k_ticket, n_pop)
    dropout = np.clip(np.array(DROPOUT_BY_GROUP)[latent_group - 1] * rng.gamma(k_drop, 1 / k_drop, n_pop), 1e-4, 0.5)
    visits_left = rng.geometric(dropout)  # visits until (and including) the one after which the member leaves
    # members who join during the history: more of them at the bottom (group 10 is new or dormant)
    p_new = np.where(latent_group == 10, 0.35, np.where(latent_group == 9, 0.15, 0.06))
    new = rng.random(n_pop) < p_new
    join_month = np.where(rng.random(n_pop) < np.where(latent_group == 10, 0.5, 0.2),
                          rng.integers(10, BASE_MONTH_INDEX + 1, n_pop), rng.integers(0, BASE_MONTH_INDEX + 1, n_pop))
    join_fraction = rng.random(n_pop)  # how far into the joining month
    n_m = len(months)
    exposure = np.ones((n_pop, n_m))
    cols = np.arange(n_m)[None, :]
    exposure = np.where(new[:, None] & (cols < join_month[:, None]), 0.0, exposure)
    exposure = np.where(new[:, None] & (cols == join_month[:, None]), 1.0 - join_fraction[:, None], exposure)
    sd = SHAPES["monthly_mood_sd"]
    return {
        "value_rank": value_rank,
        "latent_group": latent_group,
        "rate_mix": rate_mix,
        "ticket_mix": ticket_mix,
        "dropout": dropout,
        "visits_left": visits_left,
        "new": new,
        "join_month": join_month,
        "join_fraction": join_fraction,
        "exposure": exposure,
        "u_visits": rng.random((n_pop, n_m)),
        "u_spend": rng.random((n_pop, n_m)),
        "mood": np.exp(rng.normal(0.0, sd, (n_pop, n_m)) - sd**2 / 2),
        "keep_key": rng.random(n_pop),
        "responsive": rng.random((n_pop, len(RESPONSE_MODEL))),
    }


def expected_capped_visits(mu: np.ndarray, cap: np.ndarray, *, top: int = 80) -> np.ndarray:
    """E[min(V, cap)] for V ~ Poisson(mu): the expected visits of a member with ``cap`` visits left before dropping out."""
    mu = np.asarray(mu, dtype=float)
    cap = np.asarray(cap)
    j = np.arange(top)[None, :]
    tail = stats.poisson.sf(j, mu[:, None])  # P(V > j)
    return np.where(j < np.minimum(cap, top)[:, None], tail, 0.0).sum(axis=1)


def poisson_quantile(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """The Poisson(``mu``) quantile at ``u`` (as :data:`scipy.stats.poisson`'s ``ppf``), by walking the CDF: fast for small means.

    The smallest k with CDF(k) >= u; the walk is vectorised over all cells and
    stops when every cell has reached its quantile.
    """
    u = np.asarray(u, dtype=float)
    mu = np.broadcast_to(np.asarray(mu, dtype=float), u.shape)
    k = np.zeros(u.shape, dtype=np.int64)
    pmf = np.exp(-mu)
    cdf = pmf.copy()
    todo = u > cdf
    step = 0
    while todo.any():
        step += 1
        pmf = pmf * mu / step
        cdf = cdf + pmf
        k += todo
        todo &= u > cdf
        if step > 1000:  # means this large do not occur in the demo; scipy handles them
            k[todo] = stats.poisson.ppf(u[todo], mu[todo]).astype(np.int64)
            break
    return k


def month_visits(mu: np.ndarray, u: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Visits of a month from its uniform draw (common random numbers), at most the visits left before dropout."""
    return np.minimum(poisson_quantile(u, mu), left).astype(np.int64)


def month_spend(mean_ticket: np.ndarray, visits: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A month's total spend: the sum of ``visits`` gamma spends around ``mean_ticket`` (Gamma-Gamma's within-member shape)."""
    p = SHAPES["spend_per_visit"]
    shape = np.maximum(visits, 1) * p
    total = special.gammaincinv(shape, u) / p * mean_ticket
    return np.where(visits > 0, total, 0.0)


def _simulate_months(lat: dict[str, np.ndarray], season: np.ndarray) -> dict[str, np.ndarray]:
    """Visits and spend of every candidate in every month from the latent traits (and their calibration scales)."""
    knots = (np.arange(10) + 0.5) / 10
    level = np.exp(np.interp(lat["value_rank"], knots, np.log(np.array(DEMO_GROUP_SALES)[::-1]))) * lat["level_scale"]
    rate = np.exp(np.interp(lat["value_rank"], knots, np.log(np.array(_CALIBRATION_VISITS)[::-1])))
    # the value rank fixes a member's expected monthly sales; the mixes only split it into visits and ticket
    visit_rate = rate * lat["rate_mix"] * lat["rate_scale"]
    mean_ticket = level / visit_rate * lat["ticket_mix"]
    mu = visit_rate[:, None] * season[None, :] ** VISIT_SEASON * lat["exposure"]
    raw = poisson_quantile(lat["u_visits"], mu)
    before = np.cumsum(raw, axis=1) - raw
    left = np.maximum(lat["visits_left"][:, None] - before, 0)
    visits = np.minimum(raw, left)
    ticket = mean_ticket[:, None] * season[None, :] ** TICKET_SEASON * lat["mood"]
    spend = month_spend(ticket, visits, lat["u_spend"])
    return {"visit_rate": visit_rate, "mean_ticket": mean_ticket, "visits": visits, "spend": spend, "left": left}


def _keep(lat: dict[str, np.ndarray], payer: np.ndarray, n: int) -> np.ndarray:
    """Positions of the members kept: the shortest random prefix holding ``n`` base-month payers (a random sample)."""
    order = np.argsort(lat["keep_key"], kind="stable")
    cum = np.cumsum(payer[order])
    if cum[-1] < n:
        raise DataError(f"the demo generator drew too few paying members ({cum[-1]} < {n}); report this as a bug")
    last = int(np.searchsorted(cum, n))
    return np.sort(order[: last + 1])


def _groups_by_sales(sales: np.ndarray) -> np.ndarray:
    """Groups 1..10 of payers by sales, high first (ties by position, as the kit breaks them by id)."""
    order = np.lexsort((np.arange(len(sales)), -np.round(sales, 2)))
    groups = np.empty(len(sales), dtype=np.int64)
    groups[order] = np.repeat(np.arange(1, 11), group_sizes(len(sales), 10))
    return groups


def _calibrate(lat: dict[str, np.ndarray], n: int, season: np.ndarray, *, rounds: int = 20) -> dict[str, Any]:
    """Scale members' levels and visit rates until the base month reproduces the case's group sales and visits.

    The value rank's levels start at the case's group means; the base month's
    noise (Poisson visits, gamma spend) then spreads the groups apart, so each
    round scales the expected sales and the visit rate of every paying member
    by their base-month group's gap to the target (damped), and the last
    round closes the sales gap exactly. The scales are part of the member's
    latent traits: every month of that member moves with them.
    """
    lat["level_scale"] = np.ones(len(lat["value_rank"]))
    lat["rate_scale"] = np.ones(len(lat["value_rank"]))
    target_sales, target_visits = np.array(DEMO_GROUP_SALES), np.array(_CALIBRATION_VISITS)
    report = []
    for i in range(rounds + 1):
        sim = _simulate_months(lat, season)
        payer = sim["visits"][:, BASE_MONTH_INDEX] > 0
        kept = _keep(lat, payer, n)
        kept = kept[payer[kept]]
        sales = sim["spend"][kept, BASE_MONTH_INDEX]
        visits = sim["visits"][kept, BASE_MONTH_INDEX]
        groups = _groups_by_sales(sales)
        got_sales = np.bincount(groups, weights=sales)[1:] / np.bincount(groups)[1:]
        got_visits = np.bincount(groups, weights=visits)[1:] / np.bincount(groups)[1:]
        report.append({"round": i, "max_sales_gap": float(np.max(np.abs(got_sales / target_sales - 1))),
                       "group8_visits": float(got_visits[7])})
        if i == rounds:
            # the last round: spend scales linearly with the ticket, so the sales gap closes exactly
            lat["level_scale"][kept] *= (target_sales / got_sales)[groups - 1]
            break
        lat["level_scale"][kept] *= ((target_sales / got_sales) ** 0.8)[groups - 1]
        if i < rounds - 2:  # visits first; the last rounds only settle the sales
            lat["rate_scale"][kept] *= ((target_visits / got_visits) ** 0.4)[groups - 1]
    return {"rounds": report}


# ------------------------------------------------------------------ member forms


def _members(rng: np.random.Generator, persona: np.ndarray, latent_group: np.ndarray, signup: pd.DatetimeIndex,
             base_start: pd.Timestamp):
    n = len(persona)
    name = np.array(PERSONA_NAMES)[persona]
    student = name == "student snacker"
    low = latent_group >= 7
    other_occ = np.array([o for o in OCCUPATIONS if o != "student"])
    occupation = np.where(student, "student", other_occ[rng.integers(0, len(other_occ), n)])
    # age: students 18-24, the rest mostly 25-34 (the source's 25-29 = 37.88% shape); premium and families older
    age_w = np.where((name == "premium")[:, None] | (name == "family")[:, None],
                     np.array([[0.04, 0.30, 0.30, 0.18, 0.12, 0.06]]), np.array([[0.10, 0.44, 0.28, 0.10, 0.05, 0.03]]))
    band = _choose_rows(age_w, np.arange(n), rng)
    edges = np.array([[18, 25], [25, 30], [30, 35], [35, 46], [46, 56], [56, 70]])
    lo, hi = edges[band].T
    age = np.where(student, rng.integers(18, 25, n), rng.integers(lo, hi)).astype(np.int64)
    age_band = pd.cut(age, [17, 25, 35, 45, 55, 65, 200], labels=AGE_BANDS).astype(str)
    # channel: students live on WeChat; older members prefer SMS
    p_wechat = np.where(student, 0.92, np.where(name == "deal hunter", 0.32, 0.22))
    wechat_pref = rng.random(n) < p_wechat
    others = np.array(["SMS", "email", "Weibo"])
    other_w = np.where((age >= 36)[:, None], np.array([[0.7, 0.2, 0.1]]), np.array([[0.45, 0.25, 0.3]]))
    preferred = np.where(wechat_pref, "WeChat", others[_choose_rows(other_w, np.arange(n), rng)])
    uses_wechat = wechat_pref | (rng.random(n) < np.where(student, 0.9, np.where(age >= 46, 0.25, 0.55)))
    income_level = np.clip(
        np.where(student, 0, np.round(3.2 - 0.25 * latent_group + rng.normal(0, 0.8, n))), 0, 3
    ).astype(int)
    personal_income = np.array(PERSONAL_INCOME)[income_level]
    hh_level = np.clip(income_level + rng.integers(-1, 2, n) + (name == "family"), 0, 3)
    household_income = np.array(HOUSEHOLD_INCOME)[hh_level]
    single = np.where(student | low, rng.random(n) < 0.8, rng.random(n) < np.where(name == "family", 0.05, 0.35))
    marital = np.where(single, "single", "married")
    household_size = np.where(single, rng.integers(1, 3, n), np.where(name == "family", rng.integers(3, 6, n),
                                                                      rng.integers(2, 5, n)))
    job_level = np.where(student, "none", np.array(JOB_LEVELS)[_choose_rows(np.array([[0.05, 0.12, 0.23, 0.6]]), np.zeros(n, dtype=int), rng)])
    housing = np.where(
        student, np.where(rng.random(n) < 0.6, "with parents", "company dorm"),
        np.array(HOUSING)[_choose_rows(np.array([[0.25, 0.35, 0.25, 0.08, 0.02, 0.05]]), np.zeros(n, dtype=int), rng)],
    )
    customers = pd.DataFrame(
        {
            "customer_id": [f"M{i + 1:06d}" for i in range(n)],
            "signup_date": signup.normalize(),
            "gender": np.where(rng.random(n) < np.where(student, 0.6, 0.52), "female", "male"),
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
    return customers, personal


# ------------------------------------------------------------------ line items


def _category_mix(persona: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shares = np.array([c[1] for c in CATEGORIES])
    names = [c[0] for c in CATEGORIES]
    tilt = np.ones((len(PERSONA_NAMES), len(CATEGORIES)))
    for i, p in enumerate(PERSONA_NAMES):
        for cat, x in PERSONAS[p]["mix"].items():
            tilt[i, names.index(cat)] = x
    mix = shares[None, :] * tilt
    mix /= mix.sum(axis=1, keepdims=True)
    return rng.gamma(mix[persona] * 40)


def visit_lines(rng: np.random.Generator, products: pd.DataFrame, habits: dict[str, np.ndarray], cust_idx: np.ndarray,
                ticket: np.ndarray, month_idx: np.ndarray, months: list[pd.Timestamp]) -> dict[str, np.ndarray]:
    """Expand visits (customer, month, ticket) into line items, all vectorised.

    ``habits`` holds per customer ``cat_mix`` (n x categories), ``fav_brand``
    (n x categories), ``loyalty`` and ``promo_sens``.
    """
    cat_mix, fav_brand = habits["cat_mix"], habits["fav_brand"]
    loyalty, promo_sens = habits["loyalty"], habits["promo_sens"]
    n_visits = len(cust_idx)
    # visit timestamps: weekday-weighted day within the month, opening hours
    days_in = np.array([m.days_in_month for m in months])
    wd = np.zeros((len(months), 31))
    for i, m in enumerate(months):
        weekday = (m.dayofweek + np.arange(days_in[i])) % 7
        wd[i, : days_in[i]] = _WEEKDAY_WEIGHT[weekday]
    day = _choose_rows(wd, month_idx, rng) if n_visits else np.zeros(0, dtype=np.int64)
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
    category = _choose_rows(cat_mix, cust_line, rng) if len(cust_line) else np.zeros(0, dtype=np.int64)
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
    item = _choose_rows(pop, category * n_brands + brand, rng) if len(cust_line) else np.zeros(0, dtype=np.int64)
    prod_row = (category * n_brands + brand) * pop.shape[1] + item
    promo = rng.random(len(cust_line)) < promo_sens[cust_line]
    price = products["unit_price"].to_numpy()[prod_row] * np.where(promo, 0.8, 1.0)
    quantity = np.maximum(1, np.round(amount / price)).astype(np.int64)
    # one line per product per receipt: merge repeats of a product within a visit
    key = visit_of_line.astype(np.int64) * len(products) + prod_row
    _uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return {
        "visit": visit_of_line[first],
        "ts": ts,
        "product_row": prod_row[first],
        "quantity": np.bincount(inverse, weights=quantity).astype(np.int64),
        "amount": np.round(np.bincount(inverse, weights=amount), 2),
        "promo": np.bincount(inverse, weights=promo).astype(bool),
    }


def split_spend(rng: np.random.Generator, visits: np.ndarray, spend: np.ndarray):
    """Visits of a (customers x months) matrix as rows, each with its ticket: the month's spend split by gamma weights.

    A month's spend is the sum of its visits' gamma spends; splitting the sum by
    normalised gamma weights of the same shape gives exactly that distribution.
    """
    n, n_m = visits.shape
    cust_idx = np.repeat(np.arange(n), visits.sum(axis=1))
    month_idx = np.repeat(np.tile(np.arange(n_m), n), visits.ravel())
    cell = cust_idx * n_m + month_idx
    w = rng.gamma(SHAPES["spend_per_visit"], 1.0, len(cell))
    w_sum = np.bincount(cell, weights=w, minlength=n * n_m)
    ticket = spend.ravel()[cell] * w / w_sum[cell]
    return cust_idx, month_idx, ticket


def lines_frame(lines: dict[str, np.ndarray], visit_cust: np.ndarray, ids: np.ndarray, products: pd.DataFrame, *,
                order_ids: np.ndarray, channel: str) -> pd.DataFrame:
    """The canonical line-item table of :func:`visit_lines`' output."""
    return pd.DataFrame(
        {
            "customer_id": ids[visit_cust[lines["visit"]]],
            "order_id": order_ids[lines["visit"]],
            "ts": pd.to_datetime(lines["ts"][lines["visit"]]),
            "product_id": products["product_id"].to_numpy()[lines["product_row"]],
            "quantity": lines["quantity"],
            "amount": lines["amount"],
            "promo": lines["promo"],
            "channel": channel,
        }
    )


def _order_ids(ts: np.ndarray, prefix: str, *, start: int = 0) -> np.ndarray:
    """Receipt numbers in time order, from ``start`` on (nine digits)."""
    if len(ts) == 0:
        return np.array([], dtype=str)
    rank = np.argsort(ts, kind="stable")
    number = np.empty(len(rank), dtype=np.int64)
    number[rank] = np.arange(start, start + len(rank))
    return np.char.add(prefix, np.char.zfill(number.astype(str), 9))


#: the line-item table as the demo writes it (microsecond timestamps: Spark refuses Parquet's nanoseconds)
TRANSACTIONS_SCHEMA = pa.schema([
    ("customer_id", pa.string()), ("order_id", pa.string()), ("ts", pa.timestamp("us")),
    ("product_id", pa.string()), ("quantity", pa.int64()), ("amount", pa.float64()), ("promo", pa.bool_()),
    ("channel", pa.string()),
])
#: members per chunk of line items
CHUNK_MEMBERS = 20_000


def arrow_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A frame as an Arrow table of ``schema`` (no pandas metadata)."""
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False, safe=False).replace_schema_metadata(None)


def sort_lines(tx: pd.DataFrame) -> pd.DataFrame:
    """Line items in time order (a receipt's lines stay together: they share its time)."""
    order = np.argsort(tx["ts"].to_numpy().astype("datetime64[ns]").view(np.int64), kind="stable")
    return tx.take(order).reset_index(drop=True)


# ------------------------------------------------------------------ the store


def write_natural_store(folder: Path, *, n_members: int, seed: int) -> dict[str, Any]:
    """Draw the members and their months without any campaign; write them and the shared tables to ``folder``."""
    rng = np.random.default_rng(seed)
    months = month_starts()
    season = np.array([SEASON[m.month] for m in months])
    n = n_members
    lat = _latent(rng, int(n * 2.4) + 500, months)
    calibration = _calibrate(lat, n, season)
    sim = _simulate_months(lat, season)
    keep = _keep(lat, sim["visits"][:, BASE_MONTH_INDEX] > 0, n)
    keep = keep[rng.permutation(len(keep))]  # customer ids in random order
    lat = {k: v[keep] for k, v in lat.items()}
    sim = {k: v[keep] for k, v in sim.items()}
    n_all = len(keep)
    ids = np.array([f"M{i + 1:06d}" for i in range(n_all)])

    # personas by the base-month group (the case profiles its groups): payers by the group their September put them
    # in, the others by their value rank's group
    payer = sim["visits"][:, BASE_MONTH_INDEX] > 0
    profile_group = lat["latent_group"].copy()
    profile_group[payer] = _groups_by_sales(sim["spend"][payer, BASE_MONTH_INDEX])
    # ... and by how they split their spending: frequent small baskets lean family, rare large ones premium
    shares = np.array([[PERSONA_SHARES_BY_GROUP[g].get(p, 0.0) for p in PERSONA_NAMES] for g in range(1, 11)])
    style = np.array([PERSONAS[p]["visit_style"] for p in PERSONA_NAMES])
    log_mix = np.log(lat["rate_mix"])
    z = (log_mix - log_mix.mean()) / log_mix.std()
    weights = shares[profile_group - 1] * np.exp(z[:, None] * style[None, :])
    persona = _choose_rows(weights, np.arange(len(weights)), rng)

    base_start = months[BASE_MONTH_INDEX]
    window_start = months[0]
    old_signup = window_start - pd.to_timedelta(rng.integers(30, 3000, n_all), unit="D")
    join_start = np.array([months[m].value for m in lat["join_month"]], dtype=np.int64)
    join_days = np.array([months[m].days_in_month for m in lat["join_month"]])
    new_signup = pd.to_datetime(join_start + (lat["join_fraction"] * join_days * 86400).astype(np.int64) * 1_000_000_000)
    signup = pd.DatetimeIndex(np.where(lat["new"], new_signup.values, old_signup.values))
    customers, personal = _members(rng, persona, profile_group, signup, base_start)
    habits = {
        "cat_mix": _category_mix(persona, rng),
        "fav_brand": _choose_rows(np.array([[0.4, 0.25, 0.18, 0.12, 0.05]]), np.zeros(n_all * len(CATEGORIES), dtype=int),
                                  rng).reshape(n_all, len(CATEGORIES)),
        "loyalty": np.clip(np.array([PERSONAS[p]["loyalty"] for p in PERSONA_NAMES])[persona]
                           + rng.normal(0, 0.04, n_all), 0.02, 0.98),
        "promo_sens": np.clip(np.array([PERSONAS[p]["promo"] for p in PERSONA_NAMES])[persona]
                              + rng.normal(0, 0.04, n_all), 0.0, 0.95),
    }
    prods = _products(rng)
    nat = folder / "natural"
    recent_start = (base_start - pd.Timedelta(days=28)).value
    base_bounds = (base_start.value, months[BASE_MONTH_INDEX + 1].value)
    first_ts = np.full(n_all, np.iinfo(np.int64).max)
    last_ts = np.full(n_all, np.iinfo(np.int64).min)
    base_sales = np.zeros(n_all)
    recent_units = np.zeros(len(prods))
    orders = 0
    # members in chunks: the line items of a large store never sit in memory at once
    with pq.ParquetWriter(nat / "transactions.parquet", TRANSACTIONS_SCHEMA, compression="zstd") as writer:
        for lo in range(0, n_all, CHUNK_MEMBERS):
            hi = min(lo + CHUNK_MEMBERS, n_all)
            cust_idx, month_idx, ticket = split_spend(rng, sim["visits"][lo:hi], sim["spend"][lo:hi])
            lines = visit_lines(rng, prods, {k: v[lo:hi] for k, v in habits.items()}, cust_idx, ticket, month_idx, months)
            order_ids = _order_ids(lines["ts"], "O", start=orders)
            orders += len(cust_idx)
            member = cust_idx[lines["visit"]] + lo
            line_ts = lines["ts"][lines["visit"]]
            np.minimum.at(first_ts, member, line_ts)
            np.maximum.at(last_ts, member, line_ts)
            in_base = (line_ts >= base_bounds[0]) & (line_ts < base_bounds[1])
            np.add.at(base_sales, member[in_base], lines["amount"][in_base])
            recent = line_ts >= recent_start
            np.add.at(recent_units, lines["product_row"][recent], lines["quantity"][recent])
            frame = sort_lines(lines_frame(lines, cust_idx, ids[lo:hi], prods, order_ids=order_ids, channel="store"))
            writer.write_table(arrow_table(frame, TRANSACTIONS_SCHEMA), row_group_size=1_000_000)

    # a new member signs up at the latest on the day of their first purchase
    bought = first_ts < np.iinfo(np.int64).max
    first = pd.Series(pd.to_datetime(np.where(bought, first_ts, 0)), index=ids).where(bought).dt.normalize()
    customers["signup_date"] = customers["signup_date"].where(
        ~bought | (customers["signup_date"] <= first.to_numpy()), first.to_numpy())

    # --- products: stock on hand from recent sales
    weekly_units = recent_units / 8.0
    cover = rng.uniform(2, 8, len(prods))
    stock = np.round(weekly_units * cover + rng.integers(5, 40, len(prods))).astype(np.int64)
    products = prods[["product_id", "name", "category", "brand", "unit_price"]].assign(stock=stock)

    # --- latent truth and the simulator's state
    name = np.array(PERSONA_NAMES)[persona]
    uses_wechat = customers["uses_wechat"].to_numpy()
    responds = {}
    for j, (channel, model) in enumerate(RESPONSE_MODEL.items()):
        share = np.array([model["responders"].get(p, 0.0) for p in PERSONA_NAMES])[persona]
        responds[channel] = (lat["responsive"][:, j] < share) & (uses_wechat if model["needs_wechat"] else True)
    payers = np.flatnonzero(base_sales > 0)  # ids are in id order, as the kit breaks ties
    base_group = np.full(n_all, np.nan)
    base_group[payers] = _groups_by_sales(base_sales[payers])
    last_visit = pd.Series(pd.to_datetime(np.where(bought, last_ts, 0)), index=ids).where(bought)
    dropped = sim["visits"].sum(axis=1) >= lat["visits_left"]
    truth_customers = pd.DataFrame({
        "customer_id": ids,
        "persona": name,
        "student": name == "student snacker",
        "value_rank": lat["value_rank"],
        "latent_group": lat["latent_group"],
        "base_month_group": base_group,
        "visit_rate_per_month": sim["visit_rate"],
        "mean_ticket": sim["mean_ticket"],
        "dropout_per_visit": lat["dropout"],
        "churn_date": last_visit.where(dropped).dt.normalize().to_numpy(),
        "joined_during_history": lat["new"],
        **{f"responds_{c}": v for c, v in responds.items()},
    })
    state = {"customer_id": ids, "persona": name, "uses_wechat": uses_wechat,
             "visit_rate": sim["visit_rate"], "mean_ticket": sim["mean_ticket"],
             "loyalty": habits["loyalty"], "promo_sens": habits["promo_sens"],
             **{f"responds_{c}": v for c, v in responds.items()}}
    for m in range(N_MONTHS):
        state |= {f"left_{m}": sim["left"][:, m], f"u_visits_{m}": lat["u_visits"][:, m],
                  f"u_spend_{m}": lat["u_spend"][:, m], f"mood_{m}": lat["mood"][:, m],
                  f"exposure_{m}": lat["exposure"][:, m]}
    for c in range(len(CATEGORIES)):
        state |= {f"mix_{c}": habits["cat_mix"][:, c], f"brand_{c}": habits["fav_brand"][:, c]}
    state = pd.DataFrame(state)

    alive = ~dropped
    months_text = [m.strftime("%Y-%m") for m in months]
    truth = {
        "generator_version": DEMO_VERSION,
        "seed": seed,
        "n_members": n,
        "members_in_table": int(n_all),
        "months": DEMO_MONTHS,
        "calendar": months_text,
        "season": {t: SEASON[m.month] for t, m in zip(months_text, months)},
        "group_sales_targets": list(DEMO_GROUP_SALES),
        "calibration": calibration,
        "model": {"personas": PERSONAS, "persona_shares_by_group": {str(k): v for k, v in PERSONA_SHARES_BY_GROUP.items()},
                  "shapes": SHAPES, "response_model": RESPONSE_MODEL, "visit_season_power": VISIT_SEASON,
                  "ticket_season_power": TICKET_SEASON},
        "generating_values": {
            "mean_visit_rate_per_day": float(np.mean(sim["visit_rate"]) * 12 / 365.25),
            "mean_ticket": float(np.mean(sim["mean_ticket"])),
            "mean_dropout_per_visit": float(np.mean(lat["dropout"])),
            "members_dropped_out_by_the_end": float(np.mean(~alive)),
        },
        "rounds": {},
        "chain": [],
    }
    write_parquet(empty_contacts(), nat / "contacts.parquet")
    write_parquet(state, nat / "simulation_state.parquet")
    write_parquet(truth_customers, nat / "ground_truth_customers.parquet")
    write_parquet(prods, nat / "products_state.parquet")
    (nat / "ground_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=str) + "\n")
    write_parquet(customers, folder / "customers.parquet")
    write_parquet(personal, folder / "customers_personal.parquet")
    write_parquet(products, folder / "products.parquet")
    return truth


def empty_contacts() -> pd.DataFrame:
    """A contacts table with no rows (the store without campaigns)."""
    return pd.DataFrame({"customer_id": pd.Series(dtype=str), "campaign_id": pd.Series(dtype=str),
                         "round": pd.Series(dtype="int64"), "arm": pd.Series(dtype=str), "channel": pd.Series(dtype=str),
                         "contacted_at": pd.Series(dtype="datetime64[ns]"), "responded": pd.Series(dtype=bool)})


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a table as the demo does: zstd, no pandas metadata, microsecond timestamps."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    # microsecond timestamps: Spark (and older readers) refuse Parquet's nanosecond type
    pq.write_table(table.replace_schema_metadata(None), path, compression="zstd", row_group_size=1_000_000,
                   coerce_timestamps="us", allow_truncated_timestamps=False)


def store_spec(top: Path, variant: Path | None = None) -> dict[str, Any]:
    """The data spec of a demo store folder; ``variant`` supplies its own transactions and contacts."""
    events = variant if variant is not None else top
    tables = {
        "transactions": {"path": str(events / "transactions.parquet")},
        "contacts": {"path": str(events / "contacts.parquet")},
        "customers": {"path": str(top / "customers.parquet")},
        "products": {"path": str(top / "products.parquet")},
        "personal": {"path": str(top / "customers_personal.parquet")},
    }
    if pq.ParquetFile(events / "contacts.parquet").metadata.num_rows == 0:
        del tables["contacts"]  # the months without campaigns: no campaign exposure to read
    from .plan import DEMO_MONTHS

    # the month the worked case analyses: a notebook left without dates analyses it on the demo store
    return {"name": "demo", "currency": "¥", "month": DEMO_MONTHS["base"], "tables": tables, "cleaning": {}}
