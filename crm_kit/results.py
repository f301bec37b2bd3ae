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

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .artifacts import CampaignDefinition
from .campaign import arms_from_contact_list, check_goal, pseudonymise
from .config import resolve_path
from .engine import parse_period, period_metrics, pre_period_covariates, previous_period
from .errors import DataError, EmptyGroupError, ParameterError

__all__ = [
    "adjusted_lift",
    "adjusted_round_lift",
    "design_check",
    "pre_period_covariates",
    "interaction_table",
    "arms_from_contacts",
    "comparison_arms",
    "placebo_lift",
    "growth_summary",
    "goal_attainment",
    "group_summary",
    "profile_comparison",
    "suggest_channel",
    "lift_table",
    "naive_vs_controlled",
    "campaign_return",
    "lift_by_attribute",
    "outcome_lift",
    "growth_table",
    "classify_round_one",
    "classify_sales_bands",
    "classify_round",
    "split_rule",
    "unmoved_group",
    "RoundSetup",
    "round_setup",
    "round_arms",
    "channel_suggestion",
    "why_naive_differs",
    "lift_by_attributes",
    "read_outcome_table",
    "COMPARISON_GROUP_NOTE",
    "interaction_export",
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
    """Split customers as the round's :func:`split_rule` says: A1-A4 by the goals, or bands by sales growth."""
    if split["kind"] == "goals":
        return classify_round_one(growth, freq_goal=split["freq_goal"], ticket_goal=split["ticket_goal"])
    if split["kind"] == "sales_bands":
        return classify_sales_bands(growth, thresholds=split["thresholds"], labels=split["labels"])
    raise ParameterError(f"split kind {split['kind']!r}: use 'goals' or 'sales_bands'")


def unmoved_group(split: Mapping[str, Any]) -> str | None:
    """The group a goals split leaves unmoved (A4: neither goal met), the next round's target; bands have none."""
    return split["labels"][-1] if split["kind"] == "goals" else None


# ====================================================================== per-customer interaction table


def interaction_table(transactions, arms: pd.DataFrame, *, base: Any, campaign: Any, base_window: int = 0) -> pd.DataFrame:
    """The interaction table (表11): per targeted customer, base and campaign figures, arm and response.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    arms
        ``customer_id``, ``arm`` and optionally ``responded``.
    base, campaign
        Months ``'YYYY-MM'`` or ``[start, end)`` pairs. Weekly figures are
        summed to the period: visits and sales add up, the ticket is
        sales / visits of the whole period.
    base_window
        A customer with no visit in the base period gets a base from the
        periods before it (up to this many, of the base period's length): the
        mean visits and sales per period over those in which they bought. A
        round whose target was picked on an earlier month (round two on round
        one's A4) thus keeps the members the campaign month lost. 0 keeps the
        base period only. Customers with no purchase in the whole window keep
        no base (the group ``"no base"``).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id: arm, (responded), visits/sales/ticket for
        both periods, ``base_source`` (``"base period"``, ``"N earlier
        period(s)"`` or ``"none"``), the base period's own figures
        (``visits_base_period``, ``sales_base_period``: what the
        difference-in-differences uses) and the growth columns of :func:`growth_table`.
    """
    if arms.empty:
        raise EmptyGroupError("no targeted customers: the contact list is empty")
    if arms["customer_id"].duplicated().any():
        raise DataError("the contact list repeats customers; one row per customer and round")
    if isinstance(base_window, bool) or not isinstance(base_window, (int, np.integer)) or base_window < 0:
        raise ParameterError(f"base_window={base_window!r}: give a whole number of periods, 0 for the base period only")
    m = period_metrics(transactions, periods={"base": base, "campaign": campaign}, customer_ids=arms["customer_id"])
    keep = [c for c in ("arm", "treatment_arm", "responded") if c in arms.columns]
    table = arms.astype({"customer_id": str}).set_index("customer_id")[keep].join(m)
    table = table.astype({"visits_base": float, "sales_base": float, "ticket_base": float})
    table["visits_base_period"], table["sales_base_period"] = table["visits_base"], table["sales_base"]
    table["base_source"] = np.where(table["visits_base"] > 0, "base period", "none")
    missing = table.index[table["visits_base"] <= 0]
    if base_window and len(missing):
        periods, current = {}, base
        for i in range(1, base_window + 1):
            current = previous_period(current, "base")
            periods[f"e{i}"] = current
        earlier = period_metrics(transactions, periods=periods, customer_ids=missing)
        visits = earlier[[f"visits_{k}" for k in periods]]
        sales = earlier[[f"sales_{k}" for k in periods]]
        observed = (visits > 0).sum(axis=1)
        found = observed[observed > 0].index
        per = observed.loc[found]
        table.loc[found, "visits_base"] = visits.loc[found].sum(axis=1).to_numpy() / per.to_numpy()
        table.loc[found, "sales_base"] = sales.loc[found].sum(axis=1).to_numpy() / per.to_numpy()
        table.loc[found, "ticket_base"] = table.loc[found, "sales_base"] / table.loc[found, "visits_base"]
        table.loc[found, "base_source"] = [f"{n} earlier period(s)" for n in per]
    return growth_table(table)


def _campaign_contacts(contacts: pd.DataFrame | None, campaign_id: Any) -> pd.DataFrame:
    """The contact rows of one campaign; clear errors for no contacts table or an unknown campaign."""
    if contacts is None or contacts.empty:
        raise DataError("the data has no contacts table; map tables.contacts in the data spec or set arms_source: contact_list")
    rows = contacts[contacts["campaign_id"].astype(str) == str(campaign_id)]
    if rows.empty:
        known = sorted(contacts["campaign_id"].astype(str).unique(), key=lambda v: (len(v), v))
        raise EmptyGroupError(f"campaign '{campaign_id}' has no contacts; campaigns in the data: {known}")
    return rows


def arms_from_contacts(contacts: pd.DataFrame | None, campaign_id: Any) -> pd.DataFrame:
    """The arms of one campaign as recorded in the contacts table (treatment and a random control).

    Raises a clear error when the campaign is not in the table or kept no
    control group (then :func:`comparison_arms` is the fallback).
    """
    rows = _campaign_contacts(contacts, campaign_id)
    if not (rows["arm"] == "control").any():
        raise EmptyGroupError(
            f"campaign '{campaign_id}' kept no control group in the contacts table; set control: never_contacted "
            "to compare with the customers no campaign reached (not random: read the difference-in-differences)"
        )
    keep = [c for c in ("customer_id", "arm", "treatment_arm", "responded") if c in rows.columns]
    return rows[keep].reset_index(drop=True)


def comparison_arms(transactions, contacts: pd.DataFrame, campaign_id: Any, *, before: Any) -> pd.DataFrame:
    """Arms for a campaign sent without a holdout: its contacts against customers no campaign reached.

    Many real campaigns (the Complete Journey's among them) keep no random
    control group. The fairest comparison the data allows is the customers
    who were never contacted by any campaign. Both arms are limited to
    customers who had bought before ``before`` (the campaign's start), so the
    comparison group is made of known, reachable customers, and so are the
    treated. The comparison is **not random**: read the difference-in-
    differences and the placebo check, not the plain difference in means.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    contacts
        The canonical contacts table (``customer_id``, ``campaign_id``, ``arm``...).
    campaign_id
        The campaign to evaluate.
    before
        Date (or period, whose start is used): only customers with a purchase
        strictly before it are kept in either arm.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and ``arm`` (``"treatment"`` / ``"control"``). Its
        ``attrs`` hold ``contacted``, ``treated_without_history``,
        ``contacted_elsewhere`` and ``never_contacted`` counts.
    """
    from .engine import _ts, parse_period

    rows = _campaign_contacts(contacts, campaign_id)
    if (rows["arm"] == "control").any():
        raise ParameterError(
            f"campaign '{campaign_id}' has a random control group in the contacts table; "
            "set control: contacts to use it (a random control beats any comparison group)"
        )
    try:
        start = parse_period(before, "before")[0]
    except ParameterError:
        start = _ts(before, "before")
    t = transactions
    known = pd.Index(
        t.filter(t.ts < start).select("customer_id").distinct().to_pandas()["customer_id"].astype(str)
    )
    contacted = pd.Index(rows["customer_id"].astype(str).unique())
    treated = contacted.intersection(known)
    ever = pd.Index(contacts["customer_id"].astype(str).unique())
    never = known.difference(ever)
    if treated.empty:
        raise EmptyGroupError(f"no customer contacted by '{campaign_id}' bought before {start.date()}: nothing to compare")
    if never.empty:
        raise EmptyGroupError("every customer with a purchase was contacted by some campaign: no comparison group is left")
    arms = pd.DataFrame({
        "customer_id": np.concatenate([treated.to_numpy(str), never.to_numpy(str)]),
        "arm": ["treatment"] * len(treated) + ["control"] * len(never),
    })
    if "responded" in rows.columns:
        # the treated's responses to this campaign; the comparison group was offered nothing to respond to
        answered = rows.assign(customer_id=rows["customer_id"].astype(str)).groupby("customer_id")["responded"].any()
        arms["responded"] = arms["customer_id"].map(answered).where(arms["arm"] == "treatment").astype("boolean")
    arms = arms.sort_values("customer_id", kind="stable").reset_index(drop=True)
    arms.attrs.update(
        contacted=len(contacted), treated_without_history=len(contacted) - len(treated),
        contacted_elsewhere=len(known.intersection(ever).difference(contacted)), never_contacted=len(never),
    )
    return arms


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
    from .engine import previous_period

    before_base = previous_period(base, "base")
    table = interaction_table(transactions, arms, base=before_base, campaign=base)
    return before_base, lift_table(table, level=level, n_boot=n_boot, seed=seed)


def growth_summary(table: pd.DataFrame, *, by: str | None = "arm") -> pd.DataFrame:
    """The case's ratios — means of individual growth rates — with the ratio of totals beside them.

    Customers with no base visits have no defined growth: they are counted in
    ``no_base`` and left out of the means (never divided by zero). The ratio
    of totals (campaign total / base total - 1) over the customers with a
    base is not dominated by tiny bases the way the mean of rates is.
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
    """Goals against what the treated achieved: both the case's mean of rates and the ratio of totals."""
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
    """Sizes, sales and growth of each A-group or band, and its response rate when responses are known."""
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


# ====================================================================== lift against control


def _welch(a: np.ndarray, b: np.ndarray, level: float):
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(confidence_level=level)
    return float(np.mean(a) - np.mean(b)), float(ci.low), float(ci.high), float(res.pvalue)


def _bootstrap_ratio(t: pd.DataFrame, c: pd.DataFrame, num: str, den: str, *, n_boot: int, level: float, seed: int):
    rng = np.random.default_rng(seed)
    def ratio(df, idx):
        d = df[den].to_numpy()[idx].sum()
        return df[num].to_numpy()[idx].sum() / d if d else np.nan
    est = ratio(t, np.arange(len(t))) - ratio(c, np.arange(len(c)))
    draws = np.array([ratio(t, rng.integers(0, len(t), len(t))) - ratio(c, rng.integers(0, len(c), len(c))) for _ in range(n_boot)])
    lo, hi = np.nanquantile(draws, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(est), float(lo), float(hi)


def lift_table(table: pd.DataFrame, *, arm_col: str = "arm", treatment: str = "treatment", control: str = "control",
               level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Lift of the treated over the control group, with confidence intervals.

    For visits and sales per customer (campaign period): the difference in
    means with a Welch t interval, and the difference-in-differences (change
    from base to campaign, treated minus control) with its Welch interval —
    it removes what the two arms differed by before the campaign. For the
    average ticket (sales / visits of each arm; customers without visits have
    none): the difference with a bootstrap interval. All customers of both
    arms count, those without base visits included.
    """
    t = table[table[arm_col] == treatment]
    c = table[table[arm_col] == control]
    if len(t) < 2 or len(c) < 2:
        raise EmptyGroupError(f"lift needs at least two customers per arm; got {len(t)} treated and {len(c)} control")
    rows = []
    for metric in ("visits", "sales"):
        yt, yc = t[f"{metric}_campaign"].to_numpy(float), c[f"{metric}_campaign"].to_numpy(float)
        diff, lo, hi, p = _welch(yt, yc, level)
        # the difference-in-differences compares the same two periods for everyone: the base period's own figures
        raw = f"{metric}_base_period" if f"{metric}_base_period" in table.columns else f"{metric}_base"
        dt = yt - t[raw].to_numpy(float)
        dc = yc - c[raw].to_numpy(float)
        did, dlo, dhi, dp = _welch(dt, dc, level)
        rows.append({"metric": metric, "treated_mean": yt.mean(), "control_mean": yc.mean(),
                     "treated_base_mean": t[raw].to_numpy(float).mean(), "lift": diff,
                     "ci_low": lo, "ci_high": hi, "p_value": p, "did": did, "did_ci_low": dlo, "did_ci_high": dhi,
                     "method": "Welch t"})
    est, lo, hi = _bootstrap_ratio(t, c, "sales_campaign", "visits_campaign", n_boot=n_boot, level=level, seed=seed)
    rows.append({"metric": "ticket", "treated_mean": t["sales_campaign"].sum() / t["visits_campaign"].sum(),
                 "control_mean": c["sales_campaign"].sum() / c["visits_campaign"].sum(),
                 "treated_base_mean": t["sales_base"].sum() / t["visits_base"].sum() if t["visits_base"].sum() else np.nan,
                 "lift": est,
                 "ci_low": lo, "ci_high": hi, "p_value": np.nan, "did": np.nan, "did_ci_low": np.nan, "did_ci_high": np.nan,
                 "method": f"bootstrap ({n_boot} resamples)"})
    out = pd.DataFrame(rows)
    out["relative_lift"] = out["lift"] / out["control_mean"]
    return out


def naive_vs_controlled(table: pd.DataFrame, lift: pd.DataFrame, *, arm_col: str = "arm",
                        estimate: str = "lift") -> pd.DataFrame:
    """The case's naive before/after sales growth next to the control-adjusted effect, for students to compare.

    ``estimate="did"`` reports the difference-in-differences as the controlled
    effect (a comparison group that was not random); the relative figure is
    then the effect over the treated's base sales per customer.
    """
    if estimate not in ("lift", "did"):
        raise ParameterError(f"estimate={estimate!r}: use 'lift' or 'did'")
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


def campaign_return(lift: pd.DataFrame, *, treated: int, cost: float, gross_margin: float,
                    estimate: str = "lift") -> dict[str, Any]:
    """Incremental sales (effect per customer x treated, with its interval), cost, return on spend and ROI.

    ``estimate`` picks the effect per customer: ``"lift"`` (difference in
    means, right for a random control group) or ``"did"`` (difference-in-
    differences, for a comparison group that was not drawn at random).
    With no cost given, return on spend and ROI are ``None``: undefined, not
    infinite.
    """
    if estimate not in ("lift", "did"):
        raise ParameterError(f"estimate={estimate!r}: use 'lift' or 'did'")
    s = lift.set_index("metric").loc["sales"]
    low, high = ("ci_low", "ci_high") if estimate == "lift" else ("did_ci_low", "did_ci_high")
    inc, lo, hi = s[estimate] * treated, s[low] * treated, s[high] * treated
    return {
        "treated": treated, "estimate": estimate, "incremental_sales": inc, "incremental_sales_ci_low": lo,
        "incremental_sales_ci_high": hi, "cost": cost, "return_on_spend": inc / cost if cost else None,
        "incremental_gross_profit": inc * gross_margin,
        "roi": (inc * gross_margin - cost) / cost if cost else None,
    }


def lift_by_attribute(table: pd.DataFrame, attribute: pd.Series, *, metric: str = "sales", level: float = 0.95,
                      arm_col: str = "arm", min_size: int = 10) -> pd.DataFrame:
    """Lift in ``metric`` within each level of a pre-campaign attribute (channel, student, decile).

    Unlike lift by A-group, this is causal: the attribute was fixed before
    the campaign, and within each level the arms are still random.
    """
    df = table.join(attribute.rename("level"))
    rows = []
    for lvl, g in df.groupby("level"):
        t = g.loc[g[arm_col] == "treatment", f"{metric}_campaign"].to_numpy(float)
        c = g.loc[g[arm_col] == "control", f"{metric}_campaign"].to_numpy(float)
        if len(t) < min_size or len(c) < min_size:
            rows.append({"level": lvl, "treated": len(t), "control": len(c), "lift": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            continue
        diff, lo, hi, _p = _welch(t, c, level)
        rows.append({"level": lvl, "treated": len(t), "control": len(c), "lift": diff, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows).rename(columns={"level": attribute.name or "level"})


# ====================================================================== ready outcome tables


def outcome_lift(outcomes: pd.DataFrame, *, arm_col: str = "arm", control: Any = "control",
                 binary: Sequence[str] = (), continuous: Sequence[str] = (), pre_period: Sequence[str] = (),
                 level: float = 0.95) -> pd.DataFrame:
    """Lift of each treatment arm over control from a ready per-customer outcome table.

    For a campaign run elsewhere: one row per customer with its arm and
    post-period outcomes. Binary outcomes (converted, responded) get rates
    and the difference of proportions with a Newcombe interval (statsmodels);
    continuous ones (spend, visits) the difference in means with a Welch
    interval. With several treatment arms, each is compared with control.
    With ``pre_period`` columns (e.g. ``history``: spend before the campaign),
    every outcome also gets the adjusted lift of :func:`adjusted_lift`
    (Lin's regression on the centred pre-period columns, HC3 interval):
    ``adjusted``, ``adjusted_ci_low``, ``adjusted_ci_high``, ``variance_explained``.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    if arm_col not in outcomes.columns:
        raise DataError(f"the outcome table has no arm column '{arm_col}'")
    missing = [c for c in (*binary, *continuous, *pre_period) if c not in outcomes.columns]
    if missing:
        raise DataError(f"the outcome table lacks column(s) {missing}")
    if pre_period and outcomes[list(pre_period)].isna().any().any():
        raise DataError(f"pre-period column(s) {list(pre_period)} have missing values; fill or drop those rows first")
    arms = outcomes[arm_col]
    if not (arms == control).any():
        raise EmptyGroupError(f"no control customers (arm == {control!r}) in the outcome table")
    c = outcomes[arms == control]
    rows = []
    for arm in sorted(a for a in arms.dropna().unique() if a != control):
        t = outcomes[arms == arm]
        for col in binary:
            xt, xc = int(t[col].sum()), int(c[col].sum())
            lo, hi = confint_proportions_2indep(xt, len(t), xc, len(c), method="newcomb", compare="diff", alpha=1 - level)
            rows.append({"arm": arm, "outcome": col, "kind": "rate", "treated": len(t), "control": len(c),
                         "treated_value": xt / len(t), "control_value": xc / len(c), "lift": xt / len(t) - xc / len(c),
                         "ci_low": float(lo), "ci_high": float(hi)})
        for col in continuous:
            diff, lo, hi, _p = _welch(t[col].to_numpy(float), c[col].to_numpy(float), level)
            rows.append({"arm": arm, "outcome": col, "kind": "mean", "treated": len(t), "control": len(c),
                         "treated_value": t[col].mean(), "control_value": c[col].mean(), "lift": diff,
                         "ci_low": lo, "ci_high": hi})
        if pre_period:
            both = outcomes[arms.isin([arm, control])]
            treated = (both[arm_col] == arm).to_numpy(float)
            x = both[list(pre_period)].to_numpy(float)
            for row in rows:
                if row["arm"] == arm:
                    est, lo, hi, explained = _lin_adjusted(both[row["outcome"]].to_numpy(float), treated, x, level)
                    row.update(adjusted=est, adjusted_ci_low=lo, adjusted_ci_high=hi, variance_explained=explained)
    return pd.DataFrame(rows)


#: the comparison-group section of notebook 04, shown only when the control group was not random
COMPARISON_GROUP_NOTE = (
    "### The comparison group (no random control)\n\n"
    "The balance table shows how far apart the groups were in the base period (|standardised difference| above "
    "0.1 is a real gap); the placebo repeats the difference-in-differences one period earlier, where the true "
    "effect is zero."
)


# ====================================================================== a round's set-up


@dataclass(frozen=True)
class RoundSetup:
    """What a round's analysis works from: the campaign, its periods, goals, cost, split and effect estimate."""

    round_no: int
    campaign_id: str
    periods: dict[str, str]
    goals: dict[str, float | None]
    cost: float
    gross_margin: float
    split: dict[str, Any]
    #: ``"lift"`` against a random control, ``"did"`` against a comparison group that was not random
    estimate: str
    control: str
    #: where the set-up came from: ``"definition"`` (notebook 03's export) or ``"parameters"``
    source: str
    target: dict[str, Any] | None = None
    pseudonym_salt: str | None = None
    channels: tuple[str, ...] = ()
    #: a multi-arm design's cost per treatment arm (its messages and its share of the other costs)
    arm_costs: tuple[tuple[str, float], ...] = ()

    def describe(self) -> str:
        """One line for the notebook: the campaign, its periods and goals, and where they came from."""
        origin = ("campaign definition found" if self.source == "definition"
                  else "no campaign definition found: using this notebook's parameters")
        goals = ", ".join(f"{k.removesuffix('_goal')} {v:+.0%}" for k, v in self.goals.items() if v is not None)
        return (f"{origin}. {self.campaign_id}: base {self.periods['base']}, campaign {self.periods['campaign']}, "
                f"goals: {goals or 'none'}")


def round_setup(definition: CampaignDefinition | None, *, round_no: int, control: str = "contacts",
                campaign_id: str, base: str, campaign: str, goals: Mapping[str, float | None], cost: float,
                gross_margin: float, band_thresholds: Sequence[float] = (0.3, 0.2, 0.1),
                band_labels: Sequence[str] = ("A41", "A42", "A43", "A44")) -> RoundSetup:
    """The round's set-up: from notebook 03's campaign definition when there is one, else from parameters.

    Parameters
    ----------
    definition
        The round's :class:`~crm_kit.artifacts.CampaignDefinition`, or ``None``
        (a campaign designed elsewhere: the parameters describe it).
    round_no
        The round being analysed.
    control
        ``"contacts"`` (the random control arm recorded in the data) or
        ``"never_contacted"`` (customers no campaign reached: not random, so the
        effect is the difference-in-differences).
    campaign_id, base, campaign, goals, cost, gross_margin
        Used only without a definition.
    band_thresholds, band_labels
        The sales bands of a round split by sales growth (see :func:`split_rule`).
    """
    if control not in ("contacts", "never_contacted"):
        raise ParameterError(f"control={control!r}: use 'contacts' or 'never_contacted'")
    estimate = "lift" if control == "contacts" else "did"
    if definition is not None:
        goals = dict(definition.goals)
        return RoundSetup(round_no=round_no, campaign_id=definition.campaign_id, periods=dict(definition.periods),
                          goals=goals, cost=definition.cost, gross_margin=definition.gross_margin,
                          split=split_rule(goals, thresholds=band_thresholds, labels=band_labels), estimate=estimate,
                          control=control, source="definition", target=definition.target,
                          pseudonym_salt=definition.pseudonym_salt, channels=tuple(definition.channels or [definition.channel]),
                          arm_costs=tuple((str(k), float(v["cost"])) for k, v in (definition.arms.get("by_arm") or {}).items()))
    goals = dict(goals)
    return RoundSetup(round_no=round_no, campaign_id=campaign_id, periods={"base": base, "campaign": campaign},
                      goals=goals, cost=float(cost), gross_margin=float(gross_margin),
                      split=split_rule(goals, thresholds=band_thresholds, labels=band_labels), estimate=estimate,
                      control=control, source="parameters")


def round_arms(store, setup: RoundSetup, *, arms_source: str = "contacts", contact_list: pd.DataFrame | None = None,
               keep_unknown: bool = False) -> tuple[pd.DataFrame, str]:
    """Who was treated and who was held out, and one sentence saying where that came from.

    ``arms_source="contacts"`` reads the campaign's exposure recorded in the
    data: its random control arm, or with ``setup.control ==
    "never_contacted"`` the customers no campaign reached
    (:func:`comparison_arms`). ``"contact_list"`` matches the design's
    exported contact list back to customers by its pseudonymous key.
    """
    if arms_source == "contact_list":
        if contact_list is None or setup.pseudonym_salt is None:
            raise DataError("arms_source: contact_list needs notebook 03's campaign definition and contact list of "
                            "this round in the run folder; run notebook 03 first or set arms_source: contacts")
        arms = pool_arms(_contact_list_arms(store, contact_list, salt=setup.pseudonym_salt))
        return arms, f"arms from the design's contact list: {len(arms):,} customers matched by their pseudonymous key"
    if arms_source != "contacts":
        raise ParameterError(f"arms_source={arms_source!r}: use 'contacts' or 'contact_list'")
    if setup.control == "never_contacted":
        arms = pool_arms(comparison_arms(store.transactions, store.contacts, setup.campaign_id,
                                         before=setup.periods["campaign"]))
        a = arms.attrs
        return arms, (f"no random control: {a['contacted']:,} contacted, {a['treated_without_history']:,} of them "
                      f"without a purchase before the campaign (left out); comparison group: {a['never_contacted']:,} "
                      f"customers no campaign reached ({a['contacted_elsewhere']:,} reached by other campaigns left out)")
    arms = pool_arms(arms_from_contacts(store.contacts, setup.campaign_id))
    note = f"arms from the data's contacts of campaign {setup.campaign_id}"
    if "treatment_arm" in arms.columns:
        note += f" (treatment arms: {', '.join(sorted(set(arms['treatment_arm']) - {'control'}))}, pooled as 'treatment')"
    contacted = arms["customer_id"].astype(str)
    known = _known_customers(store, contacted.unique())
    unknown = ~contacted.isin(known)
    if unknown.any() and not keep_unknown:
        arms = arms[~unknown].reset_index(drop=True)
        note += (f"; {int(unknown.sum()):,} contacted id(s) match no customer of this store (neither a buyer nor a "
                 "member) and are left out — keep_unknown_contacts: true counts them as customers who bought nothing")
    elif unknown.any():
        note += f"; {int(unknown.sum()):,} contacted id(s) match no customer of this store: counted as buying nothing"
    return arms, note


def _contact_list_arms(store, contact_list: pd.DataFrame, *, salt: str) -> pd.DataFrame:
    """The contact list's keys matched back to buyers (:func:`~crm_kit.campaign.arms_from_contact_list`).

    The engine hashes every buyer's id with the salt, as
    :func:`~crm_kit.campaign.pseudonymise` does, and returns only the
    buyers whose key is on the list; those few are matched in pandas. An
    engine without SHA-256 in Ibis (PostgreSQL) sends every buyer's id and
    they are hashed here, as before.
    """
    import ibis
    from ibis.common.exceptions import OperationNotDefinedError

    from .engine import order_grain

    grain = order_grain(store.transactions)
    buyers = grain.select(customer_id=grain.customer_id.cast("string")).distinct()
    hashed = buyers.mutate(customer_key=(ibis.literal(f"{salt}:") + buyers.customer_id).hexdigest("sha256").substr(0, 16))
    keys = ibis.memtable(pd.DataFrame({"customer_key": contact_list["customer_key"].astype(str).unique()}))
    try:
        ids = store.con.execute(hashed.semi_join(keys, "customer_key").select("customer_id"))["customer_id"]
    except OperationNotDefinedError:
        ids = store.con.execute(buyers)["customer_id"]
    return arms_from_contact_list(contact_list, ids, salt=salt)


def _known_customers(store, ids) -> set[str]:
    """Which of ``ids`` are customers of the store: a buyer (asked of the engine) or a member.

    Only the ids asked about travel: a million buyers' ids brought into
    pandas and matched there took 7 s of round one's results at 1M customers.
    """
    import ibis

    from .engine import order_grain

    probe = ibis.memtable(pd.DataFrame({"customer_id": pd.Series(ids, dtype=object).astype(str)}))
    buyers = order_grain(store.transactions)
    found = store.con.execute(probe.semi_join(buyers, probe.customer_id == buyers.customer_id.cast("string")))
    known = set(found["customer_id"].astype(str))
    if store.customers is not None:
        members = store.customers["customer_id"].astype(str)
        known |= set(members[members.isin(set(ids))])
    return known


def pool_arms(arms: pd.DataFrame) -> pd.DataFrame:
    """The arms with every treatment arm pooled as ``treatment``; the arm's own name kept in ``treatment_arm``.

    A campaign with several treatment arms (a WeChat arm and an SMS arm)
    is analysed as one campaign by the round's ratios, groups and lift, and
    arm by arm by :func:`compare_arms`, which reads ``treatment_arm``; with a
    single treatment arm there is no ``treatment_arm`` column. The arms
    come named in ``arm`` (notebook 03's contact list) or, from the data's
    contacts table, in its ``treatment_arm`` column (labels ``treatment:<name>``).
    """
    named = (arms["treatment_arm"] if "treatment_arm" in arms.columns else arms["arm"]).astype(str)
    pooled = arms.assign(arm=np.where(named == "control", "control", "treatment"))
    if named[named != "control"].nunique() < 2:  # one treatment arm: nothing to keep apart
        return pooled.drop(columns="treatment_arm", errors="ignore")
    return pooled.assign(treatment_arm=named.to_numpy())


def _holm_levels(pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """Per comparison, the confidence level of its Holm interval (consistent with Holm's adjusted p-values).

    Sorted by p-value, the comparison of rank r (0 first) among m gets level
    1 - alpha / (m - r) while Holm keeps rejecting; from the first comparison
    Holm does not reject on, Bonferroni's 1 - alpha / m. An interval thus
    excludes zero exactly when the Holm-adjusted p-value is below alpha.
    """
    m = len(pvalues)
    levels = np.empty(m)
    stopped = False
    for rank, i in enumerate(np.argsort(pvalues, kind="stable")):
        step = alpha / (m - rank)
        stopped = stopped or not pvalues[i] <= step
        levels[i] = 1 - (alpha / m if stopped else step)
    return levels


def compare_arms(frame: pd.DataFrame, *, arm_col: str = "treatment_arm", control: Any = "control",
                 metrics: Mapping[str, str] | Sequence[str] | None = None, level: float = 0.95,
                 min_size: int = 2) -> pd.DataFrame | str:
    """Every treatment arm against control and against every other arm, with Holm-adjusted intervals.

    For each metric, each comparison is a Welch difference in means (scipy)
    with its unadjusted interval and p-value; the comparisons of a metric
    (k arms: k against control, k(k-1)/2 between arms) form one family, whose
    p-values are Holm-adjusted (statsmodels ``multipletests``) and whose
    intervals use the Holm step's level (:func:`_holm_levels`), so that the
    family's error rate stays at ``1 - level``.

    Parameters
    ----------
    frame
        One row per customer: the arm column and the metric columns (the
        interaction table, or notebook 06's outcome table).
    arm_col
        The column naming each customer's arm (``treatment_arm`` of :func:`pool_arms`).
    control
        The control arm's value.
    metrics
        ``{metric name: column}`` or a list of columns (each its own name); default visits and sales of the
        campaign period.
    level
        Confidence level of the family.
    min_size
        Fewest customers an arm needs.

    Returns
    -------
    pandas.DataFrame or str
        Per metric and comparison: ``arm``, ``against``, sizes and means, ``difference``, ``ci_low`` /
        ``ci_high`` / ``p_value`` (unadjusted), ``holm_p``, ``holm_ci_low`` / ``holm_ci_high``, ``significant``.
        A sentence instead when there is a single treatment arm (the round's lift is that arm's).
    """
    from statsmodels.stats.multitest import multipletests

    if not 0 < float(level) < 1:
        raise ParameterError(f"level={level!r} must be strictly between 0 and 1")
    if metrics is not None and not isinstance(metrics, Mapping):
        metrics = {str(c): str(c) for c in metrics}
    metrics = dict(metrics or {"visits": "visits_campaign", "sales": "sales_campaign"})
    if arm_col not in frame.columns and arm_col == "treatment_arm" and "arm" in frame.columns:
        arm_col = "arm"  # the round's arms as pool_arms left them: one treatment arm
    if arm_col not in frame.columns:
        raise DataError(f"no arm column '{arm_col}' to compare arms by")
    missing = [c for c in metrics.values() if c not in frame.columns]
    if missing:
        raise DataError(f"compare_arms: the table lacks column(s) {missing}")
    names = frame[arm_col].astype(str)
    if not (names == str(control)).any():
        raise EmptyGroupError(f"no control customers ({arm_col} == {control!r}) to compare the arms with")
    arms = sorted(set(names) - {str(control)})
    if len(arms) < 2:
        return ("One treatment arm: the lift above is that arm's against control; a design with several arms "
                "(treatment_arms in notebook 03) gets each arm against control and against the others here.")
    small = {a: int((names == a).sum()) for a in [*arms, str(control)] if (names == a).sum() < min_size}
    if small:
        raise EmptyGroupError(f"arm(s) with fewer than {min_size} customers cannot be compared: {small}")
    pairs = [(a, str(control)) for a in arms] + [(a, b) for i, a in enumerate(arms) for b in arms[i + 1:]]
    alpha = 1 - float(level)
    rows = []
    for metric, column in metrics.items():
        values = frame[column].to_numpy(float)
        family = []
        for a, b in pairs:
            ya, yb = values[(names == a).to_numpy()], values[(names == b).to_numpy()]
            diff, lo, hi, p = _welch(ya, yb, level)
            family.append({"metric": metric, "arm": a, "against": b, "n_arm": len(ya), "n_against": len(yb),
                           "arm_mean": float(ya.mean()), "against_mean": float(yb.mean()), "difference": diff,
                           "ci_low": lo, "ci_high": hi, "p_value": p})
        pvalues = np.array([r["p_value"] for r in family])
        holm_p = multipletests(pvalues, alpha=alpha, method="holm")[1]
        levels = _holm_levels(pvalues, alpha)
        for row, hp, lvl in zip(family, holm_p, levels):
            ya = values[(names == row["arm"]).to_numpy()]
            yb = values[(names == row["against"]).to_numpy()]
            _d, lo, hi, _p = _welch(ya, yb, float(lvl))
            row.update(holm_p=float(hp), holm_level=float(lvl), holm_ci_low=lo, holm_ci_high=hi,
                       significant=bool(hp < alpha))
        rows.extend(family)
    return pd.DataFrame(rows)


def arm_returns(comparisons: pd.DataFrame | str, *, costs: Mapping[str, float] | Sequence[tuple[str, float]] = (),
                gross_margin: float, metric: str = "sales") -> pd.DataFrame | str:
    """Each treatment arm's incremental sales (its lift over control x its treated), cost and return on spend.

    Parameters
    ----------
    comparisons
        :func:`compare_arms`'s table (a sentence passes through).
    costs
        ``{arm: cost}`` (notebook 03's cost per arm); an arm without one has no return.
    gross_margin
        Gross margin on incremental sales.

    Returns
    -------
    pandas.DataFrame or str
        Per arm: ``treated``, ``incremental_sales`` and its Holm interval, ``cost``, ``return_on_spend``
        (incremental sales / cost), ``incremental_margin_per_contact`` and ``roi``.
    """
    if isinstance(comparisons, str):
        return comparisons
    costs = dict(costs)
    rows = []
    vs_control = comparisons[(comparisons["metric"] == metric) & (comparisons["against"] == "control")]
    for row in vs_control.to_dict("records"):
        n, cost = int(row["n_arm"]), costs.get(row["arm"])
        inc = row["difference"] * n
        rows.append({"arm": row["arm"], "treated": n, "incremental_sales": inc,
                     "incremental_sales_ci_low": row["holm_ci_low"] * n, "incremental_sales_ci_high": row["holm_ci_high"] * n,
                     "cost": cost, "return_on_spend": inc / cost if cost else None,
                     "incremental_margin_per_contact": (inc * gross_margin - (cost or 0.0)) / n if n else None,
                     "roi": (inc * gross_margin - cost) / cost if cost else None})
    return pd.DataFrame(rows)


def _lin_adjusted(y: np.ndarray, treated: np.ndarray, covariates: np.ndarray, level: float):
    """Lin's regression adjustment: OLS of y on 1, t, x_c, t x_c with HC3; returns (effect, low, high, explained)."""
    import statsmodels.api as sm

    x = covariates - covariates.mean(axis=0)
    X = np.column_stack([np.ones_like(y), treated, x, x * treated[:, None]])
    fit = sm.OLS(y, X).fit(cov_type="HC3")
    lo, hi = fit.conf_int(alpha=1 - level)[1]
    base_fit = sm.OLS(y, X[:, :2]).fit()
    explained = 1 - fit.ssr / base_fit.ssr if base_fit.ssr > 0 else 0.0
    return float(fit.params[1]), float(lo), float(hi), float(explained)


def adjusted_lift(table: pd.DataFrame, lift: pd.DataFrame, *, covariates: pd.DataFrame, level: float = 0.95,
                  arm_col: str = "arm", treatment: str = "treatment", control: str = "control") -> pd.DataFrame:
    """The lift adjusted for each customer's pre-campaign behaviour (CUPED / ANCOVA), beside the plain difference.

    For visits and sales, an OLS of the campaign-period outcome on the
    treatment indicator, the customer's own pre-period visits and sales
    (centred) and their interaction with the treatment (Lin 2013, which stays
    unbiased when the effect differs with the covariates):
    ``y = a + lift * t + x_c b + t x_c g + e``. Under randomisation the
    coefficient of ``t`` estimates the same effect as the plain difference
    in means, with the part of the outcome the pre-period predicts taken out,
    so its interval is narrower by about the share of variance the
    covariates explain. Intervals are heteroskedasticity-robust (HC3; normal
    quantiles), from statsmodels. The difference-in-differences is the
    special case with the coefficient of the base month fixed at 1.

    Parameters
    ----------
    table
        The interaction table (:func:`interaction_table`), indexed by customer_id.
    lift
        Its :func:`lift_table` (for the plain interval beside the adjusted one).
    covariates
        :func:`pre_period_covariates` of the same customers (``visits_pre``, ``sales_pre``).

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
    cov = covariates.reindex(table.index[keep])
    if cov[["visits_pre", "sales_pre"]].isna().any().any():
        raise DataError("pre-period covariates are missing for some targeted customers; compute them with "
                        "pre_period_covariates() for the interaction table's customers")
    treated = (arms[keep] == treatment).to_numpy(float)
    plain = lift.set_index("metric")
    rows = []
    for metric in ("visits", "sales"):
        y = table.loc[keep, f"{metric}_campaign"].to_numpy(float)
        est, lo, hi, explained = _lin_adjusted(y, treated, cov[["visits_pre", "sales_pre"]].to_numpy(float), level)
        p_lo, p_hi = float(plain.loc[metric, "ci_low"]), float(plain.loc[metric, "ci_high"])
        rows.append({"metric": metric, "lift": float(plain.loc[metric, "lift"]), "ci_low": p_lo, "ci_high": p_hi,
                     "adjusted": est, "adjusted_ci_low": lo, "adjusted_ci_high": hi,
                     "variance_explained": explained,
                     "width_gain": float(1 - (hi - lo) / (p_hi - p_lo)) if p_hi > p_lo else np.nan,
                     "method": "OLS on pre-period visits and sales, with interactions (Lin), HC3"})
    return pd.DataFrame(rows)


def adjusted_round_lift(transactions, table: pd.DataFrame, lift: pd.DataFrame, setup: "RoundSetup", *,
                        level: float = 0.95, periods: int = 12) -> pd.DataFrame | str:
    """The round's lift adjusted for the year before its base period, or why it is not computed.

    With a random control group (``setup.estimate == "lift"``): :func:`adjusted_lift`
    on :func:`pre_period_covariates` of the ``periods`` periods before the base.
    Against a comparison group that is not random the adjustment would not make
    the arms comparable; the sentence says to read the difference-in-differences.
    """
    if setup.estimate != "lift":
        return ("No adjusted lift: the comparison group is not random, so adjusting for the pre-period does not make "
                "the arms comparable — read the difference-in-differences and the placebo check below.")
    covariates = pre_period_covariates(transactions, table.index, base=setup.periods["base"], periods=periods)
    return adjusted_lift(table, lift, covariates=covariates, level=level)


def design_check(definition: CampaignDefinition | None, arms: pd.DataFrame) -> str:
    """Whether the arms analysed are the ones notebook 03 designed: one sentence, a mismatch said first.

    Compares the design's campaign, arm sizes and (through the contact list's
    pseudonymous keys) its customers with the arms taken from the data. A
    campaign designed elsewhere (no definition) has nothing to compare.
    """
    if definition is None:
        return "No campaign definition in this run: the arms are the data's, with no design to compare them with."
    n_t = int((arms["arm"] == "treatment").sum())
    n_c = int((arms["arm"] == "control").sum())
    d_t, d_c = int(definition.arms.get("treatment", 0)), int(definition.arms.get("control", 0))
    problems = []
    if (n_t, n_c) != (d_t, d_c):
        problems.append(f"the design has {d_t:,} treated / {d_c:,} control, the data {n_t:,} / {n_c:,}")
    if definition.contact_list is not None and definition.pseudonym_salt is not None:
        keys = pseudonymise(arms["customer_id"], salt=definition.pseudonym_salt)
        named = arms["treatment_arm"] if "treatment_arm" in arms.columns else arms["arm"]
        recorded = dict(zip(keys.to_numpy(), named.to_numpy()))
        designed = dict(zip(definition.contact_list["customer_key"], definition.contact_list["arm"]))
        missing = len(set(designed) - set(recorded))
        extra = len(set(recorded) - set(designed))
        moved = sum(1 for k, a in designed.items() if k in recorded and recorded[k] != a)
        if missing or extra or moved:
            problems.append(f"{missing:,} designed customer(s) are not in the data's contacts, {extra:,} contacted "
                            f"customer(s) were not in the design and {moved:,} sit in the other arm")
    if problems:
        return (f"MISMATCH: the contacts recorded for {definition.campaign_id} are not the campaign designed in notebook "
                f"03 — {'; '.join(problems)}. The figures below analyse the recorded contacts; check that the data "
                "and the design belong to the same campaign.")
    return (f"The recorded contacts match the design of {definition.campaign_id}: {n_t:,} treated / {n_c:,} control, "
            "the same customers in the same arms.")


def channel_suggestion(profile: pd.DataFrame, setup: RoundSetup) -> str:
    """The sentence on the unmoved group: who they are, which channels they prefer, and where to reach them next.

    Every figure in it is read from ``profile`` (:func:`profile_comparison`):
    the most common preferred channel with its share, and when that is a
    channel this round already used, the most common *other* one with its
    share. Only a goals split (A1-A4) has an unmoved group; the sentence says
    so otherwise.
    """
    group = unmoved_group(setup.split)
    if group is None:
        return "This round is split by sales growth: no group is left unmoved by definition, so no channel is suggested."
    if group not in set(profile["group"]):
        return f"No treated customer is in {group}: every one of them met at least one goal."
    row = profile.set_index("group").loc[group]
    prefs = {c.removeprefix("prefers "): float(row[c]) for c in profile.columns if c.startswith("prefers ")}
    who = []
    if "student_share" in profile.columns:
        who.append(f"{row['student_share']:.0%} students")
    if "wechat_users" in profile.columns:
        who.append(f"{row['wechat_users']:.0%} WeChat users")
    head = f"{group}: {int(row['members']):,} members" + (f", {', '.join(who)}" if who else "") + "."
    if not prefs:
        return head + " The member table records no preferred channel, so none is suggested."
    top = max(prefs, key=prefs.get)
    used = set(setup.channels)
    others = {c: v for c, v in prefs.items() if c not in used}
    if top not in used:
        return head + f" Their most common preferred channel is {top} ({prefs[top]:.1%}): the next round should reach them there."
    if not others:
        return head + f" Their most common preferred channel is {top} ({prefs[top]:.1%}), the one this round used; no other is recorded."
    other = max(others, key=others.get)
    return (head + f" Their most common preferred channel is {top} ({prefs[top]:.1%}) — the channel this round "
            f"already used; the most common other one is {other} ({others[other]:.1%}): the next round should reach "
            "them there.")


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


def read_outcome_table(path: str) -> tuple[pd.DataFrame, str]:
    """A ready per-customer outcome table (CSV or Parquet) and the resolved path it was read from."""
    found = resolve_path(path, must_exist=True)
    frame = pd.read_parquet(found) if found.suffix == ".parquet" else pd.read_csv(found)
    return frame, str(found)


def interaction_export(table: pd.DataFrame, groups: pd.Series, *, salt: str | None) -> pd.DataFrame:
    """The interaction table for export: every targeted customer under a pseudonymous key, with their group.

    The key is the contact list's (:func:`crm_kit.campaign.pseudonymise` with the
    campaign's salt), so the two files join; no customer id leaves the run.
    """
    out = table.join(groups.rename("group"), how="left").reset_index()
    keys = pseudonymise(out["customer_id"], salt=salt or "crm-kit")
    out.insert(0, "customer_key", keys.to_numpy())
    return out.drop(columns="customer_id")
