"""Whom a round targets and what it aims for: the target group, its base month, the goals per customer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..artifacts import DiscoverySummary, RoundResult, SegmentTable, read_uplift_scores
from ..config import resolve_path
from ..discovery import behaviour_table, recommend_target, recommended_group
from ..engine import monthly_customer_list
from ..errors import EmptyGroupError, ParameterError

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


def check_period_order(base: Any, campaign: Any, *, base_name: str = "base_month",
                       campaign_name: str = "campaign_month") -> None:
    """Refuse a campaign period that does not come after its base period.

    Growth is "campaign against base": a campaign month before (or inside) the
    base month compares the campaign with what came after it, and every
    figure of the round would read backwards. The campaign period must start
    at or after the base period's end.
    """
    from ..engine import parse_period

    base_start, base_end = parse_period(base, base_name)
    start, _end = parse_period(campaign, campaign_name)
    if start < base_end:
        when = "before" if start < base_start else "inside"
        raise ParameterError(f"{campaign_name} {campaign} starts {when} {base_name} {base}: the campaign period must "
                             f"come after the base period it is compared with; set {campaign_name} to a period "
                             f"starting on {base_end.date()} or later (or {base_name} to one ending by {start.date()})")


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
    check_period_order(base_month, campaign_month)
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

    Examples
    --------
    A target group of four, one of whom did not buy in the base month:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from crm_kit import campaign
    >>> metrics = pd.DataFrame({"visits_base": [2, 1, 0, 3],
    ...                         "sales_base": [100.0, 40.0, 0.0, 150.0],
    ...                         "ticket_base": [50.0, 40.0, np.nan, 50.0]},
    ...                        index=pd.Index(list("abcd"), name="customer_id"))
    >>> campaign.baseline(metrics).round(2)  # 6 visits, 290 of sales: a ticket of 48.33
                        figure   value
    0                  members    4.00
    1  members with a purchase    3.00
    2        visits per member    1.50
    3           average ticket   48.33
    4         sales per member   72.50
    5             total visits    6.00
    6              total sales  290.00
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

    Examples
    --------
    A goal of +50 % visits: the group's 1.5 visits per member become 2.25, and each member's own visits grow by half:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from crm_kit import campaign
    >>> metrics = pd.DataFrame({"visits_base": [2, 1, 0, 3],
    ...                         "sales_base": [100.0, 40.0, 0.0, 150.0],
    ...                         "ticket_base": [50.0, 40.0, np.nan, 50.0]},
    ...                        index=pd.Index(list("abcd"), name="customer_id"))
    >>> group, each = campaign.goal_targets(metrics, freq_goal=0.5,
    ...                                      ticket_goal=None, sales_goal=None)
    >>> group
                  metric  base  goal  target
    0  visits per member   1.5   0.5    2.25
    >>> each[["customer_id", "base_visits", "target_visits"]]
      customer_id  base_visits  target_visits
    0           a            2            3.0
    1           b            1            1.5
    2           c            0            0.0
    3           d            3            4.5
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


def contacted_elsewhere(contacts: pd.DataFrame | None, *, campaign_id: str, month: Any) -> list[str]:
    """Customers another campaign contacts in ``month`` (to leave out of this one's target)."""
    from ..engine import month_bounds

    if contacts is None or "contacted_at" not in contacts.columns:
        return []
    start, end = month_bounds(month)
    other = contacts[(contacts["campaign_id"] != campaign_id)
                     & contacts["contacted_at"].between(start, end, inclusive="left")]
    return list(other["customer_id"].unique())


def ticket_target(group_targets: pd.DataFrame) -> float | None:
    """The group's average-ticket target from :func:`goal_targets`, or ``None`` when the round set no ticket goal."""
    if "metric" not in group_targets.columns:
        return None
    rows = group_targets.set_index("metric")
    if "average ticket" not in rows.index or pd.isna(rows.loc["average ticket", "target"]):
        return None
    return float(rows.loc["average ticket", "target"])
