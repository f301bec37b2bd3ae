"""Closing the loop: the draft is loaded by the run's own loader, and what fails is corrected or left as a choice.

The path's last check (:func:`close_loop`), after sniff → profile → decide: every mapped value must parse on the
read → cast path the run takes, the window and the last complete month come from the loaded data, keys must
vary and month totals be plausible.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..errors import DataError, ParameterError
from ..store.load import load_store
from ..store.spec import CANONICAL_COLUMNS
from .profiles import Draft, TableDraft
from .roles import _count
from .times import _common_offset_zone, _stored_zone

__all__ = ["MONTH_OUTLIER", "close_loop"]


#: a month whose sales are this many times the median month's is named (a totals row, a unit mix-up)
MONTH_OUTLIER = 20.0


def _draft_spec(tables: Sequence[TableDraft]) -> dict[str, Any]:
    """The data spec the draft writes, as a mapping the loader takes (not cached: init only checks it)."""
    spec: dict[str, Any] = {"tables": {}, "cache": False}
    for t in tables:
        if t.role in CANONICAL_COLUMNS and t.role not in spec["tables"]:
            spec["tables"][t.role] = t.spec()
    cleaning = {k: v for t in tables for k, v in t.cleaning.items()}
    if cleaning:
        spec["cleaning"] = cleaning
    return spec


def _correct(lines: TableDraft, message: str) -> bool:
    """Change the draft so that the load the message came from reads; False when no change would."""
    size = re.search(r"max_line_size: (\d+)", message)
    if size and "max_line_size" not in lines.options:
        lines.options["max_line_size"] = int(size.group(1))
        lines.reading.append(f"max_line_size: {int(size.group(1)):,} — the load met a line over the reader's limit")
        return True
    if "several UTC offsets" in message and "timezone" not in lines.options:
        column = lines.columns.get("ts")
        c = lines.profile[column] if lines.profile is not None and column in lines.profile.columns else None
        zone = _common_offset_zone(c) if c is not None else "UTC"
        lines.options["timezone"] = zone
        lines.undecided.append(f"transactions.ts: the timestamps carry several UTC offsets; converted to {zone} — set "
                               "timezone to the shop's zone (Europe/Berlin, America/New_York...)")
        return True
    aware = re.search(r"holds time-zone-aware timestamps \(([^)]*)\)", message)
    if aware and "timezone" not in lines.options:
        zone = _stored_zone(lines) or aware.group(1) or "UTC"
        lines.options["timezone"] = zone
        lines.undecided.append(f"transactions.ts: the timestamps carry their zone; read in {zone} (the zone the file "
                               "stores) — set timezone to the shop's zone if it is another")
        return True
    return False


def close_loop(d: Draft, *, tries: int = 3) -> None:
    """Load the draft through the run's loader and check it; correct it and load again where a check fails.

    Checks: every value of a mapped column parses (else the load's message,
    which names the unparsed share with examples, is written as a choice
    left to the user); the window is the loaded data's (the last complete
    month from the real last day); no key column is constant or nearly so;
    month totals are plausible (none negative, none :data:`MONTH_OUTLIER`
    times the median month). Cost: the load itself, one pass over the data.
    """
    from ..periods import data_calendar

    lines = d.table("transactions")
    if lines is None or any(u for t in d.tables for u in t.undecided if "header row appears" in u):
        return
    _key_checks(d)
    for _attempt in range(tries):
        try:
            store = load_store(_draft_spec(d.tables))
        except (DataError, ParameterError, KeyError) as exc:
            message = " ".join(str(exc).split()).strip("'\"")
            message = message if len(message) <= 400 else message[:400] + "…"
            if _correct(lines, message):
                continue
            d.undecided.append(f"loading this draft stops: {message}")
            return
        break
    else:
        d.undecided.append("loading this draft failed after corrections; run crm-kit check on it for the reason")
        return
    lines.loaded = True
    lines.first, lines.last = data_calendar(store)
    t = store.all_lines
    monthly = store.con.to_pandas(t.group_by(month=t.ts.truncate("M")).aggregate(sales=t.amount.sum(), n=t.count())
                                  .order_by("month"))
    lines.reading.append(f"loaded with this draft by the run's loader: {int(monthly['n'].sum()):,} lines, every mapped "
                         f"value parsed; lines from {lines.first.date()} to {lines.last.date()}")
    negative = monthly[monthly["sales"] < 0]
    if len(negative):
        d.undecided.append(f"month totals: {', '.join(str(m)[:7] for m in negative['month'])} sum to negative sales: "
                           "check the amount column (a refund column mapped as amount?)")
    median = float(monthly["sales"].abs().median()) if len(monthly) else 0.0
    high = monthly[monthly["sales"] > MONTH_OUTLIER * median] if median > 0 and len(monthly) >= 3 else monthly.iloc[:0]
    for row in high.itertuples():
        d.undecided.append(f"month totals: {str(row.month)[:7]} has sales {row.sales:,.2f}, {row.sales / median:,.0f}× "
                           "the median month: check for a totals row or amounts in another unit")


def _key_checks(d: Draft) -> None:
    """A customer or order id that is one value on (nearly) every row is named: it identifies nothing."""
    for t in d.tables:
        if t.profile is None:
            continue
        for key in ("customer_id", "order_id", "product_id"):
            column = t.columns.get(key)
            if not column or column not in t.profile.columns:
                continue
            c = t.profile[column]
            if c.values >= 20 and c.top and c.top[0][1] >= 0.9 * c.values and c.distinct <= max(2, c.values // 100):
                d.undecided.append(f"{t.role}.{key}: {column!r} is {c.top[0][0]!r} on {_count(c.top[0][1], c.values)} "
                                   "rows — nearly constant, so it identifies nothing; map another column")
