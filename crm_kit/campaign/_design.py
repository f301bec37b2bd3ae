"""The round's experiment in campaign terms: arms with channels and prices, their costs, power in words.

The statistics — the random assignment, the balance table, power and the
minimum detectable effect — are :mod:`crm_kit.experiment`'s; this module
gives them the campaign's arms (a channel and a price each), its costs and
the sentences notebook 03 shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from .. import experiment
from ..errors import ParameterError
from ._plan import contact_channels

#: the design half of the experiment core, under the names notebook 03 has always used
balance_table = experiment.balance_table
power_analysis = experiment.power_analysis
arm_power = experiment.arm_power


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

    :func:`crm_kit.experiment.assign_arms` after :func:`check_treatment_arms`
    (every arm of a campaign names its channel): within each stratum,
    customers are sorted by id, shuffled with a generator seeded by ``seed``,
    and ``control_share * n`` of them go to control, the fraction of a customer
    left over rounded at random so that every customer has the same chance of
    control whatever the size of their stratum; the rest go to the arms by
    their shares, rounded the same way. The same customers, share, strata and
    seed always give the same split, whatever the input order.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and ``arm`` (``"treatment"`` or the arms' names, and ``"control"``), sorted by id;
        ``attrs["notes"]`` names the strata too small to split (:func:`assignment_note` says it in a sentence).

    Examples
    --------
    Ten customers, a fifth held out as control; the same seed gives the same split in any row order:

    >>> import pandas as pd
    >>> from crm_kit import campaign
    >>> target = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(10)]})
    >>> split = campaign.assign_arms(target, control_share=0.2, seed=1)
    >>> split["arm"].value_counts().to_dict()
    {'treatment': 8, 'control': 2}
    >>> split.equals(campaign.assign_arms(target.iloc[::-1], control_share=0.2, seed=1))
    True

    Two treatment arms on two channels, sharing the treated equally:

    >>> arms = campaign.check_treatment_arms(
    ...     [{"name": "sms", "channel": "SMS"}, {"name": "mail", "channel": "email"}], control_share=0.2)
    >>> split = campaign.assign_arms(target, control_share=0.2, seed=1,
    ...                              treatment_arms=arms)
    >>> split["arm"].value_counts().to_dict()
    {'sms': 4, 'mail': 4, 'control': 2}
    """
    arms = check_treatment_arms(treatment_arms, control_share=control_share) if treatment_arms else []
    return experiment.assign_arms(customers, control_share=control_share, stratify_by=stratify_by, seed=seed,
                                  id_col=id_col, treatment_arms=[{"name": a["name"], "share": a["share"]} for a in arms])


@dataclass(frozen=True)
class Strata:
    """The column the control group is stratified by (empty for none) and one sentence saying why."""

    column: str
    note: str


#: fewer customers than this per level on average and a column is not used as strata (each level would round
#: its own control group to nothing)
MIN_PER_STRATUM = 5


def choose_strata(target: pd.DataFrame, stratify_by: str | None, *, chosen: bool = False) -> Strata:
    """The column to stratify the control group by: ``stratify_by`` where the target has it, else none.

    The notebook's default (``preferred_channel``, a field of the member form)
    exists only where the data has member records: on an export without them the
    split is simply random, and the note says so. A column the analyst *chose*
    (``chosen=True``: set in a run file or changed from the default) that the
    data lacks is an error naming the columns there are, so a typo never turns
    into an unstratified design unnoticed. A column that is empty for every
    target customer, or has so many levels that a stratum averages fewer than
    :data:`MIN_PER_STRATUM` customers (rounding would leave most strata without
    a control member), is not used either, with a note.

    Parameters
    ----------
    target
        The target customers, one row each, with any member fields joined.
    stratify_by
        The column asked for; empty or ``None`` for none.
    chosen
        Whether the analyst chose ``stratify_by`` (rather than leaving the default).

    Returns
    -------
    Strata
        ``column`` (``""`` for a simple random split) and ``note``.

    Examples
    --------
    >>> target = pd.DataFrame({"customer_id": ["a", "b"]})
    >>> choose_strata(target, "preferred_channel").column
    ''
    """
    column = str(stratify_by or "").strip()
    if not column:
        return Strata("", "The control group is drawn at random from the whole target (no strata asked for).")
    if column not in target.columns:
        if chosen:
            fields = sorted(c for c in target.columns if c != "customer_id"
                            and not pd.api.types.is_float_dtype(target[c]) and not pd.api.types.is_integer_dtype(target[c]))
            use = f"use one of {fields} or" if fields else "the data has no member field to stratify by:"
            raise ParameterError(f"stratify_by={column!r}: the target has no such column; {use} set stratify_by "
                                 "empty for a simple random split")
        return Strata("", f"The data has no {column} (no member record carries it), so the control group is drawn "
                          "at random from the whole target, without strata; set stratify_by to a column the "
                          "data has to stratify.")
    values = target[column]
    if values.isna().all():
        return Strata("", f"No target customer has a {column}, so the control group is drawn at random from the "
                          "whole target, without strata.")
    levels = int(values.astype("string").fillna("<missing>").nunique())
    if levels * MIN_PER_STRATUM > len(target):
        return Strata("", f"{column} has {levels:,} levels for {len(target):,} target customers — too few a level "
                          "to hold out a control group in each — so the control group is drawn at random from the "
                          "whole target, without strata.")
    return Strata(column, f"The control group is drawn within each of the {levels:,} levels of {column}, so both "
                          "arms hold the same mix of them.")


