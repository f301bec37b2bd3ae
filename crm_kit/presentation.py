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

__all__ = ["setup_notebook", "currency_note", "customer_rows", "human_table", "header", "column_kind", "HEADERS"]

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
    # the keys of the one-column figure tables (power check, budget): shown as row labels
    "sd": "Standard deviation", "effect": "Effect to detect", "effect_size_d": "Effect size (Cohen's d)",
    "alpha": "Significance level", "target_power": "Wanted power", "mde_d": "Smallest detectable effect (Cohen's d)",
    "control_share_needed": "Control share needed", "group_size_needed": "Group size needed",
    "r_squared": "Variance the past explains (R²)", "total_cost": "Total cost", "gross_margin": "Gross margin",
    "break_even_sales": "Break-even sales", "expected_incremental_sales": "Expected incremental sales",
    "expected_return_on_spend": "Expected return on spend", "expected_roi": "Expected ROI",
    "tenure_days": "Tenure (days)", "repeat_frequency": "Repeat purchases", "active_days": "Active days",
    "distinct_categories": "Distinct categories", "mean_ticket": "Mean ticket", "treatment": "Treatment",
    "preferred_channel": "Preferred channel", "age_band": "Age band", "uses_wechat": "Uses WeChat",
    "std_difference": "Std difference", "balanced": "Balanced",
}

#: column-name patterns and how their numbers are shown
_PERCENT = re.compile(r"(share|rate|coverage|growth|relative|^roi$|with_member_record|with_profile|student|wechat_users"
                      r"|^support$|^confidence$|^churn|mom|yoy|probability|^goal$|variance_explained|width_gain|joint_level"
                      r"|alpha_per_comparison|power_at_plan|target_power|margin$|r_squared|roi$)")
_MONEY = re.compile(r"(sales|ticket|^amount$|^clv$|cost|spend|^lift$|^did$|^adjusted$|ci_low|ci_high|mean$|_value$|^base$"
                    r"|^target$|incremental|break_even|profit|price|^value$|^difference$|uplift$|^mde$|^effect$|^sd$)")
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


def _label(key: str, *, currency: str = "") -> str:
    """A row label: the readable header of a key the kit uses (with its unit); other labels as they are."""
    if key in HEADERS or re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", key):
        return header(key, currency=currency)
    return key


def column_kind(column: str) -> str:
    """How a numeric column is shown: ``percent``, ``money``, ``count`` or ``number``."""
    name = column.lower()
    if name.endswith("return_on_spend"):  # a multiple of the cost, not money
        return "number"
    if name == "width_gain":  # 1 - adjusted width / plain width: "narrower by" only while it is positive
        return "width"
    if _COUNT.search(name):
        return "count"
    if _PERCENT.search(name):
        return "percent"
    if _MONEY.search(name):
        return "money"
    return "number"


_KEYED = re.compile(r"([a-z][a-z0-9]*(?:_[a-z0-9]+)+)( = .*)?", re.S)


