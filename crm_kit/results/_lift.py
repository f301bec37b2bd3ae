"""The round's effect against its control group, in the case's words: lift, naive vs controlled, return, adjustment.

The statistics are :mod:`crm_kit.experiment`'s; this module names the
round's metrics (visits, sales, the average ticket), picks the estimate the
round's control calls for (the difference in means against a random
control, the difference-in-differences against a comparison group) and
writes the sentences the notebook shows.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import experiment
from ..engine import parse_period, period_metrics, pre_period_covariates, previous_period
from ..errors import DataError, EmptyGroupError, ParameterError
from ._rounds import RoundSetup, interaction_table

#: the round's per-customer metrics, as the interaction table names their campaign-period columns
ROUND_METRICS = {"visits": "visits_campaign", "sales": "sales_campaign"}
#: fewest controls for the regression-adjusted headline: Lin's regression fits an intercept and two slopes within
#: each arm (pre-period visits and sales), and its HC3 errors need far more units than that to be honest
MIN_ADJUSTED_CONTROLS = 30
_ESTIMATES = ("lift", "did")


def _check_estimate(estimate: str) -> None:
    if estimate not in _ESTIMATES:
        raise ParameterError(f"estimate={estimate!r}: use 'lift' or 'did'")


def lift_table(table: pd.DataFrame, *, arm_col: str = "arm", treatment: str = "treatment", control: str = "control",
               level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Lift of the treated over the control group, with confidence intervals.

    For visits and sales per customer (campaign period): the difference in
    means with a Welch t interval, and the difference-in-differences (change
    from base to campaign, treated minus control) with its Welch interval —
    it removes what the two arms differed by before the campaign
    (:func:`crm_kit.experiment.difference_in_means`). For the average ticket
    (sales / visits of each arm; customers without visits have none): the
    difference with a bootstrap interval (:func:`crm_kit.experiment.ratio_difference`).
    All customers of both arms count, those without base visits included.

    Where the normal interval is not to be trusted — few controls, a control
    group mostly at zero, or a skewed difference
    (:func:`crm_kit.experiment.interval_check`) — the row says why
    (``interval_trusted``, ``interval_note``) and carries the permutation
    interval beside it (``permutation_ci_low`` / ``permutation_ci_high``,
    :func:`crm_kit.experiment.permutation_difference`), which holds however
    small or skewed the arms; :func:`headline_effect` then reads that one.
    ``n_treated`` and ``n_control`` count the arms.
    """
    t = table[table[arm_col] == treatment]
    c = table[table[arm_col] == control]
    if len(t) < 2 or len(c) < 2:
        raise EmptyGroupError(f"lift needs at least two customers per arm; got {len(t)} treated and {len(c)} control")
    rows = []
    for metric, column in ROUND_METRICS.items():
        # the difference-in-differences compares the same two periods for everyone: the base period's own figures
        raw = f"{metric}_base_period" if f"{metric}_base_period" in table.columns else f"{metric}_base"
        est = experiment.difference_in_means(table, outcome=column, baseline=raw, arm_col=arm_col,
                                             treatment=treatment, control=control, level=level)
        yt, yc = t[column].to_numpy(float), c[column].to_numpy(float)
        check = experiment.interval_check(yt, yc)
        perm = (experiment.permutation_difference(yt, yc, level=level, seed=seed) if not check["trusted"]
                else (np.nan, np.nan, np.nan, np.nan))
        rows.append({"metric": metric, **{k: est[k] for k in ("treated_mean", "control_mean", "treated_base_mean",
                                                               "lift", "ci_low", "ci_high", "p_value", "did",
                                                               "did_ci_low", "did_ci_high")},
                     "method": "Welch t", "n_treated": len(yt), "n_control": len(yc),
                     "interval_trusted": check["trusted"],
                     "interval_note": ("normal interval not to be trusted: " + "; ".join(check["reasons"])
                                       + " — read the permutation interval") if check["reasons"] else "",
                     "permutation_ci_low": perm[1], "permutation_ci_high": perm[2]})
    est, lo, hi = experiment.ratio_difference(t["sales_campaign"], t["visits_campaign"], c["sales_campaign"],
                                              c["visits_campaign"], n_boot=n_boot, level=level, seed=seed)
    # the ticket's bootstrap resamples the customers who visited: few of them in control, and its interval is rough
    visited = int((c["visits_campaign"] > 0).sum())
    ticket_note = (f"bootstrap interval rough: only {visited} control customers visited (fewer than "
                   f"{experiment.FEW_CONTROLS}); no permutation interval for a ratio"
                   if visited < experiment.FEW_CONTROLS else "")
    rows.append({"metric": "ticket", "treated_mean": t["sales_campaign"].sum() / t["visits_campaign"].sum(),
                 "control_mean": c["sales_campaign"].sum() / c["visits_campaign"].sum(),
                 "treated_base_mean": t["sales_base"].sum() / t["visits_base"].sum() if t["visits_base"].sum() else np.nan,
                 "lift": est,
                 "ci_low": lo, "ci_high": hi, "p_value": np.nan, "did": np.nan, "did_ci_low": np.nan, "did_ci_high": np.nan,
                 "method": f"bootstrap ({n_boot} resamples)", "n_treated": len(t), "n_control": len(c),
                 "interval_trusted": not ticket_note, "interval_note": ticket_note, "permutation_ci_low": np.nan,
                 "permutation_ci_high": np.nan})
    out = pd.DataFrame(rows)
    out["relative_lift"] = out["lift"] / out["control_mean"]
    return out


