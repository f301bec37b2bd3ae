"""The round's 4P plan and budget, and the contact list it exports (pseudonymous keys, no personal field)."""

from __future__ import annotations

import difflib
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError


#: the keys of a round plan (the worked case's two are in :mod:`crm_kit.demo.plan`)
PLAN_KEYS = ("channels", "default_channel", "product", "price", "place", "promotion", "reward", "rule",
             "weekly_samples", "cost_items")
#: the variable cost lines a plan may list in ``cost_items``
COST_ITEMS = ("weekly samples", "extra rewards", "courier deliveries")
#: the plan of a round on one's own data before the analyst writes it: no text, no channel, no cost line
BLANK_PLAN: dict[str, Any] = {"channels": [], "default_channel": "", "product": "", "price": "", "place": "",
                              "promotion": "", "reward": "", "rule": None, "weekly_samples": False, "cost_items": []}
#: what a plan's table and contact list show where the plan says nothing yet
TO_FILL = "to fill in"
#: the channel of a contact while the plan names none
NO_CHANNEL = "not chosen yet"
#: the plan's keys that must be written for the plan to be complete, as the analyst names them
_REQUIRED = ("product", "price", "place", "promotion", "channels")


def round_plan(base: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A round's plan: ``base`` (e.g. one of the worked case's) with the analyst's overrides, validated.

    A retailer that is not the case's supermarket writes its own channels and
    4P texts, e.g. ``{"channels": ["email"], "default_channel": "email",
    "place": "the web shop", "reward": "free shipping voucher"}``. On one's own
    data the base is :data:`BLANK_PLAN`, whose empty keys read "to fill in"
    (:func:`plan_gaps`). Channels without a default take the first as default;
    a default without channels is the one channel.

    Parameters
    ----------
    base
        A plan with every key of :data:`PLAN_KEYS` (a worked case's, or :data:`BLANK_PLAN`).
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
    plan["channels"] = [str(c) for c in plan["channels"] or []]
    plan["default_channel"] = str(plan["default_channel"] or "")
    if plan["channels"] and not plan["default_channel"]:
        plan["default_channel"] = plan["channels"][0]
    elif plan["default_channel"] and not plan["channels"]:
        plan["channels"] = [plan["default_channel"]]
    plan["cost_items"] = list(plan["cost_items"] or [])
    if plan["default_channel"] not in plan["channels"] + [""]:
        raise ParameterError(f"plan.default_channel '{plan['default_channel']}' is not one of plan.channels {plan['channels']}")
    bad = sorted(set(plan["cost_items"]) - set(COST_ITEMS))
    if bad:
        raise ParameterError(f"plan.cost_items {bad} are not cost lines the kit knows; use {list(COST_ITEMS)}")
    return plan


def plan_gaps(plan: Mapping[str, Any]) -> list[str]:
    """The keys of a round's plan still to be written (``product``, ``price``, ``place``, ``promotion``,
    ``channels``), in that order; empty for a complete plan."""
    return [k for k in _REQUIRED if not plan.get(k)]


def plan_note(plan: Mapping[str, Any]) -> str:
    """One sentence on the round's plan: what is still to fill in and what that leaves out, or its channels."""
    gaps = plan_gaps(plan)
    if not gaps:
        return (f"The 4P plan reaches members on {', '.join(plan['channels'])} (default {plan['default_channel']}); "
                f"its cost lines: {', '.join(['messages', *plan['cost_items']])}.")
    keys = ", ".join(f"plan.{k}" for k in gaps)
    return (f"The 4P plan is yours to write and is still to fill in: {keys} (notebook 03's plan "
            "parameter; the own-data guide writes one for a web shop). Until then the target, the control group and "
            "the power check stand, the contact list names no channel, and the budget counts the messages alone.")


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
    default = default or plan["default_channel"] or NO_CHANNEL
    if preferred_col in target.columns:
        pref = target[preferred_col].astype("string")
        chosen = pref.where(pref.isin(allowed), default).fillna(default)
    else:
        chosen = pd.Series(default, index=target.index)
    return chosen.astype(str).rename("channel")


def channel_note(treated: pd.DataFrame, channels: pd.Series, *, plan: Mapping[str, Any],
                 treatment_arms: Sequence[Mapping[str, Any]] = (), preferred_col: str = "preferred_channel") -> str:
    """One sentence: how the treated members' channels were chosen, and which channel was assumed where no member
    record says one."""
    counts = ", ".join(f"{c} {n:,}" for c, n in channels.value_counts().items())
    if treatment_arms:
        return f"Each arm's members are reached on the arm's channel ({counts})."
    default = plan["default_channel"]
    if not default:
        return (f"The plan names no channel yet (plan.channels): the contact list says \"{NO_CHANNEL}\" for every "
                "treated member until it does; members with a preferred channel the plan uses are reached on it.")
    if preferred_col not in treated.columns:
        return (f"No member record says a preferred channel (the data has no {preferred_col}): every treated "
                f"member is reached on the plan's default channel, {default} — set plan.default_channel to change it.")
    preferred = treated[preferred_col].astype("string")
    used = int(preferred.isin(list(plan["channels"])).fillna(False).sum())
    return (f"{used:,} of {len(treated):,} treated members are reached on their preferred channel; the other "
            f"{len(treated) - used:,} (no preference recorded, or one the plan does not use) on the plan's default, "
            f"{default} ({counts}).")


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
                          "decision": [base[k] or f"{TO_FILL} (plan.{k})" for k in ("product", "price", "place",
                                                                                    "promotion")]})
    cal = calendar.copy()
    if samples is not None and base["weekly_samples"]:
        names = samples["name"] if "name" in samples.columns else samples["product_id"]
        cal["sample"] = names.to_numpy()[: len(cal)]
        cal["sample_category"] = samples["category"].to_numpy()[: len(cal)] if "category" in samples.columns else ""
        cal["quantity"] = treated
    rules = []
    if ticket_target is not None and np.isfinite(ticket_target):
        threshold = float(np.ceil(ticket_target / reward_rounding) * reward_rounding)
        reward = base["reward"] or f"{TO_FILL}: plan.reward"
        rules.append({"rule": f"extra reward ({reward})", "condition": f"a purchase (one visit or order) of at least {threshold:,.0f}",
                      "why": f"the ticket target ({ticket_target:,.0f}) rounded up: the reward pays for reaching the goal"})
    rules.append(dict(base["rule"]) if base["rule"] else
                 {"rule": f"the action rule: {TO_FILL}", "condition": f"{TO_FILL} (plan.rule: rule, condition, why)",
                  "why": "what a member does to earn the offer, and which goal it serves"})
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


