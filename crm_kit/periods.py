"""One month for every step: the periods each notebook of a cycle derives from the month analysed.

A monthly report moves one date — the month — and every step follows it:

==============================  =====================================================================
step                            periods derived from month ``M``
==============================  =====================================================================
01 knowledge discovery          ``month = M``
02 segmentation                 ``as_of`` = the first day after ``M``, ``month = M``, ``clv_calibration_end``
                                = ``as_of`` less a third of the history before it (1 to 4 months)
03 campaign design, round r     ``base_month = M + (r - 1)``, ``campaign_month`` = the month after,
                                ``variance_month = M - 1`` (a month that picked no round's target),
                                ``campaign_id = R<r>-<campaign>``
04 campaign results, round r    ``base_month`` and ``campaign_month`` as the design's, ``campaign_id`` likewise
==============================  =====================================================================

On the demo store, month ``2025-09`` gives exactly the worked case's dates (round one designed on September
for October, round two on October for November, the CLV check learning before 2025-06-01).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .engine import lines_per_month, parse_period
from .errors import DataError, ParameterError

__all__ = ["month_shift", "month_spans", "check_month", "check_dates", "fill_dates", "last_complete_month", "data_calendar",
           "clv_calibration_end", "step_periods", "PERIOD_KEYS"]

#: the date parameters of each notebook that the month drives
PERIOD_KEYS: dict[str, tuple[str, ...]] = {
    "01_knowledge_discovery": ("month",),
    "02_segmentation": ("as_of", "month", "clv_calibration_end"),
    "03_campaign_design": ("base_month", "campaign_month", "variance_month", "campaign_id"),
    "04_campaign_results": ("base_month", "campaign_month", "campaign_id"),
}


def check_month(month: Any, name: str = "month") -> str:
    """``month`` as ``'YYYY-MM'``, or a :class:`~crm_kit.errors.ParameterError` naming the parameter and the form."""
    text = str(month).strip()
    try:
        period = pd.Period(text, freq="M")
    except (ValueError, TypeError):
        period = None
    if period is None or len(text) != 7 or text[4] != "-":
        raise ParameterError(f"{name}={month!r}: give a month as YYYY-MM (e.g. 2025-09), or last for the last "
                             "complete month in the data")
    return str(period)


def month_shift(month: str, k: int) -> str:
    """The month ``k`` months after ``month`` (before it when ``k`` is negative), as ``'YYYY-MM'``.

    Examples
    --------
    >>> from crm_kit import periods
    >>> periods.month_shift("2025-11", 2), periods.month_shift("2025-01", -1)
    ('2026-01', '2024-12')
    """
    return str(pd.Period(month, freq="M") + k)


def data_calendar(store) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and the last timestamp of the store's line items (anonymous lines included)."""
    lines = store.all_lines
    row = store.con.to_pandas(lines.aggregate(first=lines.ts.min(), last=lines.ts.max())).iloc[0]
    if pd.isna(row["first"]):
        raise DataError("the data has no dated line: no month can be derived from it")
    return pd.Timestamp(row["first"]), pd.Timestamp(row["last"])


def last_complete_month(store=None, *, last: Any = None) -> str:
    """The last month the data covers to its last day: the month of the last purchase if it reaches the month's
    last day, else the month before (a report run on the 3rd of a month analyses the month before).

    Examples
    --------
    >>> from crm_kit import periods
    >>> periods.last_complete_month(last="2025-09-30 18:00")  # the data reaches September's last day
    '2025-09'
    >>> periods.last_complete_month(last="2025-10-03")  # a report run on the 3rd analyses the month before
    '2025-09'
    """
    if last is None:
        last = data_calendar(store)[1]
    last = pd.Timestamp(last)
    month = last.to_period("M")
    return str(month if last.normalize() >= month.end_time.normalize() else month - 1)