def lift_shown(lift: pd.DataFrame, *, estimate: str = "lift") -> pd.DataFrame:
    """The columns of :func:`lift_table` a reader needs, so the table fits a screen and an A4 page.

    Always: the arms' means, the lift with its interval and p-value, the
    relative lift and the arms' sizes. The difference-in-differences and the
    treated's base mean only when ``estimate="did"`` (the round read it);
    the permutation interval and the reason only when some row's normal
    interval is not to be trusted. The full table is unchanged.

    Examples
    --------
    >>> lift = pd.DataFrame({"metric": ["sales"], "treated_mean": [12.0], "control_mean": [10.0],
    ...                      "treated_base_mean": [9.0], "lift": [2.0], "ci_low": [0.5], "ci_high": [3.5],
    ...                      "p_value": [0.01], "did": [1.0], "did_ci_low": [0.0], "did_ci_high": [2.0],
    ...                      "method": ["Welch t"], "n_treated": [80], "n_control": [20],
    ...                      "interval_trusted": [True], "interval_note": [""], "permutation_ci_low": [np.nan],
    ...                      "permutation_ci_high": [np.nan], "relative_lift": [0.2]})
    >>> list(lift_shown(lift).columns)
    ['metric', 'treated_mean', 'control_mean', 'lift', 'ci_low', 'ci_high', 'p_value', 'relative_lift', 'method', 'n_treated', 'n_control']
    """
    _check_estimate(estimate)
    columns = ["metric", "treated_mean", "control_mean", "lift", "ci_low", "ci_high", "p_value", "relative_lift"]
    if estimate == "did":
        columns[3:3] = ["treated_base_mean"]
        columns += ["did", "did_ci_low", "did_ci_high"]
    if "interval_trusted" in lift.columns and not lift["interval_trusted"].astype(bool).all():
        columns += ["permutation_ci_low", "permutation_ci_high", "interval_note"]
    columns += ["method", "n_treated", "n_control"]
    return lift[[c for c in columns if c in lift.columns]]


def naive_vs_controlled(table: pd.DataFrame, lift: pd.DataFrame, *, arm_col: str = "arm",
                        estimate: str = "lift") -> pd.DataFrame:
    """The case's naive before/after sales growth next to the control-adjusted effect, for students to compare.

    ``estimate="did"`` reports the difference-in-differences as the controlled
    effect (a comparison group that was not random); the relative figure is
    then the effect over the treated's base sales per customer.
    """
    _check_estimate(estimate)
    t = table[table[arm_col] == "treatment"]
    c = table[table[arm_col] == "control"]
    tb, cb = t[t["has_base"]], c[c["has_base"]]
    sales = lift.set_index("metric").loc["sales"]
    if estimate == "lift":
        rows = [
            {"key": "controlled_relative", "figure": "controlled: lift in sales per customer over control, relative",
             "value": sales["relative_lift"]},
            {"key": "controlled", "figure": "controlled: lift in sales per customer", "value": sales["lift"]},
        ]
    else:
        rows = [
            {"key": "controlled_relative",
             "figure": "controlled: difference-in-differences in sales per customer, relative to the treated base",
             "value": sales["did"] / sales["treated_base_mean"] if sales["treated_base_mean"] else np.nan},
            {"key": "controlled", "figure": "controlled: difference-in-differences in sales per customer",
             "value": sales["did"]},
        ]
    return pd.DataFrame([
        {"key": "naive_mean", "figure": "naive: treated sales growth (mean of individual rates, the case's ratio)",
         "value": tb["sales_growth"].mean()},
        {"key": "naive_total", "figure": "naive: treated sales growth (ratio of totals)",
         "value": tb["sales_campaign"].sum() / tb["sales_base"].sum() - 1},
        {"key": "control_growth", "figure": "control group's own growth (no campaign: season + regression to the mean)",
         "value": cb["sales_campaign"].sum() / cb["sales_base"].sum() - 1},
        *rows,
    ])


