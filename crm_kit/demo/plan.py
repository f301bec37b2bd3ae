"""The coursework case the demo reproduces, as data: its numbers, its two rounds and their 4P plans.

This is the one place the case's constants live. The demo generator plants
them; notebook 03's defaults and ``params/demo.yaml`` are the same values
(a test holds them equal); the package itself has no special case for a
round: a round is a campaign definition, and a plan is one of the mappings
below (or the analyst's own, in the same shape).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEMO_GROUP_SALES",
    "DEMO_GROUP_VISITS",
    "DEMO_SEED",
    "DEMO_MONTHS",
    "DEMO_ROUNDS",
    "ROUND_PLANS",
    "VARIANCE_MONTH",
    "case_parameters",
    "case_preset",
    "describe_preset",
    "preset_in_force",
    "starting_plan",
]

#: monthly average sales per customer of groups 1..10 in the base month (the case)
DEMO_GROUP_SALES = (8000.0, 6000.0, 5200.0, 4100.0, 2570.0, 2100.0, 1600.0, 1100.0, 600.0, 100.0)
#: mean visits in the base month per group (group 8: 2 visits x 550)
DEMO_GROUP_VISITS = (8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 3.0, 2.0, 1.0, 1.0)
DEMO_SEED = 2
#: history start, base month, round one month, round two month
DEMO_MONTHS = {"history_start": "2024-09", "base": "2025-09", "round1": "2025-10", "round2": "2025-11"}
#: the design of each round as the case ran it (the generator plants exactly these)
DEMO_ROUNDS: dict[str, dict[str, Any]] = {
    "round1": {
        "campaign_id": "R1-2025-10",
        "target_group": 8,
        "control_share": 0.2,
        "stratify_by": "preferred_channel",
        "seed": 11,
        "freq_goal": 0.5,
        "ticket_goal": 0.4,
        "sales_goal": 0.3,
        "plan": "wechat_samples",
    },
    "round2": {
        "campaign_id": "R2-2025-11",
        "target_group_list": "A4",
        "control_share": 0.2,
        "stratify_by": None,
        "seed": 12,
        "sales_goal": 0.3,
        "plan": "sms_phone",
        # SMS push and phone orders: the service line's wages and a courier per delivered order
        "costs": {"service_staff_cost": 8000.0, "courier_cost_per_order": 8.0, "expected_orders_per_member": 1.0},
    },
}
#: the month whose sales give an honest variance in the power check (it selected neither round's group)
VARIANCE_MONTH = "2025-08"

#: the case's two plans: channels, the 4P texts, the reward, the incentive rule, whether the
#: calendar carries a weekly sample, and the variable cost lines of the budget
ROUND_PLANS: dict[str, dict[str, Any]] = {
    "wechat_samples": {
        "channels": ["WeChat"],
        "default_channel": "WeChat",
        "product": "a free sample of the week's bestseller (one per targeted member each week) and a cinema ticket above the spend threshold",
        "price": "free: samples and tickets carry no price; cinema tickets come from a partner",
        "place": "the store: weekend purchases with the QR code",
        "promotion": "weekly WeChat subscription push of new, hot and promoted products (4 a month); a reply earns a QR code",
        "reward": "cinema ticket",
        "rule": {"rule": "weekly sample", "condition": "reply to the push, show the QR code on a weekend purchase",
                 "why": "a reason to come one more time a week: the frequency goal"},
        "weekly_samples": True,
        "cost_items": ["weekly samples", "extra rewards"],
    },
    "sms_phone": {
        "channels": ["SMS", "phone"],
        "default_channel": "SMS",
        "product": "bestsellers, promotions and events pushed by SMS; phone ordering",
        "price": "regular prices with free home delivery",
        "place": "phone orders delivered to the door",
        "promotion": "relationship promotion: SMS push, a service line, couriers",
        "reward": "cinema ticket",
        "rule": {"rule": "free delivery", "condition": "any phone order", "why": "removes the trip for members who do not visit"},
        "weekly_samples": False,
        "cost_items": ["courier deliveries"],
    },
}


def case_parameters(notebook: str, round_no: int) -> dict[str, Any]:
    """The worked case's settings of round ``round_no`` as parameters of ``notebook`` (03 or 04); empty otherwise."""
    design = DEMO_ROUNDS.get(f"round{round_no}")
    if design is None:
        return {}
    base = DEMO_MONTHS["base"] if round_no == 1 else DEMO_MONTHS[f"round{round_no - 1}"]
    common = {"campaign_id": design["campaign_id"], "base_month": base, "campaign_month": DEMO_MONTHS[f"round{round_no}"],
              "freq_goal": design.get("freq_goal"), "ticket_goal": design.get("ticket_goal"),
              "sales_goal": design.get("sales_goal")}
    if notebook == "04_campaign_results":
        return common
    if notebook != "03_campaign_design":
        return {}
    targeted = {"target_kind": "group_list", "target_value": design["target_group_list"]} \
        if "target_group_list" in design else {"target_kind": "decile", "target_value": ""}
    return {**common, **targeted, "variance_month": VARIANCE_MONTH, "control_share": design["control_share"],
            "stratify_by": design["stratify_by"] or "", "seed": design["seed"], "plan_name": design["plan"],
            **design.get("costs", {})}


