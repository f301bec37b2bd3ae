"""Result analysis (客户互动, 分析提炼): growth per customer, A-groups, bands, lift.

Growth rates follow the worked case: each customer's growth is
``campaign / base - 1`` for visits, average ticket and sales; the case's
"ratios" are the means of these individual rates.

Rules for the awkward customers (stated, never a division by zero):

* no visits in the base period: growth is undefined; the customer gets the
  group ``"no base"`` and is reported separately, outside the means;
* no visits in the campaign period: visit and sales growth are -100% and the
  campaign ticket is undefined, so the ticket goal counts as missed.

A goal is met when growth >= goal ("exactly at the goal counts as met"),
compared with a tolerance of 1e-9 so that 3/2 - 1 meets a 50% goal despite
floating point.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError

__all__ = [
    "growth_table",
    "classify_round_one",
    "classify_sales_bands",
    "ROUND_ONE_GROUPS",
]

ROUND_ONE_GROUPS = ("A1", "A2", "A3", "A4")
_TOL = 1e-9


def growth_table(metrics: pd.DataFrame, *, base: str = "base", campaign: str = "campaign") -> pd.DataFrame:
    """Per-customer growth of visits, ticket and sales between two periods.

    Parameters
    ----------
    metrics
        Output of :func:`crm_kit.engine.period_metrics` with the two periods.
    base, campaign
        The period names.

    Returns
    -------
    pandas.DataFrame
        The metrics plus ``freq_growth``, ``ticket_growth``, ``sales_growth``
        (NaN where the base is zero) and ``has_base`` (base visits > 0).
    """
    need = [f"{m}_{p}" for p in (base, campaign) for m in ("visits", "sales", "ticket")]
    missing = [c for c in need if c not in metrics.columns]
    if missing:
        raise DataError(f"growth_table needs columns {missing}; compute period_metrics for '{base}' and '{campaign}'")
    out = metrics.copy()
    vb, vc = out[f"visits_{base}"].astype(float), out[f"visits_{campaign}"].astype(float)
    sb, sc = out[f"sales_{base}"].astype(float), out[f"sales_{campaign}"].astype(float)
    tb, tc = out[f"ticket_{base}"].astype(float), out[f"ticket_{campaign}"].astype(float)
    has_base = vb > 0
    out["has_base"] = has_base
    out["freq_growth"] = np.where(has_base, vc / vb.where(has_base) - 1, np.nan)
    out["ticket_growth"] = np.where(has_base & (vc > 0), tc / tb - 1, np.nan)
    out["sales_growth"] = np.where(has_base & (sb > 0), sc / sb.where(sb > 0) - 1, np.nan)
    return out


def classify_round_one(growth: pd.DataFrame, *, freq_goal: float, ticket_goal: float) -> pd.Series:
    """Split customers into A1-A4 by whether they met the frequency and ticket goals.

    A1 both goals met; A2 frequency met, ticket missed; A3 ticket met,
    frequency missed; A4 both missed (round two's target). Customers with no
    base visits get ``"no base"``.

    Parameters
    ----------
    growth
        Output of :func:`growth_table`.
    freq_goal, ticket_goal
        Growth goals as fractions (0.5 = +50%).

    Returns
    -------
    pandas.Series
        The group per customer, named ``group``.
    """
    for name, goal in (("freq_goal", freq_goal), ("ticket_goal", ticket_goal)):
        if not isinstance(goal, (int, float)) or goal <= -1:
            raise ParameterError(f"{name}={goal!r} must be a growth fraction above -1 (0.5 = +50%)")
    freq_met = growth["freq_growth"].fillna(-np.inf) >= freq_goal - _TOL
    ticket_met = growth["ticket_growth"].fillna(-np.inf) >= ticket_goal - _TOL
    group = np.select(
        [freq_met & ticket_met, freq_met & ~ticket_met, ~freq_met & ticket_met],
        ["A1", "A2", "A3"],
        default="A4",
    )
    group = np.where(growth["has_base"].to_numpy(), group, "no base")
    return pd.Series(group, index=growth.index, name="group")


def classify_sales_bands(
    growth: pd.DataFrame,
    *,
    thresholds: Sequence[float] = (0.3, 0.2, 0.1),
    labels: Sequence[str] = ("A41", "A42", "A43", "A44"),
) -> pd.Series:
    """Band customers by sales growth (round two: A41 > 30%, A42 20-30%, A43 10-20%, A44 < 10%).

    A customer exactly at a threshold goes to the higher band (meeting the
    threshold counts as reaching it). Customers with no base sales get
    ``"no base"``.

    Parameters
    ----------
    growth
        Output of :func:`growth_table`.
    thresholds
        Descending lower bounds of every band but the last.
    labels
        One label more than thresholds, highest band first.
    """
    thresholds = list(thresholds)
    if len(labels) != len(thresholds) + 1:
        raise ParameterError("labels must have one more entry than thresholds")
    if any(a <= b for a, b in zip(thresholds, thresholds[1:])):
        raise ParameterError(f"thresholds {thresholds} must be strictly descending")
    g = growth["sales_growth"]
    conditions = [g.fillna(-np.inf) >= t - _TOL for t in thresholds]
    band = np.select(conditions, list(labels[:-1]), default=labels[-1])
    band = np.where(g.notna().to_numpy(), band, "no base")
    return pd.Series(band, index=growth.index, name="band")
