"""Campaign design (业务目标, 市场计划): target, goals, control group, 4P plan, budget.

A facade over three private modules, one concern each:

``_target``
    whom the round targets (a decile, cluster, tier, rule, list, uplift band...), the base month's
    baseline and the goals turned into per-customer targets;
``_design``
    the round's experiment in campaign terms: treatment arms with channels and prices, their costs, the
    power check in words — the statistics (assignment, balance, power, MDE) are :mod:`crm_kit.experiment`'s;
``_plan``
    the 4P plan, the budget and break-even, and the exported contact list (pseudonymous keys only).
"""

from ._design import (
    adjusted_power,
    adjusted_power_verdict,
    arm_channels,
    arm_costs,
    arm_power,
    arms_record,
    assign_arms,
    assignment_note,
    balance_columns,
    balance_table,
    check_treatment_arms,
    design_channels,
    power_analysis,
    power_verdict,
    price_per_contact,
)
from ._plan import (
    COST_ITEMS,
    PLAN_KEYS,
    arms_from_contact_list,
    budget_lines,
    budget_summary,
    campaign_budget,
    channel_note,
    choose_samples,
    contact_channels,
    contact_list,
    leverage_comparison,
    plan_4p,
    pseudonymise,
    round_plan,
    weekly_calendar,
    weekly_samples,
)
from ._target import (
    TARGET_KINDS,
    Target,
    baseline,
    check_goal,
    check_period_order,
    contacted_elsewhere,
    goal_targets,
    resolve_target,
    select_target,
    ticket_target,
    uplift_groups,
)

__all__ = [
    "adjusted_power",
    "adjusted_power_verdict",
    "arm_channels",
    "arm_costs",
    "arm_power",
    "arms_record",
    "assign_arms",
    "assignment_note",
    "balance_columns",
    "balance_table",
    "check_treatment_arms",
    "design_channels",
    "power_analysis",
    "power_verdict",
    "price_per_contact",
    "select_target",
    "uplift_groups",
    "contacted_elsewhere",
    "baseline",
    "goal_targets",
    "PLAN_KEYS",
    "COST_ITEMS",
    "TARGET_KINDS",
    "Target",
    "resolve_target",
    "check_goal",
    "check_period_order",
    "ticket_target",
    "weekly_samples",
    "budget_summary",
    "weekly_calendar",
    "choose_samples",
    "contact_channels",
    "channel_note",
    "plan_4p",
    "round_plan",
    "budget_lines",
    "campaign_budget",
    "leverage_comparison",
    "pseudonymise",
    "contact_list",
    "arms_from_contact_list",
]
