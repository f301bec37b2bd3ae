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

__all__ = ["BLANKS", "BUILDS", "EXERCISES", "Blank", "Build", "Exercise", "NotYet", "check", "check_build",
           "compare_values", "exercises", "instructor_copy", "student_copy", "student_mode"]

#: the namespace key that marks a student copy's quiet mode (:func:`student_mode`)
_STUDENT_MODE = "_crm_kit_student_mode"


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


# ====================================================================== "build it": the second level of a blank


@dataclass(frozen=True)
class Build:
    """The second level of a blank: the same answer computed without the kit (pandas, numpy, a formula).

    The student names the result :attr:`variable`; :func:`check_build` compares its **values** with what
    the kit computed in the notebook — aligned by :attr:`key`, whatever the column order, under any of the
    names :attr:`columns` allows — and says what differs. No solution lives here: the reference solutions
    are in the teacher's notebooks (cells tagged ``solution``), which student copies leave out.

    Attributes
    ----------
    notebook
        The notebook it belongs to.
    variable
        The name of the student's result (``my_deciles``).
    task
        What to compute, in words, without naming the kit's function.
    tools
        The pandas / numpy tools that help, in words.
    expected
        The kit's answer from the notebook's namespace, as a table with the canonical columns (or a number).
    key
        The columns that identify a row (``()``: rows are compared by position).
    columns
        Canonical column -> the names the task allows for it.
    rtol
        Relative tolerance for numbers.
    atol
        Absolute tolerance for a single number (a share to a customer, a count to rounding), instead of ``rtol``.
    """

    notebook: str
    variable: str
    task: str
    tools: str
    expected: Callable[[Mapping[str, Any]], Any]
    key: tuple[str, ...] = ()
    columns: Mapping[str, tuple[str, ...]] = None  # type: ignore[assignment]
    rtol: float = 1e-6
    atol: float | None = None

    def prompt(self) -> str:
        """The student copy's code for the cell."""
        return (f"# BUILD IT (level 2): {self.task}\n"
                f"# Without the kit's function: {self.tools}.\n"
                "# Then run the check cell below: it compares your values with the kit's.\n"
                f"{self.variable} = ...\n")


def _norm_name(name: Any) -> str:
    return "".join(str(name).split()).replace("-", "_").casefold()


def _as_table(value: Any, build: Build, expected: pd.DataFrame) -> pd.DataFrame | str:
    """The student's value as a table with the canonical columns, or what is wrong with its shape."""
    aliases = {_norm_name(a): canon for canon, names in (build.columns or {}).items() for a in (canon, *names)}
    values = [c for c in expected.columns if c not in build.key]
    if isinstance(value, pd.Series):
        if len(build.key) == 1 and len(values) == 1:
            value = pd.DataFrame({build.key[0]: value.index, values[0]: value.to_numpy()})
        elif not build.key and len(values) == 1:
            value = pd.DataFrame({values[0]: value.to_numpy()})
        else:
            value = value.to_frame().T
    elif isinstance(value, dict) and not build.key:
        value = pd.DataFrame([value])
    elif isinstance(value, (list, tuple, np.ndarray)):
        flat = list(value)
        if not build.key and len(values) == len(flat) and len(expected) == 1:
            value = pd.DataFrame([flat], columns=values)
        elif len(values) == 1 and len(flat) == len(expected):
            value = expected[list(build.key)].assign(**{values[0]: flat}) if build.key else \
                pd.DataFrame({values[0]: flat})
        else:
            return f"should be a table with {', '.join(expected.columns)}, not a list of {len(flat)}"
    if not isinstance(value, pd.DataFrame):
        return f"should be a table (DataFrame) or a column (Series), not {type(value).__name__}"
    table = value.copy()
    if build.key and not set(build.key) <= {aliases.get(_norm_name(c), c) for c in table.columns}:
        table = table.reset_index()
    renamed = {}
    for column in table.columns:
        canon = aliases.get(_norm_name(column))
        if canon is not None and canon not in renamed.values():
            renamed[column] = canon
    table = table.rename(columns=renamed)
    missing = [c for c in expected.columns if c not in table.columns]
    if missing:
        allowed = "; ".join(f"{c} (or {', '.join((build.columns or {}).get(c, ())) or 'that name'})" for c in missing)
        return f"has no column for {allowed}; its columns are {[str(c) for c in value.columns][:8]}"
    return table[list(expected.columns)]


