"""The two-round picture: who went where, what each round added and cost, and the lessons.

Works on the rounds' typed hand-offs (:func:`crm_kit.artifacts.rounds_in`):
each round's :class:`~crm_kit.artifacts.RoundResult` and the
:class:`~crm_kit.artifacts.CampaignDefinition` it analysed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .artifacts import CampaignDefinition, CycleSummary, RoundResult

__all__ = ["flow", "round_table", "totals", "lessons", "cycle_summary", "currency", "targeting_comparison"]

Rounds = dict[int, tuple[CampaignDefinition | None, RoundResult]]


def _round_target(definition: CampaignDefinition | None, result: RoundResult) -> dict[str, Any]:
    return (definition.target if definition is not None else result.target) or {}


def currency(rounds: Rounds) -> str:
    """The currency sign the rounds' results were computed in (empty when none was named)."""
    return next((res.currency for _d, res in (rounds[n] for n in sorted(rounds)) if res.currency), "")


def flow(rounds: Rounds) -> tuple[list, list]:
    """Nodes and links of the cycle diagram.

    Each round: its target, split into treated and control, the treated into
    the round's groups. A round whose target is a group of the previous round
    (round two on round one's A4) is linked from that group's node.
    """
    nodes, links = [], []
    col = 0
    previous_groups: set[str] = set()
    for n in sorted(rounds):
        definition, res = rounds[n]
        treated, control = res.arms.get("treatment", 0), res.arms.get("control", 0)
        target = _round_target(definition, res)
        source = str(target.get("value")) if target.get("kind") == "group_list" else None
        label = f"{source} (round {n} target)" if source in previous_groups else f"round {n} target"
        t_name, c_name = f"R{n} treated", f"R{n} control"
        if source in previous_groups:
            links.append((source, label, treated + control))
        nodes.append((col, label, treated + control))
        nodes += [(col + 1, t_name, treated), (col + 1, c_name, control)]
        links += [(label, t_name, treated), (label, c_name, control)]
        for g, count in sorted(res.group_counts.items()):
            nodes.append((col + 2, g, count))
            links.append((t_name, g, count))
        previous_groups = set(res.group_counts)
        col += 3
    return nodes, links


def _sales_effect(res: RoundResult) -> tuple[dict[str, Any], str]:
    """The round's headline sales effect (basis, estimate, interval) and the basis of its plain estimate.

    A round written before headlines existed gets the plain lift, or the difference-in-differences its return used.
    """
    plain_basis = "did" if (res.returns or {}).get("estimate") == "did" or (res.headline or {}).get("basis") == "did" \
        else "lift"
    if res.headline:
        return res.headline, plain_basis
    sales = res.lift_row("sales")
    low, high = ("ci_low", "ci_high") if plain_basis == "lift" else ("did_ci_low", "did_ci_high")
    return {"basis": plain_basis, "estimate": sales[plain_basis], "ci_low": sales.get(low),
            "ci_high": sales.get(high)}, plain_basis


def round_table(rounds: Rounds) -> pd.DataFrame:
    """One row per round: sizes, naive growth, controlled lift, incremental sales, cost, return.

    The effect is the round's headline (:func:`crm_kit.results.headline_effect`: the adjusted lift against a
    random control group, the difference-in-differences against a comparison group; ``estimate`` says which);
    the plain estimate stays in the round's ``headline`` and lift table. A round written before headlines
    existed falls back to the plain lift or the difference-in-differences its return used.
    """
    rows = []
    for n in sorted(rounds):
        _definition, res = rounds[n]
        ret = res.returns
        # a round evaluated against a comparison group that was not random reports the difference-in-differences
        head, _plain_basis = _sales_effect(res)
        rows.append({
            "round": n,
            "campaign": res.campaign_id,
            "treated": res.arms.get("treatment", 0),
            "control": res.arms.get("control", 0),
            "naive_sales_growth": res.naive("naive_mean"),
            "control_growth": res.naive("control_growth"),
            "estimate": head["basis"],
            "sales_lift_per_customer": head["estimate"],
            "lift_ci_low": head["ci_low"],
            "lift_ci_high": head["ci_high"],
            "incremental_sales": ret["incremental_sales"],
            "cost": ret["cost"],
            "return_on_spend": ret["return_on_spend"],
            "roi": ret["roi"],
        })
    return pd.DataFrame(rows)


