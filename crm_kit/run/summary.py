"""The report's first page: the whole cycle in five minutes, laid out like the worked case.

Built only from the run's typed hand-offs (:mod:`crm_kit.artifacts`): the
decile table with customer ranges and a total row, the 80/20 figure, the
chosen group and why, its profile, each round's goals and what was
achieved, its groups, the lift with its interval beside the naive
before/after, incremental sales, cost and return, the two-round flow
diagram and the lessons. Every block links to the section that computes it.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import Any

from ..artifacts import CampaignDefinition, DiscoverySummary, MonthlyChanges, RoundResult, rounds_in
from ..presentation import human_table

__all__ = ["summary_page"]


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:+.0%}"


def _money(v: Any, currency: str) -> str:
    if v is None:
        return "–"
    digits = 2 if abs(v) < 100 else 0
    return f"{'−' if v < 0 else ''}{currency}{abs(v):,.{digits}f}"


def width_phrase(gain: Any) -> str:
    """How the adjusted interval's width compares with the plain one's, in words that stay true for any ``gain``
    (``1 - adjusted width / plain width``): "narrower" only for a gain between 0 and 1, a multiple when wider,
    nothing when undefined — never a "−581 % narrower"."""
    if gain is None or gain != gain or not -1e9 < float(gain) < 1:
        return ""
    gain = float(gain)
    if gain >= 0.005:
        return f": an interval {gain:.0%} narrower"
    if gain > -0.005:
        return ": an interval as wide as the plain one"
    return f": an interval {1 - gain:.1f}× as wide as the plain one"


def _decile_block(found: DiscoverySummary, currency: str, link: str) -> str:
    import pandas as pd

    table = pd.DataFrame(found.decile_table)
    if table.empty:
        return ""
    last = table["customers"].cumsum()
    table.insert(1, "customers_ranked", [f"{a:,}–{b:,}" for a, b in zip(last - table["customers"] + 1, last)])
    keep = [c for c in ("group", "customers_ranked", "customers", "sales_per_customer", "sales", "sales_share",
                        "cum_sales_share", "visits_per_customer", "ticket") if c in table.columns]
    table = table[keep]
    total = {c: float("nan") for c in keep}
    total.update({"group": "total", "customers": int(table["customers"].sum()), "sales": float(table["sales"].sum()),
                  "sales_share": 1.0})
    table = pd.concat([table.astype({"group": str}), pd.DataFrame([total])], ignore_index=True)
    table = table.rename(columns={"customers_ranked": "ranks"})
    pareto = found.pareto_share_of_customers
    chosen = found.target_group
    why = next((r.get("reason", "") for r in found.recommendation if r.get("group") == chosen), "")
    profile = next((r for r in found.behaviour if r.get("group") == chosen), {})
    facts = []
    if profile:
        facts.append(f"{profile.get('visits_per_customer', 0):.1f} visits a month")
        facts.append(f"a ticket of {_money(profile.get('ticket', 0), currency)}")
        if profile.get("promo_share") is not None:
            facts.append(f"{profile['promo_share']:.0%} of spend on promotion")
        if profile.get("brand_loyalty") is not None:
            facts.append(f"brand loyalty {profile['brand_loyalty']:.2f}")
        if profile.get("top_categories"):
            facts.append(f"buys {profile['top_categories']}")
    return (f'<h3><a href="#{link}">Customers of {html.escape(found.month)}: ten equal groups</a></h3>'
            f"{human_table(table, currency=currency, max_rows=20)}"
            + (f"<p><b>80/20:</b> {pareto:.0%} of the month's customers bring 80% of its sales.</p>" if pareto else "")
            + (f"<p><b>Chosen for uplift: group {chosen}</b>" + (f" — {html.escape(why)}" if why else "") + ".</p>"
               if chosen else "<p>No group passed the target rule.</p>")
            + (f"<p><b>Its profile:</b> {html.escape(', '.join(facts))}.</p>" if facts else ""))


def _changes_block(changes: MonthlyChanges, link: str) -> str:
    """What changed since last month: the unusual changes first, or a plain "nothing is unusual", then the tree."""
    items = "".join(f"<li>{'<b>' if line.startswith('Unusual') else ''}{html.escape(line)}"
                    f"{'</b>' if line.startswith('Unusual') else ''}</li>" for line in changes.summary)
    return (f'<h3><a href="#{link}">What changed: {html.escape(changes.month)} against '
            f"{html.escape(changes.previous_month)}</a></h3><ul>{items}</ul>")


def _round_block(n: int, definition: CampaignDefinition | None, res: RoundResult, row: dict[str, Any],
                 currency: str, link: str) -> str:
    """One round: target and arms, goals and what was achieved, groups, naive against controlled, return.

    ``row`` is the round's row of :func:`crm_kit.cycle.round_table` (effect, interval, incremental sales,
    cost, return), so the summary and notebook 05 read the same figures.
    """
    target = (definition.target if definition else res.target) or {}
    goals = ", ".join(f"{k.removesuffix('_goal')} {v:+.0%}" for k, v in (res.goals or {}).items() if v is not None)
    achieved = "; ".join(
        f"{html.escape(str(r['metric']))} {r['achieved_mean_of_rates']:+.0%} against {r['goal']:+.0%} "
        + ("(met)" if r.get("met_mean_of_rates") else "(missed)")
        for r in res.goal_attainment or [] if r.get("achieved_mean_of_rates") is not None)
    counts = ", ".join(f"{g} {c:,}" for g, c in sorted((res.group_counts or {}).items()))
    random = row["estimate"] != "did"
    kind = ("against the random control group" if random
            else "difference-in-differences against a comparison group (not random)")
    effect = (f"{_money(row['sales_lift_per_customer'], currency)} per treated customer (95% interval "
              f"{_money(row['lift_ci_low'], currency)} to {_money(row['lift_ci_high'], currency)})")
    if row["estimate"] == "adjusted" and res.headline:
        gain, plain = res.headline.get("width_gain"), res.headline["plain"]
        effect += (", adjusted for each customer's own past (CUPED / Lin" + width_phrase(gain) + "); "
                   f"the plain difference in means: {_money(plain['estimate'], currency)} "
                   f"({_money(plain['ci_low'], currency)} to {_money(plain['ci_high'], currency)})")
    if res.headline and res.headline.get("note"):
        effect += ". " + html.escape(str(res.headline["note"])).rstrip(".")
    ros = row["return_on_spend"]
    ros = None if ros is None or ros != ros else ros
    who = (f"{html.escape(str(target.get('kind', '')))} {html.escape(str(target.get('value', '')))}" if target
           else "the campaign's contacts")
    return (f'<h3><a href="#{link}">Round {n}: {html.escape(str(res.campaign_id))}</a></h3><ul>'
            f"<li><b>Target:</b> {who} — {row['treated']:,} treated, {row['control']:,} "
            + ("held out" if random else "in the comparison group") + "</li>"
            f"<li><b>Goals:</b> {html.escape(goals or 'none')}"
            + (f"; <b>achieved</b> (mean of individual growth): {achieved}" if achieved else "") + "</li>"
            f"<li><b>Groups:</b> {html.escape(counts)}</li>"
            + _preset_item(definition, res)
            + f"<li><b>Naive before/after sales growth:</b> {_pct(row['naive_sales_growth'])}; "
            f"<b>the control group's own:</b> {_pct(row['control_growth'])}</li>"
            f"<li><b>Effect {kind}:</b> {effect}</li>"
            f"<li><b>Incremental sales</b> {_money(row['incremental_sales'], currency)} for a cost of "
            f"{_money(row['cost'], currency)}: "
            + (f"<b>{ros:,.1f}× return on spend</b>" if ros is not None else "no cost recorded, so no return")
            + (" (from the adjusted estimate)" if row["estimate"] == "adjusted" else "")
            + "</li>" + _arm_items(res, currency) + _uplift_item(res, currency) + "</ul>")


def _preset_item(definition: CampaignDefinition | None, res: RoundResult) -> str:
    """What the worked case's preset filled in for this round (design and results), or nothing."""
    taken = {**((definition.preset if definition else None) or {}), **(res.preset or {})}
    if not taken:
        return ""
    shown = ", ".join(f"{k} = {'none' if v in ('', None) else v}" for k, v in taken.items())
    return (f"<li><b>From the worked case</b> (preset; the demo store's settings): {html.escape(shown)}</li>")