def _differs(mine: pd.Series, kit: pd.Series, rtol: float) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(kit) and not pd.api.types.is_bool_dtype(kit):
        a = pd.to_numeric(mine, errors="coerce").to_numpy(float)
        b = kit.to_numpy(float)
        return ~(np.isclose(a, b, rtol=rtol, atol=rtol * 1e-3) | (np.isnan(a) & np.isnan(b)))
    return mine.astype(str).to_numpy() != kit.astype(str).to_numpy()


def compare_values(value: Any, expected: Any, build: Build) -> str | None:
    """None when the student's ``value`` has the kit's values, else what differs, in words."""
    if not isinstance(expected, pd.DataFrame):  # a number
        if isinstance(value, (pd.Series, np.ndarray, list, tuple)) and len(value) == 1:
            value = list(value)[0]
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            return f"should be a number, not {type(value).__name__}"
        close = abs(float(value) - float(expected)) <= build.atol if build.atol is not None else \
            np.isclose(float(value), float(expected), rtol=build.rtol)
        return None if close else f"is {float(value):,.6g}, the kit's is {float(expected):,.6g}"
    table = _as_table(value, build, expected)
    if isinstance(table, str):
        return table
    if build.key:
        merged = expected.merge(table, on=list(build.key), how="outer", suffixes=("", "_mine"), indicator=True)
        only_kit, only_mine = merged["_merge"].eq("left_only"), merged["_merge"].eq("right_only")
        if only_kit.any() or only_mine.any():
            example = merged.loc[only_kit | only_mine, list(build.key)].iloc[0].tolist()
            return (f"has {int(only_mine.sum()):,} row(s) the kit has not and lacks {int(only_kit.sum()):,} of its "
                    f"{len(expected):,} (e.g. {', '.join(map(str, example))}); one row per "
                    f"{' and '.join(build.key)}")
        mine = merged.rename(columns={f"{c}_mine": f"__{c}" for c in expected.columns if c not in build.key})
    else:
        if len(table) != len(expected):
            return f"has {len(table):,} rows, the kit's answer {len(expected):,}"
        mine = expected.reset_index(drop=True).join(table.reset_index(drop=True).add_prefix("__"))
    for column in [c for c in expected.columns if c not in build.key]:
        bad = _differs(mine[f"__{column}"], mine[column], build.rtol)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = (" of " + ", ".join(f"{k} {mine[k].iloc[i]}" for k in build.key)) if build.key else \
                (f" in row {i + 1}" if len(mine) > 1 else "")
            shown = lambda v: f"{v:,.6g}" if isinstance(v, (float, int, np.floating, np.integer)) else repr(v)
            return (f"{column}{where} is {shown(mine[f'__{column}'].iloc[i])}, the kit's is "
                    f"{shown(mine[column].iloc[i])} ({int(bad.sum()):,} of {len(mine):,} differ)")
    return None


def check_build(key: str, namespace: Mapping[str, Any]) -> str:
    """The check cell after a "build it" cell: "correct", or stop with what differs from the kit's values.

    In a scheduled run (papermill injected the parameters) a difference is printed, not raised: a teaching
    cell never stops a report.
    """
    from .params import injected_names

    if key not in BUILDS:
        raise ParameterError(f"no 'build it' cell named {key!r}; they are: {sorted(BUILDS)}")
    build = BUILDS[key]
    value = namespace.get(build.variable, Ellipsis)
    if value is Ellipsis:
        raise NotYet(f"fill the 'build it' cell above: {build.task} Name the result {build.variable}.")
    expected = build.expected(namespace)
    if isinstance(expected, str):
        return f"Check (build it): nothing to compare in this run — {expected}"
    problem = compare_values(value, expected, build)
    if problem is None:
        return f"Check (build it): correct — {build.variable} has the kit's values."
    if "output_dir" in injected_names(namespace):
        return f"Check (build it): {build.variable} {problem} (a scheduled run goes on)."
    raise NotYet(f"{build.variable} {problem}")