def headline_effect(lift: pd.DataFrame, adjusted: pd.DataFrame | str | None = None, *, estimate: str = "lift",
                    metric: str = "sales") -> dict[str, Any]:
    """The round's best valid estimate of its effect on ``metric``, with the plain one beside it.

    Against a random control group (``estimate="lift"``) the regression-adjusted
    lift (:func:`adjusted_lift`: CUPED / Lin) when it was computed — the same
    effect with a narrower interval — else the plain difference in means;
    against a comparison group that was not random (``"did"``) the
    difference-in-differences, as no adjustment makes such arms comparable.

    Two guards, each with its sentence in ``note``: a control group of fewer
    than :data:`MIN_ADJUSTED_CONTROLS` customers, or an adjusted interval wider
    than the plain one (the adjustment is never less precise in large samples,
    so a wider one is a small-sample failure, not a finding), keeps the plain
    estimate; and where :func:`lift_table` found the normal interval not to be
    trusted, the plain estimate's interval is the permutation interval.

    Returns
    -------
    dict
        ``metric``, ``basis`` (``"adjusted"``, ``"lift"`` or ``"did"``), ``method``, ``estimate``, ``ci_low``,
        ``ci_high``; ``plain`` (the difference in means or the difference-in-differences with its interval and
        method); with the adjusted basis also ``variance_explained`` and ``width_gain``; ``note`` (a sentence,
        empty when neither guard applied).
    """
    _check_estimate(estimate)
    row = lift.set_index("metric").loc[metric]
    low, high = ("ci_low", "ci_high") if estimate == "lift" else ("did_ci_low", "did_ci_high")
    plain = {"estimate": float(row[estimate]), "ci_low": float(row[low]), "ci_high": float(row[high]),
             "method": ("difference in means, Welch interval" if estimate == "lift"
                        else "difference-in-differences, Welch interval")}
    notes = []
    trusted = bool(row.get("interval_trusted", True))
    if estimate == "lift" and not trusted and np.isfinite(float(row.get("permutation_ci_low", np.nan))):
        plain.update(ci_low=float(row["permutation_ci_low"]), ci_high=float(row["permutation_ci_high"]),
                     method="difference in means, permutation interval")
        notes.append(f"The interval is the permutation interval: the {row['interval_note']}.".replace(
            " — read the permutation interval", ""))
    out = {"metric": metric, "basis": estimate, "method": plain["method"], "estimate": plain["estimate"],
           "ci_low": plain["ci_low"], "ci_high": plain["ci_high"], "plain": plain}
    n_control = row.get("n_control")
    if estimate == "lift" and isinstance(adjusted, pd.DataFrame) and metric in set(adjusted["metric"]):
        adj = adjusted.set_index("metric").loc[metric]
        values = [float(adj[k]) for k in ("adjusted", "adjusted_ci_low", "adjusted_ci_high")]
        gain = float(adj["width_gain"]) if "width_gain" in adj else np.nan
        if n_control is not None and n_control == n_control and int(n_control) < MIN_ADJUSTED_CONTROLS:
            notes.append(f"The control group has only {int(n_control)} customers: too few for an honest adjusted "
                         f"estimate (it needs at least {MIN_ADJUSTED_CONTROLS}), so the headline is the plain "
                         "difference in means.")
        elif np.isfinite(gain) and gain < 0:
            notes.append("The adjusted interval came out wider than the plain one, which the adjustment never "
                         "does in a large sample: the plain difference in means is the headline.")
        elif all(np.isfinite(values)):
            out.update(basis="adjusted", method="regression-adjusted lift (CUPED / Lin 2013), HC3 interval",
                       estimate=values[0], ci_low=values[1], ci_high=values[2],
                       variance_explained=float(adj["variance_explained"]), width_gain=float(adj["width_gain"]))
    out["note"] = " ".join(notes)
    return out