def _text(value: str) -> str:
    """A text cell: a key the kit names (``visits_base``, ``preferred_channel = WeChat``) in words; others as they are."""
    m = _KEYED.fullmatch(value)
    if m and m.group(1) in HEADERS:
        return header(m.group(1)) + (m.group(2) or "")
    return value


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
        if kind == "width":  # never "narrower by −581 %": a wider interval is said as a multiple
            return f"{v:.1%}" if v >= 0 else f"none: {1 - v:.1f}× as wide"
        if kind == "rate":  # an outcome's rate: two decimals, as a difference of a fraction of a point matters
            return f"{v:.2%}"
        if kind == "points":
            return _points(v)
        if kind == "count":
            return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
        if kind == "count_fraction":  # a count column holding a fraction somewhere: two decimals throughout
            return f"{v:,.2f}"
        if kind == "money_whole":  # a money column reaching 1,000: whole units throughout (8,000 and 600)
            return f"{v:,.0f}"
        if kind == "measure" and 0 < abs(v) < 0.01:  # a small effect keeps its digits: never shown as 0.00
            return f"{v:.2g}"
        if kind == "money":  # a money column below 1,000 throughout: cents throughout
            return f"{v:,.2f}"
        if kind == "measure":  # money's format without its unit (the unit varies by row, so it is chosen per value)
            return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
        return f"{v:,.3g}" if abs(v) < 0.01 and v != 0 else f"{v:,.2f}"
    return html.escape(_text(value) if isinstance(value, str) and kind == "text" else str(value))


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
    keyed = index_cols == [""] and shown[""].map(lambda v: isinstance(v, str)).all()
    if keyed:  # row labels that are the kit's keys (a power check, a budget, a describe()): readable, no snake_case
        # a one-column table of figures carries each row's unit in its label; a describe() table none
        unit = currency if len(df.columns) == 1 else ""
        shown = shown.assign(**{"": shown[""].map(lambda k: _label(k, currency=unit))})
    for c in ("figure", "factor"):  # a column naming the kit's figures by key (order_value): in words
        if c in shown.columns and shown[c].map(lambda v: isinstance(v, str)).all():
            shown = shown.assign(**{c: shown[c].map(_label)})
    truncated = len(shown) > max_rows
    body_rows = shown.head(max_rows) if truncated else shown
    kinds = {c: (column_kind(str(c)) if pd.api.types.is_numeric_dtype(shown[c]) else "text") for c in shown.columns}
    if "metric" in shown.columns:  # one row per metric (visits, sales, ticket): units differ by row, not by column
        kinds = {c: ("number" if k == "money" else k) for c, k in kinds.items()}
    row_kinds = _row_kinds(shown, kinds)
    if keyed and len(df.columns) == 1:  # a one-column table of figures: each row in its own key's unit
        value = shown.columns[1]
        row_kinds.update({(i, value): column_kind(str(k)) for i, k in zip(shown.index, df.index)})
    if {"count", "mean", "std", "min", "max"} <= {str(c) for c in shown.columns}:
        # a describe() table, one row per variable: its mean, spread and quantiles are in each row's own unit
        kinds = {c: ("count" if str(c) == "count" else "measure" if k != "text" else k) for c, k in kinds.items()}
        # a constant variable's std in floating point (1.4e-14 on 1,000 equal values): none at the row's own scale
        scale = pd.concat([pd.to_numeric(shown[c], errors="coerce").abs() for c in ("mean", "min", "max")
                           if c in shown.columns], axis=1).max(axis=1)  # dates' rows (min, max as dates): no scale
        spread = pd.to_numeric(shown["std"], errors="coerce")
        shown = shown.assign(std=spread.mask(spread.abs() <= 1e-9 * scale, 0.0))
        body_rows = shown.head(max_rows) if truncated else shown
    # one format per column, so a column reads alike from top to bottom ("8,000" and "600", not "600.00")
    shown_kinds = dict(kinds)
    for c, k in kinds.items():
        values = pd.to_numeric(body_rows[c], errors="coerce") if k in ("money", "count") else None
        if values is None or not values.notna().any():
            continue
        finite = values[np.isfinite(values)]
        if k == "money" and len(finite) and finite.abs().max() >= 1000:
            shown_kinds[c] = "money_whole"
        elif k == "count" and len(finite) and not (finite == finite.round()).all():
            shown_kinds[c] = "count_fraction"
    head = "".join(f"<th>{html.escape(header(c, currency=currency if kinds[c] == 'money' else ''))}</th>"
                   for c in shown.columns)
    rows, undefined = [], False
    for _, row in body_rows.iterrows():
        cells = []
        for c in shown.columns:
            kind = row_kinds.get((row.name, c), shown_kinds[c])
            text = _cell(row[c], kind)
            undefined |= text == "–"
            align = "left" if kind == "text" or str(c) in index_cols else "right"
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


def customer_rows(table: pd.DataFrame, *, n: int = 10, show_ids: bool = False,
                  id_col: str = "customer_id") -> pd.DataFrame:
    """The first ``n`` rows of a per-customer table, as a notebook shows them: without customer ids unless asked.

    A report is read by people who need not know who bought what: the sample rows of the monthly customer
    list, the targets and the interaction table show rank, group and figures, and leave the customer's id
    out, whether it is a column or the index — unless ``show_ids`` (the notebooks' ``show_customer_ids``
    parameter) asks for it. The hand-offs and exports keep the ids; only what is shown changes.

    Examples
    --------
    >>> t = pd.DataFrame({"customer_id": ["c1", "c2"], "sales": [5.0, 3.0]})
    >>> list(customer_rows(t).columns)
    ['sales']
    """
    rows = table.head(n)
    if show_ids:
        return rows
    if rows.index.name == id_col or id_col in (rows.index.names or []):
        rows = rows.reset_index(level=id_col, drop=True)
    return rows.drop(columns=[id_col], errors="ignore")


def currency_note(currency: str = "") -> str:
    """One line on how money is shown: in the data spec's currency, or — when the spec names none — as plain
    numbers (a sign is never invented), with the key that adds one."""
    if currency:
        return f"Money is shown in {currency}, the currency the data spec names."
    return ("Money is shown as plain numbers: the data spec names no currency (add e.g. currency: \"€\" to it to "
            "show one).")


def setup_notebook(*, currency: str = "", max_rows: int = 25, language: str = "en") -> str:
    """Make the notebook's output readable: human tables, chart style, no library warnings.

    Parameters
    ----------
    currency
        The currency sign on money columns: the data spec's ``currency`` (the demo store's is ¥); empty shows
        money as plain numbers.
    max_rows
        Longer tables are cut to this many rows, with a note.
    language
        ``en`` or ``zh``: the language of table headers and chart texts.

    Returns
    -------
    str
        :func:`currency_note`, for the notebook to print.
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
        return currency_note(currency)
    shell = get_ipython()
    if shell is None:
        return currency_note(currency)
    # a sentence a cell ends on is shown as text, never as a Python string in quotes
    shell.display_formatter.formatters["text/plain"].for_type(str, lambda text, printer, _cycle: printer.text(text))
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, lambda df: human_table(df, currency=currency, max_rows=max_rows))
    formatter.for_type(pd.Series, lambda s: human_table(s.to_frame(s.name if s.name is not None else "value"),
                                                          currency=currency, max_rows=max_rows))
    return currency_note(currency)