def weekly_samples(bestsellers: pd.DataFrame, *, plan: Mapping[str, Any], weeks: int) -> pd.DataFrame | None:
    """The week's samples (:func:`choose_samples`) when the round's plan gives samples, else ``None``."""
    return choose_samples(bestsellers, weeks=weeks) if plan["weekly_samples"] else None


def budget_summary(budget: Mapping[str, Any]) -> pd.DataFrame:
    """The budget's figures (total cost, break-even, expected return...) as a one-column table."""
    return pd.Series({k: v for k, v in budget.items() if k != "costs"}).to_frame("value")


def budget_note(budget: Mapping[str, Any], *, plan: Mapping[str, Any]) -> str:
    """One sentence reading the budget: its break-even, or, while the plan is to fill in, what it leaves out."""
    if plan_gaps(plan):
        return (f"The plan is still to fill in, so this budget holds the messages alone ({budget['total_cost']:,.2f}): "
                "its break-even and return are those of the messages, not of a campaign. Write the plan's offer and "
                f"its cost lines (plan.cost_items: {', '.join(COST_ITEMS)}, with their unit costs) for the whole "
                "campaign's.")
    return (f"Break-even: incremental sales of {budget['break_even_sales']:,.0f} pay the campaign's cost of "
            f"{budget['total_cost']:,.0f} at a {budget['gross_margin']:.0%} gross margin.")
