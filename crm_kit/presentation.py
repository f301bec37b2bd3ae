"""Tables for people: what every table a notebook displays looks like in JupyterLab and in the report.

:func:`setup_notebook` (called by each notebook after its parameters are
checked) makes every displayed ``DataFrame`` a table a store manager reads:
human headers instead of ``snake_case``, no 0-9 row index, shares as %,
money with the currency sign, counts as whole numbers, a dash (with a
footnote) where a value is undefined, long tables cut with a note, and no
library warnings in the output. The numbers themselves are never changed:
the hand-offs and exports keep full precision.
"""

from __future__ import annotations

import html
import logging
import math
import re
import warnings
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .language import LANGUAGES, translate

__all__ = ["setup_notebook", "human_table", "header", "column_kind", "HEADERS"]

#: readable headers of the columns the kit's tables use (others: underscores become spaces)
HEADERS: dict[str, str] = {
    "customer_id": "Customer", "customers": "Customers", "members": "Members", "group": "Group", "rank": "Rank",
    "sales": "Sales", "visits": "Visits", "ticket": "Average ticket", "items": "Items", "units": "Units",
    "sales_per_customer": "Sales per customer", "customer_share": "Share of customers", "sales_share": "Share of sales",
    "cum_customer_share": "Cumulative share of customers", "cum_sales_share": "Cumulative share of sales",
    "visits_per_customer": "Visits per customer", "recency_days": "Recency (days)", "brand_loyalty": "Brand loyalty",
    "promo_share": "Promotion share of spend", "top_categories": "Top categories", "figure": "Figure", "value": "Value",
    "rule": "Rule", "action": "Action", "rows_found": "Lines found", "rows_removed": "Lines removed",
    "sales_removed": "Sales removed", "join": "Join", "matched": "Matched", "of": "Of", "coverage": "Coverage",
    "student_share": "Students", "wechat_users": "WeChat users", "membership_years": "Membership (years)",
    "household_size": "Household size", "with_member_record": "With a member record", "with_profile": "With a profile",
    "product_id": "Product", "name": "Name", "category": "Category", "brand": "Brand", "weekly_units": "Units a week",
    "stock": "Stock", "weeks_of_cover": "Weeks of cover", "class": "Class", "buyers": "Buyers",
    "buyer_share": "Share of the group buying", "antecedent": "If bought", "consequent": "Then also",
    "antecedent_name": "If bought (name)", "consequent_name": "Then also (name)", "orders_with_both": "Orders with both",
    "support": "Support", "confidence": "Confidence", "lift": "Lift", "k": "k", "inertia": "Inertia",
    "silhouette": "Silhouette", "smallest_share": "Smallest cluster", "usable": "Usable", "best": "Chosen",
    "elbow": "Elbow", "rfm_segment": "RFM segment", "rfm_score": "RFM score", "tier": "Tier", "churn_rate": "Churn rate",
    "checkpoint": "Checkpoint", "clv": "Lifetime value", "probability_alive": "Probability alive",
    "expected_purchases": "Expected purchases", "expected_spend": "Expected spend per purchase",
    "calibration_purchases": "Purchases in calibration", "actual": "Actual", "predicted": "Predicted",
    "arm": "Arm", "metric": "Metric", "base": "Base", "goal": "Goal", "target": "Target",
    "visits_base": "Visits (base)", "visits_campaign": "Visits (campaign)", "sales_base": "Sales (base)",
    "sales_campaign": "Sales (campaign)", "ticket_base": "Ticket (base)", "ticket_campaign": "Ticket (campaign)",
    "freq_growth": "Visit growth", "ticket_growth": "Ticket growth", "sales_growth": "Sales growth",
    "freq_growth_mean": "Visit growth (mean)", "ticket_growth_mean": "Ticket growth (mean)",
    "sales_growth_mean": "Sales growth (mean)", "has_base": "Has a base", "base_source": "Base from",
    "responded": "Responded", "response_rate": "Response rate", "share": "Share", "treated": "Treated",
    "control": "Control", "treated_mean": "Treated mean", "control_mean": "Control mean",
    "treated_base_mean": "Treated base mean", "ci_low": "95% CI low", "ci_high": "95% CI high", "p_value": "p-value",
    "did": "Difference-in-differences", "did_ci_low": "DiD CI low", "did_ci_high": "DiD CI high", "method": "Method",
    "relative_lift": "Relative lift", "std_diff": "Standardised difference", "treated_value": "Treated",
    "control_value": "Control", "outcome": "Outcome", "kind": "Kind", "campaign": "Campaign", "round": "Round",
    "naive_sales_growth": "Naive sales growth", "control_growth": "Control's own growth", "estimate": "Estimate",
    "sales_lift_per_customer": "Sales lift per customer", "lift_ci_low": "Lift CI low", "lift_ci_high": "Lift CI high",
    "incremental_sales": "Incremental sales", "cost": "Cost", "return_on_spend": "Return on spend", "roi": "ROI",
    "unit_cost": "Unit cost", "item": "Item", "week": "Week", "push_day": "Push day", "weekend": "Weekend",
    "sample": "Sample", "sample_category": "Sample category", "quantity": "Quantity", "P": "P", "decision": "Decision",
    "condition": "Condition", "why": "Why", "reason": "Reason", "parameter": "Parameter", "lines": "Lines",
    "at_random": "Assigned at random", "mean_ticket": "Mean ticket", "frequency": "Frequency",
    "first_purchase": "First purchase", "last_purchase": "Last purchase", "new_customers": "New customers",
    "returning_customers": "Returning customers", "repeat_rate": "Repeat rate", "month": "Month",
    "adjusted": "Adjusted lift", "adjusted_ci_low": "Adjusted CI low", "adjusted_ci_high": "Adjusted CI high",
    "variance_explained": "Variance the past explains", "width_gain": "Interval narrower by",
    "against": "Against", "n_arm": "Customers in the arm", "n_against": "Customers compared with",
    "arm_mean": "Arm mean", "against_mean": "Mean compared with", "difference": "Difference",
    "holm_p": "Holm-adjusted p-value", "joint_level": "Level of each joint interval", "joint_ci_low": "Joint CI low",
    "joint_ci_high": "Joint CI high", "joint_excludes_zero": "Joint interval excludes 0",
    "significant": "Significant (Holm)", "comparisons": "Comparisons in the family", "comparison": "Comparison",
    "alpha_per_comparison": "Significance level per comparison", "power_at_plan": "Power at the plan",
    "mde": "Smallest detectable effect", "big_enough": "Big enough", "channel": "Channel", "contacts": "Messages",
    "cost_per_contact": "Cost per message", "message_cost": "Message cost", "other_cost": "Share of other costs",
    "incremental_margin_per_contact": "Incremental margin per contact", "decile": "Decile",
    "observed_uplift": "Observed uplift", "predicted_uplift": "Predicted uplift",
    "incremental_sales_per_contact": "Incremental sales per contact", "targeting": "Targeting", "evidence": "Evidence",
    "cost_per_customer": "Cost per customer reached",
}

