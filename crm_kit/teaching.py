"""Teaching: student copies with blanks and check cells, and the "Try this" exercises of each notebook.

A notebook cell tagged ``solution`` carries ``metadata.crm_kit.blank``, the key of a :class:`Blank`: in a
student copy (:func:`student_copy`) its code becomes a prompt naming the function to call and the variable the
next cells need (``deciles = ...``). The cell after it, tagged ``check``, runs :func:`check`: it recomputes the
answer from what the notebook already holds and says "correct", or stops with what is still wrong — an unfilled
blank stops with the sentence that says what to write, never with a ``NameError`` further down.

Each notebook ends with :data:`EXERCISES`: change one parameter, predict what moves, run all, and the last cell
(:func:`exercises`) says whether the prediction held.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .errors import CRMKitError, ParameterError
from .params import notebook_path

__all__ = ["BLANKS", "EXERCISES", "Blank", "Exercise", "NotYet", "check", "exercises", "student_copy"]


class NotYet(CRMKitError):
    """A blank that is not filled yet, or filled with something else than the cell asks for.

    In Jupyter only the sentence is shown (no traceback): it says what to write.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"Not yet: {self}"]


@dataclass(frozen=True)
class Blank:
    """A cell a student writes.

    Attributes
    ----------
    notebook
        The notebook it belongs to.
    variables
        The names the cell must define (the next cells need them).
    task
        What the cell computes, in one sentence.
    function
        The function (or method) to call.
    inputs
        What to call it on, in words (names of variables and parameters).
    expected
        Recomputes the answer from the notebook's namespace: ``{variable: expected value}``.
    """

    notebook: str
    variables: tuple[str, ...]
    task: str
    function: str
    inputs: str
    expected: Callable[[Mapping[str, Any]], dict[str, Any]]

    def prompt(self) -> str:
        """The student copy's code for the cell: the task, the function, the variables, and the dots (``...``) to replace."""
        names = ", ".join(self.variables)
        dots = ", ".join("..." for _ in self.variables)
        return (f"# YOUR TURN: {self.task}\n"
                f"# Call {self.function} on {self.inputs}, and name the result {names}: the cells below need it.\n"
                "# Then run the check cell below: it says \"correct\" or what is still wrong.\n"
                f"{names} = {dots}\n")

    def hint(self) -> str:
        """The sentence an unfilled blank stops with."""
        return (f"fill the cell above — call {self.function} on {self.inputs} and name the result "
                f"{' and '.join(self.variables)}; the cells below need it.")


