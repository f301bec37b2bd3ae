"""Who gets which arm: seeded, stratified random assignment with randomised rounding, several arms, balance."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, EmptyGroupError, ParameterError

__all__ = ["assign_arms", "check_arm_shares", "largest_remainder", "randomised_counts", "balance_table"]


def largest_remainder(shares: Sequence[float], n: int) -> np.ndarray:
    """``n`` units split in proportion to ``shares`` by the largest-remainder (Hamilton) method.

    Each part gets the floor of its quota ``q_i = n s_i / sum(s)``; the
    ``n - sum(floor(q_i))`` units left over go one each to the parts with the
    largest remainders ``q_i - floor(q_i)`` (ties: the earlier part). The
    counts add up to ``n`` and no part is more than one unit from its quota.

    Examples
    --------
    >>> largest_remainder([0.6, 0.3], 93).tolist()
    [62, 31]
    """
    quota = np.asarray(shares, float) / float(np.sum(shares)) * n
    counts = np.floor(quota).astype(int)
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def check_arm_shares(arms: Sequence[Mapping[str, Any]], *, control_share: float,
                     label: str = "treatment_arms") -> list[dict[str, Any]]:
    """Validate the treatment arms' names and shares and fill equal shares when none is given.

    Parameters
    ----------
    arms
        One mapping per treatment arm with ``name`` (not ``control``, unique) and an optional ``share`` of
        the whole group; other keys pass through unchecked (the caller's own).
    control_share
        The control arm's share of the whole group.
    label
        The parameter's name in error messages.

    Returns
    -------
    list of dict
        The arms with ``share`` filled: either every arm gave one and ``sum(shares) + control_share = 1``,
        or none did and each gets ``(1 - control_share) / k``.
    """
    if isinstance(arms, Mapping) or not all(isinstance(a, Mapping) for a in arms):
        raise ParameterError(f"{label}: give a list of mappings such as [{{name: a, share: 0.4}}, {{name: b, share: 0.4}}]")
    out = [dict(a) for a in arms]
    for i, arm in enumerate(out):
        name = str(arm.get("name") or "").strip()
        if not name:
            raise ParameterError(f"{label}[{i}]: every arm needs a name")
        if name in ("control", "none"):
            raise ParameterError(f"{label}[{i}]: '{name}' cannot name a treatment arm; control is the held-out group")
        arm["name"] = name
        arm.setdefault("share", None)
    names = [a["name"] for a in out]
    if len(set(names)) != len(names):
        raise ParameterError(f"{label}: arm names must differ, got {names}")
    given = [a["share"] for a in out if a["share"] is not None]
    if given and len(given) != len(out):
        raise ParameterError(f"{label}: give a share to every arm or to none (then the treated are split equally)")
    if given:
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < 1 for v in given):
            raise ParameterError(f"{label}: shares must be numbers between 0 and 1, got {given}")
        if abs(sum(given) + control_share - 1) > 1e-6:
            raise ParameterError(f"{label}: the arms' shares {given} and control_share {control_share} add up to "
                                 f"{sum(given) + control_share:g}; they must add up to 1")
    else:
        for a in out:
            a["share"] = (1 - control_share) / len(out) if out else None
    return out


def randomised_counts(quota: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """Integer counts whose expectation is exactly ``quota``: each part's floor plus a randomised remainder.

    The quotas must add up to a whole number ``n``. Each part gets
    ``floor(q_i)``; the ``r = n - sum(floor(q_i))`` units left over go to
    the parts by systematic sampling on their remainders ``f_i = q_i - floor(q_i)``:
    one uniform ``u`` in [0, 1), the points ``u, u + 1, ..., u + r - 1`` laid on
    the remainders end to end, and a part gets one unit more when a point falls
    in its stretch — with probability exactly ``f_i`` (Madow 1949's systematic
    sampling; the same rounding as Cox 1987's unbiased random rounding). So
    ``E[count_i] = q_i``, every count is ``floor`` or ``ceil`` of its quota and
    the counts add up to ``n``.

    Examples
    --------
    >>> randomised_counts([0.3, 2.7], np.random.default_rng(0)).sum()
    np.int64(3)
    """
    quota = np.asarray(quota, float)
    counts = np.floor(quota + 1e-9).astype(int)
    frac = np.clip(quota - counts, 0.0, 1.0)
    left = int(round(quota.sum())) - int(counts.sum())
    if left > 0:
        edges = np.cumsum(frac)
        points = rng.random() + np.arange(left)
        hit = np.searchsorted(edges, points, side="right")
        counts += np.bincount(np.minimum(hit, len(quota) - 1), minlength=len(quota))
    return counts


def assign_arms(
    units: pd.DataFrame,
    *,
    control_share: float = 0.2,
    stratify_by: str | Sequence[str] | None = None,
    seed: int = 0,
    id_col: str = "customer_id",
    treatment_arms: Sequence[Mapping[str, Any]] = (),
) -> pd.DataFrame:
    """Hold out a random control arm, stratified and reproducible; optionally split the rest into several arms.

    Within each stratum of ``n`` units, units are sorted by id and permuted by
    a generator seeded with ``seed``; the first ``n_c`` go to control, where
    ``n_c`` is ``control_share x n`` rounded *at random*: its floor, plus one
    with probability equal to its remainder (:func:`randomised_counts`). With
    several treatment arms the rest, in the same permuted order, go to the arms
    in proportion to their shares, again rounded at random (a second generator,
    so the control group does not depend on how the rest is split).

    **Every unit has exactly its arm's share as its chance of that arm,
    whatever the size of its stratum**: ``E[n_c] = control_share x n`` in each
    stratum. Rounding each stratum to the nearest whole number (half to even)
    would not: a stratum of three at a 10 % share would never get a control,
    and strata of mixed sizes would give their units unequal chances — a bias
    in any estimate that pools the strata. The price is that the arms' totals
    vary a little from one seed to another (by at most one unit per stratum).

    A stratum where an arm's quota is below one unit (three units at a 10 %
    control share) cannot be split in proportion: its units still have the
    right chances, but the arms are not balanced within it; the returned
    table's ``attrs["notes"]`` says which strata, in one sentence each. The
    same units, shares, strata and seed always give the same split, whatever
    the input order (strata are visited in sorted order, so adding a stratum
    can change the others' draws).

    Parameters
    ----------
    units
        One row per unit (customer) to assign.
    control_share
        Share held out as control, strictly between 0 and 1.
    stratify_by
        Column(s) whose levels are split separately, so the arms match on them; missing values form their
        own stratum.
    seed
        Random seed.
    id_col
        The unit id column.
    treatment_arms
        Several treatment arms (``name`` and optional ``share``, :func:`check_arm_shares`); empty: one arm,
        ``"treatment"``.

    Returns
    -------
    pandas.DataFrame
        ``id_col`` and ``arm`` (``"treatment"`` or the arms' names, and ``"control"``), sorted by id;
        ``attrs["notes"]``: a list of sentences (strata too small to split), empty when there are none.

    Examples
    --------
    >>> units = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)]})
    >>> assign_arms(units, control_share=0.3, seed=1)["arm"].value_counts().to_dict()
    {'treatment': 7, 'control': 3}
    """
    if not 0 < float(control_share) < 1:
        raise ParameterError(f"control_share={control_share!r} must be strictly between 0 and 1")
    if id_col not in units.columns:
        raise ParameterError(f"assign_arms: no column '{id_col}' in the table to assign")
    if units.empty:
        raise EmptyGroupError("the target group is empty: nobody to assign; check the target selection")
    if units[id_col].duplicated().any():
        raise ParameterError("assign_arms: the table repeats ids; deduplicate it first")
    strata_cols = [stratify_by] if isinstance(stratify_by, str) else list(stratify_by or [])
    missing = [c for c in strata_cols if c not in units.columns]
    if missing:
        raise ParameterError(f"stratify_by names column(s) {missing} that the table lacks")
    df = units[[id_col, *strata_cols]].copy()
    df[id_col] = df[id_col].astype(str)
    df = df.sort_values(id_col, kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    split_rng = np.random.default_rng([int(seed), 1])
    arm = np.full(len(df), "treatment", dtype=object)
    if strata_cols:
        keys = df[strata_cols].astype("string").fillna("<missing>").agg("|".join, axis=1)
        strata = sorted(keys.unique())
        positions = [np.flatnonzero(keys.to_numpy() == k) for k in strata]
    else:
        strata = ["all"]
        positions = [np.arange(len(df))]
    arm_list = check_arm_shares(treatment_arms, control_share=control_share) if treatment_arms else []
    share = float(control_share)
    smallest = min([share, *(a["share"] for a in arm_list)]) if arm_list else min(share, 1 - share)
    too_small = []
    for key, pos in zip(strata, positions):
        if len(pos) * smallest < 1:
            too_small.append(f"{key} ({len(pos)})")
        n_control = int(randomised_counts([share * len(pos), (1 - share) * len(pos)], rng)[0])
        shuffled = rng.permutation(pos)
        arm[shuffled[:n_control]] = "control"
        if arm_list:
            rest = shuffled[n_control:]
            shares = np.array([a["share"] for a in arm_list], float)
            counts = randomised_counts(shares / shares.sum() * len(rest), split_rng)
            bounds = np.concatenate([[0], np.cumsum(counts)])
            for spec, lo, hi in zip(arm_list, bounds[:-1], bounds[1:]):
                arm[rest[lo:hi]] = spec["name"]
    out = pd.DataFrame({id_col: df[id_col].to_numpy(), "arm": arm})
    notes = []
    if too_small:
        by = ", ".join(strata_cols) if strata_cols else "the whole group"
        notes.append(f"{len(too_small)} stratum(s) of {by} too small to split into every arm at these shares "
                     f"(fewer than {1 / smallest:.0f} units): {', '.join(too_small[:10])}"
                     f"{' …' if len(too_small) > 10 else ''}. Their units still get each arm with its share's "
                     "chance, but the arms are not balanced within them; stratify by fewer or coarser columns.")
    out.attrs["notes"] = notes
    return out


def balance_table(frame: pd.DataFrame, *, arm_col: str = "arm", columns: Sequence[str],
                  treatment: Any = "treatment", control: Any = "control") -> pd.DataFrame:
    """Treatment against control on pre-treatment columns, with standardised differences.

    Numeric and boolean columns are compared as they are; a text column as
    one row per level (the share of units at that level). The standardised
    difference is ``d = (mean_t - mean_c) / sqrt((var_t + var_c) / 2)``
    (Cohen 1988; Austin 2009 for balance checks); ``|d| < 0.1`` is the usual
    mark of a balanced split. Columns the frame lacks are skipped.
    """
    if arm_col not in frame.columns:
        raise DataError(f"balance_table needs the arm column '{arm_col}'")
    rows = []
    arms = frame[arm_col]
    for col in columns:
        if col not in frame.columns:
            continue
        s = frame[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            parts = {f"{col} = {lvl}": (s == lvl).astype(float) for lvl in sorted(s.dropna().unique())}
        else:
            parts = {col: s.astype(float)}
        for name, x in parts.items():
            t, c = x[arms == treatment], x[arms == control]
            pooled = np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
            rows.append({"variable": name, "treatment": t.mean(), "control": c.mean(),
                         "std_difference": (t.mean() - c.mean()) / pooled if pooled > 0 else 0.0})
    out = pd.DataFrame(rows, columns=["variable", "treatment", "control", "std_difference"])
    out["balanced"] = out["std_difference"].abs() < 0.1
    return out