def _arm_items(res: RoundResult, currency: str) -> str:
    """One line per treatment arm of a multi-arm round: its effect with the joint interval, and its return."""
    if not isinstance(res.arm_comparisons, list):
        return ""
    # a round with one treatment arm keeps a sentence instead of the tables
    returns = {r["arm"]: r for r in res.arm_returns} if isinstance(res.arm_returns, list) else {}
    items = []
    for r in res.arm_comparisons or []:
        if r.get("metric") != "sales" or r.get("against") != "control":
            continue
        ret = returns.get(r["arm"], {})
        ros = ret.get("return_on_spend")
        items.append(f"<li><b>Arm {html.escape(str(r['arm']))}</b> ({int(r['n_arm']):,} treated): "
                     f"{_money(r['difference'], currency)} per customer over control (joint 95 % interval "
                     f"{_money(r['joint_ci_low'], currency)} to {_money(r['joint_ci_high'], currency)})"
                     + (f", {ros:,.1f}× return on spend" if ros is not None else "") + "</li>")
    between = [r for r in res.arm_comparisons or [] if r.get("metric") == "sales" and r.get("against") != "control"]
    for r in between:
        items.append(f"<li>{html.escape(str(r['arm']))} against {html.escape(str(r['against']))}: "
                     f"{_money(r['difference'], currency)} per customer (joint interval {_money(r['joint_ci_low'], currency)}"
                     f" to {_money(r['joint_ci_high'], currency)})</li>")
    return "".join(items)


