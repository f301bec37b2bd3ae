"""A per-customer outcome table with a known effect: notebook 06's default, written by the demo's simulator.

One row per customer of a campaign run "elsewhere" (an agency's SMS push in two versions): the arm, two
outcomes and three pre-campaign columns. The effects are planted, so the lesson can compare what it measures
with the truth:

=====================  ==================================================================================
column                 what it holds
=====================  ==================================================================================
``customer_id``        the member's pseudonymous id (``M000001``…)
``group``              ``coupon`` (an SMS with a coupon, 40 %), ``reminder`` (an SMS without one, 40 %) or
                       ``control`` (held out at random, 20 %)
``responded``          1 when the member redeemed the SMS coupon within 30 days, else 0 (control: bought
                       the coupon's product at full price)
``spend_30d``          the member's spend in the 30 days after the send, in ¥
``spend_90d_before``   spend in the 90 days before the send, in ¥ (a strong pre-period covariate)
``visits_90d_before``  purchase days in the 90 days before the send
``age``                the member's age in years (says almost nothing about spend: a weak covariate)
=====================  ==================================================================================

Truth (:data:`OUTCOME_TRUTH`): the response rate is 6 % without an SMS, 9 % with the coupon (+3 percentage
points) and 7 % with the reminder (+1); the coupon adds ¥20 to a member's 30-day spend on average, the reminder
¥8.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["OUTCOME_TRUTH", "demo_outcome_table", "simulate_outcome_table"]

#: the planted effect of the demo's outcome table
OUTCOME_TRUTH = {"members": 20_000, "control_share": 0.2, "response": {"control": 0.06, "coupon": 0.09, "reminder": 0.07},
                 "spend_effect": {"control": 0.0, "coupon": 20.0, "reminder": 8.0}, "seed": 20250601}


def simulate_outcome_table(*, members: int = OUTCOME_TRUTH["members"], seed: int = OUTCOME_TRUTH["seed"],
                           control_share: float = OUTCOME_TRUTH["control_share"]) -> pd.DataFrame:
    """Draw the outcome table (see the module docstring): a random control group, a planted effect.

    Parameters
    ----------
    members
        Rows (customers).
    seed
        The random seed: the same seed gives the same table.
    control_share
        The share held out at random.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, group, responded, spend_30d, spend_90d_before, visits_90d_before, age``.
    """
    rng = np.random.default_rng(seed)
    n_control = int(round(members * control_share))
    n_coupon = (members - n_control) // 2
    group = np.array(["control"] * n_control + ["coupon"] * n_coupon + ["reminder"] * (members - n_control - n_coupon))
    rng.shuffle(group)
    # each member's own spending level drives both periods: that is what makes the pre-period a strong covariate
    level = rng.gamma(shape=2.0, scale=60.0, size=members)  # ¥ per 30 days
    visits_before = rng.poisson(np.clip(level / 25.0, 0.2, None) * 3)
    spend_before = np.round(3 * level * rng.lognormal(0.0, 0.25, members), 2)
    age = rng.integers(18, 66, members)
    response_rate = pd.Series(group).map(OUTCOME_TRUTH["response"]).to_numpy()
    responded = (rng.random(members) < response_rate).astype(int)
    effect = pd.Series(group).map(OUTCOME_TRUTH["spend_effect"]).to_numpy()
    spend = level * rng.lognormal(0.0, 0.35, members) + effect
    spend = np.round(np.clip(spend + rng.normal(0.0, 5.0, members), 0.0, None), 2)
    return pd.DataFrame({"customer_id": [f"M{i:06d}" for i in range(1, members + 1)], "group": group,
                         "responded": responded, "spend_30d": spend, "spend_90d_before": spend_before,
                         "visits_90d_before": visits_before, "age": age})


def demo_outcome_table(folder: str | os.PathLike | None = None) -> Path:
    """The demo's outcome table as a CSV (``<demo>/outcomes/sms_campaign.csv``), written on first use.

    Beside it, ``truth.json`` holds :data:`OUTCOME_TRUTH`. Written whole or not at all.
    """
    from .generator import default_demo_dir

    target = Path(folder) if folder is not None else Path(default_demo_dir()) / "outcomes"
    path = target / "sms_campaign.csv"
    truth = target / "truth.json"
    if path.exists() and truth.exists() and json.loads(truth.read_text()) == OUTCOME_TRUTH:
        return path
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f".sms_campaign.{os.getpid()}.tmp"
    simulate_outcome_table().to_csv(partial, index=False)
    os.replace(partial, path)
    truth.write_text(json.dumps(OUTCOME_TRUTH, indent=1))
    return path
