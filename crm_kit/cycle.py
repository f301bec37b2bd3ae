"""The two-round picture: who went where, what each round added and cost, and the lessons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .outputs import read_json, read_table

__all__ = ["load_rounds", "flow", "round_table", "totals", "lessons"]


def load_rounds(folder: Path | None) -> dict[int, dict[str, Any]]:
    """Read each round's campaign definition, results and group list from the run folder.

    Rounds whose results are missing are left out; an empty dict means
    notebooks 03 and 04 have not run yet.
    """
    rounds = {}
    for n in (1, 2):
        res = read_json(f"results_round{n}", folder)
        if res is None or "lift" not in res or "groups" not in res:
            continue
        rounds[n] = {"results": res, "definition": read_json(f"campaign_round{n}", folder),
                     "groups": read_table(f"round{n}_groups", folder)}
    return rounds


def flow(rounds: dict[int, dict[str, Any]]) -> tuple[list, list]:
    """Nodes and links of the cycle diagram."""
    nodes, links = [], []
    col = 0
    for n in sorted(rounds):
        res = rounds[n]["results"]
        arms = res["arms"]
        treated, control = arms.get("treatment", 0), arms.get("control", 0)
        target = f"round {n} target" if n == 1 else "A4 (round 2 target)"
        t_name, c_name = f"R{n} treated", f"R{n} control"
        if n > 1:  # round two's target is round one's A4
            links.append(("A4", target, treated + control))
        nodes.append((col, target, treated + control))
        nodes += [(col + 1, t_name, treated), (col + 1, c_name, control)]
        links += [(target, t_name, treated), (target, c_name, control)]
        for g, count in sorted(res["group_counts"].items()):
            nodes.append((col + 2, g, count))
            links.append((t_name, g, count))
        col += 3
    return nodes, links


def round_table(rounds: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """One row per round: sizes, naive growth, controlled lift, incremental sales, cost, return."""
    rows = []
    for n in sorted(rounds):
        res = rounds[n]["results"]
        lift = {r["metric"]: r for r in res["lift"]}
        naive = {r["figure"]: r["value"] for r in res["naive_vs_controlled"]}
        ret = res["return"]
        # a round evaluated against a comparison group that was not random reports the difference-in-differences
        estimate = ret.get("estimate", "lift")
        low, high = ("ci_low", "ci_high") if estimate == "lift" else ("did_ci_low", "did_ci_high")
        rows.append({
            "round": n,
            "campaign": res["campaign_id"],
            "treated": res["arms"].get("treatment", 0),
            "control": res["arms"].get("control", 0),
            "naive_sales_growth": next(v for k, v in naive.items() if k.startswith("naive: treated sales growth (mean")),
            "control_growth": next(v for k, v in naive.items() if k.startswith("control group")),
            "estimate": estimate,
            "sales_lift_per_customer": lift["sales"][estimate],
            "lift_ci_low": lift["sales"][low],
            "lift_ci_high": lift["sales"][high],
            "incremental_sales": ret["incremental_sales"],
            "cost": ret["cost"],
            "return_on_spend": ret["return_on_spend"],
            "roi": ret["roi"],
        })
    return pd.DataFrame(rows)


def totals(per_round: pd.DataFrame) -> dict[str, float]:
    """Both rounds together."""
    inc, cost = float(per_round["incremental_sales"].sum()), float(per_round["cost"].sum())
    return {"incremental_sales": inc, "cost": cost, "return_on_spend": inc / cost if cost else None}


def lessons(rounds: dict[int, dict[str, Any]], per_round: pd.DataFrame) -> str:
    """The closing lessons, written from the figures."""
    lines = []
    for _, r in per_round.iterrows():
        significant = r["lift_ci_low"] > 0
        lines.append(
            f"- **Round {int(r['round'])}** ({r['campaign']}): the naive before/after sales growth was "
            f"{r['naive_sales_growth']:+.0%}, but the control group grew {r['control_growth']:+.0%} on its own. "
            f"Against control the campaign added {r['sales_lift_per_customer']:,.0f} per customer "
            f"(95% interval {r['lift_ci_low']:,.0f} to {r['lift_ci_high']:,.0f})"
            + ("" if significant else " — not distinguishable from zero at this size")
            + f": {r['incremental_sales']:,.0f} in all"
            + (f" for a cost of {r['cost']:,.0f}, {r['return_on_spend']:,.1f}× return on spend."
               if r["cost"] and pd.notna(r["return_on_spend"]) else "; no cost was recorded, so its return is not defined.")
        )
    lines.append("- Judge a campaign on **return**, not volume: 100 spent for 1,000 of sales beats 1,000 for 2,000.")
    lines.append("- The customers a channel did not move are not lost: a second round through *their* channel "
                 "reaches some of them — but check with power analysis that the smaller group can show it.")
    lines.append("- A-groups describe outcomes, not causes: compare arms within pre-campaign attributes to learn who responds.")
    return "\n".join(lines)