def _kit_deciles(ns):
    return ns["deciles"][["group", "customers", "sales"]]


def _kit_m_score(ns):
    return pd.DataFrame({"customer_id": ns["summary"]["customer_id"].to_numpy(),
                         "m_score": ns["rfm_scores"]["m_score"].to_numpy()})


def _kit_targets(ns):
    columns = [c for c in ("target_visits", "target_ticket", "target_sales") if c in ns["customer_targets"].columns]
    return ns["customer_targets"][["customer_id", *columns]]


def _kit_control(ns):
    arms = ns["arms"]
    return float((arms["arm"] == "control").sum())


def _kit_groups(ns):
    groups = ns["groups"]
    return pd.DataFrame({"customer_id": groups.index.astype(str), "group": groups.to_numpy()})


def _kit_sales_lift(ns):
    row = ns["lift"].set_index("metric").loc["sales"]
    return pd.DataFrame([{"lift": row["lift"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}])


def _kit_group_counts(ns):
    if not ns["rounds"]:
        return "no round has been analysed yet (run notebooks 03 and 04 first)"
    rows = [{"round": n, "group": g, "customers": int(c)} for n in sorted(ns["rounds"])
            for g, c in ns["rounds"][n][1].group_counts.items()]
    return pd.DataFrame(rows, columns=["round", "group", "customers"])


def _kit_margin(ns):
    targeting = ns["targeting"]
    if isinstance(targeting, str):
        return targeting
    return targeting[["targeting", "incremental_margin_per_contact"]]


def _kit_response_lift(ns):
    rows = ns["outcome_results"]
    rows = rows[rows["outcome"] == ns["outcome_binary"][0]] if ns["outcome_binary"] else rows.iloc[:0]
    if rows.empty:
        return "no 0/1 outcome in this table (outcome_binary is empty)"
    return rows[["arm", "lift"]].reset_index(drop=True)


def _kit_holm(ns):
    table = ns["arm_comparisons"]
    if isinstance(table, str):
        return table
    return table[["metric", "arm", "against", "holm_p"]].reset_index(drop=True)


#: the "build it" cells, by the key in their cell's ``metadata.crm_kit.build`` (one per blank)
BUILDS: dict[str, Build] = {
    "deciles": Build("01_knowledge_discovery", "my_deciles",
                     "rank the month's customers by sales, cut them into `groups` equal groups (group 1 = the top "
                     "spenders; the first groups take one more when the count does not divide) and count the "
                     "customers and sum the sales of each.",
                     "sort_values, then numpy.array_split of the ranked rows into `groups` parts (it gives the "
                     "first parts the spare customers, as NTILE does, for any value of groups; pd.qcut does not), "
                     "then groupby and agg",
                     _kit_deciles, key=("group",),
                     columns={"group": ("decile", "decile_group", "g"), "customers": ("n", "count", "members",
                                                                                      "n_customers"),
                              "sales": ("total_sales", "sales_sum", "sum_sales", "revenue")}),
    "pareto": Build("01_knowledge_discovery", "my_pareto_share",
                    "the smallest share of customers, top spenders first, whose sales reach pareto_target of the "
                    "month's sales.",
                    "sort the sales, cumsum, divide by the total, count how many it takes",
                    lambda ns: float(ns["pareto_customers"]), atol=1e-9),
    "rfm": Build("02_segmentation", "my_m_score",
                 "every customer's monetary score 1..rfm_bins: cut the sales at their quantiles (rfm_bins equal "
                 "shares; a value equal to a cut point takes the higher score).",
                 "numpy.quantile for the cut points, then numpy.searchsorted(..., side='right') or pd.cut with "
                 "right=False",
                 _kit_m_score, key=("customer_id",),
                 columns={"customer_id": ("customer", "id"), "m_score": ("m", "monetary_score", "score", "m_scores")}),
    "tiers": Build("02_segmentation", "my_tiers",
                   "every customer's value tier: sort by sales (high first, ties by id), and give each customer the "
                   "tier in which the share of sales brought by the customers before them falls (cut at the "
                   "running totals of tier_shares).",
                   "sort_values, cumsum, divide by the total, numpy.searchsorted or pd.cut",
                   lambda ns: ns["tiers"][["customer_id", "tier"]], key=("customer_id",),
                   columns={"customer_id": ("customer", "id"), "tier": ("value_tier", "label")}),
    "goals": Build("03_campaign_design", "my_targets",
                   "every customer's targets: their base visits, ticket and sales raised by freq_goal, "
                   "ticket_goal and sales_goal.",
                   "arithmetic on the columns of metrics (visits_base, ticket_base, sales_base)",
                   _kit_targets, key=("customer_id",),
                   columns={"customer_id": ("customer", "id"),
                            "target_visits": ("visits_target", "target_frequency", "target_freq"),
                            "target_ticket": ("ticket_target",), "target_sales": ("sales_target",)}),
    "arms": Build("03_campaign_design", "my_control_size",
                  "how many of the target's customers are held out: control_share of them, rounded to whole "
                  "customers in each stratum (the stratum's share times its size, largest remainders rounded up).",
                  "len, round, and for strata a groupby",
                  _kit_control, atol=0.0),
    "groups": Build("04_campaign_results", "my_groups",
                    "every treated customer's group from their growth: with goals, A1 both met, A2 frequency only, "
                    "A3 ticket only, A4 neither; with sales bands, the band of sales_growth; 'no base' without "
                    "base visits.",
                    "boolean masks on freq_growth, ticket_growth, sales_growth and has_base, then numpy.select",
                    _kit_groups, key=("customer_id",),
                    columns={"customer_id": ("customer", "id"), "group": ("a_group", "label", "band")}),
    "lift": Build("04_campaign_results", "my_sales_lift",
                  "the lift in campaign-month sales of the treated over the control group, with Welch's interval "
                  "at the confidence level `level`: (lift, ci_low, ci_high).",
                  "the means and variances of sales_campaign by arm, and scipy.stats.t.ppf for Welch's degrees "
                  "of freedom",
                  _kit_sales_lift,
                  columns={"lift": ("estimate", "difference", "diff"), "ci_low": ("low", "lower"),
                           "ci_high": ("high", "upper")}),
    "flow": Build("05_cycle_summary", "my_group_counts",
                  "how many treated customers each round put in each of its groups: a table of round, group and "
                  "customers.",
                  "each round's result (rounds[n][1]) holds its groups; pd.DataFrame and a loop over the rounds",
                  _kit_group_counts, key=("round", "group"),
                  columns={"round": ("round_no", "n"), "group": ("a_group", "label"),
                           "customers": ("n_customers", "count", "members")}),
    "targeting": Build("05_cycle_summary", "my_margin_per_contact",
                       "each targeting's incremental margin per contact: its incremental sales per contact times "
                       "the gross margin, less the cost per customer.",
                       "arithmetic on the columns of targeting; the gross margin is rounds[1][0].gross_margin",
                       _kit_margin, key=("targeting",),
                       columns={"incremental_margin_per_contact": ("margin_per_contact", "margin")}),
    "outcome_lift": Build("06_outcome_table", "my_response_lift",
                          "each treatment arm's response rate less the control group's (the first 0/1 outcome).",
                          "groupby on the arm column and mean",
                          _kit_response_lift, key=("arm",),
                          columns={"arm": ("group", "variant"), "lift": ("difference", "rate_difference", "uplift")}),
    "arm_comparisons": Build("06_outcome_table", "my_holm",
                             "Holm's adjusted p-values of the arm comparisons, one family per metric: sort a "
                             "metric's m p-values, multiply the i-th smallest by (m - i + 1), keep them rising, "
                             "cap at 1.",
                             "groupby('metric'), sort_values, cummax, clip",
                             _kit_holm, key=("metric", "arm", "against"),
                             columns={"holm_p": ("p_holm", "adjusted_p", "p_adjusted")}),
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
        The expected prediction and its reason, in words: shown only in the verdict, after the student predicted.
    check
        Given the notebook's namespace, ``(held, sentence)``: whether the prediction held, with the figures.
    before
        Other notebooks to run first with the change, in words (empty: only this one).
    answer, choices
        The expected answer among the choices the notebook's question offers.
    """

    notebook: str
    change: dict[str, Any]
    predict: str
    check: Callable[[Mapping[str, Any]], tuple[bool, str]]
    before: str = ""
    #: the prediction the theory makes, as one of the answers the notebook's question offers
    answer: str = ""
    #: the answers the question offers (the student writes one in ``my_predictions``)
    choices: tuple[str, ...] = ()


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


def _ex06_weak(ns):
    rows = ns["outcome_results"]
    if "variance_explained" not in rows.columns:
        return False, "no adjusted lift: set outcome_pre_period"
    explained = float(rows["variance_explained"].max())
    return explained < 0.05, (f"{', '.join(ns['outcome_pre_period'])} explains at most {explained:.2%} of an outcome's "
                              "variance: the interval barely narrows")


def _ex06_strong(ns):
    rows = ns["outcome_results"]
    if "variance_explained" not in rows.columns:
        return False, "no adjusted lift: set outcome_pre_period"
    spend = rows[rows["kind"] == "mean"]
    if spend.empty:
        return False, "no continuous outcome to adjust"
    plain = (spend["ci_high"] - spend["ci_low"]).to_numpy()
    adjusted = (spend["adjusted_ci_high"] - spend["adjusted_ci_low"]).to_numpy()
    narrower = 1 - adjusted / plain
    return bool((narrower > 0.25).all()), (f"the {spend['outcome'].iloc[0]} interval narrows by "
                                           f"{float(narrower.min()):.0%} (R² {float(spend['variance_explained'].min()):.2f})")


#: the "Try this" exercises, in the order each notebook lists them
EXERCISES: dict[str, list[Exercise]] = {
    "01_knowledge_discovery": [
        Exercise("01_knowledge_discovery", {"groups": 5},
                 "five equal groups instead of ten: the top fifth brings more than 40 % of the month's sales", _ex01_groups,
                 answer="more", choices=("more", "less")),
        Exercise("01_knowledge_discovery", {"pareto_target": 0.5},
                 "fewer than a quarter of the customers bring half the sales", _ex01_pareto,
                 answer="fewer", choices=("fewer", "more")),
        Exercise("01_knowledge_discovery", {"month": "2025-08"},
                 "a month earlier, the same group (8) is recommended: the groups are stable customers, not luck",
                 _ex01_month, answer="same", choices=("same", "another")),
    ],
    "02_segmentation": [
        Exercise("02_segmentation", {"churn_days": 60},
                 "churned after 60 days without a purchase instead of 90: the churn rate rises in every tier",
                 _ex02_churn, answer="rise", choices=("rise", "fall", "stay")),
        Exercise("02_segmentation", {"n_clusters": 3},
                 "three clusters instead of five: the smallest cluster gets bigger", _ex02_k,
                 answer="bigger", choices=("bigger", "smaller")),
    ],
    "03_campaign_design": [
        Exercise("03_campaign_design", {"control_share": 0.5},
                 "half held out instead of a fifth: the power at the plan rises (a 50/50 split is the most powerful)",
                 _ex03_control, answer="rise", choices=("rise", "fall")),
        Exercise("03_campaign_design", {"target_value": 9},
                 "group 9 instead of 8: its goal per customer is small, and the group is too small to show it",
                 _ex03_group9, answer="no", choices=("yes", "no")),
        Exercise("03_campaign_design", {"treatment_arms": [{"name": "WeChat", "channel": "WeChat", "share": 0.4},
                                                           {"name": "SMS", "channel": "SMS", "share": 0.4}]},
                 "two arms (WeChat, SMS) instead of one: each arm alone has less power than all the treated together",
                 _ex03_arms, answer="less", choices=("more", "less")),
    ],
    "04_campaign_results": [
        Exercise("04_campaign_results", {"level": 0.9},
                 "90 % intervals instead of 95 %: every interval narrows, the estimates do not move", _ex04_level,
                 answer="narrow", choices=("narrow", "widen", "stay")),
        Exercise("04_campaign_results", {"uplift_method": "t"},
                 "the T-learner instead of the X-learner still ranks: more observed uplift in its top decile than in "
                 "its bottom one", _ex04_tlearner, answer="yes", choices=("yes", "no")),
        Exercise("04_campaign_results", {"round_no": 2, "base_window": 0},
                 "round two with the base month only: some members skipped round one's campaign month and land in "
                 "'no base'", _ex04_window, answer="yes", choices=("yes", "no")),
    ],
    "05_cycle_summary": [
        Exercise("05_cycle_summary", {},
                 "round two designed by the uplift model instead of the A4 rule returns a positive margin per contact "
                 "(the A4 rule: negative on the demo)", _ex05_uplift,
                 before="notebook 03 with round_no: 2, target_kind: uplift, target_value: 200, plan_name: "
                        "wechat_samples; then notebook 04 with round_no: 2", answer="positive", choices=("positive", "negative")),
        Exercise("05_cycle_summary", {"language": "zh"}, "chart texts and table headers turn Chinese; the narration "
                 "stays English", _ex05_language, answer="headers only",
                 choices=("headers only", "everything", "nothing")),
    ],
    "06_outcome_table": [
        Exercise("06_outcome_table", {"level": 0.99},
                 "99 % intervals instead of 95 %: every interval widens", _ex06_level,
                 answer="widen", choices=("widen", "narrow", "stay")),
        Exercise("06_outcome_table", {"outcome_pre_period": ["age"]},
                 "adjusting for age, a pre-campaign column that says little about the outcome: the variance it "
                 "explains is under 5 %", _ex06_weak, answer="less", choices=("more", "less")),
        Exercise("06_outcome_table", {"outcome_pre_period": ["spend_90d_before"]},
                 "adjusting for past spend, which predicts the next month's spend: the spend interval narrows by "
                 "more than a quarter (by 1 - sqrt(1 - R^2))", _ex06_strong, answer="more", choices=("more", "less")),
    ],
}


def _tried(exercise: Exercise, namespace: Mapping[str, Any]) -> bool:
    return all(namespace.get(k) == v for k, v in exercise.change.items())


def exercises(notebook: str, namespace: Mapping[str, Any]) -> str:
    """The last cell of a notebook: each "Try this" with whether this run tried it and whether the prediction held.

    Returns
    -------
    str
        One paragraph per exercise: ``Try this N (change): the theory held — figures``, ``the theory did not
        hold in this run — figures`` or ``not tried in this run: set ...``, then a sentence on the student's
        own prediction (right, wrong, or none made). "As predicted" is never said: the verdict is on the
        theory, the judgement on the student's prediction follows it.
    """
    if notebook not in EXERCISES:
        raise ParameterError(f"no exercises for {notebook!r}; notebooks: {sorted(EXERCISES)}")
    lines = []
    for n, exercise in enumerate(EXERCISES[notebook], start=1):
        names = ", ".join(exercise.change) or "no parameter of this notebook"
        head = f"Try this {n} ({names}"
        head += f"; first {exercise.before})" if exercise.before else ")"
        mine = _prediction(namespace, n)
        if exercise.change and not _tried(exercise, namespace):
            said = f" (your prediction: {mine!r})" if mine is not None else ""
            lines.append(f"{head}: not tried in this run — set {names} as the narration above says and run all{said}.")
            continue
        try:
            held, figures = exercise.check(namespace)
        except (KeyError, AttributeError, TypeError, ValueError) as err:
            held, figures = False, f"could not be checked in this run ({err})"
        verdict = "the theory held" if held else "the theory did not hold in this run"
        lines.append(f"{head}: {verdict} — {figures}. The theory expects: {exercise.predict}. "
                     + _judge(mine, exercise))
    return "\n".join(lines)


def _prediction(namespace: Mapping[str, Any], number: int) -> Any:
    """The student's prediction for exercise ``number`` (``my_predictions[number]``), or None when not made."""
    predictions = namespace.get("my_predictions")
    if not isinstance(predictions, Mapping):
        return None
    value = predictions.get(number, predictions.get(str(number)))
    return None if value is Ellipsis or value is None else value


def _judge(mine: Any, exercise: Exercise) -> str:
    """One sentence on the student's prediction against the expected answer."""
    if not exercise.answer:
        return ""
    if mine is None:
        return f"You made no prediction: write one of {list(exercise.choices)} in my_predictions first."
    if str(mine).strip().casefold() == exercise.answer.casefold():
        return f"Your prediction {mine!r} was right."
    if exercise.choices and str(mine).strip().casefold() not in {c.casefold() for c in exercise.choices}:
        return f"Your prediction {mine!r} is none of {list(exercise.choices)}."
    return f"Your prediction {mine!r} was not: the expected one is {exercise.answer!r}."


# ====================================================================== student copies


class _WaitForBlanks:
    """IPython AST transformer of a student copy: a cell that reads a variable an unfinished blank should define
    (or one a skipped cell would have defined) does not run, and nbgrader's ``raise NotImplementedError()`` stub
    is dropped, so an unfinished exercise says so once, in its check cell, and raises nothing later."""

    def __init__(self, shell, variables: set[str]):
        self.shell, self.variables, self.waiting = shell, variables, set()

    def visit(self, node):
        import ast

        if not isinstance(node, ast.Module):
            return node
        node.body = [stmt for stmt in node.body if not (
            isinstance(stmt, ast.Raise) and isinstance(stmt.exc, (ast.Call, ast.Name))
            and "NotImplementedError" in ast.unparse(stmt.exc))]
        loaded, stored = set(), set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                (loaded if isinstance(sub.ctx, ast.Load) else stored).add(sub.id)
        ns = self.shell.user_ns
        unfilled = {v for v in self.variables if v not in ns or ns[v] is Ellipsis} | self.waiting
        if (loaded - stored) & unfilled:
            self.waiting |= stored
            node.body = []
        else:
            self.waiting -= stored
        return node


def student_mode(namespace: dict[str, Any], notebook: str) -> str:
    """Switch a student copy to student mode: one clear line per unfinished exercise, no raw error after it.

    The check cell of an unfinished blank stops with its one-line "Not yet: …" sentence (:class:`NotYet`, so
    a grader still sees the exercise unfinished), and the cells that need that blank's variables (or anything
    a cell waiting for them would have defined) wait: they do not run. Run top to bottom past the errors
    (nbclient's ``allow_errors``, or cell by cell), a blank copy gives one "Not yet" line per unfinished
    exercise and no ``NameError`` or ``TypeError`` in between; nbgrader's ``raise NotImplementedError()``
    stub is dropped, so its copies behave the same. :func:`student_copy` and :func:`instructor_copy` put the
    call before the first blank.

    Returns
    -------
    str
        A sentence saying so (printed by the cell).
    """
    namespace[_STUDENT_MODE] = True
    variables = {v for b in BLANKS.values() if b.notebook == Path(str(notebook)).stem for v in b.variables}
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter and papermill
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        shell.ast_transformers[:] = [t for t in shell.ast_transformers if not isinstance(t, _WaitForBlanks)]
        shell.ast_transformers.append(_WaitForBlanks(shell, variables))
    return ("Student mode: an exercise you have not finished says \"Not yet\" in its check cell, and the cells "
            "that need its result wait until it is done.")


#: the first line of the cell :func:`student_copy` puts before the first blank
STUDENT_MODE_CELL = "print(teaching.student_mode(globals(), {notebook!r}))"

#: nbgrader's solution markers (``nbgrader generate_assignment`` replaces what lies between them)
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"


def _add_student_mode(nb, notebook) -> None:
    """Insert the :func:`student_mode` cell before the notebook's first solution cell (locked for nbgrader)."""
    import nbformat

    first = next((i for i, c in enumerate(nb.cells) if "solution" in c.metadata.get("tags", [])), None)
    if first is not None:
        name = Path(str(notebook)).stem
        nb.cells.insert(first, nbformat.v4.new_code_cell(
            STUDENT_MODE_CELL.format(notebook=name),
            metadata={"tags": ["student-mode"], "crm_kit": {"student_mode": True},
                      "nbgrader": {"grade": False, "grade_id": f"{name[:2]}_student_mode", "locked": True,
                                   "schema_version": 3, "solution": False, "task": False}}))


def _hints(prompt: str) -> str:
    """A prompt's comment lines (the task, the function, the variables) without its ``name = ...`` line."""
    return "".join(line for line in prompt.splitlines(keepends=True) if line.lstrip().startswith("#"))


#: what a student copy puts in place of a written question's model answer
ANSWER_PROMPT = "*Your answer here* — three or four sentences, with the figures of this notebook."


def student_copy(notebook: str | Path, target: str | Path) -> Path:
    """A student copy: outputs removed, every solution replaced by its prompt, no solution text left.

    A ``solution`` cell of a blank (``metadata.crm_kit.blank``) gets the blank's prompt (the task, the kit's
    function, the variables the next cells need: ``deciles = ...``); a "build it" cell
    (``metadata.crm_kit.build``) gets its task without the kit (``my_deciles = ...``); a written question's
    model answer (``metadata.crm_kit.written``) gets :data:`ANSWER_PROMPT`. The check cells stay: they say
    "correct" once a blank is filled, and stop with what to write before. nbgrader's cell metadata
    (grade ids, points) is kept, so a course that uses nbgrader can collect and grade the copies.
    """
    import nbformat

    nb = nbformat.read(str(notebook_path(notebook)), as_version=4)
    _add_student_mode(nb, notebook)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "solution" not in cell.metadata.get("tags", []):
            continue
        marks = cell.metadata.get("crm_kit", {})
        if marks.get("blank") in BLANKS:
            cell.source = BLANKS[marks["blank"]].prompt()
        elif marks.get("build") in BUILDS:
            cell.source = BUILDS[marks["build"]].prompt()
        elif cell.cell_type == "markdown":
            cell.source = ANSWER_PROMPT
        else:
            cell.source = "# YOUR CODE HERE: see the narration above for what this cell computes\n"
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def instructor_copy(notebook: str | Path, target: str | Path) -> Path:
    """The answer key: the full notebook (every solution and model answer), outputs removed, nbgrader metadata kept.

    It is the source version an nbgrader course releases from: each solution sits between nbgrader's
    ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, with the blank's hints (the task, the function to
    call, the variables the next cells need) as comments above them, so ``nbgrader generate_assignment``
    replaces only the solution and the hints stay; a model answer is marked the same way. The kit's own
    student copies (:func:`student_copy`) need no nbgrader.
    """
    import nbformat

    nb = nbformat.read(str(notebook_path(notebook)), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "solution" not in cell.metadata.get("tags", []):
            continue
        marks = cell.metadata.get("crm_kit", {})
        if marks.get("blank") in BLANKS:
            hints = _hints(BLANKS[marks["blank"]].prompt())
        elif marks.get("build") in BUILDS:
            hints = _hints(BUILDS[marks["build"]].prompt())
        else:
            hints = ""
        cell.source = f"{hints}{BEGIN_SOLUTION}\n{cell.source.rstrip()}\n{END_SOLUTION}"
    _add_student_mode(nb, notebook)
    nb.metadata.setdefault("crm_kit", {})["answer_key"] = True
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target