def targeting_comparison(rounds: Rounds) -> pd.DataFrame | str:
    """Who to target next: the uplift model's choice against the rule-based round that followed, per contact.

    For each round with an uplift model (notebook 04: ``RoundResult.uplift``), its targeting's incremental
    sales per customer observed out of fold (treated mean - control mean among the customers it selects) and,
    for the next round, the lift it measured on the target the rule chose (round one's A4), each turned into
    incremental margin per contact: incremental sales x gross margin - the round's cost per treated customer.

    Returns
    -------
    pandas.DataFrame or str
        One row per targeting: ``targeting``, ``customers``, ``incremental_sales_per_contact``,
        ``cost_per_customer``, ``incremental_margin_per_contact`` and ``evidence``; a sentence when no round
        had an uplift model.
    """
    rows = []
    for n in sorted(rounds):
        _definition, res = rounds[n]
        up = res.uplift
        if not up or up.get("selected") is None:
            continue
        rows.append({"targeting": f"uplift model of round {n}: {up['rule']}", "customers": up["selected"],
                     "incremental_sales_per_contact": up["observed_uplift_selected"],
                     "cost_per_customer": up["cost_per_contact"],
                     "incremental_margin_per_contact": up["margin_per_contact"],
                     "evidence": f"round {n}'s random control group, out of fold"})
        rows.append({"targeting": f"everyone of round {n}'s target", "customers": up["customers"],
                     "incremental_sales_per_contact": up["observed_uplift_all"],
                     "cost_per_customer": up["cost_per_contact"],
                     "incremental_margin_per_contact": up["margin_per_contact_all"],
                     "evidence": f"round {n}'s random control group"})
        if n + 1 in rounds:
            definition, nxt = rounds[n + 1]
            if nxt.analysed and nxt.returns:
                treated = int((nxt.arms or {}).get("treatment", 0))
                head, estimate = _sales_effect(nxt)
                per = float(head["estimate"])
                cost = float(nxt.returns.get("cost") or 0.0) / treated if treated else 0.0
                margin = float(definition.gross_margin if definition else up["gross_margin"])
                target = _round_target(definition, nxt)
                what = f"{target.get('kind', 'target')} {target.get('value', '')}".strip()
                rows.append({"targeting": f"round {n + 1}'s rule ({what})", "customers": treated,
                             "incremental_sales_per_contact": per, "cost_per_customer": cost,
                             "incremental_margin_per_contact": per * margin - cost,
                             "evidence": f"round {n + 1}'s {'random control group' if estimate == 'lift' else 'comparison group'}"})
    if not rows:
        return ("No round had an uplift model (it needs a random control group with enough customers in each arm): "
                "nothing to compare the rule-based targeting with.")
    return pd.DataFrame(rows)


def totals(per_round: pd.DataFrame) -> dict[str, float]:
    """Both rounds together."""
    inc, cost = float(per_round["incremental_sales"].sum()), float(per_round["cost"].sum())
    return {"incremental_sales": inc, "cost": cost, "return_on_spend": inc / cost if cost else None}


def cycle_summary(per_round: pd.DataFrame) -> CycleSummary:
    """The cycle's hand-off: every round side by side and the totals."""
    return CycleSummary(rounds=per_round.to_dict(orient="records"), totals=totals(per_round))


def lessons(rounds: Rounds, per_round: pd.DataFrame) -> str:
    """The closing lessons, written from the figures."""
    lines = []
    sign = currency(rounds)

    def money(v: float) -> str:
        return f"{'−' if v < 0 else ''}{sign}{abs(v):,.0f}"

    for _, r in per_round.iterrows():
        significant = r["lift_ci_low"] > 0
        lines.append(
            f"- **Round {int(r['round'])}** ({r['campaign']}): the naive before/after sales growth was "
            f"{r['naive_sales_growth']:+.0%}, but the control group grew {r['control_growth']:+.0%} on its own. "
            f"Against control the campaign added {money(r['sales_lift_per_customer'])} per customer "
            f"(95% interval {money(r['lift_ci_low'])} to {money(r['lift_ci_high'])})"
            + ("" if significant else " — not distinguishable from zero at this size")
            + f": {money(r['incremental_sales'])} in all"
            + (f" for a cost of {money(r['cost'])}, {r['return_on_spend']:,.1f}× return on spend."
               if r["cost"] and pd.notna(r["return_on_spend"]) else "; no cost was recorded, so its return is not defined.")
        )
    lines.append("- Judge a campaign on **return**, not volume: 100 spent for 1,000 of sales beats 1,000 for 2,000.")
    lines.append("- The customers a channel did not move are not lost: a second round through *their* channel "
                 "reaches some of them — but check with power analysis that the smaller group can show it.")
    lines.append("- A-groups describe outcomes, not causes: compare arms within pre-campaign attributes to learn who responds.")
    return "\n".join(lines)