def assignment_note(arms: pd.DataFrame) -> str:
    """The design's notes on its assignment, one sentence each: strata too small to split into every arm.

    Reads :func:`assign_arms`'s ``attrs["notes"]``; a design without notes gets the sentence that every
    stratum could be split.
    """
    notes = list(arms.attrs.get("notes") or [])
    return " ".join(notes) if notes else "Every stratum was large enough to split into every arm at these shares."


def adjusted_power(outcome: pd.Series, covariates: pd.DataFrame, *, effect: float, group_size: int,
                   control_share: float, alpha: float = 0.05, power: float = 0.8) -> dict[str, Any]:
    """:func:`power_analysis` with the variance the adjusted lift will have (CUPED / ANCOVA).

    :func:`crm_kit.experiment.adjusted_power` on each member's mean visits and
    sales over the periods *before* the honest-variance month
    (:func:`crm_kit.engine.pre_period_covariates`: ``visits_pre``, ``sales_pre``),
    the covariates :func:`crm_kit.results.adjusted_lift` will use.
    """
    return experiment.adjusted_power(outcome, covariates, effect=effect, group_size=group_size,
                                     control_share=control_share, alpha=alpha, power=power,
                                     columns=("visits_pre", "sales_pre"))


def check_treatment_arms(treatment_arms: Sequence[Mapping[str, Any]], *, control_share: float,
                         cost_per_contact: float | None = None) -> list[dict[str, Any]]:
    """Validate a multi-arm design and fill its defaults.

    The arms' names and shares are checked by :func:`crm_kit.experiment.check_arm_shares`;
    this adds what a campaign's arm carries: its channel and its price per message.

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

    Examples
    --------
    Without shares the treated are split equally; an arm without its own price takes the round's:

    >>> from crm_kit import campaign
    >>> arms = [{"name": "sms", "channel": "SMS"},
    ...         {"name": "mail", "channel": "email", "cost_per_contact": 0.1}]
    >>> campaign.check_treatment_arms(arms, control_share=0.2, cost_per_contact=0.5)
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'name': 'sms', 'channel': 'SMS', 'share': 0.4, 'cost_per_contact': 0.5},
     {'name': 'mail', 'channel': 'email', 'share': 0.4, 'cost_per_contact': 0.1}]
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
        arms.append({"name": name, "channel": channel, "share": spec.get("share"),
                     "cost_per_contact": spec.get("cost_per_contact", cost_per_contact)})
    arms = experiment.check_arm_shares(arms, control_share=control_share)
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

    Examples
    --------
    Four members per arm, two messages each: 8 SMS at 0.5 and 8 emails at 0.1:

    >>> import pandas as pd
    >>> from crm_kit import campaign
    >>> arms = campaign.check_treatment_arms(
    ...     [{"name": "sms", "channel": "SMS"},
    ...      {"name": "mail", "channel": "email", "cost_per_contact": 0.1}],
    ...     control_share=0.2, cost_per_contact=0.5)
    >>> design = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)],
    ...                        "arm": ["sms"] * 4 + ["mail"] * 4 + ["control"] * 2})
    >>> costs = campaign.arm_costs(design, treatment_arms=arms, pushes_per_member=2,
    ...                           cost_per_contact=0.5)
    >>> costs[["arm", "treated", "contacts", "message_cost", "cost"]]
        arm  treated  contacts  message_cost  cost
    0   sms        4         8           4.0   4.0
    1  mail        4         8           0.8   0.8
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


def power_verdict(check: dict[str, Any], *, goal: float, metric: str = "sales") -> str:
    """One sentence reading :func:`power_analysis`: can the split show the goal, and what would."""
    if check["power_at_plan"] is None:
        return (f"The target's {metric} in the variance period is the same for all {check['treatment'] + check['control']} "
                f"customers ({check['treatment']} treated, {check['control']} control): there is no spread to measure, "
                "so the power of this split cannot be computed — a larger target group (another target_kind) or a "
                "variance month in which its customers bought gives one.")
    verdict = "big enough" if check["big_enough"] else "too small"
    text = (f"With {check['treatment']} treated and {check['control']} control members the group is {verdict} "
            f"to detect +{goal:.0%} {metric} ({check['effect']:,.0f} a member) with {check['target_power']:.0%} power "
            f"(power at this split: {check['power_at_plan']:.0%}). The smallest detectable effect is "
            f"{check['mde']:,.0f} a member. ")
    if check["control_share_needed"] is not None:
        return text + f"A control share of {check['control_share_needed']:.0%} would be enough."
    return text + (f"No control share up to 50% reaches it with this group: about {check['group_size_needed']:,} "
                   "members would be needed at the planned split.")


def adjusted_power_verdict(plain: dict[str, Any], adjusted: dict[str, Any]) -> str:
    """One sentence: what the adjusted lift buys at the design stage — a smaller detectable effect or control group."""
    if plain["mde"] is None or adjusted["mde"] is None:
        return "No adjusted power check either: the outcome has no spread to adjust."
    text = (f"Adjusted for each member's own past (it explains {adjusted['r_squared']:.0%} of the variance), the "
            f"smallest detectable effect drops from {plain['mde']:,.0f} to {adjusted['mde']:,.0f} a member")
    before, after = plain["control_share_needed"], adjusted["control_share_needed"]
    if before is not None and after is not None and after < before:
        return text + f", and a control share of {after:.0%} would be enough instead of {before:.0%}."
    if before is None and after is not None:
        return text + f", and a control share of {after:.0%} would now be enough."
    return text + "."


def balance_columns(design: pd.DataFrame, *, profile: Sequence[str] = (
        "preferred_channel", "occupation", "gender", "age_band", "uses_wechat")) -> list[str]:
    """The columns the balance table compares: the base month's visits, ticket and sales, and the member fields present."""
    return ["visits_base", "ticket_base", "sales_base", *(c for c in profile if c in design.columns)]
