"""Campaign design (业务目标, 市场计划): target, goals, control group, 4P plan, budget.

This module starts with the pieces every later step leans on: the random,
seeded, stratified hold-out of a control group.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .errors import EmptyGroupError, ParameterError

__all__ = ["assign_arms"]


def assign_arms(
    customers: pd.DataFrame,
    *,
    control_share: float = 0.2,
    stratify_by: str | Sequence[str] | None = None,
    seed: int = 0,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Hold out a random control group, stratified, reproducibly.

    Within each stratum, customers are sorted by id, shuffled with a
    generator seeded by ``seed``, and the first ``round(control_share * n)``
    go to control. The same customers, share, strata and seed always give the
    same split, whatever the input order.

    Parameters
    ----------
    customers
        One row per targeted customer.
    control_share
        Share held out as control, strictly between 0 and 1.
    stratify_by
        Column(s) whose levels are split separately (e.g. decile or
        preferred channel), so control and treatment match on them. Missing
        values form their own stratum.
    seed
        Random seed.
    id_col
        Customer id column.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and ``arm`` (``"treatment"`` / ``"control"``), sorted by id.
    """
    if not 0 < float(control_share) < 1:
        raise ParameterError(f"control_share={control_share!r} must be strictly between 0 and 1")
    if id_col not in customers.columns:
        raise ParameterError(f"assign_arms: no column '{id_col}' in the target table")
    if customers.empty:
        raise EmptyGroupError("the target group is empty: nobody to assign; check the target selection")
    if customers[id_col].duplicated().any():
        raise ParameterError("assign_arms: the target table repeats customer ids; deduplicate it first")
    strata_cols = [stratify_by] if isinstance(stratify_by, str) else list(stratify_by or [])
    missing = [c for c in strata_cols if c not in customers.columns]
    if missing:
        raise ParameterError(f"stratify_by names column(s) {missing} that the target table lacks")
    df = customers[[id_col, *strata_cols]].copy()
    df[id_col] = df[id_col].astype(str)
    df = df.sort_values(id_col, kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    arm = np.full(len(df), "treatment", dtype=object)
    if strata_cols:
        keys = df[strata_cols].astype("string").fillna("<missing>").agg("|".join, axis=1)
        groups = sorted(keys.unique())
        positions = [np.flatnonzero(keys.to_numpy() == k) for k in groups]
    else:
        positions = [np.arange(len(df))]
    for pos in positions:
        n_control = int(round(control_share * len(pos)))
        shuffled = rng.permutation(pos)
        arm[shuffled[:n_control]] = "control"
    return pd.DataFrame({id_col: df[id_col].to_numpy(), "arm": arm})
