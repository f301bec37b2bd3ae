"""A store drawn from the BTYD models themselves: BG/NBD purchases and Gamma-Gamma spend with known parameters.

The demo store (:mod:`crm_kit.demo.generator`) plants the worked case: ten
value groups with the case's spend and visit levels, personas and seasons.
Its members' mean tickets follow the case's groups (a hundredfold range,
not a gamma distribution across members), and several visits of a day are
one purchase to the BTYD models, so Gamma-Gamma fitted on it does not
recover the within-member shape the generator uses. A method is checked
first on data drawn from its own model; this module draws such data:

* each customer's purchase rate ``lambda ~ Gamma(r, alpha)`` (rate
  ``alpha``: mean ``r / alpha`` purchases a day) and dropout probability
  ``pi ~ Beta(a, b)``; after the first purchase, purchases come at
  exponential gaps of rate ``lambda``, and after each repeat purchase the
  customer drops out with probability ``pi`` (Fader, Hardie & Lee 2005);
* each customer's spend rate ``nu ~ Gamma(q, v)`` (rate ``v``) and every
  purchase's spend ``~ Gamma(p, nu)`` (Fader, Hardie & Lee 2005b, "RFM and
  CLV"; Fader & Hardie 2013): mean spend ``p v / (q - 1)``.

One line per purchase (a product ``P1``, quantity 1). The timestamps carry
the time of day, and purchases that fall on one day are one purchase to the
kit (a customer's day): keep the rates well below one a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BTYDTruth", "draw_btyd_lines"]


@dataclass(frozen=True)
class BTYDTruth:
    """The parameters a BTYD store is drawn with (time in days)."""

    r: float = 0.9
    alpha: float = 30.0
    a: float = 0.8
    b: float = 4.0
    p: float = 6.0
    q: float = 4.0
    v: float = 60.0

    def as_dict(self) -> dict[str, float]:
        """The parameters by the names pymc-marketing's models give them."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b, "p": self.p, "q": self.q, "v": self.v}


def draw_btyd_lines(customers: int = 4000, *, truth: BTYDTruth = BTYDTruth(), start: str = "2024-01-01",
                    acquisition_days: int = 180, days: int = 540, seed: int = 0, max_purchases: int = 400) -> pd.DataFrame:
    """Line items of a store whose purchases follow BG/NBD and whose spend follows Gamma-Gamma.

    Parameters
    ----------
    customers
        How many customers; each makes a first purchase on a day drawn uniformly from the first
        ``acquisition_days`` days.
    truth
        The parameters (time in days).
    start, days
        The first day and the length of the observed window.
    seed
        Random seed: the same arguments give the same lines.
    max_purchases
        Repeat purchases drawn per customer at most (a customer who would make more is cut, which the
        default parameters make vanishingly rare).

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``order_id``, ``ts``, ``product_id``, ``quantity``, ``amount``, sorted by time.
    """
    rng = np.random.default_rng(seed)
    n = int(customers)
    rate = rng.gamma(truth.r, 1 / truth.alpha, n)
    dropout = rng.beta(truth.a, truth.b, n)
    spend_rate = rng.gamma(truth.q, 1 / truth.v, n)
    birth = rng.uniform(0, acquisition_days, n)
    gaps = rng.exponential(1.0, (n, max_purchases)) / rate[:, None]
    times = birth[:, None] + np.cumsum(gaps, axis=1)
    # repeat purchases possible before dropping out: after each one the customer leaves with probability pi
    lasting = rng.geometric(dropout)
    k = np.arange(1, max_purchases + 1)[None, :]
    made = (times < days) & (k <= lasting[:, None])
    first = np.column_stack([birth, np.where(made, times, np.nan)])
    cust, which = np.nonzero(~np.isnan(first))
    when = first[cust, which]
    amount = rng.gamma(truth.p, 1.0, len(cust)) / spend_rate[cust]
    ts = pd.Timestamp(start) + pd.to_timedelta(np.round(when * 86400), unit="s")
    lines = pd.DataFrame({"customer_id": [f"B{c:05d}" for c in cust], "order_id": [f"O{c:05d}-{w:03d}" for c, w in zip(cust, which)],
                          "ts": ts, "product_id": "P1", "quantity": 1, "amount": np.round(amount, 2)})
    return lines.sort_values(["ts", "customer_id"], kind="stable").reset_index(drop=True)