def _same(value: Any, expected: Any) -> str | None:
    """None when ``value`` equals ``expected`` (tables to 1e-9), else what differs, in words."""
    if isinstance(expected, pd.DataFrame):
        if not isinstance(value, pd.DataFrame):
            return f"should be a table (DataFrame), not {type(value).__name__}"
        if list(value.columns) != list(expected.columns):
            return f"has columns {list(value.columns)[:8]}, expected {list(expected.columns)[:8]}"
        if value.shape != expected.shape:
            return f"has {len(value):,} rows, expected {len(expected):,}"
        try:
            pd.testing.assert_frame_equal(value.reset_index(drop=True), expected.reset_index(drop=True),
                                          check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-9)
        except AssertionError:
            return "has the right shape but other values: check the arguments (the inputs and the parameters)"
        return None
    if isinstance(expected, pd.Series):
        if not isinstance(value, pd.Series):
            return f"should be a column (Series), not {type(value).__name__}"
        try:
            pd.testing.assert_series_equal(value, expected, check_dtype=False, check_names=False, check_exact=False,
                                           rtol=1e-9, atol=1e-9)
        except AssertionError:
            return "differs from the answer: check the arguments (the inputs and the parameters)"
        return None
    if isinstance(expected, (float, int, np.floating, np.integer)) and not isinstance(expected, bool):
        if not isinstance(value, (float, int, np.floating, np.integer)) or isinstance(value, bool):
            return f"should be a number, not {type(value).__name__}"
        return None if np.isclose(float(value), float(expected), rtol=1e-9, atol=1e-12) else \
            f"is {float(value):,.4g}, expected {float(expected):,.4g}: check the arguments"
    if isinstance(expected, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(expected):
            return f"should be a list of {len(expected)}"
        return None if value == expected else "differs from the answer: check the arguments"
    if isinstance(expected, type):
        return None if isinstance(value, expected) else f"should be a {expected.__name__}, not {type(value).__name__}"
    return None if value == expected else "differs from the answer: check the arguments"


def check(key: str, namespace: Mapping[str, Any]) -> str:
    """The check cell after blank ``key``: "correct", or stop with what is still wrong.

    Parameters
    ----------
    key
        The blank's key in :data:`BLANKS`.
    namespace
        The notebook's variables (``globals()``).

    Returns
    -------
    str
        The "correct" sentence (printed by the notebook).

    Raises
    ------
    NotYet
        A variable is missing or still ``...`` (the sentence says what to write), or its value is not the answer
        (the sentence says which variable and what differs).
    """
    if key not in BLANKS:
        raise ParameterError(f"no blank named {key!r}; blanks: {sorted(BLANKS)}")
    blank = BLANKS[key]
    missing = [v for v in blank.variables if v not in namespace or namespace[v] is Ellipsis]
    if missing:
        raise NotYet(blank.hint())
    expected = blank.expected(namespace)
    problems = [f"{name} {problem}" for name, want in expected.items()
                if (problem := _same(namespace[name], want)) is not None]
    if problems:
        raise NotYet("; ".join(problems) + f" (the cell should call {blank.function} on {blank.inputs})")
    return f"Check: correct — {' and '.join(blank.variables)} {'is' if len(blank.variables) == 1 else 'are'} right."


def _expected_arms(ns):
    from . import campaign

    return {"arms": campaign.assign_arms(ns["target"], control_share=ns["control_share"],
                                         stratify_by=ns["stratify_by"] or None, seed=ns["seed"],
                                         treatment_arms=ns["arm_plan"])}


def _expected_goals(ns):
    from . import campaign

    group, per_customer = campaign.goal_targets(ns["metrics"], freq_goal=ns["freq_goal"], ticket_goal=ns["ticket_goal"],
                                                sales_goal=ns["sales_goal"])
    return {"group_targets": group, "customer_targets": per_customer}


def _expected_rfm(ns):
    from . import segmentation

    scorer = segmentation.RFMScorer(n_bins=ns["rfm_bins"], churn_days=ns["churn_days"]).fit(ns["summary"])
    return {"rfm": segmentation.RFMScorer, "rfm_scores": scorer.transform(ns["summary"])}


def _expected_tiers(ns):
    from . import segmentation

    return {"tiers": segmentation.ValueTiers(shares=ns["tier_shares"]).fit_transform(ns["summary"])}


def _expected_lift(ns):
    from . import results

    return {"lift": results.lift_table(ns["table"], level=ns["level"], n_boot=ns["n_boot"], seed=ns["seed"])}


def _expected_groups(ns):
    from . import results

    return {"groups": results.classify_round(ns["treated_table"], split=ns["setup"].split)}


def _expected_flow(ns):
    from . import cycle

    nodes, links = cycle.flow(ns["rounds"])
    return {"nodes": list(nodes), "links": list(links)}


def _expected_targeting(ns):
    from . import cycle

    return {"targeting": cycle.targeting_comparison(ns["rounds"])}


def _expected_outcome_lift(ns):
    from . import experiment

    return {"outcome_results": experiment.outcome_lift(
        ns["outcomes"], arm_col=ns["outcome_arm_col"], control=ns["outcome_control"], binary=ns["outcome_binary"],
        continuous=ns["outcome_continuous"], pre_period=ns["outcome_pre_period"], level=ns["level"])}


def _expected_arm_comparisons(ns):
    from . import results

    return {"arm_comparisons": results.compare_arms(
        ns["outcomes"], arm_col=ns["outcome_arm_col"], control=ns["outcome_control"],
        metrics=[*ns["outcome_binary"], *ns["outcome_continuous"]], level=ns["level"])}


def _expected_deciles(ns):
    from . import engine

    return {"deciles": engine.decile_table(ns["customer_list"])}


def _expected_pareto(ns):
    from . import discovery

    return {"pareto_customers": discovery.pareto_share(ns["customer_list"], target=ns["pareto_target"])}


#: every blank of the notebooks, by the key in its cell's ``metadata.crm_kit.blank``
BLANKS: dict[str, Blank] = {
    "deciles": Blank("01_knowledge_discovery", ("deciles",),
                     "cut the month's customers into equal groups by sales and sum each group (the decile table).",
                     "engine.decile_table", "the month's customer list (customer_list)", _expected_deciles),
    "pareto": Blank("01_knowledge_discovery", ("pareto_customers",),
                    "find the share of customers that brings pareto_target of the month's sales.",
                    "discovery.pareto_share", "customer_list, with target=pareto_target", _expected_pareto),
    "rfm": Blank("02_segmentation", ("rfm", "rfm_scores"),
                 "score every customer 1..rfm_bins on recency, frequency and monetary value.",
                 "segmentation.RFMScorer(n_bins=rfm_bins, churn_days=churn_days).fit, then its .transform,",
                 "the customer summary (summary)", _expected_rfm),
    "tiers": Blank("02_segmentation", ("tiers",),
                   "put every customer in a value tier (A, B, C, D by their share of sales).",
                   "segmentation.ValueTiers(shares=tier_shares).fit_transform", "the customer summary (summary)",
                   _expected_tiers),
    "goals": Blank("03_campaign_design", ("group_targets", "customer_targets"),
                   "turn the goals into targets for the group and for every customer.",
                   "campaign.goal_targets", "the base-month metrics (metrics) with freq_goal=, ticket_goal=, sales_goal=",
                   _expected_goals),
    "arms": Blank("03_campaign_design", ("arms",),
                  "hold out a random control group (and split the treated into arms, if any).",
                  "campaign.assign_arms",
                  "the target (target) with control_share=, stratify_by=stratify_by or None, seed= and "
                  "treatment_arms=arm_plan", _expected_arms),
    "groups": Blank("04_campaign_results", ("groups",),
                    "split the treated into the round's groups (A1-A4, or the sales bands).",
                    "results.classify_round", "the treated rows (treated_table) with split=setup.split", _expected_groups),
    "lift": Blank("04_campaign_results", ("lift",),
                  "measure the lift of the treated over the control group, with confidence intervals.",
                  "results.lift_table", "the interaction table (table) with level=, n_boot= and seed=", _expected_lift),
    "flow": Blank("05_cycle_summary", ("nodes", "links"),
                  "list who went where over the rounds: the diagram's boxes and the flows between them.",
                  "cycle.flow", "the rounds found (rounds)", _expected_flow),
    "targeting": Blank("05_cycle_summary", ("targeting",),
                       "compare the uplift model's targeting with the rule the next round used, per contact.",
                       "cycle.targeting_comparison", "the rounds found (rounds)", _expected_targeting),
    "outcome_lift": Blank("06_outcome_table", ("outcome_results",),
                          "compare each treatment arm's outcomes with the control group's.",
                          "experiment.outcome_lift",
                          "the outcome table (outcomes) with arm_col=outcome_arm_col, control=outcome_control, "
                          "binary=outcome_binary, continuous=outcome_continuous, pre_period=outcome_pre_period, level=level",
                          _expected_outcome_lift),
    "arm_comparisons": Blank("06_outcome_table", ("arm_comparisons",),
                             "compare every arm with control and with each other, Holm-adjusted.",
                             "results.compare_arms",
                             "the outcome table (outcomes) with arm_col=outcome_arm_col, control=outcome_control, "
                             "metrics=[*outcome_binary, *outcome_continuous], level=level", _expected_arm_comparisons),
}


# ====================================================================== exercises


@dataclass(frozen=True)
class Exercise:
    """A "Try this": a change, a prediction, and the check that says whether it held.

    Attributes
    ----------
    notebook
        The notebook whose last cell checks it.
    change
        The parameters to set (name -> value); the exercise is "tried" when the notebook runs with them.
    predict
        What to predict, in words.
    check
        Given the notebook's namespace, ``(held, sentence)``: whether the prediction held, with the figures.
    before
        Other notebooks to run first with the change, in words (empty: only this one).
    """

    notebook: str
    change: dict[str, Any]
    predict: str
    check: Callable[[Mapping[str, Any]], tuple[bool, str]]
    before: str = ""


def _ex01_groups(ns):
    top = float(ns["deciles"]["sales_share"].iloc[0])
    sizes = ns["deciles"]["customers"].nunique() == 1
    return (len(ns["deciles"]) == 5 and sizes and top > 0.4,
            f"{len(ns['deciles'])} groups of {int(ns['deciles']['customers'].iloc[0]):,} customers; the top one brings "
            f"{top:.1%} of the month's sales")


def _ex01_pareto(ns):
    share = float(ns["pareto_customers"])
    return share < 0.25, f"{share:.1%} of the customers bring half the sales"


def _ex01_month(ns):
    return (str(ns["chosen_group"]) == "8",
            f"in {ns['month']} the rule recommends group {ns['chosen_group']}")


def _ex02_churn(ns):
    from . import segmentation

    usual = segmentation.churn_by_tier(ns["store"], ns["tiers"], checkpoints=ns["checkpoints"], churn_days=90)
    now = ns["churn"].groupby("tier")["churn_rate"].mean()
    before = usual.groupby("tier")["churn_rate"].mean()
    shown = ", ".join(f"{t} {now[t]:.0%} (90 days: {before[t]:.0%})" for t in now.index)
    return bool((now > before).all()), f"mean churn rate by tier at {ns['churn_days']} days: {shown}"


def _ex02_k(ns):
    scores = ns["k_scores"].set_index("k")
    three, five = float(scores.loc[3, "smallest_share"]), float(scores.loc[5, "smallest_share"])
    return (ns["k"] == 3 and three > five,
            f"k = {ns['k']}; the smallest cluster holds {three:.1%} of the customers at k = 3, {five:.1%} at k = 5")


def _ex03_control(ns):
    from . import campaign

    half = float(ns["power_check"]["power_at_plan"])
    fifth = campaign.power_analysis(ns["var_metrics"]["sales_v"], effect=ns["base_sales"] * ns["goal_for_power"],
                                    group_size=len(ns["target"]), control_share=0.2, alpha=ns["alpha"],
                                    power=ns["power"])["power_at_plan"]
    return half > fifth, f"power at a 50 % control {half:.1%}, at 20 % {fifth:.1%}"


def _ex03_group9(ns):
    check = ns["power_check"]
    return (not check["big_enough"],
            f"goal {check['effect']:,.0f} a customer against a smallest detectable effect of {check['mde']:,.0f}: "
            f"power {check['power_at_plan']:.1%}")


def _ex03_arms(ns):
    from . import campaign

    table = campaign.arm_power(ns["var_metrics"]["sales_v"], effect=ns["base_sales"] * ns["goal_for_power"],
                               arms=ns["arms"], alpha=ns["alpha"], power=ns["power"])
    pooled = float(ns["power_check"]["power_at_plan"])
    if isinstance(table, str):
        return False, table
    each = ", ".join(f"{r['comparison']} {r['power_at_plan']:.1%}" for r in table.to_dict("records"))
    return bool((table["power_at_plan"] < pooled).all()), f"{each}; all treated together {pooled:.1%}"


def _ex04_level(ns):
    from . import results

    wide = results.lift_table(ns["table"], level=0.95, n_boot=ns["n_boot"], seed=ns["seed"]).set_index("metric")
    now = ns["lift"].set_index("metric")
    narrower = bool(((now["ci_high"] - now["ci_low"]) < (wide["ci_high"] - wide["ci_low"])).all())
    same = bool(np.allclose(now["lift"], wide["lift"]))
    return (narrower and same,
            f"sales interval {now.loc['sales', 'ci_high'] - now.loc['sales', 'ci_low']:,.0f} wide at {ns['level']:.0%}, "
            f"{wide.loc['sales', 'ci_high'] - wide.loc['sales', 'ci_low']:,.0f} at 95 %; the estimate "
            f"{now.loc['sales', 'lift']:,.0f} both times")


def _ex04_tlearner(ns):
    deciles = ns["uplift_report"].deciles
    if deciles is None:
        return False, ns["uplift_report"].note
    top, bottom = float(deciles["observed_uplift"].iloc[0]), float(deciles["observed_uplift"].iloc[-1])
    return top > bottom, f"T-learner: observed uplift {top:,.0f} in the top decile, {bottom:,.0f} in the bottom one"


def _ex04_window(ns):
    lost = int((ns["groups"] == "no base").sum())
    return lost > 0, f"{lost:,} treated members of round {ns['round_no']} have no base month and land in 'no base'"


def _ex05_uplift(ns):
    from . import cycle

    rounds = ns["rounds"]
    if 2 not in rounds:
        return False, "no round two found: run notebooks 03 and 04 with round_no: 2 first"
    definition, result = rounds[2]
    kind = (definition.target if definition else result.target or {}).get("kind")
    table = cycle.targeting_comparison(rounds)
    if kind != "uplift" or isinstance(table, str):
        return False, f"round two targeted {kind!r}, not the uplift model: design it with target_kind: uplift"
    row = table.iloc[-1]
    return (row["incremental_margin_per_contact"] > 0,
            f"round two (uplift targeting) returned {row['incremental_margin_per_contact']:,.2f} of margin per contact")


def _ex05_language(ns):
    from .presentation import header

    text = header("sales")
    return text != "Sales", f"the header of sales reads {text!r}"


def _ex06_level(ns):
    now = ns["outcome_results"]
    wide = _expected_outcome_lift({**ns, "level": 0.95})["outcome_results"]  # the same table at 95 %
    wider = bool(((now["ci_high"] - now["ci_low"]) > (wide["ci_high"] - wide["ci_low"])).all())
    return wider, (f"response interval {now['ci_high'].iloc[0] - now['ci_low'].iloc[0]:.4f} wide at {ns['level']:.0%}, "
                   f"{wide['ci_high'].iloc[0] - wide['ci_low'].iloc[0]:.4f} at 95 %")


def _ex06_age(ns):
    rows = ns["outcome_results"]
    if "variance_explained" not in rows.columns:
        return False, "no adjusted lift: set outcome_pre_period"
    explained = float(rows["variance_explained"].max())
    return explained < 0.05, (f"{', '.join(ns['outcome_pre_period'])} explains at most {explained:.2%} of an outcome's "
                              "variance: the interval barely narrows")


#: the "Try this" exercises, in the order each notebook lists them
EXERCISES: dict[str, list[Exercise]] = {
    "01_knowledge_discovery": [
        Exercise("01_knowledge_discovery", {"groups": 5},
                 "five equal groups instead of ten: the top fifth brings more than 40 % of the month's sales", _ex01_groups),
        Exercise("01_knowledge_discovery", {"pareto_target": 0.5},
                 "fewer than a quarter of the customers bring half the sales", _ex01_pareto),
        Exercise("01_knowledge_discovery", {"month": "2025-08"},
                 "a month earlier, the same group (8) is recommended: the groups are stable customers, not luck",
                 _ex01_month),
    ],
    "02_segmentation": [
        Exercise("02_segmentation", {"churn_days": 60},
                 "churned after 60 days without a purchase instead of 90: the churn rate rises in every tier",
                 _ex02_churn),
        Exercise("02_segmentation", {"n_clusters": 3},
                 "three clusters instead of five: the smallest cluster gets bigger", _ex02_k),
    ],
    "03_campaign_design": [
        Exercise("03_campaign_design", {"control_share": 0.5},
                 "half held out instead of a fifth: the power at the plan rises (a 50/50 split is the most powerful)",
                 _ex03_control),
        Exercise("03_campaign_design", {"target_value": 9},
                 "group 9 instead of 8: its goal per customer is small, and the group is too small to show it",
                 _ex03_group9),
        Exercise("03_campaign_design", {"treatment_arms": [{"name": "WeChat", "channel": "WeChat", "share": 0.4},
                                                           {"name": "SMS", "channel": "SMS", "share": 0.4}]},
                 "two arms (WeChat, SMS) instead of one: each arm alone has less power than all the treated together",
                 _ex03_arms),
    ],
    "04_campaign_results": [
        Exercise("04_campaign_results", {"level": 0.9},
                 "90 % intervals instead of 95 %: every interval narrows, the estimates do not move", _ex04_level),
        Exercise("04_campaign_results", {"uplift_method": "t"},
                 "the T-learner instead of the X-learner still ranks: more observed uplift in its top decile than in "
                 "its bottom one", _ex04_tlearner),
        Exercise("04_campaign_results", {"round_no": 2, "base_window": 0},
                 "round two with the base month only: some members skipped round one's campaign month and land in "
                 "'no base'", _ex04_window),
    ],
    "05_cycle_summary": [
        Exercise("05_cycle_summary", {},
                 "round two designed by the uplift model instead of the A4 rule returns a positive margin per contact "
                 "(the A4 rule: negative on the demo)", _ex05_uplift,
                 before="notebook 03 with round_no: 2, target_kind: uplift, target_value: 200, plan_name: "
                        "wechat_samples; then notebook 04 with round_no: 2"),
        Exercise("05_cycle_summary", {"language": "zh"}, "chart texts and table headers turn Chinese",
                 _ex05_language),
    ],
    "06_outcome_table": [
        Exercise("06_outcome_table", {"level": 0.99},
                 "99 % intervals instead of 95 %: every interval widens", _ex06_level),
        Exercise("06_outcome_table", {"outcome_pre_period": ["is_women"]},
                 "adjusting for gender, a pre-campaign column that says little about the outcome: the variance it "
                 "explains is under 5 %", _ex06_age),
    ],
}


def _tried(exercise: Exercise, namespace: Mapping[str, Any]) -> bool:
    return all(namespace.get(k) == v for k, v in exercise.change.items())


def exercises(notebook: str, namespace: Mapping[str, Any]) -> str:
    """The last cell of a notebook: each "Try this" with whether this run tried it and whether the prediction held.

    Returns
    -------
    str
        One paragraph per exercise: ``Try this N (change): as predicted — figures``, ``not as predicted —
        figures`` or ``not tried in this run: set ...``.
    """
    if notebook not in EXERCISES:
        raise ParameterError(f"no exercises for {notebook!r}; notebooks: {sorted(EXERCISES)}")
    lines = []
    for n, exercise in enumerate(EXERCISES[notebook], start=1):
        names = ", ".join(exercise.change) or "no parameter of this notebook"
        head = f"Try this {n} ({names}"
        head += f"; first {exercise.before})" if exercise.before else ")"
        if exercise.change and not _tried(exercise, namespace):
            lines.append(f"{head}: not tried in this run — set {names} as the narration above says and run all.")
            continue
        try:
            held, figures = exercise.check(namespace)
        except (KeyError, AttributeError, TypeError, ValueError) as err:
            held, figures = False, f"could not be checked in this run ({err})"
        verdict = "as predicted" if held else "not as predicted"
        lines.append(f"{head}: {verdict} — {figures}.")
    return "\n".join(lines)


# ====================================================================== student copies


def student_copy(notebook: str | Path, target: str | Path) -> Path:
    """A student copy: outputs removed, and each ``solution`` cell replaced by its blank's prompt.

    The prompt names the task, the function to call and the variables the next cells need (``deciles = ...``);
    the check cell after it says "correct" once the blank is filled, and stops with that sentence before.
    A ``solution`` cell without a known blank gets a generic prompt.
    """
    import nbformat

    nb = nbformat.read(str(notebook_path(notebook)), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "solution" in cell.metadata.get("tags", []):
                key = cell.metadata.get("crm_kit", {}).get("blank")
                cell.source = BLANKS[key].prompt() if key in BLANKS else \
                    "# YOUR CODE HERE: see the narration above for what this cell computes\n"
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target
