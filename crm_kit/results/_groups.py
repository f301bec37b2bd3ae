"""The case's groups: per-customer growth, A1-A4 by the round's goals, sales bands, and what each group is like."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..campaign import check_goal, pseudonymise
from ..errors import DataError, ParameterError

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

    Examples
    --------
    Five treated customers' base and campaign months (as :func:`crm_kit.engine.period_metrics` gives them):

    >>> import pandas as pd
    >>> from crm_kit import results
    >>> metrics = pd.DataFrame({
    ...     "visits_base": [2, 2, 2, 1, 0],
    ...     "sales_base": [100.0, 100.0, 100.0, 50.0, 0.0],
    ...     "visits_campaign": [3, 3, 2, 1, 1],
    ...     "sales_campaign": [180.0, 150.0, 130.0, 40.0, 30.0]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> visited = metrics.visits_base.where(metrics.visits_base > 0)
    >>> metrics["ticket_base"] = metrics.sales_base / visited
    >>> metrics["ticket_campaign"] = metrics.sales_campaign / metrics.visits_campaign
    >>> growth = results.growth_table(metrics)
    >>> growth[["freq_growth", "ticket_growth", "sales_growth", "has_base"]]
                 freq_growth  ticket_growth  sales_growth  has_base
    customer_id
    a                    0.5            0.2           0.8      True
    b                    0.5            0.0           0.5      True
    c                    0.0            0.3           0.3      True
    d                    0.0           -0.2          -0.2      True
    e                    NaN            NaN           NaN     False
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
        if goal is None:
            raise ParameterError(f"{name} is needed to split by the goals (A1-A4); give it, or split by sales bands")
        check_goal(name, goal)
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


def split_rule(goals: Mapping[str, Any], *, thresholds: Sequence[float] = (0.3, 0.2, 0.1),
               labels: Sequence[str] = ("A41", "A42", "A43", "A44")) -> dict[str, Any]:
    """How a round's treated customers are split, from the round's own goals.

    A round that set both a frequency and a ticket goal (the case's round
    one) splits by them into A1-A4; any other round (the case's round two,
    which has a sales goal only) bands by sales growth at ``thresholds``.

    Returns
    -------
    dict
        ``{"kind": "goals", "freq_goal", "ticket_goal", "labels"}`` or
        ``{"kind": "sales_bands", "thresholds", "labels"}``.

    Examples
    --------
    >>> from crm_kit import results
    >>> results.split_rule({"freq_goal": 0.5, "ticket_goal": 0.2})  # both goals: A1-A4
    {'kind': 'goals', 'freq_goal': 0.5, 'ticket_goal': 0.2, 'labels': ['A1', 'A2', 'A3', 'A4']}
    >>> results.split_rule({"sales_goal": 0.3})["kind"]  # a sales goal only: bands by sales growth
    'sales_bands'
    """
    for name in ("freq_goal", "ticket_goal", "sales_goal"):
        check_goal(name, goals.get(name))
    if goals.get("freq_goal") is not None and goals.get("ticket_goal") is not None:
        return {"kind": "goals", "freq_goal": goals["freq_goal"], "ticket_goal": goals["ticket_goal"],
                "labels": list(ROUND_ONE_GROUPS)}
    thresholds, labels = list(thresholds), list(labels)
    if len(labels) != len(thresholds) + 1:
        raise ParameterError("band_labels must have one more entry than band_thresholds")
    return {"kind": "sales_bands", "thresholds": thresholds, "labels": labels}


def classify_round(growth: pd.DataFrame, *, split: Mapping[str, Any]) -> pd.Series:
    """Split customers as the round's :func:`split_rule` says: A1-A4 by the goals, or bands by sales growth.

    Examples
    --------
    Goals of +50 % visits and +20 % ticket: ``a`` met both (A1), ``b`` the visits only (A2), ``c`` the
    ticket only (A3), ``d`` neither (A4); ``e`` had no base visit:

    >>> import pandas as pd
    >>> from crm_kit import results
    >>> metrics = pd.DataFrame({
    ...     "visits_base": [2, 2, 2, 1, 0],
    ...     "sales_base": [100.0, 100.0, 100.0, 50.0, 0.0],
    ...     "visits_campaign": [3, 3, 2, 1, 1],
    ...     "sales_campaign": [180.0, 150.0, 130.0, 40.0, 30.0]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> visited = metrics.visits_base.where(metrics.visits_base > 0)
    >>> metrics["ticket_base"] = metrics.sales_base / visited
    >>> metrics["ticket_campaign"] = metrics.sales_campaign / metrics.visits_campaign
    >>> growth = results.growth_table(metrics)
    >>> split = results.split_rule({"freq_goal": 0.5, "ticket_goal": 0.2})
    >>> results.classify_round(growth, split=split).to_dict()
    {'a': 'A1', 'b': 'A2', 'c': 'A3', 'd': 'A4', 'e': 'no base'}
    """
    if split["kind"] == "goals":
        return classify_round_one(growth, freq_goal=split["freq_goal"], ticket_goal=split["ticket_goal"])
    if split["kind"] == "sales_bands":
        return classify_sales_bands(growth, thresholds=split["thresholds"], labels=split["labels"])
    raise ParameterError(f"split kind {split['kind']!r}: use 'goals' or 'sales_bands'")


def unmoved_group(split: Mapping[str, Any]) -> str | None:
    """The group a goals split leaves unmoved (A4: neither goal met), the next round's target; bands have none."""
    return split["labels"][-1] if split["kind"] == "goals" else None


def growth_summary(table: pd.DataFrame, *, by: str | None = "arm") -> pd.DataFrame:
    """The case's ratios — means of individual growth rates — with the ratio of totals beside them.

    Customers with no base visits have no defined growth: they are counted in
    ``no_base`` and left out of the means (never divided by zero). The ratio
    of totals (campaign total / base total - 1) over the customers with a
    base is not dominated by tiny bases the way the mean of rates is.

    Examples
    --------
    The four customers with a base: visits grew by 0.5, 0.5, 0, 0 (mean 0.25), but 7 base visits became 9
    (ratio of totals 9 / 7 - 1 = 0.286):

    >>> import pandas as pd
    >>> from crm_kit import results
    >>> metrics = pd.DataFrame({
    ...     "visits_base": [2, 2, 2, 1, 0],
    ...     "sales_base": [100.0, 100.0, 100.0, 50.0, 0.0],
    ...     "visits_campaign": [3, 3, 2, 1, 1],
    ...     "sales_campaign": [180.0, 150.0, 130.0, 40.0, 30.0]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> visited = metrics.visits_base.where(metrics.visits_base > 0)
    >>> metrics["ticket_base"] = metrics.sales_base / visited
    >>> metrics["ticket_campaign"] = metrics.sales_campaign / metrics.visits_campaign
    >>> growth = results.growth_table(metrics)
    >>> summary = results.growth_summary(growth, by=None)
    >>> summary[["customers", "no_base", "freq_growth_mean", "freq_growth_total"]].round(3)
       customers  no_base  freq_growth_mean  freq_growth_total
    0          5        1              0.25              0.286
    """
    groups = table.groupby(by) if by else [("all", table)]
    rows = []
    for key, g in groups:
        b = g[g["has_base"]]
        rows.append({
            by or "group": key,
            "customers": len(g),
            "no_base": int((~g["has_base"]).sum()),
            "freq_growth_mean": b["freq_growth"].mean(),
            "ticket_growth_mean": b["ticket_growth"].mean(),
            "sales_growth_mean": b["sales_growth"].mean(),
            "freq_growth_total": b["visits_campaign"].sum() / b["visits_base"].sum() - 1,
            "ticket_growth_total": (b["sales_campaign"].sum() / b["visits_campaign"].sum())
            / (b["sales_base"].sum() / b["visits_base"].sum()) - 1 if b["visits_campaign"].sum() else np.nan,
            "sales_growth_total": b["sales_campaign"].sum() / b["sales_base"].sum() - 1,
        })
    return pd.DataFrame(rows)


def goal_attainment(summary_row: pd.Series, goals: dict[str, float | None]) -> pd.DataFrame:
    """Goals against what the treated achieved: both the case's mean of rates and the ratio of totals.

    Examples
    --------
    Against goals of +50 % visits and +20 % ticket, these five treated customers reached 0.25 and
    0.286 (visits) and 0.075 and 0.111 (ticket: 350 / 7 = 50 per visit became 500 / 9 = 55.6):

    >>> import pandas as pd
    >>> from crm_kit import results
    >>> metrics = pd.DataFrame({
    ...     "visits_base": [2, 2, 2, 1, 0],
    ...     "sales_base": [100.0, 100.0, 100.0, 50.0, 0.0],
    ...     "visits_campaign": [3, 3, 2, 1, 1],
    ...     "sales_campaign": [180.0, 150.0, 130.0, 40.0, 30.0]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> visited = metrics.visits_base.where(metrics.visits_base > 0)
    >>> metrics["ticket_base"] = metrics.sales_base / visited
    >>> metrics["ticket_campaign"] = metrics.sales_campaign / metrics.visits_campaign
    >>> growth = results.growth_table(metrics)
    >>> summary = results.growth_summary(growth, by=None)
    >>> goals = {"freq_goal": 0.5, "ticket_goal": 0.2}
    >>> attained = results.goal_attainment(summary.iloc[0], goals)
    >>> attained[["metric", "goal", "achieved_mean_of_rates",
    ...           "achieved_ratio_of_totals"]].round(3)
                metric  goal  achieved_mean_of_rates  achieved_ratio_of_totals
    0  visit frequency   0.5                   0.250                     0.286
    1   average ticket   0.2                   0.075                     0.111
    >>> attained["met_ratio_of_totals"].tolist()
    [False, False]
    """
    rows = []
    for metric, key in (("visit frequency", "freq"), ("average ticket", "ticket"), ("sales", "sales")):
        goal = goals.get(f"{key}_goal")
        if goal is None:
            continue
        mean, total = summary_row[f"{key}_growth_mean"], summary_row[f"{key}_growth_total"]
        rows.append({"metric": metric, "goal": goal, "achieved_mean_of_rates": mean, "achieved_ratio_of_totals": total,
                     "met_mean_of_rates": bool(mean >= goal - _TOL), "met_ratio_of_totals": bool(total >= goal - _TOL)})
    return pd.DataFrame(rows)


def group_summary(table: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Sizes, sales and growth of each A-group or band, and its response rate when responses are known.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_kit import results
    >>> metrics = pd.DataFrame({
    ...     "visits_base": [2, 2, 2, 1, 0],
    ...     "sales_base": [100.0, 100.0, 100.0, 50.0, 0.0],
    ...     "visits_campaign": [3, 3, 2, 1, 1],
    ...     "sales_campaign": [180.0, 150.0, 130.0, 40.0, 30.0]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> visited = metrics.visits_base.where(metrics.visits_base > 0)
    >>> metrics["ticket_base"] = metrics.sales_base / visited
    >>> metrics["ticket_campaign"] = metrics.sales_campaign / metrics.visits_campaign
    >>> growth = results.growth_table(metrics)
    >>> split = results.split_rule({"freq_goal": 0.5, "ticket_goal": 0.2})
    >>> groups = results.classify_round(growth, split=split)
    >>> summary = results.group_summary(growth, groups)
    >>> summary[["group", "customers", "share", "sales_base", "sales_campaign"]]
         group  customers  share  sales_base  sales_campaign
    0       A1          1    0.2       100.0           180.0
    1       A2          1    0.2       100.0           150.0
    2       A3          1    0.2       100.0           130.0
    3       A4          1    0.2        50.0            40.0
    4  no base          1    0.2         0.0            30.0
    """
    df = table.join(groups)
    name = groups.name
    g = df.groupby(name)
    out = pd.DataFrame({
        "customers": g.size(),
        "share": g.size() / len(df),
        "sales_base": g["sales_base"].sum(),
        "sales_campaign": g["sales_campaign"].sum(),
        "freq_growth_mean": g["freq_growth"].mean(),
        "ticket_growth_mean": g["ticket_growth"].mean(),
        "sales_growth_mean": g["sales_growth"].mean(),
    })
    if "responded" in df.columns:
        # share who redeemed the reward: did the A-groups that grew also take the offer?
        out["response_rate"] = g["responded"].apply(lambda s: s.astype("float").mean())
    return out.reset_index()


def profile_comparison(groups: pd.Series, customers: pd.DataFrame | None, *,
                       fields: Sequence[str] = ("age_band", "household_income", "marital_status")) -> pd.DataFrame:
    """What the groups' members are like.

    The case's fields when present (student share, WeChat users, channel
    mix), then for each of ``fields`` the most common level of the group and
    its share, e.g. ``45-54 (31%)``; ``with_profile`` is the share of the
    group that has a member record at all (real loyalty data often covers
    only part of the customers).
    """
    if customers is None:
        raise DataError("no member table: the groups cannot be profiled")
    members = customers.set_index("customer_id")
    df = groups.rename("group").to_frame().join(members, how="left")
    df["_profiled"] = df.index.isin(members.index)
    out = pd.DataFrame({"members": df.groupby("group").size(), "with_profile": df.groupby("group")["_profiled"].mean()})
    # the shares are over the customers with a member record: no record is no answer, not "no"
    profiled = df[df["_profiled"]]
    g = profiled.groupby("group")
    if "occupation" in df:
        out["student_share"] = g["occupation"].apply(lambda s: (s == "student").mean())
    if "uses_wechat" in df:
        out["wechat_users"] = g["uses_wechat"].mean()
    if "preferred_channel" in df:
        mix = pd.crosstab(profiled["group"], profiled["preferred_channel"], normalize="index")
        out = out.join(mix.add_prefix("prefers "))
    for field in fields:
        if field in df and field not in ("occupation", "preferred_channel", "uses_wechat"):
            out[field] = g[field].agg(_most_common_level)
    return out.reset_index()


def _most_common_level(values: pd.Series) -> str | None:
    """``'45-54 (31%)'``: the most common known level and its share of the known values (ties: the first level)."""
    shares = values.dropna().value_counts(normalize=True).sort_index(kind="stable")
    return f"{shares.idxmax()} ({shares.max():.0%})" if len(shares) else None


def suggest_channel(profile: pd.DataFrame, group: str, *, exclude: Sequence[str] = ("WeChat",)) -> str | None:
    """The channel most of ``group`` prefers, leaving out the channel(s) that did not move them."""
    row = profile.set_index("group").loc[group]
    prefs = {c.removeprefix("prefers "): row[c] for c in profile.columns if c.startswith("prefers ")}
    prefs = {c: v for c, v in prefs.items() if c not in exclude}
    return max(prefs, key=prefs.get) if prefs else None


def interaction_export(table: pd.DataFrame, groups: pd.Series, *, salt: str | None) -> pd.DataFrame:
    """The interaction table for export: every targeted customer under a pseudonymous key, with their group.

    The key is the contact list's (:func:`crm_kit.campaign.pseudonymise` with the
    campaign's salt), so the two files join; no customer id leaves the run.
    """
    out = table.join(groups.rename("group"), how="left").reset_index()
    keys = pseudonymise(out["customer_id"], salt=salt or "crm-kit")
    out.insert(0, "customer_key", keys.to_numpy())
    return out.drop(columns="customer_id")