def campaign_return(lift: pd.DataFrame, *, treated: int, cost: float, gross_margin: float,
                    estimate: str = "lift", headline: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Incremental sales (effect per customer x treated, with its interval), cost, return on spend and ROI.

    ``estimate`` picks the effect per customer: ``"lift"`` (difference in
    means, right for a random control group) or ``"did"`` (difference-in-
    differences, for a comparison group that was not drawn at random).
    With ``headline`` (:func:`headline_effect`) its estimate is used instead —
    the adjusted lift when there is one — and ``estimate`` in the result says
    which (``"adjusted"``). With no cost given, return on spend and ROI are
    ``None``: undefined, not infinite (:func:`crm_kit.experiment.incremental_return`).
    """
    _check_estimate(estimate)
    if headline is not None:
        used, effect, lo, hi = headline["basis"], headline["estimate"], headline["ci_low"], headline["ci_high"]
    else:
        s = lift.set_index("metric").loc["sales"]
        low, high = ("ci_low", "ci_high") if estimate == "lift" else ("did_ci_low", "did_ci_high")
        used, effect, lo, hi = estimate, s[estimate], s[low], s[high]
    figures = experiment.incremental_return(effect, lo, hi, treated=treated, cost=cost, gross_margin=gross_margin)
    return {"treated": treated, "estimate": used, **{k: v for k, v in figures.items() if k != "treated"}}


def lift_by_attribute(table: pd.DataFrame, attribute: pd.Series, *, metric: str = "sales", level: float = 0.95,
                      arm_col: str = "arm", min_size: int = 10) -> pd.DataFrame:
    """Lift in ``metric`` within each level of a pre-campaign attribute (channel, student, decile).

    Unlike lift by A-group, this is causal: the attribute was fixed before
    the campaign, and within each level the arms are still random
    (:func:`crm_kit.experiment.lift_by_level`).
    """
    return experiment.lift_by_level(table, attribute, outcome=f"{metric}_campaign", arm_col=arm_col, level=level,
                                    min_size=min_size)


def lift_by_attributes(table: pd.DataFrame, customers: pd.DataFrame | None, *,
                       attributes: Sequence[str] = ("occupation", "preferred_channel", "uses_wechat", "age_band"),
                       level: float = 0.95) -> list[pd.DataFrame]:
    """:func:`lift_by_attribute` for each pre-campaign attribute the member table has (occupation as student or not)."""
    if customers is None:
        return []
    members = customers.set_index("customer_id")
    tables = []
    for attribute in (a for a in attributes if a in members.columns):
        values = members[attribute]
        if attribute == "occupation":
            values = (values == "student").rename("student")
        tables.append(lift_by_attribute(table, values.reindex(table.index), level=level))
    return tables


def placebo_lift(transactions, arms: pd.DataFrame, *, base: Any, level: float = 0.95, n_boot: int = 2000,
                 seed: int = 0) -> tuple[tuple[pd.Timestamp, pd.Timestamp], pd.DataFrame]:
    """The placebo check of a comparison that was not random: the same lift one period earlier.

    The period just before ``base`` (same length; the month before a month)
    plays the base, ``base`` plays the campaign. No campaign ran in between,
    so a difference-in-differences far from zero means the arms were already
    drifting apart and parallel trends fail.

    Returns
    -------
    tuple
        The earlier period ``(start, end)`` and the :func:`lift_table` of the placebo.
    """
    before_base = previous_period(base, "base")
    table = interaction_table(transactions, arms, base=before_base, campaign=base)
    return before_base, lift_table(table, level=level, n_boot=n_boot, seed=seed)


def compare_arms(frame: pd.DataFrame, *, arm_col: str = "treatment_arm", control: Any = "control",
                 metrics: Mapping[str, str] | Sequence[str] | None = None, level: float = 0.95,
                 min_size: int = 2) -> pd.DataFrame | str:
    """Every treatment arm against control and against every other arm, with joint intervals and Holm p-values.

    :func:`crm_kit.experiment.compare_arms` on the round's table: by default
    visits and sales of the campaign period, the arms named by
    :func:`pool_arms`'s ``treatment_arm`` (or ``arm`` when the round had one
    treatment arm). A design with a single treatment arm gets a sentence: its
    comparison with control is the round's lift.

    Parameters
    ----------
    frame
        One row per customer: the arm column and the metric columns (the
        interaction table, or notebook 06's outcome table).
    arm_col, control, metrics, level, min_size
        As for :func:`crm_kit.experiment.compare_arms`.

    Returns
    -------
    pandas.DataFrame or str
        The comparisons, or a sentence when there is a single treatment arm.

    Examples
    --------
    Two treatment arms of four customers against a control of four (sales 10, 20, 30, 40): SMS's +20 has a
    Welch p of 0.071, which Holm's correction for three comparisons raises to 3 × 0.071 = 0.213:

    >>> import pandas as pd
    >>> from crm_kit import results
    >>> table = pd.DataFrame({"treatment_arm": ["control"] * 4 + ["sms"] * 4 + ["mail"] * 4,
    ...                       "sales_campaign": [10.0, 20, 30, 40, 30, 40, 50, 60,
    ...                                          20, 30, 40, 50]})
    >>> compared = results.compare_arms(table, metrics=["sales_campaign"])
    >>> compared[["arm", "against", "difference", "p_value", "holm_p"]].round(3)
        arm  against  difference  p_value  holm_p
    0  mail  control        10.0    0.315   0.631
    1   sms  control        20.0    0.071   0.213
    2  mail      sms       -10.0    0.315   0.631
    """
    metrics = metrics if metrics is not None else ROUND_METRICS
    if arm_col not in frame.columns and arm_col == "treatment_arm" and "arm" in frame.columns:
        arm_col = "arm"  # the round's arms as pool_arms left them: one treatment arm
    if arm_col not in frame.columns:
        raise DataError(f"no arm column '{arm_col}' to compare arms by")
    names = frame[arm_col].astype(str)
    if (names == str(control)).any() and len(set(names) - {str(control)}) < 2:
        return ("One treatment arm: the lift above is that arm's against control; a design with several arms "
                "(treatment_arms in notebook 03) gets each arm against control and against the others here.")
    return experiment.compare_arms(frame, arm_col=arm_col, metrics=metrics, control=control, level=level,
                                   min_size=min_size)


def adjusted_lift(table: pd.DataFrame, lift: pd.DataFrame, *, covariates: pd.DataFrame, level: float = 0.95,
                  arm_col: str = "arm", treatment: str = "treatment", control: str = "control") -> pd.DataFrame:
    """The lift adjusted for each customer's pre-campaign behaviour (CUPED / ANCOVA), beside the plain difference.

    For visits and sales, an OLS of the campaign-period outcome on the
    treatment indicator, the customer's own pre-period visits and sales
    (centred) and their interaction with the treatment (Lin 2013, which stays
    unbiased when the effect differs with the covariates):
    ``y = a + lift * t + x_c b + t x_c g + e``
    (:func:`crm_kit.experiment.adjusted_differences`). Under randomisation the
    coefficient of ``t`` estimates the same effect as the plain difference
    in means, with the part of the outcome the pre-period predicts taken out,
    so its interval is narrower by about the share of variance the
    covariates explain. The difference-in-differences is the special case with
    the coefficient of the base month fixed at 1.

    Parameters
    ----------
    table
        The interaction table (:func:`interaction_table`), indexed by customer_id.
    lift
        Its :func:`lift_table` (the plain interval shown beside the adjusted one).
    covariates
        :func:`~crm_kit.engine.pre_period_covariates` of the same customers (``visits_pre``, ``sales_pre``).

    Returns
    -------
    pandas.DataFrame
        Per metric: the plain ``lift`` and interval, the ``adjusted`` lift and
        its ``adjusted_ci_low`` / ``adjusted_ci_high``, ``variance_explained``
        (the share of the outcome's variance beyond the arms that the covariates
        explain) and ``width_gain`` (1 - adjusted width / plain width).
    """
    if not 0 < float(level) < 1:
        raise ParameterError(f"level={level!r} must be strictly between 0 and 1")
    arms = table[arm_col]
    keep = arms.isin([treatment, control])
    if (arms[keep] == treatment).sum() < 2 or (arms[keep] == control).sum() < 2:
        raise EmptyGroupError("the adjusted lift needs at least two customers per arm")
    pre = ["visits_pre", "sales_pre"]
    cov = covariates.reindex(table.index[keep])
    if cov[pre].isna().any().any():
        raise DataError("pre-period covariates are missing for some targeted customers; compute them with "
                        "pre_period_covariates() for the interaction table's customers")
    frame = table.loc[keep, [arm_col, *ROUND_METRICS.values()]].join(cov[pre])
    out = experiment.adjusted_differences(frame, outcomes=ROUND_METRICS, covariates=pre, arm_col=arm_col,
                                          treatment=treatment, control=control, level=level, plain=lift)
    return out.assign(method="OLS on pre-period visits and sales, with interactions (Lin), HC3")


def adjusted_round_lift(transactions, table: pd.DataFrame, lift: pd.DataFrame, setup: RoundSetup, *,
                        level: float = 0.95, periods: int = 12) -> pd.DataFrame | str:
    """The round's lift adjusted for the year before its base period, or why it is not computed.

    With a random control group (``setup.estimate == "lift"``): :func:`adjusted_lift`
    on :func:`~crm_kit.engine.pre_period_covariates` of the ``periods`` periods before the base.
    Against a comparison group that is not random the adjustment would not make
    the arms comparable; the sentence says to read the difference-in-differences.
    """
    if setup.estimate != "lift":
        return ("No adjusted lift: the comparison group is not random, so adjusting for the pre-period does not make "
                "the arms comparable — read the difference-in-differences and the placebo check below.")
    covariates = pre_period_covariates(transactions, table.index, base=setup.periods["base"], periods=periods)
    return adjusted_lift(table, lift, covariates=covariates, level=level)


def why_naive_differs(transactions, arms: pd.DataFrame, table: pd.DataFrame, setup: RoundSetup, *,
                      months_before: int = 3, tolerance: float = 0.05) -> str:
    """Why the naive before/after figure differs from the controlled one — written from this round's data.

    Compares the treated's base-period sales with their own mean over the
    ``months_before`` periods before it: a base more than ``tolerance``
    below that is a *low* month (regression to the mean lifts the naive
    figure), more than ``tolerance`` above a *high* one (it pulls the naive
    figure down), else an ordinary one. Then the control group's own growth,
    and what the controlled estimate subtracts (a random control group, or a
    comparison group whose difference-in-differences assumes parallel trends).
    """
    start, end = parse_period(setup.periods["base"], "base")
    treated_ids = arms.loc[arms["arm"] == "treatment", "customer_id"].astype(str)
    span = end - start
    periods = {f"p{i}": (start - span * i, start - span * (i - 1)) for i in range(1, months_before + 1)}
    before = period_metrics(transactions, periods=periods, customer_ids=treated_ids)
    pre_mean = float(np.mean([before[f"sales_{k}"].mean() for k in periods]))
    treated = table[table["arm"] == "treatment"]
    base_mean = float(treated["sales_base"].mean())
    ratio = base_mean / pre_mean - 1 if pre_mean else np.nan
    if not np.isfinite(ratio):
        selection = "The treated had no purchases before the base period, so whether it was a low month cannot be told."
    elif ratio < -tolerance:
        selection = (f"The treated were picked in a **low** base period: {base_mean:,.0f} per customer against "
                     f"{pre_mean:,.0f} a period in the {months_before} before it ({ratio:+.0%}). Part of that was bad "
                     "luck, and they drift back up whatever we do (regression to the mean): the naive growth "
                     "credits that to the campaign.")
    elif ratio > tolerance:
        selection = (f"The treated were picked in a **high** base period: {base_mean:,.0f} per customer against "
                     f"{pre_mean:,.0f} a period in the {months_before} before it ({ratio:+.0%}). They drift back "
                     "down whatever we do (regression to the mean): the naive growth understates the campaign.")
    else:
        selection = (f"The base period was an ordinary one for the treated ({base_mean:,.0f} per customer against "
                     f"{pre_mean:,.0f} before it, {ratio:+.0%}): little regression to the mean is to be expected.")
    control = table[table["arm"] == "control"]
    control_growth = control["sales_campaign"].sum() / control["sales_base"].sum() - 1 if control["sales_base"].sum() else np.nan
    season = (f" The control group grew {control_growth:+.0%} with no campaign (season and regression to the mean);"
              if np.isfinite(control_growth) else "")
    if setup.estimate == "lift":
        method = " the lift against the **random** control group subtracts all of that."
    else:
        method = (" the difference-in-differences against the comparison group (not random) subtracts what the two "
                  "groups share, assuming they would have moved in parallel — the placebo check tests that.")
    return selection + season + method