#: column-name patterns and how their numbers are shown
_PERCENT = re.compile(r"(share|rate|coverage|growth|relative|^roi$|with_member_record|with_profile|student|wechat_users"
                      r"|^support$|^confidence$|^churn|mom|yoy|probability|^goal$|variance_explained|width_gain|joint_level"
                      r"|alpha_per_comparison|power_at_plan)")
_MONEY = re.compile(r"(sales|ticket|^amount$|^clv$|cost|spend|^lift$|^did$|^adjusted$|ci_low|ci_high|mean$|_value$|^base$"
                    r"|^target$|incremental|break_even|profit|price|^value$|^difference$|uplift$|^mde$)")
_COUNT = re.compile(r"(^customers$|^members$|^visits$|^items$|^units$|^buyers$|rows_|^matched$|^of$|^orders|^lines$"
                    r"|^stock$|^treated$|^control$|^k$|^rank$|^group$|^week$|^quantity$|^new_|^returning_|^tier_size$"
                    r"|^n_arm$|^n_against$|^contacts$|^selected$|^decile$)")


#: the language of table headers (``en`` or ``zh``); set by :func:`setup_notebook`
LANGUAGE = "en"


def header(column: Any, *, currency: str = "", language: str | None = None) -> str:
    """The readable header of a column, with its unit (%, the currency) where it has one; Chinese under ``zh``."""
    text = HEADERS.get(str(column), str(column).replace("_", " ").strip())
    text = text[:1].upper() + text[1:] if text else text
    text = translate(text, LANGUAGE if language is None else language)
    kind = column_kind(str(column))
    if kind == "money" and currency:
        return f"{text} ({currency})"
    return text


def column_kind(column: str) -> str:
    """How a numeric column is shown: ``percent``, ``money``, ``count`` or ``number``."""
    name = column.lower()
    if name == "return_on_spend":  # a multiple of the cost, not money
        return "number"
    if _COUNT.search(name):
        return "count"
    if _PERCENT.search(name):
        return "percent"
    if _MONEY.search(name):
        return "money"
    return "number"


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v, 'number')}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v, "number") for v in value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (int, np.integer)) and kind != "percent":
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if kind == "percent":
            return f"{v:.1%}"
        if kind == "rate":  # an outcome's rate: two decimals, as a difference of a fraction of a point matters
            return f"{v:.2%}"
        if kind == "points":
            return _points(v)
        if kind == "count":
            return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
        if kind == "measure" and 0 < abs(v) < 0.01:  # a small effect keeps its digits: never shown as 0.00
            return f"{v:.2g}"
        if kind in ("money", "measure"):  # a measure: money's format without its unit (the unit varies by row)
            return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
        return f"{v:,.3g}" if abs(v) < 0.01 and v != 0 else f"{v:,.2f}"
    return html.escape(str(value))


#: columns of an outcome table (one row per outcome, ``kind`` rate or mean) holding the arms' values
_OUTCOME_VALUES = ("treated_value", "control_value")
#: ... and holding differences between the arms
_OUTCOME_DIFFERENCES = ("lift", "ci_low", "ci_high", "adjusted", "adjusted_ci_low", "adjusted_ci_high")


