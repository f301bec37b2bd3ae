"""Campaign design (业务目标, 市场计划): target, goals, control group, 4P plan, budget.

This module starts with the pieces every later step leans on: the random,
seeded, stratified hold-out of a control group.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .artifacts import DiscoverySummary, RoundResult, SegmentTable, read_uplift_scores
from .config import resolve_path
from .discovery import behaviour_table, recommend_target, recommended_group
from .engine import monthly_customer_list
from .errors import DataError, EmptyGroupError, ParameterError

__all__ = [
    "adjusted_power",
    "adjusted_power_verdict",
    "assign_arms",
    "select_target",
    "contacted_elsewhere",
    "baseline",
    "goal_targets",
    "balance_table",
    "power_analysis",
    "power_verdict",
    "PLAN_KEYS",
    "COST_ITEMS",
    "Target",
    "resolve_target",
    "check_goal",
    "balance_columns",
    "ticket_target",
    "weekly_samples",
    "budget_summary",
    "weekly_calendar",
    "choose_samples",
    "contact_channels",
    "plan_4p",
    "round_plan",
    "budget_lines",
    "campaign_budget",
    "leverage_comparison",
    "pseudonymise",
    "contact_list",
    "arms_from_contact_list",
]


def assign_arms(
    customers: pd.DataFrame,
    *,
    control_share: float = 0.2,
    stratify_by: str | Sequence[str] | None = None,
    seed: int = 0,
    id_col: str = "customer_id",
    treatment_arms: Sequence[Mapping[str, Any]] = (),
) -> pd.DataFrame:
    """Hold out a random control group, stratified, reproducibly; optionally split the rest into several arms.

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
    treatment_arms
        Several treatment arms (:func:`check_treatment_arms`): within each
        stratum the customers after the control group, in the same shuffled
        order, go to the arms in turn by their shares (largest remainders).
        Empty: one arm, ``"treatment"``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and ``arm`` (``"treatment"`` or the arms' names, and ``"control"``), sorted by id.
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
    arm_list = check_treatment_arms(treatment_arms, control_share=control_share) if treatment_arms else []
    for pos in positions:
        n_control = int(round(control_share * len(pos)))
        shuffled = rng.permutation(pos)
        arm[shuffled[:n_control]] = "control"
        if arm_list:
            rest = shuffled[n_control:]
            counts = _largest_remainder([a["share"] for a in arm_list], len(rest))
            bounds = np.concatenate([[0], np.cumsum(counts)])
            for spec, lo, hi in zip(arm_list, bounds[:-1], bounds[1:]):
                arm[rest[lo:hi]] = spec["name"]
    return pd.DataFrame({id_col: df[id_col].to_numpy(), "arm": arm})


def _largest_remainder(shares: Sequence[float], n: int) -> np.ndarray:
    """``n`` split in proportion to ``shares``: floors, then one more each to the largest remainders (ties: first)."""
    quota = np.asarray(shares, float) / float(np.sum(shares)) * n
    counts = np.floor(quota).astype(int)
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def check_treatment_arms(treatment_arms: Sequence[Mapping[str, Any]], *, control_share: float,
                         cost_per_contact: float | None = None) -> list[dict[str, Any]]:
    """Validate a multi-arm design and fill its defaults.

    Parameters
    ----------
    treatment_arms
        One mapping per treatment arm: ``name`` (not ``control``, unique),
        ``channel`` (every member of the arm is reached there), optional
        ``share`` (of the whole target group; either every arm gives one and
        they add up with ``control_share`` to 1, or none does and the treated
        are split equally) and optional ``cost_per_contact`` (default: the
        round's ``cost_per_contact``).
    control_share
        The control group's share of the target.
    cost_per_contact
        The default cost of one message.

    Returns
    -------
    list of dict
        ``name``, ``channel``, ``share`` (of the whole target) and ``cost_per_contact`` per arm.
    """
    if isinstance(treatment_arms, Mapping) or not all(isinstance(a, Mapping) for a in treatment_arms):
        raise ParameterError("treatment_arms: give a list of mappings such as "
                             "[{name: WeChat, channel: WeChat, share: 0.4}, {name: SMS, channel: SMS, share: 0.4}]")
    arms = []
    for i, spec in enumerate(treatment_arms):
        unknown = sorted(set(spec) - {"name", "channel", "share", "cost_per_contact"})
        if unknown:
            raise ParameterError(f"treatment_arms[{i}]: unknown key(s) {unknown}; use name, channel, share, cost_per_contact")
        name, channel = str(spec.get("name") or "").strip(), str(spec.get("channel") or "").strip()
        if not name or not channel:
            raise ParameterError(f"treatment_arms[{i}]: every arm needs a name and a channel, e.g. {{name: SMS, channel: SMS}}")
        if name in ("control", "none"):
            raise ParameterError(f"treatment_arms[{i}]: '{name}' cannot name a treatment arm; control is the held-out group")
        arms.append({"name": name, "channel": channel, "share": spec.get("share"),
                     "cost_per_contact": spec.get("cost_per_contact", cost_per_contact)})
    names = [a["name"] for a in arms]
    if len(set(names)) != len(names):
        raise ParameterError(f"treatment_arms: arm names must differ, got {names}")
    given = [a["share"] for a in arms if a["share"] is not None]
    if given and len(given) != len(arms):
        raise ParameterError("treatment_arms: give a share to every arm or to none (then the treated are split equally)")
    if given:
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < 1 for v in given):
            raise ParameterError(f"treatment_arms: shares must be numbers between 0 and 1, got {given}")
        if abs(sum(given) + control_share - 1) > 1e-6:
            raise ParameterError(f"treatment_arms: the arms' shares {given} and control_share {control_share} add up to "
                                 f"{sum(given) + control_share:g}; they must add up to 1")
    else:
        for a in arms:
            a["share"] = (1 - control_share) / len(arms)
    for a in arms:
        cost = a["cost_per_contact"]
        if cost is not None and (not isinstance(cost, (int, float)) or isinstance(cost, bool) or cost < 0):
            raise ParameterError(f"treatment_arms: {a['name']}'s cost_per_contact={cost!r} must be a number >= 0")
    return arms