def clv_calibration_end(as_of: str, first: Any) -> str:
    """Where the CLV check stops learning: ``as_of`` less a third of the history before it, 1 to 4 months.

    The months after it are the holdout the model is checked on; a short history keeps most months to learn
    from. The demo's 13 months before 2025-10-01 give 4 months: 2025-06-01. A history too short for a month of
    holdout (a new cohort's six weeks) is split in two halves by day, so the derived date always lies inside the
    data and the CLV step names its real limit (too few repeat buyers) instead of a date.

    Examples
    --------
    Thirteen months of history before 1 October 2025 hold four months out (a third, at most four):

    >>> from crm_kit import periods
    >>> periods.clv_calibration_end("2025-10-01", "2024-09-01")
    '2025-06-01'
    >>> periods.clv_calibration_end("2025-10-01", "2025-04-01")  # six months: two held out
    '2025-08-01'
    """
    end = pd.Period(pd.Timestamp(as_of) - pd.Timedelta(days=1), freq="M")
    start = pd.Timestamp(first).to_period("M")
    months = max(int((end - start).n) + 1, 1)
    holdout = min(4, max(1, months // 3))
    day = pd.Timestamp(as_of) - pd.DateOffset(months=holdout)
    first_day = pd.Timestamp(first).normalize()
    if day <= pd.Timestamp(first) and pd.Timestamp(as_of) - first_day >= pd.Timedelta(days=2):
        day = max(first_day + (pd.Timestamp(as_of) - first_day) / 2, first_day + pd.Timedelta(days=1)).normalize()
    return str(day.date())


def step_periods(notebook: str, month: str, *, round_no: int = 1, first: Any = None) -> dict[str, Any]:
    """The date parameters notebook ``notebook`` derives from ``month`` (see the module's table).

    Parameters
    ----------
    notebook
        A notebook's name (``02_segmentation``); one without dates gives ``{}``.
    month
        The month analysed, ``'YYYY-MM'``.
    round_no
        The round of a campaign notebook.
    first
        The data's first timestamp, which sizes the CLV calibration; without it the demo's four months.

    Examples
    --------
    >>> from crm_kit import periods
    >>> periods.step_periods("02_segmentation", "2025-09")
    {'as_of': '2025-10-01', 'month': '2025-09', 'clv_calibration_end': '2025-06-01'}
    >>> periods.step_periods("03_campaign_design", "2025-09", round_no=2)  # round two starts a month later
    {'base_month': '2025-10', 'campaign_month': '2025-11', 'campaign_id': 'R2-2025-11', 'variance_month': '2025-08'}
    """
    month = check_month(month)
    if notebook == "01_knowledge_discovery":
        return {"month": month}
    if notebook == "02_segmentation":
        as_of = str(pd.Period(month, freq="M").end_time.normalize().date() + pd.Timedelta(days=1))
        calibration = clv_calibration_end(as_of, first) if first is not None else \
            str((pd.Timestamp(as_of) - pd.DateOffset(months=4)).date())
        return {"as_of": as_of, "month": month, "clv_calibration_end": calibration}
    if notebook in ("03_campaign_design", "04_campaign_results"):
        if isinstance(round_no, bool) or not isinstance(round_no, int) or round_no < 1:
            raise ParameterError(f"round_no={round_no!r}: give a round number 1, 2, ...")
        base = month_shift(month, round_no - 1)
        campaign = month_shift(base, 1)
        out = {"base_month": base, "campaign_month": campaign, "campaign_id": f"R{round_no}-{campaign}"}
        if notebook == "03_campaign_design":
            # the month before the first round's base: no round's target was picked on it (round two's was
            # picked on round one's months)
            out["variance_month"] = month_shift(month, -1)
        return out
    return {}


#: the date parameters checked against the data, per kind: a month the data must cover, a day within it
_MONTHS = ("month", "base_month", "variance_month")
_DAYS = ("as_of",)
#: months that must hold purchases, named with the data's months (the results' campaign month among them)
_DATA_MONTHS = (*_MONTHS, "campaign_month")


def month_spans(months) -> str:
    """Months ``'YYYY-MM'`` as runs of consecutive months: ``"2024-01 to 2024-05, 2024-07 to 2024-12"``.

    Examples
    --------
    >>> from crm_kit import periods
    >>> periods.month_spans(["2024-03", "2024-01", "2024-02", "2024-07"])
    '2024-01 to 2024-03, 2024-07'
    """
    periods = sorted({pd.Period(m, freq="M") for m in months})
    if not periods:
        return "none"
    runs, start, prev = [], periods[0], periods[0]
    for p in periods[1:]:
        if (p - prev).n != 1:
            runs.append((start, prev))
            start = p
        prev = p
    runs.append((start, prev))
    return ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in runs)


def check_dates(store, **dates: Any) -> str:
    r"""Check a notebook's date parameters against the data, in the notebook's own words; one line of periods.

    A month (``month``, ``base_month``, ``variance_month``, and the results' ``campaign_month``) must hold
    purchases of the data — a month inside the data's span with none (a gap, or a campaign month whose data
    is not in yet) would show every customer at −100 % as a real result; ``as_of`` must fall after the data's
    first day and at most a day after its last; ``clv_calibration_end`` must lie between the first day and
    ``as_of``. The error is one line naming the parameter, the value, the data's months (or its first and
    last day) and the fix. A month the data covers only in part is named in the returned line.

    Returns
    -------
    str
        ``"periods: month 2025-09, as_of 2025-10-01 (data 2024-09-01 .. 2025-11-30)"``, for the notebook to print.

    Examples
    --------
    A store whose data runs from 3 August to 20 September 2025 (:func:`crm_kit.load_store`):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import crm_kit
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "receipt,member,time,sku,qty,paid\n"
    ...     "r1,a,2025-08-03 10:00,p1,1,30\n"
    ...     "r2,a,2025-09-20 11:00,p2,2,50\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n"
    ...     "r4,c,2025-08-30 09:00,p3,1,10\n"
    ...     "r5,c,2025-09-10 18:30,p1,3,45\n")
    >>> store = crm_kit.load_store({"tables": {"transactions": {
    ...     "path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "receipt", "customer_id": "member", "ts": "time",
    ...                 "product_id": "sku", "quantity": "qty", "amount": "paid"}}}})
    >>> from crm_kit import periods
    >>> periods.check_dates(store, month="2025-09")
    'periods: month 2025-09 (the data runs from 2025-08-03 to 2025-09-20); month 2025-09 is covered only to 2025-09-20: a part month'
    >>> periods.fill_dates(store, "02_segmentation", month=None, as_of=None)  # the last complete month
    {'month': '2025-08', 'as_of': '2025-09-01'}
    """
    first, last = data_calendar(store)
    window = f"the data runs from {first.date()} to {last.date()}"
    whole = last_complete_month(last=last)
    if pd.Period(whole, freq="M").end_time < first:  # a history shorter than a calendar month's end
        fix = (f"the data covers no whole month, so no month can be derived: set the dates inside that span by hand "
               f"(month {first.to_period('M')}, as_of {(last.normalize() + pd.Timedelta(days=1)).date()})")
    else:
        fix = f"set it inside that span, or leave the dates to the month (crm-kit run ... --month {whole})"
    for key, value in dates.items():
        if value in (None, ""):
            continue
        if key in _MONTHS:
            start, end = _span(value, key)
            if end <= first or start > last:
                side = "before the data's first day" if end <= first else "after the data's last day"
                raise ParameterError(f"{key} {value} lies {side} ({window}); {fix}")
        elif key in _DAYS or key == "clv_calibration_end":
            day = pd.Timestamp(value)
            if day <= first:
                raise ParameterError(f"{key} {value} lies on or before the data's first day ({window}); {fix}")
            if day > last.normalize() + pd.Timedelta(days=1):
                raise ParameterError(f"{key} {value} lies after the data's last day {last.date()} ({window}); {fix}")
    if dates.get("clv_calibration_end") and dates.get("as_of") and \
            pd.Timestamp(dates["clv_calibration_end"]) >= pd.Timestamp(dates["as_of"]):
        raise ParameterError(f"clv_calibration_end {dates['clv_calibration_end']} must come before as_of "
                             f"{dates['as_of']}: the CLV check learns before it and is checked on the months up to "
                             "as_of; set it a few months earlier")
    spans = {k: _span(v, k) for k, v in dates.items() if k in _DATA_MONTHS and v not in (None, "")}
    partial = []
    if spans:
        with_data = lines_per_month(store.transactions)
        for key, (start, end) in spans.items():
            months = [str(m) for m in pd.period_range(start, end - pd.Timedelta(days=1), freq="M")]
            if int(with_data.reindex(months).fillna(0).sum()) == 0:
                raise ParameterError(
                    f"{key} {dates[key]} holds no purchase: the data's months with purchases are "
                    f"{month_spans(with_data.index)}; set {key} to one of them, or run once that month's data is in")
            if end > last.normalize() + pd.Timedelta(days=1):
                partial.append(f"{key} {dates[key]} is covered only to {last.date()}")
    shown = ", ".join(f"{k} {v}" for k, v in dates.items() if v not in (None, ""))
    return f"periods: {shown} ({window})" + (f"; {', '.join(partial)}: a part month" if partial else "")


def _span(value: Any, key: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end)`` of a month ``'YYYY-MM'`` or of an interval ``'YYYY-MM-DD/YYYY-MM-DD'`` (notebook 04's)."""
    if isinstance(value, str) and "/" in value:
        return parse_period(value, key)
    month = pd.Period(check_month(value, key), freq="M")
    return month.start_time, (month + 1).start_time


def fill_dates(store, notebook: str, *, round_no: int = 1, **dates: Any) -> dict[str, Any]:
    """The date parameters a notebook left empty, derived from the data: the values to set, ``{}`` when none.

    The month is the data spec's ``month`` when it names one (the demo store's: the worked case's September),
    else the data's last complete month (:func:`last_complete_month`); every empty date follows it as
    :func:`step_periods` derives them. A date given keeps its value.
    """
    empty = [k for k, v in dates.items() if v in (None, "")]
    if not empty:
        return {}
    first, last = data_calendar(store)
    # a data spec may name the month it is analysed at (the demo's: the worked case's September)
    month = (getattr(store, "spec", None) or {}).get("month") or last_complete_month(last=last)
    derived = step_periods(notebook, month, round_no=round_no, first=first)
    return {k: derived[k] for k in empty if k in derived}