def _row_kinds(shown: pd.DataFrame, kinds: Mapping[str, str]) -> dict[tuple[Any, str], str]:
    """Per-cell formats of a table whose rows carry their own unit: an outcome table's rates are in %, their
    differences in percentage points (``+0.31 pp``), its means in the outcome's own unit."""
    if "kind" not in shown.columns or not set(shown["kind"].dropna()) <= {"rate", "mean"}:
        return {}
    out = {}
    for idx, unit in shown["kind"].items():
        for c in shown.columns:
            if c in _OUTCOME_VALUES:
                out[(idx, c)] = "rate" if unit == "rate" else "measure"
            elif c in _OUTCOME_DIFFERENCES:
                out[(idx, c)] = "points" if unit == "rate" else "measure"
    return out


def _points(v: float) -> str:
    """A difference of two rates in percentage points, with the digits that keep a small effect from reading 0."""
    p = v * 100
    if p == 0:
        return "0.00 pp"
    digits = max(2, 1 - math.floor(math.log10(abs(p)))) if abs(p) < 1 else 2
    return f"{p:+.{digits}f} pp"


def human_table(df: pd.DataFrame, *, currency: str = "", max_rows: int = 25) -> str:
    """A DataFrame as an HTML table for people (see the module docstring); the data are not changed."""
    shown = df
    if isinstance(df.index, pd.RangeIndex) or df.index.name is None and df.index.dtype == "int64":
        shown = df.reset_index(drop=True)
        index_cols: list[str] = []
    else:
        index_cols = [str(n or "") for n in (df.index.names or [df.index.name])]
        # an unnamed index (row labels such as rule names) gets no header rather than "Index"
        unnamed = df.index.nlevels == 1 and df.index.name is None and "" not in df.columns
        shown = (df.rename_axis("") if unnamed else df).reset_index()
    truncated = len(shown) > max_rows
    body_rows = shown.head(max_rows) if truncated else shown
    kinds = {c: (column_kind(str(c)) if pd.api.types.is_numeric_dtype(shown[c]) else "text") for c in shown.columns}
    if "metric" in shown.columns:  # one row per metric (visits, sales, ticket): units differ by row, not by column
        kinds = {c: ("number" if k == "money" else k) for c, k in kinds.items()}
    row_kinds = _row_kinds(shown, kinds)
    if {"count", "mean", "std", "min", "max"} <= {str(c) for c in shown.columns}:
        # a describe() table, one row per variable: its mean, spread and quantiles are in each row's own unit
        kinds = {c: ("count" if str(c) == "count" else "measure" if k != "text" else k) for c, k in kinds.items()}
    head = "".join(f"<th>{html.escape(header(c, currency=currency if kinds[c] == 'money' else ''))}</th>"
                   for c in shown.columns)
    rows, undefined = [], False
    for _, row in body_rows.iterrows():
        cells = []
        for c in shown.columns:
            text = _cell(row[c], row_kinds.get((row.name, c), kinds[c]))
            undefined |= text == "–"
            align = "left" if kinds[c] == "text" or str(c) in index_cols else "right"
            cells.append(f'<td style="text-align:{align}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    notes = []
    if truncated:
        notes.append(f"Showing the first {max_rows:,} of {len(shown):,} rows.")
    if undefined:
        notes.append("– : not defined here (e.g. no visit in the base period, or too few customers).")
    note = "".join(f'<p class="crm-note" style="font-size:.85em;color:#555;margin:.2em 0">{html.escape(n)}</p>'
                   for n in notes)
    return (f'<table class="crm-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{note}')


def setup_notebook(*, currency: str = "¥", max_rows: int = 25, language: str = "en") -> None:
    """Make the notebook's output readable: human tables, chart style, no library warnings.

    Parameters
    ----------
    currency
        The currency sign on money columns (the demo store's is ¥).
    max_rows
        Longer tables are cut to this many rows, with a note.
    language
        ``en`` or ``zh``: the language of table headers and chart texts.
    """
    global LANGUAGE
    if language not in LANGUAGES:
        from .errors import ParameterError

        raise ParameterError(f"language={language!r}: use en or zh")
    LANGUAGE = language
    from . import plotting

    plotting.use_style()
    plotting.CURRENCY = currency
    plotting.LANGUAGE = language
    # library noise: progress widgets that need ipywidgets, deprecations inside dependencies
    warnings.filterwarnings("ignore", message=".*IProgress not found.*")
    warnings.filterwarnings("ignore", message=".*ipywidgets.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    for name in ("pymc", "pymc_marketing", "pytensor", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from tqdm import TqdmExperimentalWarning, TqdmWarning

        warnings.filterwarnings("ignore", category=TqdmWarning)
        warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        pass
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, lambda df: human_table(df, currency=currency, max_rows=max_rows))
    formatter.for_type(pd.Series, lambda s: human_table(s.to_frame(s.name if s.name is not None else "value"),
                                                          currency=currency, max_rows=max_rows))
