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

The module is a facade over three private ones, one concern each:

``_groups``
    per-customer growth, the A1-A4 split by the round's goals, sales bands, group summaries and profiles;
``_rounds``
    a round's set-up (from notebook 03's definition or parameters), its arms (contacts, a contact list,
    a comparison group), the interaction table 表11, the design check;
``_lift``
    the round's effect against control in the case's words — the statistics themselves are
    :mod:`crm_kit.experiment`'s (``arm_returns`` and ``outcome_lift`` are re-exported from it).
"""

from ..engine import pre_period_covariates
from ..errors import DataError, EmptyGroupError, ParameterError  # noqa: F401 - importable from here as before
from ..experiment import arm_returns, outcome_lift
from ._groups import (
    ROUND_ONE_GROUPS,
    classify_round,
    classify_round_one,
    classify_sales_bands,
    goal_attainment,
    group_summary,
    growth_summary,
    growth_table,
    interaction_export,
    profile_comparison,
    split_rule,
    suggest_channel,
    unmoved_group,
)
from ._lift import (
    ROUND_METRICS,
    adjusted_lift,
    adjusted_round_lift,
    campaign_return,
    compare_arms,
    headline_effect,
    lift_by_attribute,
    lift_by_attributes,
    lift_shown,
    lift_table,
    naive_vs_controlled,
    placebo_lift,
    why_naive_differs,
)
from ._rounds import (
    COMPARISON_GROUP_NOTE,
    RoundSetup,
    arms_from_contacts,
    channel_suggestion,
    comparison_arms,
    design_check,
    interaction_table,
    pool_arms,
    read_outcome_table,
    round_arms,
    round_setup,
)

__all__ = [
    "adjusted_lift",
    "adjusted_round_lift",
    "arm_returns",
    "design_check",
    "pre_period_covariates",
    "interaction_table",
    "arms_from_contacts",
    "comparison_arms",
    "compare_arms",
    "placebo_lift",
    "pool_arms",
    "growth_summary",
    "goal_attainment",
    "group_summary",
    "profile_comparison",
    "suggest_channel",
    "lift_shown",
    "lift_table",
    "naive_vs_controlled",
    "campaign_return",
    "headline_effect",
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
    "ROUND_METRICS",
]