def is_demo_data(data: Any) -> bool:
    """Whether a notebook's ``data`` parameter names the demo store (``demo``, ``demo:N``, ``{source: demo}``)."""
    if isinstance(data, str):
        return data.strip() == "demo" or data.strip().startswith("demo:")
    return isinstance(data, dict) and data.get("source") == "demo"


def case_preset(params: dict[str, Any], notebook: str, round_no: int, *, preset: str = "case") -> dict[str, Any]:
    """The case's settings for the parameters a user left at the notebook's defaults (``preset: case``).

    Setting ``round_no: 2`` in notebook 03 or 04 is then enough to design or
    analyse the worked case's round two: every parameter still at its
    round-one default takes round two's value; any parameter the user set
    keeps the user's value — a value a run file or papermill passed counts as
    set even when it equals the default (``params.explicit``), and a target
    kind of the user's own keeps the target value too. ``preset: none`` takes
    the parameters as given; ``preset: auto`` (the notebooks' default) is ``case`` on the demo store and
    ``none`` on any other data, so a round on one's own data takes no month, plan or cost from the case.

    Returns
    -------
    dict
        The parameters to change (name -> value); empty when nothing changes.
    """
    from ..params import notebook_parameters

    if preset_in_force(params, preset) == "none":
        return {}
    defaults = {k: p.default for k, p in notebook_parameters(notebook).items()}
    explicit = getattr(params, "explicit", frozenset())  # set by a run file or papermill: kept even at the default
    changes = {k: v for k, v in case_parameters(notebook, round_no).items()
               if k in defaults and k not in explicit and params.get(k) == defaults[k] and v != defaults[k]}
    if "target_kind" in defaults and (params.get("target_kind") != defaults["target_kind"] or "target_kind" in explicit):
        changes.pop("target_value", None)  # a target kind of the user's own: the case's value belongs to another kind
    return changes


def preset_in_force(params: dict[str, Any], preset: str = "auto") -> str:
    """``case`` or ``none``: the preset a notebook runs under (``auto`` is ``case`` on the demo store only)."""
    if preset == "auto":
        # the worked case's settings belong to the demo store: on anyone else's data nothing is taken from it
        return "case" if is_demo_data(params.get("data", "demo")) else "none"
    if preset not in ("case", "none"):
        from ..errors import ParameterError

        raise ParameterError(f"preset={preset!r}: use auto, case or none")
    return preset


def starting_plan(params: dict[str, Any], plan_name: str, *, preset: str = "auto") -> dict[str, Any]:
    """The 4P plan a round starts from, before the analyst's ``plan`` overrides.

    Under the worked case's preset (``preset: case``, or ``auto`` on the demo
    store) it is the case's plan ``plan_name`` (:data:`ROUND_PLANS`). Outside
    it, the plan is the analyst's: the blank plan
    (:data:`crm_kit.campaign.BLANK_PLAN`, every text "to fill in", no channel,
    no cost line) — unless the analyst chose one of the case's plans to start
    from (``plan_name`` set in a run file or changed in the parameters cell:
    ``params.chosen``).

    Examples
    --------
    >>> starting_plan({"data": "demo"}, "wechat_samples")["default_channel"]
    'WeChat'
    >>> starting_plan({"data": "params/data/shop.yaml"}, "wechat_samples")["product"]
    ''
    """
    from ..campaign import BLANK_PLAN

    if plan_name not in ROUND_PLANS:
        from ..errors import ParameterError

        raise ParameterError(f"plan_name={plan_name!r}: use one of {sorted(ROUND_PLANS)}")
    if preset_in_force(params, preset) == "case" or "plan_name" in getattr(params, "chosen", frozenset()):
        return dict(ROUND_PLANS[plan_name])
    return dict(BLANK_PLAN)


def describe_preset(changes: dict[str, Any], round_no: int) -> str:
    """One sentence naming what the preset set, or that it set nothing."""
    if not changes:
        return f"Round {round_no}: the parameters as set (nothing taken from the worked case)."
    shown = ", ".join(f"{k} = {v!r}" for k, v in changes.items())
    return f"Round {round_no} of the worked case: {shown} (set preset: none to take the parameters as given)."