def _uplift_item(res: RoundResult, currency: str) -> str:
    """The uplift model's line: its out-of-fold quality and what targeting by it would return next round."""
    up = res.uplift or {}
    if not up.get("selected"):
        return ""
    return (f"<li><b>Who next (uplift model):</b> targeting {html.escape(str(up['rule']))} — "
            f"{int(up['selected']):,} customers, who showed {_money(up['observed_uplift_selected'], currency)} per "
            "customer over control out of fold "
            f"(Qini coefficient {up['qini']:.3f}); expected incremental margin per contact "
            f"{_money(up['margin_per_contact'], currency)}</li>")


def _flow_image(rounds) -> str:
    # a figure of its own, not pyplot's: the caller's matplotlib backend (a scheduler, a notebook) is left alone
    from matplotlib.figure import Figure

    from ..cycle import flow
    from ..plotting import plot_flow

    nodes, links = flow(rounds)
    ax = plot_flow(nodes, links, title="Who went where over the rounds", ax=Figure(figsize=(12, 6)).subplots())
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return f'<img alt="flow diagram of the rounds" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _lessons_html(text: str) -> str:
    items = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    def inline(text: str) -> str:
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
        return re.sub(r"\*(.+?)\*", r"<i>\1</i>", text)

    return "<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>"


def summary_page(folder: Path, *, links: dict[str, str]) -> str:
    """The first page of the report, from the hand-offs in ``folder``; ``links`` maps step kinds to section anchors."""
    from ..cycle import currency as rounds_currency
    from ..cycle import lessons, round_table

    parts = []
    found = DiscoverySummary.read_file(folder / f"{DiscoverySummary.stem()}.json") \
        if (folder / f"{DiscoverySummary.stem()}.json").exists() else None
    rounds = {n: v for n, v in rounds_in(folder).items() if (folder / f"{RoundResult.stem(n)}.json").exists()}
    currency = rounds_currency(rounds) if rounds else ""
    changed = folder / f"{MonthlyChanges.stem()}.json"
    if changed.exists():
        parts.append(_changes_block(MonthlyChanges.read_file(changed), links.get("discovery", "")))
    if found is not None:
        parts.append(_decile_block(found, currency or "", links.get("discovery", "")))
    per_round = round_table(rounds) if rounds else None
    for n in sorted(rounds):
        definition, res = rounds[n]
        row = per_round.set_index("round").loc[n].to_dict()
        parts.append(_round_block(n, definition, res, row, currency, links.get(f"round{n}", "")))
    if rounds:
        parts.append(f'<h3><a href="#{links.get("cycle", "")}">Both rounds</a></h3>{_flow_image(rounds)}')
        parts.append("<h3>What we learned, and what comes next</h3>" + _lessons_html(lessons(rounds, per_round)))
    if not parts:
        return ""
    return '<section class="summary" id="summary"><h2>Summary</h2>' + "".join(parts) + "</section>"