def arm_channels(treated: pd.DataFrame, *, plan: Mapping[str, Any],
                 treatment_arms: Sequence[Mapping[str, Any]] = ()) -> pd.Series:
    """Each treated customer's channel: their arm's channel in a multi-arm design, else :func:`contact_channels`."""
    if not treatment_arms:
        return contact_channels(treated, plan=plan)
    by_arm = {a["name"]: a["channel"] for a in treatment_arms}
    return treated["arm"].map(by_arm).astype(str).rename("channel")


def design_channels(plan: Mapping[str, Any], treatment_arms: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The round's channels: the plan's, or in a multi-arm design the arms' own (in the arms' order)."""
    if not treatment_arms:
        return list(plan["channels"])
    return list(dict.fromkeys(a["channel"] for a in treatment_arms))


def price_per_contact(arm_cost_table: pd.DataFrame) -> float:
    """The mean price of one message over every arm's messages (:func:`arm_costs`); 0 with no message."""
    contacts = float(arm_cost_table["contacts"].sum())
    return float(arm_cost_table["message_cost"].sum()) / contacts if contacts else 0.0


def arms_record(arm_cost_table: pd.DataFrame, treatment_arms: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The campaign definition's ``by_arm`` entry: per treatment arm its channel, share, size and cost ({} for one arm)."""
    if not treatment_arms:
        return {}
    shares = {a["name"]: a["share"] for a in treatment_arms}
    return {r["arm"]: {"channel": r["channel"], "share": shares[r["arm"]], "customers": int(r["treated"]),
                       "cost_per_contact": float(r["cost_per_contact"]), "cost": float(r["cost"])}
            for r in arm_cost_table.to_dict("records")}


def arm_costs(design: pd.DataFrame, *, treatment_arms: Sequence[Mapping[str, Any]], pushes_per_member: int,
              cost_per_contact: float, budget: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Each treatment arm's cost: its messages at its channel's price, plus its share of the other costs.

    Parameters
    ----------
    design
        The target with its ``arm`` column.
    treatment_arms
        :func:`check_treatment_arms`'s list; empty gives one row, ``treatment``.
    pushes_per_member, cost_per_contact
        Messages per treated member and the default price of one.
    budget
        :func:`campaign_budget`'s result: every cost in it that is not a message (samples, rewards, staff) is
        shared by treated member. Without it, the arms carry their messages only.

    Returns
    -------
    pandas.DataFrame
        ``arm``, ``channel``, ``treated``, ``contacts``, ``cost_per_contact``, ``message_cost``, ``other_cost``, ``cost``.
    """
    arms = list(treatment_arms) or [{"name": "treatment", "channel": "by preference", "cost_per_contact": cost_per_contact}]
    treated = design.loc[design["arm"] != "control", "arm"].value_counts()
    total_treated = int(treated.sum())
    prices = {a["name"]: float(a["cost_per_contact"] if a.get("cost_per_contact") is not None else cost_per_contact)
              for a in arms}
    messages = sum(int(treated.get(name, 0)) * pushes_per_member * price for name, price in prices.items())
    other_costs = max(float(budget["total_cost"]) - messages, 0.0) if budget is not None else 0.0
    rows = []
    for a in arms:
        n = int(treated.get(a["name"], 0))
        price = prices[a["name"]]
        message = n * pushes_per_member * price
        other = other_costs * n / total_treated if total_treated else 0.0
        rows.append({"arm": a["name"], "channel": a["channel"], "treated": n, "contacts": n * pushes_per_member,
                     "cost_per_contact": price, "message_cost": message, "other_cost": other, "cost": message + other})
    return pd.DataFrame(rows)


def arm_power(outcome: pd.Series, *, effect: float, arms: pd.DataFrame, alpha: float = 0.05,
              power: float = 0.8) -> pd.DataFrame | str:
    """Power of each arm-against-control comparison of a multi-arm design, at the Holm family's strictest level.

    With ``m`` arms compared with control, Holm's first test runs at
    ``alpha / m``; planning each comparison at that level (Bonferroni's) is
    what guarantees it. statsmodels' two-sample t power, with the outcome's
    standard deviation in a month that did not select the group.

    Parameters
    ----------
    outcome
        Per-customer values of the goal metric in a month that did not select the group.
    effect
        The goal as an absolute difference per customer.
    arms
        ``customer_id`` and ``arm`` of the design.

    Returns
    -------
    pandas.DataFrame
        Per treatment arm: its size, the control's, the level used, the power at the goal and the minimum
        detectable effect at ``power``; a sentence for a design with one treatment arm.
    """
    from statsmodels.stats.power import TTestIndPower

    sd = float(pd.Series(outcome).std(ddof=1))
    if not sd > 0:
        raise DataError("the goal metric does not vary: power cannot be computed")
    counts = arms["arm"].value_counts()
    if len(counts.drop("control", errors="ignore")) < 2:
        return "One treatment arm: the power check above is its comparison with control."
    n_c = int(counts.get("control", 0))
    if n_c < 2:
        raise EmptyGroupError("the design has fewer than two control customers: no comparison can be powered")
    names = [a for a in counts.index if a != "control"]
    level = alpha / len(names)
    analysis = TTestIndPower()
    rows = []
    for name in sorted(names):
        n_t = int(counts[name])
        achieved = float(analysis.power(effect_size=effect / sd, nobs1=n_t, ratio=n_c / n_t, alpha=level))
        mde = _solved(analysis.solve_power(effect_size=None, nobs1=n_t, ratio=n_c / n_t, alpha=level, power=power)) * sd
        rows.append({"comparison": f"{name} vs control", "treated": n_t, "control": n_c, "alpha_per_comparison": level,
                     "effect": effect, "power_at_plan": achieved, "mde": mde, "big_enough": achieved >= power})
    return pd.DataFrame(rows)


# ====================================================================== target selection

TARGET_KINDS = ("decile", "cluster", "rfm_segment", "tier", "rule", "group_list", "age_group", "uplift")


def select_target(
    kind: str,
    value: Any,
    *,
    groups: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    group_list: pd.DataFrame | None = None,
    exclude_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Pick the target group's customers.

    Parameters
    ----------
    kind
        ``"decile"`` (from the monthly customer list ``groups``), ``"cluster"``,
        ``"rfm_segment"``, ``"tier"``, ``"age_group"`` or ``"rule"`` (from the
        segment table: a rule is a boolean column, ``value`` its name), or
        ``"group_list"`` (a table with ``customer_id`` and ``group``, such as a
        previous round's A1-A4 list; ``value`` e.g. ``"A4"``), or ``"uplift"``
        (the same table built by :func:`uplift_groups`: ``value`` ``"top"``).
    value
        The group, cluster, segment, tier, rule name or list group to target.
    exclude_ids
        Customers to leave out (e.g. contacted by another campaign in the
        same window).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` plus the columns of the source table, sorted by id.
    """
    if kind not in TARGET_KINDS:
        raise ParameterError(f"target_kind={kind!r}: use one of {list(TARGET_KINDS)}")
    if kind == "decile":
        if groups is None:
            raise ParameterError("target_kind 'decile' needs the monthly customer list (run discovery first)")
        src, mask = groups, groups["group"] == int(value)
    elif kind in ("group_list", "uplift"):
        if group_list is None:
            raise ParameterError("target_kind 'group_list' needs a group list (e.g. round one's A-groups)")
        src, mask = group_list, group_list["group"].astype(str) == str(value)
    else:
        if segments is None:
            raise ParameterError(f"target_kind {kind!r} needs the segment table (run segmentation first)")
        col = value if kind == "rule" else kind
        if col not in segments.columns:
            raise ParameterError(f"the segment table has no column '{col}'; columns: {list(segments.columns)}")
        if kind == "rule":
            mask = segments[col].astype(bool)
        elif kind == "cluster":
            mask = segments[col] == int(value)
        else:
            mask = segments[col].astype(str) == str(value)
        src = segments
    target = src.loc[mask].copy()
    target["customer_id"] = target["customer_id"].astype(str)
    n_before = len(target)
    if exclude_ids is not None:
        excluded = set(map(str, exclude_ids))
        target = target[~target["customer_id"].isin(excluded)]
    if target.empty:
        extra = f" ({n_before} before excluding contacted customers)" if n_before else ""
        raise EmptyGroupError(
            f"the target group {kind}={value!r} is empty{extra}; check target_kind and target_value"
        )
    target.attrs["excluded"] = n_before - len(target)
    return target.sort_values("customer_id").reset_index(drop=True)


def uplift_groups(scores: pd.DataFrame | None, value: Any, *, round_no: int) -> tuple[pd.DataFrame, str, str]:
    """The previous round's uplift scores as a group list: ``top`` (the customers to target) and ``rest``.

    Parameters
    ----------
    scores
        :func:`crm_kit.artifacts.read_uplift_scores` of round ``round_no - 1`` (``customer_id``,
        ``predicted_uplift``, ``selected``).
    value
        Empty (or ``"margin"``): those notebook 04 selected, whose predicted incremental margin exceeds a
        contact's cost; a whole number N: the top N by predicted uplift.

    Returns
    -------
    tuple
        The group list (``customer_id``, ``group``, ``predicted_uplift``), the value to select (``"top"``) and
        where it came from, in words.
    """
    if scores is None:
        raise ParameterError(f"target_kind 'uplift' reads round {round_no - 1}'s uplift scores, written by notebook 04 "
                             f"of that round from a random control group; run notebook 04 for round {round_no - 1} "
                             "first (with a random control group)")
    ranked = scores.sort_values("predicted_uplift", ascending=False, kind="stable").reset_index(drop=True)
    if value in ("", None, "margin"):
        top = ranked["selected"].astype(bool).to_numpy()
        origin = f"round {round_no - 1}'s uplift model: predicted incremental margin above a contact's cost"
    else:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise ParameterError(f"target_value={value!r} for target_kind 'uplift': give a number of customers "
                                 "(the top N by predicted uplift) or leave it empty (margin above cost)") from None
        if n < 1:
            raise ParameterError(f"target_value={value!r}: the top N needs N >= 1")
        top = np.arange(len(ranked)) < n
        origin = f"round {round_no - 1}'s uplift model: the top {min(n, len(ranked)):,} by predicted uplift"
    groups = ranked.assign(group=np.where(top, "top", "rest"))[["customer_id", "group", "predicted_uplift"]]
    return groups.assign(customer_id=groups["customer_id"].astype(str)), "top", origin


@dataclass
class Target:
    """The resolved target group: its customers (with their member fields) and how it was chosen."""

    customers: pd.DataFrame
    kind: str
    value: Any
    excluded: int
    #: where the value came from, e.g. "discovery's recommendation"
    origin: str

    def describe(self) -> str:
        """One line for the notebook: size, what was targeted, why, and who was left out."""
        return (f"{len(self.customers):,} customers in the target group {self.kind} = {self.value} ({self.origin}; "
                f"{self.excluded} left out: contacted by another campaign in the same month)")


def _read_group_file(path: str) -> pd.DataFrame:
    found = resolve_path(path, must_exist=True)
    if found.suffix == ".csv":
        return pd.read_csv(found, dtype={"customer_id": str})
    return pd.read_parquet(found)


def resolve_target(store, *, kind: str, value: Any, round_no: int, base_month: str, campaign_id: str,
                   campaign_month: str, folder: str | Path | None, group_list: str = "",
                   exclude_contacted: bool = True) -> Target:
    """Resolve notebook 03's target parameters into the target group's customers.

    Parameters
    ----------
    store
        The loaded :class:`~crm_kit.store.Store`.
    kind, value
        What to target (see :func:`select_target`). An empty ``value`` with
        ``kind="decile"`` takes the group discovery recommended (notebook
        01's :class:`~crm_kit.artifacts.DiscoverySummary` of this run), or,
        without one, the group the recommendation rule picks on ``base_month``.
    round_no
        The round being designed; a ``group_list`` target without a file
        reads the previous round's group list (round one's A1-A4 for round two).
    base_month
        The month whose customer list gives the deciles.
    campaign_id, campaign_month, exclude_contacted
        Customers another campaign contacts in ``campaign_month`` are left out.
    folder
        The run folder, where the hand-offs of earlier steps are found.
    group_list
        A CSV or Parquet file of ``customer_id`` and ``group`` for ``kind="group_list"``.

    With ``kind="uplift"`` the previous round's uplift scores (notebook 04) are
    targeted: ``value`` empty takes the customers whose predicted incremental
    margin exceeds a contact's cost, a number N the top N by predicted uplift.
    """
    if kind not in TARGET_KINDS:
        raise ParameterError(f"target_kind={kind!r}: use one of {list(TARGET_KINDS)}")
    customer_list = monthly_customer_list(store.transactions, month=base_month)
    origin = "as given"
    if kind == "decile" and value in ("", None):
        found = DiscoverySummary.read(folder)
        if found is not None and found.target_group:
            value, origin = str(found.target_group), "discovery's recommendation"
        else:
            recommendation = recommend_target(behaviour_table(store, customer_list, month=base_month))
            value, origin = str(recommended_group(recommendation)), "the recommendation rule on the base month"
    segments = SegmentTable.read_table(folder) if kind not in ("decile", "group_list", "uplift") else None
    groups = None
    if kind == "uplift":
        groups, value, origin = uplift_groups(read_uplift_scores(folder, round_no - 1), value, round_no=round_no)
    if kind == "group_list":
        groups = _read_group_file(group_list) if group_list else RoundResult.read_table(folder, round_no - 1)
        origin = f"from {group_list}" if group_list else f"round {round_no - 1}'s groups"
    contacted = contacted_elsewhere(store.contacts, campaign_id=campaign_id, month=campaign_month) if exclude_contacted else []
    target = select_target(kind, value, groups=customer_list, segments=segments, group_list=groups, exclude_ids=contacted)
    excluded = int(target.attrs.get("excluded", 0))
    if store.customers is not None:
        target = target.merge(store.customers, on="customer_id", how="left")
    return Target(customers=target, kind=kind, value=value, excluded=excluded, origin=origin)


# ====================================================================== baseline and goals


def baseline(metrics: pd.DataFrame, *, period: str = "base") -> pd.DataFrame:
    """The target group's base-period figures, per customer and in total.

    Parameters
    ----------
    metrics
        :func:`crm_kit.engine.period_metrics` of the target group with a
        period named ``period``.

    Returns
    -------
    pandas.DataFrame
        One row per figure: members, members with a purchase, visits per
        member, average ticket (sales / visits), sales per member, total
        sales and total visits.
    """
    v, s = metrics[f"visits_{period}"], metrics[f"sales_{period}"]
    rows = {
        "members": len(metrics),
        "members with a purchase": int((v > 0).sum()),
        "visits per member": float(v.mean()),
        "average ticket": float(s.sum() / v.sum()) if v.sum() else float("nan"),
        "sales per member": float(s.mean()),
        "total visits": int(v.sum()),
        "total sales": float(s.sum()),
    }
    return pd.DataFrame({"figure": list(rows), "value": list(rows.values())})


def check_goal(name: str, goal: Any) -> None:
    """A growth goal must be growth: above 0 and at most 10 (+1,000 %); ``None`` means no goal."""
    if goal is None:
        return
    if isinstance(goal, bool) or not isinstance(goal, (int, float)) or not 0 < goal <= 10:
        raise ParameterError(f"{name}={goal!r}: a goal is the growth to reach, above 0 and at most 10 "
                             "(0.3 = +30 %); set null for no goal")


def goal_targets(metrics: pd.DataFrame, *, freq_goal: float | None, ticket_goal: float | None, sales_goal: float | None,
                 period: str = "base") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn growth goals into target values for the group and for each customer.

    Goals are growth fractions (0.5 = +50%); ``None`` skips a goal. The group
    targets apply the goal to the group's base figures (2 visits -> 3, ticket
    550 -> 770); each customer's targets apply it to their own base.

    Returns
    -------
    (group_targets, customer_targets)
    """
    for name, g in (("freq_goal", freq_goal), ("ticket_goal", ticket_goal), ("sales_goal", sales_goal)):
        check_goal(name, g)
    v, s = metrics[f"visits_{period}"], metrics[f"sales_{period}"]
    t = metrics[f"ticket_{period}"]
    base = {
        "visits per member": float(v.mean()),
        "average ticket": float(s.sum() / v.sum()) if v.sum() else float("nan"),
        "sales per member": float(s.mean()),
    }
    goals = {"visits per member": freq_goal, "average ticket": ticket_goal, "sales per member": sales_goal}
    group = pd.DataFrame(
        [{"metric": m, "base": base[m], "goal": goals[m], "target": base[m] * (1 + goals[m])}
         for m in base if goals[m] is not None]
    )
    per = pd.DataFrame(index=metrics.index)
    per["base_visits"], per["base_ticket"], per["base_sales"] = v, t, s
    if freq_goal is not None:
        per["target_visits"] = v * (1 + freq_goal)
    if ticket_goal is not None:
        per["target_ticket"] = t * (1 + ticket_goal)
    if sales_goal is not None:
        per["target_sales"] = s * (1 + sales_goal)
    return group, per.reset_index()


# ====================================================================== control group checks


def balance_table(frame: pd.DataFrame, *, arm_col: str = "arm", columns: Sequence[str]) -> pd.DataFrame:
    """Treatment against control on baseline metrics and profile, with standardised differences.

    Numeric and boolean columns are compared as they are; a text column as
    one row per level (the share of customers at that level). The
    standardised difference is (mean_t - mean_c) / sqrt((var_t + var_c) / 2);
    |d| below 0.1 is the usual mark of a balanced split.
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
            t, c = x[arms == "treatment"], x[arms == "control"]
            pooled = np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
            rows.append({"variable": name, "treatment": t.mean(), "control": c.mean(),
                         "std_difference": (t.mean() - c.mean()) / pooled if pooled > 0 else 0.0})
    out = pd.DataFrame(rows)
    out["balanced"] = out["std_difference"].abs() < 0.1
    return out


def _solved(value) -> float:
    """statsmodels' ``solve_power`` answer as a number: a scalar from its root finder, a 1-element array when it
    fell back to ``fsolve`` (which ``float()`` refuses under NumPy 2)."""
    return float(np.ravel(value)[0])


def power_analysis(outcome: pd.Series, *, effect: float, group_size: int, control_share: float,
                   alpha: float = 0.05, power: float = 0.8) -> dict[str, Any]:
    """Can the campaign detect its goal? Minimum detectable effect and the control share needed.

    Uses statsmodels' two-sample t-test power (``TTestIndPower``) with the
    outcome's standard deviation.

    Parameters
    ----------
    outcome
        Per-customer values of the goal metric (e.g. monthly sales) in a
        month that did not select the group, to give an honest variance.
    effect
        The goal as an absolute difference per customer (e.g. 30% x base sales).
    group_size
        Customers in the target group.
    control_share
        The planned control share.

    Returns
    -------
    dict
        sd, effect size d, treatment and control sizes, the power at the
        planned split, the minimum detectable effect (absolute and d), the
        smallest control share reaching ``power`` (or None), and the total
        group size needed at the planned split.
    """
    from statsmodels.stats.power import TTestIndPower

    if group_size < 4:
        raise EmptyGroupError(f"a target group of {group_size} cannot be split into treatment and control")
    sd = float(pd.Series(outcome).std(ddof=1))
    if not sd > 0:
        raise DataError("the goal metric does not vary: power cannot be computed")
    analysis = TTestIndPower()
    n_c = int(round(group_size * control_share))
    n_t = group_size - n_c
    d = effect / sd
    achieved = float(analysis.power(effect_size=d, nobs1=n_t, ratio=n_c / n_t, alpha=alpha))
    mde_d = _solved(analysis.solve_power(effect_size=None, nobs1=n_t, ratio=n_c / n_t, alpha=alpha, power=power))
    needed_share = None
    for share in np.arange(0.01, 0.51, 0.01):
        c = int(round(group_size * share))
        if c < 2:
            continue
        if analysis.power(effect_size=d, nobs1=group_size - c, ratio=c / (group_size - c), alpha=alpha) >= power:
            needed_share = round(float(share), 2)
            break
    ratio = control_share / (1 - control_share)
    n1 = _solved(analysis.solve_power(effect_size=d, nobs1=None, ratio=ratio, alpha=alpha, power=power))
    return {
        "sd": sd, "effect": effect, "effect_size_d": d, "treatment": n_t, "control": n_c,
        "alpha": alpha, "target_power": power, "power_at_plan": achieved,
        "mde": mde_d * sd, "mde_d": mde_d, "control_share_needed": needed_share,
        "group_size_needed": int(np.ceil(n1 * (1 + ratio))), "big_enough": achieved >= power,
    }


def power_verdict(check: dict[str, Any], *, goal: float, metric: str = "sales") -> str:
    """One sentence reading :func:`power_analysis`: can the split show the goal, and what would."""
    verdict = "big enough" if check["big_enough"] else "too small"
    text = (f"With {check['treatment']} treated and {check['control']} control members the group is {verdict} "
            f"to detect +{goal:.0%} {metric} ({check['effect']:,.0f} a member) with {check['target_power']:.0%} power "
            f"(power at this split: {check['power_at_plan']:.0%}). The smallest detectable effect is "
            f"{check['mde']:,.0f} a member. ")
    if check["control_share_needed"] is not None:
        return text + f"A control share of {check['control_share_needed']:.0%} would be enough."
    return text + (f"No control share up to 50% reaches it with this group: about {check['group_size_needed']:,} "
                   "members would be needed at the planned split.")


def adjusted_power(outcome: pd.Series, covariates: pd.DataFrame, *, effect: float, group_size: int,
                   control_share: float, alpha: float = 0.05, power: float = 0.8) -> dict[str, Any]:
    """:func:`power_analysis` with the variance the adjusted lift will have (CUPED / ANCOVA).

    The adjusted lift (:func:`crm_kit.results.adjusted_lift`) removes the part
    of each member's outcome their own past predicts. Its variance is the
    outcome's times (1 - R²), R² from regressing ``outcome`` (the honest
    variance month) on ``covariates`` (each member's mean visits and sales
    over the periods *before* that month, :func:`crm_kit.engine.pre_period_covariates`).
    The power check then runs on the residuals.

    Returns
    -------
    dict
        :func:`power_analysis`'s figures for the adjusted estimate, plus
        ``r_squared`` (the share of the outcome's variance the past explains).
    """
    y = pd.Series(outcome).astype(float)
    x = covariates.reindex(y.index)[["visits_pre", "sales_pre"]].to_numpy(float)
    if np.isnan(x).any():
        raise DataError("pre-period covariates are missing for some target members; compute them for the same ids")
    X = np.column_stack([np.ones(len(y)), x - x.mean(axis=0)])
    beta, *_ = np.linalg.lstsq(X, y.to_numpy(), rcond=None)
    residual = y - X @ beta
    total = float(((y - y.mean()) ** 2).sum())
    r_squared = 1 - float((residual**2).sum()) / total if total > 0 else 0.0
    check = power_analysis(residual + y.mean(), effect=effect, group_size=group_size, control_share=control_share,
                           alpha=alpha, power=power)
    return {**check, "r_squared": r_squared}


def adjusted_power_verdict(plain: dict[str, Any], adjusted: dict[str, Any]) -> str:
    """One sentence: what the adjusted lift buys at the design stage — a smaller detectable effect or control group."""
    text = (f"Adjusted for each member's own past (it explains {adjusted['r_squared']:.0%} of the variance), the "
            f"smallest detectable effect drops from {plain['mde']:,.0f} to {adjusted['mde']:,.0f} a member")
    before, after = plain["control_share_needed"], adjusted["control_share_needed"]
    if before is not None and after is not None and after < before:
        return text + f", and a control share of {after:.0%} would be enough instead of {before:.0%}."
    if before is None and after is not None:
        return text + f", and a control share of {after:.0%} would now be enough."
    return text + "."


# ====================================================================== 4P plan and budget

#: the keys of a round plan (the worked case's two are in :mod:`crm_kit.demo.plan`)
PLAN_KEYS = ("channels", "default_channel", "product", "price", "place", "promotion", "reward", "rule",
             "weekly_samples", "cost_items")
#: the variable cost lines a plan may list in ``cost_items``
COST_ITEMS = ("weekly samples", "extra rewards", "courier deliveries")


def round_plan(base: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A round's plan: ``base`` (e.g. one of the worked case's) with the analyst's overrides, validated.

    A retailer that is not the case's supermarket writes its own channels and
    4P texts, e.g. ``{"channels": ["email"], "default_channel": "email",
    "place": "the web shop", "reward": "free shipping voucher"}``.

    Parameters
    ----------
    base
        A complete plan: every key of :data:`PLAN_KEYS`.
    overrides
        Any of those keys; unknown keys are errors with a suggestion.
    """
    missing = sorted(set(PLAN_KEYS) - set(base))
    if missing:
        raise ParameterError(f"the base plan lacks {missing}; a plan has {list(PLAN_KEYS)}")
    plan = dict(base)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(plan))
    if unknown:
        hints = [h for k in unknown for h in difflib.get_close_matches(k, list(plan), n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"plan has unknown key(s) {unknown}{maybe}; known keys are {sorted(plan)}")
    if "rule" in overrides:
        missing = {"rule", "condition", "why"} - set(overrides["rule"] or {})
        if missing:
            raise ParameterError(f"plan.rule needs rule, condition and why; missing {sorted(missing)}")
    plan.update(overrides)
    if isinstance(plan["channels"], str):
        plan["channels"] = [plan["channels"]]
    if plan["default_channel"] not in plan["channels"]:
        raise ParameterError(f"plan.default_channel '{plan['default_channel']}' is not one of plan.channels {plan['channels']}")
    bad = sorted(set(plan["cost_items"]) - set(COST_ITEMS))
    if bad:
        raise ParameterError(f"plan.cost_items {bad} are not cost lines the kit knows; use {list(COST_ITEMS)}")
    return plan


def weekly_calendar(start: Any, *, weeks: int = 4) -> pd.DataFrame:
    """The campaign's weeks: start and end dates and the push day (the Monday of each week)."""
    first = pd.Timestamp(start)
    monday = first - pd.Timedelta(days=first.dayofweek)
    rows = []
    for i in range(weeks):
        ws = monday + pd.Timedelta(weeks=i)
        rows.append({"week": i + 1, "push_day": max(ws, first).date(), "weekend": f"{(ws + pd.Timedelta(days=5)).date()} / {(ws + pd.Timedelta(days=6)).date()}"})
    return pd.DataFrame(rows)


def choose_samples(bestsellers: pd.DataFrame, *, weeks: int) -> pd.DataFrame:
    """One sample product per week: the group's bestsellers, one per category first, then the next best."""
    if bestsellers.empty:
        raise DataError("no bestsellers to choose samples from")
    ordered = bestsellers.sort_values("sales", ascending=False)
    key = "category" if "category" in ordered.columns else "product_id"
    firsts = ordered.drop_duplicates(key)
    rest = ordered.drop(firsts.index)
    picks = pd.concat([firsts, rest]).head(weeks)
    if len(picks) < weeks:
        picks = pd.concat([picks] * (weeks // len(picks) + 1)).head(weeks)
    return picks.reset_index(drop=True)


def contact_channels(target: pd.DataFrame, *, plan: Mapping[str, Any], preferred_col: str = "preferred_channel",
                     channels: Sequence[str] | None = None, default: str | None = None) -> pd.Series:
    """Each customer's channel: their preferred one when the round's ``plan`` uses it, else the plan's default."""
    allowed = list(channels) if channels else plan["channels"]
    default = default or plan["default_channel"]
    if preferred_col in target.columns:
        pref = target[preferred_col].astype("string")
        chosen = pref.where(pref.isin(allowed), default).fillna(default)
    else:
        chosen = pd.Series(default, index=target.index)
    return chosen.astype(str).rename("channel")


def plan_4p(*, plan: Mapping[str, Any], samples: pd.DataFrame | None, calendar: pd.DataFrame, treated: int,
            ticket_target: float | None, reward_rounding: float = 10.0) -> dict[str, pd.DataFrame]:
    """The 4P plan (产品/价格/渠道/促销) as readable tables.

    ``plan`` is the round's plan (:func:`round_plan`): its texts, channels,
    reward and rule; the calendar carries the weekly samples when the plan
    gives samples (``weekly_samples``) and ``samples`` are chosen.

    Returns
    -------
    dict
        ``plan`` (one row per P), ``calendar`` (per week: push day,
        weekend, sample and quantity = treated members) and ``rules``
        (incentive rules: the reward threshold is the ticket target rounded up).
    """
    base = plan
    table = pd.DataFrame({"P": ["product", "price", "place (channel)", "promotion"],
                          "decision": [base["product"], base["price"], base["place"], base["promotion"]]})
    cal = calendar.copy()
    if samples is not None and base["weekly_samples"]:
        names = samples["name"] if "name" in samples.columns else samples["product_id"]
        cal["sample"] = names.to_numpy()[: len(cal)]
        cal["sample_category"] = samples["category"].to_numpy()[: len(cal)] if "category" in samples.columns else ""
        cal["quantity"] = treated
    rules = []
    if ticket_target is not None and np.isfinite(ticket_target):
        threshold = float(np.ceil(ticket_target / reward_rounding) * reward_rounding)
        rules.append({"rule": f"extra reward ({base['reward']})", "condition": f"a purchase (one visit or order) of at least {threshold:,.0f}",
                      "why": f"the ticket target ({ticket_target:,.0f}) rounded up: the reward pays for reaching the goal"})
    rules.append(dict(base["rule"]))
    return {"plan": table, "calendar": cal, "rules": pd.DataFrame(rules)}


def campaign_budget(*, contacts: int, cost_per_contact: float, items: Sequence[Mapping[str, Any]] = (),
                    fixed_costs: Mapping[str, float] | None = None, gross_margin: float = 0.2,
                    expected_incremental_sales: float = 0.0) -> dict[str, Any]:
    """Budget, break-even and expected return of a campaign.

    Parameters
    ----------
    contacts
        Messages sent (treated members x pushes).
    cost_per_contact
        Cost of one message.
    items
        Variable cost lines: ``{"item", "units", "unit_cost"}`` (samples,
        rewards, courier trips...).
    fixed_costs
        ``{name: amount}`` (service staff wages, set-up...).
    gross_margin
        Gross margin on incremental sales (0.2 = 20%).
    expected_incremental_sales
        Incremental sales if the goals are met (treated x base x goal).

    Returns
    -------
    dict
        ``costs`` (table), ``total_cost``, ``break_even_sales`` (incremental
        sales whose margin pays the cost), ``expected_incremental_sales``,
        ``expected_return_on_spend`` (incremental sales / cost) and
        ``expected_roi`` ((margin on incremental sales - cost) / cost).
    """
    if not 0 < gross_margin <= 1:
        raise ParameterError(f"gross_margin={gross_margin!r} must be in (0, 1]")
    lines = [{"item": "contacts", "units": contacts, "unit_cost": cost_per_contact}]
    lines += [dict(i) for i in items]
    costs = pd.DataFrame(lines)
    costs["cost"] = costs["units"] * costs["unit_cost"]
    for name, amount in ((n, a) for n, a in (fixed_costs or {}).items() if a):
        costs.loc[len(costs)] = {"item": name, "units": 1, "unit_cost": amount, "cost": amount}
    total = float(costs["cost"].sum())
    return {
        "costs": costs,
        "total_cost": total,
        "gross_margin": gross_margin,
        "break_even_sales": total / gross_margin,
        "expected_incremental_sales": expected_incremental_sales,
        "expected_return_on_spend": expected_incremental_sales / total if total else float("inf"),
        "expected_roi": (expected_incremental_sales * gross_margin - total) / total if total else float("inf"),
    }


def leverage_comparison() -> pd.DataFrame:
    """The case's leverage lesson: spend 100 to drive 1,000 beats spend 1,000 to drive 2,000."""
    df = pd.DataFrame({"campaign": ["small, sharp", "big, blunt"], "spend": [100.0, 1000.0], "incremental_sales": [1000.0, 2000.0]})
    df["return_on_spend"] = df["incremental_sales"] / df["spend"]
    return df


# ====================================================================== exports


def pseudonymise(ids: Iterable[str], *, salt: str) -> pd.Series:
    """A stable pseudonymous key per customer id (first 16 hex digits of SHA-256 of salt + id).

    The same salt maps the same id to the same key, so a results step can join
    outcomes back; without the salt a key does not reveal the id.
    """
    import hashlib

    ids = [str(i) for i in ids]
    return pd.Series([hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:16] for i in ids], index=ids, name="customer_key")


def contacted_elsewhere(contacts: pd.DataFrame | None, *, campaign_id: str, month: Any) -> list[str]:
    """Customers another campaign contacts in ``month`` (to leave out of this one's target)."""
    from .engine import month_bounds

    if contacts is None or "contacted_at" not in contacts.columns:
        return []
    start, end = month_bounds(month)
    other = contacts[(contacts["campaign_id"] != campaign_id)
                     & contacts["contacted_at"].between(start, end, inclusive="left")]
    return list(other["customer_id"].unique())


def budget_lines(*, plan: Mapping[str, Any], treated: int, weeks: int, sample_unit_cost: float,
                 reward_unit_cost: float, expected_reward_share: float, courier_cost_per_order: float,
                 expected_orders_per_member: float) -> list[dict[str, Any]]:
    """The variable cost lines the round's plan lists (``cost_items``): samples, rewards, courier trips."""
    lines = {
        "weekly samples": {"item": "weekly samples", "units": treated * weeks, "unit_cost": sample_unit_cost},
        "extra rewards": {"item": "extra rewards", "units": round(treated * expected_reward_share),
                          "unit_cost": reward_unit_cost},
        "courier deliveries": {"item": "courier deliveries", "units": round(treated * expected_orders_per_member),
                               "unit_cost": courier_cost_per_order},
    }
    return [lines[item] for item in plan["cost_items"]]


def contact_list(arms: pd.DataFrame, channels: pd.Series, *, salt: str) -> pd.DataFrame:
    """The exportable contact list: pseudonymous key, arm, and the channel of each treated customer.

    ``channels`` maps treated customer ids (its index) to their channel;
    control customers get ``"none"``. No personal field is written.
    """
    by_id = channels.to_dict()
    keys = pseudonymise(arms["customer_id"], salt=salt)
    return pd.DataFrame({
        "customer_key": keys.to_numpy(),
        "arm": arms["arm"].to_numpy(),
        "channel": arms["customer_id"].map(by_id).fillna("none").to_numpy(),
    })


def arms_from_contact_list(contacts: pd.DataFrame, customer_ids: Iterable[str], *, salt: str) -> pd.DataFrame:
    """Match a contact list's pseudonymous keys back to customer ids (the inverse of :func:`contact_list`)."""
    keys = pseudonymise(customer_ids, salt=salt)
    by_key = pd.Series(keys.index, index=keys.to_numpy())
    matched = contacts.assign(customer_id=contacts["customer_key"].map(by_key))
    if matched["customer_id"].isna().any():
        n = int(matched["customer_id"].isna().sum())
        raise DataError(f"{n} contact-list key(s) match no customer of this store; check the data and the pseudonym salt")
    return matched[["customer_id", "arm"]]


def balance_columns(design: pd.DataFrame, *, profile: Sequence[str] = (
        "preferred_channel", "occupation", "gender", "age_band", "uses_wechat")) -> list[str]:
    """The columns the balance table compares: the base month's visits, ticket and sales, and the member fields present."""
    return ["visits_base", "ticket_base", "sales_base", *(c for c in profile if c in design.columns)]


def ticket_target(group_targets: pd.DataFrame) -> float | None:
    """The group's average-ticket target from :func:`goal_targets`, or ``None`` when the round set no ticket goal."""
    if "metric" not in group_targets.columns:
        return None
    rows = group_targets.set_index("metric")
    if "average ticket" not in rows.index or pd.isna(rows.loc["average ticket", "target"]):
        return None
    return float(rows.loc["average ticket", "target"])


def weekly_samples(bestsellers: pd.DataFrame, *, plan: Mapping[str, Any], weeks: int) -> pd.DataFrame | None:
    """The week's samples (:func:`choose_samples`) when the round's plan gives samples, else ``None``."""
    return choose_samples(bestsellers, weeks=weeks) if plan["weekly_samples"] else None


def budget_summary(budget: Mapping[str, Any]) -> pd.DataFrame:
    """The budget's figures (total cost, break-even, expected return...) as a one-column table."""
    return pd.Series({k: v for k, v in budget.items() if k != "costs"}).to_frame("value")
